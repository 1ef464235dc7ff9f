#!/bin/bash
# POP3 on a big maildrop (issue 19): Postern's memory and time for a session
# that logs in to a maildrop of every message of an mbox (the issue's
# 100,000: `gen_mbox.py --count 100000 --seed 3`) and lists it with LIST and
# UIDL. Postern alone.
#
# usage: MBOX=/path/to.mbox bench/pop3/bigdrop.sh [REPS]     (default 3)
# `postern mailbox import` fills big@bench.test's INBOX before the server
# starts (bulk mode, timed); then REPS sessions, one after the other, each:
# USER, PASS (the snapshot), LIST, UIDL, QUIT, read by a Python client that
# checks every line. Printed per session: the time of PASS, LIST and UIDL,
# and the server's VmRSS and Pss (smaps_rollup) when idle before the
# session, after PASS, after LIST and after UIDL; the session's cost is the
# growth over the idle figure.
# env: MBOX (required), SKIP_BUILD=1, BIN (a postern binary to use instead),
#      KEEP=1 (keep the scratch directory).
# Scratch goes under ./target/bench-tmp (the project disk, never tmpfs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
REPS="${1:-3}"
[[ "$REPS" =~ ^[0-9]+$ ]] && (( REPS >= 1 && REPS <= 20 )) || { echo "REPS: 1..20" >&2; exit 2; }
: "${MBOX:?MBOX=path of the mbox to fill the maildrop with}"
[ -r "$MBOX" ] || { echo "cannot read $MBOX" >&2; exit 1; }
PEERS_HOST=127.0.0.1
POSTERN_PID=""
. "$ROOT/bench/postern.sh"
postern_binary
postern_scratch bigdrop
PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
mkdir -p "$PDIR/data"
{ postern_config_head pop3; cat <<EOF
[pop3]
plaintext_on_loopback = true
EOF
} > "$CFG"
"$BIN" --config "$CFG" domain add bench.test >&2
echo pw | "$BIN" --config "$CFG" user add big@bench.test >&2
t0=$(date +%s.%N)
"$BIN" --config "$CFG" mailbox import big@bench.test --mbox "$MBOX" >&2
t1=$(date +%s.%N)
postern_start pop3
echo "# bigdrop, $(date -u +%FT%TZ): REPS=$REPS; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $MBOX ($(du -h "$MBOX" | cut -f1)) imported in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
echo "# postern: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), $BIN"
for r in $(seq 1 "$REPS"); do
  python3 - "$PPORT" "$POSTERN_PID" "$r" <<'PY'
import socket, sys, time
port, pid, rep = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def mem():
    """(VmRSS KiB, Pss KiB) of the server."""
    rss = pss = 0
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"):
            rss = int(l.split()[1])
    for l in open("/proc/%d/smaps_rollup" % pid):
        if l.startswith("Pss:"):
            pss = int(l.split()[1])
    return rss, pss

s = socket.create_connection(("127.0.0.1", port), timeout=120)
f = s.makefile("rb")
def cmd(c):
    s.sendall(c.encode() + b"\r\n")
    l = f.readline()
    if not l.startswith(b"+OK"):
        sys.exit("%s: %r" % (c, l))
    return l
def multi():
    n = 0
    while True:
        l = f.readline()
        if l == b".\r\n":
            return n
        if not l.endswith(b"\r\n"):
            sys.exit("cut answer: %r" % l[:80])
        n += 1
assert f.readline().startswith(b"+OK")
time.sleep(0.5)
m0 = mem()
cmd("USER big@bench.test")
t = time.monotonic(); st = cmd("PASS pw"); t_pass = time.monotonic() - t
m1 = mem()
t = time.monotonic(); cmd("LIST"); n_list = multi(); t_list = time.monotonic() - t
m2 = mem()
t = time.monotonic(); cmd("UIDL"); n_uidl = multi(); t_uidl = time.monotonic() - t
m3 = mem()
cmd("QUIT")
print("rep %s: %s; LIST %d lines, UIDL %d lines" % (rep, st.decode().strip(), n_list, n_uidl))
print("  time ms: PASS %.0f  LIST %.0f  UIDL %.0f" % (1000 * t_pass, 1000 * t_list, 1000 * t_uidl))
print("  server KiB (VmRSS/Pss): idle %d/%d  after PASS %d/%d  after LIST %d/%d  after UIDL %d/%d"
      % (m0 + m1 + m2 + m3))
print("BENCH pop3-bigdrop rep=%s messages=%d pass_ms=%.0f list_ms=%.0f uidl_ms=%.0f rss_growth_kib=%d pss_growth_kib=%d"
      % (rep, n_uidl, 1000 * t_pass, 1000 * t_list, 1000 * t_uidl, max(m1[0], m2[0], m3[0]) - m0[0],
         max(m1[1], m2[1], m3[1]) - m0[1]))
PY
done
