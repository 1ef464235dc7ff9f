#!/usr/bin/env python3
"""Tables from bench/imap/run.sh's JSON lines: mixed load per scenario and
server (medians over reps, min-max in brackets), Postern/Dovecot ratios,
memory per idle connection, first sync and SEARCH of the large mailbox.

usage: report.py RESULTS.jsonl
"""
import json
import statistics
import sys

CMDS = ["LOGIN", "SELECT", "FETCH", "UID FETCH", "STORE", "APPEND", "UID STORE", "UID EXPUNGE", "LOGOUT"]
SCEN = {"10c-1u": "10 clients, 1 user", "50c-1u": "50 clients, 1 user", "50c-50u": "50 clients, 50 users",
        "50c-100u": "50 clients, 100 users"}
NAMES = {"dovecot": "Dovecot", "postern": "Postern"}


def med(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, ""
    m = statistics.median(xs)
    rng = f" [{min(xs):,.0f}–{max(xs):,.0f}]" if len(xs) > 1 else ""
    return m, rng


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    mixed = [r for r in rows if r.get("mode") == "mixed"]
    scen = [s for s in SCEN if any(r["scenario"] == s for r in mixed)]
    if mixed:
        pipe = sorted({r.get("pipeline", 1) for r in mixed})
        rate = sorted({r.get("rate") or 0 for r in mixed})
        paced = "sessions back to back" if rate == [0] else f"{'/'.join(map(str, rate))} sessions/s offered"
        print(f"\nMixed load, {'/'.join(map(str, pipe))} command(s) in flight per connection, {paced} "
              "(commands/s over all clients; p50 / p99 ms per command):\n")
        print("| scenario | server | commands/s | sessions/s | NO/BAD | session errors | sequence errors | "
              "INBOX kept | CPU busy % | " + " | ".join(CMDS) + " |")
        print("|---|---|--:|--:|--:|--:|--:|--:|--:|" + "--:|" * len(CMDS))
        for s in scen:
            for srv in ("postern", "dovecot"):
                rs = [r for r in mixed if r["scenario"] == s and r["server"] == srv]
                if not rs:
                    continue
                c, crng = med([r["cmds_per_s"] for r in rs])
                ss, _ = med([r["sessions_per_s"] for r in rs])
                cpu, _ = med([r.get("cpu_busy_pct") for r in rs])
                nb = sum(r["no_bad"] for r in rs)
                se = sum(r["session_errors"] for r in rs)
                sq = sum(r.get("seq_errors", 0) for r in rs)
                kept = "-" if "inbox_before" not in rs[0] else \
                    ("yes" if all(r["inbox_before"] == r["inbox_after"] for r in rs) else "**no**")
                lat = []
                for k in CMDS:
                    p50, _ = med([r["per_cmd"][k]["p50_ms"] for r in rs if r["per_cmd"][k]["n"]])
                    p99, _ = med([r["per_cmd"][k]["p99_ms"] for r in rs if r["per_cmd"][k]["n"]])
                    lat.append("-" if p50 is None else f"{p50:.2f} / {p99:.1f}")
                print(f"| {SCEN[s]} | {NAMES[srv]} | {c:,.0f}{crng} | {ss:,.0f} | {nb} | {se} | {sq} | {kept} | {cpu:.0f} | "
                      + " | ".join(lat) + " |")
        print("\n| scenario | commands/s Postern / Dovecot | NO/BAD answers (Postern, Dovecot) |")
        print("|---|--:|---|")
        for s in scen:
            p = [r for r in mixed if r["scenario"] == s and r["server"] == "postern"]
            d = [r for r in mixed if r["scenario"] == s and r["server"] == "dovecot"]
            if p and d:
                pm, _ = med([r["cmds_per_s"] for r in p])
                dm, _ = med([r["cmds_per_s"] for r in d])
                errs = []
                for rs in (p, d):
                    by = {}
                    for r in rs:
                        for k, v in r["per_cmd"].items():
                            if v["err"]:
                                by[k] = by.get(k, 0) + v["err"]
                    n = sum(r["commands"] for r in rs)
                    errs.append(", ".join(f"{k} {v}" for k, v in by.items()) + f" of {n}" if by else "0")
                print(f"| {SCEN[s]} | **{pm / dm:.2f}×** | {errs[0]}; {errs[1]} |")
        for r in mixed:
            print(f"BENCH imap server={r['server']} scenario={r['scenario']} rep={r['rep']} order={r['order']} "
                  f"cmds_per_s={r['cmds_per_s']} sessions_per_s={r['sessions_per_s']} no_bad={r['no_bad']} "
                  f"session_errors={r['session_errors']} delete_misses={r['delete_misses']} "
                  f"seq_errors={r.get('seq_errors')} pipeline={r.get('pipeline', 1)} "
                  f"inbox_before=\"{r.get('inbox_before')}\" inbox_after=\"{r['inbox_after']}\" "
                  f"cpu_busy_pct={r.get('cpu_busy_pct')}")
    idle = {(r["server"], r.get("tool", "run-idle-mem.sh")): r for r in rows if r.get("mode") == "idle"}
    if idle:
        print("\nMemory per idle IMAP connection (LOGIN, SELECT INBOX of 400 messages, IDLE; plaintext; "
              "(with - before) / n over the server's process tree, proc_mem.py):\n")
        print("| server | clients | idling | processes with | PSS per conn KiB | RSS per conn KiB | USS per conn KiB "
              "| PSS before / with, MiB | RSS before / with, MiB |")
        print("|---|---|--:|--:|--:|--:|--:|--:|--:|")
        for key in sorted(idle, key=lambda k: (k[0] != "postern", k[1] != "imap-load idle")):
            r = idle[key]
            if "pss_kib_per_conn" not in r:
                continue
            print(f"| {NAMES[key[0]]} | `{key[1]}` | {r.get('idling_peak', '?')}/{r['n']} | {r.get('procs_with', '?')} | "
                  f"{r['pss_kib_per_conn']:,} | {r['rss_kib_per_conn']:,} | {r['uss_kib_per_conn']:,} | "
                  f"{r.get('pss_mib_before', '?')} / {r.get('pss_mib_with', '?')} | {r.get('rss_mib_before', '?')} / {r.get('rss_mib_with', '?')} |")
        p, d = idle.get(("postern", "imap-load idle")), idle.get(("dovecot", "imap-load idle"))
        if p and d and "pss_kib_per_conn" in p and "pss_kib_per_conn" in d:
            print(f"\nPostern / Dovecot per connection (same client): PSS {p['pss_kib_per_conn'] / max(1, d['pss_kib_per_conn']):.3f}×, "
                  f"RSS {p['rss_kib_per_conn'] / max(1, d['rss_kib_per_conn']):.3f}×")
        for (srv, tool), r in idle.items():
            print(f"BENCH imap-idle server={srv} tool=\"{tool}\" n={r['n']} idling={r.get('idling_peak')} "
                  f"pss_kib_per_conn={r.get('pss_kib_per_conn')} rss_kib_per_conn={r.get('rss_kib_per_conn')}")
    syncs = {r["server"]: r for r in rows if r.get("mode") == "sync"}
    if syncs:
        print("\nFirst sync of a large mailbox, one client (ms; rep 1 is the first, then two more in the same session):\n")
        print("| server | messages | SELECT ms | UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE) ms, reps 1/2/3 "
              "| bytes | SEARCH TEXT ms, reps 1/2/3 | hits |")
        print("|---|--:|--:|---|--:|---|--:|")
        for srv in ("postern", "dovecot"):
            r = syncs.get(srv)
            if not r:
                continue
            f = " / ".join(f"{x['fetch_ms']:,.0f}" for x in r["reps"])
            s = " / ".join(f"{x['search_ms']:,.0f}" for x in r["reps"])
            print(f"| {NAMES[srv]} | {r['exists']:,} ({r['reps'][0]['fetched']:,} fetched) | {r['select_ms']:.1f} | {f} | "
                  f"{r['reps'][0]['fetch_bytes']:,} | {s} | {r['reps'][0]['hits']:,} |")
        if "postern" in syncs and "dovecot" in syncs:
            p, d = syncs["postern"]["reps"], syncs["dovecot"]["reps"]
            print(f"\nPostern / Dovecot time: first UID FETCH {p[0]['fetch_ms'] / d[0]['fetch_ms']:.2f}×, "
                  f"warm UID FETCH (min of reps 2-3) {min(x['fetch_ms'] for x in p[1:]) / min(x['fetch_ms'] for x in d[1:]):.2f}×, "
                  f"first SEARCH {p[0]['search_ms'] / d[0]['search_ms']:.2f}×, "
                  f"warm SEARCH {min(x['search_ms'] for x in p[1:]) / min(x['search_ms'] for x in d[1:]):.2f}× (below 1: Postern faster)")


if __name__ == "__main__":
    main()
