// `smtpspec client`: smtpspec plays the server and judges an SMTP client.
//
// For each client case the strict reference server (reference/server_session.hpp)
// answers, changed only where the case's script says (a refused RCPT, a 454 to
// STARTTLS, replies split into single octets, plaintext injected after the 220 to
// STARTTLS, a reply held back). The same session model, driven from the server
// side, judges every octet the client sends (check_command: order, pipelining,
// parameters; CRLF only; no mail data without 354); the case's checks then look at
// what the client did as a whole (the message stored equals the one submitted,
// QUIT sent, nothing in plaintext after a failed STARTTLS...).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "smtpspec/harness/result.hpp"
#include "smtpspec/harness/scenario.hpp"
#include "smtpspec/results/run_result.hpp"

namespace smtpspec::harness {

struct client_run_settings {
  std::string listen = "127.0.0.1:2525";
  /// The client under test, per profile; placeholders {host} {port} {from} {to}
  /// {to2} {msgfile} {user} {password} {cafile} {nonce}. No command at all: wait
  /// for connections (a client started by hand); a profile without one: its cases SKIP.
  std::map<client_profile, std::string> exec;
  std::string from = "sender@client.smtpspec.test";
  std::string to = "user@example.test";
  std::string to2 = "second@example.test";
  std::string user = "smtpspec", password = "smtpspec";
  std::string domain = "smtpspec.test";  ///< the server's name in its replies
  bool strict = false;
  /// For a whole case: the client must connect and finish within it.
  std::chrono::milliseconds case_timeout{30000};
  /// Waiting for the client's next octets.
  std::chrono::milliseconds idle_timeout{10000};
  /// Where message files, the CA certificate and client output go (created).
  std::string work_dir;
  std::size_t transcript_limit = 1024 * 1024;
  /// Progress and prompts ("waiting for a client on ..."); may be empty.
  std::function<void(const std::string&)> say;
};

using client_progress_fn = std::function<void(const results::case_result&, std::size_t done, std::size_t total)>;

/// Runs the cases one after another on one listening socket. Throws
/// std::runtime_error when the address cannot be bound or TLS cannot be set up.
std::vector<results::case_result> run_client_cases(const std::vector<const scenario_case*>& cases, const client_run_settings& s,
                                          results::target_info& info, const client_progress_fn& progress = {});

}  // namespace smtpspec::harness
