// The distinct defects of a run, counted for the reports' summaries: the HTML
// tiles and the matrix, and the JUnit properties. Readers compare servers by
// defects (results/defects.hpp), not by failing cases, so every report gives both.
#pragma once

#include <cstddef>

#include "smtpspec/reference/session.hpp"
#include "smtpspec/results/run_result.hpp"

namespace smtpspec::reports {

struct defect_counts {
  /// False for a report written before smtpspec grouped findings into defects (an
  /// older JSON report): it has findings at MUST or SHOULD level but no defect, so
  /// its count is unknown rather than 0.
  bool recorded = true;
  std::size_t total = 0;
  std::size_t security = 0;  ///< desynchronisation or injection (counted in `total` too)
  std::size_t by_level[3] = {};
  std::size_t operator[](reference::level l) const { return by_level[static_cast<int>(l)]; }
};

defect_counts count_defects(const results::run_result& run);

}  // namespace smtpspec::reports
