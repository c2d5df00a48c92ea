// The baseline comparison near the top of the report: new failures (what decides
// the exit code), fixed cases, known failures, then any other change and the
// cases that are gone, each as "before → now".
#include <algorithm>

#include "html_parts.hpp"

namespace smtpspec::reports::html {
namespace {

void change_list(std::string& out, std::string_view id, std::string_view cls, std::string_view heading,
                 const std::vector<verdict_change>& list, const results::run_result& run, const html_options& opt) {
  out += "<div class=\"callout ";
  escape(out, cls);
  out += "\" id=\"";
  escape(out, id);
  out += "\"><h3>";
  escape(out, heading);
  out += " (" + std::to_string(list.size()) + ")</h3>\n";
  if (list.empty()) {
    out += "<p class=note>None.</p></div>\n";
    return;
  }
  out += "<table class=t><tbody>\n";
  for (const auto& ch : list) {
    const bool here = std::any_of(run.cases.begin(), run.cases.end(), [&](const auto& c) { return c.id == ch.id; });
    out += "<tr data-id=\"";
    escape(out, ch.id, escape_mode::text, opt.text_limit);
    out += "\"><td>";
    case_link(out, ch.id, here, opt);
    out += "</td><td>";
    escape(out, ch.title, escape_mode::text, opt.text_limit);
    out += "</td><td class=change>";
    if (ch.new_case) out += "<span class=note>new case</span>";
    else verdict_badge(out, ch.before);
    out += "<span class=arrow>\u2192</span>";
    verdict_badge(out, ch.now);
    out += "</td></tr>\n";
  }
  out += "</tbody></table></div>\n";
}

}  // namespace

void render_diff(std::string& out, const baseline_diff& diff, const results::run_result& run,
                 const html_options& opt) {
  out += "<section id=diff>\n<h2>Compared with the baseline</h2>\n<p class=sub>Baseline run started ";
  escape(out, diff.baseline_started_at.empty() ? std::string("(unknown)") : diff.baseline_started_at,
         escape_mode::text, 100);
  out += " against <code>";
  escape(out, diff.baseline_target, escape_mode::text, 300);
  out += "</code>. Only new failures count against this run.</p>\n";
  change_list(out, "diff-new", "FAIL", "New failures", diff.worse, run, opt);
  change_list(out, "diff-fixed", "PASS", "Fixed", diff.fixed, run, opt);
  change_list(out, "diff-known", "SKIP", "Known failures", diff.known_failures, run, opt);
  if (!diff.other_changes.empty())
    change_list(out, "diff-other", "WARN", "Other changes", diff.other_changes, run, opt);
  if (!diff.removed.empty()) {
    out += "<div class=\"callout SKIP\" id=diff-removed><h3>No longer run (" + std::to_string(diff.removed.size()) +
           ")</h3><p>";
    for (std::size_t i = 0; i < diff.removed.size(); ++i) {
      if (i) out += ", ";
      out += "<code>";
      escape(out, diff.removed[i], escape_mode::text, opt.text_limit);
      out += "</code>";
    }
    out += "</p></div>\n";
  }
  out += "</section>\n";
}

}  // namespace smtpspec::reports::html
