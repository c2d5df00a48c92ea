// A case's verdict from its findings; see case_result.hpp.
#include "smtpspec/results/case_result.hpp"

namespace smtpspec::results {

void decide_verdict(case_result& out, bool strict, const std::string& error, const std::string& skip) {
  int worst = -1;  // 0 may, 1 should, 2 must
  const case_finding* top = nullptr;
  for (const auto& f : out.findings) {
    int w = f.strength == reference::level::must ? 2 : f.strength == reference::level::should ? 1 : 0;
    if (w > worst) {
      worst = w;
      top = &f;
    }
  }
  if (!error.empty()) {
    out.outcome = verdict::error;
    out.reason = error;
  } else if (worst == 2) {
    out.outcome = verdict::fail;
  } else if (worst == 1) {
    out.outcome = strict ? verdict::fail : verdict::warn;
  } else if (!skip.empty()) {
    out.outcome = verdict::skip;
    out.reason = skip;
  } else {
    out.outcome = verdict::pass;
  }
  if (top && out.reason.empty()) {
    out.reason = top->text;
    const std::string cite = top->cite.to_string();
    if (out.reason.find(cite) == std::string::npos)
      out.reason += " [" + std::string(reference::to_string(top->strength)) + ", " + cite + "]";
    else
      out.reason += " [" + std::string(reference::to_string(top->strength)) + "]";
  }
}

}  // namespace smtpspec::results
