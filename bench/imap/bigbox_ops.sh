#!/bin/bash
# IMAP on a 100,000-message mailbox (issue 19), beside Dovecot holding the
# same messages, warm: SELECT, UID FETCH 1:* (UID FLAGS), UID FETCH 1:*
# (UID FLAGS ENVELOPE BODYSTRUCTURE), UID SEARCH UNSEEN, SORT by date,
# THREAD REFERENCES, and a QRESYNC resync after 100 flag changes; and the
# memory of the session that did them.
#
# usage: flock /tmp/peers.lock bench/imap/bigbox_ops.sh
#   (the peers use fixed ports: one peers instance at a time)
#
# 1. The mail: MBOX (a gen_mbox.py file, e.g. /work/data/m100k.mbox), or
#    gen_mbox.py --count COUNT --seed 3 (default COUNT 100000); with MBOX,
#    COUNT < its messages takes only the first COUNT.
# 2. Postern: `postern mailbox import` into user1's INBOX, no server
#    running; Dovecot: `doveadm import` of the same mbox into user1's
#    INBOX (as bench/import/bigbox.sh). Both then mark every message but
#    the last 1,000 \Seen (over IMAP, untimed), as a read mailbox is.
# 3. `imap-load bigops`: a warm-up session per server (every operation
#    once, LOGOUT: the servers' shared caches warm); then one main session
#    per server: a warm-up rep and REPS timed reps (default 5) of each
#    operation, the servers taking turns to go first; the medians and
#    their ratio (Postern / Dovecot).
# 4. Memory of the main session (/proc/PID/smaps_rollup; RSS, PSS and
#    Anonymous): Postern's process after the warm-up session's LOGOUT and a
#    memory trim, before the main one's login; with the main session logged
#    in and SELECTed after the operations (1 s after, and again after a
#    trim); and after its LOGOUT; Dovecot's imap process serving
#    that session (found by its connection: Dovecot runs one per session).
#
# env: SKIP_BUILD=1 (use BIN_DIR's binaries as they are), BIN_DIR (default
#      target/release), MBOX, COUNT, REPS, KEEP=1 (keep the imported data
#      and the mbox in target/bench-tmp/bigbox-ops-COUNT for the next run,
#      which then skips both imports), TRIM_WAIT (seconds before the memory
#      readings before login and again with the session, default 31: one
#      of Postern's memory trims passes), FRESH_POSTERN=1 (with kept data:
#      import into Postern again, e.g. after a schema change; Dovecot's
#      import, which takes minutes, is kept), DOVECOT_FROM=DIR (another
#      checkout's kept bigbox-ops-COUNT directory: its Dovecot import and
#      mbox are linked, not copied, and Postern imports afresh here), DOVECOT_ONLY=1 KEEP=1 (only
#      Dovecot's import, kept for the next run: it needs no build), OUT (results prefix, default
#      target/bench-tmp/bigbox-ops-DATE).
# Scratch goes under ./target/bench-tmp, on the project disk: never tmpfs.
# The binaries run from copies there, so /tmp/pause.sh (which stops
# target/debug binaries) never stops a measured process.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS=../shared/peers
. "$PEERS/peers-env.sh"   # PEERS_HOST, PEERS_DOMAIN, IMAP_PORT, PEERS_PASS, MAIL_USER
COUNT="${COUNT:-100000}"; REPS="${REPS:-5}"
[[ "$COUNT" =~ ^[0-9]+$ ]] && (( COUNT >= 1000 && COUNT <= 200000 )) || { echo "1000 <= COUNT <= 200000" >&2; exit 2; }
[[ "$REPS" =~ ^[0-9]+$ ]] && (( REPS >= 1 && REPS <= 20 )) || { echo "1 <= REPS <= 20" >&2; exit 2; }
USER1="user1@$PEERS_DOMAIN"

BIN_DIR="${BIN_DIR:-$ROOT/target/release}"
if [ "${SKIP_BUILD:-0}" != 1 ] && [ "${DOVECOT_ONLY:-0}" != 1 ]; then
  CARGO_INCREMENTAL=0 cargo build --release --bin postern >&2
  CARGO_INCREMENTAL=0 cargo build --release -p postern-bench --bin imap-load >&2
fi
if [ "${DOVECOT_ONLY:-0}" != 1 ]; then
  [ -x "$BIN_DIR/postern" ] && [ -x "$BIN_DIR/imap-load" ] || { echo "no $BIN_DIR/postern or imap-load" >&2; exit 1; }
fi

mkdir -p target/bench-tmp
W="$ROOT/target/bench-tmp/bigbox-ops-$COUNT"
REUSE=0
[ -s "$W/imported" ] && REUSE=1
mkdir -p "$W"; chmod 0755 "$W"
if [ -n "${DOVECOT_FROM:-}" ] && [ ! -e "$W/dovecot-imported" ]; then
  [ -s "$DOVECOT_FROM/dovecot-imported" ] || { echo "no Dovecot import in $DOVECOT_FROM" >&2; exit 1; }
  ln -sfn "$DOVECOT_FROM/peers" "$W/peers"
  ln -f "$DOVECOT_FROM/m.mbox" "$W/m.mbox"
  cp "$DOVECOT_FROM/dovecot-imported" "$W/dovecot-imported"
fi
PEER_S="$W/peers"; PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$ROOT/target/bench-tmp/bigbox-ops-$STAMP}"
TXT="$OUT.txt"; : > "$TXT"
[ "${DOVECOT_ONLY:-0}" = 1 ] || { cp "$BIN_DIR/postern" "$W/postern.bin"; cp "$BIN_DIR/imap-load" "$W/imap-load.bin"; }
BIN="$W/postern.bin"; LOAD="$W/imap-load.bin"
POSTERN_PID=""; PEERS_UP=0
. "$ROOT/bench/postern.sh"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  postern_stop
  if [ "$PEERS_UP" = 1 ]; then "$PEERS/stop-peers.sh" "$PEER_S" >&2 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W (the next run reuses it)" >&2; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say() { echo "$*" | tee -a "$TXT" >&2; }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

say "# bigbox_ops $STAMP: COUNT=$COUNT REPS=$REPS, nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "# postern $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), BIN_DIR=$BIN_DIR"

# --- the mail and the imports (skipped when a kept run has them) -------------
if [ "$REUSE" = 0 ]; then
  M="$W/m.mbox"
  [ -x /usr/sbin/dovecot ] || { echo "== installing the peers" >&2; "$PEERS/install-peers.sh" >&2; }
  if [ ! -s "$W/dovecot-imported" ]; then
    rm -rf "$PEER_S" "$W/dmbox"
    if [ -n "${MBOX:-}" ]; then
      # the first COUNT messages of MBOX (all of them when it has no more)
      python3 - "$MBOX" "$M" "$COUNT" <<'PY'
import sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = 0
with open(src, "rb") as f, open(dst, "wb") as o:
    for line in f:
        if line.startswith(b"From "):
            seen += 1
            if seen > n:
                break
        o.write(line)
PY
    else
      python3 "$PEERS/gen_mbox.py" "$M" --count "$COUNT" --seed 3 >&2
    fi
    say "# mailbox: $(grep -c '^From ' "$M") messages, $(stat -c %s "$M") bytes of mbox"
    PEERS_UP=1
    "$PEERS/start-peers.sh" "$PEER_S" >&2
    mkdir -p "$W/dmbox"; ln -f "$M" "$W/dmbox/inbox" 2>/dev/null || cp "$M" "$W/dmbox/inbox"
    chown -R "$MAIL_USER" "$W/dmbox"; chmod 0755 "$W/dmbox"
    t0=$(date +%s.%N)
    doveadm -c "$PEER_S/etc/dovecot/dovecot.conf" import -u "$USER1" "mbox:$W/dmbox:INBOX=$W/dmbox/inbox" "" all >&2
    say "# dovecot: doveadm import in $(since "$t0") s"
    rm -rf "$W/dmbox"
    echo done > "$W/dovecot-imported"
  else
    say "# reusing Dovecot's import in $W"
    PEERS_UP=1
    "$PEERS/start-peers.sh" "$PEER_S" >&2
  fi
  if [ "${DOVECOT_ONLY:-0}" = 1 ]; then say "# DOVECOT_ONLY=1: Dovecot's import done"; exit 0; fi
  rm -rf "$PDIR"; mkdir -p "$PDIR/data"
  { postern_config_head imap; printf '[imap]\nplaintext_on_loopback = true\n'; } > "$CFG"
  "$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
  echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "$USER1" >/dev/null
  t0=$(date +%s.%N)
  "$BIN" --config "$CFG" mailbox import "$USER1" --mbox "$M" >&2
  say "# postern: mailbox import in $(since "$t0") s"
else
  say "# reusing the imports in $W"
  PEERS_UP=1
  "$PEERS/start-peers.sh" "$PEER_S" >&2
fi
if [ "$REUSE" = 1 ] && [ "${FRESH_POSTERN:-0}" = 1 ]; then
  rm -rf "$PDIR/data"; mkdir -p "$PDIR/data"
  "$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
  echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "$USER1" >/dev/null
  t0=$(date +%s.%N)
  "$BIN" --config "$CFG" mailbox import "$USER1" --mbox "$W/m.mbox" >&2
  say "# postern: mailbox import (again) in $(since "$t0") s"
fi
postern_start imap

# A read mailbox: all \Seen but the last 1,000 (both servers, untimed).
PORTS_TO_MARK=""
if [ "$REUSE" = 0 ]; then PORTS_TO_MARK="$PPORT $IMAP_PORT"
elif [ "${FRESH_POSTERN:-0}" = 1 ]; then PORTS_TO_MARK="$PPORT"; fi
if [ -n "$PORTS_TO_MARK" ]; then
  for port in $PORTS_TO_MARK; do
    python3 - "$PEERS_HOST" "$port" "$USER1" "$PEERS_PASS" <<'PY'
import imaplib, sys
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = imaplib.IMAP4(host, port)
c.login(user, pw)
typ, d = c.select("INBOX")
n = int(d[0])
c.store("1:*", "+FLAGS.SILENT", "(\\Seen)")
if n > 1000:
    c.store(f"{n - 999}:*", "-FLAGS.SILENT", "(\\Seen)")
c.logout()
print(f"port {port}: {n} messages, all but the last 1000 seen", file=sys.stderr)
PY
  done
  echo done > "$W/imported"
fi

# --- the operations -------------------------------------------------------------
mem() {  # PID: "rss_kib pss_kib anon_kib" of that one process (not its tree);
  # Anonymous is its heap and stacks, apart from file pages (SQLite's map
  # of the database, Dovecot's of its index files), which the page cache shares
  awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Anonymous:/ { a = $2 } END { print r, p, a }' "/proc/$1/smaps_rollup"
}
sync; sleep 2
HOLD="$W/hold"; rm -f "$HOLD".*
"$LOAD" bigops --host "$PEERS_HOST" --port "$PPORT" --label postern --port2 "$IMAP_PORT" --label2 dovecot \
  --user "$USER1" --password "$PEERS_PASS" --reps "$REPS" --timeout 600 --hold-file "$HOLD" \
  > "$OUT.json" 2> >(tee -a "$TXT" >&2) &
LPID=$!
# A warm-up session (every op once, then LOGOUT) ran: the memory before
# the measured session's login.
for _ in $(seq 1 6000); do [ -e "$HOLD.pre" ] || ! kill -0 "$LPID" 2>/dev/null && break; sleep 0.5; done
[ -e "$HOLD.pre" ] || { wait "$LPID" || true; echo "imap-load bigops ended before its warm-up was done" >&2; exit 1; }
# Postern gives freed heap back every [server] memory_trim_secs (30 by
# default): TRIM_WAIT (default 31 s) lets one trim pass, so the figure
# is what the process keeps, not what the warm-up left to trim.
TRIM_WAIT="${TRIM_WAIT:-31}"
sleep "$TRIM_WAIT"
read -r P_RSS0 P_PSS0 P_ANON0 < <(mem "$POSTERN_PID")
touch "$HOLD.prego"
for _ in $(seq 1 6000); do [ -e "$HOLD.ready" ] || ! kill -0 "$LPID" 2>/dev/null && break; sleep 0.5; done
[ -e "$HOLD.ready" ] || { wait "$LPID" || true; echo "imap-load bigops ended without reaching the hold" >&2; exit 1; }
sleep 1
read -r P_RSS1 P_PSS1 P_ANON1 < <(mem "$POSTERN_PID")
sleep "$TRIM_WAIT"
read -r P_RSS1T P_PSS1T P_ANON1T < <(mem "$POSTERN_PID")
DPORT_LOCAL=$(awk '$1 == "dovecot" { print $2 }' "$HOLD.ready")
DPID=$(ss -Htnp "sport = :$IMAP_PORT and dport = :$DPORT_LOCAL" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
D_RSS=?; D_PSS=?; D_ANON=?
[ -n "$DPID" ] && read -r D_RSS D_PSS D_ANON < <(mem "$DPID")
D_NAME=$([ -n "$DPID" ] && cat "/proc/$DPID/comm" || echo "?")
touch "$HOLD.go"
for _ in $(seq 1 600); do [ -e "$HOLD.out" ] && break; sleep 0.1; done
sleep 1
read -r P_RSS2 P_PSS2 P_ANON2 < <(mem "$POSTERN_PID")
touch "$HOLD.go2"
wait "$LPID"
say "# memory (KiB): postern process before login (after a warm-up session's LOGOUT) RSS $P_RSS0 PSS $P_PSS0; with the session after the operations RSS $P_RSS1 PSS $P_PSS1; after its LOGOUT RSS $P_RSS2 PSS $P_PSS2"
say "# memory: postern session = PSS with it - before login = $((P_PSS1 - P_PSS0)) KiB; with it - after its LOGOUT = $((P_PSS1 - P_PSS2)) KiB"
say "# memory: dovecot session = its $D_NAME process (pid ${DPID:-?}) RSS $D_RSS PSS $D_PSS KiB"
say "# memory after a trim ($TRIM_WAIT s later, session still logged in): postern RSS $P_RSS1T PSS $P_PSS1T Anonymous $P_ANON1T KiB; session = PSS $((P_PSS1T - P_PSS0)) KiB, Anonymous $((P_ANON1T - P_ANON0)) KiB over before login"
say "# memory (Anonymous KiB): postern before login $P_ANON0, with the session $P_ANON1 (+$((P_ANON1 - P_ANON0))), after its LOGOUT $P_ANON2; dovecot's $D_NAME process $D_ANON"
say "BENCH bigbox_ops $(tail -1 "$OUT.json")"
say "# machine load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "results: $TXT" >&2
