#!/bin/bash
# Full-text SEARCH (issue 19): `SEARCH TEXT word` on one large mailbox,
# Postern's FTS5 trigram index against Dovecot with fts_xapian
# (PEERS_FTS=xapian), same machine, same run, same messages; and each
# index's size as a fraction of the mail's.
#
# usage: bench/imap/fts.sh [COUNT] [WORD...]
#        (defaults 100000; deadline ukasz 12345 quarterly: a word most
#        messages hold, one a few hold (in "Łukasz"), one hardly any (in
#        Message-IDs and MIME boundaries), one none holds)
#
# 1. The mailbox: the first COUNT messages of $MBOX when set (e.g. the
#    shared /work/data/m100k.mbox), else gen_mbox.py --count COUNT --seed 3.
# 2. Postern: `postern mailbox import` of the mbox into user99's INBOX
#    with no server running, `postern index rebuild` (timed: the index
#    built from scratch), then `serve`.
# 3. Dovecot (fts_xapian, fts_autoindex): the same mbox APPENDed to
#    user99's INBOX by imap_prefill.py (Dovecot indexes at APPEND), then
#    `doveadm index` to be sure nothing is left to index.
# 4. fts_search.py per server, twice in alternating order (dovecot,
#    postern, postern, dovecot): one session, SELECT, then per word REPS
#    `SEARCH TEXT word` in a row; the first of a word is cold (its index
#    pages may not be in memory), the rest warm. The summary takes the
#    median of the warm ones over both rounds.
# 5. Sizes: Postern's `postern index stats` (the FTS5 shadow tables and
#    fts_docs, from SQLite's dbstat) and du of Dovecot's xapian directories,
#    each divided by the mbox's bytes.
#
# env: MBOX (see 1), REPS (default 5), SKIP_BUILD=1 (use the binary as it
#      is), BIN_DIR (default target/release), KEEP=1 (keep the scratch
#      directory), OUT (results prefix, default
#      target/bench-tmp/fts-results-DATE). Starts the peers: run it under
#      `flock /tmp/peers.lock` where others may start them too.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
[ -x "$PEERS/start-peers.sh" ] || { echo "no $ROOT/$PEERS/start-peers.sh" >&2; exit 1; }
. "$PEERS/peers-env.sh"   # PEERS_HOST, PEERS_DOMAIN, IMAP_PORT, PEERS_PASS (loopback only)

COUNT="${1:-100000}"; shift || true
WORDS=("$@"); [ ${#WORDS[@]} -gt 0 ] || WORDS=(deadline ukasz 12345 quarterly)
REPS="${REPS:-5}"
[[ "$COUNT" =~ ^[0-9]+$ ]] && (( COUNT >= 100 && COUNT <= 200000 )) || { echo "100 <= COUNT <= 200000" >&2; exit 2; }
for w in "${WORDS[@]}"; do
  [[ "$w" =~ ^[A-Za-z0-9]+$ ]] || { echo "WORD: one alphanumeric word each" >&2; exit 2; }
done
[[ "$REPS" =~ ^[0-9]+$ ]] && (( REPS >= 2 )) || { echo "REPS >= 2" >&2; exit 2; }
USER99="user99@$PEERS_DOMAIN"

BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --bin postern >&2
fi
BIN="$BIN_DIR/postern"
[ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }

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

say "# fts benchmark $(date -u +%FT%TZ): COUNT=$COUNT WORDS=${WORDS[*]} REPS=$REPS, nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# postern $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), BIN_DIR=$BIN_DIR"
t0=$(date +%s.%N)
if [ -n "${MBOX:-}" ]; then
  # The first COUNT messages: up to the (COUNT+1)th "From " line.
  awk -v n="$COUNT" '/^From / { if (++k > n) exit } { print }' "$MBOX" > "$W/m.mbox"
  FROM="the first $COUNT of $MBOX"
else
  python3 "$PEERS/gen_mbox.py" "$W/m.mbox" --count "$COUNT" --seed 3
  FROM="gen_mbox.py --count $COUNT --seed 3"
fi
MBOX_BYTES=$(stat -c %s "$W/m.mbox")
say "# mailbox: $(grep -c '^From ' "$W/m.mbox") messages, $MBOX_BYTES bytes of mbox ($FROM) in $(since "$t0") s"

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

# --- SEARCH TEXT, cold then warm, two rounds in alternating order --------------
for s in dovecot postern postern dovecot; do
  port=$IMAP_PORT; [ "$s" = postern ] && port=$PPORT
  sync; sleep 2
  python3 "$HERE/fts_search.py" --host "$PEERS_HOST" --port "$port" --user "$USER99" \
    --password "$PEERS_PASS" --reps "$REPS" --label "$s" "${WORDS[@]}" | tee -a "$W/search.json" | sed 's/^/# /' | tee -a "$TXT" >&2
done
python3 - "$W/search.json" <<'PY' | tee -a "$TXT" >&2
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
words = list(dict.fromkeys(r["word"] for r in rows))
print("| word | hits | Postern warm ms (median) | Dovecot warm ms (median) | Postern / Dovecot | cold ms P / D |")
print("|---|---:|---:|---:|---:|---|")
for w in words:
    of = lambda s: [r for r in rows if r["word"] == w and r["label"] == s]
    warm = lambda s: statistics.median(m for r in of(s) for m in r["ms"][1:])
    cold = lambda s: "/".join(str(r["ms"][0]) for r in of(s))
    hits = {s: {r["hits"] for r in of(s)} for s in ("postern", "dovecot")}
    same = "" if hits["postern"] == hits["dovecot"] else f" (dovecot {sorted(hits['dovecot'])})"
    p, d = warm("postern"), warm("dovecot")
    print(f"| {w} | {sorted(hits['postern'])[0]}{same} | {p:.1f} | {d:.1f} | {p / d:.3f} | {cold('postern')} / {cold('dovecot')} |")
PY
awk -v p="$P_IDX" -v d="$D_IDX" -v m="$MBOX_BYTES" 'BEGIN {
  printf "# index size / mbox size: postern %.2f (%d bytes), dovecot fts_xapian %.2f (%d bytes)\n", p / m, p, d / m, d }' | tee -a "$TXT" >&2
echo "results: $TXT" >&2
