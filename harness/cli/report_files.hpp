// Writing a run's reports (JSON, HTML, JUnit) to files, for `server` and `report`.
#pragma once

#include <chrono>
#include <ostream>
#include <string>

#include "smtpspec/reports/baseline.hpp"
#include "smtpspec/results/run_result.hpp"

namespace smtpspec::cli {

/// The current time as ISO 8601 UTC ("2026-11-23T10:00:00Z").
std::string iso_now();
/// Seconds (a command-line value) as milliseconds.
std::chrono::milliseconds seconds_to_ms(double s);

struct report_files {
  std::string json, html, junit;
  /// Fills the unset ones with DIR/report.json, DIR/report.html, DIR/report.junit.xml.
  void in_directory(const std::string& dir);
  bool empty() const noexcept { return json.empty() && html.empty() && junit.empty(); }
};

/// Creates parent directories; prints an error and returns false on failure.
bool write_text_file(const std::string& path, const std::string& content);

/// Reads a JSON report of an earlier run; prints the reason and returns false when
/// the file cannot be read or is not a report.
bool read_run(const std::string& path, results::run_result& out);

/// Writes every report asked for and prints each path to `out`.
bool write_reports(const results::run_result& run, const report_files& files, const reports::baseline_diff* diff,
                   std::ostream& out);

}  // namespace smtpspec::cli
