// What a run produced: one case_result per case and the run's context. The JSON
// report is this structure written out; HTML and JUnit are rendered from the JSON.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "smtpspec/results/case_result.hpp"
#include "smtpspec/results/defects.hpp"
#include "smtpspec/results/tls_mode.hpp"
#include "smtpspec/results/verdict.hpp"

namespace smtpspec::results {

struct target_info {
  /// What was tested: "server" (smtpspec was the client), "client" (smtpspec
  /// played the server: `smtpspec client`) or "relay".
  std::string role = "server";
  std::string address;         ///< HOST:PORT as given
  bool embedded = false;       ///< the built-in reference server
  tls_mode tls = tls_mode::none;
  std::string banner;          ///< the greeting text (untrusted)
  std::vector<std::string> extensions;      ///< EHLO keywords (with params) in plaintext
  std::vector<std::string> tls_extensions;  ///< after STARTTLS, if it could be had
  std::string tls_description;              ///< protocol and cipher, if TLS was had
  std::string tls_problem;                  ///< why TLS could not be had, if so
};

struct run_options_summary {
  bool strict = false;
  unsigned jobs = 1;
  std::chrono::milliseconds reply_timeout{0};
  std::chrono::milliseconds case_timeout{0};
  std::vector<std::string> suites;
  std::vector<std::string> filters;
};

struct run_result {
  std::string tool_version;
  target_info target;
  run_options_summary options;
  std::string started_at, finished_at;  ///< ISO 8601 UTC
  std::chrono::microseconds duration{0};
  std::vector<case_result> cases;
  /// The distinct defects of the run (assign_defects), strongest first.
  std::vector<defect> defects;

  std::size_t count(verdict v) const;
  /// design.md: 0 when every case passed (or warned/skipped without --strict), 1
  /// when a case failed or errored.
  int exit_code() const;
};

}  // namespace smtpspec::results
