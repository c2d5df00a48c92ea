// The distinct defects of a run (results/defects.hpp) in the single-run report:
// tiles beside the verdict counts, and a section that lists each defect once with
// its level, citation, an example of what was found, the case it counts in (its
// verdict is the defect's FAIL or WARN) and the other cases where it is a note.
// A server without VRFY is one defect here however many cases send VRFY.
#include <algorithm>
#include <unordered_map>

#include "html_parts.hpp"
#include "smtpspec/reports/defect_counts.hpp"

namespace smtpspec::reports::html {
namespace {

/// Defects listed; a hostile server could provoke a distinct one in every case.
constexpr std::size_t max_defects = 500;
/// Other cases linked per defect (one defect was seen in fifteen cases in the lab).
constexpr std::size_t max_seen_in = 50;
/// Octets shown of a defect's example text and observation: the owning case has
/// the whole finding.
constexpr std::size_t defect_text_limit = 1024;

void tile(std::string& out, std::string_view id, std::string_view cls, std::size_t n, std::string_view label) {
  out += "<li class=\"";
  escape(out, cls);
  out += "\"><a href=\"#defects\"><span class=n id=\"";
  escape(out, id);
  out += "\" data-count=\"" + std::to_string(n) + "\">" + std::to_string(n) + "</span><span class=l>";
  escape(out, label);
  out += "</span></a></li>\n";
}

void seen_in(std::string& out, const results::defect& d,
             const std::unordered_map<std::string_view, const results::case_result*>& cases,
             const html_options& opt) {
  std::vector<std::string_view> others;
  for (const auto& id : d.cases)
    if (id != d.owner) others.push_back(id);
  if (others.empty()) return;
  out += " \u00b7 a note in " + std::to_string(others.size()) + (others.size() == 1 ? " other case: " : " other cases: ");
  for (std::size_t i = 0; i < others.size() && i < max_seen_in; ++i) {
    if (i) out += ", ";
    case_link(out, others[i], cases.count(others[i]) > 0, opt);
  }
  if (others.size() > max_seen_in) out += " \u2026 " + std::to_string(others.size() - max_seen_in) + " more";
}

void render_defect(std::string& out, const results::defect& d,
                   const std::unordered_map<std::string_view, const results::case_result*>& cases,
                   const html_options& opt) {
  const auto lvl = reference::to_string(d.strength);
  const auto limit = std::min(opt.text_limit, defect_text_limit);
  out += "<li class=\"defect ";
  escape(out, lvl);
  out += "\"><div class=fh><span class=lvl>";
  escape(out, lvl);
  out += "</span> ";
  cite_link(out, d.cite);
  if (d.security) out += " <span class=sec>security</span>";
  out += "</div><p>";
  escape(out, d.text, escape_mode::text, limit);
  out += "</p>";
  if (!d.observation.empty()) {
    out += "<p class=obs>Observed: <span class=mono>";
    escape(out, d.observation, escape_mode::text, limit);
    out += "</span></p>";
  }
  out += "<p class=where>Counts in ";
  const auto owner = cases.find(d.owner);
  if (owner != cases.end()) verdict_badge(out, owner->second->outcome), out += ' ';
  case_link(out, d.owner, owner != cases.end(), opt);
  seen_in(out, d, cases, opt);
  out += "</p></li>\n";
}

}  // namespace

void render_defect_counts(std::string& out, const results::run_result& run) {
  const auto n = count_defects(run);
  if (!n.recorded) {
    out += "<p class=note id=defects-unknown>Distinct defects: not recorded (the report was written before smtpspec "
           "grouped findings into defects; every finding counts in its own case).</p>\n";
    return;
  }
  out += "<ul class=\"tiles defects\" id=defect-counts>\n";
  tile(out, "count-defects", "d-all", n.total, n.total == 1 ? "distinct defect" : "distinct defects");
  tile(out, "count-defects-security", "d-sec", n.security, "security");
  for (auto l : {reference::level::must, reference::level::should, reference::level::may}) {
    // MAY findings make no defect (defects.hpp); a MAY tile shows only if a report has one.
    if (l == reference::level::may && n[l] == 0) continue;
    const auto name = std::string(reference::to_string(l));
    tile(out, "count-defects-" + name, "d-" + name, n[l], name);
  }
  out += "</ul>\n<p class=sub>A defect is one rule broken in one way (citation, requirement, observation). It counts "
         "in one case, whose verdict it sets; in the other cases it was seen in, it is a note.</p>\n";
}

void render_defects(std::string& out, const results::run_result& run, const html_options& opt) {
  if (!count_defects(run).recorded) return;  // the summary says why there is no list
  if (run.defects.empty()) {
    out += "<section id=defects class=\"callout ok\"><h2>Distinct defects: none</h2><p>No finding at MUST or SHOULD "
           "level.</p></section>\n";
    return;
  }
  std::unordered_map<std::string_view, const results::case_result*> cases;
  for (const auto& c : run.cases) cases.emplace(c.id, &c);
  // Security defects first; within each part the run's order (strongest first).
  std::vector<const results::defect*> order;
  for (const auto& d : run.defects) order.push_back(&d);
  std::stable_partition(order.begin(), order.end(), [](const results::defect* d) { return d->security; });

  out += "<section id=defects>\n<h2>Distinct defects (" + std::to_string(order.size()) +
         ")</h2>\n<p class=sub>Security defects first, then by level. Each links to the case it counts in and to the "
         "cases where it is a note.</p>\n<ol class=defects>\n";
  for (std::size_t i = 0; i < order.size() && i < max_defects; ++i) render_defect(out, *order[i], cases, opt);
  out += "</ol>\n";
  if (order.size() > max_defects)
    out += "<p class=note>\u2026 " + std::to_string(order.size() - max_defects) + " more defects not listed</p>\n";
  out += "</section>\n";
}

}  // namespace smtpspec::reports::html
