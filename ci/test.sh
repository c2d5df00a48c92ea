#!/usr/bin/env bash
# Runs every test: installs what is missing, checks that reference/ stays free of
# I/O, then builds and runs the whole ctest suite twice: with g++ (release) and with
# clang++-14 under ASan+UBSan. Exit status is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

ci/install-deps.sh
ci/check-reference-purity.sh

jobs=$(nproc)
for preset in release asan; do
  echo "== build: $preset"
  ci/build.sh "$preset"
  echo "== test: $preset"
  # The real-server lab runs once, against the release build (label realtargets).
  exclude=()
  [[ $preset == asan ]] && exclude=(-LE realtargets)
  ctest --preset "$preset" -j "$jobs" --timeout 900 "${exclude[@]}"
done
echo "== all tests passed (release + asan; real servers: out of build/release/lab)"
