// Untrusted octets made readable in one line, for transcripts and reports.
#pragma once

#include <string>
#include <string_view>

namespace smtpspec::results {

/// Makes octets readable in one line: printable ASCII as is, CR LF NUL TAB and
/// other controls and 8-bit octets as escapes ("\r", "\n", "\0", "\t", "\x1b",
/// "\xff"), and the backslash itself as "\\" so that a peer sending the text
/// "\r\n" cannot pass for a real CR LF (smuggling transcripts must be exact).
std::string visible(std::string_view bytes);

}  // namespace smtpspec::results
