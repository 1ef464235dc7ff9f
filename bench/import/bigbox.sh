#!/bin/bash
# A 100,000-message mailbox moving in (issue 19): `postern mailbox import`
# of one big mbox, and of the same messages as a Maildir, into fresh data
# directories with no server running; beside `doveadm import` of the same
# mbox into the peers' Dovecot (../shared/peers), in the same run.
#
# usage: bench/import/bigbox.sh [COUNT]            (default 100000)
#
# For each import, from `/usr/bin/time -v` of the importing process: wall
# seconds, peak RSS, and bytes it wrote ("File system outputs" x 512, the
# kernel's write_bytes: what the process made dirty for the disk, WAL and
# journal included); then the data directory's size on disk (du). Every
# figure is also given over the mbox's bytes.
#
# env: SKIP_BUILD=1 (use BIN_DIR's binary as it is), BIN_DIR (default
#      target/release), MBOX (an existing gen_mbox.py file instead of making
#      one), MAILDIR=0 (skip the Maildir import), DOVECOT=0 (skip doveadm),
#      KEEP=1 (keep scratch), OUT (results file, default
#      target/bench-tmp/bigbox-results-DATE.txt).
# Scratch goes under ./target/bench-tmp, on the project disk: never tmpfs.
# The binary runs from a copy in the scratch directory, so /tmp/pause.sh
# (which stops target/debug binaries) never stops the measured process.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
. "$PEERS/peers-env.sh"   # PEERS_DOMAIN, PEERS_PASS, MAIL_USER (loopback only)
COUNT="${1:-100000}"
[[ "$COUNT" =~ ^[0-9]+$ ]] && (( COUNT >= 10 && COUNT <= 200000 )) || { echo "COUNT must be 10..200000" >&2; exit 2; }
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null

BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  cargo build --release --bin postern >&2
fi
[ -x "$BIN_DIR/postern" ] || { echo "no $BIN_DIR/postern" >&2; exit 1; }

mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/bigbox-XXXXXX)" && pwd -P)"
chmod 0755 "$W"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$ROOT/target/bench-tmp/bigbox-results-$STAMP.txt}"
PEERS_UP=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$PEERS_UP" = 1 ]; then "$PEERS/stop-peers.sh" "$W/peers" >&2 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "scratch kept in $W" >&2; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cp "$BIN_DIR/postern" "$W/postern"
BIN="$W/postern"
say() { echo "$*" | tee -a "$OUT" >&2; }
: > "$OUT"

# --- the mail ------------------------------------------------------------------
if [ -n "${MBOX:-}" ]; then
  M="$(cd "$(dirname "$MBOX")" && pwd -P)/$(basename "$MBOX")"
else
  M="$W/m.mbox"
  echo "== gen_mbox.py --count $COUNT --seed 3" >&2
  python3 "$PEERS/gen_mbox.py" "$M" --count "$COUNT" --seed 3 >&2
fi
MB=$(stat -c %s "$M")
say "# bigbox $STAMP: $COUNT messages, $MB bytes of mbox; nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# postern $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"

# measure NAME DATA_DIR -- CMD...: runs CMD under /usr/bin/time -v, reports
# its figures and DATA_DIR's size, each also over the mbox's bytes.
measure() {
  local name="$1" data="$2"; shift 3
  sync; sleep 2
  /usr/bin/time -v -o "$W/time-$name.txt" "$@" >"$W/$name.stdout" 2>"$W/$name.stderr" || {
    echo "$name failed:" >&2; tail -20 "$W/$name.stderr" "$W/$name.stdout" >&2; exit 1; }
  local wall rss out disk
  read -r wall rss out < <(awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s }
    /Maximum resident set size/ { r = $2 }
    /File system outputs/ { o = $2 * 512 }
    END { printf "%.2f %d %d\n", w, r, o }' "$W/time-$name.txt")
  disk=$(du -sb "$data" | cut -f1)
  say "$(awk -v n="$name" -v w="$wall" -v r="$rss" -v o="$out" -v d="$disk" -v m="$MB" -v c="$COUNT" 'BEGIN {
    printf "%-16s %7.1f s %6.0f msg/s  peak RSS %6.1f MiB  wrote %6.0f MB = %.2fx mail  on disk %6.0f MB = %.2fx mail\n",
      n, w, c / w, r / 1024, o / 1e6, o / m, d / 1e6, d / m }')"
}

# postern_dir NAME: a fresh data directory with one user, u@PEERS_DOMAIN.
postern_dir() {
  local d="$W/$1"
  mkdir -p "$d"
  printf 'hostname = "localhost"\ndata_dir = "%s/data"\n[server]\nrun_as_root = true\n' "$d" > "$d/postern.toml"
  "$BIN" --config "$d/postern.toml" domain add "$PEERS_DOMAIN" >/dev/null
  echo "pw" | "$BIN" --config "$d/postern.toml" user add "u@$PEERS_DOMAIN" >/dev/null
}

echo "== postern mailbox import --mbox" >&2
postern_dir mbox
measure postern-mbox "$W/mbox/data" -- "$BIN" --config "$W/mbox/postern.toml" \
  mailbox import "u@$PEERS_DOMAIN" --mbox "$M"
tail -1 "$W/postern-mbox.stderr" >&2

if [ "${MAILDIR:-1}" != 0 ]; then
  echo "== the same messages as a Maildir" >&2
  python3 - "$M" "$W/Maildir" <<'PY'
import mailbox, sys
src, dst = sys.argv[1], sys.argv[2]
md = mailbox.Maildir(dst, create=True)
md.lock = lambda: None
for m in mailbox.mbox(src, create=False):
    md.add(mailbox.MaildirMessage(m))
PY
  postern_dir maildir
  measure postern-maildir "$W/maildir/data" -- "$BIN" --config "$W/maildir/postern.toml" \
    mailbox import "u@$PEERS_DOMAIN" --maildir "$W/Maildir"
  tail -1 "$W/postern-maildir.stderr" >&2
fi

if [ "${DOVECOT:-1}" != 0 ]; then
  [ -x /usr/sbin/dovecot ] || { echo "== installing the peers" >&2; "$PEERS/install-peers.sh" >&2; }
  echo "== Dovecot: doveadm import of the same mbox" >&2
  "$PEERS/start-peers.sh" "$W/peers" >&2
  PEERS_UP=1
  # doveadm reads the mbox as a one-folder mbox store (its INBOX), as the
  # mail user (it imports in-process: its own writes are what is measured).
  mkdir -p "$W/dmbox"; ln -f "$M" "$W/dmbox/inbox" 2>/dev/null || cp "$M" "$W/dmbox/inbox"
  chown -R "$MAIL_USER" "$W/dmbox"; chmod 0755 "$W/dmbox"
  measure doveadm-mbox "$W/peers/mail" -- doveadm -c "$W/peers/etc/dovecot/dovecot.conf" \
    import -u "user1@$PEERS_DOMAIN" "mbox:$W/dmbox:INBOX=$W/dmbox/inbox" "" all
fi
say "# machine load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results in $OUT" >&2
