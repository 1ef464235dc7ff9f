#!/bin/bash
# Memory that comes back (issue 13): idle RSS, peak RSS during PASSES passes
# of a hostile-input battery (hostile.py), RSS after each pass, and RSS
# SETTLE seconds after the load ended, for Postern and for Dovecot+Postfix
# under the same battery in the same run. RSS/PSS of each server's whole
# process tree (the peers fork per connection), sampled every 0.5 s.
# usage: bench/memory/run.sh      (from the workspace root)
# env: PASSES (3), SECONDS_PER_PASS (20), CONC (40), BIG_MB (4), SETTLE (60),
#      SERVERS ("postern peers"), SKIP_BUILD=1, KEEP=1
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
PEERS="$ROOT/../shared/peers"
. "$PEERS/peers-env.sh"
: "${PASSES:=3}" "${SECONDS_PER_PASS:=20}" "${CONC:=40}" "${BIG_MB:=4}" "${SETTLE:=60}"
: "${SERVERS:=postern peers}"
want() { [[ " $SERVERS " == *" $1 "* ]]; }
HERE="$ROOT/bench/memory"

if want peers && { ! [ -x /usr/sbin/dovecot ] || ! [ -x /usr/lib/postfix/sbin/master ]; }; then
  "$PEERS/install-peers.sh" >&2
fi
BIN="$ROOT/target/release/postern"
if want postern && [ "${SKIP_BUILD:-0}" != 1 ]; then cargo build --release --bin postern >&2; fi

mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/memory-XXXXXX)" && pwd -P)"
chmod 0755 "$W"
PEER_S="$W/peers"; PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
POSTERN_PID=""; PEERS_UP=0
. "$ROOT/bench/postern.sh"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  postern_stop
  if [ "$PEERS_UP" = 1 ]; then "$PEERS/stop-peers.sh" "$PEER_S" >&2 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# rss PIDS...: RSS (KiB) of the process trees rooted at PIDS, summed.
rss() { python3 "$HERE/tree_rss.py" "$@"; }
anon() { python3 "$HERE/tree_rss.py" --anon "$@"; }

# measure LABEL SMTP IMAP POP3 IMAPS USER PASS RCPT PIDS...
measure() {
  local label="$1" smtp="$2" imap="$3" pop3="$4" imaps="$5" user="$6" pass="$7" rcpt="$8"; shift 8
  local pids=("$@")
  sleep 3
  local idle; idle="$(rss "${pids[@]}")"
  local peak="$idle" peak_anon=0 after=()
  for pass_no in $(seq 1 "$PASSES"); do
    python3 "$HERE/hostile.py" --smtp "$smtp" --imap "$imap" --pop3 "$pop3" --imaps "$imaps" --user "$user" \
      --password "$pass" --rcpt "$rcpt" --conc "$CONC" --big-mb "$BIG_MB" \
      --seconds "$SECONDS_PER_PASS" > "$W/$label-pass$pass_no.out" 2>&1 &
    local bat=$!
    while kill -0 "$bat" 2>/dev/null; do
      local now; now="$(rss "${pids[@]}")"
      (( now > peak )) && peak=$now
      local now_anon; now_anon="$(anon "${pids[@]}")"
      (( now_anon > peak_anon )) && peak_anon=$now_anon
      sleep 0.5
    done
    wait "$bat" || true
    sleep 2
    after+=("$(rss "${pids[@]}")")
  done
  sleep "$SETTLE"
  local settled; settled="$(rss "${pids[@]}")"
  printf '| %s | %d | %d | %d | %s | %d | %.2f |\n' "$label" $((idle / 1024)) $((peak / 1024)) $((peak_anon / 1024)) \
    "$(for a in "${after[@]}"; do printf '%d ' $((a / 1024)); done)" $((settled / 1024)) \
    "$(echo "$settled / $idle" | bc -l)"
}

echo "# memory under a hostile battery, $(date -u +%FT%TZ): PASSES=$PASSES x ${SECONDS_PER_PASS}s CONC=$CONC BIG_MB=$BIG_MB SETTLE=${SETTLE}s"
echo "# postern $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown); nproc $(nproc)"
echo
echo "| server | idle MiB | peak MiB | peak anonymous MiB | after each pass MiB | settled MiB | settled/idle |"
echo "|---|---|---|---|---|---|---|"

if want postern; then
  mkdir -p "$PDIR/data"
  cat > "$CFG" <<CONF
hostname = "localhost"
data_dir = "$PDIR/data"
[server]
run_as_root = true
[listen]
smtp = ["$PEERS_HOST:0"]
submission = []
submissions = []
imap = ["$PEERS_HOST:0"]
imaps = ["$PEERS_HOST:0"]
pop3 = ["$PEERS_HOST:0"]
pop3s = []
http = []
https = []
managesieve = []
[auth]
lockout_after = 100000
[limits]
max_connections_per_ip = 1000
[imap]
plaintext_on_loopback = true
[pop3]
plaintext_on_loopback = true
[mailauth]
verify = false
CONF
  "$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
  echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "user1@$PEERS_DOMAIN" >&2
  postern_start smtp
  port() { awk -v l="$1" '$1 == l { n = split($2, a, ":"); print a[n]; exit }' "$LREPORT"; }
  measure postern "$(port smtp)" "$(port imap)" "$(port pop3)" "$(port imaps)" "user1@$PEERS_DOMAIN" "$PEERS_PASS" \
    "user1@$PEERS_DOMAIN" "$POSTERN_PID"
  postern_stop
fi
if want peers; then
  PEERS_UP=1
  "$PEERS/start-peers.sh" "$PEER_S" >&2
  measure dovecot+postfix "$SMTP_PORT" "$IMAP_PORT" "$POP3_PORT" "$IMAPS_PORT" "user1@$PEERS_DOMAIN" "$PEERS_PASS" \
    "user1@$PEERS_DOMAIN" "$(cat "$PEER_S/run/dovecot.pid")" "$(cat "$PEER_S/run/postfix-master.pid")"
fi
