// The in-memory form of a conformance case, as loaded from scenarios/**/*.toml.
//
// A case reads like the RFC sentence it checks: its citation and requirement
// level, the steps the client takes, and only where the RFC is narrower than the
// reference model, a narrowed expectation. By default every reply is judged by
// the session model (reference/session.hpp).
//
// Strings in steps may hold variables, expanded when the case runs:
//   {client}  the EHLO domain smtpspec uses        {from}  a sender mailbox
//   {to}      a mailbox the target accepts          {domain} the domain of {to}
//   {to2}     a second accepted mailbox              {reject} a mailbox the target refuses
//   {nonce}   a token unique to this run of the case {user} {password} AUTH credentials
//   {auth_plain} base64 of "\0user\0password" (RFC 4616)
//   {user64} {password64} base64 of the user / password (AUTH LOGIN)
//   {repeat:N:TEXT} TEXT repeated N times (N up to 16777216)
//   {{ and }} literal braces
// The loader checks them and stores every string unexpanded (scenarios/FORMAT.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtpspec/reference/server_session.hpp"
#include "smtpspec/reference/session.hpp"
#include "smtpspec/results/rfc_ref.hpp"
#include "smtpspec/results/tls_mode.hpp"

namespace smtpspec::harness {

/// Where something was declared, for file:line:col messages.
struct source_position {
  std::string file;
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string to_string() const;  ///< "file:line:col" (just "file" when line is 0)
};

/// A narrowed expectation for one reply. Empty means "as the model says".
struct reply_expectation {
  std::vector<std::uint16_t> codes;  ///< exact codes allowed, e.g. {503}
  std::uint8_t classes = 0;          ///< bit n: any nyz allowed ("5yz")
  bool close = false;                ///< the server closes instead of (or right after) replying
  bool none = false;                 ///< no reply may arrive (e.g. to injected plaintext)
  bool empty() const noexcept { return codes.empty() && classes == 0 && !close && !none; }
  std::string to_string() const;     ///< "503", "5yz", "close", "none", "250/251"; "" when empty
  /// The code is one of `codes` or of a class in `classes` (no exception for 421).
  bool lists(std::uint16_t code) const noexcept;
};

struct step {
  enum class kind : std::uint8_t {
    send,          ///< one command line; CRLF appended
    batch,         ///< several command lines in one write (pipelining, RFC 2920)
    raw,           ///< octets exactly as given, optionally written in pieces
    data,          ///< mail data after 354: dot-stuffed (4.5.2), then CRLF.CRLF
    bdat,          ///< "BDAT size [LAST]" and the chunk in one write (RFC 3030)
    starttls,      ///< "STARTTLS" (+ queued plaintext in the same write), 220, handshake
    wait,          ///< pause
    read,          ///< read whatever arrives within the duration; every reply is judged
    expect_close,  ///< the server must close the connection within the duration
    close,         ///< smtpspec closes the connection
  };
  kind what = kind::send;
  std::vector<std::string> lines;          ///< send: one; batch: several
  std::string bytes;                       ///< raw, data content, bdat chunk, starttls queued plaintext
                                           ///< (raw_hex: octets with { and } doubled, so expansion restores them)
  std::vector<std::size_t> split;          ///< raw: write in pieces ending at these offsets (of the expanded octets)
  bool bytewise = false;                   ///< raw: one octet per write
  std::optional<std::uint64_t> bdat_size;  ///< bdat: declared size (default: the chunk's length)
  bool bdat_last = false;
  std::chrono::milliseconds duration{0};   ///< wait, read, expect_close
  reply_expectation expect;                ///< the (first) reply of this step
  /// Replies (codes, classes) or a close that are findings of the case at this step
  /// even where the model allows them: 421 before the 4.5.3.2 minimum timeouts.
  reply_expectation fails_on;
  /// What the (first) reply must be for the case to go on: otherwise the server
  /// refused something the case needs, for a reason the RFC allows, and the case
  /// is inconclusive (SKIP) rather than judged.
  reply_expectation precondition;
  std::vector<reply_expectation> expect_each;  ///< batch: one per line (always; empty = as the model says)
  source_position where;
};

/// Checks made once the steps are done.
struct case_checks {
  /// Messages the server may have accepted in this case (smuggling: a second,
  /// smuggled message shows as extra 250 replies after end-of-data).
  std::optional<int> accepted_messages;
  /// Needs a delivery probe (the embedded server, or --maildir): the delivered
  /// message must contain / must not contain this text.
  std::vector<std::string> delivered_contains;
  std::vector<std::string> delivered_lacks;
  /// Also judge reply content (greeting and EHLO grammar, enhanced status codes,
  /// HELO reply form), not only reply codes.
  bool reply_content = false;
};

/// How smtpspec plays the server in a client case (`smtpspec client`): the strict
/// reference server, changed only where the case says.
struct server_script {
  /// Replies in place of the strict server's own (greeting, a command, end-of-data).
  std::vector<reference::scripted_reply> replies;
  /// EHLO keywords advertised instead of the default list, in plaintext / in TLS.
  std::optional<std::vector<std::string>> keywords, tls_keywords;
  bool auth_in_plaintext = false;
  std::optional<std::uint64_t> max_size;  ///< SIZE limit, advertised and enforced (RFC 1870)
  /// How replies reach the client: each in one write, each line in its own write,
  /// or one octet per write (a client must reassemble replies, RFC 5321 4.2).
  enum class pacing : std::uint8_t { whole, lines, bytewise };
  pacing delivery = pacing::whole;
  std::chrono::milliseconds greeting_delay{0};
};

/// Checks on what the client did, made once the session is over.
struct client_checks {
  bool message_equals_submitted = false;  ///< the stored message is the submitted one
  std::optional<int> messages;            ///< messages the server stored
  std::vector<std::string> must_send, must_not_send;  ///< verbs
  std::vector<std::string> plaintext_forbidden;       ///< verbs the client must not send outside TLS
  std::string first_after_tls;                        ///< the verb that must come first inside TLS
  std::string first_command;                          ///< the verb that must open the session
};

/// What the client under test is configured to do (`--exec`, `--exec-starttls`,
/// `--exec-auth`): submit in any way; insist on STARTTLS; authenticate.
enum class client_profile : std::uint8_t { plain, starttls, auth };
std::string_view to_string(client_profile p) noexcept;

struct client_part {
  client_profile profile = client_profile::plain;
  std::string message;  ///< what the client submits ({msgfile}); variables allowed
  server_script server;
  client_checks checks;
};

struct scenario_case {
  std::string id;           ///< stable, e.g. "rfc5321.rcpt.without-mail"
  std::string suite;        ///< the suite name (from the file)
  std::string title;        ///< what the case does, in h2spec's voice
  std::string requirement;  ///< the RFC sentence it checks (quoted)
  std::vector<results::rfc_ref> rfc; ///< first one is the main citation
  reference::level level = reference::level::must;
  std::vector<std::string> tags;
  std::vector<std::string> needs;  ///< EHLO keywords the target must advertise, else SKIP
  results::tls_mode tls = results::tls_mode::none;
  std::optional<std::chrono::milliseconds> timeout;  ///< per-case override
  std::vector<step> steps;
  case_checks checks;
  /// Set for cases of a client suite ([suite] role = "client"): smtpspec plays the
  /// server and judges the client; `steps` is then empty.
  std::optional<client_part> client;
  source_position where;
};

struct scenario_suite {
  std::string name;
  std::string title;
  std::string file;
  bool client_role = false;  ///< [suite] role = "client"
  std::vector<scenario_case> cases;
};

}  // namespace smtpspec::harness
