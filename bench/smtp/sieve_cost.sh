#!/bin/bash
# What Sieve costs at delivery (issue 16: with a 20-rule script active for
# the recipient, at least 90 % of the rate without one): Postern under the
# same SMTP load (smtp-source, the peers' 5 KB message, persistent
# sessions) with no script and with a 20-rule script, alternating,
# reporting the accept rate and the server's CPU time per accepted message
# (user + system, from /proc), which a shared machine's other load moves
# less than the rate. The rules (bench/smtp/sieve20.sieve, which
# sieve_peer.sh runs on the peers) are what a person's filter looks like;
# none matches the bench message, so every test runs and the message is
# kept in INBOX.
#
# usage: bench/smtp/sieve_cost.sh [COUNT] [SESSIONS] [PAIRS]   (defaults 5000 10 3)
# env: SKIP_BUILD=1 uses target/release/postern as it is (or BIN, another build).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
COUNT="${1:-5000}"; SESSIONS="${2:-10}"; PAIRS="${3:-3}"
for v in "$COUNT" "$SESSIONS" "$PAIRS"; do [[ "$v" =~ ^[0-9]+$ ]] || { echo "numbers only" >&2; exit 2; }; done
[ -x /usr/sbin/smtp-source ] || { echo "smtp-source missing: apt-get install postfix" >&2; exit 1; }
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --bin postern >&2
BIN="${BIN:-$ROOT/target/release/postern}"
PEERS_HOST=127.0.0.1
POSTERN_PID=""
. "$ROOT/bench/postern.sh"
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/sievecost-XXXXXX)" && pwd -P)"
trap 'postern_stop; rm -rf "$W"' EXIT
python3 "$ROOT/../shared/peers/make_msg.py" "$W/msg.eml" --size 5120 --to "u1@bench.test" >&2

RULES="$HERE/sieve20.sieve"   # the 20 rules, shared with sieve_peer.sh
[ "$(grep -c '^if ' "$RULES")" = 20 ] || { echo "expected 20 rules" >&2; exit 1; }

one() {  # none|script -> "rate cpu_ms_per_msg"
  local mode="$1"
  PDIR="$W/$mode-$RANDOM"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
  mkdir -p "$PDIR/data"
  { postern_config_head smtp; cat <<CFGEOF
[limits]
max_connections_per_ip = 1000
[mailauth]
verify = false
CFGEOF
  } > "$CFG"
  "$BIN" --config "$CFG" domain add bench.test >&2
  echo pw | "$BIN" --config "$CFG" user add u1@bench.test >&2
  if [ "$mode" = script ]; then
    "$BIN" --config "$CFG" user sieve u1@bench.test --put "$RULES" >&2
  fi
  postern_start smtp
  local start end t0 t1
  sleep 0.5
  t0=$(cpu_ticks "$POSTERN_PID")
  start=$(date +%s.%N)
  smtp_load "$COUNT" "$SESSIONS" "$W/msg.eml" u1@bench.test
  end=$(date +%s.%N)
  t1=$(cpu_ticks "$POSTERN_PID")
  if grep -q 'Sieve script failed' "$PDIR/serve.log" 2>/dev/null; then
    echo "the script failed; see $PDIR/serve.log" >&2; exit 1
  fi
  postern_stop >&2
  rate_and_cpu "$COUNT" "$start" "$end" "$((t1 - t0))"
}

echo "sieve   msgs/s  cpu_ms/msg"
for p in $(seq 1 "$PAIRS"); do
  for m in none script; do
    read -r rate cpu < <(one "$m")
    printf '%-6s  %6s  %s\n' "$m" "$rate" "$cpu"
  done
done
