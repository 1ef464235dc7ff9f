#!/usr/bin/env python3
"""Times `SEARCH TEXT word` on one IMAP server (bench/imap/fts.sh).

One session: LOGIN, SELECT INBOX, then per word REPS searches in a row,
the first one cold for that word (the index pages its trigrams or terms
need may not be in memory yet), the rest warm. A raw socket, so the
client adds no parsing beyond finding the tagged reply: the time is from
sending the command to the last byte of its answer.

usage: fts_search.py --host H --port P --user U --password PW
                     [--reps 5] [--label L] WORD...
Prints one JSON object per word: {"label", "word", "hits", "ms": [...]}.
"""
import argparse
import json
import socket
import sys
import time


class Conn:
    def __init__(self, host, port, timeout):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.n = 0
        self.read_until(b"\r\n")  # greeting

    def read_until(self, end):
        """Bytes up to and with `end`; a long line costs one pass over it."""
        at = self.buf.find(end)
        parts = []
        while at < 0:
            parts.append(self.buf)
            self.buf = self.s.recv(1 << 20)
            if not self.buf:
                raise SystemExit("connection closed")
            # `end` may straddle the two reads.
            tail = parts[-1][-len(end) + 1:] if parts[-1] else b""
            at = (tail + self.buf).find(end)
            if at >= 0:
                at -= len(tail)
        i = at + len(end)
        parts.append(self.buf[:i])
        self.buf = self.buf[i:]
        return b"".join(parts)

    def command(self, line):
        """Sends `line`; returns the untagged lines of its answer."""
        self.n += 1
        tag = b"t%d " % self.n
        self.s.sendall(tag + line.encode() + b"\r\n")
        lines = []
        while True:
            got = self.read_until(b"\r\n")
            if got.startswith(tag):
                if not got[len(tag):].startswith(b"OK"):
                    raise SystemExit(f"{line}: {got!r}")
                return lines
            lines.append(got)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--label", default="")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("words", nargs="+")
    a = ap.parse_args()
    c = Conn(a.host, a.port, a.timeout)
    c.command(f'LOGIN {a.user} "{a.password}"')
    c.command("SELECT INBOX")
    for w in a.words:
        ms = []
        hits = 0
        for _ in range(a.reps):
            t = time.perf_counter()
            lines = c.command(f"SEARCH TEXT {w}")
            ms.append(round((time.perf_counter() - t) * 1000, 2))
            hits = sum(
                len(line.split()) - 2
                for line in lines
                if line.startswith(b"* SEARCH")
            )
        print(json.dumps({"label": a.label, "word": w, "hits": hits, "ms": ms}))
        sys.stdout.flush()
    c.s.sendall(b"z LOGOUT\r\n")


if __name__ == "__main__":
    main()
