// `smtpspec load`: see load_command.hpp.
#include "load_command.hpp"

#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "commands.hpp"
#include "send_command.hpp"
#include "smtpspec/harness/load_generator.hpp"

namespace smtpspec::cli {

namespace {

/// Each session needs a descriptor: raise the soft limit towards the hard one.
void raise_fd_limit(std::size_t connections) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t want = static_cast<rlim_t>(connections) + 64;
  if (rl.rlim_cur >= want) return;
  rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &rl);
}

std::string fixed(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

}  // namespace

CLI::App* add_load_command(CLI::App& app, load_command& cmd) {
  auto* c = app.add_subcommand(
      "load",
      "Load generator: N concurrent SMTP sessions of M messages each, as fast as the server takes them "
      "(PIPELINING when offered, optionally STARTTLS); prints messages/s, sessions/s and peak memory");
  c->add_option("--server", cmd.server, "HOST:PORT or [IPv6]:PORT of the SMTP server (port 25 if omitted)")
      ->required();
  c->add_option("-c,--connections", cmd.connections, "Sessions at the same time")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}))
      ->capture_default_str();
  c->add_option("-m,--messages", cmd.messages, "Messages (transactions) per session")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}))
      ->capture_default_str();
  c->add_option("--sessions", cmd.sessions,
                "Sessions each connection runs one after the other (the run has connections x sessions sessions)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000000}))
      ->capture_default_str();
  c->add_option("-s,--size", cmd.size,
                "Payload octets of the generated message (From, To, Date, Message-Id headers, then lines of 80 "
                "octets, as smtp-source -l)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1024} * 1024 * 1024))
      ->capture_default_str();
  c->add_option("--message", cmd.message, "Send this message file (or - for standard input) instead; CRLF line ends");
  c->add_option("--from", cmd.from, "Sender mailbox for MAIL FROM; '<>' for the null reverse-path")
      ->capture_default_str();
  c->add_option("--to", cmd.to, "Recipient mailbox for RCPT TO; repeatable (default: rcpt@example.test)");
  c->add_option("--helo", cmd.helo, "Domain given in EHLO/HELO")->capture_default_str();
  c->add_flag("--no-pipelining", cmd.no_pipelining, "Wait for each reply even when the server offers PIPELINING");
  c->add_option("--tls", cmd.tls,
                "none; starttls (STARTTLS when offered); require-starttls (sessions fail without STARTTLS)")
      ->check(CLI::IsMember({"none", "starttls", "require-starttls"}))
      ->capture_default_str();
  c->add_flag("-k,--insecure", cmd.insecure, "Accept any TLS certificate (self-signed servers)");
  c->add_option("--ca-file", cmd.ca_file, "Trust anchors (PEM) for verifying the server")->check(CLI::ExistingFile);
  c->add_option("--sni", cmd.sni, "TLS server name to send and verify (default: the host of --server)");
  c->add_option("--timeout", cmd.timeout, "Seconds to wait for each reply and each write")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--connect-timeout", cmd.connect_timeout, "Seconds to wait for a connection and a TLS handshake")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  c->add_option("--threads", cmd.threads, "Threads running the sessions")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  c->add_option("--spin-us", cmd.spin_us,
                "With one thread: microseconds to keep polling (yielding the CPU) for the next reply before "
                "sleeping; 0 sleeps at once")
      ->check(CLI::Range(0u, 1000000u))
      ->capture_default_str();
  c->add_option("--json", cmd.json, "Write the result as JSON to this file");
  c->add_flag("-q,--quiet", cmd.quiet, "Print only the one-line summary");
  c->footer(
      "Example:\n"
      "  smtpspec load --server 127.0.0.1:2525 -c 10 -m 100 --size 1000\n"
      "Exit codes: 0 every message accepted, 1 a message refused or a session failed, 2 usage,\n"
      "            3 no session could connect.");
  return c;
}

int run_load(const load_command& cmd) {
  harness::load_options o;
  std::string error;
  if (!harness::endpoint_spec::parse(cmd.server, o.target, error)) {
    std::cerr << "smtpspec load: --server: " << error << "\n";
    return exit_code::usage;
  }
  if (!harness::load_tls_from_string(cmd.tls, o.tls)) {
    std::cerr << "smtpspec load: unknown --tls '" << cmd.tls << "'\n";
    return exit_code::usage;
  }
  o.connections = cmd.connections;
  o.messages = cmd.messages;
  o.sessions = cmd.sessions;
  o.helo = cmd.helo;
  o.from = cmd.from;
  if (!cmd.to.empty()) o.to = cmd.to;
  o.pipelining = !cmd.no_pipelining;
  o.tls_options.insecure = cmd.insecure;
  o.tls_options.ca_file = cmd.ca_file;
  o.tls_options.sni = cmd.sni;
  o.reply_timeout = seconds(cmd.timeout);
  o.connect_timeout = seconds(cmd.connect_timeout);
  o.threads = cmd.threads;
  o.spin = std::chrono::microseconds(cmd.spin_us);
  if (!cmd.message.empty()) {
    if (!read_message(cmd.message, o.message, error)) {
      std::cerr << "smtpspec load: " << error << "\n";
      return exit_code::usage;
    }
  } else {
    o.message = harness::make_load_message(cmd.size, o.from, o.to.front());
  }
  if (auto e = harness::check_load_options(o); !e.empty()) {
    std::cerr << "smtpspec load: " << e << "\n";
    return exit_code::usage;
  }
  raise_fd_limit(o.connections);

  const harness::load_result r = harness::run_load(o);

  if (!cmd.json.empty()) {
    std::ofstream f(cmd.json, std::ios::binary | std::ios::trunc);
    f << r.to_json() << "\n";
    if (!f) {
      std::cerr << "smtpspec load: cannot write " << cmd.json << "\n";
      return exit_code::usage;
    }
  }
  std::cout << "smtpspec load " << o.target.to_string() << ": " << r.messages_accepted << " of "
            << r.messages_planned << " messages accepted in " << fixed(r.seconds, 3)
            << " s: " << fixed(r.messages_per_second(), 0) << " messages/s, " << fixed(r.sessions_per_second(), 1)
            << " sessions/s\n";
  if (!cmd.quiet) {
    std::cout << "  " << o.connections << (o.connections == 1 ? " connection" : " connections") << " x "
              << o.sessions << (o.sessions == 1 ? " session" : " sessions") << " x " << o.messages
              << (o.messages == 1 ? " message" : " messages") << " of " << o.message.size() << " octets, "
              << o.threads << (o.threads == 1 ? " thread" : " threads") << "\n"
              << "  messages: " << r.messages_accepted << " accepted, " << r.messages_refused << " refused, "
              << r.messages_failed << " not sent or not answered; recipients refused: " << r.recipients_refused
              << "\n"
              << "  sessions: " << r.sessions_completed << " completed, " << r.sessions_failed << " failed; "
              << r.sessions_pipelined << " pipelined, " << r.sessions_tls << " in TLS\n"
              << "  octets: " << r.bytes_sent << " sent, " << r.bytes_received << " received\n"
              << "  peak RSS " << fixed(double(r.peak_rss_kib) / 1024.0, 1) << " MiB; open descriptors "
              << r.fds_before << " before, " << r.fds_after << " after\n";
    for (const auto& [why, n] : r.errors) std::cout << "  error x" << n << ": " << why << "\n";
  }
  if (r.messages_planned == r.messages_accepted) return exit_code::ok;
  if (r.sessions_completed == 0 && !r.errors.empty() && r.errors.front().first.rfind("connect", 0) == 0)
    return exit_code::unreachable;
  return exit_code::failed;
}

}  // namespace smtpspec::cli
