// The player against the embedded reference server over real sockets: every seed
// plays clean on the strict server (no finding: the positive control), each defect
// switch gives the finding kind aimed at it, sessions end without waiting out a
// timeout, and a target that closes or dies is reported as drop or crash.
#include "session_player.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <thread>

#include "smtpspec/harness/reference_server.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::fuzz {
namespace {

namespace ref = smtpspec::reference;
using std::chrono::milliseconds;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

session_input seed(const std::string& name) {
  return decode(read_file(std::filesystem::path(SMTPSPEC_FUZZ_NET_CORPUS) / name));
}

std::vector<std::filesystem::path> seeds() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(SMTPSPEC_FUZZ_NET_CORPUS))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string describe(const play_result& r) {
  std::string out;
  for (const auto& f : r.findings) out += std::string(to_string(f.kind)) + ": " + f.text + "\n";
  return out + r.transcript_tail;
}

struct embedded {
  explicit embedded(ref::defect d = ref::defect::none, results::tls_mode tls = results::tls_mode::none) {
    harness::reference_server_options opt;
    opt.session.defects = d;
    opt.implicit_tls = tls == results::tls_mode::implicit;
    opt.session.implicit_tls = opt.implicit_tls;
    server = std::make_unique<harness::reference_server>(opt);
    player_settings ps;
    std::string error;
    EXPECT_TRUE(harness::endpoint_spec::parse(server->address(), ps.target, error)) << error;
    ps.tls = tls;
    ps.reply_timeout = milliseconds(2000);
    player = std::make_unique<session_player>(ps);
  }
  std::unique_ptr<harness::reference_server> server;
  std::unique_ptr<session_player> player;
};

TEST(session_player, every_seed_plays_clean_on_the_reference_server) {
  embedded t;
  for (const auto& f : seeds()) {
    auto r = t.player->play(decode(read_file(f)));
    EXPECT_TRUE(r.connected) << f;
    EXPECT_TRUE(r.findings.empty()) << f.filename() << "\n" << describe(r);
    // A session ends on QUIT/close, never by waiting out a deadline.
    EXPECT_LT(r.duration, milliseconds(1500)) << f.filename() << "\n" << r.transcript_tail;
  }
}

TEST(session_player, seeds_play_clean_over_starttls_and_implicit_tls) {
  for (auto mode : {results::tls_mode::starttls, results::tls_mode::implicit}) {
    embedded t(ref::defect::none, mode);
    for (const char* name : {"plain-transaction", "pipelined-transaction", "smuggle-lf-dot-lf", "bdat-chunks",
                             "auth-plain", "long-lines"}) {
      auto r = t.player->play(seed(name));
      EXPECT_TRUE(r.connected) << name;
      EXPECT_TRUE(r.tls) << name;
      EXPECT_TRUE(r.findings.empty()) << name << " tls " << results::to_string(mode) << "\n" << describe(r);
    }
  }
}

TEST(session_player, empty_and_junk_sessions_end_cleanly) {
  embedded t;
  for (const char* text : {"", "raw NOO", "cmd DATA\ndata[end=none] x", "cmd EHLO a.example\ncmd AUTH LOGIN",
                           "cmd EHLO a.example\ncmd MAIL FROM:<a@example.test>\ncmd RCPT TO:<user@example.test>\n"
                           "bdat[size=500] x",
                           "raw x\\{700}", "cmd EHLO a.example\nstarttls\nstarttls\ncmd NOOP", "close",
                           "cmd QUIT\ncmd NOOP", "pause 5\n+pause 5"}) {
    auto r = t.player->play(decode(text));
    EXPECT_TRUE(r.findings.empty()) << text << "\n" << describe(r);
    EXPECT_LT(r.duration, milliseconds(1500)) << text << "\n" << r.transcript_tail;
  }
}

TEST(session_player, bdat_chunks_the_server_is_still_reading_are_filled_in) {
  embedded t;
  auto r =
      t.player->play(decode("cmd EHLO a.example\ncmd MAIL FROM:<a@example.test>\ncmd RCPT TO:<user@example.test>\n"
                            "bdat[size=300] x\n"));
  EXPECT_TRUE(r.findings.empty()) << describe(r);
  EXPECT_EQ(r.terminator.size(), 299u + 6u) << results::visible(r.terminator);  // 299 octets, then QUIT
}

struct defect_case {
  ref::defect d;
  const char* seed;
  finding_kind kind;
};
void PrintTo(const defect_case& c, std::ostream* os) { *os << ref::to_string(c.d) << " on " << c.seed; }

class session_player_defects : public ::testing::TestWithParam<defect_case> {};

TEST_P(session_player_defects, finds_the_defect) {
  const auto& p = GetParam();
  embedded t(p.d);
  auto r = t.player->play(seed(p.seed));
  EXPECT_TRUE(r.has(p.kind)) << ref::to_string(p.d) << " on " << p.seed << "\n" << describe(r);
  EXPECT_LT(r.duration, milliseconds(4000)) << r.transcript_tail;
}

INSTANTIATE_TEST_SUITE_P(
    all, session_player_defects,
    ::testing::Values(defect_case{ref::defect::end_data_on_lf_dot_lf, "smuggle-lf-dot-lf", finding_kind::desync},
                      defect_case{ref::defect::end_data_on_any_bare_dot, "smuggle-cr-dot-cr", finding_kind::desync},
                      defect_case{ref::defect::end_data_on_any_bare_dot, "smuggle-crlf-dot-lf", finding_kind::desync},
                      defect_case{ref::defect::execute_after_starttls, "starttls-inject-mail", finding_kind::desync},
                      defect_case{ref::defect::execute_after_starttls, "starttls-inject-pipeline",
                                  finding_kind::desync},
                      defect_case{ref::defect::rcpt_without_mail, "ordering-errors", finding_kind::illegal},
                      defect_case{ref::defect::stay_open_after_quit, "plain-transaction", finding_kind::illegal},
                      defect_case{ref::defect::malformed_multiline, "plain-transaction", finding_kind::syntax},
                      defect_case{ref::defect::drop_second_pipelined, "pipelined-transaction", finding_kind::desync}),
    [](const auto& p) { return std::string(ref::to_string(p.param.d)) + "_" + std::to_string(p.index); });

// The seeded-bug test (seeded_crash_test.sh) is only meaningful if the mutator has
// to build the sequence: no seed may reach the planted crash as it is.
TEST(session_player, seeds_do_not_reach_the_planted_crash) {
  for (const auto& f : seeds()) {
    embedded t(ref::defect::crash_on_data_after_bdat);
    auto r = t.player->play(decode(read_file(f)));
    EXPECT_FALSE(r.has(finding_kind::crash)) << f.filename() << "\n" << describe(r);
    EXPECT_FALSE(t.server->crashed()) << f.filename();
  }
}

// A target that dies is a crash whatever excuses the close itself (here two refusals
// before DATA, a RFC 5321 7.8 defence), or the finding would surface one session
// late, on an input that does not reproduce it.
TEST(session_player, the_planted_crash_is_found_even_where_a_close_is_excused) {
  for (const char* text :
       {"cmd EHLO a.example\ncmd MAIL FROM:<a@example.test>\ncmd RCPT TO:<user@example.test>\nbdat x\ncmd DATA",
        "cmd EHLO a.example\ncmd MAIL FROM:<a@example.test>\ncmd RCPT TO:<user@example.test>\nbdat x\n"
        "cmd NOOP a\\0b\ncmd \\xff\ncmd DATA\ncmd QUIT"}) {
    embedded t(ref::defect::crash_on_data_after_bdat);
    auto r = t.player->play(decode(text));
    EXPECT_TRUE(r.has(finding_kind::crash)) << text << "\n" << describe(r);
    EXPECT_TRUE(t.server->crashed());
  }
}

TEST(session_player, findings_name_the_action_being_played) {
  embedded t(ref::defect::end_data_on_lf_dot_lf);
  auto r = t.player->play(seed("smuggle-lf-dot-lf"));
  const finding* f = r.primary(default_finding_kinds);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->kind, finding_kind::desync);
  EXPECT_GE(f->action, 4) << "the data action or later";
  EXPECT_NE(f->text.find("lf_dot_lf"), std::string::npos) << f->text;
  EXPECT_NE(r.transcript_tail.find("C: "), std::string::npos);
}

TEST(session_player, nothing_listening_is_reported_as_refused) {
  // Bind a port and close it again: nothing listens there.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  player_settings ps;
  ps.target.host = "127.0.0.1";
  ps.target.port = ntohs(a.sin_port);
  session_player p(ps);
  auto r = p.play(seed("plain-transaction"));
  EXPECT_FALSE(r.connected);
  EXPECT_EQ(r.connect.status, harness::io_status::refused);
}

/// A one-connection server: greets, answers EHLO, then closes without a word (or
/// also stops listening: a crash).
class rude_server {
 public:
  explicit rude_server(bool die) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this, die] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (die) {
        ::close(fd_);
        fd_ = -1;
      }
      const char greeting[] = "220 rude.example.test ESMTP\r\n";
      ::send(c, greeting, sizeof greeting - 1, MSG_NOSIGNAL);
      char buf[4096];
      ::recv(c, buf, sizeof buf, 0);  // EHLO
      const char ehlo[] = "250 rude.example.test\r\n";
      ::send(c, ehlo, sizeof ehlo - 1, MSG_NOSIGNAL);
      ::recv(c, buf, sizeof buf, 0);  // MAIL
      ::close(c);
      if (!die) {  // stay up for the liveness check
        int again = ::accept(fd_, nullptr, nullptr);
        ::close(again);
      }
    });
  }
  ~rude_server() {
    thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST(session_player, a_close_without_221_is_a_drop_and_a_dead_target_a_crash) {
  for (bool die : {false, true}) {
    rude_server srv(die);
    player_settings ps;
    ps.target.host = "127.0.0.1";
    ps.target.port = srv.port();
    ps.reply_content = false;
    session_player p(ps);
    auto r = p.play(seed("plain-transaction"));
    EXPECT_TRUE(r.connected);
    EXPECT_TRUE(r.has(die ? finding_kind::crash : finding_kind::drop)) << describe(r);
    EXPECT_LT(r.duration, milliseconds(1500));
  }
}

/// A line-based server on one connection: answers each line through `answer`
/// ("" for no reply); closes after 221. Like Postfix's smtp-sink, it sends pending
/// replies only when no partial line is left in its buffer (RFC 2920 3.2).
class line_server {
 public:
  explicit line_server(std::function<std::string(const std::string&)> answer) : answer_(std::move(answer)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(fd_, 8);
    thread_ = std::thread([this] {
      int c = ::accept(fd_, nullptr, nullptr);
      std::string out = "220 lines.example.test ESMTP\r\n", buf;
      ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
      char chunk[4096];
      for (bool done = false; !done;) {
        auto n = ::recv(c, chunk, sizeof chunk, 0);
        if (n <= 0) break;
        buf.append(chunk, static_cast<std::size_t>(n));
        out.clear();
        for (auto nl = buf.find('\n'); nl != std::string::npos; nl = buf.find('\n')) {
          std::string line = buf.substr(0, nl);
          buf.erase(0, nl + 1);
          if (!line.empty() && line.back() == '\r') line.pop_back();
          std::string reply = answer_(line);
          out += reply;
          if (reply.rfind("221", 0) == 0) done = true;
        }
        if (buf.empty() || done)
          ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
        else
          held_ += out;  // a partial line is pending: hold the replies
        if (buf.empty() && !held_.empty()) {
          ::send(c, held_.data(), held_.size(), MSG_NOSIGNAL);
          held_.clear();
        }
      }
      ::close(c);
    });
  }
  ~line_server() {
    thread_.join();
    ::close(fd_);
  }
  std::uint16_t port() const { return port_; }

 private:
  std::function<std::string(const std::string&)> answer_;
  int fd_ = -1;
  std::uint16_t port_ = 0;
  std::string held_;
  std::thread thread_;
};

/// A minimal server without CHUNKING: BDAT is an unknown command to it.
std::string no_chunking(const std::string& line) {
  const std::string verb = line.substr(0, 4);
  if (verb == "EHLO") return "250-lines.example.test\r\n250 PIPELINING\r\n";
  if (verb == "NOOP" || verb == "MAIL" || verb == "RCPT") return "250 2.0.0 OK\r\n";
  if (verb == "QUIT") return "221 2.0.0 bye\r\n";
  return "500 5.5.2 unknown command\r\n";
}

play_result play_against(const line_server& srv, const char* session) {
  player_settings ps;
  ps.target.host = "127.0.0.1";
  ps.target.port = srv.port();
  ps.reply_content = false;
  session_player p(ps);
  return p.play(decode(session));
}

TEST(session_player, bdat_refused_by_a_server_without_chunking_is_not_judged) {
  // RFC 3030 2: BDAT only where CHUNKING is offered. A server that does not know BDAT
  // reads the chunk as commands; the client caused that, so it is no desync.
  line_server srv(no_chunking);
  auto r = play_against(srv, "cmd EHLO a.example\nbdat[last] From: a@b\\r\\n\\r\\nbody\\r\\n\ncmd NOOP\ncmd QUIT\n");
  EXPECT_FALSE(r.has(finding_kind::desync)) << describe(r);
  EXPECT_TRUE(r.findings.empty()) << describe(r);
  EXPECT_NE(r.transcript_tail.find("not judged"), std::string::npos) << r.transcript_tail;
}

TEST(session_player, replies_held_for_a_partial_line_are_not_a_hang) {
  line_server srv(no_chunking);
  auto r = play_against(srv, "cmd EHLO a.example\nraw NOOP\\r\\nNOO\nraw P\\r\\n\ncmd QUIT\n");
  EXPECT_TRUE(r.findings.empty()) << describe(r);
  EXPECT_LT(r.duration, milliseconds(1000)) << r.transcript_tail;
  EXPECT_EQ(r.replies, 5u) << r.transcript_tail;  // greeting, EHLO, NOOP, NOOP, QUIT
}

TEST(session_player, a_server_that_answers_twice_is_a_desync) {
  line_server srv([](const std::string& line) {
    return line.rfind("NOOP", 0) == 0 ? std::string("250 OK\r\n250 OK\r\n") : no_chunking(line);
  });
  auto r = play_against(srv, "cmd EHLO a.example\ncmd NOOP\ncmd QUIT\n");
  EXPECT_TRUE(r.has(finding_kind::desync)) << describe(r);
}

TEST(session_player, finding_kind_lists_parse) {
  std::string error;
  EXPECT_EQ(parse_finding_kinds("desync,crash", error), kind_bit(finding_kind::desync) | kind_bit(finding_kind::crash));
  EXPECT_EQ(parse_finding_kinds("default", error), default_finding_kinds);
  EXPECT_EQ(parse_finding_kinds("none", error), 0u);
  EXPECT_EQ(parse_finding_kinds("all", error), (1u << finding_kind_count) - 1);
  EXPECT_FALSE(parse_finding_kinds("desync,nope", error));
  EXPECT_NE(error.find("nope"), std::string::npos);
}

}  // namespace
}  // namespace smtpspec::fuzz
