// `smtpspec client`: smtpspec plays the server, case by case, and judges the SMTP
// client under test (started with --exec, or by hand).
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "report_files.hpp"
#include "selection.hpp"
#include "smtpspec/reports/baseline.hpp"
#include "smtpspec/reports/json_report.hpp"

namespace smtpspec::cli {

void print_baseline(const reports::baseline_diff& d, std::ostream& out);

int run_client(client_command& cmd) {
  auto& s = cmd.settings;
  s.listen = cmd.listen;
  s.case_timeout = seconds_to_ms(cmd.case_timeout);
  s.idle_timeout = seconds_to_ms(cmd.idle_timeout);
  if (!cmd.exec.empty()) s.exec[harness::client_profile::plain] = cmd.exec;
  if (!cmd.exec_starttls.empty()) s.exec[harness::client_profile::starttls] = cmd.exec_starttls;
  if (!cmd.exec_auth.empty()) s.exec[harness::client_profile::auth] = cmd.exec_auth;
  std::error_code ec;
  s.work_dir = !cmd.work_dir.empty() ? cmd.work_dir
               : !cmd.output.empty() ? cmd.output + "/client-work"
                                     : (std::filesystem::temp_directory_path(ec) / ("smtpspec-client-" + std::to_string(::getpid()))).string();

  std::optional<results::run_result> baseline;
  if (!cmd.baseline.empty() && !read_run(cmd.baseline, baseline.emplace())) return exit_code::usage;

  cmd.select.which = selection::role::client;
  loaded_cases lc;
  if (!load_selection(cmd.select, lc)) return exit_code::usage;
  if (lc.cases.empty()) {
    std::cerr << "smtpspec: no client case matches the selection\n";
    return exit_code::usage;
  }

  results::run_result run;
  run.tool_version = SMTPSPEC_VERSION;
  run.started_at = iso_now();
  run.options.strict = s.strict;
  run.options.case_timeout = s.case_timeout;
  run.options.reply_timeout = s.idle_timeout;
  run.options.suites = cmd.select.suites;
  run.options.filters = cmd.select.cases;
  const auto started = std::chrono::steady_clock::now();
  const bool tty = isatty(STDERR_FILENO) != 0;
  if (!cmd.quiet) {
    s.say = [](const std::string& line) { std::cerr << line << "\n"; };
    std::cout << "smtpspec " << SMTPSPEC_VERSION << ": " << lc.cases.size() << " client cases\n" << std::flush;
  }
  run.cases = harness::run_client_cases(lc.cases, s, run.target, [&](const results::case_result& r, std::size_t done, std::size_t total) {
    if (tty && !cmd.quiet)
      std::cerr << "[" << std::setw(3) << done << "/" << total << "] " << results::to_string(r.outcome) << " " << r.id << "\n"
                << std::flush;
  });
  assign_defects(run, s.strict);
  run.finished_at = iso_now();
  run.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);

  if (!cmd.quiet)
    for (const auto& r : run.cases)
      if (cmd.verbose || r.outcome == results::verdict::fail || r.outcome == results::verdict::error ||
          r.outcome == results::verdict::warn)
        print_case(r, cmd.verbose);

  std::optional<reports::baseline_diff> diff;
  if (baseline) diff = reports::compare(*baseline, run, s.strict);
  report_files files{cmd.json, cmd.html, cmd.junit};
  if (!cmd.output.empty()) files.in_directory(cmd.output);
  std::ostringstream paths;
  const bool written = write_reports(run, files, diff ? &*diff : nullptr, paths);
  const double secs = static_cast<double>(run.duration.count()) / 1e6;
  std::cout << run.cases.size() << " client cases: " << run.count(results::verdict::pass) << " PASS, "
            << run.count(results::verdict::fail) << " FAIL, " << run.count(results::verdict::warn) << " WARN, "
            << run.count(results::verdict::skip) << " SKIP, " << run.count(results::verdict::error) << " ERROR in "
            << std::fixed << std::setprecision(2) << secs << " s\n";
  if (!cmd.quiet) print_defects(run, std::cout, cmd.verbose);
  if (!cmd.quiet) std::cout << paths.str();
  if (!written) return exit_code::usage;
  if (diff) {
    print_baseline(*diff, std::cout);
    return diff->exit_code();
  }
  return run.exit_code();
}

}  // namespace smtpspec::cli
