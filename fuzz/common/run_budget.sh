#!/usr/bin/env bash
# Runs one libFuzzer target for a fixed budget (issue 7: ".ci/run runs each in-process
# target for a short fixed budget under ASan+UBSan"), as a ctest. New inputs go to a
# scratch directory, never into the seed corpus; a finding leaves its crash-* file in
# the ctest working directory and fails the test. Prints the executions per second.
#
# Usage: run_budget.sh BINARY SECONDS DICT|- CORPUS_DIR...
set -euo pipefail
bin=$1 seconds=$2 dict=$3
shift 3
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-budget.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
args=(-max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$PWD/")
[[ $dict != - ]] && args+=(-dict="$dict")
status=0
"$bin" "${args[@]}" "$scratch" "$@" >"$scratch/log" 2>&1 || status=$?
execs=$(sed -n 's/.*stat::number_of_executed_units: *//p' "$scratch/log" | tail -1)
echo "$(basename "$bin"): ${execs:-0} executions in $seconds s ($(( ${execs:-0} / seconds ))/s), exit $status"
if [[ $status -ne 0 ]]; then
  tail -60 "$scratch/log"
  echo "$(basename "$bin") FOUND SOMETHING: the input is in $PWD/crash-* (replay: $bin CRASH_FILE)" >&2
fi
exit $status
