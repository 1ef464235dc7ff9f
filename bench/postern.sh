# Starting and stopping the Postern under test, for the bench scripts
# (sourced). Uses BIN, CFG, LREPORT, PDIR and PEERS_HOST from the caller,
# and WRAP if set (a command to run it under, e.g. valgrind); sets
# POSTERN_PID and PPORT. Every wait is bounded.

# postern_config_head LISTENER: the start of a bench config (host name,
# data directory $PDIR/data, root allowed, as the peers' masters run) with
# only LISTENER listening, on a free port of $PEERS_HOST.
postern_config_head() {
  local l
  printf 'hostname = "localhost"\ndata_dir = "%s/data"\n[server]\nrun_as_root = true\n[listen]\n' "$PDIR"
  for l in smtp submission submissions imap imaps pop3 pop3s http https managesieve; do
    if [ "$l" = "$1" ]; then echo "$l = [\"$PEERS_HOST:0\"]"; else echo "$l = []"; fi
  done
}

# postern_start LISTENER: `serve` in the background (log appended to
# $PDIR/serve.log), then waits up to 60 s for LISTENER in the listen report
# and puts its port in PPORT; exits the script if it never comes.
postern_start() {
  local listener="$1"
  rm -f "$LREPORT"
  # shellcheck disable=SC2086  # WRAP is a command line, split on purpose
  setsid ${WRAP:-} "$BIN" --config "$CFG" serve --listen-report "$LREPORT" </dev/null >>"$PDIR/serve.log" 2>&1 &
  POSTERN_PID=$!
  PPORT=""
  for _ in $(seq 1 600); do          # <= 60 s (valgrind starts slowly)
    if [ -s "$LREPORT" ]; then
      PPORT="$(awk -v l="$listener" '$1 == l { n = split($2, a, ":"); print a[n]; exit }' "$LREPORT")"
      [ -n "$PPORT" ] && break
    fi
    [ -e "/proc/$POSTERN_PID" ] || break
    sleep 0.1
  done
  if [ -z "$PPORT" ]; then
    echo "postern did not report an $listener listener; its log:" >&2; tail -20 "$PDIR/serve.log" >&2; exit 1
  fi
  echo "postern pid $POSTERN_PID, $listener $PEERS_HOST:$PPORT" >&2
}

# postern_stop: SIGTERM, up to 15 s for a clean exit, then SIGKILL.
postern_stop() {
  if [ -n "$POSTERN_PID" ] && [ -e "/proc/$POSTERN_PID" ]; then
    kill -TERM "$POSTERN_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do [ -e "/proc/$POSTERN_PID" ] || break; sleep 0.1; done   # <= 15 s
    if [ -e "/proc/$POSTERN_PID" ]; then echo "postern pid $POSTERN_PID still alive, KILL" >&2; kill -KILL "$POSTERN_PID" 2>/dev/null || true; fi
    wait "$POSTERN_PID" 2>/dev/null || true
    echo "stopped postern (pid $POSTERN_PID)" >&2
  fi
  POSTERN_PID=""
}

# cpu_ticks PID: user + system clock ticks the process has used.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# smtp_load COUNT SESSIONS FILE RCPT: smtp-source sends FILE COUNT times
# over SESSIONS persistent sessions to the Postern under test ($PPORT).
smtp_load() {
  /usr/sbin/smtp-source -d -s "$2" -m "$1" -f bench@sender.test -t "$4" -F "$3" "127.0.0.1:$PPORT" >&2
}

# rate_and_cpu COUNT START END TICKS: "msgs/s cpu_ms_per_msg" of a run that
# took END - START seconds (date +%s.%N) and TICKS of the server's CPU.
rate_and_cpu() {
  awk -v c="$1" -v s="$2" -v e="$3" -v t="$4" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.0f %.3f\n", c / (e - s), t * 1000 / hz / c }'
}

# postern_binary: BIN as given, else target/release/postern (built first
# unless SKIP_BUILD=1); exits the script if there is none.
postern_binary() {
  if [ -z "${BIN:-}" ]; then
    [ "${SKIP_BUILD:-0}" = 1 ] || cargo build --release --bin postern >&2
    BIN="$ROOT/target/release/postern"
  fi
  [ -x "$BIN" ] || { echo "no $BIN" >&2; exit 1; }
}

# postern_scratch NAME: a fresh scratch directory W under
# target/bench-tmp (disk, never tmpfs), removed on exit (kept with KEEP=1)
# after Postern is stopped.
postern_scratch() {
  mkdir -p target/bench-tmp
  W="$(cd "$(mktemp -d "target/bench-tmp/$1-XXXXXX")" && pwd -P)"
  postern_scratch_cleanup() {
    postern_stop
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $W" >&2; else rm -rf "$W"; fi
  }
  trap postern_scratch_cleanup EXIT
  trap 'exit 130' INT TERM
}
