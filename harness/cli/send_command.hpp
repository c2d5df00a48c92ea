// `smtpspec send`: one message (or --count of them over one connection) through
// smtpspec's own RFC-conformant SMTP client (harness/smtp_client.hpp). It is the
// positive control of `smtpspec client` and a load generator for benchmarks.
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace smtpspec::cli {

struct send_command {
  std::string server;              ///< HOST:PORT
  std::string from;                ///< reverse-path mailbox; "<>" for the null path
  std::vector<std::string> to;     ///< forward-path mailboxes
  std::string message;             ///< file, or "-" for standard input
  std::string helo = "client.smtpspec.test";
  std::string tls = "none";        ///< none, starttls, require-starttls, implicit
  bool insecure = false;
  std::string ca_file, sni;
  std::string auth_user, auth_password;
  bool allow_plaintext_auth = false;
  bool auth_optional = false;
  bool bdat = false, no_pipelining = false;
  double timeout = 30, connect_timeout = 30;
  std::size_t count = 1;
  bool verbose = false;
  std::vector<std::string> defects;  ///< test-only: break the client (harness::client_defect names)
};

/// Reads a message file, or standard input for "-"; sets `error` on failure.
/// Shared with `smtpspec load`.
bool read_message(const std::string& name, std::string& out, std::string& error);
/// Seconds (a command-line value) as milliseconds, rounded.
std::chrono::milliseconds seconds(double s);

/// Declares the `send` subcommand on `app`, filling `cmd` when parsed. Returns the
/// subcommand: after app.parse(), `if (*returned) return run_send(cmd);`.
CLI::App* add_send_command(CLI::App& app, send_command& cmd);

/// Runs it. Exit codes: 0 delivered to every recipient, 1 refused (partly or
/// wholly) or a protocol error, 2 usage (bad option value, unreadable message),
/// 3 unreachable or TLS failed.
int run_send(const send_command& cmd);

}  // namespace smtpspec::cli
