#!/bin/bash
# Instructions per POP3 RETR, one at a time, for the Postern server process:
# callgrind counts instructions, so the figure repeats whatever else the
# machine is doing (unlike msg/s). Made to compare two builds.
#
# usage: bench/pop3/profile.sh [BIN...]     (default: target/release/postern)
#
# A data directory with user60 = the peers' 1,000-message mailbox
# (gen_mbox.py --seed 2, as bench/pop3/run.sh) is made once under
# target/bench-tmp/pop3-prof (IMAP APPEND with the first BIN; delete the
# directory to start again). Then for each BIN: serve under
# valgrind --tool=callgrind, log in, RETR 2..1000 one at a time with the
# counters zeroed before and dumped after (retr_phase.py), and print the
# instructions per RETR. Needs valgrind; run from the workspace root.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
. "$PEERS/peers-env.sh"   # PEERS_HOST
command -v callgrind_control >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
BINS=("$@"); [ ${#BINS[@]} -gt 0 ] || BINS=("$ROOT/target/release/postern")
P="$ROOT/target/bench-tmp/pop3-prof"
PDIR="$P"; CFG="$P/postern.toml"; LREPORT="$P/listen"
BIN="${BINS[0]}"
. bench/postern.sh
trap 'WRAP= postern_stop' EXIT
mkdir -p "$P"
if [ ! -d "$P/data" ]; then
  cat > "$CFG" <<EOC
hostname = "localhost"
data_dir = "$P/data"
[server]
run_as_root = true             # the benchmark runs as root, like the peers' masters
[listen]
smtp = []
submission = []
submissions = []
imap = ["127.0.0.1:0"]
imaps = []
pop3 = ["127.0.0.1:0"]
pop3s = []
http = []
https = []
managesieve = []
[limits]
max_connections_per_ip = 1000
[imap]
plaintext_on_loopback = true
[pop3]
plaintext_on_loopback = true
EOC
  [ -f "$P/m1000.mbox" ] || python3 "$PEERS/gen_mbox.py" "$P/m1000.mbox" --count 1000 --seed 2
  "$BIN" --config "$CFG" domain add example.test >/dev/null
  echo pass | "$BIN" --config "$CFG" user add user60@example.test >/dev/null
  postern_start imap
  python3 "$PEERS/imap_prefill.py" --host 127.0.0.1 --port "$PPORT" --user user60@example.test \
    --password pass --mbox "$P/m1000.mbox" --max-secs 300 | tail -1
  postern_stop
fi
for BIN in "${BINS[@]}"; do
  rm -f "$P"/callgrind.out.*
  WRAP="valgrind --tool=callgrind --callgrind-out-file=$P/callgrind.out.%p" postern_start pop3
  python3 "$HERE/retr_phase.py" "$PPORT" "$POSTERN_PID" user60@example.test pass 1000
  postern_stop
  dump="$(ls "$P"/callgrind.out.*.1)"
  total="$(awk '/^summary:/ { print $2 }' "$dump")"
  echo "$BIN: $total instructions for 999 RETRs, $(( total / 999 )) per RETR"
done
