#!/usr/bin/env python3
"""Table from bench/pop3/run.sh's JSON lines: per scenario and server the
median msg/s and MB/s over reps (min-max in brackets), CPU busy %, and the
Postern/Dovecot ratio of the medians.

usage: report.py RESULTS.jsonl
"""
import json
import statistics
import sys

SCEN = {
    "retr": "RETR 1,000 messages, one connection, one at a time",
    "retr-pipelined": "RETR 1,000 messages, one connection, 16 pipelined",
    "drain": "20 users at once, each RETR + DELE 100 messages, QUIT",
}


def med(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, ""
    m = statistics.median(xs)
    rng = f" [{min(xs):,.1f}–{max(xs):,.1f}]" if len(xs) > 1 else ""
    return m, rng


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    print("\n| scenario | server | msg/s | MB/s | CPU busy % | runs |")
    print("|---|---|--:|--:|--:|--:|")
    for s, title in SCEN.items():
        got = {}
        for srv in ("postern", "dovecot"):
            rs = [r for r in rows if r.get("scenario") == s and r.get("server") == srv]
            if not rs:
                continue
            m, mr = med([r["msgs_per_s"] for r in rs])
            b, br = med([r["mb_per_s"] for r in rs])
            c, _ = med([r.get("cpu_busy_pct") for r in rs])
            got[srv] = (m, b)
            msgs = rs[0]["messages"]
            print(f"| {title} ({msgs} msgs) | {srv} | {m:,.0f}{mr} | {b:,.1f}{br} | {c:.0f} | {len(rs)} |")
        if len(got) == 2 and got["dovecot"][0]:
            print(f"| {title} | **ratio** | **{got['postern'][0] / got['dovecot'][0]:.2f}×** "
                  f"| **{got['postern'][1] / got['dovecot'][1]:.2f}×** | | |")


if __name__ == "__main__":
    main()
