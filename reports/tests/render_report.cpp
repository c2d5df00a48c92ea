// render_report: renders JSON reports as HTML with the report library, for the
// browser test (reports/tests/browser/) and by hand.
//
//   render_report OUT.html RUN.json                       one run
//   render_report --baseline OLD.json OUT.html RUN.json   one run with the baseline comparison
//   render_report --matrix OUT.html A.json B.json ...     several runs side by side
//   --transcript-limit N   octets of transcript shown per case
//
// Exit status: 0 written, 2 usage or unreadable input.
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "smtpspec/reports/baseline.hpp"
#include "smtpspec/reports/html_report.hpp"
#include "smtpspec/reports/json_report.hpp"

namespace {

int usage() {
  std::cerr << "usage: render_report [--matrix] [--baseline OLD.json] [--transcript-limit N] OUT.html IN.json...\n";
  return 2;
}

bool read_run(const std::string& path, smtpspec::results::run_result& run) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::cerr << "render_report: cannot read " << path << "\n";
    return false;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string error;
  if (!smtpspec::reports::from_json(text.str(), run, error)) {
    std::cerr << "render_report: " << path << ": " << error << "\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  bool matrix = false;
  std::string baseline_path;
  smtpspec::reports::html_options opt;
  std::vector<std::string> paths;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--matrix") {
      matrix = true;
    } else if (a == "--baseline" && i + 1 < argc) {
      baseline_path = argv[++i];
    } else if (a == "--transcript-limit" && i + 1 < argc) {
      opt.transcript_limit = std::strtoull(argv[++i], nullptr, 10);
    } else if (!a.empty() && a[0] == '-') {
      return usage();
    } else {
      paths.push_back(a);
    }
  }
  if (paths.size() < 2 || (!matrix && paths.size() != 2)) return usage();

  std::vector<smtpspec::results::run_result> runs(paths.size() - 1);
  for (std::size_t i = 1; i < paths.size(); ++i)
    if (!read_run(paths[i], runs[i - 1])) return 2;

  std::string html;
  smtpspec::reports::baseline_diff diff;
  if (matrix) {
    html = smtpspec::reports::to_html_matrix(runs, opt);
  } else {
    if (!baseline_path.empty()) {
      smtpspec::results::run_result base;
      if (!read_run(baseline_path, base)) return 2;
      diff = smtpspec::reports::compare(base, runs.front(), runs.front().options.strict);
      opt.diff = &diff;
    }
    html = smtpspec::reports::to_html(runs.front(), opt);
  }
  std::ofstream out(paths.front(), std::ios::binary);
  out << html;
  if (!out.flush()) {
    std::cerr << "render_report: cannot write " << paths.front() << "\n";
    return 2;
  }
  return 0;
}
