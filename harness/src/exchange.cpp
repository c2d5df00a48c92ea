// The judged exchange; see exchange.hpp. RFC 5321 3.1, 3.8 (closing), 4.1.1.4
// (end of data), 4.1.1.10 (QUIT), 4.2 (one reply per command), 4.5.3.1.5 (reply
// lines), 7.8 (defences); RFC 2920 3.1 and 3.2 (pipelining); RFC 3030 2 (BDAT);
// RFC 3207 4 (STARTTLS).
#include "smtpspec/harness/exchange.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "smtpspec/reference/command.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::harness {
namespace ref = smtpspec::reference;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

/// Octets written at a time; replies are collected in between, so a server that
/// answers while reading a long pipelined group cannot deadlock against us.
constexpr std::size_t k_write_piece = 4 * 1024;
/// Adaptive waits (exchange_settings::latency_ms): a few times the learnt latency,
/// for replies owed before octets that end inside a line (the session then goes
/// on) and after pipelining RFC 2920 3.1 forbids (the session is then not judged).
constexpr double k_partial_line_factor = 4, k_broken_pipelining_factor = 8;
/// Replies read during one write and judged after it (exchange::write).
constexpr std::size_t k_held_replies_max = 4096;
constexpr milliseconds k_partial_line_min{5}, k_broken_pipelining_min{10}, k_short_wait_max{500};
/// Reading what the server sent before it closed, after a write found it gone.
constexpr milliseconds k_after_write_failure{1000};
constexpr std::size_t k_read_size = 64 * 1024;
/// Bound on the untrusted text quoted in a finding.
constexpr std::size_t k_shown = 200;

/// The rule every reply that answers nothing, or is missing, breaks.
constexpr const char* k_one_reply = "every command MUST generate exactly one reply (4.2)";

results::rfc_ref to_ref(const ref::citation& c) { return {c.rfc, std::string(c.section)}; }

std::string shown(std::string_view s) { return results::visible(s.substr(0, k_shown)); }

finding_kind kind_of_grade(ref::level l) {
  return l == ref::level::must ? finding_kind::illegal : l == ref::level::should ? finding_kind::should : finding_kind::note;
}
finding_kind kind_of_content(ref::level l) {
  return l == ref::level::must ? finding_kind::syntax : l == ref::level::should ? finding_kind::should : finding_kind::note;
}

/// A connected socket's file descriptor: the exchange keeps its own, next to the
/// one the connection adopted, to poll it for readability (see absorb_tickets).
struct numeric_connect {
  io_result result;
  int fd = -1;
};

/// Connects to a numeric IPv4 or IPv6 address with a plain non-blocking connect and
/// hands the socket to `conn` (connection::adopt). connection::connect resolves even
/// numeric addresses on Asio's resolver thread, a thread hand-off per session that
/// was a tenth of the fuzzer's session time. std::nullopt: the host is a name, so
/// the caller resolves it with connection::connect.
std::optional<numeric_connect> connect_numeric(connection& conn, const endpoint_spec& target, milliseconds timeout) {
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
      return numeric_connect{
          {io_status::timeout, 0, what + ": no answer within " + std::to_string(timeout.count()) + " ms"}, -1};
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
    case finding_kind::note: return "note";
  }
  return "?";
}

std::string first_line(const ref::reply& r) {
  std::string s = std::to_string(r.code);
  if (!r.lines.empty()) s += " " + r.lines.front();
  if (r.lines.size() > 1) s += " (+" + std::to_string(r.lines.size() - 1) + " lines)";
  return shown(s);
}

std::string answered(const ref::reply_slot& s) {
  const std::string verb(ref::to_string(s.v));
  switch (s.what) {
    case ref::reply_slot::kind::command: return verb.empty() ? "an unknown verb" : verb;
    case ref::reply_slot::kind::invalid_line:
      // What is wrong with the line tells defects apart: a server that takes an
      // underscore in a domain need not take a bad address literal.
      return (verb.empty() ? std::string("an invalid line") : "an invalid " + verb + " line") + " (" +
             std::string(ref::to_string(s.error.code)) + ")";
    case ref::reply_slot::kind::end_of_data: return "end of data";
    case ref::reply_slot::kind::sasl_line: return "a SASL line";
  }
  return verb;
}

std::pair<std::string, std::string> early_end_of_data(std::string_view anomaly) {
  return {"mail data ends only at <CRLF>.<CRLF> (4.1.1.4)", "end of data at " + std::string(anomaly)};
}

std::string_view telling_anomaly(const std::vector<ref::data_anomaly_record>& found) {
  for (const auto& a : found)
    if (a.kind != ref::data_anomaly::bare_lf && a.kind != ref::data_anomaly::bare_cr &&
        a.kind != ref::data_anomaly::overlong_line)
      return ref::to_string(a.kind);
  return found.empty() ? std::string_view() : ref::to_string(found.front().kind);
}

/// Adds the wall time from its construction to stop() (or its end) to one of the
/// exchange's wait counters.
class exchange::timer {
 public:
  timer(exchange& x, exchange_wait what) : slot_(x.spent_[static_cast<std::size_t>(what)]), started_(clock_type::now()) {}
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

exchange::exchange(connection& conn, exchange_settings s, exchange_user& user, clock_type::time_point deadline)
    : conn_(conn), s_(std::move(s)), user_(user), deadline_(deadline) {}

milliseconds exchange::remaining(milliseconds cap) const {
  auto left = std::chrono::duration_cast<milliseconds>(deadline_ - clock_type::now());
  return std::clamp(left, milliseconds(1), std::max(cap, milliseconds(1)));
}

milliseconds exchange::short_wait(double factor, milliseconds at_least) const {
  const auto ms = milliseconds(static_cast<long long>(factor * *s_.latency_ms));
  return std::min(s_.reply_timeout, std::clamp(ms, at_least, k_short_wait_max));
}

void exchange::add(finding_kind k, ref::level l, results::rfc_ref cite, std::string text, std::string expected,
                   std::string observed, std::string rule, std::string observation, bool security) {
  user_.finding({k, l, std::move(cite), std::move(text), std::move(expected), std::move(observed), tag_,
                 std::move(rule), std::move(observation), security});
}

void exchange::set_tag(int tag) noexcept {
  if (tag != tag_) answered_in_tag_ = 0;
  tag_ = tag;
}

void exchange::stop_judging(std::string reason) {
  unjudged_ = true;
  stop_ = true;
  note(reason.empty() ? std::string("the rest of the session is not judged")
                      : "the rest of the session is not judged: " + reason);
  if (unjudged_reason_.empty()) unjudged_reason_ = std::move(reason);
}

// --- connecting ----------------------------------------------------------------------------

io_result exchange::connect() {
  fd_ = -1;
  if (auto n = connect_numeric(conn_, s_.target, remaining(s_.connect_timeout))) {
    fd_ = n->fd;
    return std::move(n->result);
  }
  return conn_.connect(s_.target, remaining(s_.connect_timeout));
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
/// not the exchange's own (a host name), a 2 ms pause.
void exchange::absorb_tickets() {
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

io_result exchange::handshake() {
  timer t(*this, exchange_wait::tls);
  const std::string host = s_.tls_options.sni.empty() ? s_.target.host : s_.tls_options.sni;
  auto h = conn_.start_tls(s_.tls_options, host, remaining(s_.reply_timeout));
  if (!h) {
    note("TLS handshake failed: " + h.detail);
    certificate_untrusted_ = certificate_untrusted_ || h.status == io_status::tls_untrusted;
    return h;
  }
  tls_started_ = true;
  user_.tls_started(conn_.tls_description());
  absorb_tickets();
  return h;
}

exchange::greeting_status exchange::connect_and_greet() {
  timer t(*this, exchange_wait::connect);
  connect_ = connect();
  t.stop();
  if (!connect_) {
    note("cannot connect: " + connect_.detail);
    return greeting_status::cannot_connect;
  }
  if (s_.tls == results::tls_mode::implicit) {
    auto h = handshake();
    if (!h) {
      connect_ = h;
      tls_problem_ = h.detail;
      return greeting_status::tls_failed;
    }
    stream_.on_tls_established();  // RFC 8314: TLS before the greeting
  }
  ref::reply_item item;
  const got g = read_item(item, remaining(s_.reply_timeout));
  if (g == got::closed) {
    on_close("before the greeting");
    return greeting_status::none;
  }
  if (g == got::timeout) {
    stop_ = true;
    if (out_of_time()) {
      user_.out_of_time("the greeting");
      return greeting_status::none;
    }
    add(finding_kind::hang, ref::level::must, {5321, "3.1"},
        "no greeting within " + std::to_string(s_.reply_timeout.count()) + " ms", "220", "nothing",
        "the server greets the client when the connection opens (3.1)", "no greeting");
    return greeting_status::none;
  }
  const bool readable = item_findings(item);
  if (stop_) return greeting_status::none;
  ++replies_;
  greeting_ = std::move(item.reply);
  const auto j = stream_.on_greeting(greeting_, s_.reply_content && readable);
  if (readable) grade(j, greeting_, "greeting", "greeting");
  reply_event ev;
  ev.reply = &greeting_;
  ev.greeting = true;
  ev.readable = readable;
  ev.malformed = item.what != ref::reply_item::kind::reply;
  ev.graded = readable;
  user_.on_reply(ev);
  return readable && greeting_.code == 220 ? greeting_status::ok : greeting_status::refused;
}

exchange::starttls_status exchange::setup_starttls(bool judge_handshake) {
  note("setup: EHLO and STARTTLS (RFC 3207)");
  set_tag(setup_tag);
  if (!write("EHLO " + s_.client_domain + "\r\n") || !await_owed()) return starttls_status::failed;
  if (!stream_.model().state().offers("STARTTLS")) return starttls_status::not_offered;
  if (!write("STARTTLS\r\n") || !await_owed()) return starttls_status::failed;
  if (where() != ref::phase::tls_handshake) return starttls_status::refused;
  return follow(false, judge_handshake) ? starttls_status::done : starttls_status::failed;
}

// --- reading -------------------------------------------------------------------------------

exchange::got exchange::read_item(ref::reply_item& out, milliseconds timeout) {
  const auto until = clock_type::now() + timeout;
  bool tried = false;
  while (true) {
    if (!inbox_.empty()) {
      inbox_.erase(0, reader_.put(inbox_));
      if (reader_.ready()) {
        out = reader_.take();
        return got::item;
      }
    }
    if (closed_) {
      if (!eof_read_) {
        // A reply cut short by the close is a malformed (truncated) reply.
        eof_read_ = true;
        if (reader_.put_eof()) {
          out = reader_.take();
          return got::item;
        }
      }
      return got::closed;
    }
    const auto now = clock_type::now();
    if (tried && (now >= until || now >= deadline_)) return got::timeout;
    tried = true;
    // At least one read, even with no time left: what already arrived is read.
    auto wait = std::chrono::duration_cast<milliseconds>(std::min(until, deadline_) - now);
    wait = std::max(wait, milliseconds(0));
    const std::size_t before = inbox_.size();
    auto r = conn_.read_some(inbox_, k_read_size, wait);
    if (inbox_.size() > before) user_.received(std::string_view(inbox_).substr(before));
    if (r.status == io_status::timeout) continue;
    if (!r) {
      closed_ = true;
      if (r.status != io_status::closed) note("read failed: " + std::string(to_string(r.status)) + " " + r.detail);
    }
  }
}

bool exchange::buffered_item(ref::reply_item& out) {
  if (inbox_.empty()) return false;
  inbox_.erase(0, reader_.put(inbox_));
  if (!reader_.ready()) return false;
  out = reader_.take();
  return true;
}

/// The findings an item carries by itself: its line notes, a malformed reply, a
/// line too long to read. Returns whether the reply's code was read (then it is
/// judged with that code; otherwise it fills its slot unjudged).
bool exchange::item_findings(const ref::reply_item& item) {
  for (const auto& n : item.notes) {
    if (n.what == ref::line_note::kind::bare_lf)
      add(finding_kind::syntax, ref::level::must, {5321, "4.2"},
          "a reply line ended with LF alone; replies end lines with CRLF (RFC 5321 4.2)", "CRLF",
          first_line(item.reply), "reply lines end with CRLF (4.2)", "reply line ended by a bare LF");
    else
      add(finding_kind::should, ref::level::should, {5321, "4.5.3.1.5"},
          "a reply line of " + std::to_string(n.length) + " octets exceeds the 512-octet limit of RFC 5321 4.5.3.1.5",
          "at most 512 octets", std::to_string(n.length) + " octets", "reply lines are at most 512 octets (4.5.3.1.5)",
          "reply line over 512 octets");
  }
  switch (item.what) {
    case ref::reply_item::kind::reply: return true;
    case ref::reply_item::kind::malformed:
      add(finding_kind::syntax, ref::level::must, {5321, "4.2"},
          "malformed reply: " + std::string(ref::describe(item.error.code)), "Reply-line syntax", shown(item.line),
          "reply syntax (4.2)", std::string(ref::describe(item.error.code)));
      return item.has_code;
    case ref::reply_item::kind::frame_too_long:
      add(finding_kind::syntax, ref::level::must, {5321, "4.5.3.1.5"},
          "the server sent a reply line too long to read; a reply line is at most 512 octets (RFC 5321 4.5.3.1.5)",
          "at most 512 octets", shown(item.line), "reply lines are at most 512 octets (4.5.3.1.5)",
          "reply line too long to read");
      // The framing of the rest cannot be trusted: nothing more is judged.
      stop_judging({});
      return false;
  }
  return false;
}

void exchange::process(ref::reply_item item) {
  const bool readable = item_findings(item);
  if (item.what == ref::reply_item::kind::frame_too_long) return;
  judge(item.reply, readable, item.what != ref::reply_item::kind::reply);
}

/// A reply only one command can get (354 to DATA, 221 to QUIT, 220 to STARTTLS)
/// arriving for an earlier pipelined command while that one is still waiting: the
/// replies in between were lost (RFC 5321 4.2, RFC 2920 3.2). Returns the slot it
/// belongs to, if so.
const ref::reply_slot* exchange::owner_further_on(const ref::reply& r) const {
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

void exchange::judge(const ref::reply& r, bool readable, bool malformed) {
  ++replies_;
  const auto before = where();
  // Inside mail data by the strict framing: no slot is open for this reply yet.
  const bool in_data = stream_.open_slots() == 0 && stream_.in_mail_data();
  std::string lost;
  if (!unjudged_ && readable)
    if (const auto* owner = owner_further_on(r))
      lost = "a reply was lost: " + first_line(r) + " answers " + shown(owner->describe()) +
             " but arrived where the reply to " + shown(stream_.slots().front().describe()) +
             " was due (RFC 5321 4.2: every command MUST generate exactly one reply; RFC 2920 3.2)";
  const auto judged = stream_.on_reply(r, s_.reply_content && readable && !unjudged_);
  reply_event ev;
  ev.reply = &r;
  ev.before = before;
  ev.judged = judged ? &*judged : nullptr;
  ev.readable = readable;
  ev.malformed = malformed;
  if (r.code == 221 || r.code == 421) closing_reply_ = true;
  // The sync probe's own reply, whatever else is going on. A NOOP probe's reply
  // cannot be told from a stray one: the first reply in its slot is taken for it.
  if (judged && judged->slot.tag == probe_tag && (unjudged_ || !readable || r.klass() == 5 || s_.sync_with_noop))
    probe_answered_ = true;
  if (!lost.empty()) {
    add(finding_kind::desync, ref::level::must, {5321, "4.2"}, lost, "one reply per command", first_line(r),
        k_one_reply, "reply lost");
    user_.on_reply(ev);
    // The framing is off by the lost replies from here on.
    stop_judging({});
    return;
  }
  if (unjudged_) {
    // Observed, not judged (see where unjudged_ is set).
    user_.on_reply(ev);
    return;
  }
  if (!judged) {
    // A refusal all the same, as the server saw it: a server that closes after a run
    // of them defends itself (7.8) whether or not they answered commands sent.
    if (readable && r.klass() == 5) {
      ++refusals_;
      last_code_ = r.code;
    }
    answered_nothing(r, ev, in_data, readable);
    return;
  }
  const auto& j = *judged;
  if (j.slot.tag == tag_) ++answered_in_tag_;
  if (readable) {
    last_code_ = r.code;
    if (r.klass() == 5) ++refusals_;
    // A refused command line over the 512-octet limit (4.5.3.1.4): a server may
    // hang up after it to defend itself (7.8), as after suspicious mail data.
    if (r.klass() == 5 && j.slot.what == ref::reply_slot::kind::invalid_line &&
        j.slot.error.code == ref::error::line_too_long)
      refused_overlong_line_ = true;
  }
  if (j.slot.what == ref::reply_slot::kind::end_of_data) last_anomalies_ = j.slot.anomalies;
  if (j.slot.tag == probe_tag) {
    // The unknown verb's reply is 5yz (4.2.4: 500), or 421 when the server is
    // going away (4.2.2, 3.8). Anything else in its slot answers octets sent
    // earlier that a strict server did not read as commands.
    if (!probe_answered_ && r.code != 421) {
      ++unexpected_;
      probe_displaced_ = true;
      auto why = explain_unexpected(true);
      add(finding_kind::desync, ref::level::must, std::move(why.cite),
          "a reply arrived that answers no command sent (" + first_line(r) +
              " where the sync probe's 5yz was due): the server executed octets that a strict server reads as "
              "something else" + why.text,
          "5yz", first_line(r), std::move(why.rule), std::move(why.observation), true);
    } else {
      probe_answered_ = true;
    }
    user_.on_reply(ev);
    if (r.code == 421) after_closing_reply(r);
    return;
  }
  if (!readable) {  // reported as malformed already; its code means nothing
    user_.on_reply(ev);
    return;
  }
  if (j.slot.what == ref::reply_slot::kind::command && j.slot.v == ref::verb::bdat && r.klass() >= 4 &&
      !stream_.model().state().offers("CHUNKING")) {
    // RFC 3030 2: BDAT is for servers that offer CHUNKING. One that does not cannot
    // know a chunk follows and rightly reads it as commands: the framing is the
    // client's mistake, so the rest of the session cannot be judged.
    if (auto c = ref::parse_command(j.slot.line); c && c->chunk_size > 0) {
      user_.on_reply(ev);
      stop_judging("the target does not offer CHUNKING, so it reads the chunk as commands");
      return;
    }
  }
  if (unpermitted_pipelining_.count(j.slot.tag) && r.klass() == 5) {
    // The client pipelined without PIPELINING (RFC 2920 3.1, RFC 5321 4.3.1):
    // refusing those commands is fair.
    note(shown(j.slot.describe()) + " refused (" + first_line(r) +
         "): it was sent pipelined although the server does not offer PIPELINING (RFC 2920 3.1)");
    user_.on_reply(ev);
    return;
  }
  if (unexpected_ > 0 && !j.grade.conforming()) {
    // After a reply that answered nothing sent, the replies that follow are matched
    // to commands one slot off (Exim answers each piece of a 100 kB line): the
    // desynchronisation is the finding, and a grade made through the shifted
    // framing would blame the wrong command.
    note(shown(j.slot.describe()) + " got " + first_line(r) +
         ", not judged: the replies are out of step since one answered nothing sent");
    user_.on_reply(ev);
    if (r.code == 221 || r.code == 421) after_closing_reply(r);
    return;
  }
  grade(j, r, shown(j.slot.describe()), answered(j.slot));
  ev.graded = true;
  user_.on_reply(ev);
  // 4.1.1.10 / 3.8: after 221 the server closes; after 421 it closes too.
  if (r.code == 221 || r.code == 421) after_closing_reply(r);
}

void exchange::grade(const ref::judged_reply& j, const ref::reply& r, std::string_view what,
                     std::string_view answers) {
  if (!j.grade.conforming())
    add(kind_of_grade(j.grade.strength), j.grade.strength, to_ref(j.grade.cite),
        std::string(what) + ": " + j.grade.explanation, j.expected.describe(), first_line(r), j.grade.rule,
        std::to_string(r.code) + (answers == "greeting" ? " as greeting" : " to " + std::string(answers)));
  for (const auto& f : j.content)
    add(kind_of_content(f.strength), f.strength, to_ref(f.cite), f.text, {}, first_line(r), f.text,
        answers == "greeting" ? std::string("greeting") : std::string(answers) + " reply");
}

/// Why a reply that answers nothing sent may have come: the text added to the
/// finding, and the observation that names the defect.
exchange::unexpected_why exchange::explain_unexpected(bool in_probe_slot) const {
  if (!last_anomalies_.empty()) {
    // The replies are the smuggled commands': the defect is the early end of data.
    const std::string a(telling_anomaly(last_anomalies_));
    auto [rule, observation] = early_end_of_data(a);
    return {" (the mail data held " + a + ", which RFC 5321 4.1.1.4 does not allow to end the data)",
            {5321, "4.1.1.4"}, std::move(rule), std::move(observation)};
  }
  if (stream_.injected_octets() > 0)
    return {" (plaintext queued behind STARTTLS was executed: RFC 3207 4, CVE-2011-0411)", {3207, "4"},
            "plaintext after 220 to STARTTLS is not a command (RFC 3207 4)", "reply to plaintext queued behind STARTTLS"};
  return {"", {5321, "4.2"}, k_one_reply, in_probe_slot ? "reply where the sync probe's was due" : "unexpected reply"};
}

void exchange::answered_nothing(const ref::reply& r, reply_event ev, bool in_data, bool readable) {
  if (probe_displaced_ && (!readable || r.klass() == 5)) {
    // The sync probe's own reply, after a stray reply took its slot.
    probe_displaced_ = false;
    probe_answered_ = true;
    user_.on_reply(ev);
    return;
  }
  ++unexpected_;
  user_.on_reply(ev);
  const milliseconds close_wait = std::min(s_.reply_timeout, s_.close_wait);
  if (in_data) {
    // The strict framing is still inside mail data: no reply is due before the real
    // <CRLF>.<CRLF>. A refusal followed by the close is the server giving up on the
    // transaction (a defence, RFC 5321 7.8): it read nothing after it.
    if ((r.klass() == 4 || r.klass() == 5) && (closed_ || wait_for_close(close_wait))) {
      refused_mail_data_ = true;
      note("the server refused the mail data before its end (" + first_line(r) + ") and closed the connection");
      return;
    }
    const auto& found = stream_.data_anomalies();
    if (!found.empty()) {
      // Any reply before the real end of data proves the server ended the data
      // early (4.1.1.4): what follows would be read as commands (SMTP smuggling).
      const std::string a(telling_anomaly(found));
      auto [rule, observation] = early_end_of_data(a);
      add(finding_kind::desync, ref::level::must, {5321, "4.1.1.4"},
          "a reply arrived before the end of data was sent (" + first_line(r) + "): the server ended the mail data at " +
              a + ", which RFC 5321 4.1.1.4 does not allow to end it",
          "no reply before <CRLF>.<CRLF>", first_line(r), std::move(rule), std::move(observation), true);
      // The server's framing and the strict one part here: what follows is consequence.
      stop_judging({});
      return;
    }
    // Nothing in this data so far could have ended it: the reply answers octets
    // sent before (a smuggled transaction's own replies), explained below.
  }
  if (r.code == 421 && (closed_ || wait_for_close(close_wait))) {
    // 3.8: a server may announce that it closes with 421; one that does so when no
    // reply is due has not read octets differently.
    note("421 (" + first_line(r) + ") answered no command but announced the close (RFC 5321 3.8)");
    return;
  }
  auto why = explain_unexpected(false);
  add(finding_kind::desync, ref::level::must, std::move(why.cite),
      "a reply arrived that answers no command sent: the server executed octets that a strict server reads as "
      "something else" + why.text,
      "no reply", first_line(r), std::move(why.rule), std::move(why.observation), true);
}

void exchange::after_closing_reply(const ref::reply& r) {
  if (closed_) {
    stop_ = true;
    return;
  }
  if (conn_.tls_active() && !s_.judge_close_in_tls) {
    ref::reply_item late;
    while (buffered_item(late)) process(std::move(late));
    note(std::to_string(r.code) + " inside TLS: the client closes");
    close();
    return;
  }
  timer t(*this, exchange_wait::close_wait);
  const bool gone = wait_for_close(std::min(s_.reply_timeout, s_.close_wait));
  t.stop();
  if (!gone) {
    const bool quit = r.code == 221;
    add(quit ? finding_kind::illegal : finding_kind::should, quit ? ref::level::must : ref::level::should,
        {5321, quit ? "4.1.1.10" : "3.8"}, "the server did not close the connection after " + std::to_string(r.code),
        "close", "connection still open",
        quit ? "the server closes the connection after 221 (4.1.1.10)" : "the server closes the connection after 421 (3.8)",
        "open after " + std::to_string(r.code));
  }
  stop_ = true;
}

bool exchange::await_owed() {
  // After octets that end inside a line, a server may hold the replies to the
  // complete lines before it until that line is complete (RFC 2920 3.2: it flushes
  // when its input is drained). A bare LF does not end a line for the strict
  // framing, so only CRLF counts. A wait that runs out then judges nothing: replies
  // that come later fill their slots then.
  const bool partial_line = !last_octets_.empty() && !last_octets_.ends_with("\r\n");
  // After pipelining RFC 2920 3.1 forbids, the server may wait for octets it need
  // not expect: a wait that runs out stops the judging (see below).
  const bool broke_pipelining = unwaited_.count(tag_) || unpermitted_pipelining_.count(tag_);
  const bool adaptive = s_.latency_ms != nullptr;
  const milliseconds wait = adaptive && broke_pipelining ? short_wait(k_broken_pipelining_factor, k_broken_pipelining_min)
                            : adaptive && partial_line   ? short_wait(k_partial_line_factor, k_partial_line_min)
                                                         : s_.reply_timeout;
  const auto started = clock_type::now();
  bool first = true;
  while (!closed_ && !stop_ && owed() > 0) {
    ref::reply_item item;
    const auto asked = clock_type::now();
    const got g = read_item(item, remaining(wait));
    if (g == got::item) {
      if (first && adaptive) {
        const double took = std::chrono::duration<double, std::milli>(clock_type::now() - started).count();
        *s_.latency_ms = *s_.latency_ms <= 0 ? took : 0.9 * *s_.latency_ms + 0.1 * took;
      }
      first = false;
      process(std::move(item));
      continue;
    }
    if (g == got::closed) {
      on_close({});
      return false;
    }
    if (adaptive && (partial_line || broke_pipelining))
      spent_[static_cast<std::size_t>(exchange_wait::short_wait)] +=
          std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - asked);
    const auto& front = stream_.slots().front();
    const std::string what = shown(front.describe());
    // (Only with adaptive waits: RFC 2920 3.2 has the server send its replies once
    // its input is drained, so after a full wait the runner judges the silence.)
    if (adaptive && partial_line && !broke_pipelining && !out_of_time()) {
      note("no reply yet to " + what + ": the last octets end inside a line, which the server may be waiting for");
      return true;
    }
    if (broke_pipelining || unwaited_.count(front.tag) || unpermitted_pipelining_.count(front.tag)) {
      // The client broke RFC 2920 3.1 (octets after DATA/STARTTLS/AUTH/QUIT in the
      // same write, or pipelining that was not offered): the server may be waiting
      // for what the client sent in a way it need not expect.
      stop_judging("no reply to " + what + " within " + std::to_string(wait.count()) +
                   " ms after the client pipelined where RFC 2920 3.1 does not allow it");
      return false;
    }
    stop_ = true;
    if (out_of_time()) {
      user_.out_of_time(what);
      return false;
    }
    note("deadline passed waiting for a reply to " + what);
    if (answered_in_tag_ > 0 && front.tag == tag_)
      // Earlier commands of the same write were answered, this one never is: the
      // server discarded the rest of its input (RFC 2920 3.2 MUST NOT).
      add(finding_kind::hang, ref::level::must, {2920, "3.2"},
          "no reply to " + what + " within " + std::to_string(s_.reply_timeout.count()) +
              " ms, although the commands before it in the same write were answered: the server discarded "
              "pipelined input (RFC 2920 3.2; RFC 5321 4.2: every command MUST generate exactly one reply)",
          "a reply", "nothing", k_one_reply, "pipelined input discarded");
    else
      add(finding_kind::hang, ref::level::must, {5321, "4.2"},
          "no reply to " + what + " within " + std::to_string(s_.reply_timeout.count()) +
              " ms (RFC 5321 4.2: every command MUST generate exactly one reply)",
          "a reply", "nothing", k_one_reply, "no reply to " + answered(front));
    return false;
  }
  // Complete replies already received beyond those owed answer nothing sent: judge
  // them now, against the write that caused them, rather than against the next one.
  ref::reply_item item;
  while (!closed_ && !stop_ && buffered_item(item)) process(std::move(item));
  return !closed_ && !stop_;
}

void exchange::drain(milliseconds quiet) {
  while (!closed_) {
    ref::reply_item item;
    const got g = read_item(item, remaining(quiet));
    if (g == got::item) {
      process(std::move(item));
      continue;
    }
    if (g == got::closed) on_close({});
    return;
  }
}

bool exchange::wait_for_close(milliseconds timeout) {
  const bool saved = expecting_close_;
  expecting_close_ = true;
  const auto until = clock_type::now() + timeout;
  while (!closed_) {
    const auto now = clock_type::now();
    if (now >= until) break;
    ref::reply_item item;
    const got g = read_item(item, std::chrono::duration_cast<milliseconds>(until - now));
    if (g == got::item) {
      process(std::move(item));
    } else {
      if (g == got::closed) on_close({});
      break;
    }
  }
  expecting_close_ = saved;
  return closed_;
}

// --- writing -------------------------------------------------------------------------------

void exchange::feed(std::string_view bytes, std::size_t& slots_made) {
  // Line by line (the framing does not depend on the split), to see whether octets
  // followed a command whose reply decides how they are read (DATA, STARTTLS, AUTH,
  // QUIT) without waiting for it, which RFC 2920 3.1 forbids.
  while (!bytes.empty()) {
    if (stream_.waiting_for_reply() && tag_ >= 0) unwaited_.insert(tag_);
    const auto nl = bytes.find('\n');
    const auto line = bytes.substr(0, nl == std::string_view::npos ? bytes.size() : nl + 1);
    const auto before = stream_.open_slots();
    stream_.sent(line, tag_);
    if (stream_.open_slots() > before) slots_made += stream_.open_slots() - before;
    bytes.remove_prefix(line.size());
  }
}

bool exchange::write(std::string_view bytes) {
  if (closed_) {
    note("not sent: the connection is closed");
    return false;
  }
  if (bytes.empty()) return true;
  // A line begun by an earlier write that broke RFC 2920 3.1 and completed by this
  // one keeps that mark (a partial line glued behind STARTTLS, then a command).
  if (unread_marked_ && tag_ >= 0) unwaited_.insert(tag_);
  // More than one command in one write while PIPELINING is not offered: the client
  // breaks RFC 2920 3.1 (RFC 5321 4.3.1), and a server may refuse or close.
  const auto at_start = where();
  const bool count_slots = tag_ >= 0 && at_start != ref::phase::data && at_start != ref::phase::bdat &&
                           !stream_.model().state().offers("PIPELINING");
  std::size_t slots_made = 0;
  last_write_tag_ = tag_;
  user_.sent(bytes);
  last_octets_ += bytes.substr(bytes.size() - std::min<std::size_t>(bytes.size(), 2));
  if (last_octets_.size() > 2) last_octets_.erase(0, last_octets_.size() - 2);
  // Replies read while a write is still going on (so that the server cannot block on
  // a full socket) are judged once the whole write is fed: a reply to a line counts
  // after the line, and no verdict depends on where TCP split the write or on when
  // the server's reply arrived within it (a 100 kB command line).
  std::vector<ref::reply_item> held;
  auto release_held = [&] {
    for (auto& item : held)
      if (!close_judged_) process(std::move(item));
    held.clear();
  };
  for (std::size_t at = 0; at < bytes.size();) {
    const auto piece = bytes.substr(at, k_write_piece);
    const auto r = conn_.write(piece, remaining(s_.reply_timeout));
    if (!r && r.status == io_status::timeout) {
      release_held();
      if (unwaited_.count(tag_) || unpermitted_pipelining_.count(tag_)) {
        stop_judging("a write did not complete after the client pipelined where RFC 2920 3.1 does not allow it");
        return false;
      }
      add(finding_kind::hang, ref::level::must, {5321, "4.5.3.2"},
          "the server stopped reading: a write of " + std::to_string(piece.size()) +
              " octets did not complete within " + std::to_string(s_.reply_timeout.count()) + " ms",
          "the octets read", "write blocked", "the server reads what the client sends (4.5.3.2)", "write blocked");
      stop_ = true;
      return false;
    }
    // A write that found the connection gone is fed like one that went out: the
    // replies owed, and so the verdict on the close, are the same whichever side of
    // the socket notices it first (a read after a successful write would).
    feed(piece, slots_made);
    at += piece.size();
    if (count_slots && slots_made > 1) unpermitted_pipelining_.insert(tag_);
    if (!r) {
      note("write failed: " + std::string(to_string(r.status)) + " " + r.detail);
      after_write_failure(bytes.substr(at), held);
      return false;
    }
    if (at < bytes.size()) {
      // Collect what the server already answered, without waiting for more (a
      // bounded number: a server that floods meanwhile is read after the write).
      ref::reply_item item;
      got g = got::timeout;
      while (held.size() < k_held_replies_max && (g = read_item(item, milliseconds(0))) == got::item)
        held.push_back(std::move(item));
      if (g == got::closed && !close_judged_) {
        after_write_failure(bytes.substr(at), held);
        return false;
      }
      if (closed_ || stop_) {
        release_held();
        return false;
      }
    }
  }
  const bool any_held = !held.empty();
  release_held();
  if (any_held && (closed_ || stop_)) return false;
  unread_marked_ = stream_.unread_octets() > 0 &&
                   (unread_marked_ || unwaited_.count(tag_) || unpermitted_pipelining_.count(tag_));
  return true;
}

void exchange::after_write_failure(std::string_view rest, std::vector<ref::reply_item>& held) {
  std::size_t slots_made = 0;
  feed(rest, slots_made);
  for (auto& item : held)
    if (!close_judged_) process(std::move(item));
  held.clear();
  // What the server sent before it closed is read first, then the close is judged
  // as if a read had found it (RFC 5321 3.8).
  const auto until = clock_type::now() + std::min(s_.reply_timeout, k_after_write_failure);
  while (!closed_) {
    const auto now = clock_type::now();
    ref::reply_item item;
    const got g = now < until ? read_item(item, std::chrono::duration_cast<milliseconds>(until - now)) : got::timeout;
    if (g == got::item) {
      process(std::move(item));
      continue;
    }
    closed_ = true;
  }
  on_close({});
}

// --- closing -------------------------------------------------------------------------------

void exchange::on_close(std::string_view context) {
  if (close_judged_) return;
  close_judged_ = true;
  const bool was_stopped = stop_;
  closed_ = true;
  stop_ = true;
  if (!eof_read_) {
    eof_read_ = true;
    if (reader_.put_eof()) process(reader_.take());
  }
  const auto where_then = where();
  const std::size_t owes = owed();
  std::optional<ref::reply_slot> front;
  if (stream_.open_slots() > 0) front = stream_.slots().front();
  const bool allowed = user_.close_allowed(front ? &*front : nullptr);
  stream_.on_close();
  if (expecting_close_) return;
  // After 221/421 (also one that answered nothing sent: the desynchronisation is
  // the finding, the close that follows is its consequence) the close was announced.
  if (where_then == ref::phase::closed || closing_reply_) {
    if (front) note("the server closed after " + std::to_string(last_code_) + "; " + shown(front->describe()) +
                    " was not answered");
    return;
  }
  std::string what = front ? (owes > 1 ? "with " + std::to_string(owes) + " replies owed, the first to "
                                       : std::string("while the reply to ")) +
                                 shown(front->describe()) + (owes > 1 ? "" : " was owed")
                           : std::string("with no reply owed");
  if (!context.empty()) what = std::string(context) + " (" + what + ")";
  const std::string observation =
      front ? "close while " + (front->tag == probe_tag ? std::string("the sync probe") : answered(*front)) + " was owed"
            : context.empty() ? std::string("close while nothing was owed") : "close " + std::string(context);
  // Whatever allows the close below, a target that then refuses new connections has
  // died (the crash a fuzzer reproducer replays). Checked also when the close itself
  // is excused, or the crash would surface one session late.
  if (s_.liveness_check) {
    timer t(*this, exchange_wait::connect);
    results::transcript scratch{4096};
    connection again{scratch};
    io_result r;
    if (auto n = connect_numeric(again, s_.target, remaining(s_.connect_timeout))) r = std::move(n->result);
    else r = again.connect(s_.target, remaining(s_.connect_timeout));
    again.close();
    if (r.status == io_status::refused) {
      note("a new connection to " + s_.target.to_string() + " was refused: " + r.detail);
      add(finding_kind::crash, ref::level::must, {5321, "3.8"},
          "the server closed the connection " + what + " and then refused new connections: the target crashed or "
          "stopped (" + (r.detail.empty() ? std::string("connection refused") : r.detail) + ")",
          "a reply", "connection closed", "the server stays up (3.8)", "target stopped");
      return;
    }
  }
  // After the client's FIN, or where nothing more was judged.
  if (half_closed_ || unjudged_ || was_stopped) {
    note("the server closed the connection " + what);
    return;
  }
  if (allowed) {
    note("the server closed the connection " + what + ", which is allowed here");
    return;
  }
  const int front_tag = front ? front->tag : last_write_tag_;
  // Refusing mail data that held bare CR/LF or an end-of-data look-alike and then
  // hanging up is the smuggling defence several servers use.
  const bool refused_suspicious_data =
      refused_mail_data_ || ((last_code_ / 100 == 4 || last_code_ / 100 == 5) && !last_anomalies_.empty());
  // (Nothing owed: the octets not yet framed may still be the client's breach.)
  const bool broke_pipelining = unpermitted_pipelining_.count(front_tag) || unwaited_.count(front_tag) ||
                                (!front && unread_marked_);
  // Once replies answered nothing sent, the server is reading octets as commands
  // that smtpspec sent as something else: the desynchronisation is the finding, and
  // a close after it (often after the server's own "synchronization error") is its
  // consequence, as after 421 above.
  const bool desynchronised = unexpected_ > 0;
  if (broke_pipelining || refusals_ >= 2 || last_code_ == 521 || refused_suspicious_data || desynchronised ||
      refused_overlong_line_) {
    // 7.8: a server may defend itself and close after refusing (two or more 5yz
    // here), after refusing suspicious mail data, or when the client pipelined where
    // RFC 2920 3.1 does not allow it; 521 (RFC 7504 3) announces a server that
    // does not accept mail and closes.
    const std::string after = last_code_ == 521          ? "after 521 (RFC 7504)"
                              : desynchronised           ? "after replies that answered nothing sent"
                              : refused_overlong_line_   ? "after refusing a command line over 512 octets"
                              : refused_suspicious_data  ? "after refusing mail data that held bare line ends"
                              : refusals_ >= 2           ? "after refusing earlier commands"
                                                         : "after the client pipelined where RFC 2920 3.1 does not allow it";
    add(finding_kind::note, ref::level::may, {5321, "7.8"},
        "the server closed the connection " + what + ", " + after + " (RFC 5321 7.8 lets a server defend itself this way)",
        "a reply", "connection closed", "a server may close to defend itself (7.8)", "close " + after);
    return;
  }
  add(finding_kind::drop, ref::level::must, {5321, "3.8"},
      "the server closed the connection " + what +
          " without 221 or 421 (RFC 5321 3.8: it MUST NOT close except after QUIT, 421 or a timeout)",
      "a reply", "connection closed",
      "the server closes only after QUIT, or announces it with 421 (3.8)", observation);
}

bool exchange::follow_into_tls(bool probe) { return follow(probe, true); }

bool exchange::follow(bool probe, bool judged) {
  if (closed_ || stop_ || where() != ref::phase::tls_handshake) return !closed_ && !stop_;
  if (conn_.tls_active()) {
    // A second 220 to STARTTLS inside TLS (the model has reported it): a second
    // handshake inside TLS is not what the client asked for, and what the server
    // makes of the octets that follow cannot be judged.
    stop_judging("the server answered 220 to STARTTLS inside TLS, so TLS is not started twice");
    return false;
  }
  if (!inbox_.empty()) {
    // The server's own plaintext behind its 220: not a reply to anything inside TLS
    // (RFC 3207 4.2 has the session start afresh).
    note(std::to_string(inbox_.size()) + " octets the server sent after its 220 to STARTTLS are not read");
    reader_.reset(inbox_.size());
    inbox_.clear();
  }
  const bool injected = stream_.injected_octets() > 0;
  const auto h = handshake();
  if (!h) {
    tls_problem_ = h.detail;
    if (injected) {
      // Plaintext went after STARTTLS: a server that leaves it in the socket reads it
      // as the start of the handshake, which then fails. That is a defence against
      // injection (RFC 3207 4), not a fault of the server.
      stop_judging("the TLS handshake failed after plaintext was queued behind STARTTLS (the server read it as TLS)");
      return false;
    }
    stop_ = true;
    // Trust in the certificate is the client's configuration (--insecure,
    // --ca-file), not something RFC 3207 asks of the server.
    if (!judged || h.status == io_status::tls_untrusted) return false;
    if (h.status == io_status::timeout)
      add(finding_kind::hang, ref::level::must, {3207, "4"},
          "the server answered 220 to STARTTLS but did not complete the TLS handshake: " + h.detail, "TLS handshake",
          h.detail, "after 220 to STARTTLS the server negotiates TLS (RFC 3207 4)", "no TLS handshake after 220");
    else
      // RFC 3207 asks nothing of a handshake that fails (4.1 has the client QUIT);
      // mostly a TLS configuration or library fault (OpenSMTPD 6.8 on OpenSSL 3 sends
      // "internal error"): a remark, and the case cannot check anything inside TLS.
      add(finding_kind::note, ref::level::may, {3207, "4"},
          "the server answered 220 to STARTTLS but the TLS handshake failed: " + h.detail, "TLS handshake", h.detail,
          "after 220 to STARTTLS the server negotiates TLS (RFC 3207 4)", "TLS handshake failed after 220");
    return false;
  }
  stream_.on_tls_established();
  // Whatever followed STARTTLS in plaintext is gone with the handshake (the server
  // must discard it, RFC 3207 4): inside TLS the framing starts afresh.
  unwaited_.erase(tag_);
  unpermitted_pipelining_.erase(tag_);
  last_octets_.clear();
  unread_marked_ = false;
  if (stream_.injected_octets() > 0 || probe) {
    if (stream_.injected_octets() > 0) note("plaintext was queued behind STARTTLS: NOOP and a sync probe inside TLS");
    sync_probe(true);
  }
  return !closed_ && !stop_;
}

void exchange::sync_probe(bool after_tls) {
  const auto w = where();
  const bool usable = !closed_ && w != ref::phase::data && w != ref::phase::auth && w != ref::phase::tls_handshake &&
                      w != ref::phase::closed && w != ref::phase::connecting && stream_.open_slots() == 0 &&
                      !stream_.waiting_for_reply();
  if (!usable) {
    drain(std::max(s_.settle, milliseconds(300)));
    return;
  }
  const int saved = tag_;
  if (after_tls) {
    // 4.1.4: NOOP is fine before EHLO. Plaintext injected before the handshake and
    // glued to it ("RSET" + "NOOP") shows in its reply.
    note("sync probe: NOOP inside TLS");
    set_tag(noop_tag);
    if (!write("NOOP\r\n") || !await_owed()) {
      set_tag(saved);
      return;
    }
  }
  set_tag(probe_tag);
  // With NOOP the replies are matched by count: a stray reply that came before the
  // NOOP's takes its slot, and the NOOP's own reply, which the server sends right
  // after it (RFC 2920 3.2), then answers nothing sent and is caught in the settle.
  note(s_.sync_with_noop
           ? "sync probe: NOOP, whose reply is the last the server owes (it accepts unknown verbs)"
           : "sync probe: an unknown verb, whose 5yz reply is the last the server owes");
  probe_answered_ = probe_displaced_ = false;
  if (write(s_.sync_with_noop ? std::string("NOOP\r\n") : std::string(sync_probe_verb) + s_.probe_suffix + "\r\n")) {
    const auto until = clock_type::now() + s_.reply_timeout;
    while (!probe_answered_ && !closed_) {
      const auto now = clock_type::now();
      if (now >= until) {
        // The probe is the exchange's instrument, not a command of the case: no
        // finding, but with its reply missing nothing later can be matched.
        note("no reply to the sync probe within " + std::to_string(s_.reply_timeout.count()) +
             " ms: the session cannot go on");
        stop_ = true;
        break;
      }
      ref::reply_item item;
      const got g = read_item(item, remaining(std::chrono::duration_cast<milliseconds>(until - now)));
      if (g == got::item) {
        process(std::move(item));
      } else if (g == got::closed) {
        // Judged like a close during any other command (RFC 5321 3.8).
        on_close({});
      } else if (out_of_time()) {
        break;
      }
    }
  }
  if (!closed_ && !stop_ && s_.settle.count() > 0) drain(s_.settle);
  set_tag(saved);
}

void exchange::half_close(milliseconds read_for) {
  half_closed_ = true;
  if (conn_.tls_active()) {
    // After our close_notify the TLS layer does not report the server's close (the
    // read waits out its deadline): inside TLS the client just closes.
    note("close inside TLS: the client closes the connection");
    close();
    return;
  }
  note("half-close: the client sends nothing more");
  conn_.shutdown_send();
  timer t(*this, exchange_wait::after_close);
  const auto until = clock_type::now() + read_for;
  while (!closed_) {
    const auto now = clock_type::now();
    if (now >= until) break;
    ref::reply_item item;
    const got g = read_item(item, remaining(std::chrono::duration_cast<milliseconds>(until - now)));
    if (g == got::item) {
      process(std::move(item));
    } else {
      if (g == got::closed) {
        t.stop();
        on_close("after the client's half-close");
      }
      break;
    }
  }
  stop_ = true;
}

void exchange::close() {
  conn_.close();
  closed_ = true;
  stop_ = true;
  close_judged_ = true;
  stream_.on_close();
}

// --- the strict framing's bookkeeping ------------------------------------------------------

bool exchange::frames_a_slot(std::string_view bytes) const {
  auto copy = stream_;
  const auto before = copy.open_slots();
  copy.sent(bytes, setup_tag);
  return copy.open_slots() > before;
}

std::optional<std::uint64_t> exchange::chunk_left() const {
  if (frames_a_slot("\r\n")) return 0;
  // At most the declared size of the last BDAT still open; otherwise a bound that
  // covers the chunks a session sends (each probe below copies the framing and
  // feeds it that many octets, so the bound is what this costs).
  constexpr std::uint64_t k_usual_chunk = 64 * 1024 + 2, k_largest_probe = 16u << 20;
  std::uint64_t lo = 1, hi = k_usual_chunk;
  if (stream_.open_slots() > 0) {
    const auto& last = stream_.slots().back();
    if (last.what == ref::reply_slot::kind::command && last.v == ref::verb::bdat)
      if (auto c = ref::parse_command(last.line)) hi = std::min<std::uint64_t>(c->chunk_size + 2, k_largest_probe);
  }
  if (!frames_a_slot(std::string(hi, 'x') + "\r\n")) return std::nullopt;
  while (lo < hi) {
    const auto mid = lo + (hi - lo) / 2;
    if (frames_a_slot(std::string(mid, 'x') + "\r\n"))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

std::size_t exchange::owed() const {
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

}  // namespace smtpspec::harness
