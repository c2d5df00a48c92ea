// One case's transcript as HTML: a row per write/read with its time (ms since the
// connection started), client and server octets in two colours with every
// control and non-UTF-8 octet visible (a smuggling case must be readable octet by
// octet), the TLS boundary and the close marked, harness notes muted. The octets
// shown are bounded by the budget; a marker says how many were left out.
#include "html_parts.hpp"

namespace smtpspec::reports::html {
namespace {

using kind = results::transcript_event::kind;

/// Octets of a TLS/close detail or a note shown (they are harness text that may
/// quote the peer, so they are bounded too).
constexpr std::size_t detail_limit = 1024;
/// Connection-boundary events still shown after the cut: how the session ended.
constexpr std::size_t boundaries_after_cut = 4;

bool is_octets(kind k) { return k == kind::client_bytes || k == kind::server_bytes; }

void row_start(std::string& out, const char* cls, std::chrono::microseconds at, const char* label) {
  out += "<div class=\"e ";
  out += cls;
  out += "\"><b>";
  out += format_ms(at);
  out += "</b><u>";
  out += label;
  out += "</u><span>";
}

void render_event(std::string& out, const results::transcript_event& e, std::string_view shown) {
  switch (e.what) {
    case kind::client_bytes:
      row_start(out, "c", e.at, "C:");
      escape(out, shown, escape_mode::octets);
      break;
    case kind::server_bytes:
      row_start(out, "s", e.at, "S:");
      escape(out, shown, escape_mode::octets);
      break;
    case kind::tls_started:
      row_start(out, "tls", e.at, "");
      out += "TLS handshake complete: the octets below travel inside TLS";
      if (!e.bytes.empty()) out += " (", escape(out, e.bytes, escape_mode::text, detail_limit), out += ")";
      break;
    case kind::closed:
      row_start(out, "end", e.at, "");
      out += "connection closed";
      if (!e.bytes.empty()) out += ": ", escape(out, e.bytes, escape_mode::text, detail_limit);
      break;
    case kind::note:
      row_start(out, "n", e.at, "#");
      escape(out, shown, escape_mode::text, detail_limit);
      break;
  }
  out += "</span></div>\n";
}

}  // namespace

void render_transcript(std::string& out, const results::case_result& c, transcript_budget& budget) {
  if (c.transcript.empty()) {
    out += "<p class=note>No transcript: the case made no connection.</p>\n";
    return;
  }
  const std::size_t allowance = budget.allowance();
  std::size_t used = 0;
  bool cut = false;
  std::uint64_t omitted = 0;
  std::size_t boundaries = 0;
  std::string tail;  // boundary events after the cut, rendered after the marker
  out += "<div class=tx>\n";
  for (const auto& e : c.transcript) {
    const bool payload = is_octets(e.what) || e.what == kind::note;
    if (!cut) {
      const std::size_t cost = (payload ? e.bytes.size() : std::min(e.bytes.size(), detail_limit)) + event_cost;
      if (used + cost <= allowance) {
        render_event(out, e, e.bytes);
        used += cost;
        continue;
      }
      cut = true;
      // Show what fits of the event that crosses the limit, so the cut falls at
      // the limit and not at an event boundary far before it.
      const std::size_t room = allowance > used + event_cost ? allowance - used - event_cost : 0;
      if (payload && room > 0) {
        const std::size_t n = utf8_cut(e.bytes, room);
        render_event(out, e, std::string_view(e.bytes).substr(0, n));
        omitted += e.bytes.size() - n;
      } else if (payload) {
        omitted += e.bytes.size();
      } else {
        render_event(out, e, e.bytes);
        ++boundaries;
      }
      used = allowance;
      continue;
    }
    if (payload) omitted += e.bytes.size();
    else if (boundaries++ < boundaries_after_cut) render_event(tail, e, e.bytes);
  }
  if (cut) {
    out += "<div class=cut>";
    escape(out, omitted_marker(omitted));
    out += " (the report shows ";
    out += std::to_string(allowance);
    out += " octets of transcript per case)</div>\n";
    out += tail;
  }
  if (c.transcript_truncated)
    out += "<div class=cut>\u2026 the rest was not recorded: the transcript reached its limit while the case "
           "ran</div>\n";
  out += "</div>\n";
  budget.spend(used);
}

}  // namespace smtpspec::reports::html
