// Invariant checks for fuzz targets. A failed check prints what broke and aborts:
// libFuzzer treats the abort as a crash and saves the input, and the replay
// runner (replay_main.cpp) fails its ctest. Unlike assert(), the checks stay on in
// every build type, since Release is how the replay tests usually run.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string_view>

namespace smtpspec::fuzz {

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line, std::string_view why) {
  std::fprintf(stderr, "\n%s:%d: invariant broken: %s\n  %.*s\n", file, line, condition, static_cast<int>(why.size()),
               why.data());
  std::fflush(stderr);
  std::abort();
}

/// True when `part` is empty or lies entirely inside `whole` (a parser's view into
/// the caller's buffer). std::less gives a total order over unrelated pointers,
/// where the built-in < would be unspecified.
inline bool within(std::string_view whole, std::string_view part) noexcept {
  if (part.empty()) return true;
  const std::less<const char*> lt;
  const char* b = whole.data();
  const char* e = whole.data() + whole.size();
  return !lt(part.data(), b) && !lt(e, part.data() + part.size());
}

}  // namespace smtpspec::fuzz

/// FUZZ_CHECK(condition, "what the invariant says, with its RFC section")
#define FUZZ_CHECK(cond, why)                                                        \
  do {                                                                               \
    if (!(cond)) ::smtpspec::fuzz::check_failed(#cond, __FILE__, __LINE__, (why));   \
  } while (false)
