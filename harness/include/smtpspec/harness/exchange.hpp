// The judged exchange: one client-side SMTP conversation with a target server in
// which every reply is judged. The conformance runner (runner.cpp), the network
// fuzzer's session player (fuzz/net/session_player.cpp), the target probe and
// relay mode all talk to servers through it; none of them reads replies itself.
//
// How replies are matched to what was sent: every octet written is also fed to
// reference::client_stream, which frames it exactly as a strict server must
// (command lines end in CRLF, RFC 5321 2.3.8; mail data ends only at
// <CRLF>.<CRLF>, 4.1.1.4; BDAT chunks are counted, RFC 3030 2; plaintext queued
// behind 220 to STARTTLS is not a command, RFC 3207 4) and keeps one reply slot
// per command, end of data or SASL line. The server's octets become replies in
// reference::reply_reader only. Each reply fills the oldest slot (RFC 2920 3.2)
// and is graded by the session model in the state the earlier replies led to.
// A reply with no slot means the server read the octets differently from a
// strict server (smuggling, injection): RFC 5321 4.2, "Every command MUST generate
// exactly one reply".
//
// What the exchange decides, once for every user:
//   * a malformed reply is one finding (the reader's error); one whose code was
//     read is judged with that code, one without a code fills its slot unjudged;
//   * a reply that answers nothing sent is explained (a look-alike of the end of
//     data, plaintext behind STARTTLS, the sync probe's slot), and a reply that
//     arrives while the framing is still inside mail data proves an early end of
//     data (4.1.1.4);
//   * replies lost (a reply only a later command can get) end the judging;
//   * what a close means (after 221/421, a 7.8 defence, a crash, or a 3.8 drop),
//     whichever side of the socket noticed it: a failed write feeds the octets to
//     the framing as a successful one does, and reads what is left first;
//   * 221 and 421 are followed by a close (4.1.1.10, 3.8); a 421 that answers the
//     sync probe, or no command, and is followed by the close is not a
//     desynchronisation;
//   * octets the client sent where RFC 2920 3.1 or RFC 3030 2 say it must not (in
//     one write after DATA, STARTTLS, AUTH or QUIT; pipelining not offered; BDAT
//     to a server without CHUNKING) excuse what follows: the session is then
//     observed, not judged (unjudged_reason()).
// Every wait has a deadline: the reply timeout, capped by the user's deadline
// (the case's, the session's budget).
//
// The user keeps what only it knows: the runner its steps and checks (narrowed
// expectations, accepted messages, delivery), the player its actions and
// observations. It hears of findings, notes and replies through exchange_user.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtpspec/harness/connection.hpp"
#include "smtpspec/reference/client_stream.hpp"
#include "smtpspec/reference/reply_reader.hpp"
#include "smtpspec/results/rfc_ref.hpp"
#include "smtpspec/results/tls_mode.hpp"

namespace smtpspec::harness {

/// What a finding says about the server (the network fuzzer selects by these).
enum class finding_kind : std::uint8_t {
  crash,    ///< the target stopped accepting connections after having accepted them
  hang,     ///< no reply within the deadline while the strict framing says one is owed
  drop,     ///< the server closed mid-session without 221/421 (RFC 5321 3.8)
  desync,   ///< a reply that answers no command sent, or replies lost (RFC 5321 4.2)
  illegal,  ///< a reply the model forbids here at MUST level
  should,   ///< the same at SHOULD level
  syntax,   ///< a malformed reply (4.2 grammar), or reply content breaking a MUST
  note,     ///< MAY level: shown, never a failure (e.g. a 7.8 defence). Stays last.
};
std::string_view to_string(finding_kind k) noexcept;

struct exchange_finding {
  finding_kind kind = finding_kind::illegal;
  reference::level strength = reference::level::must;
  results::rfc_ref cite;
  std::string text;      ///< what happened and what the RFC says
  std::string expected;  ///< e.g. "221"
  std::string observed;  ///< e.g. "250 2.0.0 OK" (untrusted, made visible)
  int tag = -1;          ///< the tag of the write being played when it was found
  /// With `cite` and `observation`, names the distinct defect (results/finding.hpp):
  /// words that do not depend on the case (no arguments, no nonces).
  std::string rule, observation;
  /// The server read octets differently from a strict server (smuggling, injection).
  /// Lost replies and lost input are not (they show missing replies, not executed octets).
  bool security = false;
};

/// The verb of the sync probe: one no server can know (RFC 5321 4.2.4 wants 500).
inline constexpr std::string_view sync_probe_verb = "XSMTPSPEC-SYNC";

/// Tags of the octets the exchange writes itself (users tag theirs >= 0).
inline constexpr int setup_tag = -1;  ///< set-up (EHLO/STARTTLS for --tls starttls), closing
inline constexpr int noop_tag = -2;   ///< the NOOP before the sync probe inside TLS
inline constexpr int probe_tag = -3;  ///< the sync probe

/// One reply as the user sees it, after the exchange judged it.
struct reply_event {
  const reference::reply* reply = nullptr;
  reference::phase before = reference::phase::connecting;  ///< the model's phase when it arrived
  /// The slot it answered; nullptr for the greeting and for a reply that answered nothing sent.
  const reference::judged_reply* judged = nullptr;
  bool greeting = false;
  /// Its code was read (a malformed reply without one fills its slot unjudged).
  bool readable = true;
  /// It broke the reply grammar (4.2); the finding has been made.
  bool malformed = false;
  /// The exchange graded it: false for an unreadable reply (no code), the sync
  /// probe's, a refusal of octets the client should not have sent, and any reply
  /// once the session is no longer judged.
  bool graded = false;
};

/// Where the exchange's waits went (the fuzzer prints them).
enum class exchange_wait : std::uint8_t {
  connect,      ///< connecting, and the reconnect that checks a target is still alive
  tls,          ///< TLS handshakes and the wait for TLS 1.3 session tickets
  short_wait,   ///< adaptive waits that ran out (replies held after a partial line, broken pipelining)
  after_close,  ///< reading after the client's own half-close
  close_wait,   ///< waiting for the server's close after 221/421
  count_
};
inline constexpr std::size_t exchange_wait_count = static_cast<std::size_t>(exchange_wait::count_);

/// What the exchange tells its user.
class exchange_user {
 public:
  virtual ~exchange_user() = default;
  virtual void finding(exchange_finding f) = 0;
  virtual void note(std::string_view text) = 0;
  /// Octets about to be written / just read (the connection's transcript has them too).
  virtual void sent(std::string_view) {}
  virtual void received(std::string_view) {}
  virtual void tls_started(std::string_view /*description*/) {}
  /// Every reply, the greeting included, once judged (before the close that
  /// follows 221/421 is awaited). The user may call the exchange from here.
  virtual void on_reply(const reply_event&) {}
  /// The server closed while `front` was owed (nullptr: nothing was): true when the
  /// user allows that here (a step that expects a close).
  virtual bool close_allowed(const reference::reply_slot* /*front*/) { return false; }
  /// The user's deadline passed while waiting for a reply to `what`.
  virtual void out_of_time(std::string_view what) = 0;
};

struct exchange_settings {
  endpoint_spec target;
  /// implicit: TLS before the greeting (RFC 8314). starttls is the user's to ask
  /// for (setup_starttls()).
  results::tls_mode tls = results::tls_mode::none;
  client_tls_options tls_options;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds reply_timeout{10000};
  /// How long the server has to close after 221 or 421 (capped by reply_timeout).
  std::chrono::milliseconds close_wait{3000};
  /// Quiet time after the sync probe, to catch late replies (0: none).
  std::chrono::milliseconds settle{20};
  /// Also judge reply content (session::check_reply): greeting and EHLO grammar,
  /// enhanced status codes.
  bool reply_content = false;
  /// After an unannounced close, connect once more: refused means the target died.
  bool liveness_check = true;
  /// After 221/421 inside TLS, wait for the server's close and judge it. Off, the
  /// client closes at once (the fuzzer: a close_notify after 221 waits for a
  /// delayed ACK, and after our own close_notify TLS does not report the server's).
  bool judge_close_in_tls = true;
  /// Adaptive waits: set, the exchange learns the target's reply latency here
  /// (a moving average kept across sessions by the caller) and waits only a few
  /// times that for replies that may be held back (after octets that end inside a
  /// line, or after pipelining RFC 2920 3.1 forbids). Unset, those waits are the
  /// full reply timeout, so that no verdict depends on a short wait.
  double* latency_ms = nullptr;
  /// Appended to the sync probe's verb (a nonce makes it unique to a case).
  std::string probe_suffix;
  /// The server does not answer an unknown verb with 5yz (target_probe found so):
  /// the sync probe is then a NOOP, and replies are matched by count alone (a stray
  /// reply takes the NOOP's slot and the NOOP's own reply then answers nothing).
  bool sync_with_noop = false;
  std::string client_domain = "client.smtpspec.test";  ///< EHLO domain of setup_starttls
};

/// "250 2.0.0 OK (+2 lines)": a reply in one line for findings, made visible and bounded.
std::string first_line(const reference::reply& r);
/// The anomaly that best explains a desynchronisation: a dot sequence a lenient
/// server may take for end of data, rather than the bare LF or CR inside it.
std::string_view telling_anomaly(const std::vector<reference::data_anomaly_record>& found);
/// What a reply in this slot answers, in a defect's words: "MAIL", "an invalid RCPT
/// line", "end of data", "a SASL line" (no arguments: see exchange_finding::rule).
std::string answered(const reference::reply_slot& s);
/// The defect of a server that ends mail data at something else than <CRLF>.<CRLF>
/// (RFC 5321 4.1.1.4), however it shows: a reply before the real end, replies to the
/// smuggled commands, a second message accepted. One server behaviour, one defect
/// per look-alike: {rule, observation}, cited as RFC 5321 4.1.1.4.
std::pair<std::string, std::string> early_end_of_data(std::string_view anomaly);

/// The settings every user names alike (run_settings, fuzz::player_settings):
/// target, TLS (only implicit TLS is the exchange's to start), timeouts, EHLO domain.
template <class Settings>
exchange_settings exchange_settings_from(const Settings& s) {
  exchange_settings xs;
  xs.target = s.target;
  xs.tls = s.tls == results::tls_mode::implicit ? s.tls : results::tls_mode::none;
  xs.tls_options = s.tls_options;
  xs.connect_timeout = s.connect_timeout;
  xs.reply_timeout = s.reply_timeout;
  xs.client_domain = s.client_domain;
  return xs;
}

class exchange {
 public:
  using clock_type = std::chrono::steady_clock;

  /// `conn` is unconnected; `deadline` bounds every wait (the case's or session's).
  exchange(connection& conn, exchange_settings s, exchange_user& user, clock_type::time_point deadline);
  exchange(const exchange&) = delete;
  exchange& operator=(const exchange&) = delete;

  // --- connecting ---------------------------------------------------------------------------
  enum class greeting_status : std::uint8_t {
    ok,              ///< 220
    refused,         ///< another code (554: only QUIT is useful, 3.1), or an unreadable greeting
    none,            ///< no greeting (a hang or close finding was made)
    cannot_connect,  ///< connect_result() says why
    tls_failed,      ///< implicit TLS handshake failed; connect_result() says why
  };
  /// Connects (numeric addresses without the resolver), starts implicit TLS if set,
  /// reads and judges the greeting (3.1, 4.2).
  greeting_status connect_and_greet();
  const io_result& connect_result() const noexcept { return connect_; }
  const reference::reply& greeting() const noexcept { return greeting_; }

  enum class starttls_status : std::uint8_t { done, not_offered, refused, failed };
  /// EHLO and STARTTLS as set-up (judged like any reply), then the handshake. A
  /// failed handshake is a finding only if `judge_handshake` (the runner says no:
  /// certificate trust is the user's configuration); tls_problem() says why.
  starttls_status setup_starttls(bool judge_handshake);
  /// Why a TLS handshake failed (the connection's detail), if one did.
  const std::string& tls_problem() const noexcept { return tls_problem_; }
  /// A TLS handshake failed because the client did not trust the server's
  /// certificate (io_status::tls_untrusted): the user's configuration, never a finding.
  bool certificate_untrusted() const noexcept { return certificate_untrusted_; }

  // --- writing and reading ------------------------------------------------------------------
  /// The tag of the writes that follow (a step, the first action of a group).
  void set_tag(int tag) noexcept;
  int tag() const noexcept { return tag_; }
  /// Writes `bytes` (in pieces, collecting replies in between) and feeds them to
  /// the framing. False when the connection is gone or the session stopped.
  bool write(std::string_view bytes);
  /// Reads until every owed reply has arrived. False when the session cannot go
  /// on (closed, stopped, out of time); a hang or close has then been judged.
  bool await_owed();
  /// Reads and judges what arrives until `quiet` passes without a reply.
  void drain(std::chrono::milliseconds quiet);
  /// Reads (and judges) until the server closes; true if it did within `timeout`.
  /// That close is expected, not judged.
  bool wait_for_close(std::chrono::milliseconds timeout);
  /// After 220 to STARTTLS: the handshake, then (when plaintext was queued behind
  /// STARTTLS, or `probe`) a NOOP and the sync probe inside TLS (RFC 3207 4).
  /// True when the session goes on (also when there was nothing to follow).
  bool follow_into_tls(bool probe = false);
  /// Collects every reply the server still owes without waiting on a clock: an
  /// unknown verb (5yz, 4.2.4) whose reply comes after all earlier ones (RFC 2920
  /// 3.2); a NOOP with exchange_settings::sync_with_noop. `after_tls`: a judged NOOP
  /// first. Where no command can be sent (mail data, SASL, owed replies), a quiet
  /// wait instead.
  void sync_probe(bool after_tls = false);
  /// The client sends nothing more (FIN), then reads what the server still says
  /// for `read_for`; inside TLS the client just closes.
  void half_close(std::chrono::milliseconds read_for);
  /// The client closes the connection (not judged).
  void close();

  // --- state --------------------------------------------------------------------------------
  const reference::client_stream& stream() const noexcept { return stream_; }
  reference::phase where() const noexcept { return stream_.model().state().where; }
  bool closed() const noexcept { return closed_; }
  /// The session cannot go on: closed, a finding that ends it, out of time.
  bool stopped() const noexcept { return stop_; }
  /// Why the rest of the session is not judged (the client broke the framing
  /// itself; see the header comment); empty while it is.
  const std::string& unjudged_reason() const noexcept { return unjudged_reason_; }
  bool tls_active() const noexcept { return conn_.tls_active(); }
  std::string tls_description() const { return conn_.tls_description(); }
  bool tls_was_started() const noexcept { return tls_started_; }
  /// Replies read (greeting included), and those that answered nothing sent.
  std::uint64_t replies() const noexcept { return replies_; }
  std::uint64_t unexpected_replies() const noexcept { return unexpected_; }
  std::chrono::microseconds spent(exchange_wait w) const noexcept { return spent_[static_cast<std::size_t>(w)]; }
  /// Replies owed now: open slots, less a BDAT whose chunk is not complete yet
  /// (its reply comes after the chunk, RFC 3030 2).
  std::size_t owed() const;
  /// Octets still due in the BDAT chunk being read: the least k for which k octets
  /// and a CRLF complete a line. std::nullopt: not in a chunk.
  std::optional<std::uint64_t> chunk_left() const;
  /// Would writing `bytes` now open a reply slot?
  bool frames_a_slot(std::string_view bytes) const;
  /// The last reply that answered something (0 before any).
  int last_code() const noexcept { return last_code_; }
  /// What the mail data of the last end of data held.
  const std::vector<reference::data_anomaly_record>& last_anomalies() const noexcept { return last_anomalies_; }
  std::chrono::milliseconds remaining(std::chrono::milliseconds cap) const;
  bool out_of_time() const { return clock_type::now() >= deadline_; }

 private:
  enum class got : std::uint8_t { item, timeout, closed };
  /// The next item, reading for at most `timeout` (at least one read, even for 0).
  got read_item(reference::reply_item& out, std::chrono::milliseconds timeout);
  /// The next item among the octets already read, without reading.
  bool buffered_item(reference::reply_item& out);
  bool item_findings(const reference::reply_item& item);
  void process(reference::reply_item item);
  void judge(const reference::reply& r, bool readable, bool malformed);
  void answered_nothing(const reference::reply& r, reply_event ev, bool in_data, bool readable);
  /// Why a reply answered nothing sent: text for the finding, and the defect it
  /// shows (cite, rule, observation).
  struct unexpected_why {
    std::string text;
    results::rfc_ref cite;
    std::string rule, observation;
  };
  unexpected_why explain_unexpected(bool in_probe_slot) const;
  void grade(const reference::judged_reply& j, const reference::reply& r, std::string_view what,
             std::string_view answers);
  void after_closing_reply(const reference::reply& r);
  const reference::reply_slot* owner_further_on(const reference::reply& r) const;
  void on_close(std::string_view context);
  /// `held`: replies read while the write was going on, judged after `rest` is fed.
  void after_write_failure(std::string_view rest, std::vector<reference::reply_item>& held);
  void feed(std::string_view bytes, std::size_t& slots_made);
  bool follow(bool probe, bool judged);
  void stop_judging(std::string reason);
  io_result connect();
  io_result handshake();
  void absorb_tickets();
  std::chrono::milliseconds short_wait(double factor, std::chrono::milliseconds at_least) const;
  void add(finding_kind k, reference::level l, results::rfc_ref cite, std::string text, std::string expected,
           std::string observed, std::string rule, std::string observation, bool security = false);
  void note(std::string_view text) { user_.note(text); }

  class timer;

  connection& conn_;
  exchange_settings s_;
  exchange_user& user_;
  clock_type::time_point deadline_;
  reference::client_stream stream_;
  reference::reply_reader reader_;
  std::string inbox_;  // server octets not yet given to the reader
  reference::reply greeting_;
  io_result connect_;
  std::string tls_problem_;
  bool certificate_untrusted_ = false;
  bool refused_overlong_line_ = false;  // a 5yz answered a command line over 512 octets
  int tag_ = setup_tag;
  int last_write_tag_ = setup_tag;
  int fd_ = -1;                  // the connected socket (numeric targets), for poll() only
  bool closed_ = false;          // the connection is gone
  bool stop_ = false;            // the session cannot go on
  bool unjudged_ = false;        // observed, not judged (unjudged_reason_)
  bool half_closed_ = false;     // the client sent its FIN
  bool closing_reply_ = false;   // a 221 or 421 arrived, whatever it answered
  bool expecting_close_ = false; // inside wait_for_close
  bool close_judged_ = false;
  bool eof_read_ = false;        // the reader was told the stream ended
  bool tls_started_ = false;
  bool refused_mail_data_ = false;  // 4yz/5yz before the end of mail data, then the close
  int answered_in_tag_ = 0;         // replies to slots of the current tag
  bool probe_answered_ = false, probe_displaced_ = false;
  std::string unjudged_reason_;
  std::string last_octets_;  // the last two octets written
  std::set<int> unpermitted_pipelining_;  // tags that pipelined without PIPELINING (RFC 2920 3.1)
  std::set<int> unwaited_;                // tags that sent on without waiting for DATA/STARTTLS/AUTH/QUIT
  bool unread_marked_ = false;  // octets not yet framed came from a write in one of those sets
  int refusals_ = 0;            // 5yz replies so far (RFC 5321 7.8 defences)
  int last_code_ = 0;
  std::vector<reference::data_anomaly_record> last_anomalies_;
  std::uint64_t replies_ = 0, unexpected_ = 0;
  std::chrono::microseconds spent_[exchange_wait_count] = {};
};

}  // namespace smtpspec::harness
