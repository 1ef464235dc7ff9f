#!/bin/bash
# What the spam verdict costs: Postern with `[spam] enabled` on and off under
# the same SMTP load (smtp-source, the peers' 5 KB message, persistent
# sessions), alternating, reporting the accept rate and, because a shared
# machine makes rates noisy, the server's CPU time per accepted message
# (user + system, from /proc), which other load moves much less. (Hardware
# instruction counters are not available on the VMs this runs on.)
#
# usage: bench/smtp/spam_cost.sh [COUNT] [SESSIONS] [PAIRS]   (defaults 5000 10 3)
# env: TRAINED=1 trains the recipient's classifier first (postern spam train
#      with 200 spam and 200 ham made up of the corpus-free generator below),
#      so the classifier's tokenizing and scoring are in the figure too;
#      SKIP_BUILD=1 uses target/release/postern as it is.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
COUNT="${1:-5000}"; SESSIONS="${2:-10}"; PAIRS="${3:-3}"
for v in "$COUNT" "$SESSIONS" "$PAIRS"; do [[ "$v" =~ ^[0-9]+$ ]] || { echo "numbers only" >&2; exit 2; }; done
command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || { echo "smtp-source missing: apt-get install postfix" >&2; exit 1; }
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --bin postern >&2
BIN="$ROOT/target/release/postern"
PEERS_HOST=127.0.0.1
POSTERN_PID=""
. "$ROOT/bench/postern.sh"
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/spamcost-XXXXXX)" && pwd -P)"
trap 'postern_stop; rm -rf "$W"' EXIT
python3 "$ROOT/../shared/peers/make_msg.py" "$W/msg.eml" --size 5120 --to "u1@bench.test" >&2

one() {  # on|off -> "rate cpu_ms_per_msg"
  local spam="$1"
  PDIR="$W/$spam-$RANDOM"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
  mkdir -p "$PDIR/data"
  { postern_config_head smtp; cat <<CFGEOF
[limits]
max_connections_per_ip = 1000
[mailauth]
verify = false
[spam]
enabled = $([ "$spam" = on ] && echo true || echo false)
CFGEOF
  } > "$CFG"
  "$BIN" --config "$CFG" domain add bench.test >&2
  echo pw | "$BIN" --config "$CFG" user add u1@bench.test >&2
  if [ "${TRAINED:-0}" = 1 ]; then
    python3 - "$PDIR" <<'PY'
import os, random, sys
random.seed(7)
spamw = "cheap pills offer winner money free click now discount casino loan viagra".split()
hamw = "meeting build report tomorrow review patch release notes agenda lunch team".split()
for kind, words in (("spam", spamw), ("ham", hamw)):
    d = os.path.join(sys.argv[1], kind); os.makedirs(d)
    for i in range(200):
        body = " ".join(random.choice(words) for _ in range(120))
        with open(os.path.join(d, "%d.eml" % i), "w") as f:
            f.write("From: a%d@%s.test\nSubject: %s %d\n\n%s\n" % (i, kind, kind, i, body))
PY
    "$BIN" --config "$CFG" spam train u1@bench.test --spam "$PDIR/spam" --ham "$PDIR/ham" >&2
  fi
  postern_start smtp
  local start end t0 t1
  sleep 0.5
  t0=$(cpu_ticks "$POSTERN_PID")
  start=$(date +%s.%N)
  [ -n "${ON_LOAD:-}" ] && [ "$spam" = on ] && (eval "$ON_LOAD" &)
  smtp_load "$COUNT" "$SESSIONS" "$W/msg.eml" u1@bench.test
  end=$(date +%s.%N)
  t1=$(cpu_ticks "$POSTERN_PID")
  postern_stop >&2
  rate_and_cpu "$COUNT" "$start" "$end" "$((t1 - t0))"
}

echo "spam  msgs/s  cpu_ms/msg"
for p in $(seq 1 "$PAIRS"); do
  for m in off on; do
    read -r rate ins < <(one "$m")
    printf '%-4s  %6s  %s\n' "$m" "$rate" "$ins"
  done
done
