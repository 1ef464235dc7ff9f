#!/usr/bin/env bash
# Backup, restore and verify of a COUNT-message store (issue 17): wall time
# and peak RSS of each command under /usr/bin/time -v, and the sizes.
#
# usage (from the workspace root, after
#   cargo build --release -p postern -p postern-bench --bin postern --bin store-fill):
#   bench/backup/run.sh [COUNT]        # default 100000
# env: BIN (./target/release/postern), FILL (./target/release/store-fill,
#      which delivers COUNT unique messages with 64 concurrent writers:
#      `postern mailbox import` commits each message alone, hours for 100k
#      on a busy disk).
# The scratch directory is ./target/bench-tmp/backup-XXXXXX (the project's
# disk, not tmpfs) and is removed at the end.
set -euo pipefail
COUNT=${1:-100000}
BIN=${BIN:-./target/release/postern}
FILL=${FILL:-./target/release/store-fill}
[ -x "$BIN" ] && [ -x "$FILL" ] || { echo "build $BIN and $FILL first (see the top of $0)" >&2; exit 1; }
mkdir -p ./target/bench-tmp
D=$(mktemp -d "$PWD/target/bench-tmp/backup-XXXXXX")
trap 'rm -rf "$D"' EXIT
CFG=$D/postern.toml
printf 'hostname = "localhost"\ndata_dir = "%s/data"\n[server]\nrun_as_root = true\n[store]\nmin_free_mb = 0\n' "$D" >"$CFG"
P=("$BIN" --config "$CFG")

# timed NAME CMD...: runs CMD under time -v, prints one result row.
timed() {
  local name=$1; shift
  /usr/bin/time -v "$@" >"$D/out.txt" 2>"$D/time.txt" || { cat "$D/out.txt" "$D/time.txt" >&2; exit 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$D/time.txt")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$D/time.txt")
  printf '| %s | %s | %s MiB | %s |\n' "$name" "$wall" "$((rss / 1024))" "$(tail -1 "$D/out.txt" | sed "s|$D/||g")"
}

echo "building a $COUNT-message store in $D (nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
"$FILL" "$D/data" "$COUNT" >&2
echo "store: $(du -sh "$D/data" | cut -f1) (database $(du -sh "$D/data/postern.db" | cut -f1))" >&2

echo "| step | wall | max RSS | output |"
echo "|---|---|---|---|"
timed "backup (online backup API)" "${P[@]}" backup "$D/b1"
timed "verify (read-only)" "${P[@]}" verify
timed "backup again (incremental)" "${P[@]}" backup "$D/b2"
timed "backup (VACUUM INTO, full)" "${P[@]}" backup --full --db-copy vacuum-into "$D/b3"
timed "restore" env POSTERN_DATA_DIR="$D/r" "$BIN" --config "$CFG" restore "$D/b1"
timed "verify the restored store" env POSTERN_DATA_DIR="$D/r" "$BIN" --config "$CFG" verify
# The writer beside a backup: COUNT/20 more deliveries alone, then the same
# during a full backup by each database copy method (both hold one read
# transaction; WAL lets the writer commit meanwhile).
EXTRA=$(( COUNT / 20 ))
echo "deliveries alone: $("$FILL" "$D/data" "$EXTRA" 2>&1 | tail -1)" >&2
for how in backup-api vacuum-into; do
  "$FILL" "$D/data" "$EXTRA" >"$D/fill.txt" 2>&1 &
  fill=$!
  sleep 0.5
  timed "backup ($how) during deliveries" "${P[@]}" backup --full --db-copy "$how" "$D/during-$how"
  wait "$fill"
  echo "deliveries during the $how backup: $(tail -1 "$D/fill.txt")" >&2
done
echo "sizes: data $(du -sh "$D/data" | cut -f1), b1 $(du -sh "$D/b1" | cut -f1), b1+b2 $(du -sch "$D/b1" "$D/b2" | tail -1 | cut -f1), restored $(du -sh "$D/r" | cut -f1)" >&2
