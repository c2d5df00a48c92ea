// Plays a fuzzer session against a target; see session_player.hpp. Everything
// about the exchange itself (writing, reading and judging every reply, closes,
// STARTTLS, the sync probe, adaptive waits) is harness/exchange.hpp, shared with
// the conformance runner; this file keeps the actions of a session, how it ends
// (terminate), the observations the state feedback uses and the time accounting.
#include "session_player.hpp"

#include <algorithm>
#include <deque>
#include <thread>

#include "smtpspec/harness/exchange.hpp"
#include "smtpspec/reference/client_stream.hpp"
#include "smtpspec/results/transcript.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::fuzz {
namespace {

namespace ref = smtpspec::reference;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

/// How long to read after our own half-close (not a finding when it runs out).
constexpr milliseconds k_after_close{500};
/// How long stray replies after a QUIT that was not answered with 221 are read.
constexpr milliseconds k_stray{50};
/// Bound on the events kept for one transcript line.
constexpr std::size_t k_tail_event = 600;

std::uint8_t slot_of(const ref::reply_slot& s) {
  switch (s.what) {
    case ref::reply_slot::kind::command: return static_cast<std::uint8_t>(s.v);
    case ref::reply_slot::kind::invalid_line: return static_cast<std::uint8_t>(slot_class::invalid_line);
    case ref::reply_slot::kind::end_of_data: return static_cast<std::uint8_t>(slot_class::end_of_data);
    case ref::reply_slot::kind::sasl_line: return static_cast<std::uint8_t>(slot_class::sasl_line);
  }
  return static_cast<std::uint8_t>(slot_class::invalid_line);
}

}  // namespace

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

class run final : public harness::exchange_user {
 public:
  run(const player_settings& s, harness::connection& conn, double& latency_ms, const session_input& in)
      : s_(s), conn_(conn), in_(in), x_(conn, settings(s, latency_ms), *this, clock_type::now() + s.session_budget) {}

  play_result go();

  // --- what the exchange reports -------------------------------------------------------
  void finding(harness::exchange_finding f) override {
    if (f.kind == finding_kind::note) {  // MAY level: a remark, not a finding
      note("note: " + f.text);
      return;
    }
    note("finding " + std::string(to_string(f.kind)) + ": " + f.text);
    add(std::move(f));
  }
  void note(std::string_view text) override { tail('-', text); }
  void sent(std::string_view bytes) override { tail('C', bytes); }
  void received(std::string_view bytes) override { tail('S', bytes); }
  void tls_started(std::string_view) override { tail('-', "TLS started"); }
  void on_reply(const harness::reply_event& e) override {
    const std::uint8_t slot = e.greeting  ? static_cast<std::uint8_t>(slot_class::greeting)
                              : e.judged  ? slot_of(e.judged->slot)
                                          : static_cast<std::uint8_t>(slot_class::unexpected);
    out_.observations.push_back({e.before, slot, e.reply->code});
  }
  void out_of_time(std::string_view what) override {
    out_of_budget("waiting for a reply to " + std::string(what));
  }

 private:
  static harness::exchange_settings settings(const player_settings& s, double& latency_ms) {
    auto xs = harness::exchange_settings_from(s);
    xs.settle = milliseconds(0);  // the probe's reply is awaited; nothing else is late
    xs.reply_content = s.reply_content;
    xs.liveness_check = s.liveness_check;
    xs.judge_close_in_tls = false;
    xs.latency_ms = &latency_ms;
    return xs;
  }

  void add(harness::exchange_finding f) {
    fuzz::finding out;
    out.action = f.tag;
    static_cast<harness::exchange_finding&>(out) = std::move(f);
    out_.findings.push_back(std::move(out));
  }
  /// The session's budget (player_settings::session_budget) is spent.
  void out_of_budget(const std::string& doing) {
    harness::exchange_finding f;
    f.kind = finding_kind::hang;
    f.cite = {5321, "4.5.3.2"};
    f.text = "the session ran out of its " + std::to_string(s_.session_budget.count()) + " ms budget" +
             (doing.empty() ? "" : " " + doing);
    f.tag = x_.tag();
    f.rule = "the session's budget";
    f.observation = "session out of time";
    note("finding hang: " + f.text);
    add(std::move(f));
  }

  void tail(char who, std::string_view bytes) {
    std::string line = who == 'C' ? "C: " : who == 'S' ? "S: " : "-- ";
    line += who == '-' ? std::string(bytes.substr(0, k_tail_event)) : results::visible(bytes.substr(0, k_tail_event));
    if (bytes.size() > k_tail_event) line += "... (" + std::to_string(bytes.size()) + " octets)";
    events_.push_back(std::move(line));
    while (events_.size() > s_.transcript_events) events_.pop_front();
  }

  /// Adds the wall time from its construction to its end to one entry of
  /// play_result::spent.
  class timer {
   public:
    timer(play_result& out, time_spent what)
        : slot_(out.spent[static_cast<std::size_t>(what)]), started_(clock_type::now()) {}
    ~timer() { slot_ += std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started_); }
    timer(const timer&) = delete;
    timer& operator=(const timer&) = delete;

   private:
    std::chrono::microseconds& slot_;
    clock_type::time_point started_;
  };

  bool setup_starttls();
  bool play_group(std::size_t first, std::size_t end);
  void terminate();
  bool send_own(std::string_view bytes);
  void collect_stray();

  const player_settings& s_;
  harness::connection& conn_;
  const session_input& in_;
  harness::exchange x_;
  play_result out_;
  std::deque<std::string> events_;
  bool quit_sent_ = false;
};

bool run::setup_starttls() {
  switch (x_.setup_starttls(true)) {
    case harness::exchange::starttls_status::done: return true;
    case harness::exchange::starttls_status::not_offered:
      note("STARTTLS is not offered: the session runs in plaintext");
      return true;
    case harness::exchange::starttls_status::refused: return !x_.stopped();
    case harness::exchange::starttls_status::failed: return false;
  }
  return false;
}

bool run::play_group(std::size_t first, std::size_t end) {
  x_.set_tag(static_cast<int>(first));
  std::string pending;
  for (std::size_t i = first; i < end && !x_.closed(); ++i) {
    const auto& a = in_.actions[i];
    if (a.kind == action_kind::pause) {
      if (!pending.empty() && !x_.write(pending)) return false;
      pending.clear();
      note("pause " + std::to_string(a.pause_ms) + " ms");
      timer t(out_, time_spent::pause);
      std::this_thread::sleep_for(std::min(milliseconds(a.pause_ms), x_.remaining(milliseconds(a.pause_ms))));
      continue;
    }
    if (a.kind == action_kind::close) {
      if (!pending.empty() && !x_.write(pending)) return false;
      x_.half_close(k_after_close);
      return false;
    }
    pending += a.wire();
  }
  if (!pending.empty() && !x_.write(pending)) return false;
  if (!x_.await_owed()) return false;
  return x_.follow_into_tls(false);
}

/// Octets the player adds itself to end the session (play_result::terminator).
bool run::send_own(std::string_view bytes) {
  const int saved = x_.tag();
  x_.set_tag(harness::setup_tag);
  const bool ok = x_.write(bytes);
  x_.set_tag(saved);
  if (ok) out_.terminator += bytes;
  return ok;
}

/// QUIT was answered, but not with 221: collect stray replies briefly and leave.
void run::collect_stray() {
  timer t(out_, time_spent::stray);
  x_.wait_for_close(k_stray);
}

void run::terminate() {
  x_.set_tag(harness::setup_tag);
  for (int round = 0; round < 6 && !x_.closed() && !x_.stopped(); ++round) {
    if (!x_.await_owed() || !x_.follow_into_tls(false)) return;
    const auto where = x_.where();
    if (where == ref::phase::closed) return;
    if (quit_sent_) {
      collect_stray();
      return;
    }
    if (where == ref::phase::data) {
      if (!send_own("\r\n.\r\n")) return;
      continue;
    }
    if (where == ref::phase::auth) {
      if (!send_own("*\r\n")) return;  // RFC 4954 4: cancels the exchange
      continue;
    }
    if (x_.frames_a_slot("\r\n")) {
      auto copy = x_.stream();
      const auto before = copy.open_slots();
      copy.sent("QUIT\r\n", harness::setup_tag);
      const bool quit_is_a_command = copy.open_slots() > before &&
                                     copy.slots().back().what == ref::reply_slot::kind::command &&
                                     copy.slots().back().v == ref::verb::quit;
      if (quit_is_a_command) {
        quit_sent_ = true;
        if (!send_own("QUIT\r\n")) return;
      } else if (!send_own("\r\n")) {  // ends a partial line
        return;
      }
      continue;
    }
    auto left = x_.chunk_left();
    if (left && *left > 0) {
      if (!send_own(std::string(static_cast<std::size_t>(*left), 'x'))) return;
    } else if (!send_own("\r\n")) {  // ends the rest of an over-long line
      return;
    }
  }
  if (!x_.closed() && !x_.stopped() && quit_sent_) collect_stray();
}

play_result run::go() {
  const auto started = clock_type::now();
  try {
    const auto greeted = x_.connect_and_greet();
    out_.connect = x_.connect_result();
    out_.connected = greeted != harness::exchange::greeting_status::cannot_connect &&
                     greeted != harness::exchange::greeting_status::tls_failed;
    if (out_.connected && greeted != harness::exchange::greeting_status::none && !x_.stopped()) {
      bool ok = s_.tls != results::tls_mode::starttls || setup_starttls();
      for (std::size_t i = 0; ok && i < in_.actions.size() && !x_.stopped() && !x_.closed();) {
        std::size_t end = i + 1;
        while (end < in_.actions.size() && in_.actions[end].glued) ++end;
        if (x_.out_of_time()) {
          out_of_budget({});
          break;
        }
        ok = play_group(i, end);
        i = end;
      }
      if (ok && !x_.stopped() && !x_.closed()) terminate();
    }
  } catch (const std::exception& e) {
    note(std::string("harness fault: ") + e.what());
  }
  conn_.close();
  out_.tls = x_.tls_was_started();
  out_.replies = x_.replies();
  out_.unexpected_replies = x_.unexpected_replies();
  auto spent = [&](time_spent t, harness::exchange_wait w) { out_.spent[static_cast<std::size_t>(t)] += x_.spent(w); };
  spent(time_spent::connect, harness::exchange_wait::connect);
  spent(time_spent::tls, harness::exchange_wait::tls);
  spent(time_spent::short_wait, harness::exchange_wait::short_wait);
  spent(time_spent::after_close, harness::exchange_wait::after_close);
  spent(time_spent::close_wait, harness::exchange_wait::close_wait);
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
