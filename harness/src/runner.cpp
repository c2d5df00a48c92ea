// Runs one conformance case against a target; see runner.hpp. The exchange with
// the target (writing, reading and judging every reply, closes, STARTTLS, the
// sync probe) is harness/exchange.hpp; this file keeps what belongs to a case: its
// steps, the narrowed expectations of its steps, the checks made once the steps
// are done, and its verdict.
#include "smtpspec/harness/runner.hpp"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "smtpspec/harness/exchange.hpp"
#include "smtpspec/reference/data_transparency.hpp"
#include "smtpspec/reference/reply.hpp"
#include "smtpspec/reference/text.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::harness {
namespace ref = smtpspec::reference;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

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

/// How a case connects: the run's TLS (--tls) or the case's, whichever asks for
/// more; but a case about STARTTLS itself (one with a starttls step) starts in
/// plaintext whatever --tls starttls says: inside TLS no STARTTLS is offered
/// (RFC 3207 4.2), so the case could not check anything (review A1.17).
results::tls_mode tls_for(const scenario_case& c, const run_settings& s) {
  const bool about_starttls =
      std::any_of(c.steps.begin(), c.steps.end(), [](const step& st) { return st.what == step::kind::starttls; });
  if (about_starttls && s.tls == results::tls_mode::starttls) return c.tls;
  return std::max(s.tls, c.tls);
}

/// A narrowed expectation allows the reply. 4.3.2: any command may get 421 (the
/// exchange checks the close that follows); a step says so with fails_on where
/// that is a finding (the timeout cases).
bool allows(const reply_expectation& e, const ref::reply& r) { return r.code == 421 || e.lists(r.code); }

/// Everything one run of one case works with.
class case_run final : public exchange_user {
 public:
  case_run(const scenario_case& c, const run_settings& s, const target_probe& t)
      : c_(c), s_(s), t_(t), log_(s.transcript_limit), conn_(log_), nonce_(make_nonce()),
        deadline_(clock_type::now() + c.timeout.value_or(s.case_timeout)) {}

  results::case_result run();

  // --- what the exchange reports -------------------------------------------------------
  void finding(exchange_finding f) override {
    results::case_finding out(f.strength, std::move(f.cite), std::move(f.text), std::move(f.expected),
                              std::move(f.observed), f.tag >= 0 ? f.tag : -1, f.security);
    out.rule = std::move(f.rule);
    out.observation = std::move(f.observation);
    findings_.push_back(std::move(out));
  }
  void note(std::string_view text) override { log_.note(text); }
  void on_reply(const reply_event& e) override;
  bool close_allowed(const ref::reply_slot* front) override;
  void out_of_time(std::string_view what) override {
    // The case's own time ran out, not the reply's: the case could not finish.
    error_ = "the case ran out of time (" + std::to_string(c_.timeout.value_or(s_.case_timeout).count()) +
             " ms) waiting for a reply to " + std::string(what) +
             "; give it a longer timeout if the server is slow on purpose";
    log_.note(error_);
  }

 private:
  /// A finding of the case itself (a narrowed expectation, a check): in a case
  /// about smuggling or injection it is a security finding.
  /// `rule`: what names the defect; by default the case's requirement (the RFC's
  /// words), so that cases quoting the same requirement and seeing the same thing
  /// make one defect (defects.hpp).
  void add(ref::level l, results::rfc_ref cite, std::string text, std::string expected, std::string observed,
           std::string observation, bool security = false, std::string rule = {}) {
    results::case_finding f(l, std::move(cite), std::move(text), std::move(expected), std::move(observed), step_,
                            security || is_security_case());
    f.rule = rule.empty() ? c_.requirement : std::move(rule);
    f.observation = std::move(observation);
    findings_.push_back(std::move(f));
  }
  bool is_security_case() const {
    return std::find(c_.tags.begin(), c_.tags.end(), "security") != c_.tags.end();
  }
  results::rfc_ref main_cite() const { return c_.rfc.empty() ? results::rfc_ref{5321, "4.2"} : c_.rfc.front(); }

  void start_exchange(results::tls_mode tls);
  bool connect_and_greet();
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
  bool going_on() const { return !stop_ && !x_->stopped() && !x_->closed(); }
  std::string expand(std::string_view text) const { return expand_variables(text, s_, nonce_); }

  const scenario_case& c_;
  const run_settings& s_;
  const target_probe& t_;
  results::transcript log_;
  connection conn_;
  std::string nonce_;
  clock_type::time_point deadline_;
  std::optional<exchange> x_;
  std::vector<results::case_finding> findings_;
  int step_ = -1;
  std::vector<int> replies_per_step_;
  const reply_expectation* last_want_ = nullptr;  // the expectation of the last reply judged
  bool stop_ = false;
  std::string skip_reason_, error_;
  results::tls_mode tls_used_ = results::tls_mode::none;
  // For accepted_messages: 2xx to end-of-data, and 354-then-2xx among unexpected replies.
  int accepted_ = 0;
  bool unexpected_354_ = false;
};

void case_run::start_exchange(results::tls_mode tls) {
  auto xs = exchange_settings_from(s_);
  xs.tls = tls == results::tls_mode::implicit ? tls : results::tls_mode::none;  // the case may ask for more
  xs.settle = s_.settle;
  xs.reply_content = c_.checks.reply_content;
  xs.probe_suffix = "-" + nonce_;
  xs.sync_with_noop = t_.sync_by_noop;
  x_.emplace(conn_, std::move(xs), *this, deadline_);
}

void case_run::on_reply(const reply_event& e) {
  if (e.greeting) return;
  const auto& r = *e.reply;
  if (!e.judged) {
    // Replies that answer nothing sent: a smuggled DATA (354) and its end (2xx)
    // make a message the server accepted.
    if (r.code == 354) {
      unexpected_354_ = true;
    } else if (r.klass() == 2 && unexpected_354_) {
      ++accepted_;
      unexpected_354_ = false;
    }
    return;
  }
  const auto& j = *e.judged;
  if (s_.on_reply) s_.on_reply(j, r);
  if (!e.graded) return;
  if (j.slot.what == ref::reply_slot::kind::end_of_data) {
    if (r.klass() == 2) ++accepted_;
  } else if (j.slot.v == ref::verb::bdat && r.klass() == 2) {
    // RFC 3030 2: the 250 to BDAT ... LAST accepts the message.
    if (auto c = ref::parse_command(j.slot.line); c && c->last) ++accepted_;
  }
  // The scenario's narrowed expectation for this step's n-th reply.
  const reply_expectation* want = nullptr;
  const step* st = j.slot.tag >= 0 && j.slot.tag < static_cast<int>(c_.steps.size())
                       ? &c_.steps[static_cast<std::size_t>(j.slot.tag)]
                       : nullptr;
  const int nth = st ? replies_per_step_[static_cast<std::size_t>(j.slot.tag)]++ : 0;
  if (st) want = expectation_for(j.slot.tag, nth);
  last_want_ = want;
  const std::string observation = std::to_string(r.code) + " to " + answered(j.slot);
  const std::string what = results::visible(j.slot.describe().substr(0, 200));
  if (st && nth == 0 && !st->precondition.empty() && !st->precondition.lists(r.code)) {
    // The server refused something the case needs, for a reason the RFC allows
    // (the model has judged the reply itself): nothing after it can be judged.
    inconclusive("the server answered " + first_line(r) + " to " + what + ", where the case needs " +
                 st->precondition.to_string() + " to go on");
    return;
  }
  if (st && !st->fails_on.empty() && st->fails_on.lists(r.code))
    add(c_.level, main_cite(), what + ": " + std::to_string(r.code) + " at this point breaks the case's requirement: " +
        c_.requirement, "not " + st->fails_on.to_string(), first_line(r), observation, false, c_.requirement);
  // A narrowed expectation says what the case's requirement allows. Where the model
  // has already graded the same reply at least as strongly, that finding says it:
  // one reply, one finding.
  const bool model_said_so = !j.grade.conforming() && j.grade.strength <= c_.level;
  if (want && (!want->codes.empty() || want->classes != 0) && !allows(*want, r) && !model_said_so)
    add(c_.level, main_cite(), what + ": " + c_.requirement, want->to_string(), first_line(r), observation, false,
        c_.requirement);
  // A step that expects the close (alone): after 221/421 the exchange waits for it.
  const bool close_only = want && want->close && want->codes.empty() && want->classes == 0;
  if (close_only && r.code != 221 && r.code != 421 && !x_->closed() &&
      !x_->wait_for_close(std::min(s_.reply_timeout, milliseconds(3000))))
    add(c_.level, main_cite(), "the server did not close the connection: " + c_.requirement, "close", "still open",
        "open after " + std::to_string(r.code));
}

bool case_run::close_allowed(const ref::reply_slot* front) {
  // A step may allow the close instead of its reply, or right after it (e.g. RFC
  // 5321 7.8 defences).
  if (last_want_ && last_want_->close) return true;
  if (!front) return false;
  const int n = front->tag >= 0 && front->tag < static_cast<int>(replies_per_step_.size())
                    ? replies_per_step_[static_cast<std::size_t>(front->tag)]
                    : 0;
  const auto* want = expectation_for(front->tag, n);
  return want && want->close;
}

bool case_run::connect_and_greet() {
  switch (x_->connect_and_greet()) {
    case exchange::greeting_status::ok: return true;
    case exchange::greeting_status::cannot_connect: {
      const auto& r = x_->connect_result();
      error_ = "cannot connect to " + s_.target.to_string() + ": " + std::string(to_string(r.status)) + " " + r.detail;
      return false;
    }
    case exchange::greeting_status::tls_failed:
      error_ = x_->certificate_untrusted() ? certificate_advice(x_->tls_problem())
                                           : "implicit TLS: " + x_->tls_problem();
      return false;
    case exchange::greeting_status::none:
      stop_ = true;
      return true;
    case exchange::greeting_status::refused:
      inconclusive(x_->greeting().code == 0 ? std::string("the server's greeting could not be read")
                                            : "the server refused the session with " + first_line(x_->greeting()));
      return true;
  }
  return false;
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
  auto& x = *x_;
  switch (st.what) {
    case step::kind::send:
      if (!x.write(expand(st.lines.front()) + "\r\n")) return false;
      if (st.expect.none) {
        x.drain(std::max(s_.settle, milliseconds(500)));
        return true;
      }
      return x.await_owed();
    case step::kind::batch: {
      std::string all;
      for (const auto& l : st.lines) all += expand(l) + "\r\n";
      if (!x.write(all)) return false;
      return x.await_owed();
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
        if (!x.write(std::string_view(bytes).substr(from, to - from))) return false;
        from = to;
      }
      if (st.expect.close) {
        if (!x.wait_for_close(s_.reply_timeout))
          add(c_.level, main_cite(), "the server did not close the connection: " + c_.requirement, "close", "open",
              "open after the octets");
        return false;
      }
      if (st.expect.none) {
        x.drain(std::max(s_.settle, milliseconds(500)));
        return true;
      }
      return x.await_owed();
    }
    case step::kind::data: {
      if (x.where() != ref::phase::data) {
        inconclusive("the server did not accept DATA (no 354), so the mail data could not be sent");
        return false;
      }
      if (!x.write(ref::encode_data(expand(st.bytes)))) return false;
      return x.await_owed();
    }
    case step::kind::bdat: {
      std::string chunk = expand(st.bytes);
      std::string line = "BDAT " + std::to_string(st.bdat_size.value_or(chunk.size())) + (st.bdat_last ? " LAST" : "");
      if (!x.write(line + "\r\n" + chunk)) return false;
      return x.await_owed();
    }
    case step::kind::starttls: {
      if (!x.write("STARTTLS\r\n" + expand(st.bytes))) return false;
      // Every reply that came may have been judged before a close: what matters
      // here is whether STARTTLS got 220.
      if (!x.await_owed() && x.owed() > 0) return false;
      if (x.where() != ref::phase::tls_handshake) {
        inconclusive("the server did not answer STARTTLS with 220, so TLS could not be started");
        return false;
      }
      // Anything arriving before a command inside TLS answers the injected plaintext:
      // the injection worked (CVE-2011-0411). The exchange's NOOP and sync probe
      // inside TLS flush it out.
      if (!x.follow_into_tls(true)) {
        // A handshake that failed is the server's TLS set-up, not a rule of RFC 3207;
        // one that hung is a finding of the exchange (which then wins over this).
        if (!x.tls_problem().empty() && !x.certificate_untrusted())
          inconclusive("the TLS handshake after 220 to STARTTLS failed (" + x.tls_problem() +
                       "), so nothing inside TLS could be checked");
        return false;
      }
      tls_used_ = results::tls_mode::starttls;
      return true;
    }
    case step::kind::wait:
      std::this_thread::sleep_for(std::min(st.duration, x.remaining(st.duration)));
      return true;
    case step::kind::read:
      x.drain(st.duration);
      return true;
    case step::kind::expect_close:
      if (!x.wait_for_close(x.remaining(st.duration)))
        add(c_.level, main_cite(), "the server did not close the connection: " + c_.requirement, "close",
            "still open after " + std::to_string(st.duration.count()) + " ms", "open when the close was expected");
      return true;
    case step::kind::close:
      x.close();
      return false;
  }
  return true;
}

void case_run::run_checks() {
  const auto& k = c_.checks;
  if (k.accepted_messages && accepted_ > *k.accepted_messages) {
    std::string text = "the server accepted " + std::to_string(accepted_) + " messages where " +
                       std::to_string(*k.accepted_messages) + " was sent";
    const auto& anomalies = x_->last_anomalies();
    if (!anomalies.empty()) {
      // The same defect as the replies to the smuggled commands (early_end_of_data).
      const std::string a(telling_anomaly(anomalies));
      auto [rule, observation] = early_end_of_data(a);
      add(c_.level, {5321, "4.1.1.4"},
          text + ": it treated " + a + " as end of data, so the smuggled transaction was delivered (" +
              c_.requirement + ")",
          std::to_string(*k.accepted_messages), std::to_string(accepted_), std::move(observation), true,
          std::move(rule));
    } else {
      add(c_.level, main_cite(), text + " (" + c_.requirement + ")", std::to_string(*k.accepted_messages),
          std::to_string(accepted_), "more messages accepted than sent", true, c_.requirement);
    }
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
          "a delivered message", "none", "message not delivered", false, c_.requirement);
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
          results::visible(expand(want)), "absent", "delivered message lacks what was sent", false, c_.requirement);
  for (const auto& bad : k.delivered_lacks)
    if (content.find(normal(expand(bad))) != std::string::npos)
      add(c_.level, main_cite(), "the delivered message holds \"" + results::visible(expand(bad)) + "\": " + c_.requirement,
          "absent", results::visible(expand(bad)), "delivered message holds what it must not", false, c_.requirement);
}

void case_run::finish_session() {
  if (x_->closed()) return;
  // Not judged: the case is over; leave politely so the target keeps no state.
  if (x_->where() == ref::phase::data) conn_.write("\r\n.\r\n", milliseconds(1000));
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
  const results::tls_mode want = tls_for(c_, s_);
  if (want == results::tls_mode::implicit) tls_used_ = results::tls_mode::implicit;
  try {
    start_exchange(want);
    if (connect_and_greet() && !stop_) {
      if (want == results::tls_mode::starttls) {
        const auto setup = x_->setup_starttls(false);
        const std::string why = setup == exchange::starttls_status::not_offered ? "STARTTLS not offered"
                                : setup == exchange::starttls_status::refused   ? "STARTTLS refused"
                                : !x_->tls_problem().empty() ? x_->tls_problem()
                                                             : std::string("STARTTLS could not be set up");
        if (setup == exchange::starttls_status::done) {
          tls_used_ = results::tls_mode::starttls;
        } else if (x_->certificate_untrusted()) {
          // Not the server's fault, and not a reason to go on in plaintext either.
          error_ = certificate_advice(x_->tls_problem());
          stop_ = true;
        } else if (c_.tls == results::tls_mode::starttls) {
          if (skip_reason_.empty() && findings_.empty())
            inconclusive(setup == exchange::starttls_status::failed && x_->tls_problem().empty()
                             ? "STARTTLS is not available on the target"
                             : why);
          stop_ = true;
        } else {
          // The run asked for TLS but it cannot be had: run in plaintext and say so.
          log_.note("TLS could not be had (" + why + "); running in plaintext");
          findings_.clear();
          conn_.close();
          tls_used_ = results::tls_mode::none;
          start_exchange(results::tls_mode::none);
          if (!connect_and_greet()) stop_ = true;
        }
      }
      for (std::size_t i = 0; i < c_.steps.size() && going_on(); ++i) {
        if (x_->out_of_time()) {
          add(ref::level::must, {5321, "4.5.3.2"}, "the case ran out of time (per-case timeout)", {}, {},
              "case out of time");
          break;
        }
        step_ = static_cast<int>(i);
        x_->set_tag(step_);
        const bool went_on = run_step(c_.steps[i]);
        if (c_.steps[i].fails_on.close && x_->closed())
          add(c_.level, main_cite(), "the server closed the connection at this point: " + c_.requirement, "open",
              "closed", "close at this point", false, c_.requirement);
        if (!went_on) break;
        if (!x_->follow_into_tls(false)) break;
        if (x_->tls_active() && tls_used_ == results::tls_mode::none) tls_used_ = results::tls_mode::starttls;
      }
      step_ = -1;
      x_->set_tag(setup_tag);
      // A STARTTLS step whose handshake failed on trust (the exchange made no finding).
      if (error_.empty() && x_->certificate_untrusted()) error_ = certificate_advice(x_->tls_problem());
      if (error_.empty() && going_on()) x_->sync_probe(false);
      else if (!x_->closed() && error_.empty()) x_->drain(s_.settle);
      // The client broke the framing itself (BDAT without CHUNKING, pipelining RFC
      // 2920 3.1 forbids): what the server did next is not its fault.
      if (!x_->unjudged_reason().empty()) inconclusive(x_->unjudged_reason());
      else if (error_.empty()) run_checks();
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

std::string certificate_advice(std::string_view problem) {
  return "the server's TLS certificate is not trusted (" + std::string(problem) +
         "): trust is smtpspec's configuration, not the server's conformance; give --insecure to accept any "
         "certificate, or --ca-file (and --sni) to verify this one";
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
/// the keywords inside TLS), and whether the cases can run as set up: the
/// preflight transaction and the sync probe's unknown verb. Nothing in it is
/// judged: the cases judge the same replies themselves.
class probe_session final : public exchange_user {
 public:
  /// Greeting, EHLO, STARTTLS and EHLO, MAIL, two RCPT, RSET, the unknown verb, QUIT.
  static constexpr int k_commands = 10;

  explicit probe_session(const run_settings& s)
      : s_(s),
        x_(conn_, settings(s), *this,
           clock_type::now() + s.connect_timeout + (k_commands + 2) * s.reply_timeout + milliseconds(1000)) {}

  void finding(exchange_finding) override {}
  void note(std::string_view text) override { log_.note(text); }
  void received(std::string_view bytes) override { received_any_ = received_any_ || !bytes.empty(); }
  void on_reply(const reply_event& e) override {
    if (e.greeting) greeting_readable_ = !e.malformed;
    if (!e.judged) return;
    last_reply_ = *e.reply;
    if (e.judged->slot.v != ref::verb::ehlo) return;
    ehlo_reply_ = *e.reply;
    ehlo_readable_ = !e.malformed;
  }
  void out_of_time(std::string_view) override {}

  exchange& x() { return x_; }
  bool received_any() const { return received_any_; }
  bool greeting_readable() const { return greeting_readable_; }
  /// The last EHLO was answered 250.
  bool greeted_by_ehlo() const { return ehlo_reply_ && ehlo_reply_->code == 250; }
  /// The session can take another command.
  bool usable() const { return !x_.closed() && !x_.stopped(); }

  /// Sends one command line; its reply (the last one judged), or std::nullopt when
  /// none came (the session is then over).
  std::optional<ref::reply> command(const std::string& line) {
    x_.set_tag(0);
    last_reply_.reset();
    if (!x_.write(line + "\r\n")) return std::nullopt;
    x_.await_owed();
    return last_reply_;
  }

  /// The EHLO keywords; std::nullopt when the reply could not be read as an
  /// ehlo-ok-rsp (then `needs` cannot be judged and no case is skipped for it).
  std::optional<std::vector<std::string>> ehlo() {
    ehlo_reply_.reset();
    if (!command("EHLO " + s_.client_domain) || !ehlo_reply_ || !ehlo_readable_) return std::nullopt;
    std::vector<std::string> out;
    if (ehlo_reply_->code != 250) return out;
    auto list = ref::parse_ehlo_reply(*ehlo_reply_);
    if (!list) return std::nullopt;
    for (const auto& e : list->items) {
      std::string k = e.keyword;
      for (const auto& p : e.params) k += " " + p;
      out.push_back(k);
    }
    return out;
  }

  /// The preflight transaction (envelope_check): MAIL FROM:<from>, RCPT TO:<to>
  /// and <to2>, then RSET (RFC 5321 4.1.1.5) so that nothing of it stays.
  envelope_check envelope() {
    envelope_check out;
    auto refused = [&](envelope_check::which w, const std::string& line, const ref::reply& r) {
      // RFC 4954 6 and RFC 3207 4: 530 asks for AUTH or STARTTLS first. 4yz: for
      // now (4.2.1), e.g. greylisting.
      out.result = r.code == 530     ? envelope_check::outcome::auth_required
                   : r.klass() == 4  ? envelope_check::outcome::deferred
                                     : envelope_check::outcome::refused;
      out.command = w;
      out.line = results::visible(line);
      out.reply = first_line(r);
      return out;
    };
    const std::string mail = "MAIL FROM:<" + s_.from + ">";
    const auto m = command(mail);
    if (!m) return out;
    if (m->klass() != 2) return refused(envelope_check::which::from, mail, *m);
    std::vector<std::pair<envelope_check::which, std::string>> rcpts = {{envelope_check::which::to, s_.to}};
    if (!s_.to2.empty() && s_.to2 != s_.to) rcpts.emplace_back(envelope_check::which::to2, s_.to2);
    out.result = envelope_check::outcome::accepted;
    for (const auto& [w, box] : rcpts) {
      const std::string rcpt = "RCPT TO:<" + box + ">";
      const auto r = command(rcpt);
      if (!r) return envelope_check{};
      if (r->klass() != 2) {
        refused(w, rcpt, *r);
        break;
      }
    }
    if (usable()) command("RSET");
    return out;
  }

 private:
  static exchange_settings settings(const run_settings& s) {
    auto xs = exchange_settings_from(s);
    xs.close_wait = milliseconds(1000);
    xs.liveness_check = false;
    return xs;
  }

  const run_settings& s_;
  results::transcript log_{256 * 1024};
  connection conn_{log_};
  exchange x_;
  bool received_any_ = false;  // the target sent something, readable or not
  std::optional<ref::reply> ehlo_reply_, last_reply_;
  bool ehlo_readable_ = false;
  bool greeting_readable_ = false;
};

}  // namespace

target_probe probe_target(const run_settings& s) {
  target_probe t;
  t.info.address = s.target.to_string();
  t.info.tls = s.tls;
  probe_session p(s);
  auto& x = p.x();
  const auto greeted = x.connect_and_greet();
  if (greeted == exchange::greeting_status::cannot_connect) {
    const auto& c = x.connect_result();
    t.problem = std::string(to_string(c.status)) + (c.detail.empty() ? "" : ": " + c.detail);
    return t;
  }
  if (greeted == exchange::greeting_status::tls_failed) {
    t.problem = "implicit TLS: " + x.tls_problem();
    t.certificate_untrusted = x.certificate_untrusted();
    return t;
  }
  if (x.tls_active()) t.info.tls_description = x.tls_description();
  if (greeted == exchange::greeting_status::none && !p.received_any()) {
    t.problem = "no greeting within " + std::to_string(s.reply_timeout.count()) + " ms";
    return t;
  }
  t.reachable = true;
  if (greeted == exchange::greeting_status::none || !p.greeting_readable()) {
    // Something answered but not as a Reply-line: the target is there; the cases
    // will report the malformed greeting themselves.
    t.ehlo_readable = false;
    t.info.banner = "(unparseable greeting)";
    return t;
  }
  const auto& greeting = x.greeting();
  t.info.banner = std::to_string(greeting.code) + (greeting.lines.empty() ? "" : " " + greeting.lines.front());
  if (greeted == exchange::greeting_status::refused) {
    // 3.1: after 554 only QUIT is useful; no case can run.
    t.session_refused = true;
    if (p.usable()) p.command("QUIT");
    x.close();
    return t;
  }
  auto plain = p.ehlo();
  t.ehlo_readable = plain.has_value();
  t.info.extensions = plain.value_or(std::vector<std::string>{});
  // The preflight in the mode the cases run in: plaintext (or implicit TLS), or
  // inside TLS for --tls starttls (some servers take mail only there).
  auto check_envelope = [&] {
    if (s.check_envelope && p.usable() && p.greeted_by_ehlo()) t.envelope = p.envelope();
  };
  if (s.tls != results::tls_mode::starttls) check_envelope();
  if (s.tls == results::tls_mode::implicit) {
    t.info.tls_extensions = t.info.extensions;
  } else if (t.has("STARTTLS", false) && p.usable()) {
    const auto reply = p.command("STARTTLS");
    if (x.where() == ref::phase::tls_handshake) {
      if (x.follow_into_tls(false)) {
        t.info.tls_description = x.tls_description();
        auto in_tls = p.ehlo();
        t.ehlo_readable = t.ehlo_readable && in_tls.has_value();
        t.info.tls_extensions = in_tls.value_or(std::vector<std::string>{});
      } else {
        t.info.tls_problem = "STARTTLS: " + x.tls_problem();
        t.certificate_untrusted = x.certificate_untrusted();
      }
    } else {
      t.info.tls_problem = reply ? "STARTTLS refused: " + first_line(*reply) : std::string("no reply to STARTTLS");
    }
  } else {
    t.info.tls_problem = "STARTTLS not advertised";
  }
  // With --tls starttls and TLS refused, the cases that may go on in plaintext do.
  if (s.tls == results::tls_mode::starttls) check_envelope();
  // The sync probe's verb, once: a server that does not refuse it with 5yz would
  // make every case wait out the reply timeout for a 5yz that never comes.
  if (p.usable()) {
    const auto r = p.command(std::string(sync_probe_verb));
    if (!r || r->klass() != 5) {
      t.sync_by_noop = true;
      t.unknown_verb_reply = r ? first_line(*r)
                             : x.closed() ? std::string("the connection was closed")
                                          : "no reply within " + std::to_string(s.reply_timeout.count()) + " ms";
    }
  }
  if (p.usable()) p.command("QUIT");
  x.close();
  return t;
}

results::case_result run_case(const scenario_case& c, const run_settings& s, const target_probe& t) {
  // needs: the extension must be advertised where the case will run (2.2.1).
  const bool in_tls = tls_for(c, s) != results::tls_mode::none && !t.info.tls_extensions.empty();
  for (const auto& kw : c.needs) {
    if (t.ehlo_readable && !t.has(kw, in_tls)) {
      results::case_result out = result_for(c);
      // Through decide_verdict, so that assign_defects, which decides again, keeps it.
      results::decide_verdict(out, s.strict, "", "the target does not advertise " + kw + (in_tls ? " inside TLS" : ""));
      return out;
    }
  }
  if (c.client) {
    // A client case: smtpspec must play the server (`smtpspec client`).
    results::case_result out = result_for(c);
    results::decide_verdict(out, s.strict, "a client case: run it with 'smtpspec client'", "");
    return out;
  }
  case_run run(c, s, t);
  return run.run();
}

std::vector<results::case_result> run_cases(const std::vector<const scenario_case*>& cases, const run_settings& s,
                                   const target_probe& t, const progress_fn& progress) {
  std::vector<results::case_result> results(cases.size());
  // Longest first: the cases that pause (the 4.5.3.2 timeouts wait 2 s each) start
  // before the quick ones, so that the jobs end together. The results keep the
  // selection's order.
  std::vector<std::chrono::milliseconds> planned(cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i)
    for (const auto& st : cases[i]->steps)
      if (st.what == step::kind::wait || st.what == step::kind::read) planned[i] += st.duration;
  std::vector<std::size_t> order(cases.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return planned[a] > planned[b]; });
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  auto worker = [&] {
    while (true) {
      const std::size_t n = next.fetch_add(1);
      if (n >= cases.size()) return;
      const std::size_t i = order[n];
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
