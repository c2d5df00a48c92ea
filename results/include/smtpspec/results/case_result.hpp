// What one case produced: its verdict, findings and transcript, named by the case.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "smtpspec/reference/session.hpp"
#include "smtpspec/results/finding.hpp"
#include "smtpspec/results/rfc_ref.hpp"
#include "smtpspec/results/tls_mode.hpp"
#include "smtpspec/results/transcript.hpp"
#include "smtpspec/results/verdict.hpp"

namespace smtpspec::results {

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
  /// Why the case could not run (ERROR), if so.
  std::string error;
  /// Why the case could not reach what it checks (SKIP unless a finding of its own
  /// fails it), if so.
  std::string inconclusive;
};

/// Sets out.outcome and out.reason from the counted findings, out.error and
/// out.inconclusive: an error wins, then the strongest counted finding (MUST:
/// FAIL; SHOULD: WARN, FAIL when strict), then a skip. Findings that count in
/// another case (case_finding::counted false) never set the verdict.
void decide_verdict(case_result& out, bool strict);
/// The same after setting out.error and out.inconclusive.
void decide_verdict(case_result& out, bool strict, const std::string& error, const std::string& skip);

}  // namespace smtpspec::results
