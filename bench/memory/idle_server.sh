#!/bin/bash
# The idle server's own memory, beside the peers (issue 19: "The idle
# server itself is 20 MiB PSS against Dovecot's 7 MiB for six processes:
# <= 12 MiB"). Starts one Postern with every listener (SMTP, submission,
# IMAP, POP3 with and without TLS, http, https, ManageSieve) and the peers
# (Dovecot, and Postfix delivering to it), and measures each server's
# process tree with the peers' proc_mem.py:
#   1. 10 s after start, nothing connected yet;
#   2. 3 s after a little use (per server: ROUNDS times one SMTP delivery,
#      one IMAP LOGIN/SELECT/FETCH/LOGOUT, one POP3 USER/PASS/STAT/QUIT);
#   3. 40 s after that use (one memory trim of Postern's later).
#
# usage: bench/memory/idle_server.sh [ROUNDS]   (default 20)
# env: SKIP_BUILD=1 uses target/release/postern as it is; TRIM=0 turns
# Postern's memory trim off (`[server] memory_trim_secs = 0`) to see what
# it gives back.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/../shared/peers"
cd "$ROOT"
ROUNDS="${1:-20}"
[[ "$ROUNDS" =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 1000 ] || {
  echo "ROUNDS: 1..1000" >&2; exit 2
}
[ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --bin postern >&2
. "$PEERS/peers-env.sh"
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/idlemem-XXXXXX)" && pwd -P)"
chmod 0755 "$W"   # the peers' daemons run as their own users
# Run a copy: the measured binary's pages are then not shared with a
# build or another run of the same file.
BIN="$W/postern"; cp target/release/postern "$BIN"
POSTERN_PID=""
PDIR="$W/postern-data"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
SCRATCH="$W/peers"
. "$ROOT/bench/postern.sh"
trap 'postern_stop; "$PEERS/stop-peers.sh" "$SCRATCH" >/dev/null 2>&1 || true; rm -rf "$W"' EXIT
mkdir -p "$PDIR/data" "$SCRATCH"
{
  printf 'hostname = "localhost"\ndata_dir = "%s/data"\n[server]\nrun_as_root = true\n' "$PDIR"
  [ "${TRIM:-}" != 0 ] || echo "memory_trim_secs = 0"
  echo "[listen]"
  for l in smtp submission submissions imap imaps pop3 pop3s http https managesieve; do
    echo "$l = [\"$PEERS_HOST:0\"]"
  done
  # Plain LOGIN over loopback, as the peers allow it.
  printf '[imap]\nplaintext_on_loopback = true\n[pop3]\nplaintext_on_loopback = true\n'
} > "$CFG"
"$BIN" --config "$CFG" domain add "$PEERS_DOMAIN" >&2
echo "$PEERS_PASS" | "$BIN" --config "$CFG" user add "user1@$PEERS_DOMAIN" >/dev/null
"$PEERS/start-peers.sh" "$SCRATCH" >&2
sync   # the copy's pages clean, so they count as the file's
postern_start imap
port_of() { awk -v l="$1" '$1 == l { n = split($2, a, ":"); print a[n]; exit }' "$LREPORT"; }
P_SMTP="$(port_of smtp)"; P_IMAP="$(port_of imap)"; P_POP3="$(port_of pop3)"
DOVECOT="$(cat "$SCRATCH/run/dovecot.pid")"; POSTFIX="$(cat "$SCRATCH/run/postfix-master.pid")"

mem() {  # label tag
  python3 "$PEERS/proc_mem.py" "$POSTERN_PID" --label "postern: $1" --json "$W/postern-$2.json" >/dev/null
  python3 "$PEERS/proc_mem.py" "$DOVECOT" --label "dovecot: $1" --json "$W/dovecot-$2.json" >/dev/null
  python3 "$PEERS/proc_mem.py" "$POSTFIX" --label "postfix: $1" --json "$W/postfix-$2.json" >/dev/null
}
use() {  # smtp_port imap_port pop3_port
  python3 - "$@" "$ROUNDS" "$PEERS_DOMAIN" "$PEERS_PASS" <<'EOF'
import imaplib, poplib, smtplib, sys
smtp, imap, pop3, rounds = (int(a) for a in sys.argv[1:5])
domain, password = sys.argv[5], sys.argv[6]
user = f"user1@{domain}"
for i in range(rounds):
    with smtplib.SMTP("127.0.0.1", smtp, timeout=30) as s:
        s.sendmail("someone@sender.test", [user],
                   f"From: someone@sender.test\r\nTo: {user}\r\nSubject: idle {i}\r\n\r\nhello {i}\r\n")
    m = imaplib.IMAP4("127.0.0.1", imap, timeout=30)
    m.login(user, password)
    _, [n] = m.select("INBOX")
    if int(n) > 0:   # the peers deliver through a queue: maybe not yet
        m.fetch("1:*", "(FLAGS ENVELOPE)")
    m.logout()
    p = poplib.POP3("127.0.0.1", pop3, timeout=30)
    p.user(user); p.pass_(password); p.stat(); p.quit()
EOF
}

sleep 10
mem "10 s after start" start
use "$P_SMTP" "$P_IMAP" "$P_POP3"
use "$SMTP_PORT" "$IMAP_PORT" "$POP3_PORT"
sleep 3
mem "3 s after $ROUNDS rounds of use" used
sleep 40
mem "43 s after that use" settled

python3 - "$W" <<'EOF'
import json, sys
w = sys.argv[1]
def total(server, tag):
    r = json.load(open(f"{w}/{server}-{tag}.json"))
    t = r["total"]
    return t["pss_kib"] / 1024, t["rss_kib"] / 1024, t["procs"]
print("| server (processes) | idle, 10 s after start | 3 s after use | 43 s after use |")
print("| --- | --: | --: | --: |")
for s in ["postern", "dovecot", "postfix"]:
    cells = []
    for tag in ["start", "used", "settled"]:
        pss, rss, n = total(s, tag)
        cells.append(f"{pss:.1f} MiB PSS ({rss:.1f} RSS, {n})")
    print(f"| {s} | " + " | ".join(cells) + " |")
EOF
