#!/usr/bin/env bash
# Produces the compliance matrix of the lab: runs the suite against every lab
# server (and the relay cases against the relays), twice each (checking for ERROR
# and flaky verdicts), then merges the runs into one HTML matrix and prints the
# versions. Bring the lab up first with `ci/targets.sh start`.
#
# Usage: ci/lab-matrix.sh [OUT_DIR]   (default out/lab; the matrix is OUT_DIR/matrix.html)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out/lab}
smtpspec=${SMTPSPEC_BIN:-build/release/harness/smtpspec}
servers=(postfix exim opensmtpd sendmail aiosmtpd smtp-server haraka smtp-sink)
relays=(postfix-relay exim-relay)

status=0
ci/realtargets.sh --smtpspec "$smtpspec" --out "$out" "${servers[@]}" "${relays[@]}" || status=$?
[[ $status -eq 77 ]] && exit 77

reports=()
for n in "${servers[@]}"; do [[ -s $out/$n.json ]] && reports+=("$out/$n.json"); done
"$smtpspec" report merge "${reports[@]}" --html "$out/matrix.html"
relay_reports=()
for n in "${relays[@]}"; do [[ -s $out/$n.json ]] && relay_reports+=("$out/$n.json"); done
"$smtpspec" report merge "${relay_reports[@]}" --html "$out/relay-matrix.html"
ci/targets.sh versions | tee "$out/versions.tsv"
exit $status
