#!/usr/bin/env bash
# Linearity: times `audit-analyze report --format json` on generated logs of
# 1x, 2x and 4x BASE_MB (default 250 MB), interleaved, and prints the median
# seconds, MB/s, the ratio to the 1x time (linear: 1, 2, 4) and peak RSS.
#
#   bench/scaling.sh [BASE_MB] [RUNS]     (defaults: 250 MB, 3 runs)
#
# THREADS=N passes --threads N (default: the tool's default, every core).
set -euo pipefail
base_mb=${1:-250}
runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cargo build --release --quiet
cargo build --release --quiet --example gen-logs
bin=$root/target/release/audit-analyze
threads=()
[[ -n ${THREADS:-} ]] && threads=(--threads "$THREADS")

work=$(mktemp -d "${TMPDIR:-/tmp}/aa-scaling.XXXXXX")
trap 'rm -rf "$work"' EXIT
factors=(1 2 4)
for f in "${factors[@]}"; do
  lines=$(( base_mb * f * 1000000 / 222 ))
  echo "generating $lines lines (~$(( base_mb * f )) MB) ..."
  "$root/target/release/examples/gen-logs" --lines "$lines" --seed 1 > "$work/$f.jsonl"
  cat "$work/$f.jsonl" > /dev/null # warm the page cache
done

declare -A times rss
for ((r = 1; r <= runs; r++)); do
  for f in "${factors[@]}"; do
    measure "$f" "$bin" report --format json "${threads[@]}" "$work/$f.jsonl"
  done
done

one=$(echo "${times[1]}" | median)
echo
echo "$(nproc) cores; $(uname -srm); threads: ${THREADS:-default}; $runs runs, medians"
printf '%-6s %12s %10s %10s %14s %12s\n' size bytes 'median s' 'MB/s' 'ratio to 1x' 'peak RSS MB'
for f in "${factors[@]}"; do
  m=$(echo "${times[$f]}" | median)
  bytes=$(stat -c %s "$work/$f.jsonl")
  awk -v f="$f" -v m="$m" -v b="$bytes" -v one="$one" -v kb="${rss[$f]}" \
    'BEGIN { printf "%-6s %12d %10.2f %10.0f %13.2fx %12.0f\n", f "x", b, m, b / 1e6 / m, m / one, kb / 1024 }'
done
