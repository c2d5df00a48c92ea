// Verdict names and run-level counts; see result.hpp.
#include "smtpspec/harness/result.hpp"

#include <algorithm>

namespace smtpspec::harness {

std::string_view to_string(verdict v) noexcept {
  switch (v) {
    case verdict::pass: return "PASS";
    case verdict::fail: return "FAIL";
    case verdict::warn: return "WARN";
    case verdict::skip: return "SKIP";
    case verdict::error: return "ERROR";
  }
  return "?";
}

int severity(verdict v) noexcept {
  switch (v) {
    case verdict::pass: return 0;
    case verdict::skip: return 1;
    case verdict::warn: return 2;
    case verdict::fail: return 3;
    case verdict::error: return 4;
  }
  return 4;
}

std::size_t run_result::count(verdict v) const {
  return static_cast<std::size_t>(
      std::count_if(cases.begin(), cases.end(), [v](const case_result& c) { return c.outcome == v; }));
}

int run_result::exit_code() const { return count(verdict::fail) + count(verdict::error) > 0 ? 1 : 0; }

}  // namespace smtpspec::harness
