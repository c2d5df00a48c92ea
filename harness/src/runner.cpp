// Runs one conformance case against a target; see runner.hpp for how replies are
// matched to what was sent. RFC 5321 4.2 (one reply per command), 4.1.1.10 and 3.8
// (closing), RFC 3207 4 and 4.2 (STARTTLS), RFC 2920 3.2 (reply order).
#include "smtpspec/harness/runner.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "smtpspec/reference/client_stream.hpp"
#include "smtpspec/reference/data_transparency.hpp"
#include "smtpspec/reference/line_reader.hpp"
#include "smtpspec/reference/reply.hpp"
#include "smtpspec/reference/text.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::harness {
namespace ref = smtpspec::reference;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

/// The tag of the sync probe's NOOP: its reply is only there to flush the stream.
constexpr int k_probe_tag = -2;

/// Reply lines longer than this cannot be framed at all; 4.5.3.1.5 allows 512.
constexpr std::size_t k_max_reply_frame = 64 * 1024;

std::string domain_of(const std::string& mailbox) {
  auto at = mailbox.rfind('@');
  return at == std::string::npos ? std::string("example.test") : mailbox.substr(at + 1);
}

}  // namespace

std::string make_nonce() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out(12, '0');
  auto v = rng();
  for (auto& ch : out) {
    ch = k_hex[v & 15];
    v >>= 4;
  }
  return out;
}

namespace {

results::rfc_ref to_ref(const ref::citation& c) { return {c.rfc, std::string(c.section)}; }

/// The anomaly that best explains a desynchronisation: a dot sequence a lenient
/// server may take for end of data, rather than the bare LF or CR inside it.
std::string_view telling_anomaly(const std::vector<ref::data_anomaly_record>& found) {
  for (const auto& a : found)
    if (a.kind != ref::data_anomaly::bare_lf && a.kind != ref::data_anomaly::bare_cr &&
        a.kind != ref::data_anomaly::overlong_line)
      return ref::to_string(a.kind);
  return found.empty() ? std::string_view() : ref::to_string(found.front().kind);
}

std::string first_line(const ref::reply& r) {
  std::string s = std::to_string(r.code);
  if (!r.lines.empty()) s += " " + r.lines.front();
  if (r.lines.size() > 1) s += " (+" + std::to_string(r.lines.size() - 1) + " lines)";
  return s;
}

bool allows(const reply_expectation& e, const ref::reply& r) {
  // 4.3.2: any command may get 421; the model checks the close that follows.
  if (r.code == 421 || std::find(e.codes.begin(), e.codes.end(), r.code) != e.codes.end()) return true;
  int k = r.klass();
  return k >= 0 && k < 8 && ((e.classes >> k) & 1u);
}

/// Everything one run of one case works with.
class case_run {
 public:
  case_run(const scenario_case& c, const run_settings& s)
      : c_(c), s_(s), log_(s.transcript_limit), conn_(log_), nonce_(make_nonce()),
        replies_(ref::line_reader_options{k_max_reply_frame, true}),
        deadline_(clock_type::now() + c.timeout.value_or(s.case_timeout)) {
    ref::reply_parser_options opt;
    opt.allow_any_code = true;  // out-of-range codes are judged, not rejected
    opt.allow_utf8 = true;      // RFC 6531 servers may send UTF-8 text
    opt.max_line_length = k_max_reply_frame;
    parser_ = ref::reply_parser(opt);
  }

  results::case_result run();

 private:
  // --- findings ------------------------------------------------------------------------
  void add(ref::level l, results::rfc_ref cite, std::string text, std::string expected = {}, std::string observed = {},
           bool security = false) {
    findings_.push_back({l, std::move(cite), std::move(text), std::move(expected), std::move(observed), step_,
                         security || is_security_case()});
  }
  bool is_security_case() const {
    return std::find(c_.tags.begin(), c_.tags.end(), "security") != c_.tags.end();
  }
  results::rfc_ref main_cite() const { return c_.rfc.empty() ? results::rfc_ref{5321, "4.2"} : c_.rfc.front(); }

  // --- I/O -----------------------------------------------------------------------------
  milliseconds remaining(milliseconds cap) const {
    auto left = std::chrono::duration_cast<milliseconds>(deadline_ - clock_type::now());
    if (left < milliseconds(1)) left = milliseconds(1);
    return std::min(left, cap);
  }
  bool out_of_time() const { return clock_type::now() >= deadline_; }
  bool write(std::string_view bytes);
  enum class got { reply, timeout, closed, broken };
  got read_reply(ref::reply& out, milliseconds timeout);
  bool wait_for_close(milliseconds timeout);

  // --- the exchange ----------------------------------------------------------------------
  bool connect_and_greet();
  /// After the server closed: a new connection refused means the target died; the
  /// reason, or "" while it still listens.
  std::string target_died();
  bool setup_starttls();
  bool handshake();
  void process(const ref::reply& r);
  bool await_replies(milliseconds timeout);
  void drain(milliseconds quiet);
  void sync_probe(bool after_tls);
  bool follow_into_tls();
  bool run_step(const step& st);
  void run_checks();
  void finish_session();
  results::case_result make_result();

  /// The scenario's narrowed expectation for the n-th reply of a step, if any.
  const reply_expectation* expectation_for(int tag, int n) const {
    if (tag < 0 || tag >= static_cast<int>(c_.steps.size())) return nullptr;
    const auto& st = c_.steps[static_cast<std::size_t>(tag)];
    if (st.what == step::kind::batch)
      return n < static_cast<int>(st.expect_each.size()) ? &st.expect_each[static_cast<std::size_t>(n)] : nullptr;
    return n == 0 && !st.expect.empty() ? &st.expect : nullptr;
  }

  void inconclusive(std::string why) {
    if (skip_reason_.empty()) skip_reason_ = std::move(why);
    stop_ = true;
  }
  std::string expand(std::string_view text) const { return expand_variables(text, s_, nonce_); }

  const scenario_case& c_;
  const run_settings& s_;
  results::transcript log_;
  connection conn_;
  std::string nonce_;
  ref::client_stream stream_;
  ref::line_reader replies_;
  ref::reply_parser parser_;
  std::string inbox_;
  bool resync_ = false;     // skipping the rest of a malformed multi-line reply
  ref::reply malformed_;    // what that reply is judged as
  clock_type::time_point deadline_;
  std::vector<results::case_finding> findings_;
  int step_ = -1;
  std::vector<int> replies_per_step_;
  bool closed_ = false;
  bool stop_ = false;
  std::string skip_reason_, error_;
  results::tls_mode tls_used_ = results::tls_mode::none;
  // For accepted_messages: 2xx to end-of-data, and 354-then-2xx among unexpected replies.
  int accepted_ = 0;
  int unexpected_count_ = 0;
  bool probe_answered_ = false, probe_displaced_ = false;
  bool unexpected_354_ = false;
  std::vector<std::string> unexpected_texts_;
  std::vector<ref::data_anomaly_record> last_anomalies_;
  std::set<int> unpermitted_pipelining_;  // steps that pipelined without PIPELINING
  int refusals_ = 0;                      // 5yz replies so far (RFC 5321 7.8 defences)
  int last_code_ = 0;                     // the last reply that answered something
};

bool case_run::write(std::string_view bytes) {
  if (closed_) {
    log_.note("not sent: the connection is closed");
    return false;
  }
  auto r = conn_.write(bytes, remaining(s_.reply_timeout));
  if (!r) {
    if (r.status == io_status::closed || r.status == io_status::reset) closed_ = true;
    log_.note("write failed: " + std::string(to_string(r.status)) + " " + r.detail);
    return false;
  }
  // More than one command line in one write while PIPELINING is not offered: the
  // client (this case) breaks 4.3.1 on purpose, and a server may refuse or close.
  const auto where = stream_.model().state().where;
  if (step_ >= 0 && where != ref::phase::data && where != ref::phase::bdat && !stream_.model().state().offers("PIPELINING")) {
    std::size_t lines = 0;
    for (std::size_t pos = bytes.find("\r\n"); pos != std::string_view::npos; pos = bytes.find("\r\n", pos + 2)) ++lines;
    if (lines > 1) unpermitted_pipelining_.insert(step_);
  }
  stream_.sent(bytes, step_);
  return true;
}

case_run::got case_run::read_reply(ref::reply& out, milliseconds timeout) {
  const auto until = clock_type::now() + timeout;
  while (true) {
    std::string_view in = inbox_;
    while (true) {
      auto l = replies_.next(in);
      if (l.state == ref::line::status::need_more) break;
      if (l.state == ref::line::status::too_long) {
        add(ref::level::must, {5321, "4.5.3.1.5"},
            "the server sent a reply line of more than " + std::to_string(k_max_reply_frame) +
                " octets; a reply line is at most 512 octets (RFC 5321 4.5.3.1.5)");
        inbox_.clear();
        return got::broken;
      }
      // Own the line: `l.text` may view inbox_, which is erased below.
      const std::string text(l.text);
      if (l.bare_lf)
        add(ref::level::must, {5321, "4.2"}, "a reply line ended with LF alone; replies end lines with CRLF (RFC 5321 4.2)",
            "CRLF", results::visible(text));
      if (l.length > ref::max_reply_line)
        add(ref::level::should, {5321, "4.5.3.1.5"},
            "a reply line of " + std::to_string(l.length) + " octets exceeds the 512-octet limit of RFC 5321 4.5.3.1.5");
      if (resync_) {
        // The rest of a malformed multi-line reply: skip to its last line (no "-"
        // after the code), so the next reply is matched to the next command.
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
      // A malformed reply still answers a command: judge it as a reply with code 0
      // after recording what is wrong with it.
      add(ref::level::must, {5321, "4.2"}, "malformed reply: " + std::string(ref::describe(status.code)),
          "Reply-line syntax", results::visible(text));
      malformed_ = ref::reply{};
      malformed_.code = 0;
      malformed_.lines = {text};
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
    auto r = conn_.read_some(inbox_, 64 * 1024, remaining(std::max(wait, milliseconds(1))));
    if (r.status == io_status::timeout) continue;
    if (!r) {
      closed_ = true;
      if (r.status != io_status::closed) log_.note("read failed: " + std::string(to_string(r.status)) + " " + r.detail);
    }
  }
}

bool case_run::wait_for_close(milliseconds timeout) {
  const auto until = clock_type::now() + timeout;
  while (!closed_) {
    ref::reply r;
    auto now = clock_type::now();
    if (now >= until) return false;
    auto g = read_reply(r, std::chrono::duration_cast<milliseconds>(until - now));
    if (g == got::reply) process(r);
    else if (g == got::timeout) return false;
  }
  return true;
}

void case_run::process(const ref::reply& r) {
  auto judged = stream_.on_reply(r, c_.checks.reply_content);
  if (!judged && probe_displaced_ && r.klass() == 5) {
    // The sync probe's own reply, arriving after a stray reply took its slot.
    probe_displaced_ = false;
    probe_answered_ = true;
    return;
  }
  if (!judged) {
    // 4.2: "Every command MUST generate exactly one reply": this one answers
    // nothing smtpspec sent, so the server read the octets differently.
    ++unexpected_count_;
    if (r.code == 354) unexpected_354_ = true;
    else if (r.klass() == 2 && unexpected_354_) {
      ++accepted_;
      unexpected_354_ = false;
    }
    std::string why = "a reply arrived that answers no command smtpspec sent: the server executed octets that a "
                      "strict server reads as something else";
    if (!last_anomalies_.empty())
      why += " (the mail data held " + std::string(telling_anomaly(last_anomalies_)) +
             ", which RFC 5321 4.1.1.4 does not allow to end the data)";
    else if (stream_.injected_octets() > 0)
      why += " (plaintext sent after 220 to STARTTLS was executed: RFC 3207 4, CVE-2011-0411)";
    add(c_.level, {5321, "4.2"}, why, "no reply", first_line(r), true);
    unexpected_texts_.push_back(first_line(r));
    return;
  }
  const auto& j = *judged;
  last_code_ = r.code;
  if (r.klass() == 5) ++refusals_;
  if (unpermitted_pipelining_.count(j.slot.tag) && r.klass() == 5) {
    // The case pipelined without PIPELINING (4.3.1); refusing those commands is fair.
    log_.note(j.slot.describe() + " refused (" + first_line(r) +
              "): the case sent it pipelined although PIPELINING was not offered (RFC 5321 4.3.1)");
    return;
  }
  if (j.slot.what == ref::reply_slot::kind::end_of_data) {
    last_anomalies_ = j.slot.anomalies;
    if (r.klass() == 2) ++accepted_;
  } else if (j.slot.v == ref::verb::bdat && r.klass() == 2) {
    // RFC 3030 2: the 250 to BDAT ... LAST accepts the message.
    if (auto c = ref::parse_command(j.slot.line); c && c->last) ++accepted_;
  }
  if (j.slot.tag == k_probe_tag) {
    // The sync probe is an unknown verb: its reply is 5yz (4.3.2: 500). Anything
    // else in its slot answers octets sent earlier, which a strict server did not
    // read as commands.
    if (r.klass() == 5 || r.code == 0) {  // 0: malformed, already reported as such
      probe_answered_ = true;
    } else {
      probe_displaced_ = true;
      ++unexpected_count_;
      add(c_.level, {5321, "4.2"},
          "a reply arrived that answers no command smtpspec sent (" + first_line(r) +
              "): the server executed octets that a strict server reads as something else",
          "no reply", first_line(r), true);
    }
    return;
  }
  if (!j.grade.conforming())
    add(j.grade.strength, to_ref(j.grade.cite), j.slot.describe() + ": " + j.grade.explanation, j.expected.describe(),
        first_line(r));
  for (const auto& f : j.content) add(f.strength, to_ref(f.cite), f.text, {}, first_line(r));

  // The scenario's narrowed expectation for this step's n-th reply.
  const reply_expectation* want = nullptr;
  if (j.slot.tag >= 0 && j.slot.tag < static_cast<int>(c_.steps.size()))
    want = expectation_for(j.slot.tag, replies_per_step_[static_cast<std::size_t>(j.slot.tag)]++);
  const bool close_only = want && want->close && want->codes.empty() && want->classes == 0;
  if (want && (!want->codes.empty() || want->classes != 0) && !allows(*want, r))
    add(c_.level, main_cite(), j.slot.describe() + ": " + c_.requirement, want->to_string(), first_line(r));
  // 4.1.1.10 / 3.8: after 221 the server closes; after 421 it closes too.
  if (r.code == 221 || r.code == 421) {
    if (!wait_for_close(std::min(s_.reply_timeout, milliseconds(3000))))
      add(r.code == 221 ? ref::level::must : ref::level::should, {5321, r.code == 221 ? "4.1.1.10" : "3.8"},
          "the server did not close the connection after " + std::to_string(r.code), "close",
          "connection still open");
  } else if (close_only && !closed_ && !wait_for_close(std::min(s_.reply_timeout, milliseconds(3000)))) {
    add(c_.level, main_cite(), "the server did not close the connection: " + c_.requirement, "close", "still open");
  }
}

bool case_run::await_replies(milliseconds timeout) {
  while (stream_.open_slots() > 0) {
    ref::reply r;
    auto g = read_reply(r, remaining(timeout));
    if (g == got::reply) {
      process(r);
      continue;
    }
    const std::string what = stream_.slots().front().describe();
    if (g == got::timeout && out_of_time()) {
      // The case's own time ran out, not the reply's: the case could not finish.
      error_ = "the case ran out of time (" + std::to_string(c_.timeout.value_or(s_.case_timeout).count()) +
               " ms) waiting for a reply to " + what + "; give it a longer timeout if the server is slow on purpose";
      log_.note(error_);
    } else if (g == got::timeout) {
      add(ref::level::must, {5321, "4.2"},
          "no reply to " + what + " within " + std::to_string(timeout.count()) +
              " ms (RFC 5321 4.2: every command MUST generate exactly one reply)",
          "a reply", "nothing");
      log_.note("deadline passed waiting for a reply to " + what);
    } else if (g == got::closed) {
      const auto& front = stream_.slots().front();
      const auto* want = expectation_for(front.tag, front.tag >= 0 && front.tag < static_cast<int>(replies_per_step_.size())
                                                        ? replies_per_step_[static_cast<std::size_t>(front.tag)]
                                                        : 0);
      // Whatever allows the close below, a target that then refuses new connections
      // has died (the crash a fuzzer reproducer replays: fuzz/net/session_player.cpp).
      if (std::string died = target_died(); !died.empty()) {
        add(ref::level::must, {5321, "3.8"},
            "the server closed the connection without answering " + what +
                " and then refused new connections: the target crashed or stopped (" + died + ")",
            "a reply", "connection closed");
        stream_.on_close();
        closed_ = true;
        stop_ = true;
        return false;
      }
      if (want && want->close) {
        // The scenario allows closing here (e.g. RFC 5321 7.8 defences).
        log_.note("the server closed the connection instead of answering " + what + ", which this case allows");
        stream_.on_close();
        closed_ = true;
        stop_ = true;
        return false;
      }
      if (stream_.model().state().where == ref::phase::closed) {
        // It said 221 or 421 first: the rest of what was pipelined cannot be answered.
        log_.note("the server closed after " + std::to_string(last_code_) + "; " + what + " was not answered");
        closed_ = true;
        stop_ = true;
        return false;
      }
      // Refusing mail data that held bare CR/LF or an end-of-data look-alike and then
      // hanging up is the smuggling defence several servers use.
      const bool refused_suspicious_data = (last_code_ / 100 == 4 || last_code_ / 100 == 5) && !last_anomalies_.empty();
      if (unpermitted_pipelining_.count(front.tag) || refusals_ >= 2 || last_code_ == 521 || refused_suspicious_data) {
        // 7.8: a server may defend itself and close after refusing (two or more 5yz
        // here), or when the client pipelined without PIPELINING (4.3.1); 521
        // (RFC 7504 3) announces a server that does not accept mail and closes.
        add(ref::level::may, {5321, "7.8"},
            "the server closed the connection without answering " + what +
                (last_code_ == 521         ? ", after 521 (RFC 7504)"
                 : refused_suspicious_data ? ", after refusing mail data that held bare line ends"
                 : refusals_ >= 2          ? ", after refusing earlier commands"
                                           : ", after the case pipelined without PIPELINING") +
                " (RFC 5321 7.8 lets a server defend itself this way)",
            "a reply", "connection closed");
        stream_.on_close();
        closed_ = true;
        stop_ = true;
        return false;
      }
      // 3.8: the server may close only after QUIT, after 421, or on a timeout.
      add(ref::level::must, {5321, "3.8"},
          "the server closed the connection without answering " + what +
              " (RFC 5321 3.8: it MUST NOT close except after QUIT, 421 or a timeout)",
          "a reply", "connection closed");
    }
    stream_.on_close();
    closed_ = closed_ || g != got::timeout;
    stop_ = true;
    return false;
  }
  return true;
}

/// Collects every reply the target still owes, without waiting on a clock: replies
/// come in order (RFC 2920 3.2), so once the reply to a command sent now has arrived,
/// nothing sent before can still be answered. The probe is an unknown verb, whose
/// reply is 5yz and so cannot be confused with the 2yz/3yz replies that executed
/// octets produce. Right after a STARTTLS handshake (`after_tls`) a NOOP goes first
/// and is judged like any command: plaintext injected before the handshake and
/// glued to it ("RSET" + "NOOP") shows in its reply. Where a command cannot be sent
/// (mail data, SASL, closed), wait quietly instead.
void case_run::sync_probe(bool after_tls) {
  const auto where = stream_.model().state().where;
  const bool usable = where != ref::phase::data && where != ref::phase::auth && where != ref::phase::tls_handshake &&
                      where != ref::phase::closed && where != ref::phase::connecting && stream_.open_slots() == 0 &&
                      !stream_.waiting_for_reply();
  if (!usable) {
    drain(std::max(s_.settle, milliseconds(300)));
    return;
  }
  const int step = step_;
  if (after_tls) {
    log_.note("sync probe: NOOP inside TLS");
    if (!write("NOOP\r\n") || !await_replies(s_.reply_timeout)) return;
  }
  step_ = k_probe_tag;
  log_.note("sync probe: an unknown verb, whose 5yz reply is the last the server owes");
  probe_answered_ = probe_displaced_ = false;
  if (write("XSMTPSPEC-SYNC-" + nonce_ + "\r\n")) {
    const auto until = clock_type::now() + s_.reply_timeout;
    while (!probe_answered_ && !closed_ && clock_type::now() < until) {
      ref::reply r;
      if (read_reply(r, remaining(std::chrono::duration_cast<milliseconds>(until - clock_type::now()))) != got::reply)
        break;
      process(r);
    }
  }
  drain(s_.settle);
  step_ = step;
}

/// A server that answered 220 to a STARTTLS the case sent some other way (with a
/// parameter, in a batch, as raw octets) now expects the TLS handshake: follow it,
/// so the case's next command is not plaintext lost in a handshake (RFC 3207 4).
bool case_run::follow_into_tls() {
  if (closed_ || stream_.model().state().where != ref::phase::tls_handshake) return true;
  log_.note("the server answered 220 to STARTTLS: starting TLS to follow it");
  if (!handshake()) {
    add(c_.level, {3207, "4"}, "the server answered 220 to STARTTLS but the TLS handshake failed: " + error_,
        "TLS handshake", error_);
    error_.clear();
    stop_ = true;
    return false;
  }
  tls_used_ = results::tls_mode::starttls;
  return true;
}

void case_run::drain(milliseconds quiet) {
  while (!closed_) {
    ref::reply r;
    auto g = read_reply(r, remaining(quiet));
    if (g != got::reply) return;
    process(r);
  }
}

bool case_run::handshake() {
  std::string host = s_.tls_options.sni.empty() ? s_.target.host : s_.tls_options.sni;
  auto r = conn_.start_tls(s_.tls_options, host, remaining(s_.reply_timeout));
  if (!r) {
    log_.note("TLS handshake failed: " + r.detail);
    error_ = "TLS handshake failed: " + r.detail;
    return false;
  }
  stream_.on_tls_established();
  return true;
}

std::string case_run::target_died() {
  // Only "refused" means nothing listens any more; a timeout or a reset may be load.
  results::transcript scratch{4096};
  connection again{scratch};
  auto r = again.connect(s_.target, remaining(s_.connect_timeout));
  again.close();
  if (r.status != io_status::refused) return {};
  log_.note("a new connection to " + s_.target.to_string() + " was refused: " + r.detail);
  return r.detail.empty() ? "connection refused" : r.detail;
}

bool case_run::connect_and_greet() {
  auto r = conn_.connect(s_.target, remaining(s_.connect_timeout));
  if (!r) {
    error_ = "cannot connect to " + s_.target.to_string() + ": " + std::string(to_string(r.status)) + " " + r.detail;
    return false;
  }
  if (tls_used_ == results::tls_mode::implicit && !handshake()) return false;
  ref::reply greeting;
  auto g = read_reply(greeting, remaining(s_.reply_timeout));
  if (g != got::reply) {
    add(ref::level::must, {5321, "3.1"}, "no greeting from the server", "220", g == got::closed ? "closed" : "nothing");
    stop_ = true;
    return true;
  }
  auto j = stream_.on_greeting(greeting, c_.checks.reply_content);
  if (!j.grade.conforming())
    add(j.grade.strength, to_ref(j.grade.cite), "greeting: " + j.grade.explanation, j.expected.describe(),
        first_line(greeting));
  for (const auto& f : j.content) add(f.strength, to_ref(f.cite), f.text, {}, first_line(greeting));
  if (greeting.code != 220) inconclusive("the server refused the session with " + first_line(greeting));
  return true;
}

bool case_run::setup_starttls() {
  // TLS is the setting here, not what the case checks: the setup's replies are
  // judged like any other, but a refusal makes the case fall back or skip.
  log_.note("setup: EHLO and STARTTLS (RFC 3207)");
  step_ = -1;
  write("EHLO " + s_.client_domain + "\r\n");
  if (!await_replies(remaining(s_.reply_timeout))) return false;
  if (!stream_.model().state().offers("STARTTLS")) return false;
  write("STARTTLS\r\n");
  if (!await_replies(remaining(s_.reply_timeout))) return false;
  if (stream_.model().state().where != ref::phase::tls_handshake) return false;
  return handshake();
}

bool case_run::run_step(const step& st) {
  log_.note("step " + std::to_string(step_ + 1) + ": " + [&] {
    switch (st.what) {
      case step::kind::send: return "send " + results::visible(expand(st.lines.front())).substr(0, 200);
      case step::kind::batch: return "batch of " + std::to_string(st.lines.size()) + " commands";
      case step::kind::raw: return "raw octets (" + std::to_string(expand(st.bytes).size()) + ")";
      case step::kind::data: return std::string("mail data");
      case step::kind::bdat: return std::string("BDAT chunk");
      case step::kind::starttls: return std::string("STARTTLS");
      case step::kind::wait: return "wait " + std::to_string(st.duration.count()) + " ms";
      case step::kind::read: return "read for " + std::to_string(st.duration.count()) + " ms";
      case step::kind::expect_close: return std::string("expect the server to close");
      case step::kind::close: return std::string("close");
    }
    return std::string();
  }());
  const auto reply_wait = s_.reply_timeout;
  switch (st.what) {
    case step::kind::send:
      if (st.expect.none) {
        if (!write(expand(st.lines.front()) + "\r\n")) return false;
        drain(std::max(s_.settle, milliseconds(500)));
        return true;
      }
      if (!write(expand(st.lines.front()) + "\r\n")) return false;
      return await_replies(reply_wait);
    case step::kind::batch: {
      std::string all;
      for (const auto& l : st.lines) all += expand(l) + "\r\n";
      if (!write(all)) return false;
      return await_replies(reply_wait);
    }
    case step::kind::raw: {
      std::string bytes = expand(st.bytes);
      std::vector<std::size_t> cuts = st.split;
      if (st.bytewise)
        for (std::size_t i = 1; i < bytes.size(); ++i) cuts.push_back(i);
      std::size_t from = 0;
      cuts.push_back(bytes.size());
      for (auto to : cuts) {
        if (to <= from || to > bytes.size()) continue;
        if (!write(std::string_view(bytes).substr(from, to - from))) return false;
        from = to;
      }
      if (st.expect.close) {
        if (!wait_for_close(reply_wait))
          add(c_.level, main_cite(), "the server did not close the connection: " + c_.requirement, "close", "open");
        return false;
      }
      if (st.expect.none) {
        drain(std::max(s_.settle, milliseconds(500)));
        return true;
      }
      return await_replies(reply_wait);
    }
    case step::kind::data: {
      if (stream_.model().state().where != ref::phase::data) {
        inconclusive("the server did not accept DATA (no 354), so the mail data could not be sent");
        return false;
      }
      if (!write(ref::encode_data(expand(st.bytes)))) return false;
      return await_replies(reply_wait);
    }
    case step::kind::bdat: {
      std::string chunk = expand(st.bytes);
      std::string line = "BDAT " + std::to_string(st.bdat_size.value_or(chunk.size())) + (st.bdat_last ? " LAST" : "");
      if (!write(line + "\r\n" + chunk)) return false;
      return await_replies(reply_wait);
    }
    case step::kind::starttls: {
      std::string injected = expand(st.bytes);
      if (!write("STARTTLS\r\n" + injected)) return false;
      if (!await_replies(reply_wait)) return false;
      if (stream_.model().state().where != ref::phase::tls_handshake) {
        inconclusive("the server did not answer STARTTLS with 220, so TLS could not be started");
        return false;
      }
      if (!handshake()) {
        // RFC 3207 4: after 220 the server is to start the handshake.
        add(c_.level, {3207, "4"}, "the server answered 220 to STARTTLS but the TLS handshake failed: " + error_,
            "TLS handshake", error_);
        error_.clear();
        stop_ = true;
        return false;
      }
      tls_used_ = results::tls_mode::starttls;
      // Anything arriving now, before a command inside TLS, answers the injected
      // plaintext: the injection worked (CVE-2011-0411). A NOOP inside TLS flushes it
      // out (4.1.4: NOOP is fine before EHLO).
      sync_probe(true);
      return true;
    }
    case step::kind::wait:
      std::this_thread::sleep_for(std::min(st.duration, remaining(st.duration)));
      return true;
    case step::kind::read:
      drain(st.duration);
      return true;
    case step::kind::expect_close:
      if (!wait_for_close(remaining(st.duration)))
        add(c_.level, main_cite(), "the server did not close the connection: " + c_.requirement, "close",
            "still open after " + std::to_string(st.duration.count()) + " ms");
      return true;
    case step::kind::close:
      conn_.close();
      closed_ = true;
      return false;
  }
  return true;
}

void case_run::run_checks() {
  const auto& k = c_.checks;
  if (k.accepted_messages && accepted_ > *k.accepted_messages) {
    std::string text = "the server accepted " + std::to_string(accepted_) + " messages where " +
                       std::to_string(*k.accepted_messages) + " was sent";
    if (!last_anomalies_.empty())
      text += ": it treated " + std::string(telling_anomaly(last_anomalies_)) +
              " as end of data, so the smuggled transaction was delivered";
    add(c_.level, main_cite(), text + " (" + c_.requirement + ")", std::to_string(*k.accepted_messages),
        std::to_string(accepted_), true);
  }
  if (k.delivered_contains.empty() && k.delivered_lacks.empty()) return;
  if (accepted_ == 0) {
    // The server refused the message (which the model already judged): there is no
    // delivered copy whose content could be checked.
    if (!k.delivered_contains.empty() && findings_.empty())
      inconclusive("the server refused the message, so what it would deliver could not be checked");
    return;
  }
  if (!s_.probe) {
    if (findings_.empty()) inconclusive("needs a delivery probe (the embedded server, or --maildir) to read the message");
    return;
  }
  // MTAs deliver a little after their 250 (queue managers, delivery agents): look
  // again until the message shows or the delivery wait is over.
  auto message = s_.probe->find(nonce_);
  for (auto until = clock_type::now() + s_.delivery_wait; !message && clock_type::now() < until;) {
    std::this_thread::sleep_for(milliseconds(50));
    message = s_.probe->find(nonce_);
  }
  if (!message) {
    // Nothing delivered satisfies "lacks" checks; "contains" checks need a message.
    if (!k.delivered_contains.empty())
      add(c_.level, main_cite(), "the message (marker " + nonce_ + ") was not found by " + s_.probe->describe(),
          "a delivered message", "none");
    return;
  }
  // Stores such as maildirs keep LF line ends: compare CRLF-insensitively there.
  auto normal = [&](std::string text) {
    if (!s_.probe->normalises_line_endings()) return text;
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i)
      if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) out += text[i];
    return out;
  };
  const std::string content = normal(*message);
  for (const auto& want : k.delivered_contains)
    if (content.find(normal(expand(want))) == std::string::npos)
      add(c_.level, main_cite(), "the delivered message lacks \"" + results::visible(expand(want)) + "\": " + c_.requirement,
          results::visible(expand(want)), "absent");
  for (const auto& bad : k.delivered_lacks)
    if (content.find(normal(expand(bad))) != std::string::npos)
      add(c_.level, main_cite(), "the delivered message holds \"" + results::visible(expand(bad)) + "\": " + c_.requirement,
          "absent", results::visible(expand(bad)));
}

void case_run::finish_session() {
  if (closed_) return;
  // Not judged: the case is over; leave politely so the target keeps no state.
  step_ = -1;
  if (stream_.model().state().where == ref::phase::data) conn_.write("\r\n.\r\n", milliseconds(1000));
  conn_.write("QUIT\r\n", milliseconds(1000));
  std::string sink;  // the connection records what arrives in the transcript
  conn_.read_some(sink, 4096, milliseconds(std::min<long long>(1000, s_.reply_timeout.count())));
  conn_.close();
}

results::case_result case_run::make_result() {
  results::case_result out = result_for(c_);
  out.findings = findings_;
  out.tls = tls_used_;
  out.transcript = log_.events();
  out.transcript_truncated = log_.truncated();

  results::decide_verdict(out, s_.strict, error_, skip_reason_);
  return out;
}

results::case_result case_run::run() {
  const auto started = clock_type::now();
  replies_per_step_.assign(c_.steps.size(), 0);
  results::tls_mode want = std::max(s_.tls, c_.tls);
  if (want == results::tls_mode::implicit) tls_used_ = results::tls_mode::implicit;
  try {
    if (connect_and_greet() && !stop_) {
      if (want == results::tls_mode::starttls) {
        if (setup_starttls()) {
          tls_used_ = results::tls_mode::starttls;
        } else if (c_.tls == results::tls_mode::starttls) {
          if (skip_reason_.empty() && findings_.empty())
            inconclusive(error_.empty() ? "STARTTLS is not available on the target" : error_);
          if (!error_.empty() && findings_.empty()) error_.clear();
          stop_ = true;
        } else {
          // The run asked for TLS but it cannot be had: run in plaintext and say so.
          std::string why = error_.empty() ? "STARTTLS not offered" : error_;
          error_.clear();
          log_.note("TLS could not be had (" + why + "); running in plaintext");
          findings_.clear();
          stream_ = ref::client_stream();
          inbox_.clear();
          parser_.reset();
          replies_.reset();
          conn_.close();
          closed_ = false;
          tls_used_ = results::tls_mode::none;
          if (!connect_and_greet()) stop_ = true;
        }
      }
      for (std::size_t i = 0; i < c_.steps.size() && !stop_ && !closed_; ++i) {
        if (out_of_time()) {
          add(ref::level::must, {5321, "4.5.3.2"}, "the case ran out of time (per-case timeout)", {}, {});
          break;
        }
        step_ = static_cast<int>(i);
        if (!run_step(c_.steps[i])) break;
        if (!follow_into_tls()) break;
      }
      step_ = -1;
      if (!closed_ && error_.empty() && !stop_) sync_probe(false);
      else if (!closed_ && error_.empty()) drain(s_.settle);
      if (error_.empty()) run_checks();
      finish_session();
    }
  } catch (const std::exception& e) {
    error_ = std::string("harness fault: ") + e.what();
  }
  auto out = make_result();
  out.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started);
  return out;
}

}  // namespace

std::string expand_variables(std::string_view text, const run_settings& s, std::string_view nonce) {
  std::string out;
  out.reserve(text.size());
  const std::string domain = domain_of(s.to);
  for (std::size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (ch == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    if (ch == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      out += '}';
      ++i;
      continue;
    }
    if (ch != '{') {
      out += ch;
      continue;
    }
    auto close = text.find('}', i);
    if (close == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    std::string_view name = text.substr(i + 1, close - i - 1);
    i = close;
    if (name.rfind("repeat:", 0) == 0) {
      auto rest = name.substr(7);
      auto colon = rest.find(':');
      std::size_t n = 0;
      for (char d : rest.substr(0, colon)) n = n * 10 + static_cast<std::size_t>(d - '0');
      auto what = colon == std::string_view::npos ? std::string_view() : rest.substr(colon + 1);
      n = std::min<std::size_t>(n, 16u << 20);
      for (std::size_t k = 0; k < n; ++k) out += what;
      continue;
    }
    const std::string reject = s.reject.empty() ? "reject.nosuchuser." + std::string(nonce) + "@" + domain : s.reject;
    if (name == "client") out += s.client_domain;
    else if (name == "from") out += s.from;
    else if (name == "to") out += s.to;
    else if (name == "to2") out += s.to2.empty() ? s.to : s.to2;
    else if (name == "domain") out += domain;
    else if (name == "reject") out += reject;
    else if (name == "nonce") out += nonce;
    else if (name == "user") out += s.auth_user;
    else if (name == "password") out += s.auth_password;
    else if (name == "auth_plain")
      out += ref::base64_encode(std::string(1, '\0') + s.auth_user + std::string(1, '\0') + s.auth_password);
    else if (name == "user64") out += ref::base64_encode(s.auth_user);
    else if (name == "password64") out += ref::base64_encode(s.auth_password);
    else out += "{" + std::string(name) + "}";
  }
  return out;
}

bool target_probe::has(std::string_view need, bool in_tls) const {
  // "KEYWORD" or "KEYWORD PARAM" (e.g. "AUTH LOGIN"): the keyword, and the
  // parameter among its ehlo-params.
  auto space = need.find(' ');
  std::string_view keyword = need.substr(0, space);
  std::string_view param = space == std::string_view::npos ? std::string_view() : need.substr(space + 1);
  const auto& list = in_tls ? info.tls_extensions : info.extensions;
  return std::any_of(list.begin(), list.end(), [&](const std::string& e) {
    std::string_view line = e;
    if (!ref::iequals(line.substr(0, line.find(' ')), keyword)) return false;
    if (param.empty()) return true;
    for (std::size_t pos = line.find(' '); pos != std::string_view::npos;) {
      auto next = line.find(' ', pos + 1);
      if (ref::iequals(line.substr(pos + 1, next == std::string_view::npos ? std::string_view::npos : next - pos - 1),
                       param))
        return true;
      pos = next;
    }
    return false;
  });
}

namespace {

/// One short session to learn the greeting and EHLO keywords (and, if offered,
/// the keywords inside TLS).
struct probe_session {
  results::transcript log{256 * 1024};
  connection conn{log};
  std::string inbox;
  bool received_any = false;  // the target sent something, parseable or not
  ref::line_reader lines{ref::line_reader_options{k_max_reply_frame, true}};
  ref::reply_parser parser{[] {
    ref::reply_parser_options o;
    o.allow_any_code = true;
    o.allow_utf8 = true;
    o.max_line_length = k_max_reply_frame;
    return o;
  }()};

  std::optional<ref::reply> read(milliseconds timeout) {
    const auto until = clock_type::now() + timeout;
    while (true) {
      std::string_view in = inbox;
      while (true) {
        auto l = lines.next(in);
        if (l.state != ref::line::status::complete) break;
        auto st = parser.feed_line(l.text);
        if (st.code == ref::error::need_more) continue;
        inbox.erase(0, inbox.size() - in.size());
        if (st.code != ref::error::ok) return std::nullopt;
        return parser.take();
      }
      inbox.erase(0, inbox.size() - in.size());
      auto now = clock_type::now();
      if (now >= until) return std::nullopt;
      auto r = conn.read_some(inbox, 65536, std::chrono::duration_cast<milliseconds>(until - now));
      received_any = received_any || r.bytes > 0;
      if (!r && r.status != io_status::timeout) return std::nullopt;
    }
  }

  /// The EHLO keywords; std::nullopt when the reply could not be read as an
  /// ehlo-ok-rsp (then `needs` cannot be judged and no case is skipped for it).
  std::optional<std::vector<std::string>> ehlo(const run_settings& s) {
    conn.write("EHLO " + s.client_domain + "\r\n", s.reply_timeout);
    auto r = read(s.reply_timeout);
    std::vector<std::string> out;
    if (!r) return std::nullopt;
    if (r->code != 250) return out;
    auto list = ref::parse_ehlo_reply(*r);
    if (!list) return std::nullopt;
    for (const auto& e : list->items) {
      std::string k = e.keyword;
      for (const auto& p : e.params) k += " " + p;
      out.push_back(k);
    }
    return out;
  }
};

}  // namespace

target_probe probe_target(const run_settings& s) {
  target_probe t;
  t.info.address = s.target.to_string();
  t.info.tls = s.tls;
  probe_session p;
  auto c = p.conn.connect(s.target, s.connect_timeout);
  if (!c) {
    t.problem = std::string(to_string(c.status)) + (c.detail.empty() ? "" : ": " + c.detail);
    return t;
  }
  if (s.tls == results::tls_mode::implicit) {
    auto h = p.conn.start_tls(s.tls_options, s.tls_options.sni.empty() ? s.target.host : s.tls_options.sni, s.reply_timeout);
    if (!h) {
      t.problem = "implicit TLS handshake failed: " + h.detail;
      return t;
    }
    t.info.tls_description = p.conn.tls_description();
  }
  auto greeting = p.read(s.reply_timeout);
  if (!greeting && p.inbox.empty() && !p.received_any) {
    t.problem = "no greeting within " + std::to_string(s.reply_timeout.count()) + " ms";
    return t;
  }
  if (!greeting) {
    // Something answered but not as a Reply-line: the target is there; the cases
    // will report the malformed greeting themselves.
    t.reachable = true;
    t.ehlo_readable = false;
    t.info.banner = "(unparseable greeting)";
    return t;
  }
  t.reachable = true;
  t.info.banner = std::to_string(greeting->code) + (greeting->lines.empty() ? "" : " " + greeting->lines.front());
  auto plain = p.ehlo(s);
  t.ehlo_readable = plain.has_value();
  t.info.extensions = plain.value_or(std::vector<std::string>{});
  if (s.tls == results::tls_mode::implicit) {
    t.info.tls_extensions = t.info.extensions;
  } else if (t.has("STARTTLS", false)) {
    p.conn.write("STARTTLS\r\n", s.reply_timeout);
    auto r = p.read(s.reply_timeout);
    if (r && r->code == 220) {
      auto h = p.conn.start_tls(s.tls_options, s.tls_options.sni.empty() ? s.target.host : s.tls_options.sni, s.reply_timeout);
      if (h) {
        t.info.tls_description = p.conn.tls_description();
        auto in_tls = p.ehlo(s);
        t.ehlo_readable = t.ehlo_readable && in_tls.has_value();
        t.info.tls_extensions = in_tls.value_or(std::vector<std::string>{});
      } else {
        t.info.tls_problem = "STARTTLS handshake failed: " + h.detail;
      }
    } else {
      t.info.tls_problem = r ? "STARTTLS refused: " + first_line(*r) : "no reply to STARTTLS";
    }
  } else {
    t.info.tls_problem = "STARTTLS not advertised";
  }
  p.conn.write("QUIT\r\n", milliseconds(1000));
  p.read(milliseconds(1000));
  p.conn.close();
  return t;
}

results::case_result run_case(const scenario_case& c, const run_settings& s, const target_probe& t) {
  // needs: the extension must be advertised where the case will run (2.2.1).
  const bool in_tls = std::max(s.tls, c.tls) != results::tls_mode::none && !t.info.tls_extensions.empty();
  for (const auto& kw : c.needs) {
    if (t.ehlo_readable && !t.has(kw, in_tls)) {
      results::case_result out = result_for(c);
      out.outcome = results::verdict::skip;
      out.reason = "the target does not advertise " + kw + (in_tls ? " inside TLS" : "");
      return out;
    }
  }
  if (c.client) {
    // A client case: smtpspec must play the server (`smtpspec client`).
    results::case_result out = result_for(c);
    out.outcome = results::verdict::error;
    out.reason = "a client case: run it with 'smtpspec client'";
    return out;
  }
  case_run run(c, s);
  return run.run();
}

std::vector<results::case_result> run_cases(const std::vector<const scenario_case*>& cases, const run_settings& s,
                                   const target_probe& t, const progress_fn& progress) {
  std::vector<results::case_result> results(cases.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  auto worker = [&] {
    while (true) {
      std::size_t i = next.fetch_add(1);
      if (i >= cases.size()) return;
      results[i] = run_case(*cases[i], s, t);
      std::size_t d = ++done;
      if (progress) {
        std::lock_guard<std::mutex> lock(progress_mutex);
        progress(results[i], d, cases.size());
      }
    }
  };
  unsigned jobs = std::max(1u, std::min<unsigned>(s.jobs, static_cast<unsigned>(cases.size())));
  std::vector<std::thread> threads;
  for (unsigned j = 1; j < jobs; ++j) threads.emplace_back(worker);
  worker();
  for (auto& th : threads) th.join();
  return results;
}

namespace {

class directory_probe final : public delivery_probe {
 public:
  explicit directory_probe(std::string dir) : dir_(std::move(dir)) {}
  std::optional<std::string> find(const std::string& marker) const override {
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->file_size(ec) > (64u << 20)) continue;
      std::ifstream in(it->path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      std::string content = ss.str();
      if (content.find(marker) != std::string::npos) return content;
    }
    return std::nullopt;
  }
  std::string describe() const override { return "the directory " + dir_; }
  bool normalises_line_endings() const override { return true; }

 private:
  std::string dir_;
};

}  // namespace

std::unique_ptr<delivery_probe> make_directory_probe(const std::string& dir) {
  return std::make_unique<directory_probe>(dir);
}

}  // namespace smtpspec::harness
