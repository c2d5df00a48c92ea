// Loading and selecting cases for `server` and `list`.
#include "selection.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>

namespace smtpspec::cli {

std::string builtin_scenarios() {
  if (const char* env = std::getenv("SMTPSPEC_SCENARIOS"); env && *env) return env;
  return SMTPSPEC_SCENARIO_DIR;
}

namespace {

bool glob(const std::string& pattern, const std::string& text) { return fnmatch(pattern.c_str(), text.c_str(), 0) == 0; }

bool suite_matches(const std::string& want, const std::string& name) {
  // "rfc5321" selects rfc5321.*; "rfc5321.data" selects itself and rfc5321.data.*.
  return name == want || (name.size() > want.size() && name.compare(0, want.size(), want) == 0 && name[want.size()] == '.');
}

}  // namespace

bool load_selection(const selection& sel, loaded_cases& out) {
  std::vector<std::string> paths, names;
  for (const auto& s : sel.suites) {
    std::error_code ec;
    if (std::filesystem::exists(s, ec)) paths.push_back(s);
    else names.push_back(s);
  }
  if (paths.empty()) paths.push_back(builtin_scenarios());
  out.loaded = harness::load_scenarios(paths);
  if (!out.loaded.ok()) {
    for (const auto& e : out.loaded.errors) std::cerr << e.to_string() << "\n";
    std::cerr << "smtpspec: " << out.loaded.errors.size() << " error(s) in scenario files\n";
    return false;
  }
  const bool builtin_default = sel.suites.empty();
  for (const auto& suite : out.loaded.suites) {
    // The format's examples repeat checks of the real suites; run them only on request.
    if (builtin_default && suite.name == "examples") continue;
    if ((sel.which == selection::role::server && suite.client_role) ||
        (sel.which == selection::role::client && !suite.client_role))
      continue;
    if (!names.empty() &&
        std::none_of(names.begin(), names.end(), [&](const std::string& n) { return suite_matches(n, suite.name); }))
      continue;
    for (const auto& c : suite.cases) {
      if (!sel.cases.empty() && std::none_of(sel.cases.begin(), sel.cases.end(), [&](auto& g) { return glob(g, c.id); }))
        continue;
      if (std::any_of(sel.skips.begin(), sel.skips.end(), [&](auto& g) { return glob(g, c.id); })) continue;
      if (!sel.tags.empty() && std::none_of(sel.tags.begin(), sel.tags.end(), [&](auto& t) {
            return std::find(c.tags.begin(), c.tags.end(), t) != c.tags.end();
          }))
        continue;
      out.cases.push_back(&c);
    }
  }
  for (const auto& n : names) {
    bool any = std::any_of(out.loaded.suites.begin(), out.loaded.suites.end(),
                           [&](const harness::scenario_suite& s) { return suite_matches(n, s.name); });
    if (!any) {
      std::cerr << "smtpspec: no suite named '" << n << "' (and no such file); see 'smtpspec list'\n";
      return false;
    }
  }
  return true;
}

}  // namespace smtpspec::cli
