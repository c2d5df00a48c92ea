#!/usr/bin/env bash
# Configures and builds one CMake preset (release, debug, clang, asan, fuzz).
# Usage: ci/build.sh PRESET [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:?usage: ci/build.sh PRESET}
shift
cmake --preset "$preset" "$@" >/dev/null
cmake --build --preset "$preset" -- -k 0
