// A case's verdict from its findings; see case_result.hpp.
#include "smtpspec/results/case_result.hpp"

namespace smtpspec::results {

void decide_verdict(case_result& out, bool strict, const std::string& error, const std::string& skip) {
  out.error = error;
  out.inconclusive = skip;
  decide_verdict(out, strict);
}

void decide_verdict(case_result& out, bool strict) {
  const std::string& error = out.error;
  const std::string& skip = out.inconclusive;
  out.reason.clear();
  int worst = -1;  // 0 may, 1 should, 2 must
  const case_finding* top = nullptr;
  const case_finding* elsewhere = nullptr;  // the strongest finding that counts in another case
  for (const auto& f : out.findings) {
    if (!f.counted) {
      if (!elsewhere || f.strength < elsewhere->strength) elsewhere = &f;
      continue;
    }
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
  if (elsewhere && elsewhere->strength != reference::level::may && out.outcome == verdict::pass)
    out.reason = "its own requirement holds; also seen here: " + elsewhere->text + " [" +
                 std::string(reference::to_string(elsewhere->strength)) + ", " + elsewhere->cite.to_string() +
                 ", counted in " + elsewhere->owner + "]";
}

}  // namespace smtpspec::results
