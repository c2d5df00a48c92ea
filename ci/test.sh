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

# The test command leaves nothing running: what a test starts, it stops. Note
# which lab servers are up before, to check at the end that no test left one.
lab_up() { ci/targets.sh status 2>/dev/null | awk '$3 == "up" { print $1 }' | sort; }
up_before=$(lab_up || true)
lab_ns() { ip netns list 2>/dev/null | awk '$1 == "smtpspec-lab"' | wc -l; }
ns_before=$(lab_ns || true)

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
left=$(comm -13 <(echo "$up_before") <(lab_up || true) | tr '\n' ' ')
if [[ -n ${left// /} ]]; then
  echo "== lab servers left running by the tests: $left" >&2
  exit 1
fi
if [[ $ns_before -eq 0 && $(lab_ns || true) -ne 0 ]]; then
  echo "== the tests left the network namespace smtpspec-lab behind" >&2
  exit 1
fi
echo "== all tests passed (release + ASan/UBSan/libFuzzer; real servers: out of build/release/lab)"
