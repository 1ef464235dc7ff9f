#!/bin/sh
# Runs every fuzz target in turn (one core at a time) and prints its
# figures from AFL++'s fuzzer_stats. Usage, from fuzz/:
#   ./run_all.sh            # each target until 10 million executions
#   EXECS=1000000 ./run_all.sh
#   SECS=600 ./run_all.sh   # or a time limit per target instead
#   TARGETS="imap_wire smtp_wire" ./run_all.sh   # some targets only
#   AFL_ARGS="-t 2000" ./run_all.sh   # more afl-fuzz options
# Campaigns resume: a target whose out/<target> exists continues from it.
set -eu
cd "$(dirname "$0")"
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1
cargo afl build --release
mkdir -p out
all="smtp_wire imap_wire pop3_wire managesieve_wire autodiscover message_render sasl spam_verdict"
for t in ${TARGETS:-$all}; do
    if [ -d "out/$t/default" ]; then input=-; else input="seeds/$t"; fi
    if [ -n "${SECS:-}" ]; then limit="-V $SECS"; else limit="-E ${EXECS:-10000000}"; fi
    # shellcheck disable=SC2086
    cargo afl fuzz -i "$input" -o "out/$t" $limit ${AFL_ARGS:-} "target/release/$t" > "out/$t.log" 2>&1 || true
    stats="out/$t/default/fuzzer_stats"
    printf '%-15s' "$t"
    for k in execs_done execs_per_sec run_time saved_crashes saved_hangs corpus_count; do
        printf ' %s=%s' "$k" "$(sed -n "s/^$k *: *//p" "$stats")"
    done
    echo
done
