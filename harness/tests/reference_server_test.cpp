// The embedded reference server over real sockets, driven by `connection`: a
// full session, STARTTLS (RFC 3207 4, 4.2), implicit TLS (RFC 8314), the idle
// timeout (RFC 5321 4.5.3.2.7), concurrency, hostile clients and stop().
#include "smtpspec/harness/reference_server.hpp"

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <latch>
#include <sstream>
#include <thread>

#include "smtpspec/harness/asio.hpp"
#include "smtpspec/harness/connection.hpp"

namespace smtpspec::harness {
namespace {

using namespace std::chrono_literals;
constexpr auto k_long = 20s;  // for steps that must succeed

endpoint_spec target_of(const reference_server& srv) {
  endpoint_spec e;
  std::string err;
  EXPECT_TRUE(endpoint_spec::parse(srv.address(), e, err)) << err;
  return e;
}

/// A minimal SMTP client over `connection`: sends lines, reads whole replies.
class client {
 public:
  explicit client(std::size_t transcript_limit = 4 * 1024 * 1024) : log_(transcript_limit), conn_(log_) {}

  bool connect(const reference_server& srv) { return bool(last_ = conn_.connect(target_of(srv), k_long)); }
  bool start_tls() {
    client_tls_options opt;
    opt.insecure = true;
    return bool(last_ = conn_.start_tls(opt, "localhost", k_long));
  }
  bool send(std::string_view bytes) { return bool(last_ = conn_.write(bytes, k_long)); }

  /// One complete reply (all its lines, with CRLFs), or "" if the connection
  /// failed first (last() says why).
  std::string reply(std::chrono::milliseconds timeout = k_long) {
    for (;;) {
      if (std::size_t end = complete_reply(); end != 0) {
        std::string r = buf_.substr(0, end);
        buf_.erase(0, end);
        return r;
      }
      if (!(last_ = conn_.read_some(buf_, 64 * 1024, timeout))) return {};
    }
  }
  /// Sends a command and returns its reply.
  std::string command(std::string_view line) {
    if (!send(std::string(line) + "\r\n")) return {};
    return reply();
  }
  /// Reads until the server closes; returns how the connection ended.
  io_status until_closed() {
    while ((last_ = conn_.read_some(buf_, 64 * 1024, k_long))) {
    }
    return last_.status;
  }

  const io_result& last() const { return last_; }
  connection& conn() { return conn_; }
  const results::transcript& log() const { return log_; }

 private:
  /// Length of the first complete reply in buf_, 0 if none: 4.2.1, the last line
  /// has SP (or nothing) after the code.
  std::size_t complete_reply() const {
    std::size_t pos = 0;
    for (;;) {
      auto nl = buf_.find("\r\n", pos);
      if (nl == std::string::npos) return 0;
      std::string_view line(buf_.data() + pos, nl - pos);
      if (line.size() == 3 || (line.size() > 3 && line[3] == ' ')) return nl + 2;
      pos = nl + 2;
    }
  }

  results::transcript log_;
  connection conn_;
  std::string buf_;
  io_result last_;
};

std::string code(const std::string& reply) { return reply.substr(0, 3); }

/// EHLO, MAIL, RCPT, DATA with `marker` in the content; returns the final reply code.
std::string send_message(client& c, const std::string& marker) {
  if (code(c.command("EHLO client.example")) != "250") return "EHLO";
  if (code(c.command("MAIL FROM:<sender@example.test>")) != "250") return "MAIL";
  if (code(c.command("RCPT TO:<rcpt@example.test>")) != "250") return "RCPT";
  if (code(c.command("DATA")) != "354") return "DATA";
  c.send("Subject: test\r\n\r\nbody " + marker + "\r\n..stuffed\r\n.\r\n");
  return code(c.reply());
}

reference_server_options quiet_options() {
  reference_server_options opt;
  opt.listen = "127.0.0.1:0";
  return opt;
}

TEST(ReferenceServer, FullSessionWithStartTls) {
  reference_server srv(quiet_options());
  EXPECT_NE(srv.port(), 0);
  client c;
  ASSERT_TRUE(c.connect(srv)) << c.last().detail;
  EXPECT_EQ(code(c.reply()), "220");

  std::string ehlo = c.command("EHLO client.example");
  EXPECT_EQ(code(ehlo), "250");
  EXPECT_NE(ehlo.find("STARTTLS\r\n"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("AUTH"), std::string::npos) << ehlo;  // no credentials in clear

  EXPECT_EQ(code(c.command("MAIL FROM:<sender@example.test>")), "250");
  EXPECT_EQ(code(c.command("RCPT TO:<rcpt@example.test>")), "250");
  EXPECT_EQ(code(c.command("DATA")), "354");
  ASSERT_TRUE(c.send("Subject: hi\r\n\r\nmarker-plain-1\r\n..dot\r\n.\r\n"));
  EXPECT_EQ(code(c.reply()), "250");
  auto m = srv.find_message("marker-plain-1");
  ASSERT_TRUE(m.has_value());
  EXPECT_NE(m->message.reverse_path.find("sender@example.test"), std::string::npos) << m->message.reverse_path;
  EXPECT_NE(m->message.content.find("\r\n.dot\r\n"), std::string::npos);  // un-stuffed (4.5.2)
  EXPECT_FALSE(m->message.tls);

  EXPECT_EQ(code(c.command("STARTTLS")), "220");
  ASSERT_TRUE(c.start_tls()) << c.last().detail;
  // RFC 3207 4.2: knowledge from before TLS is discarded; EHLO again.
  std::string ehlo2 = c.command("EHLO client.example");
  EXPECT_EQ(code(ehlo2), "250");
  EXPECT_NE(ehlo2.find("AUTH"), std::string::npos) << ehlo2;
  EXPECT_EQ(ehlo2.find("STARTTLS"), std::string::npos) << ehlo2;
  EXPECT_EQ(send_message(c, "marker-tls-1"), "250");
  auto m2 = srv.find_message("marker-tls-1");
  ASSERT_TRUE(m2.has_value());
  EXPECT_TRUE(m2->message.tls);

  EXPECT_EQ(code(c.command("QUIT")), "221");
  EXPECT_EQ(c.until_closed(), io_status::closed) << c.last().detail;
  EXPECT_GE(srv.connections_served(), 1u);
  EXPECT_EQ(srv.messages().size(), 2u);
}

TEST(ReferenceServer, PlaintextQuitClosesTheConnection) {
  reference_server srv(quiet_options());
  client c;
  ASSERT_TRUE(c.connect(srv));
  EXPECT_EQ(code(c.reply()), "220");
  EXPECT_EQ(code(c.command("QUIT")), "221");
  EXPECT_EQ(c.until_closed(), io_status::closed) << c.last().detail;
}

TEST(ReferenceServer, PlaintextQueuedBehindStartTlsIsNeverAnswered) {
  reference_server srv(quiet_options());
  client c;
  ASSERT_TRUE(c.connect(srv));
  EXPECT_EQ(code(c.reply()), "220");
  EXPECT_EQ(code(c.command("EHLO client.example")), "250");
  // RFC 3207 4 (CVE-2011-0411): the NOOP and RSET ride in the same segment as STARTTLS.
  ASSERT_TRUE(c.send("STARTTLS\r\nNOOP\r\nRSET\r\n"));
  EXPECT_EQ(code(c.reply()), "220");
  ASSERT_TRUE(c.start_tls()) << c.last().detail;
  // The first reply inside TLS must answer our EHLO, not the queued commands.
  std::string ehlo = c.command("EHLO client.example");
  EXPECT_EQ(ehlo.rfind("250-", 0), 0u) << ehlo;
  EXPECT_NE(ehlo.find("AUTH"), std::string::npos) << ehlo;
  EXPECT_EQ(code(c.command("NOOP")), "250");
}

TEST(ReferenceServer, ImplicitTls) {
  auto opt = quiet_options();
  opt.implicit_tls = true;
  reference_server srv(opt);
  client c;
  ASSERT_TRUE(c.connect(srv));
  ASSERT_TRUE(c.start_tls()) << c.last().detail;  // RFC 8314 3.3: TLS first, then the greeting
  EXPECT_EQ(code(c.reply()), "220");
  std::string ehlo = c.command("EHLO client.example");
  EXPECT_NE(ehlo.find("AUTH"), std::string::npos) << ehlo;
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << ehlo;
  EXPECT_EQ(send_message(c, "marker-implicit"), "250");
  auto m = srv.find_message("marker-implicit");
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->message.tls);
  EXPECT_EQ(code(c.command("QUIT")), "221");
  EXPECT_EQ(c.until_closed(), io_status::closed) << c.last().detail;
}

TEST(ReferenceServer, ImplicitTlsRejectsPlaintextClients) {
  auto opt = quiet_options();
  opt.implicit_tls = true;
  reference_server srv(opt);
  client c;
  ASSERT_TRUE(c.connect(srv));
  ASSERT_TRUE(c.send("EHLO plaintext.example\r\n"));
  std::string r = c.reply();
  EXPECT_EQ(r.find("250"), std::string::npos) << r;  // never an SMTP answer in clear
  EXPECT_NE(c.last().status, io_status::ok);
  EXPECT_NE(c.last().status, io_status::timeout);
}

TEST(ReferenceServer, CertificateVerifiesWithItsPem) {
  reference_server srv(quiet_options());
  ASSERT_FALSE(srv.certificate_pem().empty());
  const auto path = std::filesystem::temp_directory_path() / ("smtpspec-rs-ca-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(path) << srv.certificate_pem();
  client c;
  ASSERT_TRUE(c.connect(srv));
  EXPECT_EQ(code(c.reply()), "220");
  EXPECT_EQ(code(c.command("EHLO client.example")), "250");
  EXPECT_EQ(code(c.command("STARTTLS")), "220");
  client_tls_options opt;
  opt.ca_file = path.string();
  auto r = c.conn().start_tls(opt, "localhost", k_long);
  std::filesystem::remove(path);
  ASSERT_TRUE(r) << r.detail;
  EXPECT_EQ(code(c.command("EHLO client.example")), "250");
}

TEST(ReferenceServer, IdleTimeoutSends421AndCloses) {
  auto opt = quiet_options();
  opt.idle_timeout = 200ms;
  reference_server srv(opt);
  client c;
  ASSERT_TRUE(c.connect(srv));
  EXPECT_EQ(code(c.reply()), "220");
  // Say nothing: RFC 5321 4.5.3.2.7, the server gives up with 421 (3.8).
  std::string r = c.reply();
  EXPECT_EQ(code(r), "421") << r << c.last().detail;
  EXPECT_EQ(c.until_closed(), io_status::closed) << c.last().detail;
}

TEST(ReferenceServer, FiftyConcurrentConnectionsAreAllServed) {
  auto opt = quiet_options();
  opt.threads = 2;
  reference_server srv(opt);
  constexpr int n = 50;
  std::latch all_connected(n);
  std::vector<std::string> errors(n);
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&, i] {
      client c;
      bool greeted = c.connect(srv) && code(c.reply()) == "220";
      all_connected.count_down();
      if (!greeted) {
        errors[i] = "no greeting: " + c.last().detail;
        return;
      }
      all_connected.wait();  // every connection is open at the same time
      std::string r = send_message(c, "marker-concurrent-" + std::to_string(i) + "-end");
      if (r != "250") errors[i] = "message: " + r + " " + c.last().detail;
      else if (code(c.command("QUIT")) != "221") errors[i] = "QUIT";
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(errors[i], "") << i;
    EXPECT_TRUE(srv.find_message("marker-concurrent-" + std::to_string(i) + "-end").has_value()) << i;
  }
  EXPECT_EQ(srv.connections_served(), static_cast<std::uint64_t>(n));
}

TEST(ReferenceServer, EndlessLineIsRefusedWithConstantMemory) {
  reference_server srv(quiet_options());
  client c(64 * 1024);  // the transcript is bounded too
  ASSERT_TRUE(c.connect(srv));
  EXPECT_EQ(code(c.reply()), "220");
  // 10 MB without CRLF: the server must answer 500 (4.5.3.1.4) once the line
  // exceeds 512 octets and skip the rest without buffering it.
  const std::string chunk(1024 * 1024, 'A');
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.send(chunk)) << c.last().detail;
  ASSERT_TRUE(c.send("\r\nNOOP\r\n"));
  std::string r = c.reply();
  EXPECT_EQ(code(r), "500") << r;
  EXPECT_EQ(code(c.reply()), "250");  // still usable: the long line cost nothing
  EXPECT_EQ(code(c.command("EHLO client.example")), "250");
  EXPECT_TRUE(c.log().truncated());
}

TEST(ReferenceServer, StopReturnsWithConnectionsOpen) {
  auto srv = std::make_unique<reference_server>(quiet_options());
  std::vector<std::unique_ptr<client>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<client>());
    ASSERT_TRUE(clients.back()->connect(*srv));
    EXPECT_EQ(code(clients.back()->reply()), "220");
  }
  // One in the middle of DATA, one inside TLS.
  EXPECT_EQ(code(clients[1]->command("EHLO a.example")), "250");
  EXPECT_EQ(code(clients[1]->command("MAIL FROM:<a@example.test>")), "250");
  EXPECT_EQ(code(clients[1]->command("RCPT TO:<b@example.test>")), "250");
  EXPECT_EQ(code(clients[1]->command("DATA")), "354");
  ASSERT_TRUE(clients[1]->send("partial content"));
  EXPECT_EQ(code(clients[2]->command("EHLO b.example")), "250");
  EXPECT_EQ(code(clients[2]->command("STARTTLS")), "220");
  ASSERT_TRUE(clients[2]->start_tls());

  srv->stop();  // must return although every client is still connected
  for (auto& c : clients) {
    io_status s = c->until_closed();
    EXPECT_TRUE(s == io_status::closed || s == io_status::reset) << to_string(s) << " " << c->last().detail;
  }
  srv->stop();  // idempotent
  srv.reset();
}

TEST(ReferenceServer, WaitReturnsAfterStopFromAnotherThread) {
  reference_server srv(quiet_options());
  std::thread stopper([&] { srv.stop(); });
  srv.wait();
  stopper.join();
}

reference_server* g_signal_target = nullptr;
extern "C" void stop_on_signal(int) {
  if (g_signal_target) g_signal_target->stop();
}

TEST(ReferenceServer, StopFromASignalHandlerEndsWait) {
  // As `smtpspec serve` does it: the signal interrupts the thread inside wait().
  reference_server srv(quiet_options());
  client c;
  ASSERT_TRUE(c.connect(srv));
  EXPECT_EQ(code(c.reply()), "220");
  g_signal_target = &srv;
  struct sigaction sa {}, old {};
  sa.sa_handler = stop_on_signal;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  const pthread_t waiting = pthread_self();
  std::thread killer([&] { pthread_kill(waiting, SIGUSR1); });
  srv.wait();
  killer.join();
  sigaction(SIGUSR1, &old, nullptr);
  g_signal_target = nullptr;
  EXPECT_NE(c.until_closed(), io_status::ok);
}

TEST(ReferenceServer, StoresEachMessageAsAFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("smtpspec-rs-store-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto opt = quiet_options();
    opt.store_dir = dir.string();
    reference_server srv(opt);
    client c;
    ASSERT_TRUE(c.connect(srv));
    EXPECT_EQ(code(c.reply()), "220");
    EXPECT_EQ(send_message(c, "marker-file-1"), "250");
    auto m = srv.find_message("marker-file-1");
    ASSERT_TRUE(m.has_value());
    const auto file = dir / (std::to_string(m->id) + ".eml");
    ASSERT_TRUE(std::filesystem::exists(file)) << file;
    std::ifstream in(file, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    EXPECT_EQ(text.str().rfind("Return-Path: <sender@example.test>\r\n", 0), 0u) << text.str();
    EXPECT_NE(text.str().find("marker-file-1"), std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST(ReferenceServer, MemoryStoreDropsTheOldest) {
  auto opt = quiet_options();
  opt.memory_store_limit = 2;
  reference_server srv(opt);
  client c;
  ASSERT_TRUE(c.connect(srv));
  EXPECT_EQ(code(c.reply()), "220");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(send_message(c, "marker-bounded-" + std::to_string(i) + "-end"), "250");
  auto all = srv.messages();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_FALSE(srv.find_message("marker-bounded-0-end").has_value());
  EXPECT_TRUE(srv.find_message("marker-bounded-2-end").has_value());
  EXPECT_LT(all[0].id, all[1].id);
}

TEST(ReferenceServer, SurvivesHostileClients) {
  auto opt = quiet_options();
  opt.idle_timeout = 5s;
  reference_server srv(opt);
  {
    // TLS garbage after STARTTLS.
    client c;
    ASSERT_TRUE(c.connect(srv));
    c.reply();
    EXPECT_EQ(code(c.command("EHLO x.example")), "250");
    EXPECT_EQ(code(c.command("STARTTLS")), "220");
    std::string garbage("\x16\x03\x01\x00\x10");
    garbage += std::string(64, '\xfe');
    c.send(garbage);
    EXPECT_NE(c.until_closed(), io_status::ok);
  }
  {
    // EOF in the middle of a command line and of DATA.
    client c;
    ASSERT_TRUE(c.connect(srv));
    c.reply();
    EXPECT_EQ(code(c.command("EHLO x.example")), "250");
    EXPECT_EQ(code(c.command("MAIL FROM:<a@example.test>")), "250");
    EXPECT_EQ(code(c.command("RCPT TO:<b@example.test>")), "250");
    EXPECT_EQ(code(c.command("DATA")), "354");
    c.send("marker-aborted\r\nhalf a li");
    c.conn().shutdown_send();
    EXPECT_EQ(c.until_closed(), io_status::closed) << c.last().detail;
  }
  {
    // A reset in the middle of DATA (SO_LINGER 0 turns close into RST).
    namespace net = boost::asio;
    net::io_context ctx;
    net::ip::tcp::socket s(ctx);
    s.connect({net::ip::make_address("127.0.0.1"), srv.port()});
    const std::string burst = "EHLO x\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\nmarker-aborted\r\n";
    net::write(s, net::buffer(burst));
    s.set_option(net::socket_base::linger(true, 0));
    s.close();
  }
  {
    // Nothing but binary noise including NULs.
    client c;
    ASSERT_TRUE(c.connect(srv));
    c.reply();
    std::string noise;
    for (int i = 0; i < 4096; ++i) noise += static_cast<char>((i * 131) & 0xff);
    c.send(noise);
    c.send("\r\nQUIT\r\n");
    c.until_closed();
  }
  // The server is still there and still strict.
  client c;
  ASSERT_TRUE(c.connect(srv));
  EXPECT_EQ(code(c.reply()), "220");
  EXPECT_EQ(send_message(c, "marker-after-hostile"), "250");
  EXPECT_TRUE(srv.find_message("marker-after-hostile").has_value());
  EXPECT_FALSE(srv.find_message("marker-aborted").has_value());
}

TEST(ReferenceServer, TooManyConnectionsGet421) {
  auto opt = quiet_options();
  opt.max_connections = 1;
  reference_server srv(opt);
  client first;
  ASSERT_TRUE(first.connect(srv));
  EXPECT_EQ(code(first.reply()), "220");
  client second;
  ASSERT_TRUE(second.connect(srv));
  EXPECT_EQ(code(second.reply()), "421");
  EXPECT_EQ(second.until_closed(), io_status::closed);
  EXPECT_EQ(code(first.command("NOOP")), "250");
}

TEST(ReferenceServer, BadListenAddressThrows) {
  auto opt = quiet_options();
  opt.listen = "not an address";
  EXPECT_THROW(reference_server{opt}, std::runtime_error);
  reference_server first(quiet_options());
  opt.listen = first.address();  // already in use
  EXPECT_THROW(reference_server{opt}, std::runtime_error);
}

}  // namespace
}  // namespace smtpspec::harness
