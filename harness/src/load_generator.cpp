// The load generator (load_generator.hpp): Asio C++20 coroutines, one per
// session, each with a watchdog coroutine that enforces its deadlines.
//
// Threading: with one thread (the default) everything runs on the io_context's own
// executor, the io_context is told it needs no locks, and run_spinning() drives
// it; with more, each connection slot gets a strand, so a session and its watchdog
// never run at the same time. Each slot counts into its own counters, merged once
// the io_context has run out of work, so no counter is shared.
//
// What profiling showed (docs/benchmarks.md has the figures): per message the
// kernel's TCP work dominates; in user space the io_context's mutex, one coroutine
// frame per awaited helper and the reference line_reader/reply_parser are the top
// items. Helpers are therefore few (write, read_reply), and sleeping in epoll_wait
// for each single reply is avoided by a short polling spin.
#include "smtpspec/harness/load_generator.hpp"

#include <dirent.h>
#include <openssl/ssl.h>
#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "smtpspec/harness/asio.hpp"
#include "smtpspec/reference/data_transparency.hpp"
#include "smtpspec/reference/line_reader.hpp"
#include "smtpspec/reference/reply.hpp"
#include "smtpspec/reference/text.hpp"

namespace smtpspec::harness {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace ref = smtpspec::reference;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using boost::system::error_code;
using net::awaitable;
using net::redirect_error;
using net::use_awaitable;

/// Octets read at a time. Replies are short; a pipelined group's replies fit.
constexpr std::size_t k_read_chunk = 4096;
/// The content's write and the reply to its end get one reply_timeout per this
/// many octets (at least one), as smtp_client does.
constexpr std::size_t k_octets_per_timeout = 64 * 1024;
/// Longest reply line accepted, CRLF included (RFC 5321 4.5.3.1.5: 512).
constexpr std::size_t k_max_reply_line = 512;
/// How long a TLS close (close_notify both ways) may take after 221.
constexpr std::chrono::milliseconds k_tls_close{1000};

std::string crlf(std::string line) {
  line += "\r\n";
  return line;
}

std::string strip_angles(const std::string& path) {
  if (path.size() >= 2 && path.front() == '<' && path.back() == '>') return path.substr(1, path.size() - 2);
  return path;
}

/// Everything a session sends, formatted once for the whole run. Index [1] of the
/// pairs is the variant with SIZE (RFC 1870 6), used when the server offers it.
struct plan {
  std::string ehlo, helo;
  std::array<std::string, 2> mail;   // MAIL FROM:<...> [SIZE=n] CRLF
  std::vector<std::string> rcpt;     // RCPT TO:<...> CRLF, one per recipient
  std::array<std::string, 2> group;  // MAIL, every RCPT and DATA: one pipelined group (RFC 2920 3.1)
  std::string content;               // stuffed content and the end-of-data line (4.5.2, 4.1.1.4)
  std::array<std::string, 2> content_then_group;  // content, then the next group in the same write
  std::string content_then_quit;                  // content, then QUIT (RFC 2920 3.1: QUIT may end a group)
  std::chrono::milliseconds data_timeout{};
};

constexpr std::string_view k_data = "DATA\r\n";
constexpr std::string_view k_rset = "RSET\r\n";
constexpr std::string_view k_quit = "QUIT\r\n";
constexpr std::string_view k_starttls = "STARTTLS\r\n";
constexpr std::string_view k_lone_dot = ".\r\n";

plan make_plan(const load_options& o) {
  plan p;
  p.ehlo = crlf("EHLO " + o.helo);
  p.helo = crlf("HELO " + o.helo);
  p.content = ref::encode_data(o.message);
  const std::string from = strip_angles(o.from == "<>" ? std::string() : o.from);
  p.mail[0] = crlf("MAIL FROM:<" + from + ">");
  // RFC 1870 6: SIZE= the size of the message, as transmitted (stuffed, CRLF).
  p.mail[1] = crlf("MAIL FROM:<" + from + "> SIZE=" + std::to_string(p.content.size()));
  std::string rcpts;
  for (const auto& t : o.to) {
    p.rcpt.push_back(crlf("RCPT TO:<" + strip_angles(t) + ">"));
    rcpts += p.rcpt.back();
  }
  for (std::size_t i = 0; i < 2; ++i) {
    p.group[i] = p.mail[i] + rcpts + std::string(k_data);
    p.content_then_group[i] = p.content + p.group[i];
  }
  p.content_then_quit = p.content + std::string(k_quit);
  p.data_timeout = o.reply_timeout * static_cast<long>(1 + p.content.size() / k_octets_per_timeout);
  return p;
}

/// What one connection slot counted; merged at the end.
struct counters {
  std::uint64_t sessions_completed = 0, sessions_failed = 0, sessions_tls = 0, sessions_pipelined = 0;
  std::uint64_t accepted = 0, refused = 0, recipients_refused = 0;
  std::uint64_t sent = 0, received = 0;
  std::map<std::string, std::uint64_t> errors;
};

/// What the run shares: read-only during the run.
struct run_context {
  const load_options& opt;
  plan p;
  tcp::endpoint endpoint;
  mutable std::optional<ssl::context> tls_ctx;  // SSL_new() only reads it
};

/// The part of a session its watchdog touches too. Shared (the watchdog may
/// outlive the session coroutine by one wake-up).
struct session_io {
  explicit session_io(const net::any_io_executor& ex) : socket(ex), timer(ex) {}

  tcp::socket socket;
  net::steady_timer timer;
  clock_type::time_point deadline = clock_type::time_point::max();  // of the pending wait
  clock_type::time_point timer_at = clock_type::time_point::max();  // what the watchdog sleeps until
  bool timed_out = false;  // the watchdog cancelled the pending operation
  bool finished = false;

  /// Starts the deadline of the next wait. Cheap: the watchdog's timer is only
  /// touched when the new deadline comes before the one it sleeps until.
  void arm(std::chrono::milliseconds d) {
    deadline = clock_type::now() + d;
    timed_out = false;
    if (deadline < timer_at) timer.cancel();
  }

  void finish() {
    finished = true;
    timer.cancel();
    error_code ignored;
    socket.close(ignored);
  }
};

awaitable<void> watchdog(std::shared_ptr<session_io> io) {
  while (!io->finished) {
    io->timer_at = io->deadline;
    io->timer.expires_at(io->timer_at);
    error_code ec;
    co_await io->timer.async_wait(redirect_error(use_awaitable, ec));
    io->timer_at = clock_type::time_point::max();
    if (io->finished) break;
    if (clock_type::now() < io->deadline) continue;  // re-armed meanwhile
    // The deadline passed with a wait pending: cancel it; the session sees
    // operation_aborted with timed_out set.
    io->timed_out = true;
    io->deadline = clock_type::time_point::max();
    error_code ignored;
    io->socket.cancel(ignored);
  }
}

/// One session: connect, greeting, EHLO, [STARTTLS, EHLO], M transactions, QUIT.
class session {
 public:
  session(const run_context& rc, counters& c, const net::any_io_executor& ex)
      : rc_(rc), c_(c), io_(std::make_shared<session_io>(ex)) {
    ref::reply_parser_options po;
    po.allow_utf8 = true;  // a load generator is not the judge of reply text
    parser_ = ref::reply_parser(po);
    ref::line_reader_options lo;
    lo.max_line = k_max_reply_line;
    lines_ = ref::line_reader(lo);
  }

  /// Runs the session to its end, counting into the slot's counters.
  awaitable<void> run() {
    net::co_spawn(io_->socket.get_executor(), watchdog(io_), net::detached);
    bool ok = false;
    try {
      ok = co_await converse();
    } catch (const std::exception& e) {
      ok = fail(std::string("exception: ") + e.what());
    }
    io_->finish();
    if (ok) ++c_.sessions_completed;
    else ++c_.sessions_failed;
  }

 private:
  bool fail(std::string why) {
    ++c_.errors[std::move(why)];
    return false;
  }

  std::string io_failure(const error_code& ec, std::string_view what) const {
    if (io_->timed_out) return "timeout " + std::string(what);
    if (ec == net::error::eof || ec == ssl::error::stream_truncated)
      return "connection closed by the server " + std::string(what);
    return std::string(what) + ": " + ec.message();
  }

  // Every co_await of an awaitable<bool> goes into `ok` first: g++ 12 miscompiles
  // `if (!co_await f()) co_return false;` inside an awaitable<bool> coroutine (the
  // finished frame of f is resumed again: SIGILL), clang does not.
  awaitable<bool> converse() {
    bool ok = false;
    const load_options& o = rc_.opt;
    error_code ec;
    io_->socket.open(rc_.endpoint.protocol(), ec);
    if (ec) co_return fail("socket: " + ec.message());
    io_->arm(o.connect_timeout);
    co_await io_->socket.async_connect(rc_.endpoint, redirect_error(use_awaitable, ec));
    if (ec) co_return fail(io_->timed_out ? std::string("connect: timeout") : "connect: " + ec.message());
    io_->socket.set_option(tcp::no_delay(true), ec);

    // 4.3.2: 220 greeting (554 means no service).
    ok = co_await read_reply("the greeting", {}, true);
    if (!ok) co_return false;
    if (code_ != 220) co_return fail("greeting " + std::to_string(code_) + " instead of 220");
    ok = co_await hello();
    if (!ok) co_return false;

    if (o.tls != load_tls::none) {
      if (!starttls_) {
        if (o.tls == load_tls::require_starttls) co_return fail("STARTTLS not offered");
      } else {
        ok = co_await write(k_starttls, o.reply_timeout, "writing STARTTLS");
        if (!ok) co_return false;
        ok = co_await read_reply("the reply to STARTTLS");
        if (!ok) co_return false;
        if (code_ == 220) {
          // RFC 3207 4.2: anything the server sent after its 220 is not trusted.
          pending_ = {};
          lines_.reset();
          parser_.reset();
          auto& tls = tls_.emplace(io_->socket, *rc_.tls_ctx);
          configure_peer_name(tls.native_handle(), o.tls_options, o.target.host);
          io_->arm(o.connect_timeout);
          co_await tls.async_handshake(ssl::stream_base::client, redirect_error(use_awaitable, ec));
          if (ec) co_return fail(io_->timed_out ? std::string("TLS handshake: timeout") : "TLS handshake: " + ec.message());
          ++c_.sessions_tls;
          // RFC 3207 4.2: the client MUST discard what it knew and send EHLO again.
          ok = co_await hello();
          if (!ok) co_return false;
          ok = co_await transactions();
          if (ok) {
            io_->arm(k_tls_close);
            co_await tls.async_shutdown(redirect_error(use_awaitable, ec));
          }
          co_return ok;
        }
        if (o.tls == load_tls::require_starttls) co_return fail("STARTTLS refused with " + std::to_string(code_));
      }
    }
    ok = co_await transactions();
    co_return ok;
  }

  /// EHLO, or HELO when EHLO is refused (RFC 5321 3.2); notes the extensions used.
  awaitable<bool> hello() {
    bool ok = false;
    const load_options& o = rc_.opt;
    ok = co_await write(rc_.p.ehlo, o.reply_timeout, "writing EHLO");
    if (!ok) co_return false;
    ok = co_await read_reply("the reply to EHLO");
    if (!ok) co_return false;
    pipelining_ = size_ = starttls_ = false;
    if (code_ == 250) {
      const ref::reply& r = parser_.peek();
      // 4.1.1.1: ehlo-line = ehlo-keyword *( SP / "=" ehlo-param ); keywords are
      // case-insensitive. The first line is the domain.
      for (std::size_t i = 1; i < r.lines.size(); ++i) {
        std::string_view line = r.lines[i];
        const std::string_view kw = line.substr(0, line.find_first_of(" ="));
        if (ref::iequals(kw, "PIPELINING")) pipelining_ = true;
        else if (ref::iequals(kw, "SIZE")) size_ = true;
        else if (ref::iequals(kw, "STARTTLS")) starttls_ = true;
      }
      co_return true;
    }
    ok = co_await write(rc_.p.helo, o.reply_timeout, "writing HELO");
    if (!ok) co_return false;
    ok = co_await read_reply("the reply to HELO");
    if (!ok) co_return false;
    if (code_ != 250) co_return fail("HELO refused with " + std::to_string(code_));
    co_return true;
  }

  awaitable<bool> transactions() {
    bool ok = false;
    const load_options& o = rc_.opt;
    const plan& p = rc_.p;
    const std::size_t sz = size_ ? 1 : 0;
    const std::size_t m = o.messages;
    if (o.pipelining && pipelining_) {
      ++c_.sessions_pipelined;
      // RFC 2920 3.1: MAIL, RCPT... and DATA in one group; DATA ends it.
      ok = co_await write(p.group[sz], o.reply_timeout, "writing MAIL, RCPT and DATA");
      if (!ok) co_return false;
      for (std::size_t i = 0; i < m; ++i) {
        ok = co_await read_reply("the reply to MAIL");
        if (!ok) co_return false;
        const bool mail_ok = code_ / 100 == 2;
        std::size_t accepted = 0;
        for (std::size_t r = 0; r < p.rcpt.size(); ++r) {
          ok = co_await read_reply("the reply to RCPT");
          if (!ok) co_return false;
          if (code_ / 100 == 2) ++accepted;
          else ++c_.recipients_refused;
        }
        ok = co_await read_reply("the reply to DATA");
        if (!ok) co_return false;
        const bool last = i + 1 == m;
        if (code_ == 354 && mail_ok && accepted > 0) {
          // The content, its end, and what comes next, in one write.
          const std::string& out = last ? p.content_then_quit : p.content_then_group[sz];
          ok = co_await write(out, p.data_timeout, "writing the message");
          if (!ok) co_return false;
          ok = co_await read_reply("the reply to the end of data", p.data_timeout);
          if (!ok) co_return false;
          if (code_ / 100 == 2) ++c_.accepted;
          else ++c_.refused;
          continue;
        }
        ++c_.refused;
        // DATA accepted with no valid recipient: a lone dot (RFC 2920 3.1). DATA
        // refused: RSET, as the transaction may still be open (MAIL accepted).
        // Either goes first in the next group, and its reply comes first.
        const bool lone_dot = code_ == 354;
        std::string out(lone_dot ? k_lone_dot : k_rset);
        out += last ? std::string(k_quit) : p.group[sz];
        ok = co_await write(out, o.reply_timeout, "writing the next group");
        if (!ok) co_return false;
        ok = co_await read_reply(lone_dot ? "the reply to the lone dot" : "the reply to RSET");
        if (!ok) co_return false;
      }
      ok = co_await quit_reply();
      co_return ok;
    }

    for (std::size_t i = 0; i < m; ++i) {
      // RFC 5321 4.3.1 without PIPELINING: each command waits for its reply.
      ok = co_await write(p.mail[sz], o.reply_timeout, "writing MAIL");
      if (!ok) co_return false;
      ok = co_await read_reply("the reply to MAIL");
      if (!ok) co_return false;
      if (code_ / 100 != 2) {
        ++c_.refused;
        continue;
      }
      std::size_t accepted = 0;
      for (const auto& rc : p.rcpt) {
        ok = co_await write(rc, o.reply_timeout, "writing RCPT");
        if (!ok) co_return false;
        ok = co_await read_reply("the reply to RCPT");
        if (!ok) co_return false;
        if (code_ / 100 == 2) ++accepted;
        else ++c_.recipients_refused;
      }
      // 3.3: no recipient, no DATA; RSET ends the open transaction.
      if (accepted == 0) {
        ++c_.refused;
        ok = co_await write(k_rset, o.reply_timeout, "writing RSET");
        if (!ok) co_return false;
        ok = co_await read_reply("the reply to RSET");
        if (!ok) co_return false;
        continue;
      }
      ok = co_await write(k_data, o.reply_timeout, "writing DATA");
      if (!ok) co_return false;
      ok = co_await read_reply("the reply to DATA");
      if (!ok) co_return false;
      if (code_ != 354) {
        ++c_.refused;
        ok = co_await write(k_rset, o.reply_timeout, "writing RSET");
        if (!ok) co_return false;
        ok = co_await read_reply("the reply to RSET");
        if (!ok) co_return false;
        continue;
      }
      ok = co_await write(p.content, p.data_timeout, "writing the message");
      if (!ok) co_return false;
      ok = co_await read_reply("the reply to the end of data", p.data_timeout);
      if (!ok) co_return false;
      if (code_ / 100 == 2) ++c_.accepted;
      else ++c_.refused;
    }
    ok = co_await write(k_quit, o.reply_timeout, "writing QUIT");
    if (!ok) co_return false;
    ok = co_await quit_reply();
    co_return ok;
  }

  awaitable<bool> quit_reply() {
    bool ok = false;
    ok = co_await read_reply("the reply to QUIT", {}, true);
    if (!ok) co_return false;
    if (code_ != 221) co_return fail("QUIT answered " + std::to_string(code_) + " instead of 221");
    co_return true;
  }

  awaitable<bool> write(std::string_view bytes, std::chrono::milliseconds timeout, std::string_view what) {
    io_->arm(timeout);
    error_code ec;
    const auto b = net::buffer(bytes.data(), bytes.size());
    std::size_t n = 0;
    if (tls_) n = co_await net::async_write(*tls_, b, redirect_error(use_awaitable, ec));
    else n = co_await net::async_write(io_->socket, b, redirect_error(use_awaitable, ec));
    c_.sent += n;
    if (ec) co_return fail(io_failure(ec, what));
    co_return true;
  }

  /// The next complete reply: its code in code_, the reply in parser_.peek().
  /// `timeout` zero: the reply timeout. Unless `accept_421`, a 421 fails the
  /// session (4.2.1: the service is closing the transmission channel).
  awaitable<bool> read_reply(std::string_view what, std::chrono::milliseconds timeout = {}, bool accept_421 = false) {
    if (timeout.count() == 0) timeout = rc_.opt.reply_timeout;
    for (;;) {
      while (!pending_.empty()) {
        const ref::line l = lines_.next(pending_);
        if (l.state == ref::line::status::need_more) break;
        if (l.state == ref::line::status::too_long) co_return fail("reply line too long in " + std::string(what));
        const ref::parse_error e = parser_.feed_line(l.text);
        if (e.code == ref::error::ok) {
          code_ = parser_.peek().code;
          if (code_ == 421 && !accept_421) co_return fail("421 as " + std::string(what));
          co_return true;
        }
        if (e.code != ref::error::need_more)
          co_return fail("malformed reply (" + std::string(ref::describe(e.code)) + ") as " + std::string(what));
      }
      io_->arm(timeout);
      error_code ec;
      std::size_t n = 0;
      if (tls_) n = co_await tls_->async_read_some(net::buffer(buf_), redirect_error(use_awaitable, ec));
      else n = co_await io_->socket.async_read_some(net::buffer(buf_), redirect_error(use_awaitable, ec));
      c_.received += n;
      if (ec) co_return fail(io_failure(ec, "waiting for " + std::string(what)));
      pending_ = std::string_view(buf_.data(), n);
    }
  }

  const run_context& rc_;
  counters& c_;
  std::shared_ptr<session_io> io_;
  std::optional<ssl::stream<tcp::socket&>> tls_;  // once STARTTLS was accepted: every octet goes through it
  ref::line_reader lines_;
  ref::reply_parser parser_;
  std::string_view pending_;  // read but not yet framed
  std::uint16_t code_ = 0;    // of the last reply
  bool pipelining_ = false, size_ = false, starttls_ = false;
  std::array<char, k_read_chunk> buf_{};
};

awaitable<void> slot(const run_context& rc, counters& c) {
  const net::any_io_executor ex = co_await net::this_coro::executor;
  for (std::size_t i = 0; i < rc.opt.sessions; ++i) {
    session s(rc, c, ex);
    co_await s.run();
  }
}

/// Peak resident set of this process in KiB: VmHWM of /proc/self/status, which
/// counts from this program's exec. getrusage's ru_maxrss is the fallback: it also
/// counts what the process was before its exec (e.g. the forking parent's pages).
long peak_rss_kib() {
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    long kib = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    std::fclose(f);
    if (kib > 0) return kib;
  }
  rusage ru{};
  return ::getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/// Runs `ctx` until it has no work left, like ctx.run(), but when no handler is
/// ready it keeps polling (yielding the CPU between polls) for up to `spin` before
/// it blocks in epoll_wait. Replies to the many sessions then get handled in
/// batches, and neither this thread nor the server's is put to sleep and woken for
/// every single reply: on the 2-core benchmark machine, 10 sessions x 1000
/// messages without PIPELINING went from ~29,000 voluntary context switches to
/// under 100, and 7-15 % less time (docs/benchmarks.md).
/// The yield keeps it polite: whatever else wants the CPU (the server) gets it.
void run_spinning(net::io_context& ctx, std::chrono::microseconds spin) {
  for (;;) {
    std::size_t n = ctx.poll();
    if (ctx.stopped()) return;
    if (n != 0) continue;
    const auto until = clock_type::now() + spin;
    while (n == 0 && !ctx.stopped() && clock_type::now() < until) {
      std::this_thread::yield();
      n = ctx.poll();
    }
    if (ctx.stopped()) return;
    if (n == 0 && ctx.run_one() == 0) return;
  }
}

}  // namespace

std::string_view to_string(load_tls t) noexcept {
  switch (t) {
    case load_tls::none: return "none";
    case load_tls::starttls: return "starttls";
    case load_tls::require_starttls: return "require-starttls";
  }
  return "none";
}

bool load_tls_from_string(std::string_view name, load_tls& out) noexcept {
  for (auto t : {load_tls::none, load_tls::starttls, load_tls::require_starttls})
    if (name == to_string(t)) return out = t, true;
  return false;
}

std::string check_load_options(const load_options& o) {
  if (o.connections == 0) return "connections must be at least 1";
  if (o.messages == 0) return "messages must be at least 1";
  if (o.sessions == 0) return "sessions must be at least 1";
  if (o.threads == 0) return "threads must be at least 1";
  if (o.to.empty()) return "at least one recipient is needed";
  auto bad = [](const std::string& s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos; };
  if (bad(o.helo) || o.helo.empty()) return "bad HELO domain";
  if (bad(o.from)) return "bad sender";
  for (const auto& t : o.to)
    if (bad(t) || t.empty()) return "bad recipient '" + t + "'";
  return {};
}

int count_open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory stream's own descriptor
}

load_result run_load(const load_options& o) {
  if (auto why = check_load_options(o); !why.empty()) throw std::invalid_argument(why);
  load_result res;
  res.fds_before = count_open_fds();
  res.sessions_planned = std::uint64_t(o.connections) * o.sessions;
  res.messages_planned = res.sessions_planned * o.messages;
  std::vector<counters> slots(o.connections);
  {
    run_context rc{o, make_plan(o), {}, {}};
    if (o.tls != load_tls::none) rc.tls_ctx.emplace(make_client_context(o.tls_options));
    // One thread: nothing else ever touches the io_context, so it can do without
    // its locks (they were 5 % of the instructions per message in callgrind).
    net::io_context ctx(o.threads == 1 ? BOOST_ASIO_CONCURRENCY_HINT_UNSAFE : static_cast<int>(o.threads));
    {
      tcp::resolver resolver(ctx);
      error_code ec;
      auto found = resolver.resolve(o.target.host, std::to_string(o.target.port), tcp::resolver::numeric_service, ec);
      if (ec || found.empty()) {
        res.sessions_failed = res.sessions_planned;
        res.messages_failed = res.messages_planned;
        res.errors.emplace_back("resolve " + o.target.host + ": " + (ec ? ec.message() : "no address"),
                                res.sessions_planned);
        res.peak_rss_kib = peak_rss_kib();
        res.fds_after = count_open_fds();
        return res;
      }
      rc.endpoint = found.begin()->endpoint();
    }
    std::vector<std::exception_ptr> crashed(o.connections);
    const auto start = clock_type::now();
    for (std::size_t i = 0; i < o.connections; ++i) {
      net::any_io_executor ex = o.threads == 1 ? net::any_io_executor(ctx.get_executor())
                                               : net::any_io_executor(net::make_strand(ctx));
      net::co_spawn(ex, slot(rc, slots[i]), [&crashed, i](std::exception_ptr e) { crashed[i] = e; });
    }
    if (o.threads == 1 && o.spin.count() > 0) {
      run_spinning(ctx, o.spin);
    } else if (o.threads == 1) {
      ctx.run();
    } else {
      std::vector<std::thread> pool;
      for (unsigned t = 1; t < o.threads; ++t) pool.emplace_back([&ctx] { ctx.run(); });
      ctx.run();
      for (auto& t : pool) t.join();
    }
    res.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    for (std::size_t i = 0; i < o.connections; ++i) {
      if (!crashed[i]) continue;
      try {
        std::rethrow_exception(crashed[i]);
      } catch (const std::exception& e) {
        ++slots[i].errors[std::string("exception: ") + e.what()];
      } catch (...) {
        ++slots[i].errors["unknown exception"];
      }
    }
  }
  std::map<std::string, std::uint64_t> errors;
  for (const auto& c : slots) {
    res.sessions_completed += c.sessions_completed;
    res.sessions_failed += c.sessions_failed;
    res.sessions_tls += c.sessions_tls;
    res.sessions_pipelined += c.sessions_pipelined;
    res.messages_accepted += c.accepted;
    res.messages_refused += c.refused;
    res.recipients_refused += c.recipients_refused;
    res.bytes_sent += c.sent;
    res.bytes_received += c.received;
    for (const auto& [why, n] : c.errors) errors[why] += n;
  }
  res.messages_failed = res.messages_planned - std::min(res.messages_planned, res.messages_accepted + res.messages_refused);
  res.errors.assign(errors.begin(), errors.end());
  std::stable_sort(res.errors.begin(), res.errors.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  res.peak_rss_kib = peak_rss_kib();
  res.fds_after = count_open_fds();
  return res;
}

namespace {

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out += esc;
    } else {
      out += ch;
    }
  }
  out += '"';
}

}  // namespace

std::string load_result::to_json() const {
  std::string out = "{";
  auto num = [&out](const char* name, auto v) {
    out += '"';
    out += name;
    out += "\":";
    out += std::to_string(v);
    out += ',';
  };
  auto real = [&out](const char* name, double v) {
    char b[64];
    std::snprintf(b, sizeof b, "\"%s\":%.6g,", name, v);
    out += b;
  };
  num("sessions_planned", sessions_planned);
  num("sessions_completed", sessions_completed);
  num("sessions_failed", sessions_failed);
  num("sessions_tls", sessions_tls);
  num("sessions_pipelined", sessions_pipelined);
  num("messages_planned", messages_planned);
  num("messages_accepted", messages_accepted);
  num("messages_refused", messages_refused);
  num("messages_failed", messages_failed);
  num("recipients_refused", recipients_refused);
  num("bytes_sent", bytes_sent);
  num("bytes_received", bytes_received);
  real("seconds", seconds);
  real("messages_per_second", messages_per_second());
  real("sessions_per_second", sessions_per_second());
  num("peak_rss_kib", peak_rss_kib);
  num("fds_before", fds_before);
  num("fds_after", fds_after);
  out += "\"errors\":[";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i) out += ',';
    out += "{\"reason\":";
    json_string(out, errors[i].first);
    out += ",\"count\":" + std::to_string(errors[i].second) + "}";
  }
  out += "]}";
  return out;
}

std::string make_load_message(std::size_t payload, const std::string& from, const std::string& to) {
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string m;
  m.reserve(payload + 256);
  m += "From: <" + strip_angles(from) + ">\r\n";
  m += "To: <" + strip_angles(to) + ">\r\n";
  m += std::string("Date: ") + date + "\r\n";
  m += "Message-Id: <" + std::to_string(now) + ".load@smtpspec.test>\r\n";
  m += "\r\n";
  std::size_t line = 0;
  for (std::size_t left = payload; left > 0; ++line) {
    const std::size_t chars = left >= 80 ? 78 : std::max<std::size_t>(left, 3) - 2;
    m += static_cast<char>('0' + line % 10);
    m.append(chars - 1, 'X');
    m += "\r\n";
    left -= std::min(left, chars + 2);
  }
  return m;
}

}  // namespace smtpspec::harness
