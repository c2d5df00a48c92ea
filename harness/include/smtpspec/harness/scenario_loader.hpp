// Loads scenario files (TOML, via toml++) into scenario_suite values. Nothing in
// a scenario file is trusted to be well-formed: every problem (TOML syntax, an
// unknown key, a wrong type, a missing step action, an unknown variable, a bad
// RFC reference, a duplicate case id) becomes an error "file:line:col: message";
// loading never throws and never aborts the program.
#pragma once

#include <string>
#include <vector>

#include "smtpspec/harness/scenario.hpp"

namespace smtpspec::harness {

struct load_error {
  source_position where;
  std::string message;
  std::string to_string() const;  ///< "file:line:col: message"
};

struct load_result {
  std::vector<scenario_suite> suites;
  std::vector<load_error> errors;
  bool ok() const noexcept { return errors.empty(); }
};

/// Loads one file. `text` is the content; `file` names it in messages.
load_result load_scenario_text(std::string_view text, const std::string& file);
/// Loads a file, or every *.toml under a directory (recursively, sorted by path).
load_result load_scenarios(const std::string& path);
/// Loads several paths; case ids must be unique across all of them.
load_result load_scenarios(const std::vector<std::string>& paths);

/// The variables a step string may use (see scenario.hpp).
bool is_known_variable(std::string_view name);

}  // namespace smtpspec::harness
