// `smtpspec send`: see send_command.hpp.
#include "send_command.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "commands.hpp"
#include "smtpspec/harness/smtp_client.hpp"

namespace smtpspec::cli {

namespace {

int exit_code_of(harness::submission_status s) {
  switch (s) {
    case harness::submission_status::delivered: return exit_code::ok;
    case harness::submission_status::refused:
    case harness::submission_status::protocol_error: return exit_code::failed;
    case harness::submission_status::unreachable:
    case harness::submission_status::tls_failed: return exit_code::unreachable;
  }
  return exit_code::failed;
}

std::string one_line(const smtpspec::reference::reply& r) {
  std::string out = std::to_string(r.code);
  if (!r.lines.empty()) out += " " + r.lines.back();
  return out;
}

}  // namespace

CLI::App* add_send_command(CLI::App& app, send_command& cmd) {
  auto* c = app.add_subcommand(
      "send",
      "Send a message with smtpspec's own RFC-conformant SMTP client (positive control of 'smtpspec client'; with "
      "--count a load generator)");
  c->add_option("--server", cmd.server, "HOST:PORT or [IPv6]:PORT of the SMTP server (port 25 if omitted)")
      ->required();
  c->add_option("--from", cmd.from, "Sender mailbox for MAIL FROM; '<>' for the null reverse-path")->required();
  c->add_option("--to", cmd.to, "Recipient mailbox for RCPT TO; repeatable")->required();
  c->add_option("--message", cmd.message,
                "The message (RFC 5322, CRLF line ends; a bare LF is sent as CRLF) as a file, or - for standard input. "
                "Sent dot-stuffed, with a final CRLF added if missing")
      ->required();
  c->add_option("--helo", cmd.helo, "Domain given in EHLO/HELO")->capture_default_str();
  c->add_option("--tls", cmd.tls,
                "none; starttls (STARTTLS when offered, plaintext otherwise); require-starttls (never sends mail in "
                "plaintext); implicit (TLS from the first octet, RFC 8314)")
      ->check(CLI::IsMember({"none", "starttls", "require-starttls", "implicit"}))
      ->capture_default_str();
  c->add_flag("-k,--insecure", cmd.insecure, "Accept any TLS certificate (self-signed servers)");
  c->add_option("--ca-file", cmd.ca_file, "Trust anchors (PEM) for verifying the server")->check(CLI::ExistingFile);
  c->add_option("--sni", cmd.sni, "TLS server name to send and verify (default: the host of --server)");
  auto* user = c->add_option("--auth-user", cmd.auth_user, "AUTH PLAIN user name (sent only inside TLS)");
  auto* pass = c->add_option("--auth-password", cmd.auth_password, "AUTH PLAIN password");
  user->needs(pass);
  pass->needs(user);
  c->add_flag("--allow-plaintext-auth", cmd.allow_plaintext_auth, "Send AUTH credentials without TLS too");
  c->add_flag("--auth-optional", cmd.auth_optional,
              "When AUTH is refused, send the mail without authentication (RFC 4954 4: the client MAY proceed)");
  c->add_flag("--bdat", cmd.bdat, "Use BDAT (RFC 3030) instead of DATA when the server offers CHUNKING");
  c->add_flag("--no-pipelining", cmd.no_pipelining, "Wait for each reply even when the server offers PIPELINING");
  c->add_option("--timeout", cmd.timeout, "Seconds to wait for each reply")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--connect-timeout", cmd.connect_timeout, "Seconds to wait for the connection and the TLS handshake")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--count", cmd.count,
                "Send the message N times over one connection, one transaction after another (benchmarks); stops at "
                "the first one not delivered to every recipient")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}))
      ->capture_default_str();
  c->add_flag("-v,--verbose", cmd.verbose, "Print the transcript (every octet each way) to standard error");
  c->add_option("--defect", cmd.defects, "Test only: break the client in this way")->group("");
  c->footer(
      "Example:\n"
      "  smtpspec send --server 127.0.0.1:2525 --from me@example.test --to you@example.test --message msg.eml\n"
      "Exit codes: 0 delivered to every recipient, 1 refused (partly or wholly) or a protocol error, 2 usage,\n"
      "            3 the server could not be reached or TLS failed.");
  return c;
}

bool read_message(const std::string& name, std::string& out, std::string& error) {
  if (name == "-") {
    std::ostringstream all;
    all << std::cin.rdbuf();
    if (std::cin.bad()) return error = "cannot read the message from standard input", false;
    out = std::move(all).str();
    return true;
  }
  std::ifstream in(name, std::ios::binary);
  if (!in) return error = "cannot open the message file '" + name + "'", false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) return error = "cannot read the message file '" + name + "'", false;
  return true;
}

std::chrono::milliseconds seconds(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000.0 + 0.5));
}

int run_send(const send_command& cmd) {
  harness::submission s;
  std::string error;
  if (!harness::endpoint_spec::parse(cmd.server, s.server, error)) {
    std::cerr << "smtpspec send: --server: " << error << "\n";
    return exit_code::usage;
  }
  if (!harness::client_tls_mode_from_string(cmd.tls, s.tls)) {
    std::cerr << "smtpspec send: unknown --tls '" << cmd.tls << "'\n";
    return exit_code::usage;
  }
  for (const auto& name : cmd.defects) {
    auto d = harness::client_defect_from_string(name);
    if (d == harness::client_defect::none) {
      std::cerr << "smtpspec send: unknown defect '" << name << "'; known:";
      for (auto k : harness::all_client_defects()) std::cerr << " " << harness::to_string(k);
      std::cerr << "\n";
      return exit_code::usage;
    }
    s.defects = s.defects | d;
  }
  if (!read_message(cmd.message, s.message, error)) {
    std::cerr << "smtpspec send: " << error << "\n";
    return exit_code::usage;
  }
  s.helo = cmd.helo;
  s.from = cmd.from;
  s.to = cmd.to;
  s.count = cmd.count;
  s.tls_options.insecure = cmd.insecure;
  s.tls_options.ca_file = cmd.ca_file;
  s.tls_options.sni = cmd.sni;
  s.auth_user = cmd.auth_user;
  s.auth_password = cmd.auth_password;
  s.allow_plaintext_auth = cmd.allow_plaintext_auth;
  s.auth_optional = cmd.auth_optional;
  s.use_bdat_if_offered = cmd.bdat;
  s.use_pipelining_if_offered = !cmd.no_pipelining;
  s.reply_timeout = seconds(cmd.timeout);
  s.connect_timeout = seconds(cmd.connect_timeout);
  if (auto e = harness::check_submission(s); !e.empty()) {
    std::cerr << "smtpspec send: " << e << "\n";
    return exit_code::usage;
  }

  // The transcript is kept whole only when it is printed; otherwise a small
  // bound keeps a long --count run cheap.
  results::transcript log(cmd.verbose ? 64 * 1024 * 1024 : 64 * 1024);
  const auto start = std::chrono::steady_clock::now();
  const harness::submission_result r = harness::submit(s, log);
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (cmd.verbose) std::cerr << log.to_text() << std::flush;

  char took[64];
  std::snprintf(took, sizeof took, "%.3f s", elapsed.count());
  if (r.status == harness::submission_status::delivered) {
    std::cout << "delivered " << r.messages_accepted << (r.messages_accepted == 1 ? " message" : " messages") << " to "
              << s.to.size() << (s.to.size() == 1 ? " recipient" : " recipients") << " in " << took;
    if (r.messages_accepted > 1 && elapsed.count() > 0) {
      char rate[64];
      std::snprintf(rate, sizeof rate, " (%.0f messages/s)", static_cast<double>(r.messages_accepted) / elapsed.count());
      std::cout << rate;
    }
    if (r.final_reply) std::cout << ": " << one_line(*r.final_reply);
    std::cout << "\n";
  } else {
    std::cerr << "smtpspec send: " << harness::to_string(r.status) << ": " << r.error << "\n";
    if (r.messages_accepted > 0)
      std::cerr << "smtpspec send: " << r.messages_accepted << " of " << s.count << " messages accepted\n";
  }
  return exit_code_of(r.status);
}

}  // namespace smtpspec::cli
