// connection against tiny in-test Asio servers on the loopback: deadlines, error
// mapping, STARTTLS (RFC 3207) and implicit TLS (RFC 8314), certificate checks,
// and what the transcript records.
#include "smtpspec/harness/connection.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include "smtpspec/harness/asio.hpp"
#include "smtpspec/harness/tls.hpp"

namespace smtpspec::harness {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;
using net::awaitable;
using net::redirect_error;
using net::use_awaitable;
using namespace std::chrono_literals;
using results::transcript;
using results::transcript_event;

constexpr auto k_long = 10s;   // for operations that must succeed
constexpr auto k_short = 100ms;  // for operations that must time out

/// A self-signed identity shared by the tests (generating one costs a little).
const pem_identity& identity() {
  static const pem_identity id = make_self_signed("localhost");
  return id;
}

/// A file holding `text`, removed at the end of the test.
class temp_file {
 public:
  temp_file(const std::string& name, const std::string& text)
      : path_(std::filesystem::temp_directory_path() /
              ("smtpspec-conn-" + std::to_string(::getpid()) + "-" + name)) {
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~temp_file() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

/// A loopback server running one coroutine per accepted connection on its own
/// thread. Destroying it stops the thread; unfinished coroutines are destroyed.
class test_server {
 public:
  using behaviour = std::function<awaitable<void>(tcp::socket)>;

  /// Throws if `host` cannot be bound (e.g. no IPv6).
  test_server(const std::string& host, behaviour b) : behaviour_(std::move(b)) {
    tcp::endpoint ep(net::ip::make_address(host), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    net::co_spawn(ctx_, accept_loop(), net::detached);
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~test_server() {
    ctx_.stop();
    thread_.join();
  }

  endpoint_spec endpoint() const {
    auto ep = acceptor_.local_endpoint();
    return {ep.address().to_string(), ep.port()};
  }

 private:
  awaitable<void> accept_loop() {
    for (;;) {
      tcp::socket s(ctx_);
      error_code ec;
      co_await acceptor_.async_accept(s, redirect_error(use_awaitable, ec));
      if (ec) co_return;
      net::co_spawn(ctx_, behaviour_(std::move(s)), net::detached);
    }
  }

  behaviour behaviour_;  // outlives the coroutines: the io_context goes first
  net::io_context ctx_;
  tcp::acceptor acceptor_{ctx_};
  std::thread thread_;
};

template <class Stream>
awaitable<void> write_text(Stream& s, std::string_view text) {
  error_code ec;
  co_await net::async_write(s, net::buffer(text.data(), text.size()), redirect_error(use_awaitable, ec));
}

/// Reads until `needle` has arrived (or an error); returns what was read.
template <class Stream>
awaitable<std::string> read_until_text(Stream& s, std::string_view needle) {
  std::string got;
  char buf[1024];
  while (got.find(needle) == std::string::npos) {
    error_code ec;
    std::size_t n = co_await s.async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
    if (ec) break;
    got.append(buf, n);
  }
  co_return got;
}

template <class Stream>
awaitable<void> echo_until_eof(Stream& s) {
  char buf[4096];
  for (;;) {
    error_code ec;
    std::size_t n = co_await s.async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
    if (ec) co_return;
    co_await net::async_write(s, net::buffer(buf, n), redirect_error(use_awaitable, ec));
    if (ec) co_return;
  }
}

awaitable<void> drain_until_eof(tcp::socket& s) {
  char buf[1024];
  error_code ec;
  while (!ec) co_await s.async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
}

awaitable<void> plain_echo(tcp::socket s) { co_await echo_until_eof(s); }

/// Implicit TLS (RFC 8314): handshake first, then echo.
test_server::behaviour tls_echo(ssl::context& ctx) {
  return [&ctx](tcp::socket s) -> awaitable<void> {
    ssl::stream<tcp::socket> tls(std::move(s), ctx);
    error_code ec;
    co_await tls.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
    if (!ec) co_await echo_until_eof(tls);
  };
}

/// Reads with `c` until `needle` is in `buf` or a read fails.
io_result read_until(connection& c, std::string& buf, std::string_view needle) {
  io_result r;
  while (buf.find(needle) == std::string::npos) {
    r = c.read_some(buf, 4096, k_long);
    if (!r) return r;
  }
  return r;
}

std::string events_of(const transcript& t, transcript_event::kind k) {
  std::string out;
  for (const auto& e : t.events())
    if (e.what == k) out += e.bytes;
  return out;
}

bool has_event(const transcript& t, transcript_event::kind k) {
  for (const auto& e : t.events())
    if (e.what == k) return true;
  return false;
}

ssl::context server_context() { return make_server_context(identity()); }

// --- endpoint_spec --------------------------------------------------------------

TEST(EndpointSpec, ParsesHostPortForms) {
  endpoint_spec e;
  std::string err;
  ASSERT_TRUE(endpoint_spec::parse("mx.example.org:2525", e, err)) << err;
  EXPECT_EQ(e.host, "mx.example.org");
  EXPECT_EQ(e.port, 2525);
  ASSERT_TRUE(endpoint_spec::parse("mx.example.org", e, err));
  EXPECT_EQ(e.port, 25);
  ASSERT_TRUE(endpoint_spec::parse("[::1]:587", e, err));
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 587);
  ASSERT_TRUE(endpoint_spec::parse("[2001:db8::1]", e, err));
  EXPECT_EQ(e.port, 25);
  ASSERT_TRUE(endpoint_spec::parse("2001:db8::1", e, err));
  EXPECT_EQ(e.host, "2001:db8::1");
  ASSERT_TRUE(endpoint_spec::parse("127.0.0.1:0", e, err));
  EXPECT_EQ(e.port, 0);
}

TEST(EndpointSpec, RejectsMalformed) {
  endpoint_spec e;
  std::string err;
  for (const char* bad : {"", ":25", "host:", "host:65536", "host:12x", "[::1", "[::1]x", "[]:25", "a b:25", "host:-1"}) {
    EXPECT_FALSE(endpoint_spec::parse(bad, e, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

TEST(EndpointSpec, ToStringBracketsIpv6) {
  EXPECT_EQ((endpoint_spec{"::1", 25}.to_string()), "[::1]:25");
  EXPECT_EQ((endpoint_spec{"example.org", 587}.to_string()), "example.org:587");
}

TEST(IoStatus, Names) {
  EXPECT_EQ(to_string(io_status::ok), "ok");
  EXPECT_EQ(to_string(io_status::tls_failed), "tls_failed");
  EXPECT_EQ(to_string(io_status::tls_untrusted), "tls_untrusted");
  EXPECT_EQ(to_string(io_status::unreachable), "unreachable");
}

// --- plain TCP --------------------------------------------------------------------

TEST(Connection, EchoOverIpv4RecordsBothDirections) {
  test_server srv("127.0.0.1", plain_echo);
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  EXPECT_TRUE(c.is_open());
  EXPECT_FALSE(c.tls_active());
  auto w = c.write("EHLO x\r\n", k_long);
  ASSERT_TRUE(w) << w.detail;
  EXPECT_EQ(w.bytes, 8u);
  std::string got;
  ASSERT_TRUE(read_until(c, got, "\r\n"));
  EXPECT_EQ(got, "EHLO x\r\n");
  EXPECT_EQ(events_of(t, transcript_event::kind::client_bytes), "EHLO x\r\n");
  EXPECT_EQ(events_of(t, transcript_event::kind::server_bytes), "EHLO x\r\n");
  c.close();
  EXPECT_FALSE(c.is_open());
  ASSERT_FALSE(t.events().empty());
  EXPECT_EQ(t.events().back().what, transcript_event::kind::closed);
}

TEST(Connection, EchoOverIpv6) {
  std::unique_ptr<test_server> srv;
  try {
    srv = std::make_unique<test_server>("::1", plain_echo);
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind [::1]: " << e.what();
  }
  endpoint_spec target;
  std::string err;
  ASSERT_TRUE(endpoint_spec::parse("[::1]:" + std::to_string(srv->endpoint().port), target, err));
  transcript t;
  connection c(t);
  auto r = c.connect(target, k_long);
  ASSERT_TRUE(r) << r.detail;
  ASSERT_TRUE(c.write("NOOP\r\n", k_long));
  std::string got;
  ASSERT_TRUE(read_until(c, got, "\r\n"));
  EXPECT_EQ(got, "NOOP\r\n");
}

TEST(Connection, ResolvesHostNames) {
  test_server srv("127.0.0.1", plain_echo);
  transcript t;
  connection c(t);
  auto r = c.connect({"localhost", srv.endpoint().port}, k_long);
  ASSERT_TRUE(r) << r.detail;
}

TEST(Connection, RefusedPort) {
  std::uint16_t port = 0;
  {
    // A port that was free a moment ago and has no listener now.
    net::io_context ctx;
    tcp::acceptor a(ctx, tcp::endpoint(net::ip::address_v4::loopback(), 0));
    port = a.local_endpoint().port();
  }
  transcript t;
  connection c(t);
  auto r = c.connect({"127.0.0.1", port}, k_long);
  EXPECT_EQ(r.status, io_status::refused) << r.detail;
  EXPECT_FALSE(c.is_open());
}

TEST(Connection, UnresolvableNameIsUnreachable) {
  transcript t;
  connection c(t);
  // RFC 6761 6.4: .invalid never resolves.
  auto r = c.connect({"no-such-host.invalid", 25}, k_long);
  EXPECT_EQ(r.status, io_status::unreachable) << r.detail;
}

TEST(Connection, ReadTimesOutAndTheConnectionStaysUsable) {
  // The peer answers only after "go": the first read must give up at its deadline.
  test_server srv("127.0.0.1", [](tcp::socket s) -> awaitable<void> {
    co_await read_until_text(s, "go\r\n");
    co_await write_text(s, "ok\r\n");
    co_await drain_until_eof(s);
  });
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  std::string got;
  auto r = c.read_some(got, 4096, k_short);
  EXPECT_EQ(r.status, io_status::timeout) << r.detail;
  EXPECT_TRUE(got.empty());
  EXPECT_TRUE(has_event(t, transcript_event::kind::note));
  ASSERT_TRUE(c.write("go\r\n", k_long));
  ASSERT_TRUE(read_until(c, got, "\r\n"));
  EXPECT_EQ(got, "ok\r\n");
}

TEST(Connection, EofIsClosed) {
  test_server srv("127.0.0.1", [](tcp::socket s) -> awaitable<void> {
    co_await write_text(s, "220 bye\r\n");
    error_code ec;
    s.shutdown(tcp::socket::shutdown_both, ec);
    s.close(ec);
  });
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  std::string got;
  ASSERT_TRUE(read_until(c, got, "\r\n"));
  io_result r;
  while ((r = c.read_some(got, 4096, k_long))) {
  }
  EXPECT_EQ(r.status, io_status::closed) << r.detail;
  EXPECT_EQ(got, "220 bye\r\n");
  EXPECT_TRUE(has_event(t, transcript_event::kind::closed));
}

TEST(Connection, ResetIsReset) {
  test_server srv("127.0.0.1", [](tcp::socket s) -> awaitable<void> {
    // Reset only once the client is surely connected (else connect() itself
    // may see the RST). SO_LINGER 0: close() sends RST instead of FIN.
    co_await read_until_text(s, "\r\n");
    s.set_option(net::socket_base::linger(true, 0));
    s.close();
  });
  transcript t;
  connection c(t);
  auto cr = c.connect(srv.endpoint(), k_long);
  ASSERT_TRUE(cr) << cr.detail;
  ASSERT_TRUE(c.write("RSET\r\n", k_long));
  std::string got;
  auto r = c.read_some(got, 4096, k_long);
  EXPECT_EQ(r.status, io_status::reset) << r.detail;
}

TEST(Connection, ReadSomeIsBoundedByMax) {
  test_server srv("127.0.0.1", [](tcp::socket s) -> awaitable<void> {
    co_await write_text(s, std::string(100, 'x'));
    co_await drain_until_eof(s);
  });
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  std::string got = "prefix";
  auto r = c.read_some(got, 10, k_long);
  ASSERT_TRUE(r) << r.detail;
  EXPECT_GE(r.bytes, 1u);
  EXPECT_LE(r.bytes, 10u);
  EXPECT_EQ(got.size(), 6 + r.bytes);  // appended, never more than max
  EXPECT_EQ(got.substr(0, 6), "prefix");
}

TEST(Connection, HalfCloseLetsThePeerFinish) {
  test_server srv("127.0.0.1", [](tcp::socket s) -> awaitable<void> {
    std::string got = co_await read_until_text(s, "\x01never\x01");  // until EOF
    co_await write_text(s, "got " + std::to_string(got.size()) + "\r\n");
    error_code ec;
    s.shutdown(tcp::socket::shutdown_send, ec);
  });
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  ASSERT_TRUE(c.write("QUIT\r\n", k_long));
  c.shutdown_send();
  std::string got;
  ASSERT_TRUE(read_until(c, got, "\r\n"));
  EXPECT_EQ(got, "got 6\r\n");
}

TEST(Connection, OperationsWithoutConnectionReportClosed) {
  transcript t;
  connection c(t);
  std::string got;
  EXPECT_EQ(c.write("x", k_short).status, io_status::closed);
  EXPECT_EQ(c.read_some(got, 10, k_short).status, io_status::closed);
  EXPECT_EQ(c.start_tls({}, "localhost", k_short).status, io_status::closed);
  c.close();
  c.shutdown_send();
}

TEST(Connection, TranscriptTruncatesAtItsLimit) {
  test_server srv("127.0.0.1", [](tcp::socket s) -> awaitable<void> {
    co_await write_text(s, std::string(10000, 'y'));
    co_await drain_until_eof(s);
  });
  transcript t(1000);
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  std::string got;
  while (got.size() < 10000 && c.read_some(got, 4096, k_long)) {
  }
  EXPECT_EQ(got.size(), 10000u);
  EXPECT_TRUE(t.truncated());
  EXPECT_LE(t.kept(), t.limit());
  EXPECT_GT(t.dropped_octets(), 0u);
}

// --- TLS ---------------------------------------------------------------------------

TEST(ConnectionTls, StartTlsUpgradeThenEcho) {
  auto ctx = server_context();
  test_server srv("127.0.0.1", [&ctx](tcp::socket s) -> awaitable<void> {
    co_await write_text(s, "220 ready\r\n");
    co_await read_until_text(s, "STARTTLS\r\n");
    co_await write_text(s, "220 go ahead\r\n");
    // RFC 3207 4: the next octet is the first of the TLS handshake.
    ssl::stream<tcp::socket> tls(std::move(s), ctx);
    error_code ec;
    co_await tls.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
    if (!ec) co_await echo_until_eof(tls);
  });
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  std::string got;
  ASSERT_TRUE(read_until(c, got, "220 ready\r\n"));
  ASSERT_TRUE(c.write("STARTTLS\r\n", k_long));
  ASSERT_TRUE(read_until(c, got, "220 go ahead\r\n"));
  client_tls_options opt;
  opt.insecure = true;
  auto r = c.start_tls(opt, "localhost", k_long);
  ASSERT_TRUE(r) << r.detail;
  EXPECT_TRUE(c.tls_active());
  EXPECT_NE(c.tls_description().find("TLS"), std::string::npos) << c.tls_description();
  EXPECT_NE(c.tls_description().find("CN=localhost"), std::string::npos) << c.tls_description();
  ASSERT_TRUE(c.write("EHLO inside\r\n", k_long));
  got.clear();
  ASSERT_TRUE(read_until(c, got, "\r\n"));
  EXPECT_EQ(got, "EHLO inside\r\n");

  // The transcript: plaintext both ways, the TLS boundary, then the TLS octets.
  const auto& ev = t.events();
  auto at = [&](transcript_event::kind k, std::string_view bytes) {
    for (std::size_t i = 0; i < ev.size(); ++i)
      if (ev[i].what == k && ev[i].bytes.find(bytes) != std::string::npos) return i;
    return ev.size();
  };
  const std::size_t starttls = at(transcript_event::kind::client_bytes, "STARTTLS\r\n");
  const std::size_t go = at(transcript_event::kind::server_bytes, "220 go ahead");
  const std::size_t boundary = at(transcript_event::kind::tls_started, "TLS");
  const std::size_t inside_c = at(transcript_event::kind::client_bytes, "EHLO inside");
  const std::size_t inside_s = at(transcript_event::kind::server_bytes, "EHLO inside");
  ASSERT_LT(inside_s, ev.size());
  EXPECT_LT(starttls, go);
  EXPECT_LT(go, boundary);
  EXPECT_LT(boundary, inside_c);
  EXPECT_LT(inside_c, inside_s);
  c.close();
}

TEST(ConnectionTls, HandshakeAgainstPlaintextPeerFails) {
  test_server srv("127.0.0.1", [](tcp::socket s) -> awaitable<void> {
    co_await write_text(s, "220 plain.example ESMTP\r\n");
    co_await drain_until_eof(s);
  });
  // Accepting any certificate, and verifying: the handshake breaks before any
  // certificate is seen, so even a verifying client reports the server's failure
  // (tls_failed), never its own trust (tls_untrusted).
  for (const bool insecure : {true, false}) {
    transcript t;
    connection c(t);
    ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
    client_tls_options opt;
    opt.insecure = insecure;
    auto r = c.start_tls(opt, "localhost", k_long);
    EXPECT_EQ(r.status, io_status::tls_failed) << insecure << " " << r.detail;
    EXPECT_FALSE(r.detail.empty());
    EXPECT_FALSE(c.tls_active());
    EXPECT_FALSE(has_event(t, transcript_event::kind::tls_started));
  }
}

TEST(ConnectionTls, HandshakeTimesOutAgainstSilentPeer) {
  test_server srv("127.0.0.1", [](tcp::socket s) -> awaitable<void> { co_await drain_until_eof(s); });
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  client_tls_options opt;
  opt.insecure = true;
  auto r = c.start_tls(opt, "localhost", k_short);
  EXPECT_EQ(r.status, io_status::timeout) << r.detail;
  EXPECT_FALSE(c.tls_active());
}

TEST(ConnectionTls, ImplicitTlsInsecureAcceptsSelfSigned) {
  auto ctx = server_context();
  test_server srv("127.0.0.1", tls_echo(ctx));
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  client_tls_options opt;
  opt.insecure = true;
  auto r = c.start_tls(opt, "127.0.0.1", k_long);
  ASSERT_TRUE(r) << r.detail;
  ASSERT_TRUE(c.write("NOOP\r\n", k_long));
  std::string got;
  ASSERT_TRUE(read_until(c, got, "\r\n"));
  EXPECT_EQ(got, "NOOP\r\n");
  EXPECT_NE(c.tls_description().find("not verified"), std::string::npos) << c.tls_description();
}

TEST(ConnectionTls, VerifyingClientRejectsSelfSigned) {
  auto ctx = server_context();
  test_server srv("127.0.0.1", tls_echo(ctx));
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  client_tls_options opt;  // verifying, system trust store only
  auto r = c.start_tls(opt, "localhost", k_long);
  EXPECT_EQ(r.status, io_status::tls_untrusted) << r.detail;
  EXPECT_NE(r.detail.find("certificate"), std::string::npos) << r.detail;
  EXPECT_FALSE(c.tls_active());
}

TEST(ConnectionTls, VerifyingClientAcceptsTheCertificateGivenAsCaFile) {
  auto ctx = server_context();
  test_server srv("127.0.0.1", tls_echo(ctx));
  temp_file ca("ca.pem", identity().certificate);
  for (const char* host : {"localhost", "127.0.0.1"}) {
    transcript t;
    connection c(t);
    ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
    client_tls_options opt;
    opt.ca_file = ca.path();
    auto r = c.start_tls(opt, host, k_long);
    ASSERT_TRUE(r) << host << ": " << r.detail;
    EXPECT_NE(c.tls_description().find("verified"), std::string::npos);
    EXPECT_EQ(c.tls_description().find("not verified"), std::string::npos) << c.tls_description();
    ASSERT_TRUE(c.write("x\r\n", k_long));
    std::string got;
    ASSERT_TRUE(read_until(c, got, "\r\n"));
  }
}

TEST(ConnectionTls, VerifyingClientRejectsTheWrongHostName) {
  auto ctx = server_context();
  test_server srv("127.0.0.1", tls_echo(ctx));
  temp_file ca("ca-wrong-name.pem", identity().certificate);
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  client_tls_options opt;
  opt.ca_file = ca.path();
  opt.sni = "mx.wrong.example";
  auto r = c.start_tls(opt, "localhost", k_long);
  EXPECT_EQ(r.status, io_status::tls_untrusted) << r.detail;
}

// ---- the TLS peer name (tls.hpp configure_peer_name, used by connection and load) ----

/// What configure_peer_name set on a fresh client SSL: the SNI, and the name the
/// certificate will be verified against (host name, or address as text).
struct peer_setup {
  std::string sni, host, ip;
};
peer_setup peer_setup_for(const client_tls_options& opt, const std::string& host) {
  ssl::context ctx = make_client_context(opt);
  std::unique_ptr<SSL, decltype(&SSL_free)> s(SSL_new(ctx.native_handle()), &SSL_free);
  if (!s) throw std::runtime_error("SSL_new");
  configure_peer_name(s.get(), opt, host);
  peer_setup out;
  if (const char* sni = SSL_get_servername(s.get(), TLSEXT_NAMETYPE_host_name)) out.sni = sni;
  X509_VERIFY_PARAM* param = SSL_get0_param(s.get());
  if (const char* h = X509_VERIFY_PARAM_get0_host(param, 0)) out.host = h;
  if (char* ip = X509_VERIFY_PARAM_get1_ip_asc(param)) {
    out.ip = net::ip::make_address(ip).to_string();  // OpenSSL writes "0:0:...:1"
    OPENSSL_free(ip);
  }
  return out;
}

TEST(ConnectionTls, PeerNameOfADnsNameIsSentAsSniAndVerifiedAsHostName) {
  const peer_setup p = peer_setup_for({}, "mx.example.org");
  EXPECT_EQ(p.sni, "mx.example.org");
  EXPECT_EQ(p.host, "mx.example.org");
  EXPECT_EQ(p.ip, "");
  client_tls_options insecure;
  insecure.insecure = true;
  const peer_setup q = peer_setup_for(insecure, "mx.example.org");
  EXPECT_EQ(q.sni, "mx.example.org");  // still sent: the server may choose its certificate by it
  EXPECT_EQ(q.host, "");
}

TEST(ConnectionTls, PeerNameOfAnIpv6LiteralInBracketsIsVerifiedAsAnAddressWithoutSni) {
  // RFC 6066 3: literal addresses are not permitted in HostName. The brackets of
  // "[::1]" are not part of the address: verifying "[::1]" as a host name would fail.
  for (const char* host : {"[::1]", "::1"}) {
    SCOPED_TRACE(host);
    const peer_setup p = peer_setup_for({}, host);
    EXPECT_EQ(p.sni, "");
    EXPECT_EQ(p.host, "");
    EXPECT_EQ(p.ip, "::1");
  }
  const peer_setup v4 = peer_setup_for({}, "127.0.0.1");
  EXPECT_EQ(v4.sni, "");
  EXPECT_EQ(v4.ip, "127.0.0.1");
  client_tls_options opt;
  opt.sni = "[2001:db8::25]";  // --sni wins over the target, brackets or not
  const peer_setup s = peer_setup_for(opt, "mx.example.org");
  EXPECT_EQ(s.sni, "");
  EXPECT_EQ(s.ip, "2001:db8::25");
  EXPECT_EQ(peer_name_for(opt, "x").name, "2001:db8::25");
  EXPECT_TRUE(peer_name_for(opt, "x").ip);
}

TEST(ConnectionTls, VerifyingClientAcceptsAnIpv6LiteralTargetInBrackets) {
  // The self-signed certificate names IP:::1 (tls.hpp make_self_signed).
  auto ctx = server_context();
  std::atomic<bool> saw_sni{false};
  std::unique_ptr<test_server> srv;
  try {
    srv = std::make_unique<test_server>("::1", [&](tcp::socket s) -> awaitable<void> {
      ssl::stream<tcp::socket> tls(std::move(s), ctx);
      error_code ec;
      co_await tls.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
      if (ec) co_return;
      saw_sni = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name) != nullptr;
      co_await echo_until_eof(tls);
    });
  } catch (const std::exception& e) {
    GTEST_SKIP() << "cannot bind [::1]: " << e.what();
  }
  temp_file ca("ca-ipv6.pem", identity().certificate);
  client_tls_options opt;
  opt.ca_file = ca.path();
  {
    transcript t;
    connection c(t);
    ASSERT_TRUE(c.connect(srv->endpoint(), k_long));
    auto r = c.start_tls(opt, "[::1]", k_long);
    ASSERT_TRUE(r) << r.detail;
    EXPECT_EQ(c.tls_description().find("not verified"), std::string::npos) << c.tls_description();
    ASSERT_TRUE(c.write("x\r\n", k_long));
    std::string got;
    ASSERT_TRUE(read_until(c, got, "\r\n"));
    EXPECT_FALSE(saw_sni.load());
  }
  // Another address is not the certificate's: verification must fail.
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv->endpoint(), k_long));
  opt.sni = "[::2]";
  auto r = c.start_tls(opt, "[::1]", k_long);
  EXPECT_EQ(r.status, io_status::tls_untrusted) << r.detail;
}

TEST(ConnectionTls, AnSniOpenSslRefusesIsATlsSetupFailure) {
  test_server srv("127.0.0.1", plain_echo);
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  client_tls_options opt;
  opt.sni = std::string(300, 'a') + ".example";  // over the 255 octets of a HostName (RFC 6066 3)
  auto r = c.start_tls(opt, "localhost", k_long);
  EXPECT_EQ(r.status, io_status::tls_failed);
  EXPECT_NE(r.detail.find("TLS setup"), std::string::npos) << r.detail;
  EXPECT_FALSE(c.tls_active());
}

TEST(ConnectionTls, BadCaFileIsTlsFailed) {
  test_server srv("127.0.0.1", plain_echo);
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  client_tls_options opt;
  opt.ca_file = "/nonexistent/smtpspec/ca.pem";
  auto r = c.start_tls(opt, "localhost", k_long);
  EXPECT_EQ(r.status, io_status::tls_failed);
  EXPECT_NE(r.detail.find("ca.pem"), std::string::npos) << r.detail;
}

TEST(ConnectionTls, SendsSniAndClientCertificate) {
  const pem_identity client_id = make_self_signed("client.example");
  auto ctx = server_context();
  ctx.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  ctx.add_certificate_authority(net::buffer(client_id.certificate));
  std::atomic<bool> saw_sni{false};
  test_server srv("127.0.0.1", [&](tcp::socket s) -> awaitable<void> {
    ssl::stream<tcp::socket> tls(std::move(s), ctx);
    error_code ec;
    co_await tls.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
    if (ec) co_return;
    const char* sni = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name);
    saw_sni = sni != nullptr && std::string_view(sni) == "localhost";
    bool cert = SSL_get0_peer_certificate(tls.native_handle()) != nullptr;
    co_await write_text(tls, cert ? "cert\r\n" : "nocert\r\n");
    co_await echo_until_eof(tls);
  });
  temp_file cert("client-cert.pem", client_id.certificate);
  temp_file key("client-key.pem", client_id.private_key);
  transcript t;
  connection c(t);
  ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
  client_tls_options opt;
  opt.insecure = true;
  opt.client_cert = cert.path();
  opt.client_key = key.path();
  auto r = c.start_tls(opt, "localhost", k_long);
  ASSERT_TRUE(r) << r.detail;
  std::string got;
  ASSERT_TRUE(read_until(c, got, "\r\n"));
  EXPECT_EQ(got, "cert\r\n");
  EXPECT_TRUE(saw_sni.load());
}

TEST(ConnectionTls, CloseNotifyAndTruncationReadAsClosed) {
  auto ctx = server_context();
  for (bool notify : {true, false}) {
    test_server srv("127.0.0.1", [&ctx, notify](tcp::socket s) -> awaitable<void> {
      ssl::stream<tcp::socket> tls(std::move(s), ctx);
      error_code ec;
      co_await tls.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
      if (ec) co_return;
      co_await write_text(tls, "221 bye\r\n");
      if (notify) co_await tls.async_shutdown(redirect_error(use_awaitable, ec));
      else tls.next_layer().close(ec);  // TCP FIN without close_notify
    });
    transcript t;
    connection c(t);
    ASSERT_TRUE(c.connect(srv.endpoint(), k_long));
    client_tls_options opt;
    opt.insecure = true;
    ASSERT_TRUE(c.start_tls(opt, "localhost", k_long));
    std::string got;
    io_result r;
    while ((r = c.read_some(got, 4096, k_long))) {
    }
    EXPECT_EQ(r.status, io_status::closed) << notify << ": " << r.detail;
    EXPECT_EQ(got, "221 bye\r\n");
    c.close();
  }
}

TEST(Tls, SelfSignedCertificateHasTheSubjectAltNames) {
  const pem_identity id = make_self_signed("mx.test.example");
  EXPECT_NE(id.certificate.find("BEGIN CERTIFICATE"), std::string::npos);
  EXPECT_NE(id.private_key.find("PRIVATE KEY"), std::string::npos);
  BIO* bio = BIO_new_mem_buf(id.certificate.data(), static_cast<int>(id.certificate.size()));
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(X509_get_version(x), 2);  // v3
  EXPECT_EQ(X509_check_host(x, "mx.test.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(x, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x, "::1", 0), 1);
  EXPECT_EQ(X509_check_host(x, "other.example", 0, 0, nullptr), 0);
  EVP_PKEY* key = X509_get0_pubkey(x);
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(key), 256);
  X509_free(x);
}

TEST(Tls, ServerContextFromMissingFilesThrows) {
  server_tls_options opt;
  opt.cert_file = "/nonexistent/cert.pem";
  EXPECT_THROW(make_server_context(opt), std::runtime_error);
}

}  // namespace
}  // namespace smtpspec::harness
