#!/usr/bin/env bash
# Builds every fuzz target the OSS-Fuzz way, for OSS-Fuzz, ClusterFuzzLite
# (.clusterfuzzlite/build.sh runs this) or by hand.
#
# Reads the OSS-Fuzz build environment:
#   CXX, CXXFLAGS        compiler and flags (sanitizers and coverage instrumentation,
#                        e.g. -fsanitize=address,fuzzer-no-link); CC/CFLAGS are
#                        unused: the project has no C sources
#   LIB_FUZZING_ENGINE   what a target links for its main() (-fsanitize=fuzzer)
#   OUT                  where the targets go
#   WORK                 scratch space for the build tree (default /tmp)
# and writes, for every target NAME of fuzz/reference, fuzz/net and fuzz/client:
#   $OUT/NAME, $OUT/NAME.dict, $OUT/NAME.options (when they exist beside the
#   source) and $OUT/NAME_seed_corpus.zip (the NAME_corpus/ directory).
#
# fuzz/net and fuzz/client targets need the harness (Boost >= 1.74, OpenSSL,
# toml++, CLI11). SMTPSPEC_FUZZ_NET=auto (the default) builds them when the harness configures
# and builds, and otherwise says so and goes on with the others; "on" makes that
# an error, "off" skips them.
#
# By hand, with the toolchain of this repository's fuzz preset:
#   CXX=clang++-14 CXXFLAGS="-fsanitize=address,fuzzer-no-link -O1 -g" \
#   LIB_FUZZING_ENGINE=-fsanitize=fuzzer OUT=/tmp/fuzz-out WORK=/tmp/fuzz-work fuzz/build.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${OUT:?set OUT to the directory the fuzz targets go to}"
: "${CXX:=clang++}"
: "${CXXFLAGS:=}"
: "${LIB_FUZZING_ENGINE:=-fsanitize=fuzzer}"
: "${WORK:=/tmp}"
: "${SMTPSPEC_FUZZ_NET:=auto}"
mkdir -p "$OUT" "$WORK"
OUT=$(cd "$OUT" && pwd)
build="$(cd "$WORK" && pwd)/smtpspec-fuzz-build"

configure() {
  # No CMAKE_BUILD_TYPE: $CXXFLAGS alone decide optimisation and debug info, and
  # SMTPSPEC_FUZZ_INSTRUMENT is emptied because $CXXFLAGS carry the
  # instrumentation the engine wants (cmake/sanitizers.cmake).
  cmake -S "$root" -B "$build" -G Ninja \
    -DCMAKE_BUILD_TYPE= \
    -DCMAKE_CXX_COMPILER="$CXX" \
    -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
    -DSMTPSPEC_FUZZ=ON \
    -DSMTPSPEC_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
    -DSMTPSPEC_FUZZ_INSTRUMENT= \
    -DSMTPSPEC_SANITIZE=OFF \
    -DSMTPSPEC_TESTS=OFF \
    -DSMTPSPEC_BENCHMARKS=OFF \
    -DSMTPSPEC_WERROR=OFF \
    -DSMTPSPEC_HARNESS="$1"
}

harness=ON
[[ $SMTPSPEC_FUZZ_NET == off ]] && harness=OFF
rm -rf "$build"
if ! configure "$harness"; then
  if [[ $harness == ON && $SMTPSPEC_FUZZ_NET == auto ]]; then
    echo "fuzz/build.sh: the harness does not configure here; building the fuzz/reference targets only" >&2
    rm -rf "$build"
    harness=OFF
    configure OFF
  else
    exit 1
  fi
fi

# Written by fuzz/CMakeLists.txt: name, binary, dict, options, corpus dirs, source dir.
manifest="$build/fuzz/fuzz_targets.tsv"
[[ -s $manifest ]] || { echo "fuzz/build.sh: no fuzz targets listed in $manifest" >&2; exit 1; }

zip_corpus() {  # zip_corpus ZIP DIR...: the files of the directories, flat
  local zip=$1
  shift
  rm -f "$zip"
  local dir
  for dir in "$@"; do
    [[ -d $dir ]] || continue
    (cd "$dir" && find . -type f -print0 | xargs -0 -r zip -q -j "$zip")
  done
}

built=0
while IFS=$'\t' read -r name binary dict options corpora srcdir; do
  [[ -n $name ]] || continue
  if ! cmake --build "$build" --target "$name" < /dev/null; then
    if [[ $srcdir != "$root/fuzz/reference"* && $SMTPSPEC_FUZZ_NET == auto ]]; then
      echo "fuzz/build.sh: $name (needs the harness) does not build here; skipped" >&2
      continue
    fi
    exit 1
  fi
  cp "$binary" "$OUT/$name"
  [[ $dict != - ]] && cp "$dict" "$OUT/$name.dict"
  [[ $options != - ]] && cp "$options" "$OUT/$name.options"
  IFS=',' read -r -a dirs <<< "$corpora"
  zip_corpus "$OUT/${name}_seed_corpus.zip" "${dirs[@]}"
  built=$((built + 1))
  echo "fuzz/build.sh: $OUT/$name"
done < "$manifest"

echo "fuzz/build.sh: $built fuzz targets in $OUT (harness: $harness)"
[[ $built -gt 0 ]]
