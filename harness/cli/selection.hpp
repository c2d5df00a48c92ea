// Loading the scenario files a command names and picking the cases it selects.
#pragma once

#include <vector>

#include "commands.hpp"
#include "smtpspec/harness/scenario_loader.hpp"

namespace smtpspec::cli {

struct loaded_cases {
  harness::load_result loaded;                   ///< owns the cases
  std::vector<const harness::scenario_case*> cases;  ///< the selected ones, in file order
};

/// Prints file:line:col errors to stderr and returns false on any problem.
bool load_selection(const selection& sel, loaded_cases& out);

}  // namespace smtpspec::cli
