// The JUnit writer on synthetic results: structure, counts, names, messages,
// C-locale times, properties (the distinct defects among them), notes of defects
// that count in another case, hostile strings, the transcript cut, and validity
// against reports/junit.xsd (with xmllint, a required tool), including checks
// that the schema rejects broken files so that it is not vacuous.
#include "smtpspec/reports/junit_report.hpp"

#include <gtest/gtest.h>
#include <pugixml.hpp>

#include <atomic>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <unistd.h>

#include "smtpspec/reference/text.hpp"
#include "smtpspec/results/defects.hpp"

namespace smtpspec::reports {
namespace {

namespace ref = smtpspec::reference;
using namespace std::string_literals;

// --- helpers ---------------------------------------------------------------------------

/// Every hostile string of the issue in one: markup, CDATA end, the closing tag of
/// the element the transcript goes into, entities, NUL, ESC sequences, a UTF-8
/// encoded lone surrogate, invalid UTF-8, U+FFFE, a C1 control and an overlong.
const std::string k_hostile = "<script>alert(1)</script> </system-out> ]]> &amp; & \"' \0NUL \x1b[2J\x1b]0;t\x07 "
                              "\xed\xa0\x80 \xff\xfe \xef\xbf\xbe \xc2\x9b \xc0\xaf \\x00 end"s;

struct xmllint_result {
  int status = -1;
  std::string output;
};

std::filesystem::path temp_file(const std::string& stem) {
  static std::atomic<int> n{0};
  return std::filesystem::temp_directory_path() /
         ("smtpspec-" + stem + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".xml");
}

/// Validates `xml` against reports/junit.xsd with xmllint.
xmllint_result validate(const std::string& xml) {
  const std::string xmllint = SMTPSPEC_XMLLINT;
  if (xmllint.empty()) return {-1, "xmllint was not found when the build was configured (install libxml2-utils)"};
  const auto file = temp_file("junit");
  const auto log = temp_file("xmllint");
  std::ofstream(file, std::ios::binary) << xml;
  const std::string cmd = "'" + xmllint + "' --noout --nonet --schema '" + SMTPSPEC_SOURCE_DIR +
                          "/reports/junit.xsd' '" + file.string() + "' >'" + log.string() + "' 2>&1";
  xmllint_result r;
  r.status = std::system(cmd.c_str());
  std::stringstream ss;
  ss << std::ifstream(log).rdbuf();
  r.output = ss.str();
  std::filesystem::remove(file);
  std::filesystem::remove(log);
  return r;
}

/// Well-formed for an XML 1.0 parser: valid UTF-8 and only XML Chars.
bool only_xml_chars(std::string_view s, std::string& why) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') return why = "control " + std::to_string(c) + " at " + std::to_string(i), false;
      ++i;
      continue;
    }
    const auto u = smtpspec::reference::decode_utf8(s.substr(i));  // RFC 3629 4
    if (u.length == 0) return why = "bad UTF-8 at " + std::to_string(i), false;
    if (u.code_point == 0xfffe || u.code_point == 0xffff) return why = "not an XML Char at " + std::to_string(i), false;
    i += u.length;
  }
  return true;
}

/// The document with every tag (attributes included) removed: element content as
/// written, entities unexpanded.
std::string content_only(std::string_view xml) {
  std::string out;
  bool in_tag = false;
  char quote = 0;
  for (char ch : xml) {
    if (in_tag) {
      if (quote) quote = ch == quote ? 0 : quote;
      else if (ch == '"' || ch == '\'') quote = ch;
      else if (ch == '>') in_tag = false;
    } else if (ch == '<') {
      in_tag = true;
    } else {
      out += ch;
    }
  }
  return out;
}

pugi::xml_document parse(const std::string& xml) {
  pugi::xml_document doc;
  auto r = doc.load_buffer(xml.data(), xml.size(), pugi::parse_default, pugi::encoding_utf8);
  EXPECT_TRUE(r) << r.description() << " at " << r.offset;
  return doc;
}

std::size_t count_children(pugi::xml_node n, const char* name) {
  std::size_t k = 0;
  for (auto c : n.children(name)) (void)c, ++k;
  return k;
}

std::size_t attr_count(pugi::xml_node n, const char* name) {
  return static_cast<std::size_t>(std::stoull(n.attribute(name).value()));
}

/// tests/failures/errors/skipped of every suite equal its children, and the root's
/// equal the sums.
void expect_consistent_counts(const pugi::xml_document& doc) {
  auto root = doc.child("testsuites");
  std::size_t tests = 0, failures = 0, errors = 0, skipped = 0;
  for (auto s : root.children("testsuite")) {
    std::size_t t = 0, f = 0, e = 0, k = 0;
    for (auto tc : s.children("testcase")) {
      ++t;
      f += count_children(tc, "failure");
      e += count_children(tc, "error");
      k += count_children(tc, "skipped");
    }
    EXPECT_EQ(attr_count(s, "tests"), t) << s.attribute("name").value();
    EXPECT_EQ(attr_count(s, "failures"), f) << s.attribute("name").value();
    EXPECT_EQ(attr_count(s, "errors"), e) << s.attribute("name").value();
    EXPECT_EQ(attr_count(s, "skipped"), k) << s.attribute("name").value();
    tests += t, failures += f, errors += e, skipped += k;
  }
  EXPECT_EQ(attr_count(root, "tests"), tests);
  EXPECT_EQ(attr_count(root, "failures"), failures);
  EXPECT_EQ(attr_count(root, "errors"), errors);
  EXPECT_EQ(attr_count(root, "skipped"), skipped);
}

results::case_result make_case(std::string id, std::string suite, results::verdict v, std::string reason = {}) {
  results::case_result c;
  c.id = std::move(id);
  c.suite = std::move(suite);
  c.title = "Title of " + c.id;
  c.requirement = "The server MUST do the right thing.";
  c.rfc = {{5321, "4.1.4"}};
  c.level = v == results::verdict::warn ? ref::level::should : ref::level::must;
  c.outcome = v;
  c.reason = std::move(reason);
  c.duration = std::chrono::microseconds(1234567);
  c.source = "scenarios/rfc5321/ordering.toml:12:1";
  c.transcript = {{results::transcript_event::kind::server_bytes, std::chrono::microseconds(1500), "220 ready\r\n"},
                  {results::transcript_event::kind::client_bytes, std::chrono::microseconds(2500), "EHLO x\r\n"},
                  {results::transcript_event::kind::closed, std::chrono::microseconds(3000), "by the server"}};
  return c;
}

results::run_result every_verdict() {
  results::run_result r;
  r.tool_version = "0.1.0";
  r.target.address = "mx.example.test:2525";
  r.target.banner = "220 mx.example.test ESMTP";
  r.target.extensions = {"PIPELINING", "SIZE 1000000", "STARTTLS"};
  r.target.tls_problem = "STARTTLS not tried";
  r.options.strict = false;
  r.options.jobs = 4;
  r.options.reply_timeout = std::chrono::milliseconds(10000);
  r.options.case_timeout = std::chrono::milliseconds(60000);
  r.started_at = "2024-05-06T07:08:09Z";
  r.finished_at = "2024-05-06T07:09:10Z";
  r.duration = std::chrono::seconds(61);
  r.cases.push_back(make_case("rfc5321.ordering.ok", "rfc5321.ordering", results::verdict::pass));
  auto fail = make_case("rfc5321.ordering.rcpt-before-mail", "rfc5321.ordering", results::verdict::fail,
                        "RCPT before MAIL was accepted\nsecond line");
  fail.findings.push_back({ref::level::must, {5321, "3.3"}, "RCPT without MAIL must get 503", "503", "250 OK", 1, false});
  fail.findings.push_back({ref::level::must, {5321, "4.2"}, "an unexpected reply", "no reply", "250 2.0.0", 2, true});
  r.cases.push_back(fail);
  auto warn = make_case("rfc5321.data.no-rcpt", "rfc5321.data", results::verdict::warn, "DATA without RCPT got 354");
  warn.findings.push_back({ref::level::should, {5321, "4.1.1.4"}, "DATA needs a recipient", "503/554", "354 go", 0, false});
  r.cases.push_back(warn);
  r.cases.push_back(make_case("rfc3030.bdat.last", "rfc5321.data", results::verdict::skip, "the target does not advertise CHUNKING"));
  r.cases.push_back(make_case("rfc5321.data.error", "rfc5321.data", results::verdict::error, "cannot connect to mx: refused"));
  return r;
}

/// every_verdict() grouped into defects as the CLI does (results::assign_defects),
/// with one more FAIL: data-before-rcpt, whose own finding breaks 4.1.4 and which
/// also saw the RCPT-without-MAIL defect that counts in rcpt-before-mail (listed
/// first, so a writer that took the first finding would take the note).
results::run_result with_defects() {
  auto r = every_verdict();
  r.cases[3].inconclusive = r.cases[3].reason;  // SKIP and ERROR as the runner records them
  r.cases[4].error = r.cases[4].reason;
  const auto rcpt_without_mail = r.cases[1].findings[0];
  auto both = make_case("rfc5321.ordering.data-before-rcpt", "rfc5321.ordering", results::verdict::fail);
  both.findings.push_back(rcpt_without_mail);
  both.findings.push_back({ref::level::must, {5321, "4.1.4"}, "DATA without RCPT must get 503", "503", "354 go", 3});
  r.cases.push_back(both);
  r.cases[2].findings.push_back(rcpt_without_mail);  // the WARN case saw it too
  r.defects = results::assign_defects(r.cases, false);
  return r;
}

std::map<std::string, std::string> properties(pugi::xml_node suite) {
  std::map<std::string, std::string> props;
  for (auto p : suite.child("properties").children("property")) props[p.attribute("name").value()] = p.attribute("value").value();
  return props;
}

pugi::xml_node testcase(const pugi::xml_document& doc, const std::string& id) {
  for (auto s : doc.child("testsuites").children("testsuite"))
    for (auto tc : s.children("testcase"))
      if (std::string(tc.attribute("name").value()).rfind(id + ":", 0) == 0) return tc;
  ADD_FAILURE() << "no testcase for " << id;
  return {};
}

// --- tests ---------------------------------------------------------------------------

TEST(junit_report, xmllint_is_available) {
  // A required tool (ci/install-deps.sh installs libxml2-utils): failing here says
  // why every schema check below fails.
  ASSERT_FALSE(std::string(SMTPSPEC_XMLLINT).empty()) << "xmllint is required: install libxml2-utils";
}

TEST(junit_report, one_testsuite_per_suite_one_testcase_per_case) {
  const auto xml = to_junit(every_verdict());
  auto doc = parse(xml);
  auto root = doc.child("testsuites");
  ASSERT_TRUE(root);
  ASSERT_EQ(count_children(root, "testsuite"), 2u);
  auto first = root.child("testsuite");
  auto second = first.next_sibling("testsuite");
  EXPECT_STREQ(first.attribute("name").value(), "rfc5321.ordering");
  EXPECT_STREQ(first.attribute("package").value(), "rfc5321");
  EXPECT_STREQ(first.attribute("id").value(), "0");
  EXPECT_STREQ(first.attribute("hostname").value(), "mx.example.test");
  EXPECT_STREQ(second.attribute("name").value(), "rfc5321.data");
  EXPECT_EQ(count_children(first, "testcase"), 2u);
  EXPECT_EQ(count_children(second, "testcase"), 3u);
  for (auto s : root.children("testsuite"))
    for (auto tc : s.children("testcase")) EXPECT_STREQ(tc.attribute("classname").value(), s.attribute("name").value());
  auto tc = testcase(doc, "rfc5321.ordering.ok");
  EXPECT_STREQ(tc.attribute("name").value(), "rfc5321.ordering.ok: Title of rfc5321.ordering.ok");
  EXPECT_STREQ(tc.attribute("file").value(), "scenarios/rfc5321/ordering.toml");
  EXPECT_STREQ(tc.attribute("line").value(), "12");
  expect_consistent_counts(doc);
  EXPECT_EQ(attr_count(root, "tests"), 5u);
  EXPECT_EQ(attr_count(root, "failures"), 1u);
  EXPECT_EQ(attr_count(root, "errors"), 1u);
  EXPECT_EQ(attr_count(root, "skipped"), 1u);
  auto v = validate(xml);
  EXPECT_EQ(v.status, 0) << v.output << xml;
}

TEST(junit_report, fail_is_a_failure_with_message_type_and_findings) {
  auto doc = parse(to_junit(every_verdict()));
  auto tc = testcase(doc, "rfc5321.ordering.rcpt-before-mail");
  auto f = tc.child("failure");
  ASSERT_TRUE(f);
  EXPECT_FALSE(tc.child("error") || tc.child("skipped"));
  EXPECT_STREQ(f.attribute("message").value(), "RCPT before MAIL was accepted");  // first line only
  EXPECT_STREQ(f.attribute("type").value(), "FAIL MUST RFC 5321 4.1.4");
  const std::string body = f.text().get();
  EXPECT_NE(body.find("Requirement: The server MUST do the right thing."), std::string::npos) << body;
  EXPECT_NE(body.find("1. [MUST, RFC 5321 3.3, step 2] RCPT without MAIL must get 503"), std::string::npos) << body;
  EXPECT_NE(body.find("expected: 503"), std::string::npos) << body;
  EXPECT_NE(body.find("observed: 250 OK"), std::string::npos) << body;
  EXPECT_NE(body.find("2. [MUST, RFC 5321 4.2, step 3, security] an unexpected reply"), std::string::npos) << body;
  const std::string out = tc.child("system-out").text().get();
  EXPECT_NE(out.find("S: 220 ready\\r\\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[0.003] C: EHLO x\\r\\n"), std::string::npos) << out;
  EXPECT_NE(out.find("-- closed: by the server"), std::string::npos) << out;
}

TEST(junit_report, error_skip_and_warn) {
  auto doc = parse(to_junit(every_verdict()));
  auto err = testcase(doc, "rfc5321.data.error").child("error");
  ASSERT_TRUE(err);
  EXPECT_STREQ(err.attribute("message").value(), "cannot connect to mx: refused");
  EXPECT_STREQ(err.attribute("type").value(), "ERROR MUST RFC 5321 4.1.4");

  auto skip = testcase(doc, "rfc3030.bdat.last").child("skipped");
  ASSERT_TRUE(skip);
  EXPECT_STREQ(skip.attribute("message").value(), "the target does not advertise CHUNKING");

  // WARN passes (outside strict mode), with the warning in system-out.
  auto warn = testcase(doc, "rfc5321.data.no-rcpt");
  EXPECT_FALSE(warn.child("failure") || warn.child("error") || warn.child("skipped"));
  const std::string out = warn.child("system-out").text().get();
  EXPECT_NE(out.find("Verdict: WARN (SHOULD, RFC 5321 4.1.4)"), std::string::npos) << out;
  EXPECT_NE(out.find("Reason: DATA without RCPT got 354"), std::string::npos) << out;
  EXPECT_NE(out.find("expected: 503/554"), std::string::npos) << out;

  auto pass = testcase(doc, "rfc5321.ordering.ok");
  EXPECT_FALSE(pass.child("failure") || pass.child("error") || pass.child("skipped"));
}

TEST(junit_report, strict_turns_warn_into_a_failure_of_type_warn) {
  junit_options opt;
  opt.strict = true;
  const auto xml = to_junit(every_verdict(), opt);
  auto doc = parse(xml);
  auto f = testcase(doc, "rfc5321.data.no-rcpt").child("failure");
  ASSERT_TRUE(f);
  EXPECT_STREQ(f.attribute("type").value(), "WARN SHOULD RFC 5321 4.1.4");
  EXPECT_STREQ(f.attribute("message").value(), "DATA without RCPT got 354");
  EXPECT_EQ(attr_count(doc.child("testsuites"), "failures"), 2u);
  expect_consistent_counts(doc);
  auto v = validate(xml);
  EXPECT_EQ(v.status, 0) << v.output;
}

TEST(junit_report, times_are_c_locale_seconds_with_three_decimals) {
  // A locale with a decimal comma, if the machine has one, must not leak in.
  const char* old = std::setlocale(LC_ALL, nullptr);
  const std::string saved = old ? old : "C";
  for (const char* l : {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8"})
    if (std::setlocale(LC_ALL, l)) break;
  auto run = every_verdict();
  run.cases[0].duration = std::chrono::microseconds(0);
  run.cases[1].duration = std::chrono::microseconds(999);            // rounds to 0.001
  run.cases[2].duration = std::chrono::microseconds(-5);             // clock skew: 0
  run.cases[3].duration = std::chrono::microseconds(1234567890123);  // 1234567.890
  const auto xml = to_junit(run);
  std::setlocale(LC_ALL, saved.c_str());

  auto doc = parse(xml);
  EXPECT_STREQ(testcase(doc, "rfc5321.ordering.ok").attribute("time").value(), "0.000");
  EXPECT_STREQ(testcase(doc, "rfc5321.ordering.rcpt-before-mail").attribute("time").value(), "0.001");
  EXPECT_STREQ(testcase(doc, "rfc5321.data.no-rcpt").attribute("time").value(), "0.000");
  EXPECT_STREQ(testcase(doc, "rfc3030.bdat.last").attribute("time").value(), "1234567.890");
  const std::regex decimal("[0-9]+\\.[0-9]{3}");
  auto root = doc.child("testsuites");
  EXPECT_STREQ(root.attribute("time").value(), "61.000");  // the run's wall-clock time
  for (auto s : root.children("testsuite")) {
    EXPECT_TRUE(std::regex_match(s.attribute("time").value(), decimal)) << s.attribute("time").value();
    for (auto tc : s.children("testcase"))
      EXPECT_TRUE(std::regex_match(tc.attribute("time").value(), decimal)) << tc.attribute("time").value();
  }
  // A suite's time is the sum of its cases' (rounded) times.
  EXPECT_STREQ(root.child("testsuite").attribute("time").value(), "0.001");
}

TEST(junit_report, timestamp_is_iso_without_zone_or_left_out) {
  auto run = every_verdict();
  auto doc = parse(to_junit(run));
  EXPECT_STREQ(doc.child("testsuites").attribute("timestamp").value(), "2024-05-06T07:08:09");
  EXPECT_STREQ(doc.child("testsuites").child("testsuite").attribute("timestamp").value(), "2024-05-06T07:08:09");
  run.started_at = "May 6th, 2024";
  const auto xml = to_junit(run);
  auto bad = parse(xml);
  EXPECT_FALSE(bad.child("testsuites").attribute("timestamp"));
  EXPECT_FALSE(bad.child("testsuites").child("testsuite").attribute("timestamp"));
  auto v = validate(xml);
  EXPECT_EQ(v.status, 0) << v.output;
}

TEST(junit_report, properties_describe_target_and_options) {
  auto doc = parse(to_junit(every_verdict()));
  std::map<std::string, std::string> props;
  for (auto p : doc.child("testsuites").child("testsuite").child("properties").children("property"))
    props[p.attribute("name").value()] = p.attribute("value").value();
  EXPECT_EQ(props["smtpspec.version"], "0.1.0");
  EXPECT_EQ(props["target.address"], "mx.example.test:2525");
  EXPECT_EQ(props["target.banner"], "220 mx.example.test ESMTP");
  EXPECT_EQ(props["target.tls"], "none");
  EXPECT_EQ(props["target.tls_problem"], "STARTTLS not tried");
  EXPECT_EQ(props["target.extensions"], "PIPELINING, SIZE 1000000, STARTTLS");
  EXPECT_EQ(props["options.strict"], "false");
  EXPECT_EQ(props["options.jobs"], "4");
  EXPECT_EQ(props["options.reply_timeout_ms"], "10000");
  EXPECT_EQ(props["options.case_timeout_ms"], "60000");
  EXPECT_EQ(props["run.started_at"], "2024-05-06T07:08:09Z");
  // Every suite carries them (consumers show properties per suite).
  auto second = doc.child("testsuites").child("testsuite").next_sibling("testsuite");
  EXPECT_EQ(count_children(second.child("properties"), "property"), props.size());
}

TEST(junit_report, properties_give_the_distinct_defects) {
  const auto run = with_defects();
  ASSERT_EQ(run.defects.size(), 4u);
  const auto xml = to_junit(run);
  auto doc = parse(xml);
  // rcpt-before-mail: 3.3 and the 4.2 security finding; data-before-rcpt: 4.1.4;
  // no-rcpt: 4.1.1.4 at SHOULD. Seen in three cases, 3.3 is still one defect.
  for (auto s : doc.child("testsuites").children("testsuite")) {
    auto props = properties(s);
    EXPECT_EQ(props["distinct_defects"], "4") << s.attribute("name").value();
    EXPECT_EQ(props["distinct_defects.security"], "1");
    EXPECT_EQ(props["distinct_defects.must"], "3");
    EXPECT_EQ(props["distinct_defects.should"], "1");
    EXPECT_EQ(props.count("distinct_defects.may"), 0u);
  }
  auto v = validate(xml);
  EXPECT_EQ(v.status, 0) << v.output;

  // An older report (findings, no defects): the count is unknown, so left out.
  auto old = properties(parse(to_junit(every_verdict())).child("testsuites").child("testsuite"));
  EXPECT_EQ(old.count("distinct_defects"), 0u);
  EXPECT_EQ(old.count("distinct_defects.must"), 0u);
  EXPECT_EQ(old["target.address"], "mx.example.test:2525");
  // A run with nothing found: 0, not unknown.
  auto clean = every_verdict();
  for (auto& c : clean.cases) c.findings.clear();
  EXPECT_EQ(properties(parse(to_junit(clean)).child("testsuites").child("testsuite"))["distinct_defects"], "0");
}

TEST(junit_report, a_failure_holds_its_own_findings_and_notes_go_to_system_out) {
  const auto run = with_defects();
  const auto xml = to_junit(run);
  auto doc = parse(xml);
  // Which testcases fail is the verdicts' business: two FAIL, one ERROR, one SKIP.
  std::size_t fails = 0;
  for (const auto& c : run.cases) fails += c.outcome == results::verdict::fail;
  EXPECT_EQ(fails, 2u);
  EXPECT_EQ(attr_count(doc.child("testsuites"), "failures"), fails);
  EXPECT_EQ(attr_count(doc.child("testsuites"), "errors"), 1u);
  EXPECT_EQ(attr_count(doc.child("testsuites"), "skipped"), 1u);
  expect_consistent_counts(doc);

  auto tc = testcase(doc, "rfc5321.ordering.data-before-rcpt");
  auto f = tc.child("failure");
  ASSERT_TRUE(f);
  EXPECT_EQ(std::string(f.attribute("message").value()).rfind("DATA without RCPT must get 503", 0), 0u)
      << f.attribute("message").value();
  const std::string body = f.text().get();
  EXPECT_NE(body.find("1. [MUST, RFC 5321 4.1.4, step 4] DATA without RCPT must get 503"), std::string::npos) << body;
  EXPECT_EQ(body.find("RCPT without MAIL"), std::string::npos) << "a note in the failure: " << body;
  const std::string out = tc.child("system-out").text().get();
  EXPECT_NE(out.find("Notes (counted in other cases, not in this verdict):\n1. [MUST, RFC 5321 3.3, step 2, note: "
                     "counted in rfc5321.ordering.rcpt-before-mail] RCPT without MAIL must get 503\n   expected: 503\n"),
            std::string::npos)
      << out;
  EXPECT_LT(out.find("Notes ("), out.find("Transcript:"));

  // The owner lists it as its own finding, and has no notes.
  const auto owner = testcase(doc, "rfc5321.ordering.rcpt-before-mail");
  EXPECT_NE(std::string(owner.child("failure").text().get()).find("1. [MUST, RFC 5321 3.3, step 2] RCPT without MAIL"),
            std::string::npos);
  EXPECT_EQ(std::string(owner.child("system-out").text().get()).find("Notes ("), std::string::npos);

  // A passing testcase (WARN outside strict) shows its own finding, then the note.
  const std::string warn = testcase(doc, "rfc5321.data.no-rcpt").child("system-out").text().get();
  const auto own = warn.find("1. [SHOULD, RFC 5321 4.1.1.4, step 1] DATA needs a recipient");
  const auto note = warn.find("Notes (counted in other cases, not in this verdict):\n1. [MUST, RFC 5321 3.3, step 2, "
                              "note: counted in rfc5321.ordering.rcpt-before-mail]");
  ASSERT_NE(own, std::string::npos) << warn;
  ASSERT_NE(note, std::string::npos) << warn;
  EXPECT_LT(own, note);
  auto v = validate(xml);
  EXPECT_EQ(v.status, 0) << v.output;
}

TEST(junit_report, xml_safe_escapes_what_xml_forbids_and_keeps_valid_text) {
  EXPECT_EQ(xml_safe("plain <&> text", false, 100), "plain <&> text");  // pugixml escapes markup
  EXPECT_EQ(xml_safe("a\0b"s, false, 100), "a\\0b");
  EXPECT_EQ(xml_safe("\x1b[2J", false, 100), "\\x1b[2J");
  EXPECT_EQ(xml_safe("\xed\xa0\x80", false, 100), "\\xed\\xa0\\x80");   // lone surrogate
  EXPECT_EQ(xml_safe("\xff\xfe", false, 100), "\\xff\\xfe");            // invalid UTF-8
  EXPECT_EQ(xml_safe("\xef\xbf\xbe|\xef\xbf\xbf", false, 100), "\\xef\\xbf\\xbe|\\xef\\xbf\\xbf");  // U+FFFE/F
  EXPECT_EQ(xml_safe("\xc2\x9b", false, 100), "\\xc2\\x9b");            // C1 CSI
  EXPECT_EQ(xml_safe("\xc0\xaf", false, 100), "\\xc0\\xaf");            // overlong '/'
  EXPECT_EQ(xml_safe("\xe2\x82", false, 100), "\\xe2\\x82");            // truncated sequence
  EXPECT_EQ(xml_safe("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", false, 100), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  EXPECT_EQ(xml_safe("a\r\nb\tc", false, 100), "a\\r\\nb\\tc");
  EXPECT_EQ(xml_safe("a\r\nb\tc", true, 100), "a\\r\nb\tc");  // CR would become LF in a parser
  EXPECT_EQ(xml_safe(std::string(50, 'x'), false, 10), std::string(10, 'x') + " ... (40 octets not shown)");
  // The cut never splits a character or an escape.
  EXPECT_EQ(xml_safe("abcdefgh\xe2\x82\xac", false, 10), "abcdefgh ... (3 octets not shown)");
  EXPECT_EQ(xml_safe("abcdefgh\x1b", false, 10), "abcdefgh ... (1 octets not shown)");
  std::string why;
  EXPECT_TRUE(only_xml_chars(xml_safe(k_hostile, true, 1000), why)) << why;
}

TEST(junit_report, hostile_strings_everywhere_stay_escaped_and_valid) {
  results::run_result run = every_verdict();
  run.target.address = k_hostile;
  run.target.banner = "220 " + k_hostile;
  run.target.extensions = {k_hostile, "X" + k_hostile};
  run.tool_version = k_hostile;
  run.started_at = k_hostile;
  run.options.filters = {k_hostile};
  for (auto& c : run.cases) {
    c.id += k_hostile;
    c.suite += k_hostile;
    c.title = k_hostile;
    c.requirement = k_hostile + "\n" + k_hostile;
    c.reason = k_hostile + "\r\n" + k_hostile;
    c.source = k_hostile + ":7:1";
    c.findings.push_back({ref::level::must, {5321, "4.2"}, k_hostile, k_hostile, k_hostile, 0, true});
    c.transcript.push_back({results::transcript_event::kind::server_bytes, std::chrono::microseconds(9), k_hostile + "\r\n"});
    c.transcript.push_back({results::transcript_event::kind::note, std::chrono::microseconds(10), k_hostile});
    // The same finding again, as a note that counts in a case of hostile name.
    c.findings.push_back(c.findings.back());
    c.findings.back().counted = false;
    c.findings.back().owner = k_hostile;
  }
  results::defect d;
  d.cite = {5321, k_hostile};
  d.rule = d.observation = d.text = d.owner = k_hostile;
  d.cases = {k_hostile};
  run.defects = {d, d};
  for (bool strict : {false, true}) {
    junit_options opt;
    opt.strict = strict;
    const auto xml = to_junit(run, opt);
    std::string why;
    EXPECT_TRUE(only_xml_chars(xml, why)) << why;
    EXPECT_EQ(xml.find("<script>"), std::string::npos);
    EXPECT_EQ(xml.find("<![CDATA["), std::string::npos);
    // "]]>" is legal inside an attribute value; in element content it is not.
    EXPECT_EQ(content_only(xml).find("]]>"), std::string::npos);
    // The only "</system-out>" are the real end tags.
    auto doc = parse(xml);
    std::size_t outs = 0, ends = 0;
    for (auto s : doc.child("testsuites").children("testsuite"))
      for (auto tc : s.children("testcase")) outs += count_children(tc, "system-out");
    for (auto p = xml.find("</system-out>"); p != std::string::npos; p = xml.find("</system-out>", p + 1)) ++ends;
    EXPECT_EQ(outs, run.cases.size());
    EXPECT_EQ(ends, outs);
    expect_consistent_counts(doc);

    // Read back, the hostile text is there as text, visibly escaped.
    auto tc = doc.child("testsuites").child("testsuite").child("testcase");
    const std::string name = tc.attribute("name").value();
    EXPECT_NE(name.find("<script>alert(1)</script> </system-out> ]]> &amp; &"), std::string::npos) << name;
    EXPECT_NE(name.find("\\0NUL \\x1b[2J\\x1b]0;t\\x07 \\xed\\xa0\\x80 \\xff\\xfe \\xef\\xbf\\xbe \\xc2\\x9b \\xc0\\xaf"),
              std::string::npos)
        << name;
    const std::string out = tc.child("system-out").text().get();
    EXPECT_NE(out.find("S: <script>alert(1)</script> </system-out> ]]> &amp; & \"' \\0NUL \\x1b[2J"), std::string::npos)
        << out;
    EXPECT_NE(out.find("note: counted in <script>alert(1)</script> </system-out> ]]> &amp; & \"' \\0NUL \\x1b[2J"),
              std::string::npos)
        << out;
    EXPECT_EQ(properties(doc.child("testsuites").child("testsuite"))["distinct_defects"], "2");
    auto v = validate(xml);
    EXPECT_EQ(v.status, 0) << v.output;
  }
}

TEST(junit_report, message_is_the_first_line_and_bounded) {
  auto run = every_verdict();
  run.cases[1].reason = std::string(100000, 'r') + "\nsecond";
  junit_options opt;
  opt.message_limit = 200;
  auto doc = parse(to_junit(run, opt));
  const std::string m = testcase(doc, "rfc5321.ordering.rcpt-before-mail").child("failure").attribute("message").value();
  EXPECT_EQ(m, std::string(200, 'r') + " ... (99800 octets not shown)");
}

TEST(junit_report, transcript_is_cut_at_the_limit_with_a_marker) {
  auto run = every_verdict();
  auto& c = run.cases[1];
  c.transcript.push_back({results::transcript_event::kind::server_bytes, std::chrono::microseconds(4000),
                          "250 " + std::string(1024 * 1024, 'A') + "\r\n"});
  c.transcript.push_back({results::transcript_event::kind::client_bytes, std::chrono::microseconds(5000), "QUIT\r\n"});
  c.transcript_truncated = true;
  std::uint64_t total = 0;
  for (const auto& e : c.transcript) total += e.bytes.size();
  junit_options opt;
  opt.transcript_limit = 1000;
  const auto xml = to_junit(run, opt);
  auto doc = parse(xml);
  const std::string out = testcase(doc, "rfc5321.ordering.rcpt-before-mail").child("system-out").text().get();
  EXPECT_NE(out.find("... " + std::to_string(total - 1000) + " octets not shown"), std::string::npos) << out;
  EXPECT_NE(out.find("transcript limit was reached"), std::string::npos) << out;
  EXPECT_EQ(out.find("QUIT"), std::string::npos);
  EXPECT_LT(xml.size(), 64u * 1024u);
  // The default limit bounds a 1 MB line too.
  const auto big = to_junit(run);
  EXPECT_LT(big.size(), 5u * 64u * 1024u);
  auto v = validate(big);
  EXPECT_EQ(v.status, 0) << v.output;
}

TEST(junit_report, findings_are_bounded_in_number_and_size) {
  auto run = every_verdict();
  auto& c = run.cases[1];
  for (int i = 0; i < 500; ++i)
    c.findings.push_back({ref::level::must, {5321, "4.2"}, "unexpected", "no reply", std::string(100000, 'o'), 0, true});
  junit_options opt;
  opt.max_findings = 10;
  opt.text_limit = 100;
  auto doc = parse(to_junit(run, opt));
  const std::string body = testcase(doc, "rfc5321.ordering.rcpt-before-mail").child("failure").text().get();
  EXPECT_NE(body.find("... 492 more findings not shown"), std::string::npos) << body.substr(0, 2000);
  EXPECT_LT(body.size(), 10u * 400u);
}

TEST(junit_report, equal_names_in_a_suite_are_made_unique) {
  auto run = every_verdict();
  run.cases.push_back(run.cases[0]);
  run.cases.push_back(run.cases[0]);
  const auto xml = to_junit(run);
  auto doc = parse(xml);
  std::set<std::string> keys;
  for (auto s : doc.child("testsuites").children("testsuite"))
    for (auto tc : s.children("testcase"))
      EXPECT_TRUE(keys.insert(std::string(tc.attribute("classname").value()) + "|" + tc.attribute("name").value()).second)
          << tc.attribute("name").value();
  EXPECT_EQ(keys.size(), run.cases.size());
  expect_consistent_counts(doc);
}

TEST(junit_report, an_empty_run_is_a_valid_report) {
  results::run_result run;
  const auto xml = to_junit(run);
  auto doc = parse(xml);
  EXPECT_STREQ(doc.child("testsuites").attribute("tests").value(), "0");
  EXPECT_STREQ(doc.child("testsuites").attribute("time").value(), "0.000");
  auto v = validate(xml);
  EXPECT_EQ(v.status, 0) << v.output << xml;
}

/// The schema must reject what the consumers choke on, or validating proves nothing.
TEST(junit_report, the_schema_rejects_broken_files) {
  const auto good = to_junit(every_verdict());
  ASSERT_EQ(validate(good).status, 0);
  auto replace = [&](const std::string& from, const std::string& to) {
    auto s = good;
    auto p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    if (p != std::string::npos) s.replace(p, from.size(), to);
    return s;
  };
  const std::map<std::string, std::string> broken = {
      {"two failures in one testcase", replace("</failure>", "</failure><failure message=\"again\"/>")},
      {"failure and skipped", replace("</failure>", "</failure><skipped/>")},
      {"a locale-formatted time", replace("time=\"1.235\"", "time=\"1,235\"")},
      {"a non-numeric time", replace("time=\"1.235\"", "time=\"NaN\"")},
      {"a negative count", replace("errors=\"1\"", "errors=\"-1\"")},
      {"a timestamp with an offset", replace("2024-05-06T07:08:09\"", "2024-05-06T07:08:09+02:00\"")},
      {"a testcase without name", replace("<testcase name=\"rfc5321.ordering.ok: Title of rfc5321.ordering.ok\"", "<testcase")},
      {"an empty classname", replace("classname=\"rfc5321.ordering\"", "classname=\"\"")},
      {"system-out before failure", replace("<failure", "<system-out>x</system-out><failure")},
      {"a suite without tests", replace("<testsuite name=\"rfc5321.ordering\" tests=\"2\"", "<testsuite name=\"rfc5321.ordering\"")},
      {"an unknown element", replace("<properties>", "<properties><bogus/>")},
      {"a property without value", replace("<property name=\"target.tls\" value=\"none\" />", "<property name=\"target.tls\" />")},
      {"a wrong root", [&] {
         auto s = replace("<testsuites", "<testruns");
         s.replace(s.rfind("</testsuites>"), 13, "</testruns>");
         return s;
       }()},
  };
  for (const auto& [what, xml] : broken) {
    auto v = validate(xml);
    EXPECT_NE(v.status, 0) << "the schema accepted " << what;
  }
}

}  // namespace
}  // namespace smtpspec::reports
