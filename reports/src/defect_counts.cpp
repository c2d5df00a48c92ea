// Counting a run's distinct defects; see defect_counts.hpp.
#include "smtpspec/reports/defect_counts.hpp"

#include <algorithm>

namespace smtpspec::reports {

defect_counts count_defects(const results::run_result& run) {
  defect_counts n;
  n.total = run.defects.size();
  for (const auto& d : run.defects) {
    ++n.by_level[static_cast<int>(d.strength)];
    n.security += d.security ? 1 : 0;
  }
  // assign_defects makes a defect of every MUST and SHOULD finding, so a run with
  // such findings and no defect was never grouped (an older report).
  if (n.total == 0)
    n.recorded = std::none_of(run.cases.begin(), run.cases.end(), [](const results::case_result& c) {
      return std::any_of(c.findings.begin(), c.findings.end(),
                         [](const results::case_finding& f) { return f.strength != reference::level::may; });
    });
  return n;
}

}  // namespace smtpspec::reports
