// `smtpspec load`: smtpspec as a load generator (harness/load_generator.hpp): N
// concurrent sessions of M messages each, with PIPELINING when the server offers
// it and optionally STARTTLS. Postfix's smtp-source does the same job; ci/bench.sh
// compares the two.
#pragma once

#include <CLI/CLI.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace smtpspec::cli {

struct load_command {
  std::string server;               ///< HOST:PORT
  std::size_t connections = 1;      ///< concurrent sessions
  std::size_t messages = 1;         ///< messages per session
  std::size_t sessions = 1;         ///< sessions run one after another by each connection slot
  std::size_t size = 1000;          ///< payload octets of the generated message (ignored with --message)
  std::string message;              ///< a message file instead ("-" for standard input)
  std::string from = "sender@example.test";
  std::vector<std::string> to;      ///< default: rcpt@example.test
  std::string helo = "client.smtpspec.test";
  bool no_pipelining = false;
  std::string tls = "none";         ///< none, starttls, require-starttls
  bool insecure = false;
  std::string ca_file, sni;
  double timeout = 30, connect_timeout = 30;
  unsigned threads = 1;
  unsigned spin_us = 20;            ///< poll this long for the next reply before sleeping
  std::string json;                 ///< write the result as JSON here
  bool quiet = false;
};

/// Declares the `load` subcommand on `app`, filling `cmd` when parsed. Returns the
/// subcommand: after app.parse(), `if (*returned) return run_load(cmd);`.
CLI::App* add_load_command(CLI::App& app, load_command& cmd);

/// Runs it. Exit codes: 0 every message accepted; 1 a message refused or a session
/// failed; 2 usage (bad option value, unreadable message); 3 no session could connect.
int run_load(const load_command& cmd);

}  // namespace smtpspec::cli
