#!/bin/bash
# What the spam verdict costs: Postern with `[spam] enabled` on and off under
# the same SMTP load (smtp-source, the peers' 5 KB message, persistent
# sessions), alternating, reporting the accept rate and, because a shared
# machine makes rates noisy, the server's CPU time per accepted message
# (user + system, from /proc), which other load moves much less. (Hardware
# instruction counters are not available on the VMs this runs on.) Off goes
# first in odd pairs, on in even ones; at the end each pair's rate on/off,
# CPU off/on and CPU on minus off are printed. Each half also prints (to
# stderr) the bytes the server wrote to disk a message (`write_bytes` of
# /proc/PID/io: WAL frames, checkpoints, blob files), which says how many
# messages its commits carried.
#
# usage: bench/smtp/spam_cost.sh [COUNT] [SESSIONS] [PAIRS]   (defaults 5000 10 3)
# env: TRAINED=1 trains the recipient's classifier first (postern spam train
#      with 200 spam and 200 ham made up of the corpus-free generator below),
#      so the classifier's tokenizing and scoring are in the figure too;
#      SKIP_BUILD=1 uses target/release/postern as it is;
#      THREADS=1 also prints (to stderr) each kind of server thread's user and
#      system CPU and its context switches (voluntary + involuntary) per
#      message, to say where a difference between on and off is;
#      BINS="NAME=PATH NAME=PATH" measures several server binaries (copies
#      of builds before and after a change), each pair of each in turn, so
#      they are compared under the same machine load (default: one,
#      target/release/postern);
#      PERF=DIR records each half's server with `perf record` into DIR.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
COUNT="${1:-5000}"; SESSIONS="${2:-10}"; PAIRS="${3:-3}"
for v in "$COUNT" "$SESSIONS" "$PAIRS"; do [[ "$v" =~ ^[0-9]+$ ]] || { echo "numbers only" >&2; exit 2; }; done
command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || { echo "smtp-source missing: apt-get install postfix" >&2; exit 1; }
[ "${SKIP_BUILD:-0}" = 1 ] || [ -n "${BINS:-}" ] || cargo build --release --bin postern >&2
BINS="${BINS:-release=$ROOT/target/release/postern}"
for b in $BINS; do [ -x "${b#*=}" ] || { echo "not a binary: $b" >&2; exit 2; }; done
PEERS_HOST=127.0.0.1
POSTERN_PID=""
. "$ROOT/bench/postern.sh"
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/spamcost-XXXXXX)" && pwd -P)"
trap 'postern_stop; rm -rf "$W"' EXIT
python3 "$ROOT/../shared/peers/make_msg.py" "$W/msg.eml" --size 5120 --to "u1@bench.test" >&2

# thread_ticks PID: "name user system switches" per thread name (the
# runtime's workers share one): clock ticks from each thread's stat after
# its ")", context switches (voluntary and not) from its status.
thread_ticks() {
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s\n' "$(tr ' ' _ < "$t/comm")" "$(sed 's/.*) //' "$t/stat" | awk '{ print $12, $13 }')" \
      "$(awk '/ctxt_switches/ { n += $2 } END { print n + 0 }' "$t/status")"
  done 2>/dev/null | awk '{ u[$1] += $2; s[$1] += $3; c[$1] += $4 } END { for (n in u) print n, u[n], s[n], c[n] }' | sort
}

one() {  # on|off BIN -> "rate cpu_ms_per_msg"
  local spam="$1" BIN="$2"
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
  local io0; io0=$(awk '/^write_bytes/ { print $2 }' "/proc/$POSTERN_PID/io")
  [ "${THREADS:-0}" = 1 ] && thread_ticks "$POSTERN_PID" > "$PDIR/threads0"
  start=$(date +%s.%N)
  [ -n "${ON_LOAD:-}" ] && [ "$spam" = on ] && (eval "$ON_LOAD" &)
  local perf=""
  if [ -n "${PERF:-}" ]; then
    mkdir -p "$PERF"
    perf record -q -F 2999 -g -p "$POSTERN_PID" -o "$PERF/$spam-$(basename "$PDIR").data" >/dev/null 2>&1 &
    perf=$!
  fi
  smtp_load "$COUNT" "$SESSIONS" "$W/msg.eml" u1@bench.test
  end=$(date +%s.%N)
  t1=$(cpu_ticks "$POSTERN_PID")
  awk -v a="$io0" -v c="$COUNT" -v m="$spam" '/^write_bytes/ { printf "  %s written to disk %.0f bytes/msg\n", m, ($2 - a) / c }' "/proc/$POSTERN_PID/io" >&2
  if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; fi
  if [ "${THREADS:-0}" = 1 ]; then
    thread_ticks "$POSTERN_PID" > "$PDIR/threads1"
    # Threads that came and went between the snapshots are not counted.
    join -a 2 -e 0 -o 0,1.2,1.3,1.4,2.2,2.3,2.4 "$PDIR/threads0" "$PDIR/threads1" |
      awk -v c="$COUNT" -v hz="$(getconf CLK_TCK)" -v m="$spam" \
        '{ u = ($5 - $2) * 1e6 / hz / c; s = ($6 - $3) * 1e6 / hz / c; x = ($7 - $4) / c
           if (u + s > 0) printf "  %s %-18s user %6.1f us/msg  sys %6.1f us/msg  switches %5.2f/msg\n", m, $1, u, s, x }' >&2
  fi
  postern_stop >&2
  rate_and_cpu "$COUNT" "$start" "$end" "$((t1 - t0))"
}

echo "build    spam  msgs/s  cpu_ms/msg"
SUMMARY="$W/summary"
for p in $(seq 1 "$PAIRS"); do
  # Which half goes first alternates pair by pair, so that a machine
  # getting busier or quieter during a run does not favour one of them.
  order="off on"; [ $((p % 2)) = 0 ] && order="on off"
  for b in $BINS; do
    declare -A r=() c=()
    for m in $order; do
      read -r rate ins < <(one "$m" "${b#*=}")
      printf '%-8s %-4s  %6s  %s\n' "${b%%=*}" "$m" "$rate" "$ins"
      r[$m]=$rate; c[$m]=$ins
    done
    awk -v b="${b%%=*}" -v p="$p" -v ron="${r[on]}" -v roff="${r[off]}" -v con="${c[on]}" -v coff="${c[off]}" \
      'BEGIN { printf "%-8s pair %d  rate on/off %.2f  cpu off/on %.2f  cpu on-off %.0f us/msg\n", b, p, ron / roff, coff / con, (con - coff) * 1000 }' >> "$SUMMARY"
  done
done
cat "$SUMMARY"
