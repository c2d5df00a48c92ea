// `smtpspec report`: re-render a run's JSON report (HTML, JUnit, JSON), optionally
// gated by a baseline; `smtpspec report merge`: one HTML matrix of several runs.
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "report_files.hpp"
#include "smtpspec/reports/html_report.hpp"
#include "smtpspec/reports/json_report.hpp"

namespace smtpspec::cli {

void print_baseline(const reports::baseline_diff& d, std::ostream& out);

namespace {

}  // namespace

int run_report(const report_command& cmd) {
  results::run_result run;
  if (!read_run(cmd.input, run)) return exit_code::usage;
  std::optional<reports::baseline_diff> diff;
  if (!cmd.baseline.empty()) {
    results::run_result before;
    if (!read_run(cmd.baseline, before)) return exit_code::usage;
    diff = reports::compare(before, run, run.options.strict);
  }
  report_files files{cmd.json, cmd.html, cmd.junit};
  if (!cmd.output.empty()) files.in_directory(cmd.output);
  if (files.empty()) {
    std::cerr << "smtpspec: nothing to write; give --html, --junit, --json or --output\n";
    return exit_code::usage;
  }
  if (!write_reports(run, files, diff ? &*diff : nullptr, std::cout)) return exit_code::usage;
  if (diff) {
    print_baseline(*diff, std::cout);
    return diff->exit_code();
  }
  return run.exit_code();
}

int run_merge(const merge_command& cmd) {
  std::vector<results::run_result> runs;
  for (const auto& path : cmd.inputs) {
    results::run_result r;
    if (!read_run(path, r)) return exit_code::usage;
    runs.push_back(std::move(r));
  }
  if (!write_text_file(cmd.html, reports::to_html_matrix(runs))) return exit_code::usage;
  std::cout << "HTML matrix: " << cmd.html << " (" << runs.size() << " runs)\n";
  return exit_code::ok;
}

}  // namespace smtpspec::cli
