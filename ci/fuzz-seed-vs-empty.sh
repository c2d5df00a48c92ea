#!/usr/bin/env bash
# How many distinct reference-model transitions the network fuzzer reaches from the seed
# corpus versus from an empty corpus (issue 7 measurement; fuzz/net/README.md "State
# feedback"). Two runs of server_fuzzer against the embedded reference server (no
# -target), the same libFuzzer -seed, the same dictionary, side by side so that the
# machine's load hits both alike; each prints at exit
#   ==smtpspec== target states seen: T (phase, command, reply) transitions, G reply trigrams
# -smtpspec_findings=none -smtpspec_verbose=1: no finding stops a run, and any finding
# (on the embedded server: a bug in smtpspec) is printed in the log.
#
# Usage: ci/fuzz-seed-vs-empty.sh [--seconds N] [--seed S] [--bin DIR] [--out DIR]
#   defaults: 300 s, seed 1, /var/tmp/fuzzlab/bin (copy of build/fuzz/fuzz/net), out/fuzz-lab/seed-vs-empty
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=300
seed=1
bin=/var/tmp/fuzzlab/bin
out=out/fuzz-lab/seed-vs-empty
while [[ $# -gt 0 ]]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
rm -rf "$out"
mkdir -p "$out/seeds-corpus" "$out/empty-corpus"
out=$(cd "$out" && pwd)
run() {  # NAME CORPUS_DIRS...
  local name=$1
  shift
  (cd "$out" && nice -n 19 "$bin/server_fuzzer" -smtpspec_findings=none -smtpspec_verbose=1 \
    -dict="$root/fuzz/net/server_fuzzer.dict" -seed="$seed" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="$out/$name-" "$@" >"$out/$name.log" 2>&1) || echo "seed-vs-empty: $name exited with $?"
}
echo "seed-vs-empty: $seconds s each, seed $seed, start $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
run seeds "$out/seeds-corpus" "$root/fuzz/net/server_fuzzer_corpus" &
p1=$!
run empty "$out/empty-corpus" &
p2=$!
wait $p1 $p2 || true
echo "seed-vs-empty: end $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
{
  echo "| start | sessions | sessions/s | transitions | reply trigrams | corpus | findings (any kind) |"
  echo "|---|---|---|---|---|---|---|"
  for name in seeds empty; do
    log=$out/$name.log
    s=$(sed -nE 's/^==smtpspec== ([0-9]+) sessions in .*\(([0-9]+) sessions\/s.*/\1 | \2/p' "$log" | tail -1)
    st=$(sed -nE 's/.*target states seen: ([0-9]+) .* ([0-9]+) reply trigrams/\1 | \2/p' "$log" | tail -1)
    k=$(sed -nE 's/.*sessions with findings by kind: (.*)/\1/p' "$log" | tail -1)
    echo "| $name | $s | $st | $(find "$out/$name-corpus" -type f | wc -l) | ${k:-?} |"
  done
} | tee "$out/summary.md"
