// Baseline gating: compare a run with an earlier one (its JSON report) so that CI
// fails only on what got worse, and the report can list new failures, fixed cases
// and known failures apart.
#pragma once

#include <string>
#include <vector>

#include "smtpspec/results/run_result.hpp"

namespace smtpspec::reports {

struct verdict_change {
  std::string id;
  std::string title;
  results::verdict before = results::verdict::pass;  ///< in the baseline (pass if the case is new)
  results::verdict now = results::verdict::pass;
  bool new_case = false;  ///< not in the baseline
};

struct baseline_diff {
  std::string baseline_started_at;  ///< when the baseline ran
  std::string baseline_target;
  std::vector<verdict_change> worse;           ///< got worse: these decide the exit code
  std::vector<verdict_change> fixed;           ///< failed or errored before, pass now
  std::vector<verdict_change> known_failures;  ///< failed (or errored) before and now, unchanged
  std::vector<verdict_change> other_changes;   ///< any other change (e.g. WARN to SKIP)
  std::vector<std::string> removed;            ///< in the baseline, not in this run
  /// 1 if any case got worse, else 0 (design.md exit codes).
  int exit_code() const noexcept { return worse.empty() ? 0 : 1; }
};

/// How bad a verdict is for gating: pass = skip < warn < fail = error. With
/// `strict`, warn counts as fail.
int gating_rank(results::verdict v, bool strict) noexcept;

baseline_diff compare(const results::run_result& baseline, const results::run_result& current, bool strict = false);

}  // namespace smtpspec::reports
