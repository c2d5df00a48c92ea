#!/usr/bin/env bash
# Verdict snapshots (docs/verdict-snapshots.md): record the lab's transcripts as
# replay fixtures, and regenerate the committed table of verdicts and defects that
# the test harness.verdict_snapshots.<server> compares the replays with.
#
# Usage:
#   ci/snapshot-verdicts.sh record [--out DIR] [--from DIR] [SERVER...]
#       Runs the suite twice against each lab server (ci/realtargets.sh; the lab must
#       be up: ci/targets.sh start), turns both reports and the delivered messages
#       into fixtures DIR/SERVER/run{1,2}.json (ci/snapshot_fixture.py), then updates
#       the tables. --from DIR takes reports DIR/SERVER.run{1,2}.json of an earlier lab
#       run instead (the lab's mail directory must still hold their messages).
#       DIR defaults to harness/tests/data/snapshots; SERVER to every lab server.
#   ci/snapshot-verdicts.sh update-table [SERVER...]
#       Replays the committed fixtures through the current model (release build) and
#       writes harness/tests/data/snapshots/SERVER/{verdicts,defects}.tsv. Commit
#       them with the change that moved the verdicts.
set -euo pipefail
cd "$(dirname "$0")/.."

servers=(postfix exim opensmtpd sendmail aiosmtpd smtp-server haraka smtp-sink)
fixtures=harness/tests/data/snapshots
lab=${SMTPSPEC_LAB:-/var/tmp/smtpspec-lab}

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

build() {
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
  cmake --preset release >/dev/null
  cmake --build --preset release --target "$@" >/dev/null
}

update_table() {
  local names=("$@") filter=()
  [[ ${#names[@]} -gt 0 ]] || names=("${servers[@]}")
  for n in "${names[@]}"; do filter+=("verdict_snapshots.${n//-/_}"); done
  build harness_tests
  local IFS=:
  SMTPSPEC_UPDATE_SNAPSHOTS=1 build/release/harness/harness_tests --gtest_filter="${filter[*]}" --gtest_brief=1
}

record() {
  local out=$fixtures from=""
  while [[ $# -gt 0 ]]; do
    case $1 in
      --out) out=$2; shift 2 ;;
      --from) from=$2; shift 2 ;;
      -*) usage ;;
      *) break ;;
    esac
  done
  local names=("$@")
  [[ ${#names[@]} -gt 0 ]] || names=("${servers[@]}")
  if [[ -z $from ]]; then
    from=out/snapshots-lab
    build smtpspec
    # Its own verdict on the runs (ERROR, flaky) is worth reading, not a reason to stop:
    # a flaky server records as two runs that differ, which the table shows.
    ci/realtargets.sh --smtpspec build/release/harness/smtpspec --out "$from" --runs 2 "${names[@]}" || {
      rc=$?
      [[ $rc -eq 77 ]] && exit 77
      echo "snapshot-verdicts: ci/realtargets.sh reported problems (above); recording anyway" >&2
    }
  fi
  python3 ci/snapshot_fixture.py --reports "$from" --mail "$lab/mail" --out "$out" "${names[@]}"
  du -sh "$out" | sed 's/^/snapshot-verdicts: fixtures and tables: /'
  if [[ $(realpath "$out") == $(realpath "$fixtures") ]]; then update_table "${names[@]}"; fi
}

[[ $# -gt 0 ]] || usage
cmd=$1
shift
case $cmd in
  record) record "$@" ;;
  update-table) update_table "$@" ;;
  *) usage ;;
esac
