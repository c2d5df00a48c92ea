// Relay (outbound) testing: SMTP smuggling needs an outbound server that passes a
// non-standard end-of-data sequence through and an inbound one that honours it.
// smtpspec submits messages to the target, which is configured to relay a test
// domain to smtpspec's own sink (an embedded reference server), and judges the
// octets that arrive on the other side of the hop.
//
// The relay's outbound side is an SMTP client, so RFC 5321 2.3.8 binds it: "SMTP
// client implementations MUST NOT transmit these characters [bare CR, bare LF]
// except when they are intended as line terminators and then MUST ... transmit
// them only as a <CRLF> sequence." Passing a bare-LF sequence through unchanged
// is that violation (and what makes smuggling possible downstream); normalising
// it to CRLF (dot-stuffed, 4.5.2) or refusing the message conforms.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "smtpspec/harness/runner.hpp"
#include "smtpspec/results/run_result.hpp"

namespace smtpspec::harness {

/// What is checked on the far side of the hop.
enum class relay_check : std::uint8_t {
  no_bare_line_ends,   ///< no bare CR / LF (and so no non-standard end of data) reaches the sink
  content_preserved,   ///< the message arrives with the same content (dot-stuffing across the hop)
  eight_bit_preserved, ///< 8-bit octets arrive unchanged when both hops offer 8BITMIME (RFC 6152)
  long_line,           ///< a text line over 1000 octets: passed, wrapped, or refused (4.5.3.1.6)
};

struct relay_case {
  std::string id, title, requirement;
  std::vector<results::rfc_ref> rfc;
  reference::level level = reference::level::must;
  std::vector<std::string> tags;
  std::string body;               ///< octets between the header and the end-of-data line (raw)
  std::string mail_parameters;    ///< e.g. "BODY=8BITMIME"
  relay_check check = relay_check::no_bare_line_ends;
};

/// The built-in relay cases: each non-standard end-of-data look-alike, bare CR and
/// LF, dot-stuffing, 8-bit content, a long line.
std::vector<relay_case> builtin_relay_cases();

struct relay_settings {
  run_settings submit;                 ///< the target (relay) and how to talk to it
  std::string sink_listen = "127.0.0.1:10040";
  std::string relay_domain = "relay.test";
  std::chrono::milliseconds delivery_timeout{20000};  ///< how long to wait for the relayed copy
};

/// Runs the relay cases: starts the sink, submits each message, waits for it at the
/// sink and judges what arrived. Never throws for network problems (they become
/// ERROR verdicts); throws std::runtime_error if the sink cannot listen.
results::run_result run_relay(const relay_settings& s, const std::vector<relay_case>& cases);

}  // namespace smtpspec::harness
