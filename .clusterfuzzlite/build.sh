#!/bin/bash -eu
# Run by ClusterFuzzLite inside the image of .clusterfuzzlite/Dockerfile with the
# OSS-Fuzz environment ($CXX, $CXXFLAGS, $LIB_FUZZING_ENGINE, $OUT, $WORK) set.
# Everything is done by the repository's own script, which also works by hand.
exec "$SRC/smtpspec/fuzz/build.sh"
