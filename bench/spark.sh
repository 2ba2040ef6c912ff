#!/usr/bin/env bash
# Benchmark (issue 8): the Spark driver, contrib/spark/audit_analyze_spark.py
# on pyspark with --master local[2], against `audit-analyze report --format
# json` (2 threads) on the same generated log, one plain file.
#
#   bench/spark.sh [LINES] [RUNS]      (defaults: 4500000 lines, ~1 GB; 3 runs)
#
# Runs alternate (report, spark, report, spark, ...); prints the medians and
# MB/s. For Spark it gives the whole spark-submit (JVM start included) and
# the time inside the job (from listing to the rendered report, as the
# driver logs it). Both outputs must be the same bytes. SPLIT (default 256M)
# is the driver's --split-bytes. The pyspark venv is the CI check's
# (target/spark-venv, made here if missing).
set -euo pipefail
lines=${1:-4500000}
runs=${2:-3}
split=${SPLIT:-256M}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv=$root/target/spark-venv

cargo build --release --quiet
cargo build --release --quiet --example gen-logs
bin=$root/target/release/audit-analyze
if ! "$venv/bin/python" -c 'import pyspark' 2> /dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet pyspark==3.5.3
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/aa-spark-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/conf"
printf '%s\n' 'rootLogger.level = warn' 'rootLogger.appenderRef.stderr.ref = console' \
  'appender.console.type = Console' 'appender.console.name = console' \
  'appender.console.target = SYSTEM_ERR' 'appender.console.layout.type = PatternLayout' \
  'appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n' > "$work/conf/log4j2.properties"
log=$work/log.jsonl
echo "generating $lines lines into $work ..."
"$root/target/release/examples/gen-logs" --lines "$lines" --seed 1 > "$log"
bytes=$(stat -c %s "$log")
cat "$log" > /dev/null # warm the page cache
echo "log: $bytes bytes; nproc: $(nproc); load average: $(cut -d' ' -f1-3 /proc/loadavg)"

now() { date +%s.%N; }
report_t=() spark_t=() job_t=()
for ((r = 1; r <= runs; r++)); do
  t=$(now)
  "$bin" report --format json -q "$log" > "$work/report.json"
  report_t+=("$(awk -v a="$t" -v b="$(now)" 'BEGIN { print b - a }')")

  t=$(now)
  SPARK_CONF_DIR=$work/conf SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON=$venv/bin/python \
    "$venv/bin/spark-submit" --master 'local[2]' --driver-memory 2g --conf spark.ui.enabled=false \
    contrib/spark/audit_analyze_spark.py "$log" --binary "$bin" \
    --split-bytes "$split" --format json > "$work/spark.json" 2> "$work/spark.err"
  spark_t+=("$(awk -v a="$t" -v b="$(now)" 'BEGIN { print b - a }')")
  job_t+=("$(awk '/report written/ { sub(/s$/, "", $2); print $2 }' "$work/spark.err")")
  grep '^audit_analyze_spark:' "$work/spark.err" | sed "s/^/  run $r: /"
  cmp "$work/spark.json" "$work/report.json" ||
    { echo "the Spark output differs from report's" >&2; exit 1; }
  echo "run $r: report ${report_t[-1]} s, spark-submit ${spark_t[-1]} s (job ${job_t[-1]} s); outputs identical"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
row() { awk -v n="$1" -v s="$2" -v b="$bytes" 'BEGIN { printf "| %s | %.2f | %.0f |\n", n, s, b / 1e6 / s }'; }
echo
echo "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1e9 }') GB, $lines lines, median of $runs runs:"
echo
echo "| run | median s | MB/s |"
echo "| --- | --- | --- |"
row "audit-analyze report --format json (2 threads)" "$(median "${report_t[@]}")"
row "Spark local[2], whole spark-submit (--split-bytes $split)" "$(median "${spark_t[@]}")"
row "Spark local[2], inside the job (listing to report)" "$(median "${job_t[@]}")"
