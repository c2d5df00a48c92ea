// The harness's own SMTP client ("the good client"): submits a message, or the
// same message several times over one connection, the way RFC 5321 and its
// extensions want a client to behave. RFC 3207 (STARTTLS), 2920 (PIPELINING),
// 1870 (SIZE), 6152 (8BITMIME), 6531 (SMTPUTF8), 3030 (CHUNKING) and 4954/4616
// (AUTH PLAIN) are covered too.
//
// It has two jobs:
//   * positive control of the client-conformance mode (`smtpspec client`): every
//     client case passes against it. Its defect switches each break exactly one
//     behaviour, so the case aimed at that behaviour FAILs;
//   * load generator of the benchmarks: it never sleeps, writes each pipelined
//     group and each message body in one write, and encodes the body only once
//     for all the transactions of a connection.
//
// The interface is blocking, on top of `connection` (connection.hpp). Every wait
// has a deadline, and every octet each way goes into the caller's transcript.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpspec/harness/connection.hpp"
#include "smtpspec/harness/tls.hpp"
#include "smtpspec/reference/extensions.hpp"
#include "smtpspec/reference/reply.hpp"
#include "smtpspec/results/transcript.hpp"

namespace smtpspec::harness {

/// One way of breaking the client (test-only; `smtpspec send --defect NAME`).
/// Each switch changes one behaviour and leaves every other octet as the good
/// client sends it. The numbers are bit positions; they are never renumbered.
enum class client_defect : std::uint32_t {
  none = 0,
  no_dot_stuffing = 1u << 0,                 ///< content lines starting with "." go out unstuffed (RFC 5321 4.5.2)
  lf_line_endings = 1u << 1,                 ///< commands and data lines end in LF alone (RFC 5321 2.3.8)
  pipeline_without_pipelining = 1u << 2,     ///< MAIL+RCPT+DATA in one write without PIPELINING (RFC 2920 3.1)
  continue_after_failed_starttls = 1u << 3,  ///< starttls-required, yet goes on in plaintext after 454 (RFC 3207 4.1)
  use_injected_reply = 1u << 4,              ///< reads octets queued after the 220 to STARTTLS as its EHLO reply (RFC 3207 4.2)
  no_ehlo_after_starttls = 1u << 5,          ///< goes straight to MAIL after the handshake, keeping old extensions (RFC 3207 4.2)
  /// when every RCPT failed, sends DATA and then the content whatever DATA's reply
  /// (RFC 5321 3.3: "message data MUST NOT be sent unless a 354 reply is received")
  data_after_failed_recipients = 1u << 6,
  no_quit = 1u << 7,                         ///< closes without QUIT (RFC 5321 4.1.1.10)
  no_helo_fallback = 1u << 8,                ///< after EHLO got 5yz, sends MAIL without HELO (RFC 5321 3.2, 4.1.4)
  ignore_size = 1u << 9,                     ///< sends a message larger than the advertised SIZE (RFC 1870 6.1)
  helo_before_ehlo = 1u << 10,               ///< opens with HELO, then EHLO (RFC 5321 4.1.1.1: start with EHLO)
};
constexpr client_defect operator|(client_defect a, client_defect b) {
  return client_defect(std::uint32_t(a) | std::uint32_t(b));
}
constexpr bool has(client_defect set, client_defect bit) { return (std::uint32_t(set) & std::uint32_t(bit)) != 0; }
/// Name of a single defect ("no_dot_stuffing"), or "" for none or a combination.
std::string_view to_string(client_defect d) noexcept;
/// Parses a defect name; client_defect::none if unknown.
client_defect client_defect_from_string(std::string_view name) noexcept;
/// All single defects, for listing.
std::vector<client_defect> all_client_defects();

/// How the client gets TLS.
enum class client_tls_mode : std::uint8_t {
  none,                 ///< plaintext; STARTTLS is never sent
  starttls_if_offered,  ///< STARTTLS when advertised; plaintext when not, or when it fails (opportunistic)
  starttls_required,    ///< STARTTLS or nothing: never sends MAIL in plaintext (RFC 3207 4.1)
  implicit,             ///< TLS from the first octet (RFC 8314 3.3)
};
/// "none", "starttls", "require-starttls", "implicit" (the `--tls` values).
std::string_view to_string(client_tls_mode m) noexcept;
/// Parses the names of to_string(client_tls_mode); false if unknown.
bool client_tls_mode_from_string(std::string_view name, client_tls_mode& out) noexcept;

/// What to send, where, and how.
struct submission {
  endpoint_spec server;
  std::string helo = "client.smtpspec.test";  ///< Domain for EHLO/HELO (RFC 5321 4.1.1.1)
  /// Reverse-path mailbox without the angle brackets (they are added; a given
  /// "<...>" is stripped). Empty or "<>": the null reverse-path.
  std::string from;
  std::vector<std::string> to;  ///< forward-path mailboxes, at least one
  /// The message (RFC 5322), CRLF line ends expected. It is sent exactly:
  /// dot-stuffed (RFC 5321 4.5.2), with CRLF added when it does not end in
  /// one (4.1.1.4). A bare CR or LF becomes CRLF (2.3.8).
  std::string message;
  /// Transactions on the one connection, one after another without RSET (the
  /// reply to the end of data ends a transaction, 4.1.1.4). They stop at the
  /// first transaction that is not delivered to every recipient.
  std::size_t count = 1;
  client_tls_mode tls = client_tls_mode::none;
  client_tls_options tls_options;
  /// AUTH PLAIN (RFC 4954, RFC 4616) when auth_user is not empty; the
  /// credentials are sent only inside TLS unless allow_plaintext_auth.
  std::string auth_user, auth_password;
  bool allow_plaintext_auth = false;
  /// A refused AUTH does not stop the submission: RFC 4954 4, "If an AUTH command
  /// fails, the client MAY proceed without authentication."
  bool auth_optional = false;
  bool use_bdat_if_offered = false;       ///< BDAT n LAST instead of DATA with CHUNKING (RFC 3030)
  bool use_pipelining_if_offered = true;  ///< command groups with PIPELINING (RFC 2920)
  std::chrono::milliseconds reply_timeout{std::chrono::seconds(30)};    ///< for each reply
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};  ///< TCP connect (and TLS handshake)
  client_defect defects = client_defect::none;  ///< test-only
};

/// How a submission ended (the exit-like classification).
enum class submission_status : std::uint8_t {
  delivered,       ///< every message accepted for every recipient
  refused,         ///< a 4yz/5yz reply stopped some part (or the client declined: SIZE, 8BITMIME)
  unreachable,     ///< no TCP connection
  tls_failed,      ///< TLS was required and could not be had (handshake failed, STARTTLS refused or not offered)
  protocol_error,  ///< no reply in time, a malformed reply, an unexpected close, AUTH impossible
};
std::string_view to_string(submission_status s) noexcept;

struct recipient_outcome {
  std::string address;
  bool accepted = false;                 ///< 2yz to RCPT
  std::optional<reference::reply> reply; ///< the reply to RCPT; empty when none came
};

struct submission_result {
  submission_status status = submission_status::protocol_error;
  /// The server accepted the message of every transaction (2yz to the end of
  /// data, or to BDAT LAST) for at least one recipient. With some recipients
  /// refused this is true while status is `refused`.
  bool delivered = false;
  std::size_t messages_accepted = 0;      ///< transactions whose message got 2yz
  std::vector<recipient_outcome> recipients;  ///< of the last transaction attempted
  /// The reply that ended the submission: the one to the end of data when the
  /// message went out, or the refusal that stopped it. Empty when the client
  /// declined by itself or no reply came (see `error`).
  std::optional<reference::reply> final_reply;
  std::string error;  ///< what went wrong, with the command it answered; empty when delivered
  /// The service extensions the client acted on (its last EHLO reply; empty after HELO).
  reference::extension_list extensions;
  bool helo_fallback = false;  ///< EHLO was refused and HELO used (RFC 5321 3.2)
  bool tls = false;            ///< the transactions ran inside TLS
  bool authenticated = false;  ///< AUTH succeeded (235)
};

/// Runs the submission: connect, greeting, EHLO (or HELO), STARTTLS, AUTH, the
/// transactions, QUIT. Never throws for anything the network or the server does;
/// throws std::invalid_argument for a submission that cannot be sent (no
/// recipient, count 0, CR/LF/NUL or "<>" inside an address or the HELO domain),
/// which check_submission() reports beforehand.
submission_result submit(const submission& s, results::transcript& log);

/// Empty if `s` can be submitted, otherwise why not (for usage messages).
std::string check_submission(const submission& s);

}  // namespace smtpspec::harness
