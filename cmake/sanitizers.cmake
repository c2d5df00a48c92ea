# ASan+UBSan for the whole tree. -fno-sanitize=function: clang-14 cannot
# instrument coroutine frames with it (see shared/toolchain.md, item 5).
# SMTPSPEC_SANITIZERS narrows the set: the fuzz-fast preset keeps UBSan alone, which
# costs little, and whose runtime still carries the __sanitizer_cov_* hooks that the
# non-fuzzer binaries of a coverage-instrumented tree need to link (see below).
set(SMTPSPEC_SANITIZERS "address,undefined" CACHE STRING "Sanitizers of SMTPSPEC_SANITIZE (-fsanitize= list)")
if(SMTPSPEC_SANITIZE)
  set(_san -fsanitize=${SMTPSPEC_SANITIZERS} -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  if(CMAKE_CXX_COMPILER_ID MATCHES "Clang" AND SMTPSPEC_SANITIZERS MATCHES "undefined")
    list(APPEND _san -fno-sanitize=function)
  endif()
  add_compile_options(${_san})
  add_link_options(${_san})
endif()

if(SMTPSPEC_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "SMTPSPEC_FUZZ needs clang (libFuzzer); use the 'fuzz' preset")
endif()

# Coverage feedback for libFuzzer must come from the code under test (reference/,
# harness/), not only from the fuzz target's own file, so the whole tree is
# instrumented. The same flag at link time gives binaries that are not fuzz
# targets (unit tests, the CLI) the __sanitizer_cov_* hooks from a sanitizer
# runtime, so they still link without libFuzzer (shared/toolchain.md, item 4).
# fuzz/build.sh empties it: under OSS-Fuzz, $CFLAGS carry the instrumentation.
if(SMTPSPEC_FUZZ)
  set(SMTPSPEC_FUZZ_INSTRUMENT "-fsanitize=fuzzer-no-link" CACHE STRING
      "Coverage instrumentation for every target of a fuzz build (empty: taken from CXXFLAGS)")
  if(SMTPSPEC_FUZZ_INSTRUMENT)
    add_compile_options(${SMTPSPEC_FUZZ_INSTRUMENT})
    add_link_options(${SMTPSPEC_FUZZ_INSTRUMENT})
  endif()
endif()
