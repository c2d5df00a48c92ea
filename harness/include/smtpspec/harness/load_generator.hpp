// The load generator behind `smtpspec load` and ci/bench.sh: many concurrent SMTP
// sessions, each sending the same message several times, as fast as the server
// takes them. It is smtpspec's answer to Postfix's smtp-source.
//
// Every session speaks RFC 5321 properly: EHLO (HELO when EHLO is refused, 3.2),
// then per message MAIL, one RCPT per recipient, DATA, the dot-stuffed content and
// the end-of-data line (4.5.2, 4.1.1.4), and QUIT at the end (4.1.1.10). With
// PIPELINING advertised (RFC 2920) MAIL, the RCPTs and DATA go in one write, and
// once the 354 has come the content, its end-of-data line and the next
// transaction's MAIL/RCPT/DATA (or QUIT) go in one more (RFC 2920 3.1: "the actual
// transfer of message content is explicitly allowed to be the first command in a
// group"), so a message costs one round trip. STARTTLS (RFC 3207) is optional; a
// new EHLO follows the handshake (4.2).
//
// How it is built, for speed: one io_context (one thread unless asked for more),
// one C++20 coroutine per session plus a watchdog coroutine that enforces the
// deadline of whatever the session waits for (connect, handshake, each write and
// each reply). The content is dot-stuffed once for all sessions; the command lines
// are formatted once; replies are read incrementally by the reference model's
// reply_reader, in place, without copying them out.
//
// It counts, never judges: a refusal (4yz/5yz) is counted, the session goes on
// with RSET; a timeout, a malformed reply or a closed connection ends the session
// and is counted as an error with its reason.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtpspec/harness/connection.hpp"
#include "smtpspec/harness/tls.hpp"

namespace smtpspec::harness {

/// How the sessions of a load run get TLS.
enum class load_tls : std::uint8_t {
  none,              ///< plaintext; STARTTLS is never sent
  starttls,          ///< STARTTLS when advertised, plaintext otherwise
  require_starttls,  ///< STARTTLS or the session fails (never sends mail in plaintext)
};
/// "none", "starttls", "require-starttls".
std::string_view to_string(load_tls t) noexcept;
bool load_tls_from_string(std::string_view name, load_tls& out) noexcept;

struct load_options {
  endpoint_spec target;
  /// Sessions running at the same time (smtp-source -s).
  std::size_t connections = 1;
  /// Messages (transactions) per session (smtp-source -d, whose -m counts the
  /// messages of all sessions together).
  std::size_t messages = 1;
  /// Sessions each of the `connections` slots runs one after the other; the run
  /// has connections * sessions sessions in all.
  std::size_t sessions = 1;
  std::string helo = "client.smtpspec.test";  ///< Domain for EHLO/HELO (4.1.1.1)
  std::string from = "sender@example.test";   ///< reverse-path, without angle brackets
  std::vector<std::string> to = {"rcpt@example.test"};  ///< one RCPT each
  /// The message (RFC 5322, CRLF line ends). Sent dot-stuffed, with CRLF added when
  /// it does not end in one; bare CR or LF become CRLF (2.3.8).
  std::string message;
  bool pipelining = true;  ///< group commands when PIPELINING is advertised (RFC 2920)
  load_tls tls = load_tls::none;
  client_tls_options tls_options;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};  ///< TCP connect and TLS handshake
  /// For each reply, and for each write (the content's write gets this much more
  /// per 64 KiB, as slow links need).
  std::chrono::milliseconds reply_timeout{std::chrono::seconds(30)};
  unsigned threads = 1;  ///< threads running the io_context
  /// With one thread: how long to keep polling (yielding the CPU in between) for
  /// the next reply before sleeping in epoll_wait. Zero: sleep at once.
  std::chrono::microseconds spin{20};
};

/// Empty when `o` can be run, else why not (for usage messages).
std::string check_load_options(const load_options& o);

struct load_result {
  std::uint64_t sessions_planned = 0;
  std::uint64_t sessions_completed = 0;  ///< ended with QUIT and 221
  std::uint64_t sessions_failed = 0;     ///< ended by an error (see `errors`)
  std::uint64_t sessions_tls = 0;        ///< ran their transactions inside TLS
  std::uint64_t sessions_pipelined = 0;  ///< the server offered PIPELINING and it was used
  std::uint64_t messages_planned = 0;
  std::uint64_t messages_accepted = 0;   ///< 2yz to the end of data
  std::uint64_t messages_refused = 0;    ///< a 4yz/5yz reply to MAIL, to every RCPT, to DATA or to the end of data
  std::uint64_t messages_failed = 0;     ///< never sent or never answered: the session ended first
  std::uint64_t recipients_refused = 0;  ///< 4yz/5yz replies to RCPT
  std::uint64_t bytes_sent = 0, bytes_received = 0;
  /// Why sessions failed: (reason, how many), most frequent first.
  std::vector<std::pair<std::string, std::uint64_t>> errors;
  double seconds = 0;  ///< wall time from the first connect to the last session's end
  /// Peak resident set of this process in KiB at the end (VmHWM; getrusage
  /// ru_maxrss where /proc is missing).
  long peak_rss_kib = 0;
  /// Open file descriptors of this process (/proc/self/fd) before the run started
  /// and after everything it opened was closed: equal unless something leaked.
  int fds_before = -1, fds_after = -1;

  double messages_per_second() const noexcept { return seconds > 0 ? double(messages_accepted) / seconds : 0; }
  double sessions_per_second() const noexcept {
    return seconds > 0 ? double(sessions_completed + sessions_failed) / seconds : 0;
  }
  /// The result as one JSON object (the field names above).
  std::string to_json() const;
};

/// Runs the load and returns when every session has ended. Never throws for what
/// the network or the server does; throws std::invalid_argument for options that
/// check_load_options() rejects and std::runtime_error when TLS cannot be set up.
load_result run_load(const load_options& o);

/// A message like the one Postfix's smtp-source sends with -l: From, To, Date and
/// Message-Id headers, an empty line, then `payload` octets of text in lines of 80
/// octets (78 characters and CRLF), the last line shorter. Lines never start with
/// ".", so the wire form is the same size for both tools.
std::string make_load_message(std::size_t payload, const std::string& from, const std::string& to);

/// Open file descriptors of this process (entries of /proc/self/fd), or -1.
int count_open_fds();

}  // namespace smtpspec::harness
