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

case_result result_for(const scenario_case& c) {
  case_result out;
  out.id = c.id;
  out.suite = c.suite;
  out.title = c.title;
  out.requirement = c.requirement;
  out.rfc = c.rfc;
  out.level = c.level;
  out.tags = c.tags;
  out.source = c.where.to_string();
  return out;
}

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

std::size_t run_result::count(verdict v) const {
  return static_cast<std::size_t>(
      std::count_if(cases.begin(), cases.end(), [v](const case_result& c) { return c.outcome == v; }));
}

int run_result::exit_code() const { return count(verdict::fail) + count(verdict::error) > 0 ? 1 : 0; }

}  // namespace smtpspec::harness
