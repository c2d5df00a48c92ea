// The load generator (load_generator.hpp) against the embedded reference server:
// every message of N sessions x M transactions arrives, with and without
// PIPELINING and STARTTLS; refusals are counted, not fatal; a target that is not
// there or never answers gives errors within the deadlines, not a hang. No timing
// is asserted: throughput is ci/bench.sh's business.
#include "smtpspec/harness/load_generator.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "smtpspec/harness/reference_server.hpp"

namespace smtpspec::harness {
namespace {

using namespace std::chrono_literals;

/// Content with a line that starts with "." (stuffed on the wire) and one that is
/// a lone "." (the end-of-data look-alike every client must stuff).
const std::string k_message =
    "From: <sender@example.test>\r\nTo: <rcpt@example.test>\r\nSubject: load\r\n\r\n"
    "first line\r\n.leading dot\r\n.\r\nlast line\r\n";

reference_server_options server_options() {
  reference_server_options o;
  o.listen = "127.0.0.1:0";
  return o;
}

load_options options_for(const reference_server& srv, std::size_t connections, std::size_t messages) {
  load_options o;
  std::string err;
  EXPECT_TRUE(endpoint_spec::parse(srv.address(), o.target, err)) << err;
  o.connections = connections;
  o.messages = messages;
  o.message = k_message;
  o.tls_options.insecure = true;  // the server's certificate is self-signed
  o.connect_timeout = 20s;
  o.reply_timeout = 20s;
  return o;
}

std::string describe(const load_result& r) {
  std::string s = r.to_json();
  return s;
}

/// The run's own descriptors are all closed. The embedded server runs in this
/// process too and closes its side of each connection a moment later, so the
/// count is given a few seconds to come back to where it was (a leak never does).
void expect_no_fd_leak(const load_result& r) {
  ASSERT_GE(r.fds_before, 0);
  int now = count_open_fds();
  for (int i = 0; i < 500 && now != r.fds_before; ++i) {
    std::this_thread::sleep_for(10ms);
    now = count_open_fds();
  }
  EXPECT_EQ(now, r.fds_before) << "file descriptors leaked";
}

/// Every message the server stored is the one sent, un-stuffed, and the counts agree.
void expect_all_delivered(const reference_server& srv, const load_result& r, std::size_t expected, bool tls) {
  EXPECT_EQ(r.messages_planned, expected) << describe(r);
  EXPECT_EQ(r.messages_accepted, expected) << describe(r);
  EXPECT_EQ(r.messages_refused, 0u) << describe(r);
  EXPECT_EQ(r.messages_failed, 0u) << describe(r);
  EXPECT_EQ(r.sessions_failed, 0u) << describe(r);
  EXPECT_EQ(r.sessions_completed, r.sessions_planned) << describe(r);
  EXPECT_TRUE(r.errors.empty()) << describe(r);
  const auto stored = srv.messages();
  ASSERT_EQ(stored.size(), expected);
  for (const auto& m : stored) {
    EXPECT_EQ(m.message.content, k_message);
    EXPECT_EQ(m.message.reverse_path.find("sender@example.test") != std::string::npos, true);
    ASSERT_EQ(m.message.forward_paths.size(), 1u);
    EXPECT_EQ(m.message.tls, tls);
  }
  expect_no_fd_leak(r);
  EXPECT_GT(r.peak_rss_kib, 0);
  EXPECT_GT(r.bytes_sent, expected * k_message.size());
}

TEST(LoadGenerator, PipelinedSessionsDeliverEveryMessage) {
  reference_server srv(server_options());
  const load_result r = run_load(options_for(srv, 4, 5));
  expect_all_delivered(srv, r, 20, false);
  EXPECT_EQ(r.sessions_pipelined, 4u);
  EXPECT_EQ(r.sessions_tls, 0u);
  EXPECT_EQ(srv.connections_served(), 4u);
}

TEST(LoadGenerator, WithoutPipeliningEachCommandWaits) {
  reference_server srv(server_options());
  load_options o = options_for(srv, 3, 4);
  o.pipelining = false;
  o.spin = std::chrono::microseconds(0);  // plain io_context::run()
  const load_result r = run_load(o);
  expect_all_delivered(srv, r, 12, false);
  EXPECT_EQ(r.sessions_pipelined, 0u);
}

TEST(LoadGenerator, ServerWithoutPipeliningIsNotPipelinedTo) {
  reference_server_options so = server_options();
  so.session.pipelining = false;  // PIPELINING not advertised: RFC 2920 forbids groups
  reference_server srv(so);
  const load_result r = run_load(options_for(srv, 2, 3));
  expect_all_delivered(srv, r, 6, false);
  EXPECT_EQ(r.sessions_pipelined, 0u);
}

TEST(LoadGenerator, StartTlsWithAndWithoutPipelining) {
  for (bool pipelining : {true, false}) {
    SCOPED_TRACE(pipelining ? "pipelining" : "no pipelining");
    reference_server srv(server_options());
    load_options o = options_for(srv, 3, 3);
    o.tls = load_tls::require_starttls;
    o.pipelining = pipelining;
    const load_result r = run_load(o);
    expect_all_delivered(srv, r, 9, true);
    EXPECT_EQ(r.sessions_tls, 3u);
    EXPECT_EQ(r.sessions_pipelined, pipelining ? 3u : 0u);
  }
}

TEST(LoadGenerator, RequiredStartTlsNotOfferedFailsTheSessions) {
  reference_server_options so = server_options();
  so.session.tls_available = false;
  reference_server srv(so);
  load_options o = options_for(srv, 2, 2);
  o.tls = load_tls::require_starttls;
  const load_result r = run_load(o);
  EXPECT_EQ(r.sessions_failed, 2u);
  EXPECT_EQ(r.messages_failed, 4u);
  EXPECT_TRUE(srv.messages().empty());
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors.front().first, "STARTTLS not offered");
  expect_no_fd_leak(r);
}

TEST(LoadGenerator, OpportunisticStartTlsFallsBackToPlaintext) {
  reference_server_options so = server_options();
  so.session.tls_available = false;
  reference_server srv(so);
  load_options o = options_for(srv, 2, 2);
  o.tls = load_tls::starttls;
  const load_result r = run_load(o);
  expect_all_delivered(srv, r, 4, false);
}

TEST(LoadGenerator, RefusedRecipientsAreCountedAndTheSessionGoesOn) {
  // The reference server refuses recipients outside its local domains (550, RFC 5321 3.6).
  for (bool pipelining : {true, false}) {
    SCOPED_TRACE(pipelining ? "pipelining" : "no pipelining");
    reference_server srv(server_options());
    load_options o = options_for(srv, 2, 3);
    o.pipelining = pipelining;
    o.to = {"rcpt@example.test", "someone@elsewhere.invalid"};
    const load_result r = run_load(o);
    EXPECT_EQ(r.messages_accepted, 6u) << describe(r);
    EXPECT_EQ(r.recipients_refused, 6u) << describe(r);
    EXPECT_EQ(r.sessions_completed, 2u) << describe(r);
    EXPECT_EQ(srv.messages().size(), 6u);
  }
}

TEST(LoadGenerator, EveryRecipientRefusedCountsRefusedMessagesWithoutDelivering) {
  for (bool pipelining : {true, false}) {
    SCOPED_TRACE(pipelining ? "pipelining" : "no pipelining");
    reference_server srv(server_options());
    load_options o = options_for(srv, 2, 3);
    o.pipelining = pipelining;
    o.to = {"someone@elsewhere.invalid"};
    const load_result r = run_load(o);
    EXPECT_EQ(r.messages_accepted, 0u) << describe(r);
    EXPECT_EQ(r.messages_refused, 6u) << describe(r);
    EXPECT_EQ(r.messages_failed, 0u) << describe(r);
    EXPECT_EQ(r.recipients_refused, 6u) << describe(r);
    // RSET (or the lone dot) keeps the session usable: every session ends with QUIT.
    EXPECT_EQ(r.sessions_completed, 2u) << describe(r);
    EXPECT_EQ(r.sessions_failed, 0u) << describe(r);
    EXPECT_TRUE(srv.messages().empty());
  }
}

TEST(LoadGenerator, SessionsRunOneAfterAnotherPerConnection) {
  reference_server srv(server_options());
  load_options o = options_for(srv, 2, 2);
  o.sessions = 3;
  const load_result r = run_load(o);
  EXPECT_EQ(r.sessions_planned, 6u);
  expect_all_delivered(srv, r, 12, false);
  EXPECT_EQ(srv.connections_served(), 6u);
}

TEST(LoadGenerator, SeveralThreads) {
  reference_server srv(server_options());
  load_options o = options_for(srv, 8, 3);
  o.threads = 2;
  o.tls = load_tls::starttls;
  const load_result r = run_load(o);
  expect_all_delivered(srv, r, 24, true);
}

/// A port where nothing listens (bound, then closed).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("bind");
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(LoadGenerator, UnreachableTargetGivesErrorsNotAHang) {
  load_options o;
  o.target = endpoint_spec{"127.0.0.1", closed_port()};
  o.connections = 5;
  o.messages = 2;
  o.message = k_message;
  o.connect_timeout = 5s;
  const auto start = std::chrono::steady_clock::now();
  const load_result r = run_load(o);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
  EXPECT_EQ(r.sessions_failed, 5u);
  EXPECT_EQ(r.sessions_completed, 0u);
  EXPECT_EQ(r.messages_failed, 10u);
  ASSERT_EQ(r.errors.size(), 1u) << describe(r);
  EXPECT_EQ(r.errors.front().first.rfind("connect: ", 0), 0u) << r.errors.front().first;
  EXPECT_EQ(r.errors.front().second, 5u);
  EXPECT_EQ(r.fds_before, r.fds_after);
}

TEST(LoadGenerator, SilentServerTimesOutEachSession) {
  // Listens (so connect succeeds from the backlog) but never accepts or speaks.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  load_options o;
  o.target = endpoint_spec{"127.0.0.1", ntohs(a.sin_port)};
  o.connections = 3;
  o.message = k_message;
  o.connect_timeout = 5s;
  o.reply_timeout = 300ms;
  const load_result r = run_load(o);
  ::close(fd);
  EXPECT_EQ(r.sessions_failed, 3u);
  ASSERT_EQ(r.errors.size(), 1u) << describe(r);
  EXPECT_EQ(r.errors.front().first, "timeout waiting for the greeting");
  EXPECT_EQ(r.fds_before, r.fds_after);
}

TEST(LoadGenerator, OptionsAreChecked) {
  load_options o;
  o.target = endpoint_spec{"127.0.0.1", 25};
  EXPECT_EQ(check_load_options(o), "");
  o.connections = 0;
  EXPECT_NE(check_load_options(o), "");
  EXPECT_THROW(run_load(o), std::invalid_argument);
  o.connections = 1;
  o.to.clear();
  EXPECT_NE(check_load_options(o), "");
  o.to = {"a@b.test\r\nRSET"};
  EXPECT_NE(check_load_options(o), "");
}

TEST(LoadGenerator, GeneratedMessageHasThePayloadSize) {
  for (std::size_t payload : {std::size_t{0}, std::size_t{80}, std::size_t{1000}, std::size_t{100000}}) {
    const std::string m = make_load_message(payload, "a@example.test", "b@example.test");
    const auto body = m.find("\r\n\r\n");
    ASSERT_NE(body, std::string::npos);
    const std::size_t size = m.size() - body - 4;
    EXPECT_GE(size, payload);
    EXPECT_LE(size, payload + 1);
    EXPECT_EQ(m.find("\r\n."), std::string::npos) << "no line starts with a dot";
  }
}

TEST(LoadGenerator, ResultAsJson) {
  load_result r;
  r.messages_accepted = 3;
  r.seconds = 1.5;
  r.errors = {{"connect: \"refused\"", 2}};
  const std::string j = r.to_json();
  EXPECT_NE(j.find("\"messages_accepted\":3"), std::string::npos) << j;
  EXPECT_NE(j.find("\"messages_per_second\":2,"), std::string::npos) << j;
  EXPECT_NE(j.find("{\"reason\":\"connect: \\\"refused\\\"\",\"count\":2}"), std::string::npos) << j;
}

}  // namespace
}  // namespace smtpspec::harness
