#!/usr/bin/env bash
# The first command of the README: installs the dependencies (Debian packages),
# builds smtpspec, and runs the main job against the embedded reference server,
# writing out/report.html, out/report.junit.xml and out/report.json (and printing
# their paths).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

ci/install-deps.sh
ci/build.sh release
mkdir -p out
if [[ -x build/release/harness/smtpspec ]]; then
  build/release/harness/smtpspec server --output out
else
  # Until the runner exists: the reference model's self-check.
  build/release/reference/reference_tests --gtest_brief=1
fi
