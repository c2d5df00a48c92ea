// Baseline comparison; see baseline.hpp.
#include "smtpspec/reports/baseline.hpp"

#include <unordered_map>
#include <unordered_set>

namespace smtpspec::reports {

int gating_rank(results::verdict v, bool strict) noexcept {
  switch (v) {
    case results::verdict::pass:
    case results::verdict::skip: return 0;
    case results::verdict::warn: return strict ? 2 : 1;
    case results::verdict::fail:
    case results::verdict::error: return 2;
  }
  return 2;
}

baseline_diff compare(const results::run_result& baseline, const results::run_result& current, bool strict) {
  baseline_diff d;
  d.baseline_started_at = baseline.started_at;
  d.baseline_target = baseline.target.address;
  std::unordered_map<std::string, results::verdict> before;
  for (const auto& c : baseline.cases) before.emplace(c.id, c.outcome);
  std::unordered_set<std::string> seen;
  for (const auto& c : current.cases) {
    seen.insert(c.id);
    verdict_change ch{c.id, c.title, results::verdict::pass, c.outcome, false};
    auto it = before.find(c.id);
    if (it == before.end()) ch.new_case = true;
    else ch.before = it->second;
    const int was = gating_rank(ch.before, strict), is = gating_rank(ch.now, strict);
    if (is > was) d.worse.push_back(ch);
    else if (was == 2 && is == 2) d.known_failures.push_back(ch);
    else if (was == 2 && is == 0) d.fixed.push_back(ch);
    else if (ch.before != ch.now && !ch.new_case) d.other_changes.push_back(ch);
  }
  for (const auto& c : baseline.cases)
    if (!seen.count(c.id)) d.removed.push_back(c.id);
  return d;
}

}  // namespace smtpspec::reports
