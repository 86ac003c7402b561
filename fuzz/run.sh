#!/usr/bin/env bash
# Runs the fuzz targets: `fuzz/run.sh [SECONDS] [TARGET...]` (default: 30 s each, every
# target). Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). New inputs
# go to fuzz/corpus/TARGET (not committed), crashes to fuzz/artifacts/TARGET; the committed
# seeds are read only. Prints each target's executions per second and coverage; fails on a
# crash. A crash, once fixed, is kept as a test: copy its input to fuzz/regressions/TARGET.
# FUZZ_SEED=N makes a run repeatable (CI sets it).
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(lean_source repl_response screen serve_request client_answer)
fi
cargo +nightly fuzz build -O || exit 1
status=0
for t in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$t" "fuzz/regressions/$t"
  extra=()
  if [ "$t" = lean_source ]; then extra=(problems/core); fi
  log="$(mktemp)"
  cargo +nightly fuzz run -O "$t" "fuzz/corpus/$t" "fuzz/seeds/$t" "fuzz/regressions/$t" "${extra[@]}" -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 -rss_limit_mb=4096 \
    -seed="${FUZZ_SEED:-0}" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  if [ $rc -eq 0 ]; then
    echo "fuzz $t: ${seconds}s, ${runs:-?} runs, ${speed:-?} execs/s, ${cov:-cov ?}, corpus $corpus: no crash"
  else
    echo "fuzz $t: CRASH (exit $rc); input in fuzz/artifacts/$t:"
    grep -E 'panicked|ERROR|SUMMARY|Test unit written' "$log" | head -20
    status=1
  fi
  rm -f "$log"
done
exit $status
