// The transcript of one case: every octet each way with its time, and the
// moments that matter for reading it (TLS started, connection closed, notes).
// Reports render it; nothing in it is trusted (server bytes are attacker-controlled).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smtpspec::results {

struct transcript_event {
  enum class kind : std::uint8_t {
    client_bytes,   ///< octets the client (smtpspec or the client under test) sent
    server_bytes,   ///< octets the server sent
    tls_started,    ///< the TLS handshake completed; later octets are inside TLS
    closed,         ///< the connection ended (detail says who/how)
    note,           ///< a remark by the harness (deadline passed, step started...)
  };
  kind what = kind::note;
  std::chrono::microseconds at{0};  ///< since the transcript started
  std::string bytes;                ///< octets, or the text of a note
};

class transcript {
 public:
  /// Octets kept in total; beyond it events are truncated and `truncated()` is set,
  /// so an endless peer cannot exhaust memory (reports show a marker). Every event
  /// also counts `event_overhead` octets against the limit: a peer trickling one
  /// octet per segment must not be able to grow the event list without bound.
  /// After truncation only a few tls_started/closed events are still kept, so a
  /// report can say how the connection ended.
  explicit transcript(std::size_t limit = 4 * 1024 * 1024);

  /// Bookkeeping cost charged per event (roughly sizeof(transcript_event)).
  static constexpr std::size_t event_overhead = sizeof(transcript_event);

  void client(std::string_view bytes) { add(transcript_event::kind::client_bytes, bytes); }
  void server(std::string_view bytes) { add(transcript_event::kind::server_bytes, bytes); }
  void tls_started(std::string_view detail = {}) { add(transcript_event::kind::tls_started, detail); }
  void closed(std::string_view detail) { add(transcript_event::kind::closed, detail); }
  void note(std::string_view text) { add(transcript_event::kind::note, text); }

  const std::vector<transcript_event>& events() const noexcept { return events_; }
  bool truncated() const noexcept { return truncated_; }
  std::uint64_t dropped_octets() const noexcept { return dropped_; }
  std::size_t limit() const noexcept { return limit_; }
  /// Octets charged so far (payload plus event_overhead per event); <= limit().
  std::size_t kept() const noexcept { return kept_; }
  /// Plain-text rendering, one line per transmitted line: "C: " and "S: "
  /// prefixes, "-- " for TLS, close and notes; octets through visible()
  /// (visible.hpp).
  std::string to_text() const;

 private:
  void add(transcript_event::kind k, std::string_view bytes);

  std::chrono::steady_clock::time_point start_;
  std::vector<transcript_event> events_;
  std::size_t limit_;
  std::size_t kept_ = 0;
  std::uint64_t dropped_ = 0;
  std::size_t after_truncation_ = 0;  // boundary events kept past the limit
  bool truncated_ = false;
};

}  // namespace smtpspec::results
