#!/usr/bin/env bash
# Runs smtpspec against real servers of the lab (ci/targets.sh), inside the
# loopback-only namespace, and checks what issue 5 asks of every verdict on a real
# server: no ERROR against a server that is up, and the same verdicts on two
# consecutive runs. Writes OUT/<name>.{json,html,junit.xml} (and relay-<name>.*).
#
# Servers it starts are stopped at the end (SMTPSPEC_KEEP_LAB=1 keeps them).
#
# Usage: ci/realtargets.sh [--smtpspec PATH] [--out DIR] [--runs N] NAME...
#   NAME: postfix exim opensmtpd sendmail aiosmtpd smtp-server haraka smtp-sink
#         postfix-relay exim-relay (relays get the relay cases, not the suite)
set -euo pipefail
cd "$(dirname "$0")/.."

smtpspec=build/release/harness/smtpspec
out=out/lab
runs=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --smtpspec) smtpspec=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [--smtpspec PATH] [--out DIR] [--runs N] NAME..." >&2; exit 2; }
smtpspec=$(realpath "$smtpspec")
# The lab needs root (private MTA roots, users, a network namespace). Elsewhere this
# is a skip (exit 77, ctest's SKIP_RETURN_CODE), not a failure.
if [[ $(id -u) -ne 0 ]] || ! ip netns list >/dev/null 2>&1; then
  echo "realtargets: SKIP: needs root and 'ip netns' (iproute2) to run the lab" >&2
  exit 77
fi
lab=${SMTPSPEC_LAB:-/var/tmp/smtpspec-lab}
mkdir -p "$out"

# What this script starts, it stops again (the test command leaves nothing
# running); servers that were already up are left as they were. SMTPSPEC_KEEP_LAB=1
# keeps everything running.
started=()
for name in "$@"; do
  ci/targets.sh status "$name" >/dev/null 2>&1 || started+=("$name")
done
stop_started() {
  if ((${#started[@]})) && [[ ${SMTPSPEC_KEEP_LAB:-0} != 1 ]]; then
    ci/targets.sh stop "${started[@]}" >/dev/null || echo "realtargets: could not stop ${started[*]}" >&2
  fi
}
trap stop_started EXIT
ci/targets.sh start "$@" >/dev/null

port_of() { ci/targets.sh list | awk -v n="$1" '$1 == n { print $2 }'; }

# Verdicts of a JSON report as "id VERDICT" lines, sorted.
verdicts() { python3 -c 'import json,sys; [print(c["id"], c["verdict"]) for c in json.load(open(sys.argv[1]))["cases"]]' "$1" | sort; }

status=0
for name in "$@"; do
  port=$(port_of "$name")
  [[ -n $port ]] || { echo "realtargets: unknown target $name" >&2; exit 2; }
  for ((i = 1; i <= runs; i++)); do
    json=$out/$name.run$i.json
    if [[ $name == *-relay ]]; then
      ip netns exec smtpspec-lab "$smtpspec" relay "127.0.0.1:$port" --insecure --json "$json" >/dev/null || true
    else
      # --jobs 2: some servers rate-limit concurrent sessions from one client.
      ip netns exec smtpspec-lab "$smtpspec" server "127.0.0.1:$port" -q --jobs 2 --insecure \
        --to user@example.test --to2 user2@example.test --maildir "$lab/mail/$name" --json "$json" || true
    fi
    [[ -s $json ]] || { echo "realtargets: $name: no report from run $i" >&2; status=1; continue 2; }
  done
  cp "$out/$name.run1.json" "$out/$name.json"
  "$smtpspec" report "$out/$name.json" --html "$out/$name.html" --junit "$out/$name.junit.xml" >/dev/null || true
  summary=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(f"{k}={v}" for k,v in d["counts"].items()))' "$out/$name.json")
  echo "realtargets: $name (port $port): $summary"
  errors=$(verdicts "$out/$name.json" | awk '$2 == "ERROR"' || true)
  if [[ -n $errors ]]; then
    echo "realtargets: $name: ERROR verdicts against a server that is up:" >&2
    echo "$errors" >&2
    status=1
  fi
  for ((i = 2; i <= runs; i++)); do
    if ! diff <(verdicts "$out/$name.run1.json") <(verdicts "$out/$name.run$i.json") >"$out/$name.flaky.txt"; then
      echo "realtargets: $name: verdicts differ between run 1 and run $i (flaky):" >&2
      cat "$out/$name.flaky.txt" >&2
      status=1
    fi
  done
done
exit $status
