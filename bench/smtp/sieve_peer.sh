#!/bin/bash
# What Sieve costs the peers at delivery: the peers' side of issue 16's
# measurement (sieve_cost.sh is Postern's). Postfix takes the mail over SMTP
# and hands it to Dovecot over LMTP, with Pigeonhole (Dovecot's Sieve)
# loaded at LMTP delivery; runs alternate between a recipient with no script
# and one whose active script is bench/smtp/sieve20.sieve (the same 20 rules
# sieve_cost.sh gives Postern; none matches, so every test runs and the
# message is kept in INBOX). Same load as sieve_cost.sh: smtp-source,
# persistent sessions, the peers' 5 KB message. Each run goes to a fresh
# user (user1, user2, ...) and is measured by smtp_bench.py: the accept rate
# (smtp-source done), the delivered rate (the Maildir holds COUNT files)
# and the CPU per message of every Postfix and Dovecot process (their
# sessions, children they reaped included) until the last one is delivered.
#
# The peers are started by a copy of ../shared/peers' own scripts whose
# dovecot.conf.in has the Sieve plugin added (../shared is not touched), on
# free loopback ports, so another peer instance on the default ports does
# not get in the way.
#
# usage: bench/smtp/sieve_peer.sh [COUNT] [SESSIONS] [PAIRS]   (defaults 5000 10 3)
# env: PAUSE (2: seconds after sync before each run), TIMEOUT (600 s per run),
#      KEEP=1 (keep the scratch directory, logs and maildirs),
#      OUT (results, default target/bench-tmp/sieve-peer-DATE.jsonl).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
PEERS="$ROOT/../shared/peers"
COUNT="${1:-5000}"; SESSIONS="${2:-10}"; PAIRS="${3:-3}"
: "${PAUSE:=2}" "${TIMEOUT:=600}"
for v in "$COUNT" "$SESSIONS" "$PAIRS" "$PAUSE" "$TIMEOUT"; do
  [[ "$v" =~ ^[0-9]+$ ]] || { echo "numbers only" >&2; exit 2; }
done
# two fresh users a pair, out of the peers' user1..user99 (user100 takes the warm-up)
(( COUNT >= 1 && COUNT <= 100000 && SESSIONS >= 1 && SESSIONS <= 100 && PAIRS >= 1 && PAIRS <= 49 \
   && TIMEOUT >= 1 && TIMEOUT <= 3600 )) \
  || { echo "bounds: 1<=COUNT<=100000, 1<=SESSIONS<=100, 1<=PAIRS<=49, 1<=TIMEOUT<=3600" >&2; exit 2; }
[ -x "$PEERS/start-peers.sh" ] || { echo "no $PEERS/start-peers.sh" >&2; exit 1; }
[ -x /usr/sbin/smtp-source ] || { echo "smtp-source missing: $PEERS/install-peers.sh" >&2; exit 1; }
[ -e /usr/lib/dovecot/modules/lib90_sieve_plugin.so ] \
  || { echo "Pigeonhole missing: apt-get install dovecot-sieve" >&2; exit 1; }
RULES="$HERE/sieve20.sieve"
[ "$(grep -c '^if ' "$RULES")" = 20 ] || { echo "expected 20 rules in $RULES" >&2; exit 1; }

mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/sievepeer-XXXXXX)" && pwd -P)"
chmod 0755 "$W"             # Dovecot's LMTP (user mail) writes the maildirs under it
S="$W/scratch"
OUT="${OUT:-$ROOT/target/bench-tmp/sieve-peer-$(date -u +%Y%m%dT%H%M%SZ).jsonl}"
: > "$OUT"

# The peers' scripts and templates, copied; Pigeonhole added to the copy.
P="$W/peers"
mkdir -p "$P/conf"
cp "$PEERS/start-peers.sh" "$PEERS/stop-peers.sh" "$PEERS/peers-env.sh" "$P/"
cp "$PEERS/conf/"*.in "$P/conf/"
cat >> "$P/conf/dovecot.conf.in" <<'EOF'

# --- added by bench/smtp/sieve_peer.sh: Pigeonhole at LMTP delivery, the
# user's script at ~/.dovecot.sieve (none there: no filtering)
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = ~/.dovecot.sieve
}
EOF

# Free loopback ports for the eight listeners (the defaults may be taken by
# another peer instance); peers-env.sh keeps what the environment gives.
read -r IMAP_PORT POP3_PORT LMTP_PORT SMTP_PORT IMAPS_PORT POP3S_PORT SUB_PORT SUBS_PORT < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(8)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
export IMAP_PORT POP3_PORT LMTP_PORT SMTP_PORT IMAPS_PORT POP3S_PORT SUB_PORT SUBS_PORT
. "$P/peers-env.sh"         # PEERS_HOST (loopback only), PEERS_DOMAIN, MAIL_USER

PEERS_UP=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$PEERS_UP" = 1 ]; then "$P/stop-peers.sh" "$S" >&2 || true; fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 "$PEERS/make_msg.py" "$W/msg.eml" --size 5120 --to "loadtest@$PEERS_DOMAIN" >&2
PEERS_UP=1
"$P/start-peers.sh" "$S" >&2
SIDS=(--cpu-sid "$(cat "$S/run/postfix-master.pid")" --cpu-sid "$(cat "$S/run/dovecot.pid")")
doveconf -c "$S/etc/dovecot/dovecot.conf" -f protocol=lmtp mail_plugins | grep -qw sieve \
  || { echo "the rendered dovecot.conf does not load sieve for LMTP" >&2; exit 1; }

echo "# sieve_peer.sh $(date -u +%FT%TZ): COUNT=$COUNT SESSIONS=$SESSIONS PAIRS=$PAIRS, nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "# $(dpkg-query -W -f='${Package} ${Version}  ' postfix dovecot-core dovecot-sieve 2>/dev/null)" >&2

one() {  # mode user pair order: one run, its JSON line tagged with the mode appended to OUT
  local mode="$1" user="$2" pair="$3" order="$4" home line
  home="$S/mail/$PEERS_DOMAIN/$user"
  if [ "$mode" = script ]; then
    mkdir -p "$home"
    cp "$RULES" "$home/.dovecot.sieve"
    chown -R "$MAIL_USER:$MAIL_GROUP" "$home"
  fi
  sync; sleep "$PAUSE"       # let the previous run's writeback settle
  line="$(python3 "$HERE/smtp_bench.py" run --server postfix --host "$PEERS_HOST" --port "$SMTP_PORT" \
    --count "$COUNT" --sessions "$SESSIONS" --persistent --msg "$W/msg.eml" --rcpt "$user@$PEERS_DOMAIN" \
    --maildir "$home/Maildir" --poll 0.05 --timeout "$TIMEOUT" --fsync-probe-dir "$W" \
    --rep "$pair" --order "$order" "${SIDS[@]}")"
  # Pigeonhole compiles the script at the first delivery and keeps the
  # binary beside it: proof that the script was found and run.
  if [ "$mode" = script ] && ! [ -s "$home/.dovecot.svbin" ]; then
    echo "no $home/.dovecot.svbin: Pigeonhole did not run the script; see $S/log/dovecot.log" >&2; exit 1
  fi
  python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r["sieve"] = sys.argv[2]; print(json.dumps(r))' \
    "$line" "$mode" >> "$OUT"
}

# Warm-up, not measured: the first run would otherwise also pay for
# starting Postfix's smtpd/cleanup/lmtp and Dovecot's lmtp processes.
python3 "$HERE/smtp_bench.py" run --server postfix --host "$PEERS_HOST" --port "$SMTP_PORT" \
  --count "$(( COUNT < 500 ? COUNT : 500 ))" --sessions "$SESSIONS" --persistent --msg "$W/msg.eml" \
  --rcpt "user100@$PEERS_DOMAIN" --maildir "$S/mail/$PEERS_DOMAIN/user100/Maildir" --timeout "$TIMEOUT" >/dev/null

for p in $(seq 1 "$PAIRS"); do
  # which mode goes first alternates between pairs
  if (( p % 2 == 1 )); then modes=(none script); else modes=(script none); fi
  for i in 0 1; do
    one "${modes[$i]}" "user$(( 2 * (p - 1) + i + 1 ))" "$p" "$((i + 1))"
  done
done

{
  L="$S/log/postfix.log"
  echo "# postfix.log: $(grep -c 'status=sent' "$L" || true) sent, $(grep -cE 'status=(deferred|bounced)' "$L" || true) deferred/bounced"
  # Pigeonhole logs every message its script kept: COUNT a script run
  kept="$(grep -c "sieve: msgid=.*stored mail into mailbox 'INBOX'" "$S/log/dovecot.log" || true)"
  echo "# dovecot.log: $kept messages kept by the script (expected $((COUNT * PAIRS)))"
  echo "# dovecot.log: $(grep -ciE 'error|fatal|panic' "$S/log/dovecot.log" || true) error/fatal/panic lines"
  grep -iE 'error|fatal|panic' "$S/log/dovecot.log" | sed 's/^/#   /' | head -5 || true
  echo "# load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
} >&2
python3 - "$OUT" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("sieve   pair  accepted/s  delivered/s  cpu_ms/msg  fsync/s_before")
for r in rows:
    print(f"{r['sieve']:<6}  {r['rep']:>4}  {r['accepted_per_s']:>10}  {r['delivered_per_s']:>11}  "
          f"{r['server_cpu_ms_per_msg']:>10}  {r['fsync_per_s_before']:>14}")
med = {m: {k: statistics.median(r[k] for r in rows if r["sieve"] == m)
           for k in ("accepted_per_s", "delivered_per_s", "server_cpu_ms_per_msg")}
       for m in ("none", "script")}
n, s = med["none"], med["script"]
print(f"medians: accepted {s['accepted_per_s']:.0f} vs {n['accepted_per_s']:.0f}/s "
      f"(script/none {s['accepted_per_s'] / n['accepted_per_s']:.2f}), "
      f"delivered {s['delivered_per_s']:.0f} vs {n['delivered_per_s']:.0f}/s "
      f"({s['delivered_per_s'] / n['delivered_per_s']:.2f}), "
      f"CPU {s['server_cpu_ms_per_msg']:.2f} vs {n['server_cpu_ms_per_msg']:.2f} ms/msg "
      f"({s['server_cpu_ms_per_msg'] / n['server_cpu_ms_per_msg']:.2f})")
# the two runs of a pair are next to each other in time: their ratio is
# less moved by the shared machine's other load than the medians are
pairs = sorted({r["rep"] for r in rows})
by = {(r["rep"], r["sieve"]): r for r in rows}
for k, name in (("accepted_per_s", "accepted"), ("delivered_per_s", "delivered"), ("server_cpu_ms_per_msg", "CPU/msg")):
    print(f"script/none by pair, {name}: " + " ".join(f"{by[(p, 'script')][k] / by[(p, 'none')][k]:.2f}" for p in pairs))
EOF
echo "results: $OUT" >&2
[ "$kept" = "$((COUNT * PAIRS))" ] || { echo "the script did not run for every message of the script runs" >&2; exit 1; }
