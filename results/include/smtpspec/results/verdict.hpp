// The verdict of one case, and how verdicts rank against each other.
#pragma once

#include <cstdint>
#include <string_view>

namespace smtpspec::results {

/// PASS, FAIL (a MUST broken), WARN (a SHOULD broken; FAIL under --strict), SKIP (a
/// needed extension is not advertised, or the case could not reach what it checks
/// for a reason the RFC allows), ERROR (the case could not run: no connection, TLS
/// failure when TLS was not under test, a harness fault).
enum class verdict : std::uint8_t { pass, fail, warn, skip, error };
std::string_view to_string(verdict v) noexcept;
/// Higher is worse: pass < skip < warn < fail < error is NOT the order used for
/// exit codes; see run_result::exit_code.
int severity(verdict v) noexcept;

}  // namespace smtpspec::results
