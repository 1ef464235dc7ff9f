#!/usr/bin/env python3
"""SMTP accept and end-to-end delivery rate of one server, driven by Postfix's
smtp-source; and the report that sets Postern against Postfix + Dovecot.

`run` sends COUNT copies of one message file to one recipient on HOST:PORT
with the same smtp-source arguments as ../shared/peers/smtp_load.py (the peers'
reference driver): `smtp-source [-d] -s SESSIONS -m COUNT -F MSG
-f loadgen@DOMAIN -t RCPT -M loadgen.DOMAIN inet:HOST:PORT`, one process.

- accepted rate  = COUNT / (time until smtp-source exited, i.e. every DATA got
  its 250 reply), the exit time taken by a thread waiting on the process;
- delivered rate = COUNT / (time until the recipient's INBOX holds COUNT
  messages), polled every --poll seconds, and once more at once when
  smtp-source exits. The count comes from a pluggable counter:
  `--maildir DIR` counts files in DIR/new and DIR/cur (Dovecot, no load on the
  server, as smtp_load.py --maildir-pattern does); `--postern BIN --postern-config
  FILE` runs `BIN --config FILE mailbox list RCPT` and reads the INBOX line.

It also takes machine-wide CPU busy % (/proc/stat) and the CPU seconds the
server's processes used (every process whose session id is one of --cpu-sid,
their own time plus that of the children they reaped), and with
--fsync-probe-dir the disk's raw fsync rate for one second just before the run
(the disk is shared and its rate moves within minutes). One JSON line per run
goes to stdout and to --json.

`report JSONL` prints the Markdown table (medians over the reps, min-max in
brackets, Postern/Postfix ratios of the medians) and `BENCH smtp ...` lines.

Every loop is bounded: COUNT <= 100000, --timeout seconds. Loopback only.
Python standard library only.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

LOOPBACK = ("127.", "localhost", "::1")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_snap():
    """(busy, total) jiffies of the whole machine."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
    return busy, busy + v[3] + v[4]


def busy_pct(a, b):
    return 100.0 * (b[0] - a[0]) / max(1, b[1] - a[1])


def session_cpu(sids):
    """CPU seconds of every process in the given sessions: utime+stime plus
    cutime+cstime (children already reaped). Returns (seconds, processes)."""
    if not sids:
        return 0.0, 0
    ticks, n = 0, 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                s = f.read()
        except OSError:
            continue  # exited meanwhile
        rest = s[s.rfind(")") + 2:].split()
        # rest[0] is field 3 (state): session is field 6, utime..cstime 14..17
        if int(rest[3]) in sids:
            ticks += sum(int(x) for x in rest[11:15])
            n += 1
    return ticks / CLK_TCK, n


def fsync_probe(d, secs):
    """The disk's raw commit rate just before a run, as the store benchmark's
    fsync-4k row measures it: overwrite 4 KB in place in a 1 MiB file already
    written and synced, fsync, in a loop, for secs seconds. Returns fsync/s."""
    path = os.path.join(d, f"fsync-probe.{os.getpid()}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, b"\0" * (1 << 20))
        os.fsync(fd)
        buf = os.urandom(4096)
        n, t0 = 0, time.monotonic()
        t = t0
        while t - t0 < secs and n < 1_000_000:
            os.pwrite(fd, buf, (n % 256) * 4096)
            os.fsync(fd)
            n += 1
            t = time.monotonic()
        return n / max(t - t0, 1e-9)
    finally:
        os.close(fd)
        os.unlink(path)


class MaildirCounter:
    def __init__(self, d):
        self.dir = d
        self.desc = "maildir file count (new+cur)"

    def count(self):
        n = 0
        for sub in ("new", "cur"):
            try:
                n += sum(1 for e in os.scandir(os.path.join(self.dir, sub)) if e.is_file())
            except FileNotFoundError:
                pass
        return n


class PosternCounter:
    def __init__(self, binary, config, user):
        self.cmd = [binary, "--config", config, "mailbox", "list", user]
        self.desc = "postern mailbox list (INBOX count)"

    def count(self):
        p = subprocess.run(self.cmd, capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(self.cmd)}: rc {p.returncode}: {p.stderr.strip()[-300:]}")
        for line in p.stdout.splitlines():
            f = line.split("\t")
            if f[0] == "INBOX" and len(f) > 1 and f[1].endswith(" messages"):
                return int(f[1].split()[0])
        raise RuntimeError(f"no INBOX line in: {p.stdout[:300]!r}")


class TimedCounter:
    """Counts calls and the wall time spent in them."""

    def __init__(self, inner):
        self.inner, self.calls, self.secs = inner, 0, 0.0
        self.desc = inner.desc

    def count(self):
        t = time.monotonic()
        try:
            return self.inner.count()
        finally:
            self.calls += 1
            self.secs += time.monotonic() - t


def cmd_run(a):
    if not a.host.startswith(LOOPBACK):
        sys.exit("refusing non-loopback host")
    if not (0 < a.count <= 100000 and 0 < a.sessions <= 500 and 0 < a.timeout <= 3600):
        sys.exit("bounds: 0 < count <= 100000, 0 < sessions <= 500, 0 < timeout <= 3600")
    if bool(a.maildir) == bool(a.postern):
        sys.exit("give exactly one counter: --maildir DIR or --postern BIN")
    inner = MaildirCounter(a.maildir) if a.maildir else PosternCounter(a.postern, a.postern_config, a.rcpt)
    counter = TimedCounter(inner)
    base = counter.count()
    if base != a.base:
        sys.exit(f"{a.rcpt}: INBOX holds {base} before the run, expected {a.base}")
    counter.calls, counter.secs = 0, 0.0
    sids = set(a.cpu_sid or [])
    fsync_per_s = fsync_probe(a.fsync_probe_dir, a.fsync_probe_secs) if a.fsync_probe_dir else None
    domain = a.rcpt.split("@", 1)[1]
    cmd = [a.smtp_source, "-s", str(a.sessions), "-m", str(a.count), "-F", a.msg,
           "-f", f"loadgen@{domain}", "-t", a.rcpt, "-M", f"loadgen.{domain}"]
    if a.persistent:
        cmd.insert(1, "-d")
    cmd.append(f"inet:{a.host}:{a.port}")

    done = threading.Event()
    result = {}

    def wait(p):
        out = p.communicate()[0]  # drains the pipe, then reaps
        result["t_exit"] = time.monotonic()
        result["rc"] = p.returncode
        result["out"] = out.decode(errors="replace").strip()
        done.set()

    srv0 = session_cpu(sids)
    c0 = cpu_snap()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    waiter = threading.Thread(target=wait, args=(proc,), daemon=True)
    waiter.start()
    deadline = t0 + a.timeout
    t_deliver = None
    c_acc = srv_acc = None
    delivered = 0
    polls = 0
    max_polls = int(a.timeout / a.poll) + 10  # belt and braces: the deadline also bounds it
    while time.monotonic() < deadline and polls < max_polls:
        polls += 1
        if c_acc is None:
            # sleeps one poll interval, or less when smtp-source exits: the
            # first count after the exit comes at once
            if done.wait(timeout=a.poll):
                c_acc, srv_acc = cpu_snap(), session_cpu(sids)
        else:
            time.sleep(a.poll)
        delivered = counter.count() - a.base
        if delivered >= a.count:
            t_deliver = time.monotonic()
            break
    if not done.is_set():
        proc.kill()
        done.wait(timeout=10)
    c1, srv1 = cpu_snap(), session_cpu(sids)
    if c_acc is None:
        c_acc, srv_acc = c1, srv1
    waiter.join(timeout=10)
    # the final count, a moment later: more than COUNT would mean duplicates
    time.sleep(0.2)
    final = counter.count() - a.base if t_deliver else delivered
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)  # smtp-source + counter commands
    t_accept = result.get("t_exit") if result.get("rc") == 0 else None
    srv_total = srv1[0] - srv0[0]
    res = {
        "server": a.server, "mode": "persistent" if a.persistent else "newconn",
        "rep": a.rep, "order": a.order, "rcpt": a.rcpt, "base": a.base,
        "count": a.count, "sessions": a.sessions, "persistent_connections": a.persistent,
        "msg_bytes": os.path.getsize(a.msg), "delivery_check": counter.desc,
        "smtp_source_rc": result.get("rc"), "smtp_source_output": result.get("out", "")[-400:],
        "accept_secs": round(t_accept - t0, 3) if t_accept else None,
        "accepted_per_s": round(a.count / (t_accept - t0), 1) if t_accept else None,
        "deliver_secs": round(t_deliver - t0, 3) if t_deliver else None,
        "delivered_per_s": round(a.count / (t_deliver - t0), 1) if t_deliver else None,
        "delivered": delivered, "delivered_final": final,
        "cpu_busy_pct_accept_phase": round(busy_pct(c0, c_acc), 1),
        "cpu_busy_pct_total": round(busy_pct(c0, c1), 1),
        "server_cpu_secs_accept_phase": round(srv_acc[0] - srv0[0], 2),
        "server_cpu_secs_total": round(srv_total, 2),
        "server_cpu_ms_per_msg": round(1000 * srv_total / a.count, 3) if sids else None,
        "server_procs_at_end": srv1[1],
        "client_cpu_secs": round(ru.ru_utime + ru.ru_stime, 2),
        "fsync_per_s_before": round(fsync_per_s) if fsync_per_s else None,
        "counter_calls": counter.calls, "counter_secs": round(counter.secs, 2),
    }
    line = json.dumps(res)
    print(line, flush=True)
    if a.json:
        with open(a.json, "a") as f:
            f.write(line + "\n")
    bad = []
    if result.get("rc") != 0:
        bad.append(f"smtp-source rc {result.get('rc')}")
    if t_deliver is None:
        bad.append(f"timeout: delivered {delivered}/{a.count}")
    elif final != a.count:
        bad.append(f"INBOX holds {final}, expected {a.count}")
    if bad:
        sys.exit(f"{a.server} {res['mode']} rep {a.rep}: " + "; ".join(bad))


def fmt(xs, digits=0):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    m = statistics.median(xs)
    if len(xs) == 1:
        return f"{m:,.{digits}f}"
    return f"{m:,.{digits}f} [{min(xs):,.{digits}f}–{max(xs):,.{digits}f}]"


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def cmd_report(a):
    rows = []
    with open(a.jsonl) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    if not rows:
        sys.exit("no results")
    names = {"postern": "Postern", "postfix": "Postfix + Dovecot"}
    modes = [("newconn", "new connection per message"), ("persistent", "persistent sessions (-d)")]
    r0 = rows[0]
    print(f"\n{r0['count']} messages of {r0['msg_bytes']} bytes (LF; CRLF on the wire) to one "
          f"recipient, {r0['sessions']} concurrent sessions; median of the reps [min–max]\n")
    print("| mode | server | reps | accepted msg/s | delivered msg/s | CPU busy % (accept) | server CPU ms/msg | disk fsync/s before |")
    print("|---|---|--:|--:|--:|--:|--:|--:|")
    summary = []
    for mode, mdesc in modes:
        med_by = {}
        for server in ("postern", "postfix"):
            rs = [r for r in rows if r["mode"] == mode and r["server"] == server]
            if not rs:
                continue
            acc = [r["accepted_per_s"] for r in rs]
            dlv = [r["delivered_per_s"] for r in rs]
            med_by[server] = (med(acc), med(dlv))
            print(f"| {mdesc} | {names[server]} | {len(rs)} | {fmt(acc)} | {fmt(dlv)} | "
                  f"{fmt([r['cpu_busy_pct_accept_phase'] for r in rs])} | "
                  f"{fmt([r['server_cpu_ms_per_msg'] for r in rs], 2)} | "
                  f"{fmt([r.get('fsync_per_s_before') for r in rs])} |")
        if len(med_by) == 2:
            (pa, pd), (xa, xd) = med_by["postern"], med_by["postfix"]
            ra = pa / xa if pa and xa else None
            rd = pd / xd if pd and xd else None
            summary.append((mode, mdesc, pa, xa, ra, pd, xd, rd))
    if summary:
        print("\n| mode | accepted: Postern / Postfix | delivered: Postern / Postfix+Dovecot |")
        print("|---|--:|--:|")
        for mode, mdesc, pa, xa, ra, pd, xd, rd in summary:
            f = lambda x: f"{x:.2f}×" if x else "-"  # noqa: E731
            print(f"| {mdesc} | {f(ra)} | {f(rd)} |")
    print()
    for r in rows:
        print(f"BENCH smtp server={r['server']} mode={r['mode']} rep={r['rep']} order={r['order']} "
              f"count={r['count']} sessions={r['sessions']} msg_bytes={r['msg_bytes']} "
              f"accept_secs={r['accept_secs']} accepted_per_s={r['accepted_per_s']} "
              f"deliver_secs={r['deliver_secs']} delivered_per_s={r['delivered_per_s']} "
              f"cpu_busy_pct_accept={r['cpu_busy_pct_accept_phase']} "
              f"cpu_busy_pct_total={r['cpu_busy_pct_total']} "
              f"server_cpu_ms_per_msg={r['server_cpu_ms_per_msg']} "
              f"fsync_per_s_before={r.get('fsync_per_s_before')} smtp_source_rc={r['smtp_source_rc']}")
    for mode, mdesc, pa, xa, ra, pd, xd, rd in summary:
        g = lambda x, d=1: "none" if x is None else f"{x:.{d}f}"  # noqa: E731
        print(f"BENCH smtp-ratio mode={mode} postern_accepted_per_s={g(pa)} postfix_accepted_per_s={g(xa)} "
              f"ratio_accepted={g(ra, 3)} postern_delivered_per_s={g(pd)} "
              f"postfix_delivered_per_s={g(xd)} ratio_delivered={g(rd, 3)}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="one run against one server")
    r.add_argument("--server", required=True, choices=["postern", "postfix"])
    r.add_argument("--host", default="127.0.0.1")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--count", type=int, default=5000)
    r.add_argument("--sessions", type=int, default=10)
    r.add_argument("--msg", required=True, help="message file for smtp-source -F")
    r.add_argument("--rcpt", required=True, help="envelope recipient, user@domain")
    r.add_argument("--persistent", action="store_true", help="smtp-source -d: reuse each session's connection")
    r.add_argument("--maildir", help="count files in DIR/new and DIR/cur")
    r.add_argument("--postern", help="postern binary: count with `mailbox list`")
    r.add_argument("--postern-config", help="postern --config FILE")
    r.add_argument("--cpu-sid", type=int, action="append", help="session id of the server's processes")
    r.add_argument("--poll", type=float, default=0.05)
    r.add_argument("--timeout", type=float, default=600)
    r.add_argument("--smtp-source", default=os.environ.get("SMTP_SOURCE", "/usr/sbin/smtp-source"))
    r.add_argument("--fsync-probe-dir", help="measure the fsync rate here just before the run")
    r.add_argument("--fsync-probe-secs", type=float, default=1.0)
    r.add_argument("--base", type=int, default=0,
                   help="messages the INBOX holds before the run (bench/smtp/bigbox.sh); COUNT more are awaited")
    r.add_argument("--rep", type=int, default=1)
    r.add_argument("--order", type=int, default=1, help="1: this server ran first in its pair")
    r.add_argument("--json", help="append the JSON result line here")
    p = sub.add_parser("report", help="table and BENCH lines from the JSON lines")
    p.add_argument("jsonl")
    a = ap.parse_args()
    if a.cmd == "run":
        cmd_run(a)
    else:
        cmd_report(a)


if __name__ == "__main__":
    main()
