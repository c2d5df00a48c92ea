// The bounded transcript; see transcript.hpp.
#include "smtpspec/results/transcript.hpp"

#include <algorithm>

#include "smtpspec/results/visible.hpp"

namespace smtpspec::results {
namespace {

/// Boundary events (TLS started, closed) still recorded once the limit is hit:
/// few enough to keep memory bounded, enough to show how the session ended.
constexpr std::size_t k_boundary_events_after_truncation = 8;

bool is_boundary(transcript_event::kind k) noexcept {
  return k == transcript_event::kind::tls_started || k == transcript_event::kind::closed;
}

std::string_view prefix(transcript_event::kind k) noexcept {
  switch (k) {
    case transcript_event::kind::client_bytes: return "C: ";
    case transcript_event::kind::server_bytes: return "S: ";
    case transcript_event::kind::tls_started: return "-- TLS started";
    case transcript_event::kind::closed: return "-- closed";
    case transcript_event::kind::note: return "-- note";
  }
  return "-- ";
}

/// One line per transmitted line (split after each LF) so multi-line replies and
/// pipelined commands read naturally; a bare CR or LF is still visible in the text.
void render_octets(std::string& out, std::string_view p, std::string_view bytes) {
  if (bytes.empty()) {
    out += p;
    out += '\n';
    return;
  }
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    std::size_t n = nl == std::string_view::npos ? bytes.size() : nl + 1;
    out += p;
    out += visible(bytes.substr(0, n));
    out += '\n';
    bytes.remove_prefix(n);
  }
}

}  // namespace

transcript::transcript(std::size_t limit) : start_(std::chrono::steady_clock::now()), limit_(limit) {}

void transcript::add(transcript_event::kind k, std::string_view bytes) {
  const auto at = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_);
  if (truncated_) {
    dropped_ += bytes.size();
    if (is_boundary(k) && after_truncation_ < k_boundary_events_after_truncation) {
      ++after_truncation_;
      events_.push_back({k, at, std::string(bytes.substr(0, 200))});
    }
    return;
  }
  const std::size_t room = limit_ - kept_;
  if (room < event_overhead + bytes.size()) {
    // Keep what fits, then stop: the rest of the session is counted, not stored.
    truncated_ = true;
    const std::size_t fits = room > event_overhead ? room - event_overhead : 0;
    dropped_ += bytes.size() - std::min(fits, bytes.size());
    if (fits == 0 && !is_boundary(k)) return;
    kept_ += std::min(room, event_overhead + fits);
    events_.push_back({k, at, std::string(bytes.substr(0, fits))});
    return;
  }
  kept_ += event_overhead + bytes.size();
  events_.push_back({k, at, std::string(bytes)});
}

std::string transcript::to_text() const {
  std::string out;
  for (const auto& e : events_) {
    switch (e.what) {
      case transcript_event::kind::client_bytes:
      case transcript_event::kind::server_bytes:
        render_octets(out, prefix(e.what), e.bytes);
        break;
      default:
        out += prefix(e.what);
        if (!e.bytes.empty()) {
          out += ": ";
          out += visible(e.bytes);
        }
        out += '\n';
        break;
    }
  }
  if (truncated_) out += "-- transcript truncated: " + std::to_string(dropped_) + " octets not kept\n";
  return out;
}

}  // namespace smtpspec::results
