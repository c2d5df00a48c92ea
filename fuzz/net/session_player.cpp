// Plays a fuzzer session against a target; see session_player.hpp. The judging
// follows harness/src/runner.cpp (case_run::process, await_replies, read_reply):
// RFC 5321 4.2 (one reply per command), 3.8 and 4.1.1.10 (closing), 7.8 (a server
// may defend itself), RFC 3207 4 (STARTTLS), RFC 2920 3.2 (reply order).
#include "session_player.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <set>
#include <thread>

#include "smtpspec/reference/client_stream.hpp"
#include "smtpspec/reference/line_reader.hpp"
#include "smtpspec/reference/reply.hpp"
#include "smtpspec/results/transcript.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::fuzz {
namespace {

namespace ref = smtpspec::reference;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;
using harness::io_status;
using results::rfc_ref;

/// Reply lines longer than this cannot be framed at all; 4.5.3.1.5 allows 512.
constexpr std::size_t k_max_reply_frame = 64 * 1024;
/// Octets written at a time; replies are collected in between, so a server that
/// answers while reading a long pipelined group cannot deadlock against us.
constexpr std::size_t k_write_piece = 4 * 1024;
/// Tags of the octets the player adds itself.
constexpr int k_setup_tag = -1;
constexpr int k_noop_tag = -2;
constexpr int k_probe_tag = -3;
/// Short waits that judge nothing, scaled by the target's usual reply latency (so a
/// distant server gets longer ones): for replies owed before octets that end inside
/// a line (the session then goes on), and after pipelining RFC 2920 3.1 forbids
/// (the session then stops unjudged).
constexpr double k_partial_line_factor = 4, k_broken_pipelining_factor = 8;
constexpr milliseconds k_partial_line_min{5}, k_broken_pipelining_min{10}, k_short_wait_max{500};
/// How long to read after our own half-close (not a finding when it runs out).
constexpr milliseconds k_after_close{500};
/// Bound on the events kept for one transcript line.
constexpr std::size_t k_tail_event = 600;

rfc_ref to_ref(const ref::citation& c) { return {c.rfc, std::string(c.section)}; }

std::string first_line(const ref::reply& r) {
  std::string s = std::to_string(r.code);
  if (!r.lines.empty()) s += " " + r.lines.front();
  if (r.lines.size() > 1) s += " (+" + std::to_string(r.lines.size() - 1) + " lines)";
  return results::visible(s.substr(0, 200));
}

std::string_view telling_anomaly(const std::vector<ref::data_anomaly_record>& found) {
  for (const auto& a : found)
    if (a.kind != ref::data_anomaly::bare_lf && a.kind != ref::data_anomaly::bare_cr &&
        a.kind != ref::data_anomaly::overlong_line)
      return ref::to_string(a.kind);
  return found.empty() ? std::string_view() : ref::to_string(found.front().kind);
}

std::uint8_t slot_of(const ref::reply_slot& s) {
  switch (s.what) {
    case ref::reply_slot::kind::command: return static_cast<std::uint8_t>(s.v);
    case ref::reply_slot::kind::invalid_line: return static_cast<std::uint8_t>(slot_class::invalid_line);
    case ref::reply_slot::kind::end_of_data: return static_cast<std::uint8_t>(slot_class::end_of_data);
    case ref::reply_slot::kind::sasl_line: return static_cast<std::uint8_t>(slot_class::sasl_line);
  }
  return static_cast<std::uint8_t>(slot_class::invalid_line);
}

/// A connected socket's file descriptor: the player keeps its own, next to the one
/// the connection adopted, to poll it for readability (see absorb_tickets).
struct numeric_connect {
  harness::io_result result;
  int fd = -1;
};

/// Connects to a numeric IPv4 or IPv6 address with a plain non-blocking connect and
/// hands the socket to `conn` (connection::adopt). connection::connect resolves even
/// numeric addresses on Asio's resolver thread, a thread hand-off per session that
/// was a tenth of the fuzzer's session time. std::nullopt: the host is a name, so
/// the caller resolves it with connection::connect.
std::optional<numeric_connect> connect_numeric(harness::connection& conn, const harness::endpoint_spec& target,
                                               milliseconds timeout) {
  std::string host = target.host;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (auto* v4 = reinterpret_cast<sockaddr_in*>(&addr); ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(target.port);
    len = sizeof(sockaddr_in);
  } else if (auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr); ::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(target.port);
    len = sizeof(sockaddr_in6);
  } else {
    return std::nullopt;
  }
  const std::string what = "connect " + target.to_string();
  auto failed = [&](int err, int fd) {
    if (fd >= 0) ::close(fd);
    const auto status = err == ECONNREFUSED ? io_status::refused
                        : err == ETIMEDOUT  ? io_status::timeout
                        : err == ENETUNREACH || err == EHOSTUNREACH || err == EADDRNOTAVAIL || err == EAFNOSUPPORT
                            ? io_status::unreachable
                            : io_status::reset;
    return numeric_connect{{status, 0, what + ": " + std::strerror(err)}, -1};
  };
  const int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return failed(errno, -1);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    if (errno != EINPROGRESS) return failed(errno, fd);
    pollfd p{fd, POLLOUT, 0};
    int n = 0;
    do n = ::poll(&p, 1, static_cast<int>(timeout.count()));
    while (n < 0 && errno == EINTR);
    if (n == 0) {
      ::close(fd);
      return numeric_connect{{io_status::timeout, 0, what + ": no answer within " + std::to_string(timeout.count()) +
                                                         " ms"},
                             -1};
    }
    int err = 0;
    socklen_t err_len = sizeof err;
    if (n < 0) err = errno;
    else if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
    if (err != 0) return failed(err, fd);
  }
  // Back to blocking, the mode Asio assumes for a socket it is given; its own
  // operations switch to non-blocking as they need.
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  auto adopted = conn.adopt(fd, target.to_string());  // sets TCP_NODELAY, as connect does
  if (!adopted) return numeric_connect{adopted, -1};
  return numeric_connect{{}, fd};
}

}  // namespace

std::string_view to_string(finding_kind k) noexcept {
  switch (k) {
    case finding_kind::crash: return "crash";
    case finding_kind::hang: return "hang";
    case finding_kind::drop: return "drop";
    case finding_kind::desync: return "desync";
    case finding_kind::illegal: return "illegal";
    case finding_kind::should: return "should";
    case finding_kind::syntax: return "syntax";
    case finding_kind::count_: break;
  }
  return "?";
}

std::optional<std::uint32_t> parse_finding_kinds(std::string_view list, std::string& error) {
  std::uint32_t out = 0;
  while (!list.empty()) {
    auto comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (name.empty() || name == "none") continue;
    if (name == "all") {
      out |= (1u << finding_kind_count) - 1;
      continue;
    }
    if (name == "default") {
      out |= default_finding_kinds;
      continue;
    }
    bool known = false;
    for (std::size_t i = 0; i < finding_kind_count; ++i)
      if (to_string(static_cast<finding_kind>(i)) == name) {
        out |= kind_bit(static_cast<finding_kind>(i));
        known = true;
      }
    if (!known) {
      error = "unknown finding kind '" + std::string(name) +
              "' (known: crash, hang, drop, desync, illegal, should, syntax, all, none, default)";
      return std::nullopt;
    }
  }
  return out;
}

std::string_view to_string(time_spent t) noexcept {
  switch (t) {
    case time_spent::connect: return "connect";
    case time_spent::tls: return "tls";
    case time_spent::pause: return "pauses";
    case time_spent::short_wait: return "short waits";
    case time_spent::after_close: return "after half-close";
    case time_spent::close_wait: return "close after 221/421";
    case time_spent::stray: return "stray replies after QUIT";
    case time_spent::count_: break;
  }
  return "?";
}

bool play_result::has(finding_kind k) const {
  return std::any_of(findings.begin(), findings.end(), [&](const finding& f) { return f.kind == k; });
}

const finding* play_result::primary(std::uint32_t kinds) const {
  static constexpr finding_kind k_order[] = {finding_kind::desync, finding_kind::crash,  finding_kind::drop,
                                             finding_kind::hang,   finding_kind::syntax, finding_kind::illegal,
                                             finding_kind::should};
  for (auto k : k_order) {
    if (!(kinds & kind_bit(k))) continue;
    for (const auto& f : findings)
      if (f.kind == k) return &f;
  }
  return nullptr;
}

// --- one run of one session --------------------------------------------------------

namespace {

class run {
 public:
  run(const player_settings& s, harness::connection& conn, double& latency_ms, const session_input& in)
      : s_(s),
        conn_(conn),
        latency_ms_(latency_ms),
        in_(in),
        replies_(ref::line_reader_options{k_max_reply_frame, true}),
        deadline_(clock_type::now() + s.session_budget) {
    ref::reply_parser_options opt;
    opt.allow_any_code = true;  // out-of-range codes are judged, not rejected
    opt.allow_utf8 = true;      // RFC 6531 servers may send UTF-8 text
    opt.max_line_length = k_max_reply_frame;
    parser_ = ref::reply_parser(opt);
  }

  play_result go();

 private:
  // --- findings and transcript --------------------------------------------------------
  void add(finding_kind k, ref::level l, rfc_ref cite, std::string text, std::string expected = {},
           std::string observed = {}) {
    out_.findings.push_back({k, l, std::move(cite), std::move(text), std::move(expected), std::move(observed), tag_});
    note("finding " + std::string(to_string(k)) + ": " + out_.findings.back().text);
  }
  void tail(char who, std::string_view bytes) {
    std::string line = who == 'C' ? "C: " : who == 'S' ? "S: " : "-- ";
    line += who == '-' ? std::string(bytes.substr(0, k_tail_event)) : results::visible(bytes.substr(0, k_tail_event));
    if (bytes.size() > k_tail_event) line += "... (" + std::to_string(bytes.size()) + " octets)";
    events_.push_back(std::move(line));
    while (events_.size() > s_.transcript_events) events_.pop_front();
  }
  void note(std::string_view text) { tail('-', text); }

  /// Adds the wall time from its construction to stop() (or its end) to one entry of
  /// play_result::spent.
  class timer {
   public:
    timer(play_result& out, time_spent what)
        : slot_(out.spent[static_cast<std::size_t>(what)]), started_(clock_type::now()) {}
    ~timer() { stop(); }
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;
    void stop() {
      if (stopped_) return;
      stopped_ = true;
      slot_ += std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started_);
    }

   private:
    std::chrono::microseconds& slot_;
    clock_type::time_point started_;
    bool stopped_ = false;
  };

  // --- I/O ------------------------------------------------------------------------------
  milliseconds remaining(milliseconds cap) const {
    auto left = std::chrono::duration_cast<milliseconds>(deadline_ - clock_type::now());
    return std::clamp(left, milliseconds(1), cap);
  }
  bool out_of_time() const { return clock_type::now() >= deadline_; }
  bool write(std::string_view bytes);
  bool write_piece(std::string_view bytes);
  enum class got { reply, timeout, closed, broken };
  got read_reply(ref::reply& out, milliseconds timeout);
  bool wait_for_close(milliseconds timeout);

  // --- the exchange ----------------------------------------------------------------------
  harness::io_result connect();
  bool connect_and_greet();
  bool setup_starttls();
  void process(const ref::reply& r);
  std::size_t owed() const;
  bool await_owed();
  void server_closed(std::string_view while_doing);
  bool follow_into_tls(std::uint64_t injected_before);
  void absorb_tickets();
  bool play_group(std::size_t first, std::size_t end);
  void half_close();
  void terminate();
  bool frames_a_slot(std::string_view bytes) const;
  std::optional<std::uint64_t> chunk_left() const;
  const ref::reply_slot* owner_further_on(const ref::reply& r) const;
  bool send_own(std::string_view bytes, int tag);

  milliseconds short_wait(double factor, milliseconds at_least) const {
    const auto ms = milliseconds(static_cast<long long>(factor * latency_ms_));
    return std::min(s_.reply_timeout, std::clamp(ms, at_least, k_short_wait_max));
  }

  const player_settings& s_;
  harness::connection& conn_;
  double& latency_ms_;  // moving average of the first reply's delay after a write
  const session_input& in_;
  play_result out_;
  std::deque<std::string> events_;
  ref::client_stream stream_;
  ref::line_reader replies_;
  ref::reply_parser parser_;
  std::string inbox_;
  bool resync_ = false;   // skipping the rest of a malformed multi-line reply
  ref::reply malformed_;  // what that reply is judged as
  clock_type::time_point deadline_;
  int tag_ = k_setup_tag;
  int fd_ = -1;               // the connected socket (numeric targets), for poll() only
  bool closed_ = false;       // the connection is gone
  bool half_closed_ = false;  // we sent our FIN (close action)
  bool stop_ = false;         // a finding or a close ends the session
  bool quit_sent_ = false;
  bool closing_reply_ = false;            // a 221 or 421 arrived, whatever it answered
  bool unjudged_ = false;                 // the client broke the framing itself: judge nothing more
  std::string last_octets_;               // the last two octets written
  std::set<int> unpermitted_pipelining_;  // groups that pipelined without PIPELINING
  std::set<int> unwaited_;                // groups that sent on without waiting for a DATA/STARTTLS/AUTH/QUIT reply
  int refusals_ = 0;                      // 5yz replies so far (RFC 5321 7.8 defences)
  int last_code_ = 0;                     // the last reply that answered something
  std::vector<ref::data_anomaly_record> last_anomalies_;
};

bool run::write_piece(std::string_view bytes) {
  auto r = conn_.write(bytes, remaining(s_.reply_timeout));
  if (r) return true;
  if (r.status == io_status::timeout && (unwaited_.count(tag_) || unpermitted_pipelining_.count(tag_))) {
    note("a write did not complete after pipelining RFC 2920 3.1 does not allow: the rest of the session is not "
         "judged");
    unjudged_ = true;
    stop_ = true;
    return false;
  }
  if (r.status == io_status::timeout) {
    add(finding_kind::hang, ref::level::must, {5321, "4.5.3.2"},
        "the server stopped reading: a write of " + std::to_string(bytes.size()) + " octets did not complete within " +
            std::to_string(s_.reply_timeout.count()) + " ms",
        "the octets read", "write blocked");
    stop_ = true;
    return false;
  }
  closed_ = true;
  note("write failed: " + std::string(harness::to_string(r.status)) + " " + r.detail);
  server_closed("while the client was writing");
  return false;
}

bool run::write(std::string_view bytes) {
  if (closed_ || bytes.empty()) return !closed_;
  // More than one command line in one write while PIPELINING is not offered: the
  // session breaks 4.3.1, and a server may refuse or close (as in the runner).
  const auto where = stream_.model().state().where;
  if (tag_ >= 0 && where != ref::phase::data && where != ref::phase::bdat &&
      !stream_.model().state().offers("PIPELINING")) {
    std::size_t lines = 0;
    for (auto pos = bytes.find("\r\n"); pos != std::string_view::npos; pos = bytes.find("\r\n", pos + 2)) ++lines;
    if (lines > 1) unpermitted_pipelining_.insert(tag_);
  }
  tail('C', bytes);
  last_octets_ += bytes.substr(bytes.size() - std::min<std::size_t>(bytes.size(), 2));
  if (last_octets_.size() > 2) last_octets_.erase(0, last_octets_.size() - 2);
  for (std::size_t at = 0; at < bytes.size();) {
    auto piece = bytes.substr(at, k_write_piece);
    if (!write_piece(piece)) return false;
    // Fed line by line (the framing does not depend on the split) to see whether
    // octets followed a command whose reply decides how they are read (DATA,
    // STARTTLS, AUTH, QUIT) without waiting for it, which RFC 2920 3.1 forbids.
    for (std::string_view rest = piece; !rest.empty();) {
      if (stream_.waiting_for_reply() && tag_ >= 0) unwaited_.insert(tag_);
      auto nl = rest.find('\n');
      auto line = rest.substr(0, nl == std::string_view::npos ? rest.size() : nl + 1);
      stream_.sent(line, tag_);
      rest.remove_prefix(line.size());
    }
    at += piece.size();
    if (at < bytes.size()) {
      // Collect what the server already answered, without waiting for more.
      ref::reply r;
      while (!closed_ && read_reply(r, milliseconds(1)) == got::reply) process(r);
      if (closed_ || stop_) return false;
    }
  }
  return true;
}

run::got run::read_reply(ref::reply& out, milliseconds timeout) {
  const auto until = clock_type::now() + timeout;
  while (true) {
    std::string_view in = inbox_;
    while (true) {
      auto l = replies_.next(in);
      if (l.state == ref::line::status::need_more) break;
      if (l.state == ref::line::status::too_long) {
        add(finding_kind::syntax, ref::level::must, {5321, "4.5.3.1.5"},
            "the server sent a reply line of more than " + std::to_string(k_max_reply_frame) +
                " octets; a reply line is at most 512 octets (RFC 5321 4.5.3.1.5)");
        inbox_.clear();
        stop_ = true;
        return got::broken;
      }
      const std::string text(l.text);  // own it: l.text may view inbox_
      if (l.bare_lf)
        add(finding_kind::syntax, ref::level::must, {5321, "4.2"},
            "a reply line ended with LF alone; replies end lines with CRLF (RFC 5321 4.2)", "CRLF",
            results::visible(text.substr(0, 200)));
      if (l.length > ref::max_reply_line)
        add(finding_kind::should, ref::level::should, {5321, "4.5.3.1.5"},
            "a reply line of " + std::to_string(l.length) +
                " octets exceeds the 512-octet limit of RFC 5321 4.5.3.1.5");
      if (resync_) {
        if (text.size() >= 4 && text[3] == '-') continue;
        resync_ = false;
        inbox_.erase(0, inbox_.size() - in.size());
        out = std::move(malformed_);
        return got::reply;
      }
      auto status = parser_.feed_line(text);
      if (status.code == ref::error::need_more) continue;
      if (status.code == ref::error::ok) {
        inbox_.erase(0, inbox_.size() - in.size());
        out = parser_.take();
        return got::reply;
      }
      // A malformed reply still answers a command: it fills a slot with code 0.
      add(finding_kind::syntax, ref::level::must, {5321, "4.2"},
          "malformed reply: " + std::string(ref::describe(status.code)), "Reply-line syntax",
          results::visible(text.substr(0, 200)));
      malformed_ = ref::reply{};
      malformed_.code = 0;
      malformed_.lines = {text.substr(0, 512)};
      if (text.size() >= 4 && text[3] == '-') {
        resync_ = true;
        continue;
      }
      inbox_.erase(0, inbox_.size() - in.size());
      out = std::move(malformed_);
      return got::reply;
    }
    inbox_.erase(0, inbox_.size() - in.size());
    if (closed_) return got::closed;
    auto now = clock_type::now();
    if (now >= until || out_of_time()) return got::timeout;
    auto wait = std::chrono::duration_cast<milliseconds>(until - now);
    const std::size_t before = inbox_.size();
    auto r = conn_.read_some(inbox_, 64 * 1024, remaining(std::max(wait, milliseconds(1))));
    if (inbox_.size() > before) tail('S', std::string_view(inbox_).substr(before));
    if (r.status == io_status::timeout) continue;
    if (!r) {
      closed_ = true;
      if (r.status != io_status::closed)
        note("read failed: " + std::string(harness::to_string(r.status)) + " " + r.detail);
      else
        note("the server closed the connection");
    }
  }
}

bool run::wait_for_close(milliseconds timeout) {
  const auto until = clock_type::now() + timeout;
  while (!closed_) {
    auto now = clock_type::now();
    if (now >= until) return false;
    ref::reply r;
    auto g = read_reply(r, std::chrono::duration_cast<milliseconds>(until - now));
    if (g == got::reply)
      process(r);
    else if (g != got::closed)
      return closed_;
  }
  return true;
}

/// A reply only one command can get (354 to DATA, 221 to QUIT, 220 to STARTTLS)
/// arriving for an earlier pipelined command while that one is still waiting: the
/// replies in between were lost (RFC 5321 4.2, RFC 2920 3.2). Returns the slot it
/// belongs to, if so.
const ref::reply_slot* run::owner_further_on(const ref::reply& r) const {
  const ref::verb owner = r.code == 354   ? ref::verb::data
                          : r.code == 221 ? ref::verb::quit
                          : r.code == 220 ? ref::verb::starttls
                                          : ref::verb::unknown;
  if (owner == ref::verb::unknown || stream_.open_slots() < 2) return nullptr;
  auto is_owner = [&](const ref::reply_slot& slot) {
    return (slot.what == ref::reply_slot::kind::command || slot.what == ref::reply_slot::kind::invalid_line) &&
           slot.v == owner;
  };
  const auto& slots = stream_.slots();
  if (is_owner(slots.front())) return nullptr;
  for (std::size_t i = 1; i < slots.size(); ++i)
    if (is_owner(slots[i])) return &slots[i];
  return nullptr;
}

void run::process(const ref::reply& r) {
  ++out_.replies;
  const auto before = stream_.model().state().where;
  std::optional<std::string> lost;  // the command the reply belongs to, when replies were lost
  if (!unjudged_)
    if (const auto* owner = owner_further_on(r))
      lost = "a reply was lost: " + first_line(r) + " answers " + results::visible(owner->describe().substr(0, 100)) +
             " but arrived where the reply to " +
             results::visible(stream_.slots().front().describe().substr(0, 100)) +
             " was due (RFC 5321 4.2: every command MUST generate exactly one reply; RFC 2920 3.2)";
  auto judged = stream_.on_reply(r, s_.reply_content);
  if (lost) {
    add(finding_kind::desync, ref::level::must, {5321, "4.2"}, *lost, "one reply per command", first_line(r));
    // The framing is off by the lost replies from here on: stop judging.
    note("the rest of the session is not judged");
    if (judged) out_.observations.push_back({before, slot_of(judged->slot), r.code});
    unjudged_ = true;
    stop_ = true;
    return;
  }
  if (r.code == 221 || r.code == 421) closing_reply_ = true;
  if (unjudged_) {
    // The client lost the framing on its own (see where unjudged_ is set): replies
    // are still observed, not judged.
    const auto slot = judged ? slot_of(judged->slot) : static_cast<std::uint8_t>(slot_class::unexpected);
    out_.observations.push_back({before, slot, r.code});
    return;
  }
  if (!judged) {
    // 4.2: "Every command MUST generate exactly one reply": this one answers nothing
    // that was sent, so the server read the octets differently.
    ++out_.unexpected_replies;
    out_.observations.push_back({before, static_cast<std::uint8_t>(slot_class::unexpected), r.code});
    std::string why =
        "a reply arrived that answers no command sent: the server executed octets that a strict "
        "server reads as something else";
    if (!last_anomalies_.empty())
      why += " (the mail data held " + std::string(telling_anomaly(last_anomalies_)) +
             ", which RFC 5321 4.1.1.4 does not allow to end the data)";
    else if (stream_.injected_octets() > 0)
      why += " (plaintext sent after 220 to STARTTLS was executed: RFC 3207 4, CVE-2011-0411)";
    add(finding_kind::desync, ref::level::must, {5321, "4.2"}, why, "no reply", first_line(r));
    return;
  }
  const auto& j = *judged;
  out_.observations.push_back({j.before, slot_of(j.slot), r.code});
  if (r.code == 0) return;  // malformed: reported as syntax already
  last_code_ = r.code;
  if (r.klass() == 5) ++refusals_;
  if (j.slot.what == ref::reply_slot::kind::end_of_data) last_anomalies_ = j.slot.anomalies;
  if (j.slot.what == ref::reply_slot::kind::command && j.slot.v == ref::verb::bdat && r.klass() >= 4 &&
      !stream_.model().state().offers("CHUNKING")) {
    // RFC 3030 2: BDAT is for servers that offer CHUNKING. One that does not cannot
    // know a chunk follows and reads it as commands: the framing is the client's
    // mistake, so the rest of the session cannot be judged.
    if (auto c = ref::parse_command(j.slot.line); c && c->chunk_size > 0) {
      note(
          "BDAT refused by a server that does not offer CHUNKING: its chunk may be read as commands; the rest "
          "of the session is not judged");
      unjudged_ = true;
      stop_ = true;
      return;
    }
  }
  if (unpermitted_pipelining_.count(j.slot.tag) && r.klass() == 5) {
    note(j.slot.describe().substr(0, 100) + " refused: it was pipelined although PIPELINING was not offered (4.3.1)");
    return;
  }
  if (j.slot.tag == k_probe_tag) {
    // The unknown verb's reply is 5yz (4.3.2: 500). Anything else in its slot
    // answers octets sent earlier that a strict server did not read as commands.
    if (r.klass() != 5)
      add(finding_kind::desync, ref::level::must, {5321, "4.2"},
          "a reply arrived that answers no command sent (" + first_line(r) +
              " where the sync probe's 5yz was due): the server executed octets that a strict server reads as "
              "something else" +
              (stream_.injected_octets() > 0 ? " (plaintext queued behind STARTTLS: RFC 3207 4)" : ""),
          "5yz", first_line(r));
    return;
  }
  if (!j.grade.conforming() && j.grade.strength != ref::level::may)
    add(j.grade.strength == ref::level::must ? finding_kind::illegal : finding_kind::should, j.grade.strength,
        to_ref(j.grade.cite), results::visible(j.slot.describe().substr(0, 200)) + ": " + j.grade.explanation,
        j.expected.describe(), first_line(r));
  for (const auto& f : j.content)
    if (f.strength != ref::level::may)
      add(f.strength == ref::level::must ? finding_kind::syntax : finding_kind::should, f.strength, to_ref(f.cite),
          f.text, {}, first_line(r));
  // 4.1.1.10 / 3.8: after 221 the server closes; after 421 it closes too.
  if ((r.code == 221 || r.code == 421) && !closed_) {
    if (conn_.tls_active()) {
      // Inside TLS the client closes at once: a server's close_notify after 221 is a
      // second small write that Nagle holds until our delayed ACK (40 ms), and once
      // our own close_notify is sent the TLS layer no longer reports the server's
      // close. Not closing after 221/421 is judged in plaintext only.
      ref::reply late;
      while (read_reply(late, milliseconds(0)) == got::reply) process(late);
      note("221/421 inside TLS: the client closes");
      conn_.close();
      closed_ = true;
      stop_ = true;
      return;
    }
    timer t(out_, time_spent::close_wait);
    const bool closed = wait_for_close(std::min(s_.reply_timeout, milliseconds(3000)));
    t.stop();
    if (!closed)
      add(r.code == 221 ? finding_kind::illegal : finding_kind::should,
          r.code == 221 ? ref::level::must : ref::level::should, {5321, r.code == 221 ? "4.1.1.10" : "3.8"},
          "the server did not close the connection after " + std::to_string(r.code), "close", "connection still open");
    stop_ = true;
  }
}

std::size_t run::owed() const {
  std::size_t n = stream_.open_slots();
  if (n == 0 || stream_.waiting_for_reply()) return n;
  // The reply to BDAT comes after its chunk: while the chunk is incomplete that
  // slot is not owed yet (RFC 3030 2).
  const auto& last = stream_.slots().back();
  if (last.what == ref::reply_slot::kind::command && last.v == ref::verb::bdat) {
    auto left = chunk_left();
    if (!left || *left > 0) --n;
  }
  return n;
}

bool run::await_owed() {
  // After octets that end inside a line, a server may hold the replies to the
  // complete lines before it until that line is complete (RFC 2920 3.2: it flushes
  // when its input is drained): wait briefly, then go on writing.
  // (A bare LF does not end a line for the strict framing, so only CRLF counts.)
  // Nothing is judged at that point: replies that come later fill their slots then.
  const bool partial_line = !last_octets_.empty() && !last_octets_.ends_with("\r\n");
  // After pipelining RFC 2920 3.1 forbids, the server may wait for octets it need
  // not expect: wait a little, then stop judging (see below).
  const bool broke_pipelining = unwaited_.count(tag_) || unpermitted_pipelining_.count(tag_);
  const auto wait = broke_pipelining ? short_wait(k_broken_pipelining_factor, k_broken_pipelining_min)
                    : partial_line   ? short_wait(k_partial_line_factor, k_partial_line_min)
                                     : s_.reply_timeout;
  const auto started = clock_type::now();
  bool first = true;
  while (!closed_ && !stop_ && owed() > 0) {
    ref::reply r;
    const auto asked = clock_type::now();
    auto g = read_reply(r, remaining(wait));
    if (g == got::timeout && (partial_line || broke_pipelining))
      out_.spent[static_cast<std::size_t>(time_spent::short_wait)] +=
          std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - asked);
    if (g == got::reply) {
      if (first) {
        const double took = std::chrono::duration<double, std::milli>(clock_type::now() - started).count();
        latency_ms_ = latency_ms_ <= 0 ? took : 0.9 * latency_ms_ + 0.1 * took;
        first = false;
      }
      process(r);
      continue;
    }
    if (g == got::broken) return false;
    const std::string what = results::visible(stream_.slots().front().describe().substr(0, 200));
    if (g == got::timeout && partial_line && !broke_pipelining && !out_of_time()) {
      note("no reply yet to " + what + ": the last octets end inside a line, which the server may be waiting for");
      return true;
    }
    const int front_tag = stream_.slots().front().tag;
    if (g == got::timeout && (unwaited_.count(tag_) || unpermitted_pipelining_.count(tag_) ||
                              unwaited_.count(front_tag) || unpermitted_pipelining_.count(front_tag))) {
      // The client broke RFC 2920 3.1 (octets after DATA/STARTTLS/AUTH/QUIT in the same
      // write, or pipelining that was not offered): the server may be waiting for
      // what the client sent in a way it need not expect. Not judged further.
      note("no reply to " + what + " within " + std::to_string(wait.count()) +
           " ms after pipelining RFC 2920 3.1 does not allow: the rest of the session is not judged");
      unjudged_ = true;
      stop_ = true;
      return false;
    }
    if (g == got::timeout) {
      if (out_of_time())
        add(finding_kind::hang, ref::level::must, {5321, "4.5.3.2"},
            "the session ran out of its " + std::to_string(s_.session_budget.count()) +
                " ms budget waiting for a reply to " + what,
            "a reply", "nothing");
      else
        add(finding_kind::hang, ref::level::must, {5321, "4.2"},
            "no reply to " + what + " within " + std::to_string(s_.reply_timeout.count()) +
                " ms (RFC 5321 4.2: every command MUST generate exactly one reply)",
            "a reply", "nothing");
      stop_ = true;
      return false;
    }
    server_closed("with " + std::to_string(owed()) + " repl" + (owed() == 1 ? "y" : "ies") + " owed, the first to " +
                  what);
    return false;
  }
  // Complete replies already received beyond those owed answer nothing sent: judge
  // them now, against the group that caused them, rather than against the next one.
  ref::reply r;
  while (!closed_ && !stop_ && read_reply(r, milliseconds(0)) == got::reply) process(r);
  return !closed_ && !stop_;
}

void run::server_closed(std::string_view while_doing) {
  closed_ = true;
  stop_ = true;
  const auto where = stream_.model().state().where;
  const bool owes = stream_.open_slots() > 0;
  const int front_tag = owes ? stream_.slots().front().tag : tag_;
  stream_.on_close();
  // After 221/421 (also one that answered nothing sent: the desynchronisation is
  // the finding, the close that follows is its consequence) the close was announced.
  if (where == ref::phase::closed || closing_reply_) return;
  const bool refused_suspicious_data = (last_code_ / 100 == 4 || last_code_ / 100 == 5) && !last_anomalies_.empty();
  const bool defence = unpermitted_pipelining_.count(front_tag) || unwaited_.count(front_tag) || refusals_ >= 2 ||
                       last_code_ == 521 || refused_suspicious_data;
  // Whatever the client did, a target that then refuses new connections has died
  // (or its process did). Checked also when the close itself is excused below, or
  // the crash would surface one session late, on an input that does not reproduce it.
  std::string died;
  if (s_.liveness_check) {
    timer t(out_, time_spent::connect);
    conn_.close();
    auto again = connect();
    conn_.close();
    if (again.status == io_status::refused) died = again.detail;
  }
  if (!died.empty()) {
    add(finding_kind::crash, ref::level::must, {5321, "3.8"},
        "the server closed the connection " + std::string(while_doing) +
            " and then refused new connections: the target crashed or stopped (" + died + ")",
        "a reply", "connection closed");
    return;
  }
  // After our FIN, or where nothing more was judged.
  if (half_closed_ || unjudged_) return;
  if (defence) {
    // 7.8: a server may defend itself and close after refusing; 521 (RFC 7504)
    // announces a server that does not accept mail.
    note("the server closed the connection " + std::string(while_doing) + " (a defence RFC 5321 7.8 allows here)");
    return;
  }
  add(finding_kind::drop, ref::level::must, {5321, "3.8"},
      "the server closed the connection " + std::string(while_doing) +
          " without 221 or 421 (RFC 5321 3.8: it MUST NOT close except after QUIT, 421 or a timeout)",
      "a reply", "connection closed");
}

harness::io_result run::connect() {
  fd_ = -1;
  if (auto n = connect_numeric(conn_, s_.target, s_.connect_timeout)) {
    fd_ = n->fd;
    return std::move(n->result);
  }
  return conn_.connect(s_.target, s_.connect_timeout);
}

bool run::connect_and_greet() {
  timer t(out_, time_spent::connect);
  out_.connect = connect();
  t.stop();
  if (!out_.connect) {
    note("cannot connect: " + out_.connect.detail);
    return false;
  }
  out_.connected = true;
  if (s_.tls == results::tls_mode::implicit) {
    timer tls(out_, time_spent::tls);
    auto h = conn_.start_tls(s_.tls_options, s_.tls_options.sni.empty() ? s_.target.host : s_.tls_options.sni,
                             remaining(s_.reply_timeout));
    if (!h) {
      note("implicit TLS handshake failed: " + h.detail);
      out_.connected = false;
      out_.connect = h;
      return false;
    }
    out_.tls = true;
    tail('-', "TLS started");
    absorb_tickets();
    stream_.on_tls_established();  // RFC 8314: TLS before the greeting
  }
  ref::reply greeting;
  auto g = read_reply(greeting, remaining(s_.reply_timeout));
  if (g == got::timeout) {
    add(finding_kind::hang, ref::level::must, {5321, "3.1"},
        "no greeting within " + std::to_string(s_.reply_timeout.count()) + " ms", "220", "nothing");
    return false;
  }
  if (g != got::reply) {
    if (g == got::closed) server_closed("before the greeting");
    return false;
  }
  ++out_.replies;
  auto j = stream_.on_greeting(greeting, s_.reply_content);
  out_.observations.push_back({ref::phase::connecting, static_cast<std::uint8_t>(slot_class::greeting), greeting.code});
  if (greeting.code == 0) return true;
  if (!j.grade.conforming() && j.grade.strength != ref::level::may)
    add(j.grade.strength == ref::level::must ? finding_kind::illegal : finding_kind::should, j.grade.strength,
        to_ref(j.grade.cite), "greeting: " + j.grade.explanation, j.expected.describe(), first_line(greeting));
  for (const auto& f : j.content)
    if (f.strength != ref::level::may)
      add(f.strength == ref::level::must ? finding_kind::syntax : finding_kind::should, f.strength, to_ref(f.cite),
          f.text, {}, first_line(greeting));
  return true;
}

bool run::send_own(std::string_view bytes, int tag) {
  const int saved = tag_;
  tag_ = tag;
  bool ok = write(bytes);
  tag_ = saved;
  if (ok) out_.terminator += bytes;
  return ok;
}

bool run::setup_starttls() {
  note("setup: EHLO and STARTTLS (RFC 3207)");
  tag_ = k_setup_tag;
  if (!write("EHLO " + s_.client_domain + "\r\n") || !await_owed()) return false;
  if (!stream_.model().state().offers("STARTTLS")) {
    note("STARTTLS is not offered: the session runs in plaintext");
    return true;
  }
  const auto injected = stream_.injected_octets();
  if (!write("STARTTLS\r\n") || !await_owed()) return false;
  return follow_into_tls(injected);
}

/// TLS 1.3 servers send session tickets right after the handshake. Let them arrive
/// before the first command inside TLS, so that command's segment acknowledges them:
/// otherwise the server's reply, a small write behind unacknowledged tickets, waits
/// under Nagle for our delayed ACK (40 ms on Linux) unless the server sets
/// TCP_NODELAY. A wait for the socket to become readable (the tickets are then in
/// our kernel, which acknowledges them with our next segment), not a read: a read
/// cut by its deadline while the TLS layer handles a ticket can leave a socket read
/// pending that connection::read_some then waits out for seconds (see
/// fuzz/net/README.md, harness notes). TLS 1.2 has no tickets after the handshake
/// (RFC 5077 3.3: they come inside it), so nothing to wait for. Where the socket is
/// not the player's own (a host name), a 2 ms pause as before.
void run::absorb_tickets() {
  constexpr milliseconds k_ticket_wait{2};
  if (conn_.tls_description().rfind("TLSv1.3", 0) != 0) return;
  if (fd_ < 0) {
    std::this_thread::sleep_for(k_ticket_wait);
    return;
  }
  pollfd p{fd_, POLLIN, 0};
  while (::poll(&p, 1, static_cast<int>(k_ticket_wait.count())) < 0 && errno == EINTR) {
  }
}

/// A server that answered 220 to STARTTLS now expects the TLS handshake: follow it.
/// Plaintext queued behind STARTTLS must have been discarded (RFC 3207 4); a NOOP and
/// an unknown verb inside TLS flush out any reply to it, as the runner's sync probe.
bool run::follow_into_tls(std::uint64_t injected_before) {
  if (closed_ || stop_ || stream_.model().state().where != ref::phase::tls_handshake) return !closed_ && !stop_;
  if (conn_.tls_active()) {
    note("220 to STARTTLS inside TLS: not starting TLS twice");
    return true;
  }
  timer tls(out_, time_spent::tls);
  auto h = conn_.start_tls(s_.tls_options, s_.tls_options.sni.empty() ? s_.target.host : s_.tls_options.sni,
                           remaining(s_.reply_timeout));
  if (!h) {
    if (stream_.injected_octets() > injected_before) {
      // Plaintext went after STARTTLS: a server that leaves it in the socket reads it
      // as the start of the handshake, which then fails. That is a defence against
      // injection (RFC 3207 4), not a fault of the server.
      note("TLS handshake failed after plaintext was sent behind STARTTLS: " + h.detail);
      stop_ = true;
      return false;
    }
    if (h.status == io_status::timeout)
      add(finding_kind::hang, ref::level::must, {3207, "4"},
          "the server answered 220 to STARTTLS but did not complete the TLS handshake: " + h.detail, "TLS handshake",
          h.detail);
    else
      add(finding_kind::drop, ref::level::must, {3207, "4"},
          "the server answered 220 to STARTTLS but the TLS handshake failed: " + h.detail, "TLS handshake", h.detail);
    stop_ = true;
    return false;
  }
  out_.tls = true;
  tail('-', "TLS started");
  absorb_tickets();
  tls.stop();
  stream_.on_tls_established();
  // Whatever followed STARTTLS in plaintext is gone with the handshake (the server
  // must discard it, RFC 3207 4): inside TLS the framing starts afresh.
  unwaited_.erase(tag_);
  unpermitted_pipelining_.erase(tag_);
  last_octets_.clear();
  if (stream_.injected_octets() > injected_before) {
    note("plaintext was queued behind STARTTLS: NOOP and a sync probe inside TLS");
    if (!send_own("NOOP\r\n", k_noop_tag) || !await_owed()) return false;
    if (!send_own("XSMTPSPEC-SYNC\r\n", k_probe_tag) || !await_owed()) return false;
  }
  return true;
}

bool run::play_group(std::size_t first, std::size_t end) {
  tag_ = static_cast<int>(first);
  const auto injected = stream_.injected_octets();
  std::string pending;
  for (std::size_t i = first; i < end && !closed_; ++i) {
    const auto& a = in_.actions[i];
    if (a.kind == action_kind::pause) {
      if (!write(pending)) return false;
      pending.clear();
      note("pause " + std::to_string(a.pause_ms) + " ms");
      timer t(out_, time_spent::pause);
      std::this_thread::sleep_for(std::min(milliseconds(a.pause_ms), remaining(milliseconds(a.pause_ms))));
      continue;
    }
    if (a.kind == action_kind::close) {
      if (!write(pending)) return false;
      half_close();
      return false;
    }
    pending += a.wire();
  }
  if (!write(pending)) return false;
  if (!await_owed()) return false;
  return follow_into_tls(injected);
}

/// The session's own close: FIN, then whatever the server still says until it closes.
void run::half_close() {
  if (conn_.tls_active()) {
    // After our close_notify the TLS layer does not report the server's close (the
    // read waits out its deadline): inside TLS the client just closes.
    note("close inside TLS: the client closes the connection");
    half_closed_ = true;
    conn_.close();
    closed_ = true;
    stop_ = true;
    return;
  }
  note("half-close: the client sends nothing more");
  conn_.shutdown_send();
  half_closed_ = true;
  const auto until = clock_type::now() + k_after_close;
  timer t(out_, time_spent::after_close);
  while (!closed_ && clock_type::now() < until) {
    ref::reply r;
    auto g = read_reply(r, remaining(std::chrono::duration_cast<milliseconds>(until - clock_type::now())));
    if (g == got::reply) {
      process(r);
    } else if (g == got::closed) {
      t.stop();
      server_closed("after the client's half-close");
    } else {
      break;
    }
  }
  stop_ = true;
}

/// Would writing `bytes` now create a reply slot (a command, SASL or invalid line)?
bool run::frames_a_slot(std::string_view bytes) const {
  auto copy = stream_;
  const auto before = copy.open_slots();
  copy.sent(bytes, k_setup_tag);
  return copy.open_slots() > before;
}

/// Octets still due in the BDAT chunk the strict framing is reading: the least k
/// for which k octets and a CRLF complete a line. std::nullopt: not in a chunk.
std::optional<std::uint64_t> run::chunk_left() const {
  if (frames_a_slot("\r\n")) return 0;
  // At most the declared size of the last BDAT still open (or any BDAT's bound).
  std::uint64_t lo = 1, hi = session_limits::max_bdat_size + 2;
  if (stream_.open_slots() > 0) {
    const auto& last = stream_.slots().back();
    if (last.what == ref::reply_slot::kind::command && last.v == ref::verb::bdat)
      if (auto c = ref::parse_command(last.line)) hi = std::min<std::uint64_t>(hi, c->chunk_size + 2);
  }
  if (!frames_a_slot(std::string(hi, 'x') + "\r\n")) return std::nullopt;
  while (lo < hi) {
    auto mid = lo + (hi - lo) / 2;
    if (frames_a_slot(std::string(mid, 'x') + "\r\n"))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

void run::terminate() {
  tag_ = k_setup_tag;
  for (int round = 0; round < 6 && !closed_ && !stop_; ++round) {
    if (!await_owed() || !follow_into_tls(stream_.injected_octets())) return;
    const auto where = stream_.model().state().where;
    if (where == ref::phase::closed) return;
    if (quit_sent_) {
      // QUIT was answered but not with 221: collect stray replies briefly and leave.
      ref::reply r;
      timer t(out_, time_spent::stray);
      while (!closed_ && read_reply(r, milliseconds(50)) == got::reply) process(r);
      return;
    }
    if (where == ref::phase::data) {
      if (!send_own("\r\n.\r\n", k_setup_tag)) return;
      continue;
    }
    if (where == ref::phase::auth) {
      if (!send_own("*\r\n", k_setup_tag)) return;  // RFC 4954 4: cancels the exchange
      continue;
    }
    if (frames_a_slot("\r\n")) {
      auto copy = stream_;
      copy.sent("QUIT\r\n", k_setup_tag);
      const bool quit_is_a_command = copy.open_slots() > stream_.open_slots() &&
                                     copy.slots().back().what == ref::reply_slot::kind::command &&
                                     copy.slots().back().v == ref::verb::quit;
      if (quit_is_a_command) {
        quit_sent_ = true;
        if (!send_own("QUIT\r\n", k_setup_tag)) return;
      } else if (!send_own("\r\n", k_setup_tag)) {  // ends a partial line
        return;
      }
      continue;
    }
    auto left = chunk_left();
    if (left && *left > 0) {
      if (!send_own(std::string(static_cast<std::size_t>(*left), 'x'), k_setup_tag)) return;
    } else if (!send_own("\r\n", k_setup_tag)) {  // ends the rest of an over-long line
      return;
    }
  }
  if (!closed_ && !stop_ && quit_sent_) {
    ref::reply r;
    timer t(out_, time_spent::stray);
    while (!closed_ && read_reply(r, milliseconds(50)) == got::reply) process(r);
  }
}

play_result run::go() {
  const auto started = clock_type::now();
  try {
    if (connect_and_greet() && !stop_ && !closed_) {
      bool ok = s_.tls != results::tls_mode::starttls || setup_starttls();
      for (std::size_t i = 0; ok && i < in_.actions.size() && !stop_ && !closed_;) {
        std::size_t end = i + 1;
        while (end < in_.actions.size() && in_.actions[end].glued) ++end;
        if (out_of_time()) {
          add(finding_kind::hang, ref::level::must, {5321, "4.5.3.2"},
              "the session ran out of its " + std::to_string(s_.session_budget.count()) + " ms budget");
          break;
        }
        ok = play_group(i, end);
        i = end;
      }
      if (ok && !stop_ && !closed_) terminate();
    }
  } catch (const std::exception& e) {
    note(std::string("harness fault: ") + e.what());
  }
  conn_.close();
  for (const auto& e : events_) out_.transcript_tail += e + "\n";
  out_.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started);
  return std::move(out_);
}

}  // namespace

// --- session_player -------------------------------------------------------------------

struct session_player::impl {
  explicit impl(player_settings s) : settings(std::move(s)) {}
  player_settings settings;
  // The connection (and its io_context, resolver thread) is reused by every session;
  // the player keeps its own transcript tail, so this one keeps almost nothing.
  results::transcript sink{1};
  harness::connection conn{sink};
  double latency_ms = 0;  // learnt across sessions
};

session_player::session_player(player_settings s) : impl_(std::make_unique<impl>(std::move(s))) {}
session_player::~session_player() = default;

play_result session_player::play(const session_input& in) {
  run r(impl_->settings, impl_->conn, impl_->latency_ms, in);
  return r.go();
}

const player_settings& session_player::settings() const noexcept { return impl_->settings; }

}  // namespace smtpspec::fuzz
