// The embedded reference server: Asio C++20 coroutines moving octets between
// sockets and reference::server_session. Every protocol decision is the
// session's; this file owns sockets, TLS handshakes, deadlines and the store.
//
// Threading: each connection runs on its own strand (two coroutines: the session
// and its watchdog), so its state needs no locks. The message store and the
// connection registry are shared and locked.
#include "smtpspec/harness/reference_server.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <fcntl.h>
#include <unistd.h>

#include "smtpspec/harness/asio.hpp"
#include "smtpspec/harness/connection.hpp"

namespace smtpspec::harness {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;
using net::awaitable;
using net::redirect_error;
using net::use_awaitable;

/// Octets read from a client at a time; replies to one chunk are flushed before
/// the next read, so a client that does not read its replies stalls itself.
constexpr std::size_t k_read_chunk = 16 * 1024;
/// Budget for an orderly close (close_notify, lingering read), bounded so that
/// a silent client cannot hold the connection open.
constexpr std::chrono::milliseconds k_linger{2000};
/// Octets a lingering close reads and discards at most.
constexpr std::size_t k_linger_octets = 64 * 1024;
/// After stop() closed everything, how long cancelled coroutines may take to unwind.
constexpr std::chrono::milliseconds k_unwind{2000};

/// Accepted messages: in memory (bounded by count and octets) and optionally as
/// files. Shared by every connection.
class message_store {
 public:
  message_store(std::size_t max_count, std::size_t max_bytes, std::string dir)
      : max_count_(max_count), max_bytes_(max_bytes), dir_(std::move(dir)) {}

  /// Stores a message; returns a description of a file error, if any.
  std::string add(reference::stored_message m) {
    accepted_message a{0, std::move(m)};
    {
      std::lock_guard lock(mu_);
      a.id = next_id_++;
      keep(a);
    }
    return dir_.empty() ? std::string() : write_file(a);
  }

  std::vector<accepted_message> all() const {
    std::lock_guard lock(mu_);
    return {items_.begin(), items_.end()};
  }

  std::optional<accepted_message> find(std::string_view marker) const {
    std::lock_guard lock(mu_);
    for (auto it = items_.rbegin(); it != items_.rend(); ++it)
      if (matches(it->message, marker)) return *it;
    return std::nullopt;
  }

 private:
  static bool matches(const reference::stored_message& m, std::string_view marker) {
    if (m.content.find(marker) != std::string::npos || m.reverse_path.find(marker) != std::string::npos) return true;
    return std::any_of(m.forward_paths.begin(), m.forward_paths.end(),
                       [&](const std::string& p) { return p.find(marker) != std::string::npos; });
  }

  void keep(const accepted_message& a) {
    items_.push_back(a);
    bytes_ += a.message.content.size();
    while (!items_.empty() && (items_.size() > max_count_ || bytes_ > max_bytes_)) {
      bytes_ -= items_.front().message.content.size();
      items_.pop_front();
    }
  }

  /// <id>.eml with a Return-Path line as a final delivery adds it (RFC 5321 4.4),
  /// written under a temporary name and renamed so readers never see half a file.
  std::string write_file(const accepted_message& a) const {
    namespace fs = std::filesystem;
    fs::path final_path = fs::path(dir_) / (std::to_string(a.id) + ".eml");
    fs::path tmp = final_path;
    tmp += ".tmp";
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      f << "Return-Path: " << angle(a.message.reverse_path) << "\r\n" << a.message.content;
      if (!f) return "cannot write " + tmp.string();
    }
    std::error_code ec;
    fs::rename(tmp, final_path, ec);
    return ec ? "cannot rename " + tmp.string() + ": " + ec.message() : std::string();
  }

  /// The reverse-path as sent (session keeps the angle brackets); add them if not.
  static std::string angle(const std::string& path) {
    return !path.empty() && path.front() == '<' ? path : "<" + path + ">";
  }

  mutable std::mutex mu_;
  std::deque<accepted_message> items_;
  std::size_t bytes_ = 0;
  std::uint64_t next_id_ = 1;
  std::size_t max_count_, max_bytes_;
  std::string dir_;
};

/// One client connection. Touched only from its strand (and by stop() once no
/// server thread runs any more).
struct client_state {
  client_state(tcp::socket s, std::uint64_t n) : ex(s.get_executor()), plain(std::move(s)), timer(ex), id(n) {}

  net::any_io_executor ex;                     // the connection's strand
  tcp::socket plain;                           // until TLS starts
  std::optional<ssl::stream<tcp::socket>> tls;  // owns the socket once TLS starts
  net::steady_timer timer;
  clock_type::time_point deadline = clock_type::time_point::max();
  bool timed_out = false;  // the watchdog cancelled the pending operation
  bool finished = false;
  std::uint64_t id;

  tcp::socket& lowest() { return tls ? tls->next_layer() : plain; }

  /// Every wait gets a deadline: re-arming wakes the watchdog, which then sleeps
  /// until the new deadline.
  void arm(std::chrono::milliseconds d) {
    deadline = clock_type::now() + d;
    timed_out = false;
    timer.expires_at(deadline);
  }

  void close() {
    finished = true;
    timer.cancel();
    error_code ignored;
    lowest().close(ignored);
  }
};
using client_ptr = std::shared_ptr<client_state>;

std::string endpoint_text(const tcp::endpoint& ep) {
  return endpoint_spec{ep.address().to_string(), ep.port()}.to_string();
}

}  // namespace

struct reference_server::impl {
  explicit impl(reference_server_options o)
      : opt(std::move(o)),
        store(opt.memory_store_limit, opt.memory_store_bytes, opt.store_dir),
        ctx(static_cast<int>(std::max(1u, opt.threads))) {}
  ~impl() {
    if (wake_fd >= 0) ::close(wake_fd);
  }

  reference_server_options opt;
  std::optional<ssl::context> tls_ctx;
  std::string cert_pem;
  message_store store;

  std::mutex registry_mu;  // guards `live` and `closing`
  std::unordered_map<std::uint64_t, std::weak_ptr<client_state>> live;
  bool closing = false;  // set once by begin_shutdown(); no new session starts after it
  std::atomic<std::uint64_t> served{0};
  std::atomic<std::size_t> active{0};
  std::atomic<bool> crashed{false};  // the planted defect crash_on_data_after_bdat fired

  // stop() must be callable from a signal handler (the CLI does): it only sets
  // this flag and writes one octet to a pipe, both async-signal-safe. A
  // coroutine on the server's own threads reads the pipe and does the work.
  std::atomic<bool> stop_requested{false};
  int wake_fd = -1;  // write end of the pipe

  std::mutex state_mu;  // guards the two below (state_cv signals changes)
  std::condition_variable state_cv;
  bool shutdown_started = false;
  unsigned running = 0;  // server threads still in ctx.run()

  std::mutex join_mu;  // one thread joins; others wait for it
  std::atomic<std::thread::id> joiner{};
  std::atomic<std::thread::id> waiter{};  // the thread inside wait()
  bool joined = false;

  // Declared after everything the coroutines use: destroying the io_context
  // destroys suspended coroutine frames, which must find those members alive.
  net::io_context ctx;
  net::strand<net::io_context::executor_type> accept_strand{ctx.get_executor()};
  tcp::acceptor acceptor{ctx};
  net::posix::stream_descriptor wake_reader{ctx};
  tcp::endpoint bound;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;

  void log(const std::string& line) const {
    if (opt.log) opt.log(line);
  }
  /// Either switch turns implicit TLS on, so transport and session always agree.
  bool implicit_tls() const { return opt.implicit_tls || opt.session.implicit_tls; }
  reference::server_config session_config() const {
    reference::server_config cfg = opt.session;
    cfg.implicit_tls = implicit_tls();
    return cfg;
  }

  void setup_tls();
  void bind();
  void setup_wakeup();
  void start_threads();
  void request_stop() noexcept;
  void begin_shutdown();
  void join_all();
  void close_all_directly();
  bool on_server_thread() const;

  awaitable<void> accept_loop();
  awaitable<void> stop_watcher();
  void start_client(tcp::socket s);
  awaitable<void> watchdog(client_ptr c);
  awaitable<void> serve(client_ptr c);
  awaitable<void> run_session(client_ptr c);
  awaitable<bool> flush(client_state& c, reference::server_session& s);
  awaitable<bool> handshake(client_state& c);
  awaitable<void> graceful_close(client_state& c);
  awaitable<void> refuse_busy(client_state& c);
  void collect(client_state& c, reference::server_session& s);
};

void reference_server::impl::setup_tls() {
  if (opt.tls.cert_file.empty()) {
    pem_identity id = make_self_signed(opt.tls.common_name);
    cert_pem = id.certificate;
    tls_ctx.emplace(make_server_context(id));
  } else {
    tls_ctx.emplace(make_server_context(opt.tls));
  }
}

void reference_server::impl::bind() {
  endpoint_spec spec;
  std::string error;
  if (!endpoint_spec::parse(opt.listen, spec, error)) throw std::runtime_error("listen address: " + error);
  tcp::resolver resolver(ctx);
  error_code ec;
  auto results = resolver.resolve(spec.host, std::to_string(spec.port), tcp::resolver::numeric_service, ec);
  if (ec || results.empty())
    throw std::runtime_error("listen address " + opt.listen + ": " + (ec ? ec.message() : "no addresses"));
  tcp::endpoint ep = results.begin()->endpoint();
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (!ec) bound = acceptor.local_endpoint(ec);
  if (ec) throw std::runtime_error("cannot listen on " + endpoint_text(ep) + ": " + ec.message());
}

void reference_server::impl::setup_wakeup() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
  wake_reader.assign(fds[0]);
  wake_fd = fds[1];
}

void reference_server::impl::start_threads() {
  work.emplace(ctx.get_executor());
  net::co_spawn(accept_strand, accept_loop(), net::detached);
  net::co_spawn(accept_strand, stop_watcher(), net::detached);
  const unsigned n = std::max(1u, opt.threads);
  running = n;
  for (unsigned i = 0; i < n; ++i)
    threads.emplace_back([this] {
      // A handler's exception must not take the server down: log it, keep running.
      for (;;) {
        try {
          ctx.run();
          break;
        } catch (const std::exception& e) {
          log(std::string("server thread: ") + e.what());
        } catch (...) {
          log("server thread: unknown exception");
        }
      }
      std::lock_guard lock(state_mu);
      --running;
      state_cv.notify_all();
    });
}

awaitable<void> reference_server::impl::accept_loop() {
  net::steady_timer backoff(ctx);
  for (;;) {
    tcp::socket s(net::make_strand(ctx));
    error_code ec;
    co_await acceptor.async_accept(s, redirect_error(use_awaitable, ec));
    if (!acceptor.is_open()) co_return;
    if (ec == net::error::operation_aborted) co_return;
    if (ec) {
      // E.g. out of file descriptors: pause instead of spinning on the error.
      log("accept: " + ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    // Replies go out at once: without it a TLS 1.3 greeting waits behind the
    // unacknowledged session tickets (Nagle + delayed ACK, 40 ms per session).
    s.set_option(tcp::no_delay(true), ec);
    try {
      start_client(std::move(s));
    } catch (const std::exception& e) {
      // E.g. bad_alloc: lose this connection, keep accepting.
      log(std::string("accept: cannot start a session: ") + e.what());
    }
  }
}

awaitable<void> reference_server::impl::stop_watcher() {
  char octet = 0;
  error_code ec;
  co_await wake_reader.async_read_some(net::buffer(&octet, 1), redirect_error(use_awaitable, ec));
  begin_shutdown();
}

void reference_server::impl::begin_shutdown() {
  // Runs on the accept strand: the acceptor is only ever touched there.
  error_code ignored;
  acceptor.close(ignored);
  wake_reader.close(ignored);
  std::vector<client_ptr> open;
  {
    std::lock_guard lock(registry_mu);
    closing = true;
    for (auto& [id, weak] : live)
      if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  // Each connection is closed on its own strand; its coroutines then unwind.
  for (auto& c : open) net::post(c->ex, [c] { c->close(); });
  work.reset();
  {
    std::lock_guard lock(state_mu);
    shutdown_started = true;
  }
  state_cv.notify_all();
}

void reference_server::impl::start_client(tcp::socket s) {
  const std::uint64_t n = ++served;
  auto c = std::make_shared<client_state>(std::move(s), n);
  {
    std::lock_guard lock(registry_mu);
    if (closing) return;  // accepted just before the acceptor closed: drop it
    live.emplace(n, c);
  }
  auto ex = c->plain.get_executor();
  net::co_spawn(ex, watchdog(c), net::detached);
  net::co_spawn(ex, serve(c), net::detached);
}

awaitable<void> reference_server::impl::watchdog(client_ptr c) {
  while (!c->finished) {
    c->timer.expires_at(c->deadline);
    error_code ec;
    co_await c->timer.async_wait(redirect_error(use_awaitable, ec));
    if (c->finished) co_return;
    if (clock_type::now() < c->deadline) continue;  // re-armed meanwhile
    // The deadline passed with an operation pending: cancel it; the session
    // coroutine sees operation_aborted with timed_out set.
    c->timed_out = true;
    c->deadline = clock_type::time_point::max();
    error_code ignored;
    c->lowest().cancel(ignored);
  }
}

awaitable<void> reference_server::impl::serve(client_ptr c) {
  ++active;
  try {
    if (active > opt.max_connections) co_await refuse_busy(*c);
    else co_await run_session(c);
  } catch (const std::exception& e) {
    log("connection " + std::to_string(c->id) + ": " + e.what());
  } catch (...) {
    log("connection " + std::to_string(c->id) + ": unknown exception");
  }
  --active;
  c->close();
  std::lock_guard lock(registry_mu);
  live.erase(c->id);
}

awaitable<void> reference_server::impl::refuse_busy(client_state& c) {
  if (implicit_tls()) co_return;  // no TLS yet: nothing readable can be said
  static constexpr std::string_view busy = "421 4.3.2 Too many connections, try again later\r\n";
  c.arm(k_linger);
  error_code ec;
  co_await net::async_write(c.plain, net::buffer(busy.data(), busy.size()), redirect_error(use_awaitable, ec));
  if (!ec) co_await graceful_close(c);
}

awaitable<void> reference_server::impl::run_session(client_ptr cp) {
  client_state& c = *cp;
  reference::server_session s(session_config());
  // RFC 8314 3.3: with implicit TLS the handshake comes first, then the greeting.
  if (implicit_tls() && !co_await handshake(c)) co_return;
  s.start();
  std::vector<char> buf(k_read_chunk);
  for (;;) {
    collect(c, s);
    if (!co_await flush(c, s)) co_return;
    if (s.closing()) co_return co_await graceful_close(c);  // 4.1.1.10: 221, then close
    if (s.tls_wanted()) {
      // RFC 3207 4: 220 was flushed above; what the client queued behind
      // STARTTLS was not consumed by feed() and is dropped with `buf`.
      if (!co_await handshake(c)) co_return;
      s.tls_established();
      continue;
    }
    c.arm(opt.idle_timeout);
    error_code ec;
    std::size_t n = 0;
    if (c.tls) n = co_await c.tls->async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
    else n = co_await c.plain.async_read_some(net::buffer(buf), redirect_error(use_awaitable, ec));
    if (ec && c.timed_out) {
      s.timeout();  // 4.5.3.2.7: 421, then close
      continue;
    }
    if (ec) {
      // EOF, reset or a TLS error: nothing more can be said (4.1.1.10).
      s.feed_eof();
      collect(c, s);
      co_return;
    }
    s.feed(std::string_view(buf.data(), n));
    if (s.crashed()) {
      // The planted crash (reference::defect::crash_on_data_after_bdat): like a
      // daemon that died, the server answers nothing more on any connection and
      // stops accepting; the replies still queued are lost with it.
      crashed = true;
      log("connection " + std::to_string(c.id) + ": planted crash (defect crash_on_data_after_bdat): the server dies");
      // A dead process loses its listening socket with its connections: close the
      // acceptor (on its strand) before this connection, so that a client seeing
      // the close finds the port refusing, as after a real crash.
      stop_requested = true;
      co_await net::post(accept_strand, use_awaitable);
      begin_shutdown();
      co_await net::post(c.ex, use_awaitable);
      co_return;
    }
  }
}

void reference_server::impl::collect(client_state& c, reference::server_session& s) {
  for (auto& m : s.take_messages()) {
    std::string error = store.add(std::move(m));
    if (!error.empty()) log("connection " + std::to_string(c.id) + ": " + error);
  }
  for (auto& e : s.take_events()) {
    using k = reference::server_event::kind;
    const char* what = e.what == k::discarded_after_starttls ? "plaintext after STARTTLS discarded: "
                       : e.what == k::line_too_long          ? "command line too long: "
                       : e.what == k::data_anomaly           ? "DATA anomaly: "
                                                             : nullptr;
    if (what) log("connection " + std::to_string(c.id) + ": " + what + e.detail);
  }
}

awaitable<bool> reference_server::impl::flush(client_state& c, reference::server_session& s) {
  while (!s.output().empty()) {
    // A client that does not read its replies hits the same deadline as an idle one.
    c.arm(opt.idle_timeout);
    std::string_view out = s.output();
    error_code ec;
    std::size_t n = 0;
    if (c.tls) n = co_await net::async_write(*c.tls, net::buffer(out.data(), out.size()), redirect_error(use_awaitable, ec));
    else n = co_await net::async_write(c.plain, net::buffer(out.data(), out.size()), redirect_error(use_awaitable, ec));
    s.consume_output(n);
    if (ec) co_return false;
  }
  co_return true;
}

awaitable<bool> reference_server::impl::handshake(client_state& c) {
  c.tls.emplace(std::move(c.plain), *tls_ctx);
  c.arm(opt.idle_timeout);
  error_code ec;
  co_await c.tls->async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
  if (ec) {
    log("connection " + std::to_string(c.id) + ": TLS handshake failed: " +
        (c.timed_out ? std::string("timeout") : ec.message()));
    co_return false;
  }
  co_return true;
}

awaitable<void> reference_server::impl::graceful_close(client_state& c) {
  c.arm(k_linger);
  error_code ec;
  if (c.tls) {
    // RFC 8446 6.1: close_notify, then wait (bounded) for the client's.
    co_await c.tls->async_shutdown(redirect_error(use_awaitable, ec));
    co_return;
  }
  // FIN first, then read until the client's FIN: closing with unread data would
  // send a RST, which can destroy the final reply (221/421) before it is read.
  c.plain.shutdown(tcp::socket::shutdown_send, ec);
  std::array<char, 4096> sink;
  for (std::size_t total = 0; !ec && total < k_linger_octets;)
    total += co_await c.plain.async_read_some(net::buffer(sink), redirect_error(use_awaitable, ec));
}

bool reference_server::impl::on_server_thread() const {
  const auto self = std::this_thread::get_id();
  return std::any_of(threads.begin(), threads.end(), [&](const std::thread& t) { return t.get_id() == self; });
}

void reference_server::impl::request_stop() noexcept {
  if (stop_requested.exchange(true)) return;
  const char octet = 's';
  // The only thing a signal handler may do here: write(2) is async-signal-safe.
  [[maybe_unused]] auto n = ::write(wake_fd, &octet, 1);
}

void reference_server::impl::close_all_directly() {
  // Only once no server thread runs: then nothing races these sockets.
  error_code ignored;
  acceptor.close(ignored);
  std::vector<client_ptr> open;
  {
    std::lock_guard lock(registry_mu);
    closing = true;
    for (auto& [id, weak] : live)
      if (auto c = weak.lock()) open.push_back(std::move(c));
  }
  for (auto& c : open) c->close();
}

void reference_server::impl::join_all() {
  // A signal handler interrupting this very thread while it joins: nothing to do.
  if (joiner.load() == std::this_thread::get_id()) return;
  std::lock_guard join_lock(join_mu);
  if (joined) return;
  joiner = std::this_thread::get_id();
  bool unwound = false;
  {
    std::unique_lock lock(state_mu);
    unwound = state_cv.wait_for(lock, k_unwind, [&] { return running == 0; });
  }
  // Connections that did not unwind in time (a handler stuck somewhere) are
  // abandoned: the threads are stopped and the sockets closed from here.
  if (!unwound) ctx.stop();
  for (auto& t : threads)
    if (t.joinable()) t.join();
  if (!unwound) {
    close_all_directly();
    ctx.restart();
    ctx.run_for(k_unwind);
  }
  joined = true;
  joiner = std::thread::id();
}

// --- reference_server ------------------------------------------------------------

reference_server::reference_server(reference_server_options opt) : impl_(std::make_unique<impl>(std::move(opt))) {
  auto& d = *impl_;
  if (!d.opt.store_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(d.opt.store_dir, ec);
    if (ec) throw std::runtime_error("store directory " + d.opt.store_dir + ": " + ec.message());
  }
  d.setup_tls();
  d.bind();
  d.setup_wakeup();
  d.start_threads();
}

reference_server::~reference_server() { stop(); }

std::string reference_server::address() const { return endpoint_text(impl_->bound); }

std::uint16_t reference_server::port() const { return impl_->bound.port(); }

std::string reference_server::certificate_pem() const { return impl_->cert_pem; }

std::vector<accepted_message> reference_server::messages() const { return impl_->store.all(); }

std::optional<accepted_message> reference_server::find_message(std::string_view marker) const {
  return impl_->store.find(marker);
}

std::uint64_t reference_server::connections_served() const { return impl_->served.load(); }

bool reference_server::crashed() const { return impl_->crashed.load(); }

void reference_server::stop() {
  auto& d = *impl_;
  d.request_stop();
  // Joining is left to others when this thread cannot do it safely: a server
  // thread cannot join itself, and a signal handler interrupting wait() (or a
  // join) on this thread must not block on locks that thread may hold; wait(),
  // join_all() or the destructor finish the job.
  const auto self = std::this_thread::get_id();
  if (d.on_server_thread() || d.waiter.load() == self || d.joiner.load() == self) return;
  d.join_all();
}

void reference_server::wait() {
  auto& d = *impl_;
  d.waiter = std::this_thread::get_id();
  {
    std::unique_lock lock(d.state_mu);
    d.state_cv.wait(lock, [&] { return d.shutdown_started || d.running == 0; });
  }
  d.join_all();
  d.waiter = std::thread::id();
}

}  // namespace smtpspec::harness
