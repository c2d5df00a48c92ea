// Writing a run's reports; see report_files.hpp.
#include "report_files.hpp"

#include <ctime>
#include <iomanip>
#include <sstream>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "smtpspec/reports/html_report.hpp"
#include "smtpspec/reports/json_report.hpp"
#include "smtpspec/reports/junit_report.hpp"

namespace smtpspec::cli {

std::string iso_now() {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%SZ");
  return out.str();
}

bool read_run(const std::string& path, results::run_result& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "smtpspec: cannot read " << path << "\n";
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string problem;
  if (!reports::from_json(ss.str(), out, problem)) {
    std::cerr << "smtpspec: " << path << ": " << problem << "\n";
    return false;
  }
  return true;
}

std::chrono::milliseconds seconds_to_ms(double s) { return std::chrono::milliseconds(static_cast<long long>(s * 1000.0)); }

void report_files::in_directory(const std::string& dir) {
  const std::filesystem::path d(dir);
  if (json.empty()) json = (d / "report.json").string();
  if (html.empty()) html = (d / "report.html").string();
  if (junit.empty()) junit = (d / "report.junit.xml").string();
}

bool write_text_file(const std::string& path, const std::string& content) {
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  if (!out) {
    std::cerr << "smtpspec: cannot write " << path << "\n";
    return false;
  }
  return true;
}

bool write_reports(const results::run_result& run, const report_files& files, const reports::baseline_diff* diff,
                   std::ostream& out) {
  bool ok = true;
  if (!files.json.empty() && (ok &= write_text_file(files.json, reports::to_json(run))))
    out << "JSON report:  " << files.json << "\n";
  if (!files.html.empty()) {
    reports::html_options opt;
    opt.diff = diff;
    if ((ok &= write_text_file(files.html, reports::to_html(run, opt)))) out << "HTML report:  " << files.html << "\n";
  }
  if (!files.junit.empty()) {
    reports::junit_options opt;
    opt.strict = run.options.strict;
    if ((ok &= write_text_file(files.junit, reports::to_junit(run, opt)))) out << "JUnit report: " << files.junit << "\n";
  }
  return ok;
}

}  // namespace smtpspec::cli
