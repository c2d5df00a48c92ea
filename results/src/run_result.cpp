// Run-level counts and the exit code; see run_result.hpp.
#include "smtpspec/results/run_result.hpp"

#include <algorithm>

namespace smtpspec::results {

std::size_t run_result::count(verdict v) const {
  return static_cast<std::size_t>(
      std::count_if(cases.begin(), cases.end(), [v](const case_result& c) { return c.outcome == v; }));
}

int run_result::exit_code() const { return count(verdict::fail) + count(verdict::error) > 0 ? 1 : 0; }

}  // namespace smtpspec::results
