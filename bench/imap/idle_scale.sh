#!/bin/bash
# Thousands of idle IMAP connections over TLS held by one Postern (issue 19:
# "10,000 idle TLS connections in IDLE held by one server within 512 MiB
# RSS"). One Postern with only its IMAPS listener; `imap-load idle` opens N
# connections on IMAPS (TLS pinned to the server's self-signed certificate),
# each LOGIN, SELECT INBOX, IDLE, spread over USERS users, 20 handshakes at
# a time; when all are idling the server's memory is sampled with the
# peers' proc_mem.py (RSS, PSS), again 10 s later, after every client sent
# DONE and LOGOUT, and 38 s after that (one memory trim later). The file
# limit is raised for both sides.
#
# usage: bench/imap/idle_scale.sh [N] [USERS] [HOLD]   (defaults 10000 100 20)
# env: SKIP_BUILD=1 uses target/release/{postern,imap-load} as they are.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PEERS="$ROOT/../shared/peers"
cd "$ROOT"
N="${1:-10000}"; USERS="${2:-100}"; HOLD="${3:-20}"
for v in "$N" "$USERS" "$HOLD"; do [[ "$v" =~ ^[0-9]+$ ]] || { echo "numbers only" >&2; exit 2; }; done
if [ "$N" -lt 1 ] || [ "$N" -gt 30000 ] || [ "$USERS" -lt 1 ] || [ "$HOLD" -lt 10 ] || [ "$HOLD" -gt 600 ]; then
  echo "bounds: 1<=N<=30000, USERS>=1, 10<=HOLD<=600" >&2; exit 2
fi
[ "${SKIP_BUILD:-0}" = 1 ] || {
  cargo build --release --bin postern >&2
  cargo build --release -p postern-bench --bin imap-load >&2
}
BIN="$ROOT/target/release/postern"
LOAD="$ROOT/target/release/imap-load"
# Each side holds one socket per connection, plus its own files; the hard
# limit may be below what is wanted (containers), then N must fit under it.
want=$((N + 4096)); hard="$(ulimit -Hn)"
[ "$hard" = unlimited ] || [ "$want" -le "$hard" ] || want="$hard"
ulimit -n "$want"
[ "$((N + 512))" -le "$want" ] || { echo "the file limit ($want) is too low for $N connections" >&2; exit 1; }
PEERS_HOST=127.0.0.1
POSTERN_PID=""
. "$ROOT/bench/postern.sh"
mkdir -p target/bench-tmp
W="$(cd "$(mktemp -d target/bench-tmp/idlescale-XXXXXX)" && pwd -P)"
trap 'postern_stop; rm -rf "$W"' EXIT
PDIR="$W/postern"; CFG="$PDIR/postern.toml"; LREPORT="$PDIR/listen"
mkdir -p "$PDIR/data"
PER_USER=$(( (N + USERS - 1) / USERS ))
{ postern_config_head imaps; cat <<CFGEOF
[limits]
max_connections_per_ip = $((N + 100))   # every client comes from 127.0.0.1
max_connections = $((N + 100))
[imap]
max_connections_per_user = $((PER_USER + 10))
CFGEOF
} > "$CFG"
"$BIN" --config "$CFG" domain add bench.test >&2
for u in $(seq 1 "$USERS"); do
  echo pass | "$BIN" --config "$CFG" user add "user$u@bench.test" >/dev/null
done
postern_start imaps
sleep 2
CERT="$PDIR/data/tls/selfsigned-cert.pem"
[ -s "$CERT" ] || { echo "no self-signed certificate at $CERT" >&2; exit 1; }

mem() { python3 "$PEERS/proc_mem.py" "$POSTERN_PID" --label "$1" --json "$W/$2.json" >&2; }
mem "idle server" before
READY="$W/ready"
"$LOAD" idle --port "$PPORT" --users "$USERS" --domain bench.test --password pass \
  --clients "$N" --hold "$HOLD" --timeout 60 --ready-file "$READY" --tls-pin "$CERT" \
  > "$W/clients.out" 2>&1 &
CPID=$!
for _ in $(seq 1 $(( (N / 20 + 180) * 10 ))); do   # the client's own ramp limit, bounded
  [ -s "$READY" ] && break
  [ -e "/proc/$CPID" ] || break
  sleep 0.1
done
if [ ! -s "$READY" ]; then
  echo "the clients never all idled:" >&2; cat "$W/clients.out" >&2; exit 1
fi
sleep 3
mem "with $N idle TLS connections" with
sleep 10
mem "the same, 10 s later" later
rc=0; wait "$CPID" || rc=$?
sleep 3
mem "after logout" after
sleep 35   # past one [server] memory_trim_secs (30)
mem "settled, 38 s after logout" settled
cat "$W/clients.out" >&2
python3 - "$W" "$N" "$rc" <<'PY'
import json, sys
w, n, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = {k: json.load(open(f"{w}/{k}.json"))["total"] for k in ("before", "with", "later", "after", "settled")}
def mib(k, f): return round(r[k][f] / 1024, 1)
print(json.dumps({
    "n": n, "clients_ok": rc == 0,
    "rss_mib": {k: mib(k, "rss_kib") for k in r},
    "pss_mib": {k: mib(k, "pss_kib") for k in r},
    "pss_kib_per_conn": round((r["later"]["pss_kib"] - r["before"]["pss_kib"]) / n, 1),
    "rss_kib_per_conn": round((r["later"]["rss_kib"] - r["before"]["rss_kib"]) / n, 1),
}))
PY
exit "$rc"
