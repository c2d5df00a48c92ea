// The HTML report: ONE self-contained file (no external scripts, styles, fonts or
// requests; a Content-Security-Policy forbids any), readable without JavaScript
// (summary, every case as <details>), with JavaScript only for filtering. Every
// byte a server sent is untrusted and is rendered as text, never as markup.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "smtpspec/reports/baseline.hpp"
#include "smtpspec/results/run_result.hpp"

namespace smtpspec::reports {

struct html_options {
  std::string title;                         ///< default: "smtpspec: <target>"
  std::size_t transcript_limit = 256 * 1024; ///< octets of transcript shown per case; a marker shows the cut
  const baseline_diff* diff = nullptr;       ///< when set, the new / fixed / known failure lists are shown
  /// Octets of transcript shown in the whole report. Once spent, each further case
  /// still shows its first 4 KiB: the file stays proportional to the limits even
  /// when every case met a peer that sent megabytes.
  std::size_t total_transcript_limit = 8 * 1024 * 1024;
  /// Octets shown of any other single text (banner, reason, finding, observed reply,
  /// requirement...); a marker shows the cut.
  std::size_t text_limit = 4 * 1024;
};

/// One run: the verdict counts with the distinct defects beside them, the defects
/// listed, every case with its findings and notes (defects that count elsewhere).
std::string to_html(const results::run_result& run, const html_options& opt = {});

/// Several runs side by side: the distinct defects per target, then cases down,
/// targets across, differing rows marked.
std::string to_html_matrix(const std::vector<results::run_result>& runs, const html_options& opt = {});

}  // namespace smtpspec::reports
