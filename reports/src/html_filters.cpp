// The filter bar: verdict, tag, RFC and a text search. It is static markup with
// the hidden attribute; the script shows it, so with JavaScript off there is no
// dead control, only a note that every case is listed.
#include "html_parts.hpp"

namespace smtpspec::reports::html {
namespace {

void select(std::string& out, std::string_view id, std::string_view label, const std::vector<std::string>& values,
            std::string_view prefix) {
  out += "<label>";
  escape(out, label);
  out += " <select id=\"";
  escape(out, id);
  out += "\"><option value=\"\">any</option>";
  for (const auto& v : values) {
    out += "<option value=\"";
    escape(out, v, escape_mode::text, 200);
    out += "\">";
    escape(out, prefix);
    escape(out, v, escape_mode::text, 200);
    out += "</option>";
  }
  out += "</select></label>\n";
}

}  // namespace

void render_filter_bar(std::string& out, const filter_choices& f, std::size_t items) {
  out += "<noscript><p class=\"note noscript\">Filtering needs JavaScript; every case is listed below.</p></noscript>\n";
  out += "<div id=filters class=tools role=search hidden>\n<span>";
  out += f.matrix ? "Rows with" : "Verdict";
  out += "</span>\n";
  for (auto v : all_verdicts) {
    const auto name = results::to_string(v);
    out += "<label class=\"chk ";
    escape(out, name);
    out += "\"><input type=checkbox name=verdict value=\"";
    escape(out, name);
    out += "\"> ";
    verdict_badge(out, v);
    out += "</label>\n";
  }
  if (!f.tags.empty()) select(out, "f-tag", "Tag", f.tags, "");
  if (!f.rfcs.empty()) select(out, "f-rfc", "RFC", f.rfcs, "RFC ");
  out += "<label>Search <input type=search id=f-q placeholder=\"id, title, reason\u2026\" autocomplete=off></label>\n";
  if (f.matrix)
    out += "<label><input type=checkbox id=f-diff> only rows whose verdicts differ</label>\n";
  else
    out += "<span><button type=button data-open=1>Open all</button> <button type=button data-open=0>Close "
           "all</button></span>\n";
  out += "<span id=f-shown>all " + std::to_string(items) + " shown</span>\n</div>\n";
}

}  // namespace smtpspec::reports::html
