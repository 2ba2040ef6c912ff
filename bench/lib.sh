# Shared by bench/run.sh and bench/scaling.sh (sourced, not run).
#
# measure KEY COMMAND...  runs COMMAND (stdout discarded) under
#   /usr/bin/time, appends its seconds to times[KEY] and keeps the
#   largest peak RSS (KB) in rss[KEY]; the caller declares both
#   (`declare -A times rss`) and sets $work (a scratch directory).
# median                  the median of the numbers on stdin (the lower
#   middle one for an even count).

measure() {
  local key=$1 secs kb
  shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" > /dev/null
  read -r secs kb < "$work/time"
  times[$key]+="$secs "
  rss[$key]=$(( ${rss[$key]:-0} > kb ? ${rss[$key]:-0} : kb ))
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
