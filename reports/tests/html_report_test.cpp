// The HTML report on synthetic runs: the escaping helper octet by octet, hostile
// text in every field (checked structurally: every tag and attribute on the page
// is one the writer emits), truncation and size bounds, counts and pass rates,
// the distinct defects and the notes, the security list, the baseline sections,
// the matrix, the CSP hash, and that nothing outside the page is referenced. The real-browser test is in browser/.
#include "smtpspec/reports/html_report.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "html_escape.hpp"
#include "html_parts.hpp"
#include "smtpspec/reference/text.hpp"
#include "smtpspec/reports/baseline.hpp"
#include "smtpspec/results/defects.hpp"

namespace smtpspec::reports {
namespace {

using html::escape_mode;
using html::escaped;
using ev = results::transcript_event::kind;

// Every kind of hostile text at once: markup, a CDATA end, quotes, NUL, ESC
// sequences, DEL, a C1 control, a bidi override, a lone surrogate encoded in
// UTF-8, invalid UTF-8, and look-alikes of the report's own notation.
const std::string hostile =
    std::string("<script>alert(1)</script> </system-out> ]]> & \" ' <img src=x onerror=\"alert(2)\"> ") +
    std::string("\0", 1) + "\x1b[31m\x1b]0;t\x07 \x7f \xc2\x85 \xe2\x80\xae \xed\xa0\x80 \xff\xfe \xc3\x28 " +
    "\xe2\x90\x8d\xe2\x90\x8a \xe2\x9f\xa8" "ff" "\xe2\x9f\xa9 http://evil.example/x.png url(http://evil.example/)";

std::size_t count(const std::string& s, std::string_view what) {
  std::size_t n = 0;
  for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + what.size())) ++n;
  return n;
}

// --- a strict tokenizer: what a browser would see as tags --------------------

struct tag {
  std::string name;
  bool closing = false;
  std::vector<std::pair<std::string, std::string>> attrs;
  const std::string* attr(std::string_view n) const {
    for (const auto& [k, v] : attrs)
      if (k == n) return &v;
    return nullptr;
  }
};

struct page {
  std::vector<tag> tags;
  std::vector<std::string> texts;  ///< text between tags (not script/style content)
  std::string script, style;
  std::string error;
};

page tokenize(const std::string& s) {
  page p;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '<') {
      auto j = s.find('<', i);
      if (j == std::string::npos) j = s.size();
      p.texts.push_back(s.substr(i, j - i));
      i = j;
      continue;
    }
    if (s.compare(i, 9, "<!DOCTYPE") == 0) {
      i = s.find('>', i) + 1;
      continue;
    }
    tag t;
    std::size_t j = i + 1;
    if (j < s.size() && s[j] == '/') t.closing = true, ++j;
    while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) t.name += s[j++];
    t.name = smtpspec::reference::to_lower(t.name);
    if (t.name.empty()) {
      p.error = "a '<' that starts no tag at " + std::to_string(i);
      return p;
    }
    while (j < s.size() && s[j] != '>') {
      if (std::isspace(static_cast<unsigned char>(s[j]))) {
        ++j;
        continue;
      }
      std::string name, value;
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])) && s[j] != '=' && s[j] != '>')
        name += s[j++];
      if (j < s.size() && s[j] == '=') {
        ++j;
        if (s[j] == '"' || s[j] == '\'') {
          const char q = s[j++];
          const auto e = s.find(q, j);
          value = s.substr(j, e - j);
          j = e + 1;
        } else {
          while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j])) && s[j] != '>') value += s[j++];
        }
      }
      t.attrs.emplace_back(smtpspec::reference::to_lower(name), value);
    }
    i = j + 1;
    if (!t.closing && (t.name == "script" || t.name == "style")) {
      const auto e = s.find("</" + t.name, i);
      (t.name == "script" ? p.script : p.style) += s.substr(i, e - i);
      i = e;
    }
    p.tags.push_back(std::move(t));
  }
  return p;
}

/// The page is made only of the tags and attributes the writer emits; no event
/// handler, no source of any resource, links only to fragments and rfc-editor.org.
void expect_only_our_markup(const std::string& out) {
  static const std::set<std::string> tags = {
      "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "dl", "dt", "dd",
      "code", "span", "ul", "li", "a", "div", "section", "table", "thead", "tbody", "tr", "th", "td",
      "details", "summary", "blockquote", "footer", "i", "b", "u", "main", "label", "input", "select",
      "option", "button", "noscript", "script", "strong", "ol"};
  static const std::set<std::string> attrs = {
      "lang", "charset", "http-equiv", "content", "name", "class", "id", "href", "rel", "title", "style",
      "type", "value", "hidden", "role", "placeholder", "autocomplete", "colspan", "data-open"};
  const auto p = tokenize(out);
  ASSERT_EQ(p.error, "");
  std::size_t scripts = 0;
  for (const auto& t : p.tags) {
    EXPECT_TRUE(tags.count(t.name)) << "unexpected tag <" << t.name << ">";
    if (t.name == "script" && !t.closing) {
      ++scripts;
      EXPECT_TRUE(t.attrs.empty()) << "the script must be inline, without src";
    }
    for (const auto& [k, v] : t.attrs) {
      EXPECT_TRUE(attrs.count(k) || k.rfind("data-", 0) == 0) << "unexpected attribute " << k << " on <" << t.name
                                                              << ">";
      EXPECT_NE(k.rfind("on", 0), 0u) << "event handler attribute " << k;
      if (k == "href") {
        EXPECT_TRUE(v.rfind("#", 0) == 0 || v.rfind("https://www.rfc-editor.org/rfc/rfc", 0) == 0) << v;
      }
      if (k == "style") {
        EXPECT_TRUE(std::regex_match(v, std::regex(R"(width:[0-9.]+%)"))) << v;
      }
      EXPECT_EQ(v.find_first_of(std::string("<>\0\x1b", 4)), std::string::npos) << k << "=" << v;
    }
  }
  EXPECT_EQ(scripts, 1u);
  for (const auto& text : p.texts) {
    EXPECT_EQ(text.find_first_of(std::string("\0\x1b\r\x7f", 4)), std::string::npos);
  }
  EXPECT_TRUE(smtpspec::reference::is_utf8(out));
  // Nothing fetched: no stylesheet, import, font or image from anywhere.
  EXPECT_EQ(out.find("<link"), std::string::npos);
  EXPECT_EQ(out.find("@import"), std::string::npos);
  EXPECT_EQ(p.style.find("url("), std::string::npos);
  for (const auto& t : p.tags) EXPECT_EQ(t.attr("src"), nullptr) << "<" << t.name << " src>";
  // No attribute that makes the browser fetch or navigate holds a URL of the
  // peer's: hostile URLs are only ever text (in element text, title or data-*).
  for (const auto& t : p.tags) {
    for (const auto& [k, v] : t.attrs) {
      for (const char* fetching : {"src", "srcset", "action", "formaction", "poster", "background", "data", "ping"})
        EXPECT_NE(k, fetching) << "<" << t.name << "> has " << k;
    }
  }
}

// --- synthetic runs -------------------------------------------------------------

results::transcript_event event(ev k, long long us, std::string bytes) { return {k, std::chrono::microseconds(us), bytes}; }

results::case_result make_case(std::string id, std::string suite, results::verdict v, std::vector<std::string> tags,
                         std::vector<results::rfc_ref> rfc) {
  results::case_result c;
  c.id = std::move(id);
  c.suite = std::move(suite);
  c.title = "Title of " + c.id;
  c.requirement = "The server MUST do the right thing.";
  c.rfc = std::move(rfc);
  c.tags = std::move(tags);
  c.outcome = v;
  c.reason = "reason for " + c.id;
  c.duration = std::chrono::microseconds(12345);
  c.transcript = {event(ev::note, 10, "connected"), event(ev::server_bytes, 1500, "220 mx.example ESMTP\r\n"),
                  event(ev::client_bytes, 2000, "EHLO client\r\n"), event(ev::server_bytes, 2500, "250 mx\r\n"),
                  event(ev::closed, 3000, "by smtpspec")};
  return c;
}

results::run_result make_run() {
  results::run_result r;
  r.tool_version = "0.1.0";
  r.target.address = "mx.example:25";
  r.target.banner = "220 mx.example ESMTP";
  r.target.extensions = {"PIPELINING", "SIZE 1000"};
  r.started_at = "2026-01-01T00:00:00Z";
  r.finished_at = "2026-01-01T00:00:01Z";
  r.cases.push_back(make_case("a.pass1", "s1", results::verdict::pass, {"ordering"}, {{5321, "4.1.4"}}));
  r.cases.push_back(make_case("a.pass2", "s1", results::verdict::pass, {"ordering", "syntax"}, {{5321, "4.1.2"}}));
  r.cases.push_back(
      make_case("a.fail", "s1", results::verdict::fail, {"smuggling", "security"}, {{5321, "4.1.1.4"}, {3030, "2"}}));
  r.cases.push_back(make_case("b.warn", "s2", results::verdict::warn, {"syntax"}, {{5321, "4.2"}}));
  r.cases.push_back(make_case("b.skip", "s2", results::verdict::skip, {"starttls"}, {{3207, "4"}}));
  r.cases.push_back(make_case("b.error", "s2", results::verdict::error, {"starttls", "security"}, {{3207, "4.2"}}));
  r.cases.push_back(make_case("b.pass-with-finding", "s2", results::verdict::pass, {}, {{3207, "4.2"}}));
  r.cases.back().findings.push_back({reference::level::must, {3207, "4.2"}, "injected reply", "none", "250 OK", 2, true});
  return r;
}

/// A run grouped by results::assign_defects, as the CLI does: a server without VRFY
/// (one MUST defect seen in three cases, owned by the VRFY case), a SHOULD
/// finding of its own in one of them, and a security defect seen in two cases.
results::run_result defect_run() {
  using results::verdict;
  results::run_result r = make_run();
  r.cases.clear();
  const results::case_finding vrfy{reference::level::must, {5321, "3.5.3"}, "VRFY: 502 (not implemented)", "250/251/252",
                                   "502 5.5.1 VRFY not implemented", 1};
  auto with = [](results::case_finding f, std::string rule, std::string observation) {
    f.rule = std::move(rule);
    f.observation = std::move(observation);
    return f;
  };
  r.cases.push_back(make_case("vrfy.implemented", "s1", verdict::pass, {"vrfy"}, {{5321, "3.5.3"}}));
  r.cases.back().findings.push_back(with(vrfy, "VRFY must be implemented", "502 to VRFY"));
  r.cases.push_back(make_case("help.after-vrfy", "s1", verdict::pass, {}, {{5321, "4.1.1.8"}}));
  r.cases.back().findings.push_back(with(vrfy, "VRFY must be implemented", "502 to VRFY"));
  r.cases.push_back(make_case("noop.after-vrfy", "s1", verdict::pass, {}, {{5321, "4.1.1.9"}}));
  r.cases.back().findings.push_back(with(vrfy, "VRFY must be implemented", "502 to VRFY"));
  r.cases.back().findings.push_back(with({reference::level::should, {5321, "4.1.1.9"}, "NOOP with a parameter: 501",
                                          "250", "501 no parameters", 2},
                                         "NOOP's parameter should be ignored", "501 to NOOP x"));
  const results::case_finding smuggled{reference::level::must, {5321, "4.1.1.4"}, "a reply arrived that answers no command",
                                       "no reply", "250 2.0.0 queued", 3, true};
  r.cases.push_back(make_case("smuggling.lf-dot-lf", "s2", verdict::pass, {"smuggling", "security"}, {{5321, "4.1.1.4"}}));
  r.cases.back().findings.push_back(with(smuggled, "end of data only at CRLF.CRLF", "reply after lf_dot_lf"));
  r.cases.push_back(make_case("data.bare-lf", "s2", verdict::pass, {"data"}, {{5321, "2.3.8"}}));
  r.cases.back().findings.push_back(with(smuggled, "end of data only at CRLF.CRLF", "reply after lf_dot_lf"));
  r.cases.push_back(make_case("ehlo.plain", "s2", verdict::pass, {}, {{5321, "4.1.1.1"}}));
  r.defects = results::assign_defects(r.cases, false);
  return r;
}

std::string between(const std::string& s, std::string_view from, std::string_view to) {
  const auto a = s.find(from);
  if (a == std::string::npos) return {};
  const auto b = s.find(to, a + from.size());
  return s.substr(a + from.size(), b == std::string::npos ? std::string::npos : b - a - from.size());
}

// --- the escaping helper ---------------------------------------------------------

TEST(html_escape, markup_and_quotes_become_entities) {
  EXPECT_EQ(escaped("<a href=\"x\">&'</a>"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(escaped("]]> </system-out>"), "]]&gt; &lt;/system-out&gt;");
  EXPECT_EQ(escaped("plain text, caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "plain text, caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
}

TEST(html_escape, every_single_octet_in_octets_mode) {
  char buf[32];
  for (int b = 0; b < 256; ++b) {
    const std::string in(1, static_cast<char>(b));
    const std::string out = escaped(in, escape_mode::octets);
    std::string want;
    if (b < 0x20 || b == 0x7f) {
      // The control pictures: U+2400 + b, DEL U+2421; LF is followed by a real line end.
      const unsigned cp = b == 0x7f ? 0x2421u : 0x2400u + static_cast<unsigned>(b);
      std::snprintf(buf, sizeof buf, "<i>%c%c%c</i>", static_cast<char>(0xe0 | (cp >> 12)),
                    static_cast<char>(0x80 | ((cp >> 6) & 0x3f)), static_cast<char>(0x80 | (cp & 0x3f)));
      want = buf;
      if (b == '\n') want += "\n";
    } else if (b >= 0x80) {
      std::snprintf(buf, sizeof buf, "<i>\u27e8%02x\u27e9</i>", static_cast<unsigned>(b));
      want = buf;
    } else if (b == '<') {
      want = "&lt;";
    } else if (b == '>') {
      want = "&gt;";
    } else if (b == '&') {
      want = "&amp;";
    } else if (b == '"') {
      want = "&quot;";
    } else if (b == '\'') {
      want = "&#39;";
    } else {
      want = in;
    }
    EXPECT_EQ(out, want) << "octet 0x" << std::hex << b;
  }
}

TEST(html_escape, text_mode_emits_no_markup_and_keeps_tab_and_lf) {
  for (int b = 0; b < 256; ++b) {
    const std::string out = escaped(std::string(1, static_cast<char>(b)), escape_mode::text);
    EXPECT_EQ(out.find('<'), std::string::npos) << b;
    EXPECT_EQ(out.find('>'), std::string::npos) << b;
    EXPECT_EQ(out.find('"'), std::string::npos) << b;
    EXPECT_EQ(out.find('\''), std::string::npos) << b;
    EXPECT_TRUE(smtpspec::reference::is_utf8(out)) << b;
    if (b == '\t' || b == '\n') {
      EXPECT_EQ(out, std::string(1, static_cast<char>(b)));
    } else if (b < 0x20) {
      EXPECT_EQ(out.size(), 3u) << "a control picture for " << b;
    }
  }
  EXPECT_EQ(escaped(std::string("a\r\nb\0c", 6), escape_mode::text), "a\u240d\nb\u2400c");
}

TEST(html_escape, crlf_is_visible_and_still_breaks_the_line) {
  EXPECT_EQ(escaped("250 OK\r\n250 again\r\n", escape_mode::octets),
            "250 OK<i>\u240d\u240a</i>\n250 again<i>\u240d\u240a</i>\n");
  // A bare LF (the smuggling case) reads differently from CR LF.
  EXPECT_EQ(escaped("body\n.\n", escape_mode::octets), "body<i>\u240a</i>\n.<i>\u240a</i>\n");
  EXPECT_EQ(escaped("\x1b[31m", escape_mode::octets), "<i>\u241b</i>[31m");
}

TEST(html_escape, invalid_utf8_and_surrogates_become_octet_escapes) {
  EXPECT_EQ(escaped("\xed\xa0\x80", escape_mode::octets), "<i>\u27e8ed\u27e9\u27e8a0\u27e9\u27e880\u27e9</i>");
  EXPECT_EQ(escaped("\xc0\xaf"), "\u27e8c0\u27e9\u27e8af\u27e9");               // overlong '/'
  EXPECT_EQ(escaped("\xf4\x90\x80\x80"), "\u27e8f4\u27e9\u27e890\u27e9\u27e880\u27e9\u27e880\u27e9");  // > U+10FFFF
  EXPECT_EQ(escaped("a\xe2\x82"), "a\u27e8e2\u27e9\u27e882\u27e9");             // truncated at the end
  EXPECT_EQ(escaped("\xc3\x28"), "\u27e8c3\u27e9(");
}

TEST(html_escape, invisible_and_reordering_characters_are_named) {
  EXPECT_EQ(escaped("a\xe2\x80\xae" "b"), "a\u27e8U+202E\u27e9b");  // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(escaped("\xc2\x85"), "\u27e8U+0085\u27e9");             // C1 NEL
  EXPECT_EQ(escaped("\xef\xbb\xbf"), "\u27e8U+FEFF\u27e9");
  EXPECT_EQ(escaped("\xe2\x80\x8b"), "\u27e8U+200B\u27e9");
}

TEST(html_escape, the_peer_cannot_imitate_the_notation_in_transcripts) {
  // The peer sends the characters ␍␊ and ⟨ff⟩ literally: they are escaped, so
  // they never read like the CR LF or the 0xff octet smtpspec shows.
  EXPECT_EQ(escaped("\u240d\u240a", escape_mode::octets), "<i>\u27e8U+240D\u27e9\u27e8U+240A\u27e9</i>");
  EXPECT_EQ(escaped("\u27e8ff\u27e9", escape_mode::octets), "<i>\u27e8U+27E8\u27e9</i>ff<i>\u27e8U+27E9\u27e9</i>");
  EXPECT_EQ(escaped("\u2026", escape_mode::octets), "<i>\u27e8U+2026\u27e9</i>");
}

TEST(html_escape, limit_cuts_at_a_character_boundary_with_a_marker) {
  EXPECT_EQ(escaped("abcdef", escape_mode::text, 4), "abcd \u2026 2 octets not shown");
  EXPECT_EQ(escaped("abcdef", escape_mode::octets, 5), "abcde<i class=cut>\u2026 1 octet not shown</i>");
  // "é" is two octets: a cut inside it moves before it.
  EXPECT_EQ(escaped("ab\xc3\xa9z", escape_mode::text, 3), "ab \u2026 3 octets not shown");
  EXPECT_EQ(html::utf8_cut("ab\xf0\x9f\x98\x80", 5), 2u);
  EXPECT_EQ(html::utf8_cut("abc", 10), 3u);
  EXPECT_EQ(html::utf8_cut("\x80\x80\x80\x80\x80", 4), 4u);  // no boundary nearby: cut where asked
  EXPECT_EQ(html::omitted_marker(1048576), "\u2026 1,048,576 octets not shown");
  EXPECT_EQ(escaped("abc", escape_mode::text, 3), "abc");
}

// --- the report ---------------------------------------------------------------------

TEST(html_report, hostile_text_in_every_field_is_shown_as_text) {
  auto run = make_run();
  run.tool_version = hostile;
  run.target.address = hostile;
  run.target.banner = hostile;
  run.target.extensions = {hostile, "SIZE"};
  run.target.tls_extensions = {hostile};
  run.target.tls_description = hostile;
  run.target.tls_problem = hostile;
  run.started_at = run.finished_at = hostile;
  run.options.suites = run.options.filters = {hostile};
  for (auto& c : run.cases) {
    c.id += hostile;
    c.suite += hostile;
    c.title = hostile;
    c.requirement = hostile;
    c.tags.push_back(hostile);
    c.reason = hostile;
    c.source = hostile;
    c.rfc.push_back({1234, hostile});  // a section no loader would accept, escaped all the same
    c.findings.push_back({reference::level::should, {5321, hostile}, hostile, hostile, hostile, 0, true});
    for (auto k : {ev::client_bytes, ev::server_bytes, ev::tls_started, ev::closed, ev::note})
      c.transcript.push_back(event(k, 4000, hostile));
  }
  // A note whose owner is hostile, and defects made of hostile text throughout.
  run.cases[0].findings.back().counted = false;
  run.cases[0].findings.back().owner = run.cases[1].id;
  run.cases[1].findings.back().counted = false;
  run.cases[1].findings.back().owner = hostile;
  for (auto strength : {reference::level::must, reference::level::should, reference::level::may}) {
    results::defect d;
    d.strength = strength;
    d.cite = {5321, hostile};
    d.rule = d.observation = d.text = hostile;
    d.security = strength == reference::level::must;
    d.owner = strength == reference::level::should ? hostile : run.cases[1].id;
    d.cases = {run.cases[0].id, hostile, run.cases[1].id};
    run.defects.push_back(d);
  }
  baseline_diff diff;
  diff.baseline_started_at = diff.baseline_target = hostile;
  diff.worse = diff.fixed = diff.known_failures = diff.other_changes = {
      {run.cases[0].id, hostile, results::verdict::pass, results::verdict::fail, false}};
  diff.removed = {hostile};
  html_options opt;
  opt.diff = &diff;
  const auto out = to_html(run, opt);
  expect_only_our_markup(out);
  EXPECT_EQ(out.find("<script>alert"), std::string::npos);
  EXPECT_EQ(out.find("<img"), std::string::npos);
  EXPECT_EQ(out.find("</system-out>"), std::string::npos);
  EXPECT_NE(out.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(out.find("&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"), std::string::npos);
  EXPECT_NE(out.find("]]&gt;"), std::string::npos);
  // The notation of each octet kind reaches the page.
  EXPECT_NE(out.find("<i>\u2400\u241b</i>[31m"), std::string::npos);  // NUL ESC in a transcript
  EXPECT_NE(out.find("\u27e8ed\u27e9\u27e8a0\u27e9\u27e880\u27e9"), std::string::npos);
  EXPECT_NE(out.find("\u27e8U+202E\u27e9"), std::string::npos);
  EXPECT_NE(out.find("<i>\u27e8U+240D\u27e9\u27e8U+240A\u27e9</i>"), std::string::npos);
  // Inside the defect entries and the notes too.
  const auto defects = between(out, "<section id=defects>", "</section>");
  EXPECT_EQ(count(defects, "<li class=\"defect "), 3u);
  EXPECT_NE(defects.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(defects.find("<script"), std::string::npos);
  EXPECT_NE(out.find("id=\"count-defects-MAY\" data-count=\"1\""), std::string::npos);
  EXPECT_NE(out.find("<span class=owner>counts in <a href=\"#case-"), std::string::npos);
  EXPECT_NE(out.find("<span class=owner>counts in <a href=\"#" + html::case_anchor(hostile) + "\"><code>&lt;script&gt;"),
            std::string::npos);

  const auto matrix = to_html_matrix({run, make_run()});
  expect_only_our_markup(matrix);
  EXPECT_EQ(matrix.find("<script>alert"), std::string::npos);
  EXPECT_NE(matrix.find("&lt;script&gt;alert(1)"), std::string::npos);
}

TEST(html_report, transcript_shows_time_direction_tls_and_notes) {
  auto run = make_run();
  auto& c = run.cases[0];
  c.transcript = {event(ev::note, 5, "step 1: send EHLO"), event(ev::client_bytes, 1234, "EHLO c\r\n"),
                  event(ev::server_bytes, 2500, "250-a\r\n250 b\r\n"), event(ev::client_bytes, 3000, "STARTTLS\r\n"),
                  event(ev::tls_started, 4000, "TLSv1.3"), event(ev::client_bytes, 4500, "EHLO c\r\n"),
                  event(ev::closed, 1234567, "by the server")};
  const auto out = to_html(run);
  EXPECT_NE(out.find("<div class=\"e n\"><b>0.005</b><u>#</u><span>step 1: send EHLO</span></div>"),
            std::string::npos);
  EXPECT_NE(out.find("<div class=\"e c\"><b>1.234</b><u>C:</u><span>EHLO c<i>\u240d\u240a</i>\n</span></div>"),
            std::string::npos);
  EXPECT_NE(out.find("<div class=\"e s\"><b>2.500</b><u>S:</u><span>250-a<i>\u240d\u240a</i>\n250 b<i>\u240d\u240a</i>\n"
                     "</span></div>"),
            std::string::npos);
  EXPECT_NE(out.find("<div class=\"e tls\"><b>4.000</b>"), std::string::npos);
  EXPECT_NE(out.find("TLS handshake complete"), std::string::npos);
  EXPECT_NE(out.find("<b>1234.567</b><u></u><span>connection closed: by the server"), std::string::npos);
}

TEST(html_report, transcript_is_cut_at_the_limit_with_a_marker) {
  auto run = make_run();
  auto& c = run.cases[1];
  const std::string line = "250 " + std::string(1024 * 1024, 'A') + "\r\n";
  c.transcript = {event(ev::client_bytes, 1, "NOOP\r\n"), event(ev::server_bytes, 2, line),
                  event(ev::client_bytes, 3, "QUIT\r\n"), event(ev::closed, 4, "by the server")};
  html_options opt;
  opt.transcript_limit = 64 * 1024;
  const auto out = to_html(run, opt);
  const auto shown = std::min(line.size(), opt.transcript_limit - 2 * html::event_cost - 6);
  const auto omitted = line.size() - shown + 6;  // the rest of the line and QUIT
  EXPECT_NE(out.find(html::omitted_marker(omitted)), std::string::npos) << html::omitted_marker(omitted);
  EXPECT_NE(out.find("connection closed: by the server"), std::string::npos) << "how it ended is still shown";
  EXPECT_LT(out.size(), 200u * 1024);
  expect_only_our_markup(out);

  c.transcript_truncated = true;
  EXPECT_NE(to_html(run, opt).find("the rest was not recorded"), std::string::npos);
}

TEST(html_report, size_stays_proportional_to_the_limits) {
  results::run_result run = make_run();
  run.cases.clear();
  for (int i = 0; i < 300; ++i)
    run.cases.push_back(make_case("c" + std::to_string(i), "s" + std::to_string(i / 30), results::verdict::pass,
                                  {"t"}, {{5321, "4.1.1"}}));
  // One reply line of 1 MB (of the octets that expand most), and a banner of 1 MB.
  run.cases[7].transcript.push_back(event(ev::server_bytes, 9, "250 " + std::string(1024 * 1024, '\xff') + "\r\n"));
  run.cases[8].reason = std::string(1024 * 1024, '<');
  run.cases[9].findings.push_back({reference::level::must, {5321, "4.2"}, "x", "250", std::string(1 << 20, '\0'), 1, false});
  run.target.banner = std::string(1024 * 1024, 'B');
  const auto one = to_html(run);
  EXPECT_LT(one.size(), 4u * 1024 * 1024) << "one 1 MB line in 300 cases";
  std::printf("[ size     ] 300 cases with one 1 MB line: %zu octets\n", one.size());

  // Every case met a peer that sent a megabyte: the total budget holds the file.
  for (auto& c : run.cases) c.transcript.push_back(event(ev::server_bytes, 9, std::string(1024 * 1024, 'x')));
  const auto all = to_html(run);
  html_options d;
  EXPECT_LT(all.size(), d.total_transcript_limit + 300 * (4096 + 8192) + 2u * 1024 * 1024);
  std::printf("[ size     ] 300 cases each with 1 MB: %zu octets\n", all.size());
}

TEST(html_report, a_case_with_endless_findings_stays_bounded) {
  auto run = make_run();
  auto& c = run.cases[0];
  for (int i = 0; i < 200; ++i)
    c.findings.push_back({reference::level::must, {5321, "4.2"}, std::string(8192, 't'), std::string(8192, 'e'),
                          std::string(8192, '\xff'), i, false});
  const auto out = to_html(run);
  EXPECT_NE(out.find("\u2026 170 more findings not shown"), std::string::npos);
  EXPECT_NE(out.find("<h3>Findings (200)</h3>"), std::string::npos);
  // 30 findings shown, each text cut at 1 KiB (the 0xff octets show as 8-octet escapes).
  EXPECT_LT(out.size(), 30u * (1024 * (1 + 1 + 8) + 512) + 64 * 1024);
  expect_only_our_markup(out);
}

TEST(html_report, counts_pass_rates_and_suites) {
  const auto out = to_html(make_run());
  EXPECT_NE(out.find("id=\"count-PASS\" data-count=\"3\">3<"), std::string::npos);
  EXPECT_NE(out.find("id=\"count-FAIL\" data-count=\"1\">1<"), std::string::npos);
  EXPECT_NE(out.find("id=\"count-WARN\" data-count=\"1\">1<"), std::string::npos);
  EXPECT_NE(out.find("id=\"count-SKIP\" data-count=\"1\">1<"), std::string::npos);
  EXPECT_NE(out.find("id=\"count-ERROR\" data-count=\"1\">1<"), std::string::npos);
  EXPECT_NE(out.find("id=count-total data-count=\"7\">7<"), std::string::npos);
  EXPECT_NE(out.find("<span class=n id=pass-rate>50.0%</span>"), std::string::npos) << "3 of the 6 that ran";
  // By RFC: every RFC a case cites (a.fail cites 5321 and 3030).
  const auto rfc = between(out, "id=\"rate-rfc\"", "</table>");
  EXPECT_NE(rfc.find("data-key=\"5321\" data-total=\"4\" data-pass=\"2\""), std::string::npos) << rfc;
  EXPECT_NE(rfc.find("data-key=\"3030\" data-total=\"1\" data-pass=\"0\""), std::string::npos);
  EXPECT_NE(rfc.find("data-key=\"3207\" data-total=\"3\" data-pass=\"1\""), std::string::npos);
  EXPECT_NE(rfc.find("<td class=rate>50.0%"), std::string::npos) << "RFC 3207: 1 pass of 2 that ran";
  const auto tag = between(out, "id=\"rate-tag\"", "</table>");
  EXPECT_NE(tag.find("data-key=\"ordering\" data-total=\"2\" data-pass=\"2\""), std::string::npos);
  EXPECT_NE(tag.find("data-key=\"syntax\" data-total=\"2\" data-pass=\"1\""), std::string::npos);
  EXPECT_NE(tag.find("href=\"#tag=smuggling\""), std::string::npos);
  // Suites, in order, with their cases.
  EXPECT_LT(out.find("id=\"suite-s1\""), out.find("id=\"suite-s2\""));
  EXPECT_EQ(count(out, "<details class=\"case item "), 7u);
  EXPECT_NE(out.find("<details class=\"case item FAIL\" id=\"case-a.fail\" data-verdict=\"FAIL\" "
                     "data-tags=\"smuggling security\" data-rfc=\"5321 3030\""),
            std::string::npos);

  const auto empty = to_html(results::run_result{});
  EXPECT_NE(empty.find("id=count-total data-count=\"0\""), std::string::npos);
  EXPECT_NE(empty.find("<span class=n id=pass-rate>\u2013</span>"), std::string::npos);
}

TEST(html_report, case_shows_citations_requirement_findings_and_transcript) {
  auto run = make_run();
  const auto out = to_html(run);
  const auto c = between(out, "id=\"case-b.pass-with-finding\"", "</details>");
  EXPECT_NE(c.find("<blockquote class=req>The server MUST do the right thing."), std::string::npos);
  EXPECT_NE(c.find("<a href=\"https://www.rfc-editor.org/rfc/rfc3207#section-4.2\" rel=\"noopener noreferrer\">"
                   "RFC 3207 4.2</a>"),
            std::string::npos);
  EXPECT_NE(c.find("<div class=\"finding MUST\"><div class=fh><span class=lvl>MUST</span>"), std::string::npos);
  EXPECT_NE(c.find("<span class=sec>security</span> <span>step 3</span>"), std::string::npos);
  EXPECT_NE(c.find("<dt>Expected</dt><dd>none</dd><dt>Observed</dt><dd>250 OK</dd>"), std::string::npos);
  EXPECT_NE(c.find("<div class=tx>"), std::string::npos);
  EXPECT_NE(c.find("<dt>Verdict</dt><dd><span class=\"v PASS\">PASS</span> reason for b.pass-with-finding"),
            std::string::npos);
}

TEST(html_report, distinct_defects_beside_the_case_counts) {
  const auto run = defect_run();
  ASSERT_EQ(run.defects.size(), 3u);
  const auto out = to_html(run);
  expect_only_our_markup(out);
  const auto summary = between(out, "<section id=summary>", "</section>");
  // Six cases, two of them FAIL; three defects: the one without VRFY counts once.
  EXPECT_NE(summary.find("id=\"count-FAIL\" data-count=\"2\">2<"), std::string::npos) << summary;
  EXPECT_NE(summary.find("id=\"count-WARN\" data-count=\"1\">1<"), std::string::npos);
  EXPECT_NE(summary.find("<span class=n id=\"count-defects\" data-count=\"3\">3</span><span class=l>distinct "
                         "defects</span>"),
            std::string::npos)
      << summary;
  // Security first, then by level (a MAY tile only when there is such a defect).
  const auto sec = summary.find("id=\"count-defects-security\" data-count=\"1\">1<");
  const auto must = summary.find("id=\"count-defects-MUST\" data-count=\"2\">2<");
  const auto should = summary.find("id=\"count-defects-SHOULD\" data-count=\"1\">1<");
  ASSERT_NE(sec, std::string::npos);
  ASSERT_NE(must, std::string::npos);
  ASSERT_NE(should, std::string::npos);
  EXPECT_LT(sec, must);
  EXPECT_LT(must, should);
  EXPECT_EQ(summary.find("count-defects-MAY"), std::string::npos);
  EXPECT_EQ(out.find("id=defects-unknown"), std::string::npos);
}

TEST(html_report, distinct_defects_section_lists_each_defect_with_its_cases) {
  const auto out = to_html(defect_run());
  const auto sec = between(out, "<section id=defects>", "</section>");
  EXPECT_NE(sec.find("<h2>Distinct defects (3)</h2>"), std::string::npos) << sec;
  EXPECT_EQ(count(sec, "<li class=\"defect "), 3u);
  // Security first: the smuggling defect, then VRFY (MUST), then NOOP (SHOULD).
  const auto smuggling = sec.find("a reply arrived that answers no command");
  const auto vrfy = sec.find("VRFY: 502 (not implemented)");
  const auto noop = sec.find("NOOP with a parameter: 501");
  ASSERT_NE(smuggling, std::string::npos);
  ASSERT_NE(vrfy, std::string::npos);
  ASSERT_NE(noop, std::string::npos);
  EXPECT_LT(smuggling, vrfy);
  EXPECT_LT(vrfy, noop);
  // One entry: level, linked citation, example text, observation, the owning case
  // with its verdict, the cases it is a note in.
  const auto entry = sec.substr(sec.rfind("<li", vrfy), sec.find("</li>", vrfy) - sec.rfind("<li", vrfy));
  EXPECT_NE(entry.find("<li class=\"defect MUST\"><div class=fh><span class=lvl>MUST</span> <a href=\"https://"
                       "www.rfc-editor.org/rfc/rfc5321#section-3.5.3\" rel=\"noopener noreferrer\">RFC 5321 3.5.3</a>"
                       "</div><p>VRFY: 502 (not implemented)</p>"),
            std::string::npos)
      << entry;
  EXPECT_NE(entry.find("<p class=obs>Observed: <span class=mono>502 to VRFY</span></p>"), std::string::npos);
  EXPECT_NE(entry.find("Counts in <span class=\"v FAIL\">FAIL</span> <a href=\"#case-vrfy.implemented\"><code>"
                       "vrfy.implemented</code></a> \u00b7 a note in 2 other cases: <a href=\"#case-help.after-vrfy\">"
                       "<code>help.after-vrfy</code></a>, <a href=\"#case-noop.after-vrfy\"><code>noop.after-vrfy</code>"
                       "</a></p>"),
            std::string::npos)
      << entry;
  EXPECT_NE(sec.find("<span class=sec>security</span>"), std::string::npos);
  // Before the baseline and the pass rates: right under the security findings.
  EXPECT_LT(out.find("<section id=security"), out.find("<section id=defects>"));
  EXPECT_LT(out.find("<section id=defects>"), out.find("<section id=rates>"));

  // A run without a MUST or SHOULD finding: none, said so.
  auto clean = defect_run();
  for (auto& c : clean.cases) c.findings.clear();
  clean.defects = results::assign_defects(clean.cases, false);
  const auto none = to_html(clean);
  EXPECT_NE(none.find("<section id=defects class=\"callout ok\"><h2>Distinct defects: none</h2>"), std::string::npos);
  EXPECT_NE(none.find("id=\"count-defects\" data-count=\"0\""), std::string::npos);
}

TEST(html_report, a_note_is_rendered_as_a_note_linked_to_its_owner) {
  const auto out = to_html(defect_run());
  // The VRFY defect counts in vrfy.implemented: a finding there.
  const auto owner = between(out, "id=\"case-vrfy.implemented\"", "</details>");
  EXPECT_NE(owner.find("<h3>Findings (1)</h3>\n<div class=\"finding MUST\">"), std::string::npos) << owner;
  EXPECT_EQ(owner.find("noted"), std::string::npos);
  EXPECT_EQ(owner.find("<h3>Notes"), std::string::npos);

  // help.after-vrfy saw it too: a note, visibly apart, linked to the owner; the
  // case passes (its own requirement holds) and says why.
  const auto noted = between(out, "id=\"case-help.after-vrfy\"", "</details>");
  EXPECT_NE(noted.find("<summary><span class=\"v PASS\">PASS</span>"), std::string::npos) << noted;
  EXPECT_NE(noted.find("<span class=nts>1 note</span>"), std::string::npos);
  EXPECT_EQ(noted.find("<h3>Findings"), std::string::npos) << "nothing counts here";
  EXPECT_NE(noted.find("<h3>Notes (1)</h3>"), std::string::npos);
  EXPECT_NE(noted.find("<div class=\"finding noted MUST\"><div class=fh><span class=lvl>MUST</span> <span class=nt>"
                       "note</span> <a href=\"https://www.rfc-editor.org/rfc/rfc5321#section-3.5.3\""),
            std::string::npos)
      << noted;
  EXPECT_NE(noted.find("<span class=owner>counts in <a href=\"#case-vrfy.implemented\"><code>vrfy.implemented</code>"
                       "</a></span>"),
            std::string::npos);
  EXPECT_NE(noted.find("<dt>Verdict</dt><dd><span class=\"v PASS\">PASS</span> its own requirement holds; also seen "
                       "here: VRFY: 502 (not implemented) [MUST, RFC 5321 3.5.3, counted in vrfy.implemented]</dd>"
                       "<dt>Counted elsewhere</dt><dd><a href=\"#case-vrfy.implemented\"><code>vrfy.implemented</code>"
                       "</a></dd>"),
            std::string::npos)
      << noted;

  // noop.after-vrfy: its own SHOULD finding first (the WARN), then the note.
  const auto both = between(out, "id=\"case-noop.after-vrfy\"", "</details>");
  EXPECT_NE(both.find("<summary><span class=\"v WARN\">WARN</span>"), std::string::npos);
  const auto own = both.find("<h3>Findings (1)</h3>\n<div class=\"finding SHOULD\">");
  const auto note = both.find("<h3>Notes (1)</h3>");
  ASSERT_NE(own, std::string::npos) << both;
  ASSERT_NE(note, std::string::npos);
  EXPECT_LT(own, note);
  EXPECT_NE(both.find("<div class=\"finding noted MUST\">", note), std::string::npos);

  // The stylesheet draws a note apart (dashed, muted).
  EXPECT_NE(tokenize(out).style.find(".finding.noted{border-style:dashed"), std::string::npos);
}

TEST(html_report, a_security_defect_is_listed_once_in_the_case_it_counts_in) {
  const auto out = to_html(defect_run());
  const auto sec = between(out, "<section id=security", "</section>");
  EXPECT_NE(sec.find("Security findings (1)"), std::string::npos) << sec;
  EXPECT_NE(sec.find("href=\"#case-smuggling.lf-dot-lf\""), std::string::npos);
  EXPECT_EQ(sec.find("data.bare-lf"), std::string::npos) << "a note is not a second security finding";
  const auto noted = between(out, "id=\"case-data.bare-lf\"", "</summary>");
  EXPECT_EQ(noted.find("<span class=sec>"), std::string::npos) << noted;
}

TEST(html_report, an_older_report_without_defects_says_so) {
  // make_run() has a MUST finding and no defects: written before findings were
  // grouped. Its defect count is unknown, not 0, and every finding counts.
  const auto out = to_html(make_run());
  EXPECT_NE(out.find("<p class=note id=defects-unknown>"), std::string::npos);
  EXPECT_EQ(out.find("id=\"count-defects\""), std::string::npos);
  EXPECT_EQ(out.find("<section id=defects"), std::string::npos);
  EXPECT_EQ(out.find("<h3>Notes"), std::string::npos);
  EXPECT_NE(out.find("<h3>Findings (1)</h3>"), std::string::npos);
}

TEST(html_report, the_defect_list_stays_bounded) {
  auto run = defect_run();
  std::vector<std::string> ids;
  for (int i = 0; i < 3000; ++i) ids.push_back("case-" + std::to_string(i));
  for (int i = 0; i < 2000; ++i) {
    results::defect d;
    d.cite = {5321, "4.2"};
    d.text = std::string(16 * 1024, '\xff');
    d.observation = std::string(16 * 1024, '<');
    d.owner = "vrfy.implemented";
    d.cases = ids;
    run.defects.push_back(std::move(d));
  }
  const auto out = to_html(run);
  EXPECT_NE(out.find("\u2026 1503 more defects not listed"), std::string::npos);
  EXPECT_NE(out.find("a note in 3000 other cases: "), std::string::npos);
  EXPECT_NE(out.find(" \u2026 2950 more</p>"), std::string::npos);
  EXPECT_NE(out.find("id=\"count-defects\" data-count=\"2003\""), std::string::npos);
  // 500 entries of 1 KiB of text and observation (0xff shows as 8 octets) and 50 links.
  EXPECT_LT(out.size(), 500u * (1024 * 8 + 1024 * 4 + 50 * 60 + 1024) + 256 * 1024);
}

TEST(html_report, security_findings_come_first) {
  const auto out = to_html(make_run());
  const auto sec = between(out, "<section id=security", "</section>");
  // A security finding (even on a PASS), and a FAIL tagged security. Not: an
  // ERROR tagged security, or a FAIL without the tag.
  EXPECT_NE(sec.find("href=\"#case-a.fail\""), std::string::npos);
  EXPECT_NE(sec.find("href=\"#case-b.pass-with-finding\""), std::string::npos);
  EXPECT_EQ(sec.find("b.error"), std::string::npos);
  EXPECT_NE(sec.find("Security findings (2)"), std::string::npos);
  EXPECT_LT(out.find("<section id=security"), out.find("<section id=rates>"));
  EXPECT_LT(out.find("<section id=security"), out.find("<main id=cases>"));

  auto clean = make_run();
  clean.cases.resize(2);
  EXPECT_NE(to_html(clean).find("Security findings: none"), std::string::npos);
}

TEST(html_report, baseline_sections_list_before_and_now) {
  auto before = make_run();
  auto now = make_run();
  before.cases[0].outcome = results::verdict::fail;   // a.pass1: fixed
  now.cases[1].outcome = results::verdict::fail;      // a.pass2: new failure
  const auto diff = compare(before, now);
  html_options opt;
  opt.diff = &diff;
  const auto out = to_html(now, opt);
  const auto fresh = between(out, "id=\"diff-new\"", "</div>");
  EXPECT_NE(fresh.find("New failures (1)"), std::string::npos);
  EXPECT_NE(fresh.find("<a href=\"#case-a.pass2\"><code>a.pass2</code></a>"), std::string::npos);
  EXPECT_NE(fresh.find("<span class=\"v PASS\">PASS</span><span class=arrow>\u2192</span><span class=\"v FAIL\">"
                       "FAIL</span>"),
            std::string::npos);
  const auto fixed = between(out, "id=\"diff-fixed\"", "</div>");
  EXPECT_NE(fixed.find("Fixed (1)"), std::string::npos);
  EXPECT_NE(fixed.find("a.pass1"), std::string::npos);
  const auto known = between(out, "id=\"diff-known\"", "</div>");
  EXPECT_NE(known.find("Known failures (2)"), std::string::npos);  // a.fail and b.error
  EXPECT_NE(known.find("a.fail"), std::string::npos);
  EXPECT_NE(known.find("b.error"), std::string::npos);
  // Near the top: before the pass rates and the cases.
  EXPECT_LT(out.find("<section id=diff>"), out.find("<section id=rates>"));
  EXPECT_EQ(to_html(now).find("<section id=diff>"), std::string::npos);
}

TEST(html_report, matrix_highlights_rows_that_differ) {
  auto a = make_run();
  auto b = make_run();
  b.target.address = "other.example:25";
  b.target.banner = "220 other <b>bold</b>";
  b.cases[0].outcome = results::verdict::fail;  // a.pass1 differs
  b.cases[0].reason = "the \"reason\" <why>";
  b.cases.pop_back();                     // b.pass-with-finding: missing in b, not a difference
  const auto out = to_html_matrix({a, b});
  expect_only_our_markup(out);
  EXPECT_EQ(count(out, "<tr class=\"item differ\" data-diff"), 1u);
  const auto row = between(out, "<tr class=\"item differ\" data-diff", "</tr>");
  EXPECT_NE(row.find("<code>a.pass1</code>"), std::string::npos);
  EXPECT_NE(row.find("<td class=\"cell FAIL\" title=\"the &quot;reason&quot; &lt;why&gt;\">FAIL</td>"),
            std::string::npos);
  EXPECT_EQ(count(out, "<tr class=item "), 6u);
  EXPECT_NE(out.find("<td class=\"cell MISSING\" title=\"not in this run\">"), std::string::npos);
  EXPECT_NE(out.find("<span id=differing data-count=\"1\">1</span>"), std::string::npos);
  // Targets across with address, banner and tool version; a legend; counts per target.
  EXPECT_NE(out.find("<span class=tgt>other.example:25</span><span class=bn>220 other &lt;b&gt;bold&lt;/b&gt;"),
            std::string::npos);
  EXPECT_NE(out.find("id=legend"), std::string::npos);
  EXPECT_NE(out.find("<tr data-target=\"1\"><td><code>other.example:25</code></td><td class=num "
                     "data-verdict=\"PASS\">1</td><td class=num data-verdict=\"FAIL\">2</td>"),
            std::string::npos);
  EXPECT_NE(out.find("id=f-diff"), std::string::npos);
  // Grouped by suite.
  EXPECT_EQ(count(out, "<tbody class=group><tr class=grp>"), 2u);
}

TEST(html_report, matrix_gives_distinct_defects_per_target) {
  auto a = defect_run();
  auto b = defect_run();
  b.target.address = "other.example:25";
  for (auto& c : b.cases) c.findings.clear();
  b.cases[0].findings.push_back({reference::level::should, {5321, "3.5.3"}, "VRFY: 252", "250", "252 maybe", 0});
  b.defects = results::assign_defects(b.cases, false);
  auto old = make_run();  // an older report: findings, no defects
  old.target.address = "old.example:25";
  const auto out = to_html_matrix({a, b, old});
  expect_only_our_markup(out);
  const auto table = between(out, "<table class=t id=matrix-defects>", "</table>");
  EXPECT_NE(table.find("<tr data-target=\"0\"><td><code>mx.example:25</code></td><td class=num data-defects=\"total\">3"
                       "</td><td class=num data-defects=\"security\">1</td><td class=num data-defects=\"MUST\">2</td>"
                       "<td class=num data-defects=\"SHOULD\">1</td></tr>"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("<tr data-target=\"1\"><td><code>other.example:25</code></td><td class=num data-defects=\"total\">"
                       "1</td><td class=\"num zero\" data-defects=\"security\">0</td><td class=\"num zero\" "
                       "data-defects=\"MUST\">0</td><td class=num data-defects=\"SHOULD\">1</td></tr>"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("<tr data-target=\"2\"><td><code>old.example:25</code></td><td class=\"num zero\" colspan=\"4\">"
                       "not recorded"),
            std::string::npos)
      << table;
  // Before the verdict counts, and in each target's column head.
  EXPECT_LT(out.find("id=matrix-defects"), out.find("id=matrix-counts"));
  EXPECT_NE(out.find("<span class=df>3 distinct defects</span></th>"), std::string::npos);
  EXPECT_NE(out.find("<span class=df>1 distinct defect</span></th>"), std::string::npos);
  EXPECT_NE(out.find("<span class=df>distinct defects not recorded</span></th>"), std::string::npos);
}

TEST(html_report, csp_allows_exactly_the_one_script) {
  for (const auto& out : {to_html(make_run()), to_html_matrix({make_run(), make_run()})}) {
    const auto p = tokenize(out);
    ASSERT_FALSE(p.script.empty());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    ASSERT_EQ(EVP_Digest(p.script.data(), p.script.size(), md, &n, EVP_sha256(), nullptr), 1);
    unsigned char b64[128];
    const int len = EVP_EncodeBlock(b64, md, static_cast<int>(n));
    const std::string hash = "sha256-" + std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(len));
    EXPECT_EQ(hash, html::script_hash());

    const tag* meta = nullptr;
    for (const auto& t : p.tags)
      if (t.name == "meta" && t.attr("http-equiv")) meta = &t;
    ASSERT_NE(meta, nullptr);
    EXPECT_EQ(*meta->attr("http-equiv"), "Content-Security-Policy");
    auto policy = *meta->attr("content");
    for (auto pos = policy.find("&#39;"); pos != std::string::npos; pos = policy.find("&#39;"))
      policy.replace(pos, 5, "'");
    EXPECT_EQ(policy, "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src '" + hash +
                          "'; base-uri 'none'; form-action 'none'");
    // The policy comes before anything rendered from the run.
    EXPECT_LT(out.find("Content-Security-Policy"), out.find("<title>"));
  }
}

TEST(html_report, works_without_javascript_and_prints_open) {
  const auto out = to_html(make_run());
  EXPECT_NE(out.find("<div id=filters class=tools role=search hidden>"), std::string::npos)
      << "the filter bar appears only when the script runs";
  EXPECT_NE(out.find("<noscript>"), std::string::npos);
  const auto p = tokenize(out);
  EXPECT_NE(p.style.find("@media print{"), std::string::npos);
  EXPECT_NE(p.style.find("#filters,.noscript,.tools{display:none!important}"), std::string::npos);
  EXPECT_NE(p.style.find("details::details-content{content-visibility:visible"), std::string::npos);
  EXPECT_NE(p.script.find("beforeprint"), std::string::npos);
  // The filter state lives in the fragment and hidden cases get the hidden attribute.
  EXPECT_NE(p.script.find("location.hash"), std::string::npos);
  EXPECT_NE(p.script.find("e.hidden = !ok"), std::string::npos);
  EXPECT_EQ(p.script.find("innerHTML"), std::string::npos);
  EXPECT_EQ(out.rfind("<script>"), out.find("<script>")) << "one script";
}

TEST(html_report, titles_and_anchors) {
  auto run = make_run();
  EXPECT_NE(to_html(run).find("<title>smtpspec: mx.example:25</title>"), std::string::npos);
  html_options opt;
  opt.title = "Nightly <run>";
  EXPECT_NE(to_html(run, opt).find("<title>Nightly &lt;run&gt;</title>"), std::string::npos);
  EXPECT_EQ(html::case_anchor("rfc5321.data.x-y_z"), "case-rfc5321.data.x-y_z");
  EXPECT_EQ(html::case_anchor("a b\"<c>"), "case-a_b__c_");
  EXPECT_EQ(html::format_ms(std::chrono::microseconds(1234567)), "1234.567");
  EXPECT_EQ(html::format_ms(std::chrono::microseconds(-5)), "0.000");
}

}  // namespace
}  // namespace smtpspec::reports
