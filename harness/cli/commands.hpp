// The subcommands of `smtpspec`; main.cpp wires them to CLI11.
#pragma once

#include <string>
#include <vector>

#include "smtpspec/harness/client_runner.hpp"
#include "smtpspec/harness/runner.hpp"

namespace smtpspec::cli {

/// Exit codes (design.md): 0 every MUST case passed; 1 a case failed or errored;
/// 2 usage, configuration or scenario-file error; 3 the target could not be reached.
enum exit_code : int { ok = 0, failed = 1, usage = 2, unreachable = 3 };

/// Which cases to run or list.
struct selection {
  /// Which suites: server cases (smtpspec tests a server), client cases, or both (list).
  enum class role : std::uint8_t { server, client, any };
  role which = role::server;
  std::vector<std::string> suites;  ///< names (prefixes), files or directories; empty: all built-in
  std::vector<std::string> cases;   ///< globs on case ids
  std::vector<std::string> skips;   ///< globs on case ids
  std::vector<std::string> tags;    ///< any of these tags
};

struct server_command {
  std::string target;  ///< HOST:PORT; empty: the embedded reference server
  selection select;
  harness::run_settings settings;
  std::string tls = "none";
  std::string json, html, junit, transcripts, maildir;
  std::string output;    ///< directory for report.json, report.html, report.junit.xml
  std::string baseline;  ///< earlier JSON report: the exit code counts only what got worse
  std::vector<std::string> defects;  ///< test-only: break the embedded server
  double reply_timeout = 10, case_timeout = 60, connect_timeout = 10, settle = 0.02, delivery_wait = 5;
  bool verbose = false, quiet = false;
  bool tls_optional = false;         ///< --tls starttls goes on in plaintext when TLS cannot be had
  bool skip_envelope_check = false;  ///< run even when the preflight MAIL/RCPT is refused
};

struct serve_command {
  std::string listen = "127.0.0.1:2525";
  bool implicit_tls = false;
  std::string cert, key, store;
  std::vector<std::string> defects;
  double idle_timeout = 300;
  unsigned threads = 1;
};

struct relay_command {
  std::string target;  ///< HOST:PORT of the relay under test
  std::string sink_listen = "127.0.0.1:10040";
  std::string relay_domain = "relay.test";
  std::string tls = "none";
  bool insecure = false;
  std::string from = "sender@client.smtpspec.test", helo = "client.smtpspec.test";
  double delivery_timeout = 20, reply_timeout = 10;
  std::string json, html, junit, output;
};

struct report_command {
  std::string input;     ///< a JSON report of an earlier run
  std::string json, html, junit, output, baseline;
};

struct merge_command {
  std::vector<std::string> inputs;  ///< JSON reports, one per target
  std::string html = "matrix.html";
};

struct client_command {
  std::string listen = "127.0.0.1:2525";
  std::string exec, exec_starttls, exec_auth;
  selection select;
  harness::client_run_settings settings;
  double case_timeout = 30, idle_timeout = 10;
  std::string json, html, junit, output, baseline, work_dir;
  bool verbose = false, quiet = false;
};

struct list_command {
  selection select;
  bool json = false;
};

int run_server(server_command& cmd);
int run_serve(const serve_command& cmd);
int run_list(const list_command& cmd);
int run_report(const report_command& cmd);
int run_relay_command(const relay_command& cmd);
int run_merge(const merge_command& cmd);
int run_client(client_command& cmd);
/// Shared by `server` and `client`: one case's verdict line (and findings).
void print_case(const results::case_result& r, bool verbose);
/// Groups the run's findings into distinct defects (results/defects.hpp) and
/// decides the verdicts again: one defect, one FAIL, in the case that owns it.
void assign_defects(results::run_result& run, bool strict);
/// "N distinct defects (a MUST, b SHOULD; s security)" and one line per defect.
void print_defects(const results::run_result& run, std::ostream& out, bool verbose);

/// The directory of the built-in scenarios: $SMTPSPEC_SCENARIOS, else the source tree's.
std::string builtin_scenarios();

}  // namespace smtpspec::cli
