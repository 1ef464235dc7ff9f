#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/: the inputs the crates' tests already use
(RFC transcripts, the shared corpus's smallest messages), in each target's
input layout (README.md, "Input layout"). Run from anywhere; it replaces
the seed directories. The committed seeds are its output."""

import base64
import os
import pathlib
import shutil

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE.parent.parent.parent / "shared" / "corpus" / "messages"

# Four split bytes: pieces of 8, 1, 64 and 3 bytes, in turn (the wire
# targets cut their stream with them).
SPLIT = bytes([7, 0, 63, 2])
WHOLE = bytes([255, 255, 255, 255])


def wire(*transcripts):
    out = []
    for t in transcripts:
        out.append(SPLIT + t)
        out.append(WHOLE + t)
    return out


SMTP = wire(
    # RFC 5321 Appendix D.1, pipelined.
    b"EHLO bar.com\r\nMAIL FROM:<Smith@bar.com>\r\nRCPT TO:<Jones@foo.com>\r\n"
    b"RCPT TO:<Green@foo.com>\r\nDATA\r\nBlah blah blah...\r\n..etc. etc. etc.\r\n.\r\nQUIT\r\n",
    # RFC 3030 BDAT.
    b"MAIL FROM:<Sam@Random.com> BODY=BINARYMIME\r\nRCPT TO:<Susan@Random.com>\r\n"
    b"BDAT 6\r\na\r\n.\r\nBDAT 3 LAST\r\nxyzQUIT\r\n",
    b"EHLO x\r\nAUTH PLAIN AGFubgBzZWNyZXQ=\r\nMAIL FROM:<> SIZE=100 RET=HDRS ENVID=a+2Bb\r\n"
    b"RCPT TO:<\"q u\"@[127.0.0.1]> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a@b\r\n"
    b"RCPT TO:<postmaster>\r\nVRFY x\r\nHELP\r\nNOOP\r\nRSET\r\nSTARTTLS\r\n",
    b"HELO a\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\nRCPT TO:<\xc3\xa9@b.example>\r\nDATA\r\n"
    b"bare\nlf\r\n.\r\n.\r\n",
)

IMAP = wire(
    # RFC 9051 §8.
    b"a001 login mrc secret\r\na002 select inbox\r\na003 fetch 12 full\r\n"
    b"a004 fetch 12 body[header]\r\na005 store 12 +flags \\deleted\r\na006 logout\r\n",
    b"A003 APPEND saved-messages (\\Seen) {22}\r\nSubject: hi\r\n\r\nhello\r\n\r\n"
    b"b1 LOGIN {3+}\r\nbob {6}\r\nsecret\r\nb2 FROB\r\n* NOOP\r\nb4 NOOP\r\n",
    b"c1 UID SEARCH RETURN (MIN COUNT) OR (FROM \"a\" SINCE 1-Feb-1994) NOT UNSEEN 1:3,5\r\n"
    b"c2 UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From)]<0.100> BINARY[1]) (CHANGEDSINCE 5)\r\n"
    b"c3 SORT (REVERSE DATE) UTF-8 ALL\r\nc4 THREAD REFERENCES UTF-8 ALL\r\n",
    b"d1 LIST (SUBSCRIBED) \"\" (\"INBOX\" \"&AOk-t&AOk-\") RETURN (CHILDREN STATUS (MESSAGES UIDNEXT))\r\n"
    b"d2 STATUS blurdybloop (UIDNEXT MESSAGES)\r\nd3 CREATE a/b\r\nd4 RENAME a b\r\n"
    b"d5 ENABLE QRESYNC\r\nd6 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211))\r\n",
    b"e1 AUTHENTICATE PLAIN\r\nAGFubgBzZWNyZXQ=\r\ne2 IDLE\r\nDONE\r\ne3 APPEND x ~{5}\r\na\x00b\r\n\r\n"
    b"e4 COMPRESS DEFLATE\r\ne5 UID MOVE 1:5 Trash\r\ne6 GETQUOTAROOT INBOX\r\n",
)

POP3 = wire(
    b"CAPA\r\nUSER ann\r\nPASS sec ret\r\nSTAT\r\nLIST\r\nLIST 1\r\nUIDL\r\nRETR 1\r\n"
    b"TOP 1 10\r\nDELE 1\r\nRSET\r\nNOOP\r\nQUIT\r\n",
    b"AUTH\r\nAUTH PLAIN AGFubgBzZWNyZXQ=\r\nAUTH LOGIN\r\nYW5u\r\nc2VjcmV0\r\nSTLS\r\n"
    b"LIST 0\r\nRETR 99999999999\r\nTOP 1\r\nAPOP a b\r\n.\r\n..x\r\n",
)

MANAGESIEVE = wire(
    b'CAPABILITY\r\nSTARTTLS\r\nAUTHENTICATE "PLAIN" "AGFubgBzZWNyZXQ="\r\n'
    b'HAVESPACE "a" 100\r\nPUTSCRIPT "a" {6+}\r\nkeep;\n\r\nLISTSCRIPTS\r\n'
    b'SETACTIVE "a"\r\nGETSCRIPT "a"\r\nRENAMESCRIPT "a" {1}\r\nb\r\n'
    b'DELETESCRIPT "b"\r\nNOOP "tag"\r\nUNAUTHENTICATE\r\nLOGOUT\r\n',
    b'AUTHENTICATE "LOGIN"\r\n"YW5u"\r\n{8+}\r\nc2VjcmV0\r\nCHECKSCRIPT {99+}\r\nx\r\n'
    b'SETACTIVE ""\r\nPUTSCRIPT "a\\"b" "x"\r\nHAVESPACE "a" 4294967296\r\n"*"\r\n',
)

AUTODISCOVER = [
    b'<?xml version="1.0" encoding="utf-8"?>\n<Autodiscover xmlns="http://schemas.microsoft.com/'
    b'exchange/autodiscover/outlook/requestschema/2006">\n  <Request>\n    <EMailAddress> '
    b"ann@example.org </EMailAddress>\n    <AcceptableResponseSchema>http://schemas.microsoft"
    b".com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>\n"
    b"  </Request>\n</Autodiscover>",
    b'<a:Autodiscover xmlns:a="x"><a:Request><a:EMailAddress>b&amp;c@d.org</a:EMailAddress>'
    b"</a:Request></a:Autodiscover>",
    b"<Autodiscover><EMailAddress>a&#xe9;&#233;@b.org</EMailAddress></Autodiscover>",
    b"emailaddress=ann%40example.org&protocol=ActiveSync",
]


def b64(s):
    return base64.b64encode(s) + b"\r\n"


SASL = [
    b64(b"\x00ann@example.org\x00secret"),
    b64(b"ann@example.org\x00ann@example.org\x00secret"),
    b"\x00ann\x00pw",
    b"*\r\n",
    b"=\r\n" + b64(b"ann") + b64(b"secret"),
    # Odd first byte: LOGIN with an initial response.
    b"Y" + b64(b"ann")[1:] + b64(b"secret"),
]


def messages():
    """The smallest corpus messages, with the three pick bytes in front
    (section, origin, count), varied so every listed section is seeded."""
    files = sorted(CORPUS.glob("*.eml"), key=lambda p: (p.stat().st_size, p.name))
    out = []
    for i, f in enumerate(files[:30]):
        out.append(bytes([i % 14, 0, 255]) + f.read_bytes())
    # Multipart and message/rfc822 nesting, whatever their size.
    for f in sorted(CORPUS.glob("*.eml")):
        if any(k in f.name for k in ("multipart", "rfc822", "nested", "digest")):
            if f.stat().st_size <= 8192 and len(out) < 45:
                out.append(bytes([len(out) % 14, 3, 40]) + f.read_bytes())
    return out


def write(target, inputs):
    d = HERE / "seeds" / target
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for i, data in enumerate(inputs):
        (d / f"{i:03}").write_bytes(data)


write("smtp_wire", SMTP)
write("imap_wire", IMAP)
write("pop3_wire", POP3)
write("managesieve_wire", MANAGESIEVE)
write("autodiscover", AUTODISCOVER)
write("sasl", SASL)
write("message_render", messages())
for t in sorted(os.listdir(HERE / "seeds")):
    print(t, len(os.listdir(HERE / "seeds" / t)))
