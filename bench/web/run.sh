#!/bin/bash
# The web console's cost (issue 18): the dashboard's time to first byte
# under 50 concurrent sessions, the server's memory with 10 open web
# sessions against none, and the SMTP and IMAP figures of the same server
# without and with those web sessions, to show they do not move.
#
# One release Postern with its SMTP, IMAP and HTTPS listeners on loopback.
#  1. SMTP: smtp-source sends COUNT copies of the peers' 5 KB message over
#     10 persistent sessions to user2 (a first, unmeasured run fills
#     user1's INBOX for the IMAP load, which stays that size); accepted
#     msgs/s and the server's CPU per message (bench/postern.sh).
#  2. IMAP: `imap-load mixed`, 10 clients on user1 for SECS seconds (the
#     README's "10c-1u" scenario): operations/s.
#  3. Memory (the peers' proc_mem.py: RSS and PSS of the server) with no
#     web session yet, and after steps 1 and 2; then 10 sessions log in
#     (console_load.py hold), load the dashboard and keep their TLS
#     connections open: memory again (against the one just before), and
#     steps 1 and 2 again while they are open; memory once they closed.
#     Steps 1 to 3 run twice.
#  4. 50 sessions log in and ask for the dashboard at once, in a loop, for
#     SECS seconds (console_load.py ttfb): median and p99 time to first
#     byte; memory after.
# With PAUSE=1 the other workers of this machine are stopped during each
# measured step (/tmp/pause.sh, at most two minutes at a time).
#
# usage: bench/web/run.sh [COUNT] [SECS]    (defaults 2000 10)
# env: SKIP_BUILD=1 uses target/release/{postern,imap-load} as they are;
#      BIN_DIR=DIR takes them from DIR instead (implies SKIP_BUILD; a
#      debug build checks the script, its figures mean nothing).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/../shared/peers"
cd "$ROOT"
COUNT="${1:-2000}"; SECS="${2:-10}"
for v in "$COUNT" "$SECS"; do [[ "$v" =~ ^[0-9]+$ ]] || { echo "numbers only" >&2; exit 2; }; done
if [ "$COUNT" -lt 100 ] || [ "$COUNT" -gt 100000 ] || [ "$SECS" -lt 5 ] || [ "$SECS" -gt 30 ]; then
  echo "bounds: 100<=COUNT<=100000, 5<=SECS<=30 (each paused step stays under two minutes)" >&2; exit 2
fi
[ -x /usr/sbin/smtp-source ] || { echo "needs smtp-source (Debian's postfix)" >&2; exit 1; }
[ "${SKIP_BUILD:-0}" = 1 ] || [ -n "${BIN_DIR:-}" ] || {
  cargo build --release --bin postern >&2
  cargo build --release -p postern-bench --bin imap-load >&2
}
BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
BIN="$BIN_DIR/postern"
LOAD="$BIN_DIR/imap-load"
PEERS_HOST=127.0.0.1
POSTERN_PID=""
PAUSED=0
. "$ROOT/bench/postern.sh"
pause() { if [ "${PAUSE:-0}" = 1 ]; then /tmp/pause.sh STOP || true; PAUSED=1; fi; }   # pkill finding nothing is not an error
resume() { if [ "$PAUSED" = 1 ]; then /tmp/pause.sh CONT || true; PAUSED=0; fi; }
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/web-XXXXXX)" && pwd -P)"
HOLD_PID=""
cleanup() {
  resume
  [ -z "$HOLD_PID" ] || kill "$HOLD_PID" 2>/dev/null || true
  postern_stop
  rm -rf "$W"
}
trap cleanup EXIT
PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
mkdir -p "$PDIR/data"
{
  printf 'hostname = "localhost"\ndata_dir = "%s/data"\n[server]\nrun_as_root = true\n[listen]\n' "$PDIR"
  for l in smtp submission submissions imap imaps pop3 pop3s http https managesieve; do
    case "$l" in smtp|imap|https) echo "$l = [\"$PEERS_HOST:0\"]" ;; *) echo "$l = []" ;; esac
  done
  # smtp-source and the sessions all come from 127.0.0.1.
  printf '[limits]\nmax_connections_per_ip = 1000\n[imap]\nplaintext_on_loopback = true\n'
} > "$CFG"
"$BIN" --config "$CFG" domain add bench.test >&2
for u in admin user1 user2; do echo pass | "$BIN" --config "$CFG" user add "$u@bench.test" >/dev/null; done
"$BIN" --config "$CFG" user admin admin@bench.test --on >&2
python3 "$PEERS/make_msg.py" "$W/msg.eml" --size 5120 --to "user1@bench.test" >&2

postern_start https
HTTPS_PORT="$PPORT"
SMTP_PORT="$(awk '$1 == "smtp" { n = split($2, a, ":"); print a[n]; exit }' "$LREPORT")"
IMAP_PORT="$(awk '$1 == "imap" { n = split($2, a, ":"); print a[n]; exit }' "$LREPORT")"
CERT="$PDIR/data/tls/selfsigned-cert.pem"
[ -s "$CERT" ] || { echo "no self-signed certificate at $CERT" >&2; exit 1; }
TXT="$W/summary.txt"
{
  echo "# bench/web/run.sh $COUNT $SECS, $(date -u +%FT%TZ), nproc $(nproc), paused others: ${PAUSE:-0}"
  echo "# postern: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), pid $POSTERN_PID"
} > "$TXT"

mem() { python3 "$PEERS/proc_mem.py" "$POSTERN_PID" --label "$1" --json "$W/mem-$2.json" >&2
        python3 - "$W/mem-$2.json" "$1" >> "$TXT" <<'PY'
import json, sys
t = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["total"]
print(f"memory, {sys.argv[2]}: RSS {t['rss_kib'] / 1024:.1f} MiB, PSS {t['pss_kib'] / 1024:.1f} MiB, "
      f"USS {t['uss_kib'] / 1024:.1f} MiB")
PY
}
smtp_step() {   # label
  local s e t0 t1
  t0="$(cpu_ticks "$POSTERN_PID")"; s="$(date +%s.%N)"
  PPORT="$SMTP_PORT" smtp_load "$COUNT" 10 "$W/msg.eml" user2@bench.test
  e="$(date +%s.%N)"; t1="$(cpu_ticks "$POSTERN_PID")"
  echo "smtp, $1: $COUNT msgs over 10 sessions, $(rate_and_cpu "$COUNT" "$s" "$e" $((t1 - t0)) | awk '{ print $1 " msgs/s accepted, " $2 " ms CPU/msg" }')" >> "$TXT"
}
imap_step() {   # label
  "$LOAD" mixed --host "$PEERS_HOST" --port "$IMAP_PORT" --clients 10 --users 1 --domain bench.test \
    --password pass --seconds "$SECS" --label "$1" > "$W/imap.json" 2> "$W/imap.err" || { cat "$W/imap.err" >&2; exit 1; }
  python3 - "$W/imap.json" "$1" >> "$TXT" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"imap, {sys.argv[2]}: 10 clients on 1 user, {r['cmds_per_s']} commands/s, "
      f"{r['no_bad']} NO/BAD, {r['session_errors']} session errors")
PY
}

sleep 2
# The first run fills user1's INBOX for the IMAP load and warms the store.
PPORT="$SMTP_PORT" smtp_load "$COUNT" 10 "$W/msg.eml" user1@bench.test
sleep 2

pause
mem "no web session" none
resume
HOLD_PID=""
for rep in 1 2; do
  pause
  smtp_step "no open web session, rep $rep"
  imap_step "no open web session, rep $rep"
  mem "no open web session, rep $rep" "none-$rep"
  resume
  READY="$W/ready-$rep"
  python3 "$HERE/console_load.py" hold --port "$HTTPS_PORT" --cert "$CERT" --address admin@bench.test \
    --password pass --sessions 10 --hold 600 --ready-file "$READY" > "$W/hold.out" 2>&1 &
  HOLD_PID=$!
  for _ in $(seq 1 600); do [ -s "$READY" ] && break; [ -e "/proc/$HOLD_PID" ] || break; sleep 0.1; done
  [ -s "$READY" ] || { echo "the 10 web sessions never logged in:" >&2; cat "$W/hold.out" >&2; exit 1; }
  sleep 2
  pause
  mem "10 open web sessions, rep $rep" "ten-$rep"
  smtp_step "10 open web sessions, rep $rep"
  imap_step "10 open web sessions, rep $rep"
  resume
  kill "$HOLD_PID" 2>/dev/null || true; wait "$HOLD_PID" 2>/dev/null || true; HOLD_PID=""
  sleep 2
  mem "their connections closed, rep $rep" "closed-$rep"
done

pause
python3 "$HERE/console_load.py" ttfb --port "$HTTPS_PORT" --cert "$CERT" --address admin@bench.test \
  --password pass --sessions 50 --seconds "$SECS" > "$W/ttfb.json"
resume
python3 - "$W/ttfb.json" >> "$TXT" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(f"dashboard, 50 concurrent sessions: {r['requests']} answers in {r['seconds']} s ({r['per_s']}/s), "
      f"first byte median {r['median_ms']} ms, p90 {r['p90_ms']} ms, p99 {r['p99_ms']} ms, max {r['max_ms']} ms")
PY
mem "after the 50-session run (60 sessions logged in)" after
cat "$TXT"
