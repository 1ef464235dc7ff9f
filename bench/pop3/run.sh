#!/bin/bash
# POP3 benchmark: Postern against Dovecot (the peers in ../shared/peers), same
# machine, same run, same mailboxes, same load generator.
#
# usage: bench/pop3/run.sh [REPS]                        (default 3)
#
# 1. Mailboxes: gen_mbox.py makes 1000 messages (--seed 2, as the peers'
#    run-pop3.sh) and 100 messages (--seed 3); imap_prefill.py APPENDs them
#    over IMAP (plaintext LOGIN on loopback) on both servers: user60 gets the
#    1000, user1..user20 the 100 each (again before every drain run).
# 2. retr (bench/src/bin/pop3_load.rs, `pop3-load retr`): one connection,
#    USER/PASS, STAT, LIST, UIDL, RETR 1..1000 one at a time, QUIT without
#    DELE; then the same with 16 RETRs pipelined (RFC 2449 PIPELINING).
#    SESSIONS such sessions back to back per run, each one a result.
# 3. drain (`pop3-load drain`): 20 connections at once, user1..user20, each
#    RETRs its 100 messages, DELEs them all and QUITs.
# Each scenario REPS times; which server goes first alternates. Before every
# run: sync, PAUSE seconds. CPU busy % of the machine during each run.
#
# env: PAUSE (3), SESSIONS (3), SERVERS ("dovecot postern"; one alone for a check),
#      SKIP_BUILD=1, BIN_DIR (default target/release), KEEP=1 (keep scratch),
#      OUT (results prefix, default target/bench-tmp/pop3-results-DATE).
# Scratch goes under ./target/bench-tmp, on the project disk: never tmpfs.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
[ -x "$PEERS/start-peers.sh" ] || { echo "no $ROOT/$PEERS/start-peers.sh" >&2; exit 1; }
. "$PEERS/peers-env.sh"   # PEERS_HOST, PEERS_DOMAIN, IMAP_PORT, POP3_PORT, PEERS_PASS
. "$PEERS/cpustat.sh"     # cpu_snap

REPS="${1:-3}"
: "${PAUSE:=3}" "${SESSIONS:=3}" "${SERVERS:=dovecot postern}"
[[ "$REPS" =~ ^[0-9]+$ && "$PAUSE" =~ ^[0-9]+$ && "$SESSIONS" =~ ^[0-9]+$ ]] || { echo "REPS, PAUSE and SESSIONS must be numbers" >&2; exit 2; }
(( REPS >= 1 && REPS <= 10 && PAUSE <= 60 && SESSIONS >= 1 && SESSIONS <= 20 )) || { echo "bounds: 1<=REPS<=10, PAUSE<=60, 1<=SESSIONS<=20" >&2; exit 2; }
want() { [[ " $SERVERS " == *" $1 "* ]]; }
RETR_USER=user60; DRAIN_USERS=20; DRAIN_MSGS=100; RETR_MSGS=1000

# --- tools -------------------------------------------------------------------
if want dovecot && ! [ -x /usr/sbin/dovecot ]; then
  echo "== installing the peers ($PEERS/install-peers.sh)" >&2
  "$PEERS/install-peers.sh" >&2
fi
BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release (postern, pop3-load)" >&2
  cargo build --release --bin postern >&2
  cargo build --release -p postern-bench --bin pop3-load >&2
fi
BIN="$BIN_DIR/postern"; LOAD="$BIN_DIR/pop3-load"
[ -x "$LOAD" ] || { echo "no $LOAD" >&2; exit 1; }
if want postern; then [ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }; fi

# --- scratch -----------------------------------------------------------------
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/pop3-XXXXXX)" && pwd -P)"
chmod 0755 "$W"
PEER_S="$W/peers"; PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$ROOT/target/bench-tmp/pop3-results-$STAMP}"
JSONL="$OUT.jsonl"; TXT="$OUT.txt"
: > "$JSONL"
POSTERN_PID=""
PEERS_UP=0
. "$ROOT/bench/postern.sh"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null || true; done
  postern_stop
  if [ "$PEERS_UP" = 1 ]; then "$PEERS/stop-peers.sh" "$PEER_S" >&2 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== mailboxes: gen_mbox.py $RETR_MSGS and $DRAIN_MSGS messages" >&2
python3 "$PEERS/gen_mbox.py" "$W/m1000.mbox" --count "$RETR_MSGS" --seed 2
python3 "$PEERS/gen_mbox.py" "$W/m100.mbox" --count "$DRAIN_MSGS" --seed 3

# --- peers -------------------------------------------------------------------
if want dovecot; then
  echo "== starting the peers in $PEER_S" >&2
  PEERS_UP=1
  "$PEERS/start-peers.sh" "$PEER_S" >&2
fi

# --- Postern -----------------------------------------------------------------
PIMAP=""
if want postern; then
  mkdir -p "$PDIR/data"
  cat > "$CFG" <<EOF
hostname = "localhost"
data_dir = "$PDIR/data"
[server]
run_as_root = true             # the benchmark runs as root, like the peers' masters
[listen]
smtp = []
submission = []
submissions = []
imap = ["$PEERS_HOST:0"]
imaps = []
pop3 = ["$PEERS_HOST:0"]
pop3s = []
http = []
https = []
managesieve = []
[auth]
lockout_after = 100000
[limits]
max_connections_per_ip = 1000   # every client comes from 127.0.0.1 (default 20)
[imap]
plaintext_on_loopback = true    # LOGIN without TLS on 127.0.0.1, as the peers' port 10143
[pop3]
plaintext_on_loopback = true    # USER/PASS without TLS on 127.0.0.1, as the peers' port 10110
EOF
  "$BIN" --config "$CFG" config check >/dev/null || { echo "postern refuses $CFG" >&2; exit 1; }
  "$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
  for u in $(seq 1 "$DRAIN_USERS") 60; do
    echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "user$u@$PEERS_DOMAIN" >/dev/null
  done
  postern_start pop3
  PIMAP="$(awk '$1 == "imap" { n = split($2, a, ":"); print a[n]; exit }' "$LREPORT")"
fi
pop3_port() { if [ "$1" = dovecot ]; then echo "$POP3_PORT"; else echo "$PPORT"; fi; }
imap_port() { if [ "$1" = dovecot ]; then echo "$IMAP_PORT"; else echo "$PIMAP"; fi; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

FS="$(findmnt -n -o SOURCE,FSTYPE -T "$W" | tr -s ' ')"
{
  echo "# pop3 benchmark, $(date -u +%FT%TZ): REPS=$REPS SESSIONS=$SESSIONS PAUSE=$PAUSE"
  echo "# nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "# scratch $W on $FS"
  echo "# mailboxes: $RETR_MSGS messages, $(wc -c < "$W/m1000.mbox") bytes of mbox (seed 2); $DRAIN_MSGS messages, $(wc -c < "$W/m100.mbox") bytes (seed 3)"
  echo "# peers: $(dpkg-query -W -f='${Package} ${Version}  ' dovecot-core dovecot-pop3d 2>/dev/null)"
  echo "# postern: $BIN ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) is the tree's commit)"
  echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$TXT" >&2

prefill() {  # server user mbox
  python3 "$PEERS/imap_prefill.py" --host "$PEERS_HOST" --port "$(imap_port "$1")" \
    --user "$2@$PEERS_DOMAIN" --password "$PEERS_PASS" --mbox "$3" --max-secs 300
}
for s in dovecot postern; do
  want "$s" || continue
  t0=$(date +%s.%N)
  echo "# prefill $s: $RETR_USER x $RETR_MSGS: $(prefill "$s" "$RETR_USER" "$W/m1000.mbox" | tail -1) ($(since "$t0") s)" | tee -a "$TXT" >&2
done

FAILED=0
record() {  # scenario server rep order before after json-file
  python3 - "$@" >> "$JSONL" <<'PY'
import json, sys
scen, srv, rep, order, b, a, f = sys.argv[1:8]
b = [int(x) for x in b.split()]; a = [int(x) for x in a.split()]
for line in open(f):
    if line.strip():
        r = json.loads(line)
        r.update(scenario=scen, server=srv, rep=int(rep), order=int(order),
                 cpu_busy_pct=round(100 * (a[0] - b[0]) / max(1, a[1] - b[1]), 1))
        print(json.dumps(r))
PY
}
run() {  # scenario server rep order -- load args...
  local scen="$1" srv="$2" rep="$3" order="$4" b a rc=0
  shift 5
  sync; sleep "$PAUSE"
  echo "== $srv, $scen, rep $rep" >&2
  b="$(cpu_snap)"
  "$LOAD" "$@" --host "$PEERS_HOST" --port "$(pop3_port "$srv")" --password "$PEERS_PASS" \
    --label "$srv" > "$W/load.json" 2> "$W/load.err" || rc=$?
  a="$(cpu_snap)"
  cat "$W/load.err" >&2; cat "$W/load.json" >&2
  if [ "$rc" -ne 0 ] || ! [ -s "$W/load.json" ]; then
    echo "!! $srv $scen rep $rep: exit $rc" >&2; FAILED=$((FAILED + 1))
  fi
  [ -s "$W/load.json" ] && record "$scen" "$srv" "$rep" "$order" "$b" "$a" "$W/load.json"
}
order_for() { if (( $1 % 2 == 1 )); then echo "dovecot postern"; else echo "postern dovecot"; fi; }

for rep in $(seq 1 "$REPS"); do
  i=1
  for s in $(order_for "$rep"); do
    want "$s" || continue
    run retr "$s" "$rep" "$i" -- retr --reps "$SESSIONS" --user "$RETR_USER@$PEERS_DOMAIN"
    run retr-pipelined "$s" "$rep" "$i" -- retr --reps "$SESSIONS" --pipeline 16 --user "$RETR_USER@$PEERS_DOMAIN"
    i=$((i + 1))
  done
done

for rep in $(seq 1 "$REPS"); do
  for s in dovecot postern; do
    want "$s" || continue
    t0=$(date +%s.%N); pids=(); fails=0
    for u in $(seq 1 "$DRAIN_USERS"); do
      prefill "$s" "user$u" "$W/m100.mbox" > "$W/prefill-$s-$u.log" 2>&1 &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
    echo "# drain prefill $s rep $rep: user1..user$DRAIN_USERS x $DRAIN_MSGS in $(since "$t0") s, $fails failed" | tee -a "$TXT" >&2
    [ "$fails" -eq 0 ] || { tail -3 "$W"/prefill-"$s"-*.log >&2; exit 1; }
  done
  i=1
  for s in $(order_for "$rep"); do
    want "$s" || continue
    run drain "$s" "$rep" "$i" -- drain --clients "$DRAIN_USERS" --first-user 1 --domain "$PEERS_DOMAIN"
    i=$((i + 1))
  done
done

{
  echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  if want dovecot; then
    echo "# dovecot.log: $(grep -ciE 'error|fatal|panic' "$PEER_S/log/dovecot.log" 2>/dev/null || true) error/fatal/panic lines"
  fi
  if want postern; then
    echo "# postern serve.log: $(grep -cE 'WARN|ERROR' "$PDIR/serve.log" 2>/dev/null || true) WARN/ERROR lines"
    grep -E 'WARN|ERROR' "$PDIR/serve.log" 2>/dev/null | head -5 | sed 's/^/#   /' || true
  fi
} | tee -a "$TXT" >&2
python3 "$HERE/report.py" "$JSONL" | tee -a "$TXT"
echo "results: $JSONL, $TXT" >&2
if [ "$FAILED" -ne 0 ]; then echo "$FAILED run(s) failed" >&2; exit 1; fi
