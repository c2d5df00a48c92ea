#!/usr/bin/env bash
# Runs every in-process fuzz target (fuzz/reference/) for a short fixed budget under
# libFuzzer + ASan + UBSan (issue 7: ".ci/run runs each in-process target for a short
# fixed budget"). Builds reference/ alone with clang (no harness), so it is quick.
# New inputs go to a scratch directory, never into the seed corpora; a finding
# leaves its crash-* file in OUT and makes the script fail.
#
# Usage: ci/fuzz-smoke.sh [--seconds N] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
out=build/fuzz-smoke/out
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds N] [--out DIR]" >&2; exit 2 ;;
  esac
done

build=build/fuzz-smoke
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
  -DSMTPSPEC_SANITIZE=ON -DSMTPSPEC_FUZZ=ON -DSMTPSPEC_HARNESS=OFF -DSMTPSPEC_TESTS=OFF \
  -DSMTPSPEC_BENCHMARKS=OFF -DSMTPSPEC_WERROR=ON >/dev/null
targets=(command_parser_fuzzer reply_parser_fuzzer ehlo_extensions_fuzzer data_decoder_fuzzer session_fuzzer)
cmake --build "$build" --target "${targets[@]}" >/dev/null

mkdir -p "$out"
status=0
for t in "${targets[@]}"; do
  scratch=$(mktemp -d)
  bin=$(find "$build/fuzz" -type f -name "$t" -perm -u+x | head -1)
  if ! (cd "$out" && "$OLDPWD/$bin" -max_total_time="$seconds" -print_final_stats=1 \
        -dict="$OLDPWD/fuzz/reference/$t.dict" "$scratch" "$OLDPWD/fuzz/reference/${t}_corpus" >"$t.log" 2>&1); then
    echo "fuzz-smoke: $t FOUND SOMETHING: see $out/$t.log and $out/crash-*" >&2
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/$t.log" | grep -o '[0-9]*$' || echo 0)
  echo "fuzz-smoke: $t: $execs executions in ${seconds} s ($((execs / seconds))/s)"
  rm -rf "$scratch"
done
exit $status
