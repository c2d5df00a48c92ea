// The matrix of several runs (Autobahn|Testsuite's summary table): cases down,
// grouped by suite; targets across; each cell coloured by verdict with the reason
// as its title; rows whose verdicts differ highlighted and marked "≠" (so the
// difference is visible without colour too); a legend, the distinct defects per
// target (what targets are compared by: one defect, however many cases saw it)
// and the verdict counts per target.
#include <algorithm>
#include <iterator>
#include <set>
#include <unordered_map>

#include "html_parts.hpp"
#include "smtpspec/reports/defect_counts.hpp"
#include "smtpspec/reports/html_report.hpp"

namespace smtpspec::reports {
namespace {

struct row {
  const results::case_result* first = nullptr;  // where id, title, tags and citations come from
  std::vector<const results::case_result*> cells;  // one per run; null when the run lacks the case
  /// Two runs that both have the case disagree. A run without the case (it ran
  /// other suites) is shown as missing, not as a difference: merged reports of
  /// targets tested with different suites would otherwise be all highlight.
  bool differ() const {
    const results::case_result* seen = nullptr;
    for (const auto* c : cells) {
      if (!c) continue;
      if (seen && c->outcome != seen->outcome) return true;
      seen = c;
    }
    return false;
  }
};

void target_header(std::string& out, const results::run_result& r, const html_options& opt) {
  out += "<th><span class=tgt>";
  html::escape(out, r.target.address, html::escape_mode::text, 300);
  out += "</span><span class=bn>";
  // The banner is the server's own text: octet-exact, and bounded.
  html::escape(out, r.target.banner, html::escape_mode::octets, std::min<std::size_t>(opt.text_limit, 300));
  out += "</span><span class=tv>smtpspec ";
  html::escape(out, r.tool_version, html::escape_mode::text, 100);
  out += " \u00b7 ";
  html::escape(out, r.started_at, html::escape_mode::text, 100);
  out += "</span><span class=df>";
  const auto n = count_defects(r);
  out += n.recorded ? std::to_string(n.total) + (n.total == 1 ? " distinct defect" : " distinct defects")
                    : std::string("distinct defects not recorded");
  out += "</span></th>";
}

void defects_table(std::string& out, const std::vector<results::run_result>& runs) {
  static constexpr reference::level levels[] = {reference::level::must, reference::level::should};
  out += "<table class=t id=matrix-defects><thead><tr><th>Target</th><th class=num>Distinct defects</th>"
         "<th class=num>Security</th>";
  for (auto l : levels) out += "<th class=num>", html::escape(out, reference::to_string(l)), out += "</th>";
  out += "</tr></thead><tbody>\n";
  auto cell = [&](std::string_view key, std::size_t n) {
    out += n ? "<td class=num data-defects=\"" : "<td class=\"num zero\" data-defects=\"";
    html::escape(out, key);
    out += "\">" + std::to_string(n) + "</td>";
  };
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto n = count_defects(runs[i]);
    out += "<tr data-target=\"" + std::to_string(i) + "\"><td><code>";
    html::escape(out, runs[i].target.address, html::escape_mode::text, 300);
    out += "</code></td>";
    if (!n.recorded) {
      out += "<td class=\"num zero\" colspan=\"" + std::to_string(2 + std::size(levels)) +
             "\">not recorded (the report predates distinct defects)</td></tr>\n";
      continue;
    }
    cell("total", n.total);
    cell("security", n.security);
    for (auto l : levels) cell(reference::to_string(l), n[l]);
    out += "</tr>\n";
  }
  out += "</tbody></table>\n";
}

void counts_table(std::string& out, const std::vector<results::run_result>& runs) {
  out += "<table class=t id=matrix-counts><thead><tr><th>Target</th>";
  for (auto v : html::all_verdicts) out += "<th class=num>", html::escape(out, results::to_string(v)), out += "</th>";
  out += "<th class=num>Cases</th><th>Pass rate</th></tr></thead><tbody>\n";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    html::tally t;
    for (const auto& c : runs[i].cases) t.add(c.outcome);
    out += "<tr data-target=\"" + std::to_string(i) + "\"><td><code>";
    html::escape(out, runs[i].target.address, html::escape_mode::text, 300);
    out += "</code></td>";
    for (auto v : html::all_verdicts) {
      out += "<td class=num data-verdict=\"";
      html::escape(out, results::to_string(v));
      out += "\">" + std::to_string(t[v]) + "</td>";
    }
    out += "<td class=num>" + std::to_string(t.total) + "</td><td class=rate>" +
           html::percent(t[results::verdict::pass], t.ran()) + "</td></tr>\n";
  }
  out += "</tbody></table>\n";
}

void legend(std::string& out) {
  static constexpr std::pair<results::verdict, const char*> meaning[] = {
      {results::verdict::pass, "conforms"},
      {results::verdict::fail, "a MUST is broken"},
      {results::verdict::warn, "a SHOULD is broken"},
      {results::verdict::skip, "does not apply (extension not offered)"},
      {results::verdict::error, "could not run"},
  };
  out += "<div class=legend-row id=legend><strong>Legend</strong>";
  for (const auto& [v, text] : meaning) {
    out += "<span>";
    html::verdict_badge(out, v);
    out += ' ';
    html::escape(out, text);
    out += "</span>";
  }
  out += "<span><span class=\"v MISSING\">\u2014</span> not in that run</span>"
         "<span class=differ><span class=mark>\u2260</span> highlighted row: the targets' verdicts differ</span></div>\n";
}

void render_row(std::string& out, const row& r, const html_options& opt) {
  const auto& c = *r.first;
  const bool differ = r.differ();
  std::set<std::string_view> verdicts;
  for (const auto* x : r.cells)
    if (x) verdicts.insert(results::to_string(x->outcome));
  std::string vs, tags, rfcs, search = c.id + ' ' + c.title + ' ' + c.suite;
  for (auto v : verdicts) vs += (vs.empty() ? "" : " ") + std::string(v);
  for (const auto& t : c.tags) tags += (tags.empty() ? "" : " ") + t, search += ' ' + t;
  std::set<std::uint16_t> seen;
  for (const auto& ref : c.rfc) {
    search += ' ' + ref.to_string();
    if (seen.insert(ref.rfc).second) rfcs += (rfcs.empty() ? "" : " ") + std::to_string(ref.rfc);
  }
  out += differ ? "<tr class=\"item differ\" data-diff" : "<tr class=item";
  out += " data-verdict=\"";
  html::escape(out, vs);
  out += "\" data-tags=\"";
  html::escape(out, tags, html::escape_mode::text, opt.text_limit);
  out += "\" data-rfc=\"";
  html::escape(out, rfcs, html::escape_mode::text, opt.text_limit);
  out += "\" data-search=\"";
  html::escape(out, search, html::escape_mode::text, 2048);
  out += "\"><th>";
  if (differ) out += "<span class=mark title=\"the verdicts differ\">\u2260</span> ";
  out += "<code>";
  html::escape(out, c.id, html::escape_mode::text, opt.text_limit);
  out += "</code> ";
  html::escape(out, c.title, html::escape_mode::text, opt.text_limit);
  out += "</th>";
  for (const auto* x : r.cells) {
    if (!x) {
      out += "<td class=\"cell MISSING\" title=\"not in this run\">\u2014</td>";
      continue;
    }
    const auto name = results::to_string(x->outcome);
    out += "<td class=\"cell ";
    html::escape(out, name);
    out += "\" title=\"";
    // A tooltip, one per target and case: kept short so wide matrices stay small.
    html::escape(out, x->reason.empty() ? std::string(name) : x->reason, html::escape_mode::text,
                 std::min<std::size_t>(opt.text_limit, 500));
    out += "\">";
    html::escape(out, name);
    out += "</td>";
  }
  out += "</tr>\n";
}

}  // namespace

std::string to_html_matrix(const std::vector<results::run_result>& runs, const html_options& opt) {
  // Rows: every case id of every run, in order of first appearance, by suite.
  std::vector<std::string> suites;
  std::unordered_map<std::string, std::vector<std::string>> suite_ids;
  std::unordered_map<std::string, row> rows;
  std::set<std::string> tags;
  std::set<std::uint16_t> rfc_numbers;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (const auto& c : runs[i].cases) {
      auto [it, fresh] = rows.try_emplace(c.id);
      if (fresh) {
        it->second.first = &c;
        it->second.cells.assign(runs.size(), nullptr);
        if (!suite_ids.count(c.suite)) suites.push_back(c.suite);
        suite_ids[c.suite].push_back(c.id);
        tags.insert(c.tags.begin(), c.tags.end());
        for (const auto& r : c.rfc) rfc_numbers.insert(r.rfc);
      }
      if (!it->second.cells[i]) it->second.cells[i] = &c;
    }
  }
  std::size_t differing = 0;
  for (const auto& [id, r] : rows) differing += r.differ() ? 1 : 0;

  const std::string title =
      opt.title.empty() ? "smtpspec: " + std::to_string(runs.size()) + (runs.size() == 1 ? " target" : " targets")
                        : opt.title;
  std::string out;
  out.reserve(32 * 1024 + rows.size() * (200 + 60 * runs.size()));
  html::page_begin(out, title);
  out += "<header>\n<h1>";
  html::escape(out, title, html::escape_mode::text, 300);
  out += "</h1>\n<p class=sub>" + std::to_string(rows.size()) + " cases \u00b7 " + std::to_string(runs.size()) +
         (runs.size() == 1 ? " target" : " targets") + " \u00b7 <span id=differing data-count=\"" +
         std::to_string(differing) + "\">" + std::to_string(differing) + "</span> rows where the verdicts differ</p>\n</header>\n";
  out += "<section id=summary>\n<h2>Distinct defects per target</h2>\n<p class=sub>One defect per rule broken and "
         "way it was broken, however many cases saw it: compare targets by these, not by failing cases.</p>\n";
  defects_table(out, runs);
  out += "<h2>Verdicts per target</h2>\n";
  counts_table(out, runs);
  out += "</section>\n";
  legend(out);

  html::filter_choices f;
  f.matrix = true;
  f.tags.assign(tags.begin(), tags.end());
  for (auto n : rfc_numbers) f.rfcs.push_back(std::to_string(n));
  html::render_filter_bar(out, f, rows.size());

  out += "<table class=matrix id=matrix>\n<thead><tr><th>Case</th>";
  for (const auto& r : runs) target_header(out, r, opt);
  out += "</tr></thead>\n";
  for (const auto& s : suites) {
    out += "<tbody class=group><tr class=grp><th colspan=\"" + std::to_string(runs.size() + 1) + "\">";
    html::escape(out, s.empty() ? std::string("(no suite)") : s, html::escape_mode::text, opt.text_limit);
    out += "</th></tr>\n";
    for (const auto& id : suite_ids[s]) render_row(out, rows.at(id), opt);
    out += "</tbody>\n";
  }
  out += "</table>\n<footer><p class=note>Generated by smtpspec from ";
  out += std::to_string(runs.size());
  out += " JSON reports. One self-contained file: nothing is loaded from anywhere.</p></footer>\n";
  html::page_end(out);
  return out;
}

}  // namespace smtpspec::reports
