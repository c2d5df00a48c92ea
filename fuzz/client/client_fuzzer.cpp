// Client fuzzer: smtpspec plays a server whose replies are mutated (odd codes,
// multi-line replies, replies cut into pieces, octets injected around STARTTLS,
// garbage), and an SMTP client answers over a real socket on 127.0.0.1. By default
// the client is smtpspec's own (harness/smtp_client.hpp, linked in, so its crashes
// and sanitizer reports surface here); `-exec=CMD` fuzzes an external client
// instead (placeholders {host} {port} as for `smtpspec client --exec`).
//
// Findings (the input is saved by libFuzzer as crash-*):
//  - the client crashes (in-process: ASan/UBSan; external: killed by a signal);
//  - the client hangs: no exit within the deadline although every wait it makes
//    should have one (RFC 5321 4.5.3.2 timeouts);
//  - with -smtpspec_judge=1, a MUST-level finding of the session model about the
//    client's commands (e.g. mail data without 354, RFC 5321 3.3; a command in
//    plaintext after 220 to STARTTLS, RFC 3207 4). Off by default: nonsense replies
//    make some findings a matter of interpretation.
//
// Input format (decoded, so every input is a session): byte 0: flags (bit 0-1
// pacing whole/lines/bytewise, bit 2 STARTTLS required by the client, bit 3
// PIPELINING offered); then records [target][length][octets]: the octets replace
// the reply to that command (CRLF appended unless they end in LF).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "fuzz_input.hpp"
#include "smtpspec/harness/asio.hpp"
#include "smtpspec/harness/connection.hpp"
#include "smtpspec/harness/listener.hpp"
#include "smtpspec/harness/process.hpp"
#include "smtpspec/harness/smtp_client.hpp"
#include "smtpspec/harness/tls.hpp"
#include "smtpspec/reference/server_session.hpp"

namespace {

namespace h = smtpspec::harness;
namespace results = smtpspec::results;
namespace ref = smtpspec::reference;
using std::chrono::milliseconds;

constexpr const char* k_targets[] = {"GREETING", "EHLO",  "HELO", "MAIL", "RCPT", "DATA",
                                     "END-OF-DATA", "RSET", "QUIT", "STARTTLS", "AUTH", "NOOP"};
// Loopback replies take microseconds; a short wait keeps sessions that stall on a
// malformed reply cheap (each stall costs one reply timeout).
constexpr milliseconds k_reply_timeout{150};
constexpr milliseconds k_session_budget{3000};

struct options {
  std::string exec;
  bool judge = false;
};

struct state {
  options opt;
  std::unique_ptr<h::listener> listen;
  std::optional<boost::asio::ssl::context> tls;
};

state& global() {
  static state s;
  return s;
}

ref::server_config decode(const std::uint8_t* data, std::size_t size, bool& require_tls) {
  smtpspec::fuzz::fuzz_input in(data, size);
  const std::uint8_t flags = in.byte();
  require_tls = (flags & 4) != 0;
  ref::server_config cfg;
  cfg.judge_client = true;
  cfg.pipelining = (flags & 8) != 0;
  while (in.remaining() > 1 && cfg.script.size() < 16) {
    ref::scripted_reply r;
    r.on = k_targets[in.byte() % (sizeof k_targets / sizeof k_targets[0])];
    r.wire = std::string(in.bytes(in.byte()));
    if (r.wire.empty() || r.wire.back() != '\n') r.wire += "\r\n";
    if (r.on == "GREETING" && r.wire.compare(0, 3, "421") == 0) r.close = true;
    cfg.script.push_back(std::move(r));
  }
  return cfg;
}

void write_paced(h::connection& conn, std::string_view bytes, int pacing) {
  if (pacing == 0) {
    conn.write(bytes, k_reply_timeout);
    return;
  }
  for (std::size_t pos = 0; pos < bytes.size();) {
    std::size_t end = pacing == 2 ? pos + 1 : bytes.find('\n', pos);
    end = end == std::string_view::npos ? bytes.size() : std::min(bytes.size(), end + (pacing == 2 ? 0 : 1));
    if (!conn.write(bytes.substr(pos, end - pos), k_reply_timeout)) return;
    pos = end;
  }
}

/// Serves one connection with the scripted strict server until it ends.
void serve(h::connection& conn, ref::server_session& ss, int pacing, std::chrono::steady_clock::time_point deadline) {
  ss.start();
  while (std::chrono::steady_clock::now() < deadline) {
    if (!ss.output().empty()) {
      const std::string out(ss.output());
      ss.take_pause();
      write_paced(conn, out, pacing);
      ss.consume_output(out.size());
    }
    if (ss.tls_wanted()) {
      if (!conn.accept_tls(*global().tls, milliseconds(1000))) return;
      ss.tls_established();
      continue;
    }
    if (ss.closing()) return;
    std::string got;
    auto r = conn.read_some(got, 64 * 1024, k_reply_timeout * 2);
    if (!got.empty()) ss.feed(got);
    else if (r.status != h::io_status::timeout) return ss.feed_eof();
    else return;  // the client went quiet: its own timeout will end it
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  auto& g = global();
  for (int i = 1; i < *argc; ++i) {
    const std::string a = (*argv)[i];
    if (a.rfind("-exec=", 0) == 0) g.opt.exec = a.substr(6);
    if (a == "-smtpspec_judge=1") g.opt.judge = true;
  }
  g.listen = std::make_unique<h::listener>(h::endpoint_spec{"127.0.0.1", 0});
  g.tls.emplace(h::make_server_context(h::make_self_signed("localhost")));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& g = global();
  if (!g.listen) {
    int argc = 0;
    char** argv = nullptr;
    LLVMFuzzerInitialize(&argc, &argv);
  }
  bool require_tls = false;
  const int pacing = size > 0 ? data[0] & 3 : 0;
  ref::server_config cfg = decode(data, size, require_tls);
  g.listen->drain();

  std::atomic<bool> client_done{false};
  std::optional<h::child_process> child;
  std::thread client;
  if (g.opt.exec.empty()) {
    client = std::thread([&] {
      h::submission s;
      s.server = {"127.0.0.1", g.listen->port()};
      s.from = "sender@client.smtpspec.test";
      s.to = {"user@example.test", "second@example.test"};
      s.message = "Subject: fuzz\r\n\r\n.line with a dot\r\nbody\r\n";
      s.tls = require_tls ? h::client_tls_mode::starttls_required : h::client_tls_mode::starttls_if_offered;
      s.tls_options.insecure = true;
      s.reply_timeout = k_reply_timeout;
      s.connect_timeout = k_reply_timeout;
      try {
        results::transcript client_log(64 * 1024);
        (void)h::submit(s, client_log);
      } catch (const std::invalid_argument&) {
      }
      client_done = true;
    });
  } else {
    std::string cmd = g.opt.exec;
    for (auto [key, value] : {std::pair<std::string, std::string>{"{host}", "127.0.0.1"},
                              std::pair<std::string, std::string>{"{port}", std::to_string(g.listen->port())}})
      for (std::size_t at; (at = cmd.find(key)) != std::string::npos;) cmd.replace(at, key.size(), value);
    child.emplace(cmd, "/dev/null");
  }

  const auto deadline = std::chrono::steady_clock::now() + k_session_budget;
  std::string peer;
  std::vector<ref::finding> findings;
  // A client may connect more than once (e.g. a retry in plaintext); serve each.
  auto client_finished = [&] { return client_done || (child && child->wait(milliseconds(0))); };
  for (int connections = 0; connections < 3; ++connections) {
    int fd = -1;
    if (connections == 0) {
      fd = g.listen->accept(milliseconds(2000), peer);
    } else {
      // Another connection only while the client still runs (a retry); poll so
      // that a client that has finished costs no wait.
      for (auto until = std::chrono::steady_clock::now() + milliseconds(300);
           fd < 0 && !client_finished() && std::chrono::steady_clock::now() < until;)
        fd = g.listen->accept(milliseconds(2), peer);
    }
    if (fd < 0) break;
    results::transcript log(64 * 1024);
    h::connection conn(log, h::local_role::server);
    if (!conn.adopt(fd, peer)) continue;
    ref::server_session ss(cfg);
    serve(conn, ss, pacing, deadline);
    conn.close();
    for (const auto& f : ss.client_findings()) findings.push_back(f);
  }

  bool hung = false;
  if (client.joinable()) {
    for (auto until = std::chrono::steady_clock::now() + milliseconds(10000);
         !client_done && std::chrono::steady_clock::now() < until;)
      std::this_thread::sleep_for(milliseconds(1));
    hung = !client_done;
    if (hung) {
      std::fprintf(stderr, "client_fuzzer: FINDING: the client did not finish within 10 s after the session\n");
      std::abort();  // a detached hung thread cannot be recovered: report and stop
    }
    client.join();
  } else if (child) {
    if (!child->wait(milliseconds(10000))) {
      std::fprintf(stderr, "client_fuzzer: FINDING: the client (%s) hangs: no exit within 10 s\n", g.opt.exec.c_str());
      child->kill();
      std::abort();
    }
    if (child->exit_status() < 0 && child->status_text().rfind("killed by signal", 0) == 0) {
      std::fprintf(stderr, "client_fuzzer: FINDING: the client crashed (%s)\n", child->status_text().c_str());
      std::abort();
    }
  }
  if (g.opt.judge)
    for (const auto& f : findings)
      if (f.strength == ref::level::must) {
        std::fprintf(stderr, "client_fuzzer: FINDING: [MUST %s] %s\n", f.cite.to_string().c_str(), f.text.c_str());
        std::abort();
      }
  return 0;
}
