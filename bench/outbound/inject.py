#!/usr/bin/env python3
"""Puts COUNT messages into a server's outbound queue for the outbound
benchmark: message i goes to user<i>@d<i % DOMAINS>.<suffix>, from one
persistent SMTP session (STARTTLS + AUTH for Postern's submission port,
plain for Postfix's relay-from-loopback port). Not timed: the benchmark
times the queue flush that follows."""
import argparse, smtplib, ssl, sys

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--count", type=int, default=1000)
p.add_argument("--domains", type=int, default=10)
p.add_argument("--suffix", default="bench.test")
p.add_argument("--sender", required=True)
p.add_argument("--login", nargs=2, metavar=("USER", "PASS"))
p.add_argument("--size", type=int, default=5120)
a = p.parse_args()
if not (1 <= a.count <= 100000 and 1 <= a.domains <= 1000):
    sys.exit("bounds: 1 <= count <= 100000, 1 <= domains <= 1000")
s = smtplib.SMTP("127.0.0.1", a.port, timeout=60)
s.ehlo("inject.bench.test")
if a.login:
    ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx); s.ehlo("inject.bench.test"); s.login(*a.login)
line = "The quick brown fox jumps over the lazy dog, again and again. " * 1 + "\r\n"
body = line * max(1, a.size // len(line))
for i in range(a.count):
    rcpt = "user%d@d%d.%s" % (i, i % a.domains, a.suffix)
    msg = ("From: %s\r\nTo: %s\r\nSubject: outbound bench %d\r\nMessage-ID: <ob%d@inject.bench.test>\r\n\r\n%s"
           % (a.sender, rcpt, i, i, body))
    s.sendmail(a.sender, [rcpt], msg)
s.quit()
print("injected %d" % a.count, file=sys.stderr)
