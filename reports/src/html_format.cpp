// Small renderings shared by the parts of the HTML report.
#include <algorithm>
#include <cstdio>

#include "html_parts.hpp"

namespace smtpspec::reports::html {

std::string case_anchor(std::string_view id) {
  std::string out = "case-";
  for (char c : id) {
    const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '-' || c == '_';
    out += keep ? c : '_';
  }
  return out;
}

void verdict_badge(std::string& out, results::verdict v) {
  const auto name = results::to_string(v);
  out += "<span class=\"v ";
  escape(out, name);
  out += "\">";
  escape(out, name);
  out += "</span>";
}

void cite_link(std::string& out, const results::rfc_ref& r) {
  // The URL is built by rfc_ref::url() from a number and a section the loader
  // checked; it is still escaped like every other interpolated string.
  out += "<a href=\"";
  escape(out, r.url(), escape_mode::text, 200);
  out += "\" rel=\"noopener noreferrer\">";
  escape(out, r.to_string(), escape_mode::text, 200);
  out += "</a>";
}

void case_link(std::string& out, std::string_view id, bool linked, const html_options& opt) {
  if (linked) out += "<a href=\"#", escape(out, case_anchor(id), escape_mode::text, opt.text_limit), out += "\">";
  out += "<code>";
  escape(out, id, escape_mode::text, opt.text_limit);
  out += "</code>";
  if (linked) out += "</a>";
}

std::string format_ms(std::chrono::microseconds us) {
  const long long v = std::max<long long>(0, us.count());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%03lld", v / 1000, v % 1000);
  return buf;
}

std::string percent(std::size_t num, std::size_t den) {
  if (den == 0) return "\u2013";
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * static_cast<double>(num) / static_cast<double>(den));
  return buf;
}

bool security_case(const results::case_result& c) {
  if (std::any_of(c.findings.begin(), c.findings.end(), [](const auto& f) { return f.security && f.counted; }))
    return true;
  return c.outcome == results::verdict::fail && std::find(c.tags.begin(), c.tags.end(), "security") != c.tags.end();
}

}  // namespace smtpspec::reports::html
