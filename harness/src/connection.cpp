// Blocking client connection with deadlines over Boost.Asio: every call runs this
// connection's own io_context until the operation completes or its deadline
// passes, then cancels the operation and drains its completion, so no handler
// ever outlives the call that started it and no wait is unbounded.
#include "smtpspec/harness/connection.hpp"

#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <optional>

#include "smtpspec/harness/asio.hpp"

namespace smtpspec::harness {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;

/// Largest single read: `max` in read_some may be huge, the buffer is not.
constexpr std::size_t k_read_chunk = 64 * 1024;
/// How long close() and shutdown_send() may spend sending TLS close_notify.
constexpr std::chrono::milliseconds k_close_notify_budget{500};
/// Bound on waiting for a cancelled operation to report back (it normally does
/// at once; this only guards against a lost handler).
constexpr std::chrono::seconds k_drain_budget{5};

/// Completion of one asynchronous operation; shared with the handler so that a
/// handler that somehow runs late writes into live memory.
struct op_state {
  bool done = false;
  error_code ec;
  std::size_t n = 0;
};
using op_ptr = std::shared_ptr<op_state>;

auto on_done(const op_ptr& st) {
  return [st](const error_code& ec, std::size_t n = 0) {
    st->done = true;
    st->ec = ec;
    st->n = n;
  };
}

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

bool is_ssl_error(const error_code& ec) {
  return ec.category() == net::error::get_ssl_category() || ec.category() == ssl::error::get_stream_category();
}

/// Maps a system or TLS error onto io_status (the caller handles its own deadline).
io_result classify(const error_code& ec, std::string_view what) {
  namespace e = net::error;
  auto detail = std::string(what) + ": " + ec.message();
  if (ec == e::eof) return {io_status::closed, 0, std::string(what) + ": peer closed the connection"};
  if (ec == ssl::error::stream_truncated)
    return {io_status::closed, 0, std::string(what) + ": peer closed the connection without TLS close_notify"};
  if (is_ssl_error(ec)) return {io_status::tls_failed, 0, detail};
  if (ec == e::connection_refused) return {io_status::refused, 0, detail};
  if (ec == e::host_unreachable || ec == e::network_unreachable || ec == e::address_family_not_supported ||
      ec == e::host_not_found || ec == e::host_not_found_try_again || ec == e::no_data || ec == e::no_recovery ||
      ec == std::errc::address_not_available)
    return {io_status::unreachable, 0, detail};
  if (ec == e::timed_out) return {io_status::timeout, 0, detail};
  return {io_status::reset, 0, detail};  // connection_reset, broken_pipe, aborted, ...
}

bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool valid_host(std::string_view host) {
  return !host.empty() && std::none_of(host.begin(), host.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u >= 0x7f || c == '/' || c == '[' || c == ']';
  });
}

/// Lower is better when reporting why no address of a host could be reached:
/// "refused" proves the host exists, which is the most useful thing to say.
int rank(io_status s) {
  switch (s) {
    case io_status::refused: return 0;
    case io_status::timeout: return 1;
    case io_status::unreachable: return 2;
    default: return 3;
  }
}

std::string peer_subject(SSL* s) {
  X509* peer = SSL_get0_peer_certificate(s);
  if (!peer) return "no peer certificate";
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio) return "?";
  X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out = n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
  BIO_free(bio);
  return "peer " + (out.empty() ? std::string("(empty subject)") : out);
}

}  // namespace

// --- endpoint_spec ---------------------------------------------------------------

bool endpoint_spec::parse(std::string_view text, endpoint_spec& out, std::string& error) {
  endpoint_spec r;
  std::string_view host = text, port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return error = "missing ']' in " + std::string(text), false;
    host = text.substr(1, close - 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return error = "expected ':' after ']' in " + std::string(text), false;
      port = rest.substr(1), has_port = true;
    }
  } else if (auto colon = text.find(':'); colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    host = text.substr(0, colon), port = text.substr(colon + 1), has_port = true;
  }
  // Otherwise: a name without port, or a bare IPv6 address (more than one ':').
  if (!valid_host(host)) return error = "bad host in " + std::string(text), false;
  if (has_port && !parse_port(port, r.port)) return error = "bad port in " + std::string(text), false;
  r.host = std::string(host);
  out = std::move(r);
  return true;
}

std::string endpoint_spec::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

std::string_view to_string(io_status s) noexcept {
  switch (s) {
    case io_status::ok: return "ok";
    case io_status::timeout: return "timeout";
    case io_status::closed: return "closed";
    case io_status::reset: return "reset";
    case io_status::tls_failed: return "tls_failed";
    case io_status::refused: return "refused";
    case io_status::unreachable: return "unreachable";
    case io_status::tls_untrusted: return "tls_untrusted";
  }
  return "?";
}

// --- connection::impl ------------------------------------------------------------

struct connection::impl {
  impl(results::transcript& t, local_role r) : log(t), role(r) {}

  results::transcript& log;
  local_role role;
  /// Octets smtpspec wrote / octets the peer sent, on the transcript's sides.
  void sent(std::string_view b) { role == local_role::client ? log.client(b) : log.server(b); }
  void received(std::string_view b) { role == local_role::client ? log.server(b) : log.client(b); }
  // Declared before the io_context: buffers used by operations must outlive
  // any handler the io_context might still hold when it is destroyed.
  std::string read_buf;
  net::io_context ctx;
  tcp::resolver resolver{ctx};
  tcp::socket sock{ctx};
  std::optional<ssl::context> tls_ctx;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  bool end_logged = false;

  /// Runs until `st` completes or `deadline` passes. On the deadline, cancels the
  /// socket's operations and drains them. Returns true if the deadline cut the
  /// operation short (an operation that completed anyway keeps its result).
  bool wait(op_state& st, clock_type::time_point deadline) {
    ctx.restart();
    while (!st.done && ctx.run_one_until(deadline) > 0) {
    }
    if (st.done) return false;
    error_code ignored;
    sock.cancel(ignored);
    drain(st);
    return st.ec == net::error::operation_aborted;
  }

  void drain(op_state& st) {
    ctx.restart();
    auto limit = clock_type::now() + k_drain_budget;
    while (!st.done && ctx.run_one_until(limit) > 0) {
    }
    if (st.done) return;
    // A handler that does not come back after cancel(): closing the socket
    // completes every operation on it.
    error_code ignored;
    sock.close(ignored);
    ctx.restart();
    limit = clock_type::now() + k_drain_budget;
    while (!st.done && ctx.run_one_until(limit) > 0) {
    }
  }

  /// The first way the connection ended goes into the transcript, once.
  void log_end(std::string_view how) {
    if (end_logged) return;
    end_logged = true;
    log.closed(how);
  }

  io_result fail(const error_code& ec, std::string_view what, std::size_t n) {
    io_result r = classify(ec, what);
    r.bytes = n;
    if (r.status == io_status::closed || r.status == io_status::reset) log_end(r.detail);
    else log.note(r.detail);
    return r;
  }

  io_result timed_out(std::string_view what, std::chrono::milliseconds timeout, std::size_t n) {
    std::string detail = std::string(what) + ": no completion within " + ms_text(timeout);
    // A read that waits out its deadline is routine (the runner polls for late
    // replies); the caller notes the timeouts that matter. Others are worth a note.
    if (what != "read") log.note(detail);
    return {io_status::timeout, n, detail};
  }

  io_result resolve(const endpoint_spec& target, clock_type::time_point deadline, std::chrono::milliseconds timeout,
                    tcp::resolver::results_type& out);
  io_result connect_one(const tcp::endpoint& ep, clock_type::time_point deadline, std::chrono::milliseconds timeout);
  std::string handshake_failure(const error_code& ec);
  bool certificate_rejected(const error_code& ec, const client_tls_options& opt);
  void send_close_notify();
  void reset_socket();
};

io_result connection::impl::resolve(const endpoint_spec& target, clock_type::time_point deadline,
                                    std::chrono::milliseconds timeout, tcp::resolver::results_type& out) {
  struct resolve_state {
    bool done = false;
    error_code ec;
    tcp::resolver::results_type results;
  };
  auto st = std::make_shared<resolve_state>();
  // No address_configured flag: with it glibc drops ::1 on hosts whose only IPv6
  // address is the loopback, and local tests use exactly that.
  resolver.async_resolve(strip_brackets(target.host), std::to_string(target.port), tcp::resolver::numeric_service,
                         [st](const error_code& ec, tcp::resolver::results_type r) {
                           st->done = true;
                           st->ec = ec;
                           st->results = std::move(r);
                         });
  ctx.restart();
  while (!st->done && ctx.run_one_until(deadline) > 0) {
  }
  if (!st->done) {
    // getaddrinfo cannot be interrupted; the late completion only touches the
    // shared state. The resolver's thread is joined when the io_context goes.
    resolver.cancel();
    return timed_out("resolve " + target.host, timeout, 0);
  }
  if (st->ec) {
    std::string detail = "resolve " + target.host + ": " + st->ec.message();
    log.note(detail);
    return {io_status::unreachable, 0, detail};
  }
  if (st->results.empty()) {
    std::string detail = "resolve " + target.host + ": no addresses";
    log.note(detail);
    return {io_status::unreachable, 0, detail};
  }
  out = std::move(st->results);
  return {};
}

io_result connection::impl::connect_one(const tcp::endpoint& ep, clock_type::time_point deadline,
                                        std::chrono::milliseconds timeout) {
  error_code ec;
  sock.open(ep.protocol(), ec);
  if (ec) return classify(ec, "socket");
  auto st = std::make_shared<op_state>();
  sock.async_connect(ep, on_done(st));
  bool cut = wait(*st, deadline);
  std::string what = "connect " + endpoint_spec{ep.address().to_string(), ep.port()}.to_string();
  if (cut) {
    reset_socket();
    return {io_status::timeout, 0, what + ": no answer within " + ms_text(timeout)};
  }
  if (st->ec) {
    reset_socket();
    return classify(st->ec, what);
  }
  // Each write of a case goes out as its own segment (no Nagle coalescing), so a
  // step written in pieces reaches the server in pieces.
  sock.set_option(tcp::no_delay(true), ec);
  return {};
}

void connection::impl::reset_socket() {
  error_code ignored;
  tls.reset();
  tls_ctx.reset();
  sock.close(ignored);
}

std::string connection::impl::handshake_failure(const error_code& ec) {
  std::string detail;
  if (ec == net::error::eof || ec == ssl::error::stream_truncated)
    detail = "TLS handshake: peer closed the connection";
  else
    detail = "TLS handshake: " + ec.message();
  long verify = SSL_get_verify_result(tls->native_handle());
  if (verify != X509_V_OK) detail += std::string(" (certificate: ") + X509_verify_cert_error_string(verify) + ")";
  std::string queued = openssl_errors();
  if (!queued.empty()) detail += " [" + queued + "]";
  return detail;
}

/// The client aborted the handshake because the server's certificate did not verify:
/// OpenSSL's reason is "certificate verify failed" and the verification result
/// says why (an unknown issuer, a self-signed chain, another name). Only a
/// verifying client (not --insecure) fails that way.
bool connection::impl::certificate_rejected(const error_code& ec, const client_tls_options& opt) {
  if (opt.insecure || ec.category() != net::error::get_ssl_category()) return false;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED &&
         SSL_get_verify_result(tls->native_handle()) != X509_V_OK;
}

void connection::impl::send_close_notify() {
  // RFC 8446 6.1: close_notify before closing the write side. Only our alert is
  // sent; waiting for the peer's would lose replies it still has in flight.
  // async_shutdown writes the alert, then reads for the peer's: its first
  // completion is the write, after which the read is cancelled.
  auto st = std::make_shared<op_state>();
  tls->async_shutdown([st](const error_code& ec) {
    st->done = true;
    st->ec = ec;
  });
  ctx.restart();
  ctx.run_one_until(clock_type::now() + k_close_notify_budget);
  if (!st->done) {
    error_code ignored;
    sock.cancel(ignored);
    drain(*st);
  }
  log.note("sent TLS close_notify");
}

// --- connection ------------------------------------------------------------------

connection::connection(results::transcript& log, local_role role) : impl_(std::make_unique<impl>(log, role)) {}

connection::~connection() {
  // No I/O and no transcript entry here: the transcript may already be gone.
  // close() is the graceful way.
  error_code ignored;
  impl_->tls.reset();
  impl_->sock.close(ignored);
}

io_result connection::connect(const endpoint_spec& target, std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (d.sock.is_open()) close();
  d.end_logged = false;
  const auto deadline = clock_type::now() + timeout;
  tcp::resolver::results_type addresses;
  if (auto r = d.resolve(target, deadline, timeout, addresses); !r) return r;

  io_result best{io_status::unreachable, 0, ""};
  std::string tried;
  for (const auto& entry : addresses) {
    io_result r = d.connect_one(entry.endpoint(), deadline, timeout);
    if (r) {
      error_code ec;
      auto local = d.sock.local_endpoint(ec);
      d.log.note("connected to " + endpoint_spec{entry.endpoint().address().to_string(), entry.endpoint().port()}.to_string() +
                 (ec ? std::string() : " from " + endpoint_spec{local.address().to_string(), local.port()}.to_string()));
      return r;
    }
    if (!tried.empty()) tried += "; ";
    tried += r.detail;
    if (best.detail.empty() || rank(r.status) < rank(best.status)) best = r;
    if (r.status == io_status::timeout || clock_type::now() >= deadline) break;
  }
  best.detail = tried;
  d.log.note(best.detail);
  return best;
}

io_result connection::start_tls(const client_tls_options& opt, const std::string& host,
                                std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (!d.sock.is_open()) return {io_status::closed, 0, "TLS handshake: not connected"};
  if (d.tls) return {io_status::tls_failed, 0, "TLS handshake: TLS is already active"};
  const auto deadline = clock_type::now() + timeout;
  try {
    d.tls_ctx.emplace(make_client_context(opt));
    d.tls = std::make_unique<ssl::stream<tcp::socket&>>(d.sock, *d.tls_ctx);
    configure_peer_name(d.tls->native_handle(), opt, host);
  } catch (const std::exception& e) {
    d.tls.reset();
    d.tls_ctx.reset();
    d.log.note(std::string("TLS setup failed: ") + e.what());
    return {io_status::tls_failed, 0, std::string("TLS setup: ") + e.what()};
  }

  auto st = std::make_shared<op_state>();
  d.tls->async_handshake(ssl::stream_base::client, [st](const error_code& ec) {
    st->done = true;
    st->ec = ec;
  });
  bool cut = d.wait(*st, deadline);
  if (cut || st->ec) {
    // The TLS state is unusable now; the TCP connection stays as it is.
    io_result r = cut ? io_result{io_status::timeout, 0, "TLS handshake: no completion within " + ms_text(timeout)}
                      : io_result{io_status::tls_failed, 0, d.handshake_failure(st->ec)};
    if (!cut && d.certificate_rejected(st->ec, opt)) r.status = io_status::tls_untrusted;
    d.log.note(r.detail);
    d.tls.reset();
    d.tls_ctx.reset();
    return r;
  }
  // RFC 3207 4.2: from here on every octet is inside TLS.
  d.log.tls_started(tls_description());
  return {};
}

io_result connection::adopt(int native_socket, const std::string& peer) {
  auto& d = *impl_;
  if (d.sock.is_open()) close();
  d.end_logged = false;
  error_code ec;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const bool v6 = ::getsockname(native_socket, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.ss_family == AF_INET6;
  d.sock.assign(v6 ? tcp::v6() : tcp::v4(), native_socket, ec);
  if (ec) {
    ::close(native_socket);
    return classify(ec, "accept");
  }
  d.sock.set_option(tcp::no_delay(true), ec);
  // A client hands over a socket it connected itself (the exchange's numeric connect).
  d.log.note((d.role == local_role::client ? "connected to " : "connection from ") + peer);
  return {};
}

io_result connection::accept_tls(ssl::context& ctx, std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (!d.sock.is_open()) return {io_status::closed, 0, "TLS handshake: not connected"};
  if (d.tls) return {io_status::tls_failed, 0, "TLS handshake: TLS is already active"};
  const auto deadline = clock_type::now() + timeout;
  d.tls = std::make_unique<ssl::stream<tcp::socket&>>(d.sock, ctx);
  auto st = std::make_shared<op_state>();
  d.tls->async_handshake(ssl::stream_base::server, [st](const error_code& ec) {
    st->done = true;
    st->ec = ec;
  });
  bool cut = d.wait(*st, deadline);
  if (cut || st->ec) {
    const bool gone = st->ec == net::error::eof || st->ec == ssl::error::stream_truncated;
    io_result r = cut ? io_result{io_status::timeout, 0, "TLS handshake: no completion within " + ms_text(timeout)}
                      : io_result{gone ? io_status::closed : io_status::tls_failed, 0, d.handshake_failure(st->ec)};
    d.log.note(r.detail);
    d.tls.reset();
    return r;
  }
  d.log.tls_started(tls_description());
  return {};
}

io_result connection::write(std::string_view bytes, std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (!d.sock.is_open()) return {io_status::closed, 0, "write: not connected"};
  if (bytes.empty()) return {};
  const auto deadline = clock_type::now() + timeout;
  auto st = std::make_shared<op_state>();
  if (d.tls) net::async_write(*d.tls, net::buffer(bytes.data(), bytes.size()), on_done(st));
  else net::async_write(d.sock, net::buffer(bytes.data(), bytes.size()), on_done(st));
  bool cut = d.wait(*st, deadline);
  if (st->n > 0) d.sent(bytes.substr(0, st->n));
  if (cut)
    return d.timed_out("write (" + std::to_string(st->n) + " of " + std::to_string(bytes.size()) + " octets sent)",
                       timeout, st->n);
  if (st->ec) return d.fail(st->ec, "write", st->n);
  return {io_status::ok, st->n, {}};
}

io_result connection::read_some(std::string& out, std::size_t max, std::chrono::milliseconds timeout) {
  auto& d = *impl_;
  if (!d.sock.is_open()) return {io_status::closed, 0, "read: not connected"};
  if (max == 0) return {};
  const auto deadline = clock_type::now() + timeout;
  const std::size_t cap = std::min(max, k_read_chunk);
  d.read_buf.resize(cap);
  auto st = std::make_shared<op_state>();
  if (d.tls) d.tls->async_read_some(net::buffer(d.read_buf.data(), cap), on_done(st));
  else d.sock.async_read_some(net::buffer(d.read_buf.data(), cap), on_done(st));
  bool cut = d.wait(*st, deadline);
  const std::size_t n = std::min(st->n, cap);
  if (n > 0) {
    std::string_view got(d.read_buf.data(), n);
    out.append(got);
    d.received(got);
  }
  if (n > 0) return {io_status::ok, n, {}};
  if (cut) return d.timed_out("read", timeout, 0);
  if (st->ec) return d.fail(st->ec, "read", 0);
  return {io_status::ok, 0, {}};
}

void connection::shutdown_send() {
  auto& d = *impl_;
  if (!d.sock.is_open()) return;
  if (d.tls) d.send_close_notify();
  error_code ignored;
  d.sock.shutdown(tcp::socket::shutdown_send, ignored);
  d.log.note("half-close: smtpspec sends nothing more");
}

void connection::close() {
  auto& d = *impl_;
  if (!d.sock.is_open()) return;
  if (d.tls) d.send_close_notify();
  error_code ignored;
  d.sock.shutdown(tcp::socket::shutdown_both, ignored);
  d.reset_socket();
  d.log_end("closed by smtpspec");
}

bool connection::is_open() const noexcept { return impl_->sock.is_open(); }

bool connection::tls_active() const noexcept { return impl_->tls != nullptr; }

std::string connection::tls_description() const {
  if (!impl_->tls) return {};
  SSL* s = impl_->tls->native_handle();
  std::string out = SSL_get_version(s);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(s)) out += std::string(" ") + SSL_CIPHER_get_name(c);
  if (impl_->role == local_role::server) return out;  // the client under test shows no certificate
  out += "; " + peer_subject(s);
  long verify = SSL_get_verify_result(s);
  if (verify == X509_V_OK && SSL_get0_peer_certificate(s)) out += "; verified";
  else if (verify != X509_V_OK) out += std::string("; not verified: ") + X509_verify_cert_error_string(verify);
  return out;
}

}  // namespace smtpspec::harness
