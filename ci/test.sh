#!/usr/bin/env bash
# Runs every test: installs what is missing, checks that reference/ and results/
# stay free of I/O (and reports/ of harness/), then builds and runs the whole
# ctest suite twice: with g++ (release) and with clang++-14 under ASan+UBSan (the
# `fuzz` preset: the asan build plus libFuzzer, so the same run also fuzzes each
# in-process target for 20 s, fuzz.*.budget, and checks that the network fuzzer
# finds the planted crash, fuzz.net.seeded_crash).
# Exit status is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

ci/install-deps.sh
ci/check-reference-purity.sh

jobs=$(nproc)
for preset in release fuzz; do
  echo "== build: $preset"
  ci/build.sh "$preset"
  echo "== test: $preset"
  # The real-server lab runs once, against the release build (label realtargets).
  exclude=()
  [[ $preset == fuzz ]] && exclude=(-LE realtargets)
  ctest --preset "$preset" -j "$jobs" --timeout 900 "${exclude[@]}"
done
echo "== all tests passed (release + ASan/UBSan/libFuzzer; real servers: out of build/release/lab)"
