// Turns a fuzzer session (session_input.hpp) into a scenario file (scenarios/FORMAT.md)
// that the runner replays: a regression case for a finding. Simple command groups
// become `send` / `batch` steps; a standalone STARTTLS becomes a `starttls` step
// (with `inject`); a standalone BDAT a `bdat` step; everything else (mail data with
// its exact end sequence, odd line ends, pipelined mixtures, 8-bit octets) a `raw`
// or `raw_hex` step with the exact octets, `split` where a pause cut the write.
// Every reply is left to the model (no `expect`): the runner judges the case the way
// the fuzzer judged the session.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "session_input.hpp"

namespace smtpspec::fuzz {

struct scenario_options {
  std::string suite = "regressions.fuzz";
  std::string suite_title = "Regressions found by the network fuzzer (fuzz/net)";
  bool with_suite = true;  ///< write the [suite] table (a file needs one)
  std::string id;          ///< default: suite + "." + the source name, sanitised
  std::string title;       ///< default: "Replays the fuzzer session <source> (N actions)"
  std::string requirement =
      "Every command MUST generate exactly one reply (RFC 5321 4.2), read the way RFC 5321 "
      "frames the client's octets: command lines end in CRLF (2.3.8), mail data ends only at "
      "<CRLF>.<CRLF> (4.1.1.4), and plaintext queued behind STARTTLS is not a command "
      "(RFC 3207 4).";
  std::vector<std::string> rfc = {"5321#4.2"};
  std::string level = "MUST";
  std::vector<std::string> tags = {"fuzz", "regression"};
  std::string tls = "none";  ///< the case's tls: none, starttls, implicit
  /// The fuzzer judged reply content (-smtpspec_reply_content, on by default): the
  /// case does too (`check = { reply_content = true }`), or a `syntax` finding about
  /// a greeting or EHLO reply would not reproduce.
  bool reply_content = true;
  std::string source;        ///< where the session came from (a file name), for the comment and id
};

/// The TOML text: an optional [suite], the session as a comment, one [[case]].
std::string to_scenario(const session_input& s, const scenario_options& opt);

/// "crash-3f2a..." -> "regressions.fuzz.crash-3f2a..." ([a-z0-9._-] only).
std::string case_id_for(std::string_view suite, std::string_view source);

/// A TOML basic string ("...") for the octets, with braces doubled when `templated`
/// (scenario strings are expanded by the runner). Only for octets below 0x80.
std::string toml_string(std::string_view octets, bool templated);

}  // namespace smtpspec::fuzz
