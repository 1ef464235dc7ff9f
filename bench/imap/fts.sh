#!/bin/bash
# Full-text SEARCH (issue 19): `SEARCH TEXT word` on one large mailbox,
# Postern's FTS5 trigram index against Dovecot with fts_xapian
# (PEERS_FTS=xapian), same machine, same run, same messages; and each
# index's size as a fraction of the mail's.
#
# usage: bench/imap/fts.sh [COUNT] [WORD]          (defaults 100000 deadline)
#
# 1. gen_mbox.py --count COUNT --seed 3 makes the mailbox (one file).
# 2. Postern: `postern mailbox import` of the mbox into user99's INBOX
#    with no server running, `postern index rebuild` (timed: the index
#    built from scratch), then `serve`.
# 3. Dovecot (fts_xapian, fts_autoindex): the same mbox APPENDed to
#    user99's INBOX by imap_prefill.py (Dovecot indexes at APPEND), then
#    `doveadm index` to be sure nothing is left to index.
# 4. `imap-load sync --search WORD --reps 4` per server: one session,
#    SELECT, UID FETCH of the envelope, then SEARCH TEXT WORD four times;
#    the first SEARCH is cold (index pages not in memory), the rest warm.
# 5. Sizes: Postern's `postern index stats` (the FTS5 shadow tables and
#    fts_docs, from SQLite's dbstat) and du of Dovecot's xapian directories,
#    each divided by the mbox's bytes.
#
# env: SKIP_BUILD=1 (use the binaries as they are), BIN_DIR (default
#      target/release), KEEP=1 (keep the scratch directory), OUT (results
#      prefix, default target/bench-tmp/fts-results-DATE).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
[ -x "$PEERS/start-peers.sh" ] || { echo "no $ROOT/$PEERS/start-peers.sh" >&2; exit 1; }
. "$PEERS/peers-env.sh"   # PEERS_HOST, PEERS_DOMAIN, IMAP_PORT, PEERS_PASS (loopback only)

COUNT="${1:-100000}"; WORD="${2:-deadline}"
[[ "$COUNT" =~ ^[0-9]+$ ]] && (( COUNT >= 100 && COUNT <= 200000 )) || { echo "100 <= COUNT <= 200000" >&2; exit 2; }
[[ "$WORD" =~ ^[A-Za-z0-9]+$ ]] || { echo "WORD: one alphanumeric word" >&2; exit 2; }
USER99="user99@$PEERS_DOMAIN"

BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --bin postern >&2
  cargo build --release -p postern-bench --bin imap-load >&2
fi
BIN="$BIN_DIR/postern"; LOAD="$BIN_DIR/imap-load"
[ -x "$BIN" ] && [ -x "$LOAD" ] || { echo "no $BIN or $LOAD" >&2; exit 1; }

mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/fts-XXXXXX)" && pwd -P)"
chmod 0755 "$W"
PEER_S="$W/peers"; PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
OUT="${OUT:-$ROOT/target/bench-tmp/fts-results-$(date -u +%Y%m%dT%H%M%SZ)}"
TXT="$OUT.txt"; : > "$TXT"
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
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "$*" | tee -a "$TXT" >&2; }

say "# fts benchmark $(date -u +%FT%TZ): COUNT=$COUNT WORD=$WORD, nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# postern $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), BIN_DIR=$BIN_DIR"
t0=$(date +%s.%N)
python3 "$PEERS/gen_mbox.py" "$W/m.mbox" --count "$COUNT" --seed 3
MBOX_BYTES=$(stat -c %s "$W/m.mbox")
say "# mailbox: $COUNT messages, $MBOX_BYTES bytes of mbox (gen_mbox.py --seed 3) in $(since "$t0") s"

# --- Postern: import, index, serve ---------------------------------------------
mkdir -p "$PDIR/data"
{ postern_config_head imap; printf '[imap]\nplaintext_on_loopback = true\n[store]\nfts = true\n'; } > "$CFG"
"$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "$USER99" >/dev/null
t0=$(date +%s.%N)
"$BIN" --config "$CFG" mailbox import "$USER99" --mbox "$W/m.mbox" >&2
say "# postern: mailbox import in $(since "$t0") s"
t0=$(date +%s.%N)
"$BIN" --config "$CFG" index rebuild >&2
say "# postern: index rebuild in $(since "$t0") s"
STATS="$("$BIN" --config "$CFG" index stats)"
P_IDX=$(awk '$1 == "size" { print $2 }' <<<"$STATS")
say "# postern: $(tr '\n' ' ' <<<"$STATS")"
postern_start imap

# --- Dovecot with fts_xapian ---------------------------------------------------
PEERS_UP=1
PEERS_FTS=xapian "$PEERS/start-peers.sh" "$PEER_S" >&2
t0=$(date +%s.%N)
python3 "$PEERS/imap_prefill.py" --host "$PEERS_HOST" --port "$IMAP_PORT" --user "$USER99" \
  --password "$PEERS_PASS" --mbox "$W/m.mbox" --max-secs 7200 >&2
say "# dovecot: APPEND with indexing in $(since "$t0") s"
t0=$(date +%s.%N)
doveadm -c "$PEER_S/etc/dovecot/dovecot.conf" index -u "$USER99" INBOX >&2 || say "# doveadm index failed"
say "# dovecot: doveadm index in $(since "$t0") s"
D_IDX=$(find "$PEER_S/mail" -type d -name 'xapian-indexes' -exec du -sb {} + | awk '{ s += $1 } END { print s + 0 }')

# --- SEARCH TEXT, cold then warm -----------------------------------------------
for s in dovecot postern; do
  port=$IMAP_PORT; [ "$s" = postern ] && port=$PPORT
  sync; sleep 5
  "$LOAD" sync --host "$PEERS_HOST" --port "$port" --user "$USER99" --password "$PEERS_PASS" \
    --reps 4 --search "$WORD" --timeout 600 --label "$s" > "$W/sync-$s.json"
  say "# $s: $(tail -1 "$W/sync-$s.json")"
done
awk -v p="$P_IDX" -v d="$D_IDX" -v m="$MBOX_BYTES" 'BEGIN {
  printf "# index size / mbox size: postern %.2f (%d bytes), dovecot fts_xapian %.2f (%d bytes)\n", p / m, p, d / m, d }' | tee -a "$TXT" >&2
echo "results: $TXT" >&2
