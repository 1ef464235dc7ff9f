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


def session(options, *transcripts):
    """Session targets: the split bytes, then the options byte (not part
    of the stream), then the transcript."""
    out = []
    for t in transcripts:
        out.append(SPLIT + bytes([options]) + t)
        out.append(WHOLE + bytes([options]) + t)
    return out


MESSAGE = (
    b"From: Bob <bob@example.net>\r\nTo: ann@example.org\r\nSubject: hi\r\n"
    b"Message-ID: <s@example.net>\r\n\r\nhello\r\n..dot\r\n"
)
PLAIN = base64.b64encode(b"\x00ann@example.org\x00pw")

# Options: bit 0 submission, bit 1 TLS on, bit 2 greylisting, bit 3 bare
# line endings normalised. The fixture: ann@example.org (password pw),
# team@ (alias to ann), fwd@ (to an outside address), list@ (both).
SMTP_SESSION = (
    session(
        0,
        b"EHLO client.example\r\nMAIL FROM:<bob@example.net> SIZE=200 BODY=8BITMIME\r\n"
        b"RCPT TO:<ann@example.org>\r\nRCPT TO:<Team@Example.org> NOTIFY=NEVER\r\n"
        b"RCPT TO:<fwd@example.org>\r\nRCPT TO:<list@example.org>\r\n"
        b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<ann+tag@example.org>\r\n"
        b"RCPT TO:<victim@elsewhere.example>\r\nDATA\r\n" + MESSAGE + b".\r\n"
        b"MAIL FROM:<>\r\nRCPT TO:<ann@example.org>\r\nBDAT 21\r\n"
        b"Subject: bdat\r\n\r\nab\r\nBDAT 0 LAST\r\nRSET\r\nNOOP\r\nQUIT\r\n",
        b"HELO a\r\nMAIL FROM:<a@b.example> SMTPUTF8\r\nRCPT TO:<ann@example.org>\r\n"
        b"DATA\r\n" + b"Received: from x by y; Mon, 7 Dec 2026 10:00:00 +0000\r\n" * 3
        + MESSAGE + b".\r\nVRFY ann\r\nEXPN team\r\nHELP\r\nAUTH PLAIN\r\nSTARTTLS\r\n",
    )
    + session(
        3,
        b"EHLO client.example\r\nAUTH PLAIN " + PLAIN + b"\r\nMAIL FROM:<ann@example.org>\r\n"
        b"RCPT TO:<someone@remote.example>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\n"
        b"From: ann@example.org\r\nTo: someone@remote.example\r\nSubject: out\r\n\r\nhi\r\n.\r\nQUIT\r\n",
        b"EHLO c\r\nMAIL FROM:<ann@example.org>\r\nAUTH LOGIN\r\n"
        + base64.b64encode(b"ann@example.org") + b"\r\n" + base64.b64encode(b"wrong")
        + b"\r\nAUTH LOGIN " + base64.b64encode(b"ann@example.org") + b"\r\n"
        + base64.b64encode(b"pw") + b"\r\nMAIL FROM:<bob@example.net>\r\n"
        b"RCPT TO:<x@remote.example>\r\nBDAT 5 LAST\r\nabcde*\r\n",
    )
    + session(
        4,
        b"EHLO c\r\nMAIL FROM:<bob@example.net>\r\nRCPT TO:<ann@example.org>\r\n"
        b"RCPT TO:<team@example.org>\r\nDATA\r\n",
    )
    + session(8, b"EHLO c\r\nMAIL FROM:<b@c.example>\r\nRCPT TO:<ann@example.org>\r\nDATA\r\n"
              b"Subject: bare\nlf\r\nand\rcr\r\n.\r\n")
)

# No options byte: logged in already; the INBOX holds five messages (a plain one, a
# multipart, a message/rfc822, a reply, an 8-bit one).
IMAP_SESSION = wire(
    b"a1 SELECT INBOX (CONDSTORE)\r\na2 FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE BODY.PEEK[] "
    b"BINARY[2.2] BODY[1.MIME] BODY[HEADER.FIELDS (SUBJECT)]<0.10> RFC822.SIZE MODSEQ)\r\n"
    b"a3 STORE 1:2 +FLAGS (\\Seen $Work)\r\na4 UID STORE 3 FLAGS.SILENT (\\Deleted) "
    b"(UNCHANGEDSINCE 99)\r\na5 SEARCH RETURN (MIN MAX COUNT ALL) OR SUBJECT hello "
    b"BODY cafe\r\na6 UID SORT (REVERSE ARRIVAL SUBJECT) UTF-8 ALL\r\n"
    b"a7 THREAD REFERENCES UTF-8 ALL\r\na8 THREAD ORDEREDSUBJECT US-ASCII SEEN\r\n"
    b"a9 EXPUNGE\r\na10 UID EXPUNGE 1:2\r\na11 CLOSE\r\na12 LOGOUT\r\n",
    b"b1 CREATE Work/Sub\r\nb2 SELECT INBOX\r\nb3 COPY 1:3 Work/Sub\r\n"
    b"b4 UID MOVE 4:* Work\r\nb5 RENAME Work Archive\r\nb6 LIST \"\" *\r\n"
    b"b7 STATUS Archive/Sub (MESSAGES UIDNEXT UNSEEN SIZE)\r\nb8 DELETE Archive/Sub\r\n"
    b"b9 EXAMINE Archive\r\nb10 FETCH 1:* FAST\r\nb11 RENAME INBOX Old\r\n"
    b"b12 CREATE \"&AOk-t&AOk-\" (USE (\\Archive))\r\nb13 LIST (SPECIAL-USE) \"\" *\r\n",
    b"c1 APPEND INBOX (\\Flagged) \"07-Dec-2026 10:00:00 +0000\" {" + str(len(MESSAGE)).encode()
    + b"+}\r\n" + MESSAGE + b"\r\nc2 SELECT INBOX\r\nc3 IDLE\r\nDONE\r\n"
    b"c4 NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MailboxName))\r\n"
    b"c5 APPEND INBOX CATENATE (TEXT {5+}\r\nhello)\r\n"
    b"c6 NOOP\r\nc7 NOTIFY NONE\r\nc8 UID FETCH 1:* (UID FLAGS) (CHANGEDSINCE 1)\r\n",
    b"d1 ENABLE QRESYNC UTF8=ACCEPT\r\nd2 SELECT INBOX (QRESYNC (1 1 1:9))\r\n"
    b"d3 UID SEARCH RETURN (SAVE) SINCE 1-Jan-2000\r\nd4 UID FETCH $ (FLAGS)\r\n"
    b"d5 SETMETADATA INBOX (/private/comment \"hi\")\r\nd6 GETMETADATA INBOX /private/comment\r\n"
    b"d7 GETQUOTAROOT INBOX\r\nd8 NAMESPACE\r\nd9 UNSELECT\r\nd10 UNAUTHENTICATE\r\n"
    b"d11 LOGIN ann@example.org pw\r\nd12 AUTHENTICATE PLAIN\r\n" + PLAIN + b"\r\n",
)

# Option bit 0: start logged in as ann.
POP3_SESSION = session(
    1,
    b"STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 0\r\nTOP 3 99999999999\r\nDELE 1\r\n"
    b"LIST 1\r\nRSET\r\nDELE 5\r\nQUIT\r\n",
) + session(
    0,
    b"CAPA\r\nUSER ann@example.org\r\nPASS wrong\r\nUSER ann@example.org\r\nPASS pw\r\n"
    b"STAT\r\nRETR 2\r\nNOOP\r\nQUIT\r\n",
    b"AUTH PLAIN\r\n" + PLAIN + b"\r\nUIDL 1\r\nDELE 1\r\nDELE 2\r\nDELE 3\r\nDELE 4\r\n"
    b"DELE 5\r\nQUIT\r\n",
)


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
write("smtp_session", SMTP_SESSION)
write("imap_session", IMAP_SESSION)
write("pop3_session", POP3_SESSION)
write("message_render", messages())
for t in sorted(os.listdir(HERE / "seeds")):
    print(t, len(os.listdir(HERE / "seeds" / t)))
