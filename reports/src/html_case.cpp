// One case as a <details> element: the summary line (verdict, id, title, level,
// citation, time, notes) is always visible; opening it shows the quoted
// requirement with its RFC links, the facts, every finding that counts here
// (expected against observed), the notes (defects that count in another case,
// linked to it) and the transcript. <details> needs no script, so the report
// reads without JavaScript. The data-* attributes are what the filter script
// matches on.
#include <algorithm>
#include <set>

#include "html_parts.hpp"

namespace smtpspec::reports::html {
namespace {

/// Findings shown per case; more would only repeat themselves.
constexpr std::size_t max_findings = 30;
/// Octets shown of a finding's text, expected and observed: the transcript below
/// has the full exchange, and a hostile server can make every finding long.
constexpr std::size_t finding_limit = 1024;
/// Octets of the text the search looks in (reason included, cut first).
constexpr std::size_t search_limit = 2048;

void attr(std::string& out, std::string_view name, std::string_view value, std::size_t limit) {
  out += ' ';
  out += name;
  out += "=\"";
  escape(out, value, escape_mode::text, limit);
  out += '"';
}

std::string joined(const std::vector<std::string>& v, std::string_view sep) {
  std::string s;
  for (const auto& x : v) {
    if (!s.empty()) s += sep;
    s += x;
  }
  return s;
}

/// What the text search looks in: id, title, suite, tags, citations and reason.
std::string search_text(const results::case_result& c) {
  std::string s = c.id + ' ' + c.title + ' ' + c.suite + ' ' + joined(c.tags, " ");
  for (const auto& r : c.rfc) s += ' ' + r.to_string();
  s += ' ';
  s += std::string_view(c.reason).substr(0, utf8_cut(c.reason, search_limit / 2));
  return s;
}

std::string rfc_numbers(const results::case_result& c) {
  std::set<std::uint16_t> seen;
  std::string s;
  for (const auto& r : c.rfc)
    if (seen.insert(r.rfc).second) s += (s.empty() ? "" : " ") + std::to_string(r.rfc);
  return s;
}

/// Findings that count in another case (case_finding::counted false).
std::size_t note_count(const results::case_result& c) {
  return static_cast<std::size_t>(std::count_if(c.findings.begin(), c.findings.end(), [](const auto& f) { return !f.counted; }));
}

/// One finding. A note (a defect that counts in another case) is drawn apart from
/// the findings that set this case's verdict, and links to the case it counts in.
void render_finding(std::string& out, const results::case_finding& f, const html_options& opt) {
  const auto lvl = reference::to_string(f.strength);
  out += f.counted ? "<div class=\"finding " : "<div class=\"finding noted ";
  escape(out, lvl);
  out += "\"><div class=fh><span class=lvl>";
  escape(out, lvl);
  out += "</span> ";
  if (!f.counted) out += "<span class=nt>note</span> ";
  cite_link(out, f.cite);
  if (f.security) out += " <span class=sec>security</span>";
  if (f.step >= 0) out += " <span>step " + std::to_string(f.step + 1) + "</span>";
  if (!f.counted) {
    out += " <span class=owner>counts in ";
    case_link(out, f.owner, !f.owner.empty(), opt);
    out += "</span>";
  }
  out += "</div><p>";
  const auto limit = std::min(opt.text_limit, finding_limit);
  escape(out, f.text, escape_mode::text, limit);
  out += "</p>";
  if (!f.expected.empty() || !f.observed.empty()) {
    out += "<dl class=eo><dt>Expected</dt><dd>";
    escape(out, f.expected, escape_mode::text, limit);
    out += "</dd><dt>Observed</dt><dd>";
    // Observed text is what the server sent: shown octet-exact.
    escape(out, f.observed, escape_mode::octets, limit);
    out += "</dd></dl>";
  }
  out += "</div>\n";
}

/// The findings that count here (`counted`), or the notes, under their heading.
void render_findings(std::string& out, const results::case_result& c, bool counted, const html_options& opt) {
  std::vector<const results::case_finding*> list;
  for (const auto& f : c.findings)
    if (f.counted == counted) list.push_back(&f);
  if (list.empty()) return;
  if (counted) {
    out += "<h3>Findings (" + std::to_string(list.size()) + ")</h3>\n";
  } else {
    out += "<h3>Notes (" + std::to_string(list.size()) + ")</h3>\n<p class=note>Seen here, counted in another case: "
           "one defect sets one verdict (see Distinct defects).</p>\n";
  }
  for (std::size_t i = 0; i < list.size() && i < max_findings; ++i) render_finding(out, *list[i], opt);
  if (list.size() > max_findings)
    out += "<p class=note>\u2026 " + std::to_string(list.size() - max_findings) +
           (counted ? " more findings not shown</p>\n" : " more notes not shown</p>\n");
}

void render_summary_line(std::string& out, const results::case_result& c, const html_options& opt) {
  out += "<summary>";
  verdict_badge(out, c.outcome);
  out += " <code class=id>";
  escape(out, c.id, escape_mode::text, opt.text_limit);
  out += "</code> <span class=title>";
  escape(out, c.title, escape_mode::text, opt.text_limit);
  out += "</span>";
  if (security_case(c)) out += " <span class=sec>security</span>";
  if (const auto notes = note_count(c))
    out += " <span class=nts>" + std::to_string(notes) + (notes == 1 ? " note</span>" : " notes</span>");
  out += " <span class=meta>";
  escape(out, reference::to_string(c.level));
  if (!c.rfc.empty()) out += " \u00b7 ", escape(out, c.rfc.front().to_string(), escape_mode::text, 200);
  out += " \u00b7 ";
  out += format_ms(c.duration);
  out += " ms</span></summary>\n";
}

void render_facts(std::string& out, const results::case_result& c, const html_options& opt) {
  out += "<dl class=facts><dt>Verdict</dt><dd>";
  verdict_badge(out, c.outcome);
  if (!c.reason.empty()) out += " ", escape(out, c.reason, escape_mode::text, opt.text_limit);
  out += "</dd>";
  // The cases this one's notes count in: a PASS whose reason says "also seen here"
  // leads to the verdict that defect set.
  std::vector<std::string_view> owners;
  for (const auto& f : c.findings)
    if (!f.counted && !f.owner.empty() && std::find(owners.begin(), owners.end(), f.owner) == owners.end())
      owners.push_back(f.owner);
  if (!owners.empty()) {
    out += "<dt>Counted elsewhere</dt><dd>";
    for (std::size_t i = 0; i < owners.size() && i < max_findings; ++i) {
      if (i) out += ", ";
      case_link(out, owners[i], true, opt);
    }
    out += "</dd>";
  }
  out += "<dt>Level</dt><dd><span class=lvl>";
  escape(out, reference::to_string(c.level));
  out += "</span></dd>";
  if (!c.tags.empty()) {
    out += "<dt>Tags</dt><dd>";
    for (const auto& t : c.tags) out += "<span class=tag>", escape(out, t, escape_mode::text, 200), out += "</span>";
    out += "</dd>";
  }
  out += "<dt>Suite</dt><dd>";
  escape(out, c.suite, escape_mode::text, opt.text_limit);
  out += "</dd><dt>Connection</dt><dd>";
  escape(out, c.tls == results::tls_mode::none       ? "plaintext"
              : c.tls == results::tls_mode::starttls ? "STARTTLS (RFC 3207) before the steps"
                                                     : "implicit TLS (RFC 8314)");
  out += "</dd><dt>Duration</dt><dd>" + format_ms(c.duration) + " ms</dd>";
  if (!c.source.empty()) {
    out += "<dt>Source</dt><dd><code>";
    escape(out, c.source, escape_mode::text, opt.text_limit);
    out += "</code></dd>";
  }
  out += "</dl>\n";
}

}  // namespace

void render_case(std::string& out, const results::case_result& c, const html_options& opt, transcript_budget& budget) {
  const auto verdict = results::to_string(c.outcome);
  out += "<details class=\"case item ";
  escape(out, verdict);
  out += '"';
  attr(out, "id", case_anchor(c.id), opt.text_limit);
  attr(out, "data-verdict", verdict, 16);
  attr(out, "data-tags", joined(c.tags, " "), opt.text_limit);
  attr(out, "data-rfc", rfc_numbers(c), opt.text_limit);
  attr(out, "data-search", search_text(c), search_limit);
  out += ">\n";
  render_summary_line(out, c, opt);
  out += "<div class=body>\n";
  if (!c.requirement.empty() || !c.rfc.empty()) {
    out += "<blockquote class=req>";
    escape(out, c.requirement, escape_mode::text, opt.text_limit);
    out += "<footer>\u2014 ";
    for (std::size_t i = 0; i < c.rfc.size(); ++i) {
      if (i) out += ", ";
      cite_link(out, c.rfc[i]);
    }
    out += " \u00b7 <span class=lvl>";
    escape(out, reference::to_string(c.level));
    out += "</span></footer></blockquote>\n";
  }
  render_facts(out, c, opt);
  render_findings(out, c, true, opt);
  render_findings(out, c, false, opt);
  out += "<h3>Transcript</h3>\n";
  render_transcript(out, c, budget);
  out += "</div>\n</details>\n";
}

}  // namespace smtpspec::reports::html
