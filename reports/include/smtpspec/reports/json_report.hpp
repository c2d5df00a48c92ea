// The JSON report: the complete, machine-readable result of a run (tool version,
// target, options, times, every case with its citation, verdict, findings and
// transcript). Everything a server sent is untrusted: transcript octets are kept
// exactly (as a JSON string when they are valid UTF-8, else as base64), other text
// has invalid UTF-8 replaced so the document is always valid JSON.
#pragma once

#include <string>

#include "smtpspec/results/run_result.hpp"

namespace smtpspec::reports {

/// Format version of the document; bumped when a field changes meaning.
inline constexpr int json_format_version = 1;

std::string to_json(const results::run_result& run, int indent = 2);

/// Reads a JSON report back (for `smtpspec report`). Returns false with a message
/// on a malformed document.
bool from_json(const std::string& text, results::run_result& out, std::string& error);

}  // namespace smtpspec::reports
