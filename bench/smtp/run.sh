#!/bin/bash
# SMTP benchmark: Postern against Postfix delivering to Dovecot (the peers in
# ../shared/peers), same machine, same run, same message, same concurrency.
#
# usage: bench/smtp/run.sh [COUNT] [SESSIONS] [REPS]        (defaults 5000 10 3)
#
# For each rep and each mode (1 recipient, new connection per message; and
# persistent sessions, smtp-source -d) it sends COUNT copies of the peers' 5 KB
# message (make_msg.py) to a fresh, empty INBOX on each server, one after the
# other, and measures the accepted rate (smtp-source done) and the delivered
# rate (INBOX holds COUNT). Which server goes first alternates between reps and
# modes; before every run: sync, then PAUSE seconds.
#
# env: PAUSE (10), MSG_SIZE (5120), TIMEOUT (600 s per run), FIRST_USER (50),
#      SERVERS ("postfix postern"; one of them alone for a quick check),
#      POSTERN_SPAM (on: the spam verdict as shipped, the default; off:
#      [spam] enabled = false, to measure what the filter costs),
#      POSTERN_METRICS (off, the default; on: [metrics] listen on a loopback
#      port, so every count reaches the Prometheus recorder),
#      SKIP_BUILD=1 (use target/release/postern as it is), KEEP=1 (keep the
#      scratch directory), OUT (results prefix, default
#      target/bench-tmp/smtp-results-DATE: .jsonl and .txt are written).
# Scratch (peers' state and Postern's data dir) goes under ./target/bench-tmp,
# on the project disk: never tmpfs, fsync must reach the disk.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
[ -x "$PEERS/start-peers.sh" ] || { echo "no $ROOT/$PEERS/start-peers.sh" >&2; exit 1; }
. "$PEERS/peers-env.sh"   # PEERS_HOST, PEERS_DOMAIN, SMTP_PORT, PEERS_PASS (loopback only)

COUNT="${1:-5000}"; SESSIONS="${2:-10}"; REPS="${3:-3}"
: "${PAUSE:=10}" "${MSG_SIZE:=5120}" "${TIMEOUT:=600}" "${FIRST_USER:=50}"
: "${SERVERS:=postfix postern}" "${POSTERN_SPAM:=on}" "${POSTERN_METRICS:=off}"
case "$POSTERN_SPAM" in on) SPAM_ENABLED=true ;; off) SPAM_ENABLED=false ;;
  *) echo "POSTERN_SPAM must be on or off: $POSTERN_SPAM" >&2; exit 2 ;; esac
case "$POSTERN_METRICS" in on) METRICS_LISTEN='"127.0.0.1:0"' ;; off) METRICS_LISTEN= ;;
  *) echo "POSTERN_METRICS must be on or off: $POSTERN_METRICS" >&2; exit 2 ;; esac
num() { [[ "$2" =~ ^[0-9]+$ ]] || { echo "$1 must be a number: $2" >&2; exit 2; }; }
num COUNT "$COUNT"; num SESSIONS "$SESSIONS"; num REPS "$REPS"; num PAUSE "$PAUSE"
num TIMEOUT "$TIMEOUT"; num FIRST_USER "$FIRST_USER"
if ! (( COUNT >= 1 && COUNT <= 100000 && SESSIONS >= 1 && SESSIONS <= 100 && REPS >= 1 \
        && TIMEOUT >= 1 && TIMEOUT <= 3600 && FIRST_USER >= 1 \
        && FIRST_USER + 2 * REPS - 1 <= PEERS_USERS )); then
  echo "bounds: 1<=COUNT<=100000, 1<=SESSIONS<=100, REPS>=1, FIRST_USER+2*REPS-1<=$PEERS_USERS (one fresh user per run pair)" >&2
  exit 2
fi
want() { [[ " $SERVERS " == *" $1 "* ]]; }

# --- tools -------------------------------------------------------------------
if ! [ -x /usr/sbin/smtp-source ] || ! [ -x /usr/sbin/dovecot ] || ! [ -x /usr/lib/postfix/sbin/master ]; then
  echo "== installing the peers ($PEERS/install-peers.sh)" >&2
  "$PEERS/install-peers.sh" >&2
fi
BIN="$ROOT/target/release/postern"
if want postern; then
  if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== cargo build --release" >&2
    cargo build --release >&2
  fi
  [ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }
fi

# --- scratch -----------------------------------------------------------------
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/smtp-XXXXXX)" && pwd -P)"
chmod 0755 "$W"             # Dovecot's LMTP (user mail) writes the maildirs under it
PEER_S="$W/peers"; PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$ROOT/target/bench-tmp/smtp-results-$STAMP}"
JSONL="$OUT.jsonl"; TXT="$OUT.txt"
: > "$JSONL"
POSTERN_PID=""
. "$ROOT/bench/postern.sh"
PEERS_UP=0

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

python3 "$PEERS/make_msg.py" "$W/msg.eml" --size "$MSG_SIZE" --to "loadtest@$PEERS_DOMAIN" >&2
users=(); for k in $(seq 0 $((2 * REPS - 1))); do users+=("user$((FIRST_USER + k))"); done

# --- peers -------------------------------------------------------------------
if want postfix; then
  echo "== starting the peers in $PEER_S" >&2
  PEERS_UP=1
  "$PEERS/start-peers.sh" "$PEER_S" >&2
  PEER_SIDS=(--cpu-sid "$(cat "$PEER_S/run/postfix-master.pid")" --cpu-sid "$(cat "$PEER_S/run/dovecot.pid")")
fi

# --- Postern -----------------------------------------------------------------
if want postern; then
  mkdir -p "$PDIR/data"
  { postern_config_head smtp; cat <<EOF
[auth]
lockout_after = 100000
[limits]
max_connections_per_ip = 1000   # every session comes from 127.0.0.1 (default 20)
[mailauth]
verify = false                  # like the Postfix peer: no SPF/DKIM/DMARC on port 25
                                # (with them: 2,293 vs 2,499 msg/s, smtp-source 10x1000)
[spam]
enabled = $SPAM_ENABLED             # POSTERN_SPAM; no DNS blocklists (no network here)
[metrics]
listen = [$METRICS_LISTEN]          # POSTERN_METRICS
EOF
  } > "$CFG"
  echo "== postern: domain $PEERS_DOMAIN, users ${users[0]}..${users[-1]}" >&2
  "$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
  for u in "${users[@]}"; do
    echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "$u@$PEERS_DOMAIN" >&2
  done
  postern_start smtp
fi

# --- environment ---------------------------------------------------------------
FS="$(findmnt -n -o SOURCE,FSTYPE -T "$W" | tr -s ' ')"
{
  echo "# smtp benchmark, $(date -u +%FT%TZ): COUNT=$COUNT SESSIONS=$SESSIONS REPS=$REPS PAUSE=$PAUSE"
  echo "# nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
  echo "# scratch $W on $FS"
  echo "# message $(wc -c < "$W/msg.eml") bytes (LF; smtp-source sends CRLF)"
  echo "# peers: $(dpkg-query -W -f='${Package} ${Version}  ' postfix dovecot-core dovecot-lmtpd 2>/dev/null)"
  echo "# postern: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
} | tee "$TXT" >&2

# --- runs --------------------------------------------------------------------
run_one() {  # server mode rep order user
  local server="$1" mode="$2" rep="$3" order="$4" user="$5" args=()
  [ "$mode" = persistent ] && args+=(--persistent)
  if [ "$server" = postfix ]; then
    args+=(--port "$SMTP_PORT" --maildir "$PEER_S/mail/$PEERS_DOMAIN/$user/Maildir" --poll 0.05 "${PEER_SIDS[@]}")
  else
    args+=(--port "$PPORT" --postern "$BIN" --postern-config "$CFG" --poll 0.2 --cpu-sid "$POSTERN_PID")
  fi
  sync; sleep "$PAUSE"        # let the previous run's writeback settle
  echo "== $server, $mode, rep $rep, $user@$PEERS_DOMAIN" >&2
  python3 "$HERE/smtp_bench.py" run --server "$server" --host "$PEERS_HOST" \
    --count "$COUNT" --sessions "$SESSIONS" --msg "$W/msg.eml" --rcpt "$user@$PEERS_DOMAIN" \
    --timeout "$TIMEOUT" --fsync-probe-dir "$W" --rep "$rep" --order "$order" --json "$JSONL" "${args[@]}" >&2 \
    || { echo "!! $server $mode rep $rep failed (see above); going on" >&2; FAILED=$((FAILED + 1)); }
}
FAILED=0
modes=(newconn persistent)
for rep in $(seq 1 "$REPS"); do
  for m in 0 1; do
    user="${users[$(( (rep - 1) * 2 + m ))]}"
    if (( (rep + m) % 2 == 1 )); then order=(postfix postern); else order=(postern postfix); fi
    i=1
    for s in "${order[@]}"; do
      if want "$s"; then run_one "$s" "${modes[$m]}" "$rep" "$i" "$user"; i=$((i + 1)); fi
    done
  done
done

# --- what the servers logged ---------------------------------------------------
{
  if want postfix; then
    L="$PEER_S/log/postfix.log"
    echo "# postfix.log: $(grep -c 'status=sent' "$L" 2>/dev/null || true) sent, $(grep -c 'status=deferred' "$L" 2>/dev/null || true) deferred, $(grep -c 'status=bounced' "$L" 2>/dev/null || true) bounced, $(grep -cE ' reject: |warning:|fatal:|panic:' "$L" 2>/dev/null || true) reject/warning/fatal lines"
    grep -E ' reject: |warning:|fatal:|panic:' "$L" 2>/dev/null | sed 's/^/#   /' | head -8 || true
    echo "# dovecot.log: $(grep -ciE 'error|fatal|panic' "$PEER_S/log/dovecot.log" 2>/dev/null || true) error/fatal/panic lines"
    grep -iE 'error|fatal|panic' "$PEER_S/log/dovecot.log" 2>/dev/null | sed 's/^/#   /' | head -5 || true
  fi
  if want postern; then
    echo "# postern serve.log: $(grep -cE 'WARN|ERROR' "$PDIR/serve.log" 2>/dev/null || true) WARN/ERROR lines"
    grep -E 'WARN|ERROR' "$PDIR/serve.log" 2>/dev/null | sed 's/^/#   /' | head -5 || true
  fi
} | tee -a "$TXT" >&2
python3 "$HERE/smtp_bench.py" report "$JSONL" | tee -a "$TXT"
echo "results: $JSONL, $TXT" >&2
if [ "$FAILED" -ne 0 ]; then echo "$FAILED run(s) failed" >&2; exit 1; fi
