#!/usr/bin/env bash
# Runs afl-fuzz on each target for FUZZ_SECONDS, one target at a time, then prints execs, paths, crashes and hangs
# per target and replays every crash and hang to show its stack trace. Driven by `make fuzz` (which builds the
# fuzz project and instruments switchyard.dll first); see native-tests/fuzz/README.md.
#   usage: fuzz.sh BIN_DIR OUT_DIR SECONDS TIMEOUT_MS TARGET...
set -uo pipefail

bin=$1 out=$2 seconds=$3 timeout_ms=$4
shift 4
here=$(cd "$(dirname "$0")" && pwd)

export AFL_SKIP_BIN_CHECK=1                    # the target is `dotnet`, not an afl-instrumented binary
export AFL_SKIP_CPUFREQ=1
export AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 # core_pattern may pipe to a handler on this machine
export AFL_NO_AFFINITY=1                       # a shared machine: do not pin a core
export AFL_NO_UI=1                             # plain status lines, fit for a log
export AFL_FORKSRV_INIT_TMOUT=60000            # the .NET runtime starts slowly on a busy machine
export AFL_SHUFFLE_QUEUE=0
export DOTNET_TieredPGO=0                      # steadier timings between runs of the same input
export DOTNET_CLI_TELEMETRY_OPTOUT=1

dictionary() {
  case $1 in
    http1-*|chunked) echo "$here/dict/http1.dict" ;;
    config) echo "$here/dict/config.dict" ;;
    manifest) echo "$here/dict/manifest.dict" ;;
  esac
}

stat() { sed -n "s/^$2 *: *//p" "$1" 2>/dev/null | head -n1; }

mkdir -p "$out"
for target in "$@"; do
  dir="$out/$target"
  rm -rf "$dir"
  dict=$(dictionary "$target")
  echo "== fuzz $target for ${seconds}s (log: $dir.log)"
  afl-fuzz -i "$here/corpus/$target" -o "$dir" -V "$seconds" -m none -t "$timeout_ms" ${dict:+-x "$dict"} \
    -- dotnet "$bin/Switchyard.Fuzz.dll" "$target" >"$dir.log" 2>&1
  status=$?
  if [ $status -ne 0 ] || [ ! -f "$dir/default/fuzzer_stats" ]; then
    echo "afl-fuzz failed for $target (exit $status); the end of $dir.log:"
    tail -n 25 "$dir.log"
  fi
done

echo
printf '%-16s %8s %12s %10s %7s %8s %6s\n' target seconds execs execs/s paths crashes hangs
total_crashes=0
for target in "$@"; do
  stats="$out/$target/default/fuzzer_stats"
  [ -f "$stats" ] || { printf '%-16s %s\n' "$target" "no stats (see $out/$target.log)"; total_crashes=$((total_crashes + 1)); continue; }
  crashes=$(stat "$stats" saved_crashes); hangs=$(stat "$stats" saved_hangs)
  printf '%-16s %8s %12s %10s %7s %8s %6s\n' "$target" "$(stat "$stats" run_time)" "$(stat "$stats" execs_done)" \
    "$(stat "$stats" execs_per_sec)" "$(stat "$stats" corpus_count)" "${crashes:-?}" "${hangs:-?}"
  total_crashes=$((total_crashes + ${crashes:-0} + ${hangs:-0}))
done

for target in "$@"; do
  for kind in crashes hangs; do
    files=("$out/$target/default/$kind"/id:*)
    [ -e "${files[0]}" ] || continue
    echo
    echo "== $target: ${#files[@]} $kind, replayed without afl-fuzz ($out/$target.$kind.txt)"
    timeout 600 dotnet "$bin/Switchyard.Fuzz.dll" --replay "$target" "${files[@]}" >"$out/$target.$kind.txt" 2>&1
    grep -E '^(CRASH|HANG|ok)|Exception:' "$out/$target.$kind.txt" | head -n 20
  done
done

[ "$total_crashes" -eq 0 ]
