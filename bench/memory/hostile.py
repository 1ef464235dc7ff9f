#!/usr/bin/env python3
"""A hostile-input battery against a mail server's SMTP, IMAP and POP3 ports,
for measuring the memory it keeps afterwards (issue 13). Every client is on
loopback; every loop is bounded in count and time.

Per pass, CONC workers at once, each a mix of:
- SMTP: over-long lines, pipelined junk commands, bad AUTH, a message of
  several MB through DATA, garbage after DATA;
- IMAP: failed logins, over-long lines, literals announced and refused,
  deep parentheses, an APPEND of several MB, FETCH of it whole and by part,
  SEARCH TEXT over it, unknown commands;
- POP3: failed logins, garbage, RETR and TOP of the big message;
- IMAPS (with --imaps): TLS handshakes and failed logins from rotating
  loopback source addresses (127.0.x.y), so per-address tables fill.

usage: hostile.py --smtp PORT --imap PORT --pop3 PORT --user U --password P
                  [--imaps PORT] [--rcpt ADDR] [--conc 40] [--big-mb 4] [--seconds 20]
"""
import argparse
import random
import socket
import ssl
import threading
import time


def conn(port, timeout=20):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return s


def drain(s, until=None, limit=1 << 24):
    buf = b""
    try:
        while len(buf) < limit:
            d = s.recv(65536)
            if not d:
                break
            buf += d
            if until is not None and until in buf:
                break
    except (socket.timeout, OSError):
        pass
    return buf


def big_message(mb, seed):
    line = ("%08d the quick brown fox jumps over the lazy dog 0123456789\r\n" % seed).encode()
    n = (mb << 20) // len(line)
    return (b"From: hostile@elsewhere.test\r\nTo: victim@example.test\r\nSubject: big %d\r\n"
            b"Content-Type: text/plain\r\n\r\n" % seed) + line * n


def smtp_worker(a, seed):
    try:
        s = conn(a.smtp)
        drain(s, b"\r\n")
        s.sendall(b"EHLO hostile.test\r\n")
        drain(s, b"250 ")
        s.sendall(b"X" * 100000 + b"\r\n")
        drain(s, b"\r\n")
        s.sendall(b"NOOP\r\nRSET\r\n" * 300)
        drain(s, None, 4096)
        s.sendall(b"AUTH PLAIN AGJhZABiYWQ=\r\n")
        drain(s, b"\r\n")
        s.sendall(b"MAIL FROM:<h@elsewhere.test>\r\nRCPT TO:<%s>\r\nDATA\r\n" % a.rcpt.encode())
        drain(s, b"354")
        s.sendall(big_message(a.big_mb, seed).replace(b"\r\n.", b"\r\n..") + b"\r\n.\r\n")
        drain(s, b"\r\n")
        s.sendall(bytes(random.getrandbits(8) for _ in range(20000)))
        s.close()
    except OSError:
        pass


def imap_worker(a, seed):
    try:
        s = conn(a.imap)
        drain(s, b"\r\n")
        s.sendall(b"a LOGIN nobody@example.test wrong\r\n")
        drain(s, b"a ")
        s.sendall(b"b LOGIN %s %s\r\n" % (a.user.encode(), a.password.encode()))
        drain(s, b"b ")
        s.sendall(b"c " + b"A" * 200000 + b"\r\n")
        drain(s, b"\r\n")
        s.sendall(b"d APPEND INBOX {999999999999}\r\n")
        drain(s, b"\r\n")
        s.sendall(b"e SEARCH " + b"(" * 5000 + b"ALL" + b")" * 5000 + b"\r\n")
        drain(s, b"e ")
        msg = big_message(a.big_mb, seed)
        s.sendall(b"f APPEND INBOX {%d+}\r\n" % len(msg) + msg + b"\r\n")
        drain(s, b"f ")
        s.sendall(b"g SELECT INBOX\r\n")
        drain(s, b"g ")
        # The newest message only: the mailbox grows during a pass.
        s.sendall(b"h FETCH * (BODY.PEEK[] BODYSTRUCTURE ENVELOPE)\r\n")
        drain(s, b"\r\nh ", 1 << 28)
        s.sendall(b"i SEARCH 1:* TEXT \"lazy dog %08d\"\r\n" % seed)
        drain(s, b"i ")
        s.sendall(b"j FETCH * (BODY.PEEK[1]<0.1000000>)\r\n")
        drain(s, b"\r\nj ", 1 << 28)
        s.sendall(b"k FOO BAR\r\n" * 50 + b"l LOGOUT\r\n")
        drain(s, b"l ")
        s.close()
    except OSError:
        pass


def pop3_worker(a, seed):
    try:
        s = conn(a.pop3)
        drain(s, b"\r\n")
        s.sendall(b"USER nobody\r\nPASS wrong\r\n")
        drain(s, None, 200)
        s.sendall(b"Z" * 50000 + b"\r\n")
        drain(s, b"\r\n")
        s.close()
    except OSError:
        pass


TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # a load generator; the server's cert is not under test


def imaps_worker(a, seed):
    if not a.imaps:
        return
    try:
        src = "127.0.%d.%d" % ((seed >> 8) % 250 + 1, seed % 250 + 2)
        raw = socket.create_connection(("127.0.0.1", a.imaps), timeout=20, source_address=(src, 0))
        s = TLS.wrap_socket(raw)
        drain(s, b"\r\n")
        for i in range(3):
            s.sendall(b"a%d LOGIN user%d@example.test wrong\r\n" % (i, seed))
            drain(s, b"a%d " % i)
        s.close()
    except (OSError, ssl.SSLError):
        pass


def clean(a):
    """Expunges what the pass appended, so passes stay alike."""
    try:
        s = conn(a.imap, 60)
        drain(s, b"\r\n")
        s.sendall(b"a LOGIN %s %s\r\nb SELECT INBOX\r\nc STORE 1:* +FLAGS.SILENT (\\Deleted)\r\nd EXPUNGE\r\ne LOGOUT\r\n"
                  % (a.user.encode(), a.password.encode()))
        drain(s, b"e OK")
        s.close()
    except OSError:
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--smtp", type=int, required=True)
    p.add_argument("--imap", type=int, required=True)
    p.add_argument("--pop3", type=int, required=True)
    p.add_argument("--imaps", type=int, default=0)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--rcpt", default=None)
    p.add_argument("--conc", type=int, default=40)
    p.add_argument("--big-mb", type=int, default=4)
    p.add_argument("--seconds", type=int, default=20)
    a = p.parse_args()
    a.rcpt = a.rcpt or a.user
    random.seed(1)
    deadline = time.time() + a.seconds
    seed = [0]
    lock = threading.Lock()

    def loop(kind):
        while time.time() < deadline:
            with lock:
                seed[0] += 1
                n = seed[0]
            kind(a, n)

    kinds = [smtp_worker, imap_worker, pop3_worker, imaps_worker]
    threads = [threading.Thread(target=loop, args=(kinds[i % len(kinds)],)) for i in range(a.conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(a.seconds + 120)
    clean(a)
    print("battery done: %d clients" % seed[0])


if __name__ == "__main__":
    main()
