#!/usr/bin/env bash
# Benchmark: `audit-analyze report --format json` against the floors (cat,
# wc -l) and the peers that are installed (jq, Miller, DuckDB), on a
# generated log of the shape of a JWT-protected API's logs.
#
#   bench/run.sh [SIZE_MB] [RUNS]        (defaults: 1000 MB, 5 runs)
#
# Runs are interleaved (tool A, B, C, A, B, C, ...) and the median is
# reported, with MB/s, the ratio to audit-analyze and the peak RSS.
# Slow peers (jq, Miller, DuckDB) run SLOW_RUNS times (default 1).
set -euo pipefail
size_mb=${1:-1000}
runs=${2:-5}
slow_runs=${SLOW_RUNS:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"

cargo build --release --quiet
cargo build --release --quiet --example gen-logs
bin=$root/target/release/audit-analyze

work=$(mktemp -d "${TMPDIR:-/tmp}/aa-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
log=$work/log.jsonl
lines=$(( size_mb * 1000000 / 222 ))
echo "generating $lines lines (~${size_mb} MB) into $work ..."
"$root/target/release/examples/gen-logs" --lines "$lines" --seed 1 > "$log"
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null # warm the page cache

declare -A cmds slow
cmds[audit-analyze]="'$bin' report --format json '$log'"
if "$bin" report --help | grep -q -- '--threads'; then
  cmds[audit-analyze-1t]="'$bin' report --format json --threads 1 '$log'"
fi
cmds[cat]="cat '$log'"
cmds[wc-l]="wc -l '$log'"
skipped=()
if command -v jq > /dev/null; then
  cmds[jq]="jq -r .user_id '$log' | sort | uniq -c"; slow[jq]=1
else skipped+=(jq); fi
if command -v mlr > /dev/null; then
  cmds[miller]="mlr --ijsonl --ojson count -g user_id '$log'"; slow[miller]=1
else skipped+=(miller); fi
if command -v duckdb > /dev/null; then
  cmds[duckdb]="duckdb -c \"SELECT user_id, count(*) AS n, count(*) FILTER (WHERE status >= 400) AS failures FROM read_json('$log', format='newline_delimited', ignore_errors=true) GROUP BY ALL\""
  slow[duckdb]=1
elif python3 -c 'import duckdb' 2> /dev/null; then
  cmds[duckdb]="python3 -c \"import duckdb; duckdb.sql(\\\"SELECT user_id, count(*) AS n, count(*) FILTER (WHERE status >= 400) AS failures FROM read_json('$log', format='newline_delimited', ignore_errors=true) GROUP BY ALL\\\").fetchall()\""
  slow[duckdb]=1
else skipped+=(duckdb); fi

names=(audit-analyze)
[[ -n ${cmds[audit-analyze-1t]:-} ]] && names+=(audit-analyze-1t)
names+=(cat wc-l)
for n in jq miller duckdb; do [[ -n ${cmds[$n]:-} ]] && names+=("$n"); done

declare -A times rss
for ((r = 1; r <= runs; r++)); do
  for n in "${names[@]}"; do
    if [[ -n ${slow[$n]:-} && $r -gt $slow_runs ]]; then continue; fi
    measure "$n" bash -c "${cmds[$n]}"
  done
done

base=$(echo "${times[audit-analyze]}" | median)
echo
echo "input: $bytes bytes, $lines lines; $(nproc) cores; $(uname -srm)"
printf '%-18s %10s %10s %14s %12s %s\n' tool 'median s' 'MB/s' 'vs audit-an.' 'peak RSS MB' runs
for n in "${names[@]}"; do
  m=$(echo "${times[$n]}" | median)
  count=$(echo "${times[$n]}" | wc -w)
  awk -v n="$n" -v m="$m" -v b="$bytes" -v base="$base" -v kb="${rss[$n]}" -v c="$count" \
    'BEGIN { printf "%-18s %10.2f %10.0f %13.2fx %12.0f %d\n", n, m, b / 1e6 / m, m / base, kb / 1024, c }'
done
[[ ${#skipped[@]} -gt 0 ]] && echo "skipped (not installed): ${skipped[*]}"
exit 0
