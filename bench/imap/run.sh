#!/bin/bash
# IMAP benchmark: Postern against Dovecot (the peers in ../shared/peers), same
# machine, same run, same mailboxes, same load generator.
#
# usage: bench/imap/run.sh [SECS] [REPS]                (defaults 20 1)
#
# 1. Mailboxes: gen_mbox.py makes 400 messages; imap_prefill.py APPENDs them
#    to user1..user100's INBOX on both servers (the same path for both: IMAP
#    APPEND over plaintext LOGIN), all users in parallel.
# 2. Mixed load (bench/src/bin/imap_load.rs, `imap-load`): 10 clients on one
#    user, 50 clients on one user, 50 clients over 100 users (each session a
#    user drawn at random, issue 19's scenario); SECS seconds each, REPS
#    times; which server goes first alternates between runs. Before every
#    run: sync, PAUSE seconds. PIPELINE=N: up to N commands in flight per
#    connection (`imap-load mixed --pipeline N`; 1, the default, waits for
#    each answer). RATE=R: R sessions/s over all clients (`--rate`; 0, the
#    default, runs them back to back), the same load for both servers.
# 3. Memory per idle connection: IDLE_N connections (LOGIN, SELECT INBOX,
#    IDLE) over user1..user50, the server's process tree measured with the
#    peers' proc_mem.py: `imap-load idle` for both servers (full address),
#    and ../shared/peers/run-idle-mem.sh for Dovecot as a cross-check (its
#    idle_conns.py logs in as "userN", which Postern refuses).
# 4. Unless SYNC_MSGS=0: user99 gets SYNC_MSGS messages (SYNC_PARTS gen_mbox
#    files, APPENDed in parallel) on both servers, then one client times
#    `UID FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE)` and `SEARCH TEXT word`
#    three times in one session (`imap-load sync`).
#
# env: PAUSE (5), PIPELINE (1), RATE (0), IDLE_N (200; 0 skips), IDLE_HOLD (15 s), SYNC_MSGS (10000; 0 skips),
#      SYNC_PARTS (20), SERVERS ("dovecot postern"; one alone for a check),
#      LOAD_HOOK (a command run as `$LOAD_HOOK before` and `$LOAD_HOOK after`
#      around each timed load run, e.g. to hold other work off a shared machine),
#      SKIP_BUILD=1 (use the binaries as they are), BIN_DIR (where `postern`
#      and `imap-load` are; default target/release), KEEP=1 (keep the scratch
#      directory), OUT (results prefix, default
#      target/bench-tmp/imap-results-DATE: .jsonl and .txt are written).
# Scratch (peers' state, Postern's data dir, mboxes) goes under
# ./target/bench-tmp, on the project disk: never tmpfs.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
[ -x "$PEERS/start-peers.sh" ] || { echo "no $ROOT/$PEERS/start-peers.sh" >&2; exit 1; }
. "$PEERS/peers-env.sh"   # PEERS_HOST, PEERS_DOMAIN, IMAP_PORT, PEERS_PASS (loopback only)
. "$PEERS/cpustat.sh"     # cpu_snap

SECS="${1:-20}"; REPS="${2:-1}"
: "${PAUSE:=5}" "${PIPELINE:=1}" "${RATE:=0}" "${IDLE_N:=200}" "${IDLE_HOLD:=15}" "${SYNC_MSGS:=10000}" "${SYNC_PARTS:=20}"
: "${SERVERS:=dovecot postern}"
num() { [[ "$2" =~ ^[0-9]+$ ]] || { echo "$1 must be a number: $2" >&2; exit 2; }; }
num SECS "$SECS"; num REPS "$REPS"; num PAUSE "$PAUSE"; num PIPELINE "$PIPELINE"; num RATE "$RATE"; num IDLE_N "$IDLE_N"; num IDLE_HOLD "$IDLE_HOLD"
num SYNC_MSGS "$SYNC_MSGS"; num SYNC_PARTS "$SYNC_PARTS"
if ! (( SECS >= 1 && SECS <= 600 && REPS >= 1 && REPS <= 10 && PIPELINE >= 1 && PIPELINE <= 16 && RATE <= 100000 && IDLE_N <= 1000 && IDLE_HOLD >= 8 && IDLE_HOLD <= 600 \
        && SYNC_MSGS <= 100000 && SYNC_PARTS >= 1 && SYNC_PARTS <= 50 && PEERS_USERS >= 100 )); then
  echo "bounds: 1<=SECS<=600, 1<=REPS<=10, 1<=PIPELINE<=16, IDLE_N<=1000, 8<=IDLE_HOLD<=600 (memory is sampled 3 s after all idle), SYNC_MSGS<=100000, 1<=SYNC_PARTS<=50, PEERS_USERS>=100" >&2
  exit 2
fi
want() { [[ " $SERVERS " == *" $1 "* ]]; }
NUSERS=100         # user1..user100 hold the 400-message mailbox
SYNC_USER=user99   # the SYNC_MSGS mailbox (emptied by its first part's prefill)

# --- tools -------------------------------------------------------------------
if ! [ -x /usr/sbin/dovecot ] || ! [ -x /usr/lib/postfix/sbin/master ]; then
  echo "== installing the peers ($PEERS/install-peers.sh)" >&2
  "$PEERS/install-peers.sh" >&2
fi
BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release (postern, imap-load)" >&2
  cargo build --release --bin postern >&2
  cargo build --release -p postern-bench --bin imap-load >&2
fi
BIN="$BIN_DIR/postern"; LOAD="$BIN_DIR/imap-load"
[ -x "$LOAD" ] || { echo "no $LOAD" >&2; exit 1; }
if want postern; then [ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }; fi

# --- scratch -----------------------------------------------------------------
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/imap-XXXXXX)" && pwd -P)"
chmod 0755 "$W"
PEER_S="$W/peers"; PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$ROOT/target/bench-tmp/imap-results-$STAMP}"
JSONL="$OUT.jsonl"; TXT="$OUT.txt"
: > "$JSONL"
POSTERN_PID=""
PEERS_UP=0

. "$ROOT/bench/postern.sh"
stop_postern() { postern_stop; }
start_postern() { postern_start imap; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -z "${LOAD_HOOK:-}" ] || $LOAD_HOOK after || true   # never leave the hook's "before" in force
  # background prefill / idle clients of this script, by pid
  for p in $(jobs -p); do kill -TERM "$p" 2>/dev/null || true; done
  stop_postern
  if [ "$PEERS_UP" = 1 ]; then "$PEERS/stop-peers.sh" "$PEER_S" >&2 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== mailboxes: gen_mbox.py 400 messages$( ((SYNC_MSGS > 0)) && echo ", $SYNC_MSGS in $SYNC_PARTS parts")" >&2
python3 "$PEERS/gen_mbox.py" "$W/m400.mbox" --count 400 --seed 1
PART=0
if (( SYNC_MSGS > 0 )); then
  PART=$(( (SYNC_MSGS + SYNC_PARTS - 1) / SYNC_PARTS ))
  for k in $(seq 1 "$SYNC_PARTS"); do
    python3 "$PEERS/gen_mbox.py" "$W/sync-$k.mbox" --count "$PART" --seed "$((100 + k))" &
  done
  wait
fi

# --- peers -------------------------------------------------------------------
if want dovecot; then
  echo "== starting the peers in $PEER_S" >&2
  PEERS_UP=1
  "$PEERS/start-peers.sh" "$PEER_S" >&2
  DOVECOT_PID="$(cat "$PEER_S/run/dovecot.pid")"
fi

# --- Postern -----------------------------------------------------------------
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
pop3 = []
pop3s = []
http = []
https = []
managesieve = []
[auth]
lockout_after = 100000
[limits]
max_connections_per_ip = 1000   # every client comes from 127.0.0.1 (default 20)
max_connections = 2000
[imap]
plaintext_on_loopback = true    # LOGIN without TLS on 127.0.0.1, as the peers' port 10143
max_connections_per_user = 1000 # 50 clients share user1 (default 50)
EOF
  # builds before the per-user limit (b3f4d9b) refuse the unknown key
  if ! "$BIN" --config "$CFG" config check >/dev/null 2>&1; then
    sed -i '/^max_connections_per_user/d' "$CFG"
    "$BIN" --config "$CFG" config check >&2 || { echo "postern refuses $CFG" >&2; exit 1; }
  fi
  echo "== postern: domain $PEERS_DOMAIN, users user1..user$NUSERS, $SYNC_USER" >&2
  "$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
  for u in $(seq 1 "$NUSERS"); do
    echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "user$u@$PEERS_DOMAIN" >/dev/null
  done
  start_postern
  echo "postern pid $POSTERN_PID, imap $PEERS_HOST:$PPORT" >&2
fi
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
port_of() { if [ "$1" = dovecot ]; then echo "$IMAP_PORT"; else echo "$PPORT"; fi; }

# --- environment ---------------------------------------------------------------
FS="$(findmnt -n -o SOURCE,FSTYPE -T "$W" | tr -s ' ')"
{
  echo "# imap benchmark, $(date -u +%FT%TZ): SECS=$SECS REPS=$REPS PAUSE=$PAUSE PIPELINE=$PIPELINE RATE=$RATE IDLE_N=$IDLE_N SYNC_MSGS=$SYNC_MSGS"
  echo "# nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "# scratch $W on $FS"
  echo "# mailbox: 400 messages, $(wc -c < "$W/m400.mbox") bytes of mbox (gen_mbox.py --seed 1)"
  echo "# peers: $(dpkg-query -W -f='${Package} ${Version}  ' dovecot-core dovecot-imapd 2>/dev/null)"
  echo "# postern: $BIN ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) is the tree's commit; BIN_DIR=$BIN_DIR)"
  echo "# load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$TXT" >&2

# --- prefill -----------------------------------------------------------------
prefill() {  # server: user1..userN with 400 messages, all users at once
  local server="$1" port t0 fails=0 pids=()
  port="$(port_of "$server")"
  t0=$(date +%s.%N)
  for u in $(seq 1 "$NUSERS"); do
    python3 "$PEERS/imap_prefill.py" --host "$PEERS_HOST" --port "$port" --user "user$u@$PEERS_DOMAIN" \
      --password "$PEERS_PASS" --mbox "$W/m400.mbox" --max-secs 300 > "$W/prefill-$server-$u.log" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
  echo "# prefill $server: user1..user$NUSERS x 400 messages in $(since "$t0") s, $fails failed; user1: $(cat "$W/prefill-$server-1.log")" | tee -a "$TXT" >&2
  [ "$fails" -eq 0 ] || { tail -3 "$W"/prefill-"$server"-*.log >&2; exit 1; }
}
for s in dovecot postern; do want "$s" && prefill "$s"; done

# --- mixed load ----------------------------------------------------------------
FAILED=0
run_load() {  # server scenario clients users pick rep order
  local server="$1" scen="$2" clients="$3" users="$4" pick="$5" rep="$6" order="$7" port b a rc=0
  port="$(port_of "$server")"
  sync; sleep "$PAUSE"
  echo "== $server, $scen: $clients clients over $users user(s) ($pick), ${SECS}s, $PIPELINE in flight, rep $rep" >&2
  [ -z "${LOAD_HOOK:-}" ] || $LOAD_HOOK before || echo "LOAD_HOOK before: exit $?" >&2
  b="$(cpu_snap)"
  "$LOAD" mixed --host "$PEERS_HOST" --port "$port" --clients "$clients" --users "$users" \
    --domain "$PEERS_DOMAIN" --password "$PEERS_PASS" --seconds "$SECS" --label "$server" \
    --pipeline "$PIPELINE" --user-pick "$pick" ${PACE[@]+"${PACE[@]}"} > "$W/load.json" 2> "$W/load.err" || rc=$?
  a="$(cpu_snap)"
  [ -z "${LOAD_HOOK:-}" ] || $LOAD_HOOK after || echo "LOAD_HOOK after: exit $?" >&2
  cat "$W/load.err" >&2
  if ! [ -s "$W/load.json" ]; then echo "!! $server $scen rep $rep: no result (exit $rc)" >&2; FAILED=$((FAILED + 1)); return; fi
  [ "$rc" -eq 0 ] || echo "!! $server $scen rep $rep: exit $rc (NO/BAD answers, session or sequence errors, or INBOX not back at its size, see above); kept" >&2
  python3 - "$W/load.json" "$scen" "$server" "$rep" "$order" "$b" "$a" "$(nproc)" >> "$JSONL" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
b = [int(x) for x in sys.argv[6].split()]; a = [int(x) for x in sys.argv[7].split()]
r.update(scenario=sys.argv[2], server=sys.argv[3], rep=int(sys.argv[4]), order=int(sys.argv[5]),
         cpu_busy_pct=round(100 * (a[0] - b[0]) / max(1, a[1] - b[1]), 1))
print(json.dumps(r))
PY
}
PACE=(); (( RATE == 0 )) || PACE=(--rate "$RATE")
SCEN=("10c-1u 10 1 cycle" "50c-1u 50 1 cycle" "50c-100u 50 $NUSERS random")
n=0
for rep in $(seq 1 "$REPS"); do
  for sc in "${SCEN[@]}"; do
    read -r name clients users pick <<< "$sc"
    if (( n % 2 == 0 )); then order=(dovecot postern); else order=(postern dovecot); fi
    n=$((n + 1)); i=1
    for s in "${order[@]}"; do
      if want "$s"; then run_load "$s" "$name" "$clients" "$users" "$pick" "$rep" "$i"; i=$((i + 1)); fi
    done
  done
done

# --- memory per idle connection ---------------------------------------------------
# run-idle-mem.sh's idle_conns.py logs in as "userN" (Dovecot completes the
# domain, auth_default_realm); Postern needs the full address. So both servers
# are measured the same way with `imap-load idle` (full address, otherwise
# idle_conns.py's steps) and the peers' proc_mem.py, sampled as
# run-idle-mem.sh does (before; all idle + 3 s; after logout + 3 s), and
# Dovecot is also measured with run-idle-mem.sh itself as a cross-check.
idle_json() {  # server tool before.json with.json clients.out
  python3 - "$@" <<'PY'
import json, re, sys
srv, tool, bf, wf, co = sys.argv[1:6]
last = lambda f: json.loads(open(f).read().strip().splitlines()[-1])["total"]
b, w = last(bf), last(wf)
t = open(co).read()
d = re.search(r"done: idling_peak=(\d+) clean_logout=(\d+) fail=(\d+)", t)
n = int(sys.argv[6])
r = {"mode": "idle", "server": srv, "tool": tool, "n": n,
     "rss_kib_per_conn": round((w["rss_kib"] - b["rss_kib"]) / n), "pss_kib_per_conn": round((w["pss_kib"] - b["pss_kib"]) / n),
     "uss_kib_per_conn": round((w["uss_kib"] - b["uss_kib"]) / n), "procs_with": w["procs"], "procs_before": b["procs"],
     "rss_mib_with": round(w["rss_kib"] / 1024, 1), "pss_mib_with": round(w["pss_kib"] / 1024, 1),
     "rss_mib_before": round(b["rss_kib"] / 1024, 1), "pss_mib_before": round(b["pss_kib"] / 1024, 1)}
if d: r.update(idling_peak=int(d[1]), clean_logout=int(d[2]), fail=int(d[3]))
print(json.dumps(r))
PY
}
idle_mem() {  # server pid
  local server="$1" pid="$2" port cpid rc=0 d="$W/idle-$1"
  port="$(port_of "$server")"; mkdir -p "$d"
  echo "== idle memory, $server (pid $pid), $IDLE_N connections over user1..user$NUSERS (imap-load idle)" >&2
  python3 "$PEERS/proc_mem.py" "$pid" --label "before (no clients)" --json "$d/before.json" >&2
  "$LOAD" idle --host "$PEERS_HOST" --port "$port" --clients "$IDLE_N" --users "$NUSERS" --domain "$PEERS_DOMAIN" \
    --password "$PEERS_PASS" --hold "$IDLE_HOLD" --ready-file "$d/ready" > "$d/clients.out" 2>&1 &
  cpid=$!
  for _ in $(seq 1 600); do [ -e "$d/ready" ] && break; kill -0 "$cpid" 2>/dev/null || break; sleep 0.2; done
  sleep 3
  echo "established client connections to :$port: $(ss -Htn state established "dport = :$port" | wc -l)" >&2
  python3 "$PEERS/proc_mem.py" "$pid" --label "with $IDLE_N idle IMAP connections" --json "$d/with.json" >&2
  wait "$cpid" || rc=$?
  sed 's/^/    /' "$d/clients.out" >&2
  sleep 3
  python3 "$PEERS/proc_mem.py" "$pid" --label "after logout" >&2
  if [ "$rc" -ne 0 ] || ! [ -e "$d/ready" ]; then echo "!! idle clients on $server: exit $rc" >&2; FAILED=$((FAILED + 1)); fi
  idle_json "$server" "imap-load idle" "$d/before.json" "$d/with.json" "$d/clients.out" "$IDLE_N" | tee -a "$JSONL" >&2
}
idle_mem_shared() {  # Dovecot with ../shared/peers/run-idle-mem.sh as it is
  local pid="$1" d="$W/idle-shared"
  echo "== idle memory, dovecot (pid $pid), $IDLE_N connections (run-idle-mem.sh)" >&2
  RESULTS_DIR="$d" LABEL=dovecot IMAP_PORT="$IMAP_PORT" IDLE_USERS="$NUSERS" PREFILL_PER_USER=0 \
    "$PEERS/run-idle-mem.sh" "$pid" "$IDLE_N" "$IDLE_HOLD" > "$W/idle-shared.out" 2>&1 \
    || { echo "!! run-idle-mem.sh failed" >&2; FAILED=$((FAILED + 1)); }
  sed 's/^/    /' "$W/idle-shared.out" >&2
  python3 - "$W/idle-shared.out" "$IDLE_N" <<'PY' | tee -a "$JSONL" >&2
import json, re, sys
t = open(sys.argv[1]).read()
m = re.search(r"per connection, \(with - before\)/n: RSS (-?\d+) KiB, PSS (-?\d+) KiB, USS (-?\d+) KiB", t)
w = re.search(r"# with \d+ idle: (\d+) procs, RSS ([\d.]+) MiB total, PSS ([\d.]+) MiB", t)
d = re.search(r"done: idling_peak=(\d+) clean_logout=(\d+) fail=(\d+)", t)
r = {"mode": "idle", "server": "dovecot", "tool": "run-idle-mem.sh", "n": int(sys.argv[2])}
if m: r.update(rss_kib_per_conn=int(m[1]), pss_kib_per_conn=int(m[2]), uss_kib_per_conn=int(m[3]))
if w: r.update(procs_with=int(w[1]), rss_mib_with=float(w[2]), pss_mib_with=float(w[3]))
if d: r.update(idling_peak=int(d[1]), clean_logout=int(d[2]), fail=int(d[3]))
print(json.dumps(r))
PY
}
if (( IDLE_N > 0 )); then
  if want dovecot; then sync; sleep "$PAUSE"; idle_mem_shared "$DOVECOT_PID"; fi
  if want postern; then
    # Postern is one process whose heap keeps what the load runs grew (and
    # gives it back slowly): measure idle connections on a fresh process, same data.
    echo "# postern after the load runs: $(python3 "$PEERS/proc_mem.py" "$POSTERN_PID" --label postern | head -1)" | tee -a "$TXT" >&2
    stop_postern; start_postern
    sync; sleep "$PAUSE"; idle_mem postern "$POSTERN_PID"
  fi
  if want dovecot; then sync; sleep "$PAUSE"; idle_mem dovecot "$DOVECOT_PID"; fi
fi

# --- first sync and SEARCH of a large mailbox ------------------------------------------
if (( SYNC_MSGS > 0 )); then
  for s in postern dovecot; do
    want "$s" || continue
    port="$(port_of "$s")"
    t0=$(date +%s.%N); fails=0; pids=()
    for k in $(seq 1 "$SYNC_PARTS"); do
      # the first part empties the mailbox (the load's 400 messages) before
      # the others start
      clear=--no-clear; [ "$k" = 1 ] && clear=
      python3 "$PEERS/imap_prefill.py" --host "$PEERS_HOST" --port "$port" --user "$SYNC_USER@$PEERS_DOMAIN" \
        --password "$PEERS_PASS" --mbox "$W/sync-$k.mbox" $clear --max-secs 600 > "$W/sync-prefill-$s-$k.log" 2>&1 &
      pids+=($!)
      if [ "$k" = 1 ]; then wait "$!" || fails=$((fails + 1)); pids=(); fi
    done
    for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
    echo "# prefill $s: $SYNC_USER, $SYNC_PARTS x $PART messages in parallel in $(since "$t0") s, $fails failed; last: $(tail -1 "$W/sync-prefill-$s-$SYNC_PARTS.log")" | tee -a "$TXT" >&2
  done
  n=0
  for s in dovecot postern; do   # Postern was filled first above; Dovecot's sync goes first here
    want "$s" || continue
    sync; sleep "$PAUSE"
    echo "== $s: first sync of $SYNC_USER" >&2
    if "$LOAD" sync --host "$PEERS_HOST" --port "$(port_of "$s")" --user "$SYNC_USER@$PEERS_DOMAIN" \
         --password "$PEERS_PASS" --reps 3 --search deadline --timeout 600 --label "$s" > "$W/sync.json"; then :; else
      echo "!! sync $s failed" >&2; FAILED=$((FAILED + 1))
    fi
    python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); r["server"]=sys.argv[2]; print(json.dumps(r))' \
      "$W/sync.json" "$s" >> "$JSONL" 2>/dev/null || true
  done
fi

# --- what the servers logged ---------------------------------------------------
{
  echo "# load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  if want dovecot; then
    echo "# dovecot.log: $(grep -ciE 'error|fatal|panic' "$PEER_S/log/dovecot.log" 2>/dev/null || true) error/fatal/panic lines"
    grep -iE 'error|fatal|panic' "$PEER_S/log/dovecot.log" 2>/dev/null | sed 's/^/#   /' | head -5 || true
  fi
  if want postern; then
    echo "# postern serve.log: $(grep -cE 'WARN|ERROR' "$PDIR/serve.log" 2>/dev/null || true) WARN/ERROR lines"
    grep -E 'WARN|ERROR' "$PDIR/serve.log" 2>/dev/null | sed -E 's/^[^ ]+ +//; s/peer=[0-9.:]+ id=[0-9]+ //; s/blobs\/[0-9a-f]{2}\/[0-9a-f]+/blobs\/XX\/HASH/' \
      | sort | uniq -c | sort -rn | sed 's/^/#   /' | head -8 || true
  fi
} | tee -a "$TXT" >&2
python3 "$HERE/report.py" "$JSONL" | tee -a "$TXT"
echo "results: $JSONL, $TXT" >&2
if [ "$FAILED" -ne 0 ]; then echo "$FAILED run(s) failed" >&2; exit 1; fi
