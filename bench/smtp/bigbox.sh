#!/bin/bash
# Durable delivery into a big mailbox (issue 19): Postern's SMTP accept rate
# into a user whose INBOX is empty and into one whose INBOX already holds
# the messages of an mbox (the issue's 100,000: `gen_mbox.py --count 100000
# --seed 3`), same server, same run, alternating. Postern alone: the
# comparison is with itself.
#
# usage: MBOX=/path/to.mbox bench/smtp/bigbox.sh [COUNT] [SESSIONS] [PAIRS]
#        (defaults 3000 10 3)
# Before the server starts, `postern mailbox import` fills big@bench.test's
# INBOX from MBOX (bulk mode, timed). Then for each pair, in alternating
# order: COUNT copies of the peers' 5 KB message (make_msg.py) with
# smtp-source to a fresh empty user (e1, e2, ...), and COUNT to big (which
# grows by COUNT each pair); each run after `sync` and PAUSE seconds. A run
# is counted only once the recipient's INBOX holds what was sent
# (smtp_bench.py's Postern counter), so delivered = accepted is checked.
# MODE=newconn (a new connection per message, the default) or persistent
# (smtp-source -d). The INBOX is counted (`postern mailbox list`, a process
# that counts the mailbox's rows: 100,000 of them for big) every POLL
# seconds and at once when smtp-source exits; POLL defaults to 5, so that
# the counting does not take CPU from the server while it accepts, which
# would slow the big runs only.
# env: MBOX (required), PAUSE (5), POLL (5), MODE, SKIP_BUILD=1 (target/release/postern
#      as it is), BIN (a postern binary to use instead), KEEP=1 (keep the
#      scratch directory), OUT (results prefix, default
#      target/bench-tmp/bigbox-results-DATE; .jsonl is written).
# Scratch goes under ./target/bench-tmp (the project disk, never tmpfs).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
COUNT="${1:-3000}"; SESSIONS="${2:-10}"; PAIRS="${3:-3}"
: "${PAUSE:=5}" "${POLL:=5}" "${MODE:=newconn}" "${MBOX:?MBOX=path of the mbox to fill the big INBOX with}"
for v in "$COUNT" "$SESSIONS" "$PAIRS" "$PAUSE"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "numbers only: $v" >&2; exit 2; }
done
(( COUNT >= 1 && COUNT <= 100000 && SESSIONS >= 1 && SESSIONS <= 100 && PAIRS >= 1 && PAIRS <= 20 )) \
  || { echo "bounds: 1<=COUNT<=100000, 1<=SESSIONS<=100, 1<=PAIRS<=20" >&2; exit 2; }
case "$MODE" in newconn) PERSIST=() ;; persistent) PERSIST=(--persistent) ;;
  *) echo "MODE must be newconn or persistent: $MODE" >&2; exit 2 ;; esac
[ -r "$MBOX" ] || { echo "cannot read $MBOX" >&2; exit 1; }
[ -x /usr/sbin/smtp-source ] || { echo "smtp-source missing: ../shared/peers/install-peers.sh" >&2; exit 1; }

PEERS_HOST=127.0.0.1
POSTERN_PID=""
. "$ROOT/bench/postern.sh"
postern_binary
postern_scratch bigbox
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
OUT="${OUT:-$ROOT/target/bench-tmp/bigbox-results-$STAMP}"
JSONL="$OUT.jsonl"; : > "$JSONL"
python3 "$ROOT/../shared/peers/make_msg.py" "$W/msg.eml" --size 5120 --to "big@bench.test" >&2

PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
mkdir -p "$PDIR/data"
{ postern_config_head smtp; cat <<EOF
[auth]
lockout_after = 100000
[limits]
max_connections_per_ip = 1000   # every session comes from 127.0.0.1
[mailauth]
verify = false                  # as in bench/smtp/run.sh
EOF
} > "$CFG"
"$BIN" --config "$CFG" domain add bench.test >&2
# `last` is created after the others and holds one message: SQLite appends
# at the right edge of a b-tree more cheaply than it inserts inside it, and
# the messages of the INBOX with the highest mailbox id are that edge. With
# `last` there, every measured INBOX (the big one and the empty ones) gets
# its mail inside the tree, as most mailboxes of a real server do.
for u in big $(seq -f 'e%g' 1 "$PAIRS") last; do echo pw | "$BIN" --config "$CFG" user add "$u@bench.test" >&2; done
{ echo "From loadgen@bench.test Mon Jan  6 10:00:00 2025"; cat "$W/msg.eml"; echo; } > "$W/one.mbox"
"$BIN" --config "$CFG" mailbox import last@bench.test --mbox "$W/one.mbox" >&2
echo "== importing $MBOX into big@bench.test" >&2
t0=$(date +%s.%N)
"$BIN" --config "$CFG" mailbox import big@bench.test --mbox "$MBOX" >&2
t1=$(date +%s.%N)
BIG0="$("$BIN" --config "$CFG" mailbox list big@bench.test | awk '$1 == "INBOX" { print $2; exit }')"
[[ "$BIG0" =~ ^[0-9]+$ ]] || { echo "could not count big's INBOX" >&2; exit 1; }
postern_start smtp
{
  echo "# bigbox, $(date -u +%FT%TZ): COUNT=$COUNT SESSIONS=$SESSIONS PAIRS=$PAIRS MODE=$MODE PAUSE=$PAUSE"
  echo "# nproc $(nproc), load average $(cut -d' ' -f1-3 /proc/loadavg), kernel $(uname -r)"
  echo "# big INBOX: $BIG0 messages from $MBOX ($(du -h "$MBOX" | cut -f1)), imported in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
  echo "# postern: $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown), $BIN"
} >&2

run() {  # kind user pair order
  sync; sleep "$PAUSE"
  echo "== $1 ($2), pair $3" >&2
  python3 "$HERE/smtp_bench.py" run --server postern --host "$PEERS_HOST" --port "$PPORT" \
    --count "$COUNT" --sessions "$SESSIONS" --msg "$W/msg.eml" --rcpt "$2@bench.test" \
    --postern "$BIN" --postern-config "$CFG" --poll "$POLL" --cpu-sid "$POSTERN_PID" \
    --fsync-probe-dir "$W" --rep "$3" --order "$4" "${PERSIST[@]}" \
    --base "$5" > "$W/one.json"
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); r["box"]=sys.argv[2]; print(json.dumps(r))' \
    "$W/one.json" "$1" >> "$JSONL"
}
big_now="$BIG0"
for p in $(seq 1 "$PAIRS"); do
  if (( p % 2 == 1 )); then order=(empty big); else order=(big empty); fi
  i=1
  for k in "${order[@]}"; do
    if [ "$k" = big ]; then run big big "$p" "$i" "$big_now"; big_now=$((big_now + COUNT))
    else run empty "e$p" "$p" "$i" 0; fi
    i=$((i + 1))
  done
done
echo "# serve.log: $(grep -cE 'WARN|ERROR' "$PDIR/serve.log" || true) WARN/ERROR lines" >&2
python3 - "$JSONL" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def col(box, k):
    return [r[k] for r in rows if r["box"] == box and r.get(k) is not None]
print("| INBOX before | accepted msg/s | delivered msg/s | server CPU ms/msg |")
print("|---|--:|--:|--:|")
for box in ("empty", "big"):
    a, d, c = col(box, "accepted_per_s"), col(box, "delivered_per_s"), col(box, "server_cpu_ms_per_msg")
    f = lambda xs, n=0: ("%.*f [%.*f-%.*f]" % (n, statistics.median(xs), n, min(xs), n, max(xs))) if xs else "-"
    print("| %s | %s | %s | %s |" % (box, f(a), f(d), f(c, 3)))
pairs = {}
for r in rows:
    pairs.setdefault(r["rep"], {})[r["box"]] = r
ratios = [p["big"]["accepted_per_s"] / p["empty"]["accepted_per_s"] for p in pairs.values()
          if "big" in p and "empty" in p and p["big"].get("accepted_per_s") and p["empty"].get("accepted_per_s")]
if ratios:
    print("\nbig / empty, accepted, per pair: %s; median %.3f" % (
        ", ".join("%.3f" % x for x in ratios), statistics.median(ratios)))
    print("BENCH smtp-bigbox ratio_accepted=%.3f pairs=%d" % (statistics.median(ratios), len(ratios)))
PY
echo "results: $JSONL" >&2
