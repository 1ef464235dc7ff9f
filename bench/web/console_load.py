#!/usr/bin/env python3
"""Web console load for bench/web/run.sh: logs sessions in over HTTPS (the
login form's double-submit token, then the address and password), each on
its own keep-alive TLS connection, as a browser tab holds one.

  ttfb: N sessions ask for the dashboard (GET /admin) in a loop at once for
        S seconds; prints the time to first byte of each answer (request
        written -> status line read): count, rate, median, p90, p99, max,
        as a line of JSON.
  hold: N sessions log in, load the dashboard once, touch --ready-file and
        keep their connections open for --hold seconds (the memory of open
        web sessions).

One asyncio process (no threads): the client's own time per request is a
few tens of microseconds, and it runs on the same two cores as the
server, which the figures include.
"""

import argparse
import asyncio
import json
import re
import ssl
import sys
import time
import urllib.parse


class Conn:
    """One keep-alive HTTP/1.1 connection over TLS, with its cookies."""

    def __init__(self, host, port, ctx):
        self.host, self.port, self.ctx = host, port, ctx
        self.cookies = {}
        self.reader = self.writer = None

    async def open(self):
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, ssl=self.ctx, server_hostname="localhost")

    async def request(self, method, path, fields=None):
        body = urllib.parse.urlencode(fields).encode() if fields is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n"
        if self.cookies:
            head += "Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n"
        if fields is not None:
            head += ("Content-Type: application/x-www-form-urlencoded\r\n"
                     f"Content-Length: {len(body)}\r\n")
        t0 = time.perf_counter()
        self.writer.write(head.encode() + b"\r\n" + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        ttfb = time.perf_counter() - t0
        if not status_line:
            raise ConnectionError(f"{method} {path}: connection closed")
        headers = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            k, v = line.decode("latin-1").split(":", 1)
            k, v = k.strip().lower(), v.strip()
            if k == "set-cookie":
                name, value = v.split(";")[0].split("=", 1)
                if value:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
            headers[k] = v
        if "chunked" in headers.get("transfer-encoding", ""):
            raise ValueError("chunked answers are not expected from the console")
        n = int(headers.get("content-length", "0"))
        data = await self.reader.readexactly(n) if n else b""
        return int(status_line.split()[1]), headers, data.decode("utf-8", "replace"), ttfb

    async def login(self, address, password):
        st, _, body, _ = await self.request("GET", "/account/login")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', body)
        assert st == 200 and token, (st, body[:300])
        st, h, _, _ = await self.request(
            "POST", "/account/login",
            {"csrf": token.group(1), "address": address, "password": password})
        assert st == 303 and h.get("location") == "/admin", (st, h)
        await self.dashboard()

    async def dashboard(self):
        st, _, body, ttfb = await self.request("GET", "/admin")
        assert st == 200 and "Dashboard" in body, (st, body[:300])
        return ttfb

    def close(self):
        if self.writer:
            self.writer.close()


async def sessions(args, ctx):
    conns = [Conn(args.host, args.port, ctx) for _ in range(args.sessions)]
    for c in conns:            # one at a time: logins are not what is measured
        await c.open()
        await c.login(args.address, args.password)
    return conns


def pct(sorted_ms, p):
    return sorted_ms[min(len(sorted_ms) - 1, int(p / 100 * len(sorted_ms)))]


async def ttfb(args, ctx):
    conns = await sessions(args, ctx)
    times = []
    end = time.perf_counter() + args.seconds

    async def loop(c):
        while time.perf_counter() < end:
            times.append(await c.dashboard())

    t0 = time.perf_counter()
    await asyncio.gather(*(loop(c) for c in conns))
    took = time.perf_counter() - t0
    for c in conns:
        c.close()
    ms = sorted(t * 1000 for t in times)
    print(json.dumps({
        "mode": "ttfb", "sessions": args.sessions, "seconds": round(took, 2),
        "requests": len(ms), "per_s": round(len(ms) / took, 1),
        "median_ms": round(pct(ms, 50), 2), "p90_ms": round(pct(ms, 90), 2),
        "p99_ms": round(pct(ms, 99), 2), "max_ms": round(ms[-1], 2)}))


async def hold(args, ctx):
    conns = await sessions(args, ctx)
    if args.ready_file:
        with open(args.ready_file, "w") as f:
            f.write("ready\n")
    await asyncio.sleep(args.hold)
    for c in conns:
        c.close()
    print(json.dumps({"mode": "hold", "sessions": args.sessions, "held_s": args.hold}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["ttfb", "hold"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True, help="the server's certificate (PEM), pinned")
    ap.add_argument("--address", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--hold", type=float, default=30)
    ap.add_argument("--ready-file")
    args = ap.parse_args()
    if not (1 <= args.sessions <= 1000 and 0 < args.seconds <= 600 and 0 < args.hold <= 600):
        sys.exit("bounds: 1 <= sessions <= 1000, 0 < seconds, hold <= 600")
    ctx = ssl.create_default_context(cafile=args.cert)
    ctx.check_hostname = False
    asyncio.run(ttfb(args, ctx) if args.mode == "ttfb" else hold(args, ctx))


if __name__ == "__main__":
    main()
