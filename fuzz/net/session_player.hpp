// Plays one fuzzer session (session_input.hpp) against a target SMTP server over a
// real socket and judges every reply the way harness/runner.cpp does: each octet
// sent is framed by reference::client_stream as a strict server must read it, each
// reply fills the oldest reply slot and is graded by the session model in the state
// the earlier replies led to, and a reply with no open slot means the target read
// the octets differently (smuggling, injection, pipelining confusion).
//
// A session never ends by waiting out a timeout: after the last action the player
// completes whatever the strict framing still has open (ends mail data, cancels a
// SASL exchange, fills a BDAT chunk, ends a partial line), sends QUIT and reads
// until the server closes. Timeouts only fire when the server owes a reply.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "session_input.hpp"
#include "smtpspec/harness/connection.hpp"
#include "smtpspec/harness/scenario.hpp"
#include "smtpspec/reference/session.hpp"

namespace smtpspec::fuzz {

/// What the fuzzer can be asked to report (each one a distinct finding kind).
enum class finding_kind : std::uint8_t {
  crash,    ///< the target stopped accepting connections after having accepted them
  hang,     ///< no reply within the deadline while the strict framing says one is owed
  drop,     ///< the server closed mid-session without 221/421 (RFC 5321 3.8)
  desync,   ///< a reply that answers no command sent, or replies lost (RFC 5321 4.2)
  illegal,  ///< a reply the model forbids here at MUST level
  should,   ///< the same at SHOULD level (off by default)
  syntax,   ///< a malformed reply (4.2 grammar), or reply content breaking a MUST
  count_
};
inline constexpr std::size_t finding_kind_count = static_cast<std::size_t>(finding_kind::count_);
std::string_view to_string(finding_kind k) noexcept;
/// Bit set of kinds from "desync,illegal,crash" (also "all", "none", "default").
/// std::nullopt and `error` set when a name is unknown.
std::optional<std::uint32_t> parse_finding_kinds(std::string_view list, std::string& error);
constexpr std::uint32_t kind_bit(finding_kind k) noexcept { return 1u << static_cast<unsigned>(k); }
/// Everything but `should`.
inline constexpr std::uint32_t default_finding_kinds = kind_bit(finding_kind::crash) | kind_bit(finding_kind::hang) |
                                                       kind_bit(finding_kind::drop) | kind_bit(finding_kind::desync) |
                                                       kind_bit(finding_kind::illegal) | kind_bit(finding_kind::syntax);

struct finding {
  finding_kind kind = finding_kind::illegal;
  reference::level strength = reference::level::must;
  results::rfc_ref cite;
  std::string text;      ///< what happened and what the RFC says
  std::string expected;  ///< e.g. "221"
  std::string observed;  ///< e.g. "250 2.0.0 OK" (untrusted)
  int action = -1;       ///< index of the first action of the group being played; -1 setup/end
};

/// Which slot a reply filled, for the state feedback.
enum class slot_class : std::uint8_t {
  // 0..15: reference::verb of a well-formed command
  invalid_line = 16,
  end_of_data = 17,
  sasl_line = 18,
  greeting = 19,
  unexpected = 20,  ///< no slot was open
  count_ = 21
};

/// One reply as the state feedback sees it.
struct observation {
  reference::phase before = reference::phase::connecting;
  std::uint8_t slot = 0;   ///< slot_class value, or a verb (0..15)
  std::uint16_t code = 0;  ///< 0 for a malformed reply
};

struct player_settings {
  harness::endpoint_spec target;
  results::tls_mode tls = results::tls_mode::none;
  harness::client_tls_options tls_options = [] {
    harness::client_tls_options o;
    o.insecure = true;  // fuzzing targets use self-signed certificates
    return o;
  }();
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds reply_timeout{2000};
  /// Bound on one whole session (pauses, many replies); past it the session stops.
  std::chrono::milliseconds session_budget{20000};
  /// Also judge reply content (greeting and EHLO grammar, enhanced status codes).
  bool reply_content = true;
  /// EHLO domain for the STARTTLS set-up of tls = starttls.
  std::string client_domain = "client.smtpspec.test";
  /// After a drop, connect once more: refused means the target died (crash).
  bool liveness_check = true;
  /// Events kept for the transcript tail of a finding report.
  std::size_t transcript_events = 40;
};

/// Where a session's wall time went, for tuning the fuzzer's speed (server_fuzzer
/// prints the sums at exit). The rest of `play_result::duration` is the exchange
/// itself: writes and the replies the server owed.
enum class time_spent : std::uint8_t {
  connect,      ///< connecting (and the liveness check's reconnect after a close)
  tls,          ///< TLS handshakes and the wait for session tickets
  pause,        ///< `pause` actions of the input
  short_wait,   ///< waits that ran out for replies held after a partial line or broken pipelining
  after_close,  ///< reading after the client's own half-close until the server closed
  close_wait,   ///< waiting for the server's close after 221/421
  stray,        ///< reading for stray replies after QUIT was answered without 221
  count_
};
inline constexpr std::size_t time_spent_count = static_cast<std::size_t>(time_spent::count_);
std::string_view to_string(time_spent t) noexcept;

struct play_result {
  bool connected = false;
  harness::io_result connect;  ///< the connect attempt (status refused: nothing listens)
  std::vector<finding> findings;
  std::vector<observation> observations;
  std::string transcript_tail;  ///< "C: ..." / "S: ..." / "-- ..." lines, octets escaped
  std::uint64_t replies = 0;
  std::uint64_t unexpected_replies = 0;
  bool tls = false;        ///< TLS was established at some point
  std::string terminator;  ///< octets the player added after the last action
  std::chrono::microseconds duration{0};
  std::chrono::microseconds spent[time_spent_count] = {};

  bool has(finding_kind k) const;
  /// The first finding whose kind is in `kinds`, preferring desync, crash, drop, hang,
  /// syntax, illegal, should in that order.
  const finding* primary(std::uint32_t kinds) const;
};

class session_player {
 public:
  explicit session_player(player_settings s);
  ~session_player();
  session_player(const session_player&) = delete;
  session_player& operator=(const session_player&) = delete;

  /// Plays one session; never throws (a harness fault becomes a note in the tail).
  play_result play(const session_input& in);
  const player_settings& settings() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace smtpspec::fuzz
