// The static top of the single-run report: what was tested (target, banner,
// extensions, options), the verdict counts (with the distinct defects beside
// them, html_defects.cpp), the security findings, and pass rates by RFC and by tag. Plain HTML: it reads the same with JavaScript off.
#include <algorithm>
#include <map>

#include "html_parts.hpp"

namespace smtpspec::reports::html {
namespace {

/// EHLO keywords listed; a hostile server could advertise thousands.
constexpr std::size_t max_extensions = 64;

void extensions(std::string& out, const std::vector<std::string>& ext) {
  for (std::size_t i = 0; i < ext.size() && i < max_extensions; ++i) {
    out += "<span class=ext>";
    escape(out, ext[i], escape_mode::text, 200);
    out += "</span>";
  }
  if (ext.size() > max_extensions) out += " \u2026 " + std::to_string(ext.size() - max_extensions) + " more";
}

std::string seconds(std::chrono::microseconds us) {
  return format_ms(std::chrono::microseconds(us.count() / 1000)) + " s";
}

std::string dur_ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

/// The stacked verdict bar (widths as inline styles: allowed by style-src).
void verdict_bar(std::string& out, const tally& t) {
  out += "<div class=bar>";
  for (auto v : all_verdicts) {
    if (t[v] == 0) continue;
    out += "<span class=\"";
    escape(out, results::to_string(v));
    out += "\" style=\"width:" + percent(t[v], t.total) + "\"></span>";
  }
  out += "</div>";
}

void tally_table(std::string& out, std::string_view id, std::string_view caption, std::string_view what,
                 const std::vector<std::pair<std::string, tally>>& rows, std::string_view filter_key,
                 std::string_view label_prefix) {
  out += "<div><h3>";
  escape(out, caption);
  out += "</h3><table class=t id=\"";
  escape(out, id);
  out += "\"><thead><tr><th>";
  escape(out, what);
  out += "</th>";
  for (auto v : all_verdicts) out += "<th class=num>", escape(out, results::to_string(v)), out += "</th>";
  out += "<th class=num>Cases</th><th>Pass rate</th></tr></thead><tbody>\n";
  for (const auto& [key, t] : rows) {
    out += "<tr data-key=\"";
    escape(out, key, escape_mode::text, 200);
    out += "\" data-total=\"" + std::to_string(t.total) + "\" data-pass=\"" +
           std::to_string(t[results::verdict::pass]) + "\"><td><a href=\"#";
    escape(out, filter_key);
    out += '=';
    // The fragment is read back with decodeURIComponent; keys are [a-z0-9._-] or
    // digits in practice, anything else is escaped for the attribute all the same.
    escape(out, key, escape_mode::text, 200);
    out += "\">";
    escape(out, label_prefix);
    escape(out, key, escape_mode::text, 200);
    out += "</a></td>";
    for (auto v : all_verdicts) {
      out += t[v] ? "<td class=num>" : "<td class=\"num zero\">";
      out += std::to_string(t[v]) + "</td>";
    }
    out += "<td class=num>" + std::to_string(t.total) + "</td><td class=rate>";
    out += percent(t[results::verdict::pass], t.ran());
    verdict_bar(out, t);
    out += "</td></tr>\n";
  }
  out += "</tbody></table></div>\n";
}

}  // namespace

void render_header(std::string& out, const results::run_result& run, const html_options& opt) {
  const auto& t = run.target;
  out += "<header>\n<h1>";
  escape(out, opt.title.empty() ? "smtpspec: " + t.address : opt.title, escape_mode::text, 300);
  out += "</h1>\n<p class=sub>smtpspec ";
  escape(out, run.tool_version, escape_mode::text, 100);
  out += " \u00b7 started ";
  escape(out, run.started_at, escape_mode::text, 100);
  out += " \u00b7 finished ";
  escape(out, run.finished_at, escape_mode::text, 100);
  out += " \u00b7 " + seconds(run.duration) + " \u00b7 " + std::to_string(run.cases.size()) + " cases</p>\n";
  const bool client = t.role == "client";
  // A client run: smtpspec was the server at `address`; the banner names the client.
  out += client ? "<dl class=target><dt>Client under test</dt><dd>smtpspec played the server on <code>"
                : "<dl class=target><dt>Target</dt><dd><code>";
  escape(out, t.address, escape_mode::text, 300);
  out += "</code>";
  if (t.embedded) out += " (the embedded reference server)";
  out += client ? "</dd><dt>Client command</dt><dd class=mono>" : "</dd><dt>Banner</dt><dd class=mono>";
  escape(out, t.banner, escape_mode::octets, opt.text_limit);
  out += "</dd><dt>TLS</dt><dd>";
  escape(out, results::to_string(t.tls));
  if (!t.tls_description.empty()) out += "; ", escape(out, t.tls_description, escape_mode::text, opt.text_limit);
  if (!t.tls_problem.empty()) out += "; ", escape(out, t.tls_problem, escape_mode::text, opt.text_limit);
  out += "</dd><dt>EHLO</dt><dd>";
  extensions(out, t.extensions);
  out += "</dd>";
  if (!t.tls_extensions.empty()) {
    out += "<dt>EHLO in TLS</dt><dd>";
    extensions(out, t.tls_extensions);
    out += "</dd>";
  }
  const auto& o = run.options;
  out += "<dt>Options</dt><dd>";
  out += o.strict ? "strict (SHOULD findings fail)" : "not strict (SHOULD findings warn)";
  out += " \u00b7 " + std::to_string(o.jobs) + " jobs \u00b7 reply timeout " + dur_ms(o.reply_timeout) +
         " \u00b7 case timeout " + dur_ms(o.case_timeout);
  if (!o.suites.empty()) {
    out += " \u00b7 suites:";
    for (const auto& s : o.suites) out += " <code>", escape(out, s, escape_mode::text, 300), out += "</code>";
  }
  if (!o.filters.empty()) {
    out += " \u00b7 cases:";
    for (const auto& s : o.filters) out += " <code>", escape(out, s, escape_mode::text, 300), out += "</code>";
  }
  out += "</dd></dl>\n</header>\n";
}

void render_counts(std::string& out, const results::run_result& run) {
  tally t;
  for (const auto& c : run.cases) t.add(c.outcome);
  out += "<section id=summary>\n<ul class=tiles>\n";
  for (auto v : all_verdicts) {
    const auto name = std::string(results::to_string(v));
    out += "<li class=\"" + name + "\"><a href=\"#verdict=" + name + "\"><span class=n id=\"count-" + name +
           "\" data-count=\"" + std::to_string(t[v]) + "\">" + std::to_string(t[v]) + "</span><span class=l>" +
           name + "</span></a></li>\n";
  }
  out += "<li><div class=box><span class=n id=count-total data-count=\"" + std::to_string(t.total) + "\">" +
         std::to_string(t.total) + "</span><span class=l>cases</span></div></li>\n";
  out += "<li><div class=box><span class=n id=pass-rate>" + percent(t[results::verdict::pass], t.ran()) +
         "</span><span class=l>passed of the cases run</span></div></li>\n</ul>\n";
  verdict_bar(out, t);
  out += '\n';
  render_defect_counts(out, run);
  out += "</section>\n";
}

void render_security(std::string& out, const results::run_result& run, const html_options& opt) {
  std::vector<const results::case_result*> hits;
  for (const auto& c : run.cases)
    if (security_case(c)) hits.push_back(&c);
  if (hits.empty()) {
    out += "<section id=security class=\"callout ok\"><h2>Security findings: none</h2><p>No case found the server "
           "desynchronised (SMTP smuggling, pipelining) or open to injection (STARTTLS).</p></section>\n";
    return;
  }
  out += "<section id=security class=callout><h2>Security findings (" + std::to_string(hits.size()) +
         ")</h2>\n<ul>\n";
  for (const auto* c : hits) {
    out += "<li>";
    verdict_badge(out, c->outcome);
    out += ' ';
    case_link(out, c->id, true, opt);
    out += ' ';
    escape(out, c->title, escape_mode::text, opt.text_limit);
    // The first security finding it counts says what went wrong; else the
    // verdict's reason.
    auto f = std::find_if(c->findings.begin(), c->findings.end(), [](const auto& x) { return x.security && x.counted; });
    const std::string& why = f != c->findings.end() ? f->text : c->reason;
    if (!why.empty()) out += " \u2014 <span class=note>", escape(out, why, escape_mode::text, 600), out += "</span>";
    out += "</li>\n";
  }
  out += "</ul>\n</section>\n";
}

void render_rates(std::string& out, const results::run_result& run) {
  // A case counts for every RFC it cites and every tag it has, so the numbers
  // agree with what the filter shows for that RFC or tag.
  std::map<std::uint16_t, tally> by_rfc;
  std::map<std::string, tally> by_tag;
  for (const auto& c : run.cases) {
    std::vector<std::uint16_t> seen;
    for (const auto& r : c.rfc)
      if (std::find(seen.begin(), seen.end(), r.rfc) == seen.end()) seen.push_back(r.rfc), by_rfc[r.rfc].add(c.outcome);
    std::vector<std::string_view> tags;
    for (const auto& tg : c.tags)
      if (std::find(tags.begin(), tags.end(), tg) == tags.end()) tags.push_back(tg), by_tag[tg].add(c.outcome);
  }
  std::vector<std::pair<std::string, tally>> rfc_rows, tag_rows;
  for (const auto& [n, t] : by_rfc) rfc_rows.emplace_back(std::to_string(n), t);
  for (const auto& [n, t] : by_tag) tag_rows.emplace_back(n, t);
  out += "<section id=rates>\n<h2>Pass rate</h2>\n<p class=sub>Pass rate = PASS of the cases that ran (all but "
         "SKIP). A case counts for every RFC it cites and every tag it has.</p>\n<div class=rates>\n";
  tally_table(out, "rate-rfc", "By RFC", "RFC", rfc_rows, "rfc", "RFC ");
  tally_table(out, "rate-tag", "By tag", "Tag", tag_rows, "tag", "");
  out += "</div>\n</section>\n";
}

}  // namespace smtpspec::reports::html
