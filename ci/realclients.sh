#!/usr/bin/env bash
# Runs the client suite (`smtpspec client`) against real SMTP clients from Debian
# (and npm, when installed), twice each, and checks what a verdict on a real client
# must be: no ERROR, and the same verdicts on both runs. The recipes are those of
# docs/clients.md. Writes OUT/<client>.{json,html,junit.xml}.
#
# Usage: ci/realclients.sh [--smtpspec PATH] [--out DIR] [--runs N] CLIENT...
#   CLIENT: curl smtplib msmtp swaks nodemailer
set -euo pipefail
cd "$(dirname "$0")/.."

smtpspec=build/release/harness/smtpspec
out=out/clients
runs=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --smtpspec) smtpspec=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) break ;;
  esac
done
[[ $# -gt 0 ]] || { echo "usage: $0 [--smtpspec PATH] [--out DIR] [--runs N] CLIENT..." >&2; exit 2; }
smtpspec=$(realpath "$smtpspec")
mkdir -p "$out"
here=$(pwd)
node_path=${SMTPSPEC_NODE_PATH:-/var/tmp/smtpspec-lab/node_modules}

# Sets plain, starttls and auth: the --exec commands of one client.
recipe() {
  local base
  case $1 in
    curl)
      base='curl -sS --max-time 20 smtp://{host}:{port} --mail-from {from} --mail-rcpt {to} --mail-rcpt {to2} --upload-file {msgfile}'
      plain=$base; starttls="$base --ssl-reqd --cacert {cafile}"; auth="$starttls --user {user}:{password}" ;;
    smtplib)
      base="/usr/bin/python3 $here/ci/clients/smtplib_client.py {host} {port} {from} {msgfile} {to} {to2}"
      plain=$base; starttls="$base --starttls --cafile {cafile}"; auth="$starttls --user {user} --password {password}" ;;
    msmtp)
      base='msmtp --host={host} --port={port} --from={from} --timeout=20'
      plain="$base --auth=off --tls=off -- {to} {to2} < {msgfile}"
      starttls="$base --auth=off --tls=on --tls-starttls=on --tls-trust-file={cafile} --tls-certcheck=off -- {to} {to2} < {msgfile}"
      auth="$base --auth=plain --user={user} --passwordeval=\"echo smtpspec\" --tls=on --tls-starttls=on --tls-certcheck=off -- {to} {to2} < {msgfile}" ;;
    swaks)
      base='swaks --server {host}:{port} --from {from} --to {to},{to2} --data @{msgfile} --timeout 20 --silent 1'
      plain=$base; starttls="$base --tls"; auth="$base --tls --auth PLAIN --auth-user {user} --auth-password {password}" ;;
    nodemailer)
      base="NODE_PATH=$node_path node $here/ci/clients/nodemailer_client.js {host} {port} {from} {msgfile} {to},{to2}"
      plain=$base; starttls="$base --starttls --cafile {cafile}"; auth="$starttls --user {user} --password {password}" ;;
    *) echo "unknown client '$1' (curl smtplib msmtp swaks nodemailer)" >&2; exit 2 ;;
  esac
}

available() {
  case $1 in
    smtplib) [[ -x /usr/bin/python3 ]] ;;
    nodemailer) command -v node >/dev/null && [[ -d $node_path/nodemailer ]] ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

verdicts() { python3 -c 'import json,sys; [print(c["id"], c["verdict"]) for c in json.load(open(sys.argv[1]))["cases"]]' "$1" | sort; }

status=0
for client in "$@"; do
  if ! available "$client"; then
    echo "realclients: $client is not installed (ci/install-deps.sh installs curl, python3, msmtp, swaks)" >&2
    status=1
    continue
  fi
  recipe "$client"
  for run in $(seq 1 "$runs"); do
    "$smtpspec" client --listen 127.0.0.1:0 -q --exec "$plain" --exec-starttls "$starttls" --exec-auth "$auth" \
      --work-dir "$out/$client.work" --json "$out/$client.run$run.json" >/dev/null || true
  done
  cp "$out/$client.run$runs.json" "$out/$client.json"
  "$smtpspec" report "$out/$client.json" --html "$out/$client.html" --junit "$out/$client.junit.xml" >/dev/null || true
  counts=$(python3 -c 'import json,sys; k=json.load(open(sys.argv[1]))["counts"]; print(" ".join(f"{v} {n}" for n,v in k.items()))' "$out/$client.json")
  echo "$client: $counts"
  if grep -q ' ERROR$' <(verdicts "$out/$client.json"); then
    echo "realclients: $client: ERROR verdicts:" >&2
    verdicts "$out/$client.json" | grep ' ERROR$' >&2
    status=1
  fi
  for run in $(seq 2 "$runs"); do
    if ! diff <(verdicts "$out/$client.run1.json") <(verdicts "$out/$client.run$run.json") >"$out/$client.flaky.txt"; then
      echo "realclients: $client: verdicts differ between runs:" >&2
      cat "$out/$client.flaky.txt" >&2
      status=1
    fi
  done
done
exit $status
