#!/bin/bash
# Outbound benchmark: Postern's queue runner against Postfix relaying to the
# same loopback receiver (bench smtp-sink), same machine, same run.
#
# usage: bench/outbound/run.sh [COUNT] [DOMAINS] [REPS]     (defaults 1000 10 3)
#
# Each rep and server: with the receiver down, COUNT messages (5 KB, one
# recipient each, user<i>@d<i % DOMAINS>.bench.test) are put into the
# server's queue and their first attempt fails (connection refused), so all
# wait as deferred. Then the receiver starts and the queue is flushed:
# Postfix by `postqueue -f`; Postern by stopping it, `postern queue retry
# --all`, and starting it again (its start-up is inside the timed span).
# Timed: from the flush command to the receiver's last message; the rate is
# COUNT / that span. Which server goes first alternates between reps.
#
# Routing: Postern looks up MX records (the sink's DNS answers MX of every
# *.bench.test with mx.bench.test -> 127.0.0.1); Postfix has a transport
# map to [127.0.0.1]:port (no DNS). Both use their default concurrency
# (Postern: 5 per domain, 50 in all; Postfix: 20 per destination, and all
# the domains are one destination for it, the receiver's address).
#
# env: SKIP_BUILD=1, KEEP=1, TIMEOUT (300 s per flush), SERVERS ("postfix postern")
# Scratch goes under ./target/bench-tmp (the project disk; never tmpfs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
. "$PEERS/peers-env.sh"
COUNT="${1:-1000}"; DOMAINS="${2:-10}"; REPS="${3:-3}"
: "${TIMEOUT:=300}" "${SERVERS:=postfix postern}"
for v in COUNT DOMAINS REPS TIMEOUT; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || { echo "$v must be a number" >&2; exit 2; }
done
(( COUNT >= 1 && COUNT <= 100000 && DOMAINS >= 1 && DOMAINS <= 1000 && REPS >= 1 && TIMEOUT <= 3600 )) \
  || { echo "bounds: 1<=COUNT<=100000, 1<=DOMAINS<=1000, REPS>=1, TIMEOUT<=3600" >&2; exit 2; }
want() { [[ " $SERVERS " == *" $1 "* ]]; }

if ! [ -x /usr/lib/postfix/sbin/master ]; then "$PEERS/install-peers.sh" >&2; fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release >&2
  cargo build --release -p postern-bench --bin smtp-sink >&2
fi
BIN="$ROOT/target/release/postern"; SINK="$ROOT/target/release/smtp-sink"

mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/outbound-XXXXXX)" && pwd -P)"
chmod 0755 "$W"
PEER_S="$W/peers"; PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
STATUS="$W/sink.status"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SINK_PORT="$(free_port)"; DNS_PORT="$(free_port)"
SINK_PID=""; POSTERN_PID=""; PEERS_UP=0
. "$ROOT/bench/postern.sh"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  sink_stop
  postern_stop
  if [ "$PEERS_UP" = 1 ]; then "$PEERS/stop-peers.sh" "$PEER_S" >&2 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sink_start() {
  rm -f "$STATUS"
  "$SINK" --port "$SINK_PORT" --status "$STATUS" --dns-port "$DNS_PORT" >>"$W/sink.log" 2>&1 &
  SINK_PID=$!
  for _ in $(seq 1 100); do [ -s "$STATUS" ] && return; sleep 0.05; done
  echo "smtp-sink did not start" >&2; exit 1
}
sink_stop() {
  if [ -n "$SINK_PID" ]; then kill "$SINK_PID" 2>/dev/null || true; wait "$SINK_PID" 2>/dev/null || true; fi
  SINK_PID=""
}
# The receiver is down but DNS must answer while mail is queued: a sink on
# a port nobody connects to serves DNS only.
dns_only_start() {
  "$SINK" --port "$(free_port)" --status "$W/dns-only.status" --dns-port "$DNS_PORT" >>"$W/sink.log" 2>&1 &
  DNS_ONLY_PID=$!
}
dns_only_stop() { kill "$DNS_ONLY_PID" 2>/dev/null || true; wait "$DNS_ONLY_PID" 2>/dev/null || true; }

# --- Postfix: the peers, plus a transport to the sink --------------------------
if want postfix; then
  PEERS_UP=1
  "$PEERS/start-peers.sh" "$PEER_S" >&2
  PF="$PEER_S/etc/postfix"
  : > "$PF/transport"
  for d in $(seq 0 $((DOMAINS - 1))); do echo "d$d.bench.test smtp:[127.0.0.1]:$SINK_PORT" >> "$PF/transport"; done
  # The peer's master.cf has no SMTP client service (nothing leaves); add one.
  echo "smtp      unix  -       -       n       -       -       smtp" >> "$PF/master.cf"
  postconf -c "$PF" -e "transport_maps = texthash:$PF/transport" "smtp_tls_security_level = none"
  postfix -c "$PF" reload >&2
fi

# --- Postern -------------------------------------------------------------------
if want postern; then
  mkdir -p "$PDIR/data"
  { postern_config_head submission; cat <<EOF
[dns]
nameservers = ["127.0.0.1:$DNS_PORT"]
[queue]
first_retry_secs = 3600
max_retry_secs = 3600
[outbound]
port = $SINK_PORT
EOF
  } > "$CFG"
  "$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
  echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "user1@$PEERS_DOMAIN" >&2
fi

{
  echo "# outbound benchmark, $(date -u +%FT%TZ): COUNT=$COUNT DOMAINS=$DOMAINS REPS=$REPS"
  echo "# nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)"
  echo "# scratch $W on $(findmnt -n -o SOURCE,FSTYPE -T "$W" | tr -s ' ')"
  echo "# postfix $(dpkg-query -W -f='${Version}' postfix 2>/dev/null); postern $(git -C "$ROOT" describe --always --dirty 2>/dev/null)"
} | tee "$W/report.txt" >&2

wait_until() {  # seconds command...
  local limit="$1"; shift
  local end=$((SECONDS + limit))
  until "$@"; do
    (( SECONDS < end )) || return 1
    sleep 0.2
  done
}
pf_deferred() { [ "$(postqueue -c "$PF" -j 2>/dev/null | grep -c '"queue_name": *"deferred"')" -ge "$COUNT" ]; }
pn_deferred() { [ "$("$BIN" --config "$CFG" queue list | grep -c ' deferred ')" -ge "$COUNT" ]; }
sink_done() { [ -s "$STATUS" ] && [ "$(cut -d' ' -f1 "$STATUS")" -ge "$COUNT" ]; }

run_one() {  # server rep
  local server="$1" rep="$2" t0 last rate
  dns_only_start
  if [ "$server" = postfix ]; then
    python3 "$HERE/inject.py" --port "$SMTP_PORT" --count "$COUNT" --domains "$DOMAINS" \
      --sender "user1@$PEERS_DOMAIN" >&2
    wait_until "$TIMEOUT" pf_deferred || { echo "postfix: not all deferred" >&2; exit 1; }
  else
    postern_start submission
    python3 "$HERE/inject.py" --port "$PPORT" --count "$COUNT" --domains "$DOMAINS" \
      --sender "user1@$PEERS_DOMAIN" --login "user1@$PEERS_DOMAIN" "$PEERS_PASS" >&2
    wait_until "$TIMEOUT" pn_deferred || { echo "postern: not all deferred" >&2; exit 1; }
    postern_stop
    "$BIN" --config "$CFG" queue retry --all >&2
  fi
  dns_only_stop
  sync; sleep 2
  sink_start
  t0="$(date +%s.%N)"
  if [ "$server" = postfix ]; then postqueue -c "$PF" -f; else postern_start submission; fi
  wait_until "$TIMEOUT" sink_done || { echo "$server: only $(cat "$STATUS") within ${TIMEOUT}s" >&2; exit 1; }
  last="$(cut -d' ' -f4 "$STATUS")"
  rate="$(python3 -c "print(round($COUNT / ($last - $t0), 1))")"
  echo "BENCH outbound server=$server rep=$rep count=$COUNT domains=$DOMAINS seconds=$(python3 -c "print(round($last - $t0, 3))") msgs_per_s=$rate" | tee -a "$W/report.txt"
  sink_stop
  [ "$server" = postern ] && postern_stop
  return 0
}

for rep in $(seq 1 "$REPS"); do
  if (( rep % 2 == 1 )); then order=(postfix postern); else order=(postern postfix); fi
  for s in "${order[@]}"; do want "$s" && run_one "$s" "$rep"; done
done
python3 - "$W/report.txt" <<'PY'
import re, statistics, sys
rates = {}
for l in open(sys.argv[1]):
    m = re.match(r"BENCH outbound server=(\w+) rep=\d+ .* msgs_per_s=([\d.]+)", l)
    if m: rates.setdefault(m.group(1), []).append(float(m.group(2)))
for s, r in rates.items():
    print(f"{s}: median {statistics.median(r):.1f} msg/s over {len(r)} reps {r}")
if "postern" in rates and "postfix" in rates:
    print(f"ratio postern/postfix (medians): {statistics.median(rates['postern']) / statistics.median(rates['postfix']):.2f}")
PY
