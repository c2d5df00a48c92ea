// Verdict names and ranks; see verdict.hpp.
#include "smtpspec/results/verdict.hpp"

namespace smtpspec::results {

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

}  // namespace smtpspec::results
