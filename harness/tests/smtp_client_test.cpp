// The good client (smtp_client.hpp) against the embedded reference server, and
// against a tiny scripted server (POSIX sockets + OpenSSL, one connection, every
// wait bounded) for what the reference server cannot provoke: EHLO refused, 454
// to STARTTLS, plaintext injected after the 220 to STARTTLS, 421/554 greetings,
// replies trickled one octet at a time. Each defect switch is shown to change
// exactly the behaviour it names.
#include "smtpspec/harness/smtp_client.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <thread>

#include "smtpspec/harness/reference_server.hpp"
#include "smtpspec/harness/tls.hpp"
#include "smtpspec/reference/text.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::harness {
namespace {

using namespace std::chrono_literals;
using results::transcript;
using results::transcript_event;
using results::visible;
constexpr auto k_deadline = 20s;  // every wait of the tests and of the scripted server

// ---------------------------------------------------------------------------------
// Helpers

endpoint_spec target_of(const reference_server& srv) {
  endpoint_spec e;
  std::string err;
  EXPECT_TRUE(endpoint_spec::parse(srv.address(), e, err)) << err;
  return e;
}

reference_server_options server_options() {
  reference_server_options opt;
  opt.listen = "127.0.0.1:0";
  return opt;
}

submission basic(const endpoint_spec& where) {
  submission s;
  s.server = where;
  s.from = "sender@example.test";
  s.to = {"rcpt@example.test"};
  s.message = "Subject: plain\r\n\r\nbody\r\n";
  s.reply_timeout = k_deadline;
  s.connect_timeout = k_deadline;
  s.tls_options.insecure = true;
  return s;
}

/// Each write the client made (connection::write logs one event per call).
std::vector<std::string> client_writes(const transcript& log) {
  std::vector<std::string> out;
  for (const auto& e : log.events())
    if (e.what == transcript_event::kind::client_bytes) out.push_back(e.bytes);
  return out;
}

std::string client_octets(const transcript& log) {
  std::string out;
  for (const auto& w : client_writes(log)) out += w;
  return out;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

bool has_bare_lf(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return true;
  return false;
}

bool has_note(const transcript& log, std::string_view text) {
  return std::any_of(log.events().begin(), log.events().end(), [&](const transcript_event& e) {
    return e.what == transcript_event::kind::note && contains(e.bytes, text);
  });
}

// ---------------------------------------------------------------------------------
// The scripted server: one connection, answers by verb, records every octet.

struct script {
  std::string greeting = "220 scripted.test ESMTP\r\n";
  std::string ehlo = "250-scripted.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 STARTTLS\r\n";
  std::string ehlo_tls = "250-scripted.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
  std::string starttls = "220 2.0.0 Ready to start TLS\r\n";
  std::string after_starttls;  ///< plaintext sent in the same write as the STARTTLS reply
  std::string rcpt = "250 2.1.5 OK\r\n";
  bool trickle = false;            ///< write every reply one octet at a time
  bool close_on_starttls = false;  ///< close the connection instead of answering STARTTLS
  int connections = 1;             ///< sessions served one after another ("<CONNECTION>" between them)
};

const pem_identity& identity() {
  static const pem_identity id = make_self_signed("localhost");
  return id;
}

class scripted_server {
 public:
  explicit scripted_server(script sc) : script_(std::move(sc)), tls_ctx_(make_server_context(identity())) {
    std::signal(SIGPIPE, SIG_IGN);  // writes to a client that already closed
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (listen_fd_ < 0) throw std::runtime_error("socket");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 4) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("bind/listen");
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~scripted_server() {
    join();
    ::close(listen_fd_);
  }
  scripted_server(const scripted_server&) = delete;
  scripted_server& operator=(const scripted_server&) = delete;

  endpoint_spec target() const { return endpoint_spec{"127.0.0.1", port_}; }

  /// The command lines received (without line ends); "<TLS>" marks the
  /// handshake. Waits for the session to end first.
  const std::vector<std::string>& commands() {
    join();
    return commands_;
  }
  /// Every octet received, plaintext and then inside TLS.
  const std::string& received() {
    join();
    return received_;
  }
  /// Commands after the TLS handshake.
  std::vector<std::string> commands_in_tls() {
    const auto& c = commands();
    auto it = std::find(c.begin(), c.end(), "<TLS>");
    return it == c.end() ? std::vector<std::string>{} : std::vector<std::string>(it + 1, c.end());
  }
  bool saw(std::string_view verb) {
    const auto& c = commands();
    return std::any_of(c.begin(), c.end(), [&](const std::string& l) { return verb_of(l) == verb; });
  }

  static std::string verb_of(std::string_view line) {
    return smtpspec::reference::to_upper(line.substr(0, line.find(' ')));
  }

 private:
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  bool put(std::string_view bytes) {
    auto one = [&](const char* p, std::size_t n) {
      if (ssl_) return SSL_write(ssl_, p, static_cast<int>(n)) == static_cast<int>(n);
      return ::send(fd_, p, n, MSG_NOSIGNAL) == static_cast<ssize_t>(n);
    };
    if (!script_.trickle) return one(bytes.data(), bytes.size());
    for (char c : bytes)
      if (!one(&c, 1)) return false;
    return true;
  }

  /// Appends what arrives; false at EOF, error or the deadline.
  bool get(std::string& buf) {
    char tmp[16384];
    const long n = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp) : ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf.append(tmp, static_cast<std::size_t>(n));
    received_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }

  void serve() {
    for (int i = 0; i < script_.connections; ++i) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(k_deadline).count())) != 1) return;
      fd_ = ::accept(listen_fd_, nullptr, nullptr);
      if (fd_ < 0) return;
      if (i > 0) commands_.push_back("<CONNECTION>");
      timeval tv{static_cast<time_t>(std::chrono::seconds(k_deadline).count()), 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      int one = 1;
      ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      session();
      if (ssl_) SSL_free(ssl_);
      ssl_ = nullptr;
      ::close(fd_);
    }
  }

  void session() {
    if (!put(script_.greeting)) return;
    const bool service_refused = script_.greeting.rfind("554", 0) == 0;
    bool silent = script_.greeting.rfind("421", 0) == 0;  // after a 421 only record
    std::string buf;
    bool in_data = false;
    while (get(buf)) {
      // Lenient framing (LF ends a line, a CR before it is dropped), so that the
      // lf_line_endings defect gets answers and its octets can be examined.
      for (std::size_t nl; (nl = buf.find('\n')) != std::string::npos;) {
        std::string line = buf.substr(0, nl);
        buf.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (silent) {
          commands_.push_back(line);
          continue;
        }
        if (in_data) {
          if (line == ".") {
            in_data = false;
            if (!put("250 2.0.0 Queued\r\n")) return;
          }
          continue;
        }
        commands_.push_back(line);
        const std::string v = verb_of(line);
        std::string reply;
        if (service_refused && v != "QUIT") reply = "503 5.5.1 No service\r\n";
        else if (v == "EHLO") reply = ssl_ ? script_.ehlo_tls : script_.ehlo;
        else if (v == "HELO") reply = "250 scripted.test\r\n";
        else if (v == "STARTTLS" && !ssl_) {
          if (script_.close_on_starttls) return;
          if (script_.starttls.rfind("220", 0) != 0) {
            reply = script_.starttls;
          } else {
            if (!put(script_.starttls + script_.after_starttls)) return;
            ssl_ = SSL_new(tls_ctx_.native_handle());
            SSL_set_fd(ssl_, fd_);
            if (SSL_accept(ssl_) != 1) return;
            commands_.push_back("<TLS>");
            buf.clear();  // RFC 3207 4: plaintext queued behind STARTTLS is not executed
            break;
          }
        } else if (v == "MAIL") reply = "250 2.1.0 OK\r\n";
        else if (v == "RCPT") reply = script_.rcpt;
        else if (v == "DATA") {
          reply = "354 Go ahead\r\n";
          in_data = true;
        } else if (v == "RSET" || v == "NOOP") reply = "250 2.0.0 OK\r\n";
        else if (v == "AUTH") reply = "235 2.7.0 Authenticated\r\n";
        else if (v == "QUIT") {
          put("221 2.0.0 Bye\r\n");
          return;
        } else reply = "500 5.5.2 Unknown command\r\n";
        if (!put(reply)) return;
        if (reply.rfind("421", 0) == 0) silent = true;
      }
    }
  }

  script script_;
  boost::asio::ssl::context tls_ctx_;
  int listen_fd_ = -1, fd_ = -1;
  std::uint16_t port_ = 0;
  SSL* ssl_ = nullptr;
  std::vector<std::string> commands_;
  std::string received_;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------
// Against the reference server

TEST(SmtpClient, DeliversTheExactContentDotStuffed) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  // RFC 5321 4.5.2: lines starting with "." and "..", a line that is only ".",
  // an empty line, and a last line without CRLF (4.1.1.4: CRLF added).
  s.message = "Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n\r\nlast line";
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error << "\n" << log.to_text();
  EXPECT_TRUE(r.delivered);
  EXPECT_EQ(r.messages_accepted, 1u);
  ASSERT_TRUE(r.final_reply.has_value());
  EXPECT_EQ(r.final_reply->code, 250);
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_TRUE(r.recipients[0].accepted);
  auto msgs = srv.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].message.content, s.message + "\r\n");
  EXPECT_EQ(msgs[0].message.wire,
            "Subject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\n\r\nlast line\r\n.\r\n");
  EXPECT_TRUE(msgs[0].message.anomalies.empty());
  EXPECT_FALSE(msgs[0].message.via_bdat);
  // RFC 5321 4.1.1.10: QUIT at the end; RFC 1870: SIZE declared.
  const std::string sent = client_octets(log);
  EXPECT_TRUE(contains(sent, "MAIL FROM:<sender@example.test> SIZE=" + std::to_string(s.message.size() + 2) + "\r\n"))
      << sent;
  EXPECT_TRUE(sent.size() >= 6 && sent.compare(sent.size() - 6, 6, "QUIT\r\n") == 0) << sent;
  EXPECT_FALSE(has_bare_lf(sent));
}

TEST(SmtpClient, EmptyMessageAndBareLineEndsAreSentAsCrlf) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.message = "Subject: lf\n\nline one\nline two\rend";  // RFC 5321 2.3.8: CRLF only
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  auto msgs = srv.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].message.content, "Subject: lf\r\n\r\nline one\r\nline two\r\nend\r\n");
  EXPECT_FALSE(has_bare_lf(client_octets(log)));

  s.message.clear();
  transcript log2;
  r = submit(s, log2);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  msgs = srv.messages();
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].message.content, "");
}

TEST(SmtpClient, PipelinesMailRcptAndDataInOneWriteWhenOffered) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.to = {"one@example.test", "two@example.test"};
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  // RFC 2920 3.1: MAIL, the RCPTs and DATA (the last of the group) in one write.
  const std::string group = "MAIL FROM:<sender@example.test> SIZE=" + std::to_string(s.message.size()) +
                            "\r\nRCPT TO:<one@example.test>\r\nRCPT TO:<two@example.test>\r\nDATA\r\n";
  auto writes = client_writes(log);
  EXPECT_NE(std::find(writes.begin(), writes.end(), group), writes.end()) << log.to_text();
  // The content and the end-of-data line are one write too.
  EXPECT_NE(std::find(writes.begin(), writes.end(), s.message + ".\r\n"), writes.end()) << log.to_text();
  auto msgs = srv.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].message.forward_paths.size(), 2u);
}

TEST(SmtpClient, WaitsForEachReplyWithoutPipelining) {
  for (bool server_offers : {false, true}) {
    auto opt = server_options();
    opt.session.pipelining = server_offers;
    reference_server srv(opt);
    auto s = basic(target_of(srv));
    s.use_pipelining_if_offered = false;  // with server_offers: the client declines
    transcript log;
    auto r = submit(s, log);
    ASSERT_EQ(r.status, submission_status::delivered) << r.error;
    for (const auto& w : client_writes(log)) {
      if (contains(w, "MAIL FROM")) {
        EXPECT_FALSE(contains(w, "RCPT")) << w;
        EXPECT_FALSE(contains(w, "DATA")) << w;
      }
      if (contains(w, "RCPT")) {
        EXPECT_FALSE(contains(w, "DATA\r\n")) << w;
      }
    }
  }
}

TEST(SmtpClient, StartTlsThenAuthPlainWithVerifiedCertificate) {
  reference_server srv(server_options());
  auto ca = std::filesystem::temp_directory_path() / ("smtpspec-client-ca-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(ca) << srv.certificate_pem();
  auto s = basic(target_of(srv));
  s.tls = client_tls_mode::starttls_required;
  s.tls_options.insecure = false;
  s.tls_options.ca_file = ca.string();  // the certificate names IP:127.0.0.1
  s.auth_user = "smtpspec";
  s.auth_password = "smtpspec";
  s.message = "Subject: tls\r\n\r\nmarker-client-tls\r\n";
  transcript log;
  auto r = submit(s, log);
  std::filesystem::remove(ca);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error << "\n" << log.to_text();
  EXPECT_TRUE(r.tls);
  EXPECT_TRUE(r.authenticated);
  // RFC 3207 4.2: the extension list is the one from inside TLS (AUTH, no STARTTLS).
  EXPECT_TRUE(r.extensions.has("AUTH"));
  EXPECT_FALSE(r.extensions.has("STARTTLS"));
  auto m = srv.find_message("marker-client-tls");
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->message.tls);
  // "\0smtpspec\0smtpspec" in base64 (RFC 4616 2, RFC 4954 4).
  EXPECT_TRUE(contains(client_octets(log), "AUTH PLAIN AHNtdHBzcGVjAHNtdHBzcGVj\r\n")) << log.to_text();
  // Two EHLOs: before and inside TLS.
  const std::string sent = client_octets(log);
  EXPECT_NE(sent.find("EHLO"), sent.rfind("EHLO"));
}

TEST(SmtpClient, AuthRefusedAndCredentialsNeverInPlaintext) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.tls = client_tls_mode::starttls_required;
  s.auth_user = "smtpspec";
  s.auth_password = "wrong";
  transcript log;
  auto r = submit(s, log);
  EXPECT_EQ(r.status, submission_status::refused) << r.error;
  ASSERT_TRUE(r.final_reply.has_value());
  EXPECT_EQ(r.final_reply->code, 535);
  EXPECT_FALSE(contains(client_octets(log), "MAIL FROM"));
  EXPECT_TRUE(srv.messages().empty());

  // RFC 4954 4: "If an AUTH command fails, the client MAY proceed without
  // authentication": with auth_optional it does.
  s.auth_optional = true;
  transcript log_optional;
  r = submit(s, log_optional);
  EXPECT_EQ(r.status, submission_status::delivered) << r.error;
  EXPECT_FALSE(r.authenticated);
  EXPECT_TRUE(contains(client_octets(log_optional), "AUTH PLAIN "));
  EXPECT_EQ(srv.messages().size(), 1u);
  s.auth_optional = false;

  // Credentials but no TLS: not sent, nothing delivered.
  s.tls = client_tls_mode::none;
  s.auth_password = "smtpspec";
  transcript log2;
  r = submit(s, log2);
  EXPECT_EQ(r.status, submission_status::protocol_error) << r.error;
  EXPECT_FALSE(contains(client_octets(log2), "AUTH"));
  EXPECT_FALSE(contains(client_octets(log2), "MAIL FROM"));
}

TEST(SmtpClient, ImplicitTls) {
  auto opt = server_options();
  opt.implicit_tls = true;
  opt.session.implicit_tls = true;
  reference_server srv(opt);
  auto s = basic(target_of(srv));
  s.tls = client_tls_mode::implicit;
  s.message = "Subject: implicit\r\n\r\nmarker-client-implicit\r\n";
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  EXPECT_TRUE(r.tls);
  auto m = srv.find_message("marker-client-implicit");
  ASSERT_TRUE(m.has_value());
  EXPECT_TRUE(m->message.tls);
}

TEST(SmtpClient, BdatWhenAskedAndOffered) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.use_bdat_if_offered = true;
  s.message = "Subject: bdat\r\n\r\n.not stuffed in BDAT\r\nno final CRLF";
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error << "\n" << log.to_text();
  const std::string content = s.message + "\r\n";
  // RFC 3030 2: the chunk follows its BDAT line in the same write, unstuffed.
  auto writes = client_writes(log);
  EXPECT_NE(std::find(writes.begin(), writes.end(), "BDAT " + std::to_string(content.size()) + " LAST\r\n" + content),
            writes.end())
      << log.to_text();
  EXPECT_FALSE(contains(client_octets(log), "DATA\r\n"));
  auto msgs = srv.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_TRUE(msgs[0].message.via_bdat);
  EXPECT_EQ(msgs[0].message.content, content);
}

TEST(SmtpClient, SomeRecipientsRefused) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.to = {"ok@example.test", "reject-me@example.test", "<also@smtpspec.test>"};
  transcript log;
  auto r = submit(s, log);
  EXPECT_EQ(r.status, submission_status::refused) << r.error;
  EXPECT_TRUE(r.delivered);  // accepted for the others
  ASSERT_EQ(r.recipients.size(), 3u);
  EXPECT_TRUE(r.recipients[0].accepted);
  EXPECT_FALSE(r.recipients[1].accepted);
  ASSERT_TRUE(r.recipients[1].reply.has_value());
  EXPECT_EQ(r.recipients[1].reply->code, 550);
  EXPECT_TRUE(r.recipients[2].accepted);
  EXPECT_EQ(r.recipients[2].address, "also@smtpspec.test");
  EXPECT_TRUE(contains(r.error, "reject-me@example.test")) << r.error;
  auto msgs = srv.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].message.forward_paths.size(), 2u);
}

TEST(SmtpClient, EveryRecipientRefusedMeansNoData) {
  for (bool pipelining : {true, false}) {
    reference_server srv(server_options());
    auto s = basic(target_of(srv));
    s.to = {"reject@example.test", "someone@elsewhere.test"};
    s.use_pipelining_if_offered = pipelining;
    s.message = "Subject: x\r\n\r\nmarker-never-sent\r\n";
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::refused) << r.error;
    EXPECT_FALSE(r.delivered);
    EXPECT_FALSE(r.recipients[0].accepted);
    EXPECT_FALSE(r.recipients[1].accepted);
    EXPECT_TRUE(srv.messages().empty());
    const std::string sent = client_octets(log);
    EXPECT_FALSE(contains(sent, "marker-never-sent")) << sent;
    // RFC 5321 3.3: without pipelining, DATA is not even sent; with it, DATA ends
    // the group (RFC 2920 3.1) and its refusal is read.
    EXPECT_EQ(contains(sent, "DATA\r\n"), pipelining) << sent;
    EXPECT_TRUE(contains(sent, "QUIT\r\n"));

    // The defect: DATA after every RCPT failed, and the content whatever its reply
    // (the strict server answers DATA 503 and reads the content as commands).
    s.defects = client_defect::data_after_failed_recipients;
    transcript log2;
    r = submit(s, log2);
    EXPECT_EQ(r.status, submission_status::refused);
    EXPECT_TRUE(contains(client_octets(log2), "DATA\r\n"));
    EXPECT_TRUE(contains(client_octets(log2), "marker-never-sent")) << log2.to_text();
    EXPECT_TRUE(srv.messages().empty());
  }
}

TEST(SmtpClient, DeclinesAMessageOverTheAdvertisedSize) {
  auto opt = server_options();
  opt.session.max_message_size = 64;
  reference_server srv(opt);
  auto s = basic(target_of(srv));
  s.message = "Subject: big\r\n\r\n" + std::string(200, 'x') + "\r\n";
  transcript log;
  auto r = submit(s, log);
  // RFC 1870 6.1: the client does not even start the transaction.
  EXPECT_EQ(r.status, submission_status::refused) << r.error;
  EXPECT_TRUE(contains(r.error, "SIZE")) << r.error;
  EXPECT_FALSE(contains(client_octets(log), "MAIL FROM"));

  s.defects = client_defect::ignore_size;
  transcript log2;
  r = submit(s, log2);
  EXPECT_EQ(r.status, submission_status::refused) << r.error;
  EXPECT_TRUE(contains(client_octets(log2), "MAIL FROM:<sender@example.test> SIZE=" + std::to_string(s.message.size())));
  ASSERT_TRUE(r.final_reply.has_value());
  EXPECT_EQ(r.final_reply->code, 552);  // the server refuses what the client should not have sent
  EXPECT_TRUE(srv.messages().empty());
}

TEST(SmtpClient, EightBitContentDeclaresBody8BitMime) {
  auto opt = server_options();
  reference_server srv(opt);
  auto s = basic(target_of(srv));
  s.message = "Subject: 8bit\r\n\r\ncaf\xc3\xa9\r\n";
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  EXPECT_TRUE(contains(client_octets(log), " BODY=8BITMIME\r\n"));

  // RFC 6152 3: not to a server without 8BITMIME.
  auto opt2 = server_options();
  opt2.session.eight_bit_mime = false;
  reference_server srv2(opt2);
  s.server = target_of(srv2);
  transcript log2;
  r = submit(s, log2);
  EXPECT_EQ(r.status, submission_status::refused) << r.error;
  EXPECT_FALSE(contains(client_octets(log2), "MAIL FROM"));
}

TEST(SmtpClient, CountRunsSequentialTransactionsWithoutRset) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.count = 5;
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  EXPECT_EQ(r.messages_accepted, 5u);
  EXPECT_EQ(srv.messages().size(), 5u);
  EXPECT_EQ(srv.connections_served(), 1u);
  const std::string sent = client_octets(log);
  EXPECT_FALSE(contains(sent, "RSET"));
  std::size_t mails = 0;
  for (auto p = sent.find("MAIL FROM"); p != std::string::npos; p = sent.find("MAIL FROM", p + 1)) ++mails;
  EXPECT_EQ(mails, 5u);
}

TEST(SmtpClient, UnreachableWhenNothingListens) {
  // A bound socket that does not listen: connecting to its port is refused, and
  // no other test can take the port meanwhile.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  auto s = basic(endpoint_spec{"127.0.0.1", ntohs(a.sin_port)});
  transcript log;
  auto r = submit(s, log);
  ::close(fd);
  EXPECT_EQ(r.status, submission_status::unreachable) << r.error;
  EXPECT_FALSE(r.delivered);
}

TEST(SmtpClient, RefusesSubmissionsThatWouldInjectCommands) {
  submission s = basic(endpoint_spec{"127.0.0.1", 1});
  s.to = {"a@example.test\r\nRSET"};
  EXPECT_FALSE(check_submission(s).empty());
  transcript log;
  EXPECT_THROW(submit(s, log), std::invalid_argument);
  s.to.clear();
  EXPECT_FALSE(check_submission(s).empty());
  s.to = {"a@example.test"};
  s.helo = "bad\nhelo";
  EXPECT_FALSE(check_submission(s).empty());
  s.helo = "client.example";
  s.from = "<>";
  EXPECT_TRUE(check_submission(s).empty());
  EXPECT_TRUE(log.events().empty());
}

TEST(SmtpClient, NullReversePath) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.from = "<>";
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  EXPECT_TRUE(contains(client_octets(log), "MAIL FROM:<> SIZE="));
}

// ---------------------------------------------------------------------------------
// Defect switches against the reference server

TEST(SmtpClient, DefectNoDotStuffing) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.message = "Subject: dot\r\n\r\n.hidden\r\n";
  s.defects = client_defect::no_dot_stuffing;
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  auto msgs = srv.messages();
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].message.wire, "Subject: dot\r\n\r\n.hidden\r\n.\r\n");
  // The server took the content's own dot for a stuffed one (RFC 5321 4.5.2) and removed it.
  EXPECT_EQ(msgs[0].message.content, "Subject: dot\r\n\r\nhidden\r\n");
}

TEST(SmtpClient, DefectHeloBeforeEhlo) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  transcript good_log;
  ASSERT_EQ(submit(s, good_log).status, submission_status::delivered);
  EXPECT_EQ(client_writes(good_log).front(), "EHLO client.smtpspec.test\r\n");  // RFC 5321 4.1.1.1
  s.defects = client_defect::helo_before_ehlo;
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  const auto writes = client_writes(log);
  ASSERT_GE(writes.size(), 2u);
  EXPECT_EQ(writes[0], "HELO client.smtpspec.test\r\n");
  EXPECT_EQ(writes[1], "EHLO client.smtpspec.test\r\n");
  EXPECT_TRUE(r.extensions.has("PIPELINING"));  // the rest is the good client's
  EXPECT_EQ(std::vector<std::string>(writes.begin() + 1, writes.end()), client_writes(good_log));
}

TEST(SmtpClient, DefectNoQuit) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.defects = client_defect::no_quit;
  transcript log;
  auto r = submit(s, log);
  ASSERT_EQ(r.status, submission_status::delivered) << r.error;
  EXPECT_FALSE(contains(client_octets(log), "QUIT"));
  EXPECT_EQ(srv.messages().size(), 1u);
}

// "Each breaks exactly one thing": on a delivery where a defect's trigger is
// absent (no line starts with ".", PIPELINING offered, no STARTTLS, EHLO
// accepted, every RCPT accepted, the message within SIZE) the client's octets
// are the good client's, octet for octet. lf_line_endings, no_quit and
// helo_before_ehlo always show; they are covered above and below.
TEST(SmtpClient, DefectsChangeNothingWhereTheirTriggerIsAbsent) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.to = {"one@example.test", "two@example.test"};
  transcript good_log;
  ASSERT_EQ(submit(s, good_log).status, submission_status::delivered);
  const std::string good = client_octets(good_log);
  for (auto d : all_client_defects()) {
    if (d == client_defect::lf_line_endings || d == client_defect::no_quit || d == client_defect::helo_before_ehlo)
      continue;
    s.defects = d;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << to_string(d) << ": " << r.error;
    EXPECT_EQ(client_octets(log), good) << to_string(d);
  }
}

TEST(SmtpClient, DefectNamesRoundTrip) {
  auto all = all_client_defects();
  EXPECT_EQ(all.size(), 11u);
  std::uint32_t bits = 0;
  for (auto d : all) {
    EXPECT_FALSE(to_string(d).empty());
    EXPECT_EQ(client_defect_from_string(to_string(d)), d);
    EXPECT_EQ(bits & std::uint32_t(d), 0u);  // one bit each
    bits |= std::uint32_t(d);
  }
  EXPECT_EQ(client_defect_from_string("no_such_defect"), client_defect::none);
  EXPECT_TRUE(to_string(client_defect::no_quit | client_defect::ignore_size).empty());
  for (auto m : {client_tls_mode::none, client_tls_mode::starttls_if_offered, client_tls_mode::starttls_required,
                 client_tls_mode::implicit}) {
    client_tls_mode back = client_tls_mode::none;
    ASSERT_TRUE(client_tls_mode_from_string(to_string(m), back));
    EXPECT_EQ(back, m);
  }
  client_tls_mode ignored;
  EXPECT_FALSE(client_tls_mode_from_string("tls", ignored));
}

// ---------------------------------------------------------------------------------
// Against the scripted server

TEST(SmtpClient, FallsBackToHeloWhenEhloIsRefused) {
  script sc;
  sc.ehlo = "502 5.5.1 Command not implemented\r\n";
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error << "\n" << log.to_text();
    EXPECT_TRUE(r.helo_fallback);
    const auto& c = srv.commands();
    ASSERT_GE(c.size(), 3u);
    EXPECT_EQ(c[0], "EHLO client.smtpspec.test");
    EXPECT_EQ(c[1], "HELO client.smtpspec.test");  // RFC 5321 3.2
    EXPECT_EQ(scripted_server::verb_of(c[2]), "MAIL");
    // No extensions after HELO: no SIZE parameter, no pipelining.
    EXPECT_EQ(c[2], "MAIL FROM:<sender@example.test>");
    for (const auto& w : client_writes(log)) {
      if (contains(w, "MAIL")) {
        EXPECT_FALSE(contains(w, "RCPT")) << w;
      }
    }
  }
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.defects = client_defect::no_helo_fallback;
    transcript log;
    submit(s, log);
    EXPECT_FALSE(srv.saw("HELO"));
    const auto& c = srv.commands();
    ASSERT_GE(c.size(), 2u);
    EXPECT_EQ(scripted_server::verb_of(c[1]), "MAIL");
  }
}

TEST(SmtpClient, StartTls454WhenTlsIsRequired) {
  script sc;
  sc.starttls = "454 4.7.0 TLS not available due to temporary reason\r\n";
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_required;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::tls_failed) << r.error;
    EXPECT_FALSE(srv.saw("MAIL"));  // RFC 3207 4.1: never in plaintext
    ASSERT_FALSE(srv.commands().empty());
    EXPECT_EQ(srv.commands().back(), "QUIT");
  }
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_required;
    s.defects = client_defect::continue_after_failed_starttls;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error;
    EXPECT_TRUE(srv.saw("MAIL"));
    EXPECT_FALSE(r.tls);
  }
  {
    // Opportunistic: plaintext after 454 is the policy, not a defect.
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_if_offered;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error;
    EXPECT_TRUE(srv.saw("STARTTLS"));
    EXPECT_TRUE(srv.saw("MAIL"));
    EXPECT_FALSE(r.tls);
  }
}

TEST(SmtpClient, ConnectionClosedAtStartTls) {
  script sc;
  sc.close_on_starttls = true;
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_required;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::tls_failed) << r.error;
    EXPECT_FALSE(srv.saw("MAIL"));
  }
  {
    // Opportunistic: a new connection, without STARTTLS this time.
    sc.connections = 2;
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_if_offered;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error << "\n" << log.to_text();
    EXPECT_FALSE(r.tls);
    const auto& c = srv.commands();
    auto second = std::find(c.begin(), c.end(), "<CONNECTION>");
    ASSERT_NE(second, c.end());
    EXPECT_EQ(std::count_if(second, c.end(), [](const std::string& l) { return l == "STARTTLS"; }), 0);
    EXPECT_EQ(std::count_if(second, c.end(), [](const std::string& l) { return l.rfind("MAIL", 0) == 0; }), 1);
  }
}

TEST(SmtpClient, PlaintextAuthOnlyWhenAllowed) {
  script sc;
  sc.ehlo = "250-scripted.test\r\n250-PIPELINING\r\n250 AUTH PLAIN LOGIN\r\n";
  for (bool allowed : {false, true}) {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.auth_user = "user";
    s.auth_password = "secret";
    s.allow_plaintext_auth = allowed;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(srv.saw("AUTH"), allowed);
    EXPECT_EQ(srv.saw("MAIL"), allowed);
    EXPECT_EQ(r.status, allowed ? submission_status::delivered : submission_status::protocol_error) << r.error;
    EXPECT_EQ(r.authenticated, allowed);
  }
}

TEST(SmtpClient, StartTlsRequiredButNotOffered) {
  script sc;
  sc.ehlo = "250-scripted.test\r\n250 PIPELINING\r\n";
  scripted_server srv(sc);
  auto s = basic(srv.target());
  s.tls = client_tls_mode::starttls_required;
  transcript log;
  auto r = submit(s, log);
  EXPECT_EQ(r.status, submission_status::tls_failed) << r.error;
  EXPECT_FALSE(srv.saw("STARTTLS"));
  EXPECT_FALSE(srv.saw("MAIL"));
  EXPECT_TRUE(srv.saw("QUIT"));
}

TEST(SmtpClient, DiscardsRepliesInjectedAfterTheStartTls220) {
  script sc;
  // The attacker's plaintext rides in the same segment as the 220.
  sc.after_starttls = "250-injected.test\r\n250 X-INJECTED\r\n";
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_required;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error << "\n" << log.to_text();
    EXPECT_TRUE(r.tls);
    EXPECT_FALSE(r.extensions.has("X-INJECTED"));
    EXPECT_EQ(r.extensions.domain, "scripted.test");
    EXPECT_TRUE(has_note(log, "discarded 35 octets")) << log.to_text();
    auto in_tls = srv.commands_in_tls();
    ASSERT_FALSE(in_tls.empty());
    EXPECT_EQ(in_tls[0], "EHLO client.smtpspec.test");  // RFC 3207 4.2
  }
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_required;
    s.defects = client_defect::use_injected_reply;
    transcript log;
    auto r = submit(s, log);
    // The forged reply was taken as the reply to the EHLO inside TLS.
    EXPECT_TRUE(r.extensions.has("X-INJECTED")) << log.to_text();
    EXPECT_EQ(r.extensions.domain, "injected.test");
    EXPECT_NE(r.status, submission_status::delivered);  // desynchronised from then on
  }
}

TEST(SmtpClient, EhloAgainAfterStartTls) {
  {
    scripted_server srv(script{});
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_if_offered;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error;
    EXPECT_TRUE(r.tls);
    EXPECT_FALSE(r.extensions.has("STARTTLS"));  // the list from inside TLS
    auto in_tls = srv.commands_in_tls();
    ASSERT_GE(in_tls.size(), 2u);
    EXPECT_EQ(scripted_server::verb_of(in_tls[0]), "EHLO");
    EXPECT_EQ(scripted_server::verb_of(in_tls[1]), "MAIL");
  }
  {
    scripted_server srv(script{});
    auto s = basic(srv.target());
    s.tls = client_tls_mode::starttls_if_offered;
    s.defects = client_defect::no_ehlo_after_starttls;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error;
    auto in_tls = srv.commands_in_tls();
    ASSERT_FALSE(in_tls.empty());
    EXPECT_EQ(scripted_server::verb_of(in_tls[0]), "MAIL");
    EXPECT_FALSE(std::any_of(in_tls.begin(), in_tls.end(),
                             [](const std::string& l) { return scripted_server::verb_of(l) == "EHLO"; }));
    EXPECT_TRUE(r.extensions.has("STARTTLS"));  // the plaintext list was kept
  }
}

TEST(SmtpClient, Greeting421ClosesWithoutQuit) {
  script sc;
  sc.greeting = "421 4.3.2 Too busy, closing\r\n";
  scripted_server srv(sc);
  auto s = basic(srv.target());
  transcript log;
  auto r = submit(s, log);
  EXPECT_EQ(r.status, submission_status::refused) << r.error;
  ASSERT_TRUE(r.final_reply.has_value());
  EXPECT_EQ(r.final_reply->code, 421);
  EXPECT_TRUE(srv.received().empty()) << visible(srv.received());  // not even QUIT
}

TEST(SmtpClient, Greeting554GetsQuitOnly) {
  script sc;
  sc.greeting = "554 5.3.2 No SMTP service here\r\n";
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::refused) << r.error;
    EXPECT_EQ(srv.commands(), std::vector<std::string>{"QUIT"});  // RFC 5321 3.1
  }
  {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.defects = client_defect::no_quit;
    transcript log;
    submit(s, log);
    EXPECT_TRUE(srv.commands().empty());
  }
}

TEST(SmtpClient, Reply421MidSessionClosesWithoutQuit) {
  script sc;
  sc.rcpt = "421 4.3.2 Shutting down\r\n";
  scripted_server srv(sc);
  auto s = basic(srv.target());
  transcript log;
  auto r = submit(s, log);
  EXPECT_EQ(r.status, submission_status::refused) << r.error;
  ASSERT_TRUE(r.final_reply.has_value());
  EXPECT_EQ(r.final_reply->code, 421);
  EXPECT_FALSE(srv.saw("QUIT"));  // RFC 5321 3.8
}

TEST(SmtpClient, LoneDotWhenDataIsAcceptedWithoutRecipients) {
  script sc;
  sc.rcpt = "550 5.1.1 No such user\r\n";  // and the scripted server still answers DATA with 354
  for (auto d : {client_defect::none, client_defect::data_after_failed_recipients}) {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.message = "Subject: x\r\n\r\nmarker-content\r\n";
    s.defects = d;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::refused) << r.error;
    auto writes = client_writes(log);
    if (d == client_defect::none) {
      // RFC 2920 3.1: "if the DATA command was accepted the SMTP client should send a single dot".
      EXPECT_NE(std::find(writes.begin(), writes.end(), ".\r\n"), writes.end()) << log.to_text();
      EXPECT_FALSE(contains(client_octets(log), "marker-content"));
    } else {
      EXPECT_TRUE(contains(client_octets(log), "marker-content"));
    }
    EXPECT_TRUE(srv.saw("QUIT"));
  }
}

TEST(SmtpClient, RepliesTrickledOneOctetAtATime) {
  script sc;
  sc.trickle = true;
  scripted_server srv(sc);
  auto s = basic(srv.target());
  s.to = {"one@example.test", "two@example.test"};
  transcript log;
  auto r = submit(s, log);
  EXPECT_EQ(r.status, submission_status::delivered) << r.error << "\n" << log.to_text();
  EXPECT_TRUE(r.extensions.has("PIPELINING"));
  EXPECT_TRUE(r.extensions.has("8BITMIME"));
}

TEST(SmtpClient, DefectLfLineEndings) {
  script sc;
  auto run = [&](client_defect d) {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.message = "Subject: lf\r\n\r\n.dot\r\nline\r\n";
    s.defects = d;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error;
    return srv.received();
  };
  const std::string good = run(client_defect::none);
  EXPECT_FALSE(has_bare_lf(good)) << visible(good);
  EXPECT_TRUE(contains(good, "\r\n..dot\r\nline\r\n.\r\n")) << visible(good);
  const std::string bad = run(client_defect::lf_line_endings);
  EXPECT_TRUE(has_bare_lf(bad));
  EXPECT_FALSE(contains(bad, "\r")) << visible(bad);  // commands and data alike
  EXPECT_TRUE(contains(bad, "EHLO client.smtpspec.test\n")) << visible(bad);
  EXPECT_TRUE(contains(bad, "\n..dot\nline\n.\n")) << visible(bad);  // still stuffed: one defect only
}

TEST(SmtpClient, DefectPipelineWithoutPipelining) {
  script sc;
  sc.ehlo = "250-scripted.test\r\n250 8BITMIME\r\n";
  auto run = [&](client_defect d) {
    scripted_server srv(sc);
    auto s = basic(srv.target());
    s.defects = d;
    transcript log;
    auto r = submit(s, log);
    EXPECT_EQ(r.status, submission_status::delivered) << r.error;
    return client_writes(log);
  };
  const std::string group = "MAIL FROM:<sender@example.test>\r\nRCPT TO:<rcpt@example.test>\r\nDATA\r\n";
  auto good = run(client_defect::none);
  EXPECT_EQ(std::find(good.begin(), good.end(), group), good.end());
  EXPECT_NE(std::find(good.begin(), good.end(), "MAIL FROM:<sender@example.test>\r\n"), good.end());
  auto bad = run(client_defect::pipeline_without_pipelining);
  EXPECT_NE(std::find(bad.begin(), bad.end(), group), bad.end());
}

// Load figure for the brief (no assertion on time): 100 messages over one
// connection to the embedded server. Run with --gtest_also_run_disabled_tests.
TEST(SmtpClient, DISABLED_Benchmark100MessagesOneConnection) {
  reference_server srv(server_options());
  auto s = basic(target_of(srv));
  s.message = "Subject: bench\r\n\r\n" + std::string(1000, 'b') + "\r\n";
  s.count = 100;
  for (int round = 0; round < 3; ++round) {
    transcript log(64 * 1024);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = submit(s, log);
    const std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - t0;
    ASSERT_EQ(r.status, submission_status::delivered) << r.error;
    std::cout << "100 messages over one connection: " << ms.count() << " ms\n";
  }
}

}  // namespace
}  // namespace smtpspec::harness
