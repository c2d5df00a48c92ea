// What a run produced: one case_result per case and the run's context. The JSON
// report is this structure written out; HTML and JUnit are rendered from the JSON.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "smtpspec/harness/scenario.hpp"
#include "smtpspec/harness/transcript.hpp"
#include "smtpspec/reference/session.hpp"

namespace smtpspec::harness {

/// PASS, FAIL (a MUST broken), WARN (a SHOULD broken; FAIL under --strict), SKIP (a
/// needed extension is not advertised, or the case could not reach what it checks
/// for a reason the RFC allows), ERROR (the case could not run: no connection, TLS
/// failure when TLS was not under test, a harness fault).
enum class verdict : std::uint8_t { pass, fail, warn, skip, error };
std::string_view to_string(verdict v) noexcept;
/// Higher is worse: pass < skip < warn < fail < error is NOT the order used for
/// exit codes; see run_result::exit_code.
int severity(verdict v) noexcept;

/// One thing found wrong (or noted) during a case.
struct case_finding {
  reference::level strength = reference::level::must;
  rfc_ref cite;
  std::string text;       ///< what happened and what the RFC says
  std::string expected;   ///< e.g. "503"
  std::string observed;   ///< e.g. "250 2.1.5 Recipient OK" (untrusted text)
  int step = -1;          ///< index of the step, -1 for setup/checks
  bool security = false;  ///< desynchronisation or injection
};

struct case_result {
  std::string id, suite, title, requirement;
  std::vector<rfc_ref> rfc;
  reference::level level = reference::level::must;
  std::vector<std::string> tags;
  verdict outcome = verdict::pass;
  std::string reason;  ///< one line saying why this verdict
  std::vector<case_finding> findings;
  std::vector<transcript_event> transcript;
  bool transcript_truncated = false;
  std::chrono::microseconds duration{0};
  tls_mode tls = tls_mode::none;
  std::string source;  ///< file:line of the case
};

/// A result that names the case (id, suite, title, requirement, citations, level,
/// tags, source); verdict, findings and transcript are the caller's to fill.
case_result result_for(const scenario_case& c);

/// Sets out.outcome and out.reason from out.findings: an error wins, then the
/// strongest finding (MUST: FAIL; SHOULD: WARN, FAIL when strict), then a skip.
void decide_verdict(case_result& out, bool strict, const std::string& error, const std::string& skip);

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

  std::size_t count(verdict v) const;
  /// design.md: 0 when every case passed (or warned/skipped without --strict), 1
  /// when a case failed or errored.
  int exit_code() const;
};

}  // namespace smtpspec::harness
