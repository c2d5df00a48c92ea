#!/usr/bin/env bash
# Runs the network fuzzer (fuzz/net/server_fuzzer) against the servers of the lab
# (ci/targets.sh), one after the other, each for a fixed time budget (issue 7).
#
# Usage: ci/fuzz-lab.sh [--minutes N] [--bin DIR] [--out DIR] [--seed S] [NAME...]
#   NAME      lab servers (default: the 8 servers of `ci/targets.sh list`, relays left out)
#   --minutes budget per server (default 10; fractions allowed: 0.5)
#   --bin     directory with server_fuzzer (default /var/tmp/fuzzlab/bin, a copy of
#             build/fuzz/fuzz/net/: the fuzz preset, clang-14 + libFuzzer + ASan/UBSan)
#   --out     results (default out/fuzz-lab): NAME/log (libFuzzer's log), NAME/crash-*,
#             NAME/replay.log (every crash file played once more, all findings printed),
#             NAME/reports/*.txt (one full finding report per distinct finding),
#             NAME/corpus.log (the final corpus replayed: distinct states), NAME/summary,
#             and summary.md (the table for all servers)
#   --seed    libFuzzer -seed (default 1)
#   --summarize-only  no fuzzing: rewrite NAME/summary and summary.md from an earlier run
#             (the servers must not be needed: it does not replay anything)
# Needs root and a started lab (ci/targets.sh start). The fuzzer runs inside the
# namespace smtpspec-lab (loopback only) under `nice -n 19`; the servers keep their
# normal priority.
#
# How it continues past findings. server_fuzzer aborts on a finding of a selected kind
# (libFuzzer saves the input as crash-<sha1>). The script uses libFuzzer's fork mode,
# `-fork=1 -ignore_crashes=1 -ignore_timeouts=1`: one child process fuzzes at a time
# with a subset of the corpus; a child that finds something dies, its crash file stays
# in NAME/, its new corpus inputs are merged into the scratch corpus all the same, and
# the parent starts the next child. The alternative, restarting a plain run after each
# finding, reloads (replays) the whole scratch corpus every time, which costs 10-30 s
# per finding on the slower servers; a fork child starts on sqrt(corpus) inputs.
# What fork mode loses: the children's logs (libFuzzer keeps only lines with "ERROR:"),
# so the script replays every crash file afterwards (NAME/replay.log, with
# -smtpspec_findings=none -smtpspec_verbose=1: every finding of every kind is printed)
# and one file per distinct finding with the selected kinds, which prints the full
# report with transcript (NAME/reports/). Sessions are libFuzzer's executions summed
# over the children (the parent's last "#N:" line); distinct states are counted by a
# replay of the final corpus (seeds + scratch) with -runs=0 (the fuzzer prints
# "target states seen" at exit).
#
# The libFuzzer parent stops starting children after -max_total_time, but lets a
# running child finish; `timeout -s INT` 60 s later ends a child that outlives it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

minutes=10
bin=/var/tmp/fuzzlab/bin
out=out/fuzz-lab
seed=1
summarize_only=0
names=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --summarize-only) summarize_only=1; shift ;;
    -h | --help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz-lab: unknown option $1" >&2; exit 2 ;;
    *) names+=("$1"); shift ;;
  esac
done
((${#names[@]})) || names=(postfix exim opensmtpd sendmail aiosmtpd smtp-server haraka smtp-sink)
((summarize_only)) || [[ $(id -u) -eq 0 ]] || { echo "fuzz-lab: run as root (ip netns exec)" >&2; exit 2; }
[[ -x $bin/server_fuzzer ]] || { echo "fuzz-lab: no $bin/server_fuzzer" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
seeds=$root/fuzz/net/server_fuzzer_corpus
dict=$root/fuzz/net/server_fuzzer.dict
ns=(ip netns exec smtpspec-lab)

# The finding kinds that stop the fuzzer, per server (-smtpspec_findings). A kind is
# left out when a known deviation of that server (docs/compliance.md, or the probe in
# docs/fuzzing-lab.md: 20 s with -smtpspec_findings=none -smtpspec_verbose=1) fires on
# a large share of all sessions: every child would die within seconds on the same known
# issue and the fuzzer would do nothing else. crash and hang are selected everywhere.
kinds_for() {
  case $1 in
    # desync: SMTP smuggling, Postfix ends DATA at <LF>.<LF>, <CRLF>.<LF>, <LF>.<CRLF>,
    #   <CRLF>.<CR><CRLF> (smtpd_forbid_bare_newline=no, Debian default; CVE-2023-51764)
    #   and takes a bare LF as a command line end: 19 % of the probe's sessions.
    # illegal: mostly the smuggled body lines answered 500 (a consequence of the above)
    #   and control characters accepted in MAIL (rfc5321.charset.*): 38 %.
    postfix) echo crash,hang,drop,syntax ;;
    # desync: Exim ends DATA at .<LF> as the first line (CVE-2023-51766 class), splits
    #   overlong command lines, takes a bare LF as a line end: 13 %.
    # illegal: 8-bit and control characters accepted in commands (rfc5321.charset.*).
    exim) echo crash,hang,drop,syntax ;;
    # drop: every STARTTLS fails its handshake (Debian 12 OpenSMTPD 6.8.0p2 with OpenSSL 3,
    #   rfc2034.enhanced-status.starttls-reply) and OpenSMTPD hangs up after some errors: 5 %.
    # illegal: VRFY and NOOP with an argument answered 500 (rfc5321.vrfy.*, noop.*).
    # syntax: 550 without an enhanced status code (rfc2034.enhanced-status.refused-recipient).
    # desync: bare LF taken as a command line end: 6 %.
    opensmtpd) echo crash,hang ;;
    # Sendmail answers about one session per second (its greeting and command pauses):
    #   findings are rare in absolute numbers, so all but illegal (8-bit and control
    #   characters accepted, rfc5321.charset.*) and should are selected.
    sendmail) echo crash,hang,drop,desync,syntax ;;
    # syntax: aiosmtpd replies with text outside textstring (31 % of the sessions);
    # desync: bare LF taken as a command line end (15 %); illegal: 5yz to QUIT/DATA after
    #   the above, AUTH during a transaction (rfc4954.auth.during-transaction).
    aiosmtpd) echo crash,hang,drop ;;
    # smtp-server: desync 6 % (bare LF as a line end), illegal 7 % (same cause, and AUTH
    #   during a transaction: rfc4954.auth.during-transaction).
    smtp-server) echo crash,hang,drop,syntax ;;
    # haraka: desync 7 % (bare LF), illegal 9 % (8-bit in EHLO accepted, 5yz after the above).
    haraka) echo crash,hang,drop,syntax ;;
    # smtp-sink: its EHLO reply breaks ehlo-ok-rsp on every session (syntax; known, see
    #   fuzz/net/README.md and the compliance page) and it accepts everything (illegal).
    smtp-sink) echo crash,hang,drop,desync ;;
    *) echo default ;;
  esac
}

port_of() { ci/targets.sh list "$1" | cut -f2; }
version_of() { ci/targets.sh versions "$1" | cut -f2; }

# Post-processing of one server (run in the background while the next one is fuzzed).
post() {
  local n=$1 port=$2 kinds=$3 dir=$out/$1
  local -a crashes
  mapfile -t crashes < <(find "$dir" -maxdepth 1 -name 'crash-*' -o -maxdepth 1 -name 'timeout-*' | sort)
  : >"$dir/replay.log"
  if ((${#crashes[@]})); then
    # every crash file once, all findings printed, none stops the replay
    (cd "$dir" && "${ns[@]}" nice -n 19 "$bin/server_fuzzer" -target="127.0.0.1:$port" \
      -smtpspec_findings=none -smtpspec_verbose=1 -runs=1 "${crashes[@]}" >"$dir/replay.log" 2>&1) || true
  fi
  # one report per distinct (kind, first 60 characters of the text) of a selected kind
  mkdir -p "$dir/reports"
  awk -v kinds=",$kinds," '
    /^Running: / { f = $2; sub(".*/", "", f); next }
    /^    [a-z]+: / { k = $1; sub(":", "", k); if (index(kinds, "," k ",") == 0 || f == "") next
      t = $0; sub("^    [a-z]+: ", "", t); gsub("[0-9]+", "N", t); sig = k ": " substr(t, 1, 60)
      if (!(sig in seen)) { seen[sig] = f; order[++m] = sig } count[sig]++; f_of[f] = 1 }
    END { for (i = 1; i <= m; i++) printf "%s\t%d\t%s\n", seen[order[i]], count[order[i]], order[i] }' \
    "$dir/replay.log" >"$dir/distinct.tsv"
  local f c sig i=0
  while IFS=$'\t' read -r f c sig; do
    i=$((i + 1))
    ((i <= 12)) || break
    (cd "$dir" && "${ns[@]}" nice -n 19 "$bin/server_fuzzer" -target="127.0.0.1:$port" \
      -smtpspec_findings="$kinds" "$dir/$f" >"$dir/reports/$i-$f.txt" 2>&1) || true
  done <"$dir/distinct.tsv"
  # the final corpus, replayed: distinct states
  (cd "$dir" && "${ns[@]}" nice -n 19 "$bin/server_fuzzer" -target="127.0.0.1:$port" \
    -smtpspec_findings=none -runs=0 "$dir/corpus" "$seeds" >"$dir/corpus.log" 2>&1) || true
  summarize "$n" "$port" "$kinds"
}

summarize() {
  local n=$1 port=$2 kinds=$3 dir=$out/$1
  local last sessions secs rate corp crashes states by_kind files reproduced
  last=$(grep -E '^#[0-9]+: ' "$dir/log" | tail -1 || true)
  sessions=$(sed -nE 's/^#([0-9]+): .*/\1/p' <<<"$last")
  secs=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<<"$last")
  crashes=$(sed -nE 's/.*oom\/timeout\/crash: ([0-9]+\/[0-9]+\/[0-9]+).*/\1/p' <<<"$last")
  rate=$(awk -v s="${sessions:-0}" -v t="${secs:-0}" 'BEGIN { if (t > 0) printf "%.0f", s / t; else print 0 }')
  corp=$(find "$dir/corpus" -type f | wc -l)
  states=$(sed -nE 's/.*target states seen: ([0-9]+) .* ([0-9]+) reply trigrams/\1 \/ \2/p' "$dir/corpus.log" | tail -1)
  files=$(find "$dir" -maxdepth 1 -name 'crash-*' | wc -l)
  # crash files by the kind of their first selected finding on replay
  reproduced=$(awk -v kinds=",$kinds," '
    /^Running: / { if (f != "") c[k == "" ? "not-reproduced" : k]++; f = $2; k = ""; next }
    /^    [a-z]+: / { kk = $1; sub(":", "", kk); if (k == "" && index(kinds, "," kk ",")) k = kk }
    END { if (f != "") c[k == "" ? "not-reproduced" : k]++; for (x in c) printf "%s=%d ", x, c[x] }' "$dir/replay.log")
  by_kind=$(cut -f3 "$dir/distinct.tsv" | cut -d: -f1 | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')
  {
    echo "server: $n"
    echo "version: $(version_of "$n")"
    echo "port: $port"
    echo "kinds: $kinds"
    echo "seconds: ${secs:-?} (budget $seconds)"
    echo "sessions: ${sessions:-?}"
    echo "sessions_per_s: $rate"
    echo "oom/timeout/crash (libFuzzer): ${crashes:-?}"
    echo "crash_files: $files"
    echo "crash_files_by_kind_on_replay: ${reproduced:-none}"
    echo "distinct_findings: ${by_kind:-none}"
    echo "states (corpus replay): ${states:-?}"
    echo "corpus: $corp"
    echo "distinct findings (first file, crash files with it, signature):"
    sed 's/^/  /' "$dir/distinct.tsv"
  } >"$dir/summary"
}

table() {
  {
    echo "| server | version | kinds | minutes | sessions | sessions/s | crash files | crash files by kind (replay) | distinct findings (kind=count) | states (transitions / trigrams) | corpus |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    local n
    for n in "${names[@]}"; do
      [[ -f $out/$n/summary ]] || continue
      awk -F': ' -v m="$minutes" '
        { v[$1] = $2 }
        END { printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", v["server"], v["version"], v["kinds"], m,
              v["sessions"], v["sessions_per_s"], v["crash_files"], v["crash_files_by_kind_on_replay"], v["distinct_findings"],
              v["states (corpus replay)"], v["corpus"] }' "$out/$n/summary"
    done
  } >"$out/summary.md"
}

if ((summarize_only)); then
  for n in "${names[@]}"; do
    [[ -d $out/$n ]] && summarize "$n" "$(port_of "$n")" "$(kinds_for "$n")"
  done
  table
  cat "$out/summary.md"
  exit 0
fi

pids=()
for n in "${names[@]}"; do
  port=$(port_of "$n")
  [[ -n $port ]] || { echo "fuzz-lab: unknown server $n" >&2; continue; }
  kinds=$(kinds_for "$n")
  dir=$out/$n
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/tmp"
  echo "fuzz-lab: $n (127.0.0.1:$port, findings $kinds) for $minutes min: $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg)"
  # libFuzzer's fork mode keeps its job directories under TMPDIR
  (cd "$dir" && TMPDIR=$dir/tmp timeout -s INT $((seconds + 60)) "${ns[@]}" nice -n 19 "$bin/server_fuzzer" \
    -target="127.0.0.1:$port" -smtpspec_findings="$kinds" -dict="$dict" \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -timeout=60 \
    -max_total_time="$seconds" -seed="$seed" -print_final_stats=1 -artifact_prefix="$dir/" \
    "$dir/corpus" "$seeds" >"$dir/log" 2>&1) ||
    echo "fuzz-lab: $n: server_fuzzer exited with $? (in fork mode: the status of the last child, 77 when that one found something; see $dir/log)"
  rm -rf "$dir/tmp"
  echo "fuzz-lab: $n done $(date -u +%T), load $(cut -d' ' -f1-3 /proc/loadavg); $(find "$dir" -maxdepth 1 -name 'crash-*' | wc -l) crash files"
  post "$n" "$port" "$kinds" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
table
cat "$out/summary.md"
