#!/bin/bash
# Moving in: `postern import imap` of 10,000 messages from Dovecot (the peer in
# ../shared/peers) beside mbsync (Debian's isync) copying the same source into
# the same kind of fresh Postern user over IMAP, in the same run.
#
# usage: bench/import/run.sh
#
# 1. Dovecot's user1 gets 10,000 messages (gen_mbox.py --seed 4, 1-60 KB) in
#    four folders, APPENDed over IMAP (imap_prefill.py): INBOX 6000, Sent 1000
#    (special-use), Archive 1000, Lists.rust 2000 (Dovecot's '.' delimiter).
# 2. Postern serves IMAPS (mbsync's target) with two fresh users.
# 3. `postern import imap --from imaps://...:IMAPS_PORT --ca-file (Dovecot's
#    certificate)` into imp@, then `mbsync` (Sync Pull, Create Near) into mbs@,
#    each under /usr/bin/time -v: wall time, messages/s, maximum RSS of the
#    copying process (for mbsync the server's writes happen in `postern
#    serve`, whose CPU is reported beside it). Then both users' counts.
#
# env: SKIP_BUILD=1, BIN_DIR (default target/release), KEEP=1 (keep scratch),
#      COUNT (10000), OUT (results file, default target/bench-tmp/import-results-DATE.txt).
# Scratch goes under ./target/bench-tmp, on the project disk: never tmpfs.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
[ -x "$PEERS/start-peers.sh" ] || { echo "no $ROOT/$PEERS/start-peers.sh" >&2; exit 1; }
. "$PEERS/peers-env.sh"   # PEERS_HOST, PEERS_DOMAIN, IMAP_PORT, IMAPS_PORT, PEERS_PASS
: "${COUNT:=10000}"
[[ "$COUNT" =~ ^[0-9]+$ ]] && (( COUNT >= 10 && COUNT <= 100000 )) || { echo "COUNT must be 10..100000" >&2; exit 2; }

# --- tools -------------------------------------------------------------------
[ -x /usr/sbin/dovecot ] || { echo "== installing the peers" >&2; "$PEERS/install-peers.sh" >&2; }
if ! command -v mbsync >/dev/null; then
  echo "== installing isync (mbsync)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq isync >/dev/null
fi
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "== cargo build --release (postern)" >&2
  cargo build --release --bin postern >&2
fi
BIN="$BIN_DIR/postern"
[ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }

# --- scratch -----------------------------------------------------------------
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/import-XXXXXX)" && pwd -P)"
chmod 0755 "$W"
PEER_S="$W/peers"; PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$ROOT/target/bench-tmp/import-results-$STAMP.txt}"
PEERS_UP=0; POSTERN_PID=""
. "$ROOT/bench/postern.sh"
cleanup() {
  trap - EXIT INT TERM
  postern_stop
  if [ "$PEERS_UP" = 1 ]; then "$PEERS/stop-peers.sh" "$PEER_S" >&2 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "scratch kept in $W" >&2; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the old server ----------------------------------------------------------
echo "== Dovecot with $COUNT messages for user1" >&2
"$PEERS/start-peers.sh" "$PEER_S" >&2
PEERS_UP=1
python3 "$PEERS/gen_mbox.py" "$W/src.mbox" --count "$COUNT" --seed 4 --domain "$PEERS_DOMAIN" >&2
# Four folders from consecutive slices of the mbox (split with python: the
# prefill script takes a whole file).
python3 - "$W/src.mbox" "$COUNT" <<'PY'
import sys
path, count = sys.argv[1], int(sys.argv[2])
msgs, cur = [], None
for line in open(path, "rb"):
    if line.startswith(b"From ") and (cur is None or cur):
        if cur: msgs.append(cur)
        cur = [line]; continue
    cur.append(line)
if cur: msgs.append(cur)
cuts = [("inbox", 0.6), ("sent", 0.1), ("archive", 0.1), ("lists", 0.2)]
at = 0
for i, (name, share) in enumerate(cuts):
    n = count - at if i == len(cuts) - 1 else int(count * share)
    with open(path + "." + name, "wb") as f:
        for m in msgs[at:at + n]: f.writelines(m)
    at += n
PY
for pair in inbox:INBOX sent:Sent archive:Archive lists:Lists.rust; do
  part="${pair%%:*}"; box="${pair#*:}"
  python3 "$PEERS/imap_prefill.py" --mbox "$W/src.mbox.$part" --port "$IMAP_PORT" \
    --user "user1@$PEERS_DOMAIN" --password "$PEERS_PASS" --mailbox "$box" >&2
done

# --- Postern -----------------------------------------------------------------
mkdir -p "$PDIR"
postern_config_head imaps > "$CFG"
"$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
for u in imp mbs; do echo "pw-$u" | "$BIN" --config "$CFG" user add "$u@$PEERS_DOMAIN" >/dev/null; done
postern_start imaps

# --- postern import imap -----------------------------------------------------
# rusage LOG: "wall_s max_rss_kib" from a `/usr/bin/time -v` log.
rusage() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s }
              /Maximum resident set size/ { r = $2 } END { printf "%.2f %d\n", w, r }' "$1"
}
sync; sleep 3
echo "== postern import imap" >&2
T0="$(cpu_ticks "$POSTERN_PID")"
echo "$PEERS_PASS" | /usr/bin/time -v -o "$W/time-import.txt" \
  "$BIN" --config "$CFG" import imap --from "imaps://$PEERS_HOST:$IMAPS_PORT" \
  --ca-file "$PEER_S/etc/tls/cert.pem" --user "user1@$PEERS_DOMAIN" --to "imp@$PEERS_DOMAIN" \
  >"$W/import.stdout" 2>"$W/import.stderr" || {
  echo "postern import failed:" >&2; cat "$W/import.stderr" "$W/import.stdout" >&2; exit 1; }
cat "$W/import.stdout" >&2
read -r IMP_WALL IMP_RSS < <(rusage "$W/time-import.txt")
IMP_SERVER_TICKS=$(( $(cpu_ticks "$POSTERN_PID") - T0 ))

# --- mbsync ------------------------------------------------------------------
mkdir -p "$W/mbsync-state"
# mbsync checks the certificate's name, and both certificates name localhost.
cat > "$W/mbsyncrc" <<EOF
IMAPAccount old
Host localhost
Port $IMAPS_PORT
User user1@$PEERS_DOMAIN
Pass $PEERS_PASS
SSLType IMAPS
CertificateFile $PEER_S/etc/tls/cert.pem

IMAPStore old
Account old

IMAPAccount new
Host localhost
Port $PPORT
User mbs@$PEERS_DOMAIN
Pass pw-mbs
SSLType IMAPS
CertificateFile $PDIR/data/tls/selfsigned-cert.pem

IMAPStore new
Account new

Channel move
Far :old:
Near :new:
# The four source folders (the target has more of its own: Drafts, Junk, Trash).
Patterns INBOX Sent Archive Lists/rust
Create Near
Sync Pull
SyncState $W/mbsync-state/
EOF
sync; sleep 3
echo "== mbsync" >&2
T0="$(cpu_ticks "$POSTERN_PID")"
/usr/bin/time -v -o "$W/time-mbsync.txt" mbsync -c "$W/mbsyncrc" -a -q >"$W/mbsync.stdout" 2>"$W/mbsync.stderr" || {
  echo "mbsync failed:" >&2; tail -20 "$W/mbsync.stderr" >&2; exit 1; }
MBS_SERVER_TICKS=$(( $(cpu_ticks "$POSTERN_PID") - T0 ))
read -r MBS_WALL MBS_RSS < <(rusage "$W/time-mbsync.txt")

# --- counts and the report ---------------------------------------------------
count_of() { "$BIN" --config "$CFG" mailbox list "$1@$PEERS_DOMAIN" | awk -F'\t' '{ split($2, a, " "); s += a[1] } END { print s + 0 }'; }
IMP_N="$(count_of imp)"; MBS_N="$(count_of mbs)"
HZ="$(getconf CLK_TCK)"
{
  echo "import imap of $COUNT messages from Dovecot $(dpkg-query -W -f='${Version}' dovecot-core 2>/dev/null) vs mbsync $(dpkg-query -W -f='${Version}' isync 2>/dev/null), $STAMP"
  echo "source folders: INBOX 60%, Sent 10%, Archive 10%, Lists.rust 20%; $(du -k "$W/src.mbox" | cut -f1) KiB of mbox"
  echo "postern import: $IMP_N messages in postern, ${IMP_WALL} s, $(awk -v n="$COUNT" -v w="$IMP_WALL" 'BEGIN { printf "%.0f", n / w }') msg/s, max RSS ${IMP_RSS} KiB (serve CPU meanwhile $(awk -v t="$IMP_SERVER_TICKS" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }') s)"
  echo "mbsync:         $MBS_N messages in postern, ${MBS_WALL} s, $(awk -v n="$COUNT" -v w="$MBS_WALL" 'BEGIN { printf "%.0f", n / w }') msg/s, max RSS ${MBS_RSS} KiB (serve CPU meanwhile $(awk -v t="$MBS_SERVER_TICKS" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }') s)"
  echo "ratio (postern import msg/s / mbsync msg/s): $(awk -v a="$IMP_WALL" -v b="$MBS_WALL" 'BEGIN { printf "%.2f", b / a }')"
  echo "postern import summary: $(tail -1 "$W/import.stdout")"
  echo "machine load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT"
echo "results in $OUT" >&2
