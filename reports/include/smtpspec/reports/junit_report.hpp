// JUnit XML: one <testsuite> per suite, one <testcase> per case (classname = the
// suite, name = "id: title"); FAIL -> <failure>, ERROR -> <error>, SKIP ->
// <skipped>; the transcript in <system-out>; target, options and the run's
// distinct defects (counts in all and by level) as <properties>. A <failure> holds
// the findings that count in its case; the defects that count in another case are
// notes in <system-out>, each naming that case (one defect, one failure).
// Valid against reports/junit.xsd whatever bytes the server sent: characters XML
// 1.0 forbids are written as visible escapes, never as raw octets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "smtpspec/results/run_result.hpp"

namespace smtpspec::reports {

struct junit_options {
  std::size_t transcript_limit = 64 * 1024;  ///< octets of transcript per case in <system-out>
  bool strict = false;                       ///< WARN is reported as a failure
  /// Octets of one free-text field (a finding's text, expected or observed, the
  /// banner, a property value); longer text is cut with a marker. Server text is
  /// untrusted and a reply frame may be 64 KiB, so every field is bounded.
  std::size_t text_limit = 4096;
  std::size_t message_limit = 1024;  ///< octets of a failure/error/skipped `message` attribute
  std::size_t max_findings = 100;    ///< findings listed per case; the rest are counted
};

std::string to_junit(const results::run_result& run, const junit_options& opt = {});

/// Makes untrusted octets safe for XML 1.0 text and attributes: valid UTF-8 of
/// characters XML allows is kept, everything else (C0/C1 controls, U+FFFE/U+FFFF,
/// UTF-8-encoded surrogates, invalid UTF-8) becomes a visible escape as
/// results::visible() writes it ("\0", "\x1b", "\xff"). CR is always escaped (XML
/// parsers would turn it into LF); LF and TAB are kept only when `multiline`. The
/// result is cut at about `limit` octets with "... (N octets not shown)".
std::string xml_safe(std::string_view text, bool multiline, std::size_t limit);

}  // namespace smtpspec::reports
