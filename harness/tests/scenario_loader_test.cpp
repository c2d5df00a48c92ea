// Tests of the scenario loader (harness/src/scenario_loader.cpp) and of the
// small helpers of the scenario model (harness/src/scenario.cpp).
#include "smtpspec/harness/scenario_loader.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace smtpspec::harness {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;
using namespace std::chrono_literals;

// Lines 1 to 9 of every test document; a case's own keys start on line 10.
constexpr std::string_view k_head =
    "[suite]\n"                 // 1
    "name = \"t\"\n"            // 2
    "title = \"Tests\"\n"       // 3
    "[[case]]\n"                // 4
    "id = \"t.a\"\n"            // 5
    "title = \"A case\"\n"      // 6
    "requirement = \"R\"\n"     // 7
    "rfc = \"5321#4.1.1.9\"\n"  // 8
    "level = \"MUST\"\n";       // 9

/// The head, then `rest` from line 10.
std::string doc(std::string_view rest) { return std::string(k_head) + std::string(rest); }

/// One step on line 10: "steps = [" is 9 columns, so the step's '{' is at 10:10.
std::string one_step(std::string_view step_table) { return doc("steps = [" + std::string(step_table) + "]\n"); }

load_result load(std::string_view text) { return load_scenario_text(text, "t.toml"); }

std::string all_errors(const load_result& r) {
  std::string out;
  for (const auto& e : r.errors) out += "\n  " + e.to_string();
  return out.empty() ? "\n  (no errors)" : out;
}

/// An error at "t.toml:LINE:COL" whose message contains `fragment`.
::testing::AssertionResult has_error(const load_result& r, std::string_view where, std::string_view fragment) {
  for (const auto& e : r.errors) {
    if (e.where.to_string() == where && e.message.find(fragment) != std::string::npos) {
      return ::testing::AssertionSuccess();
    }
  }
  return ::testing::AssertionFailure() << "no error at " << where << " containing \"" << fragment
                                       << "\"; errors:" << all_errors(r);
}

/// Exactly one error, at `where`, containing `fragment`.
::testing::AssertionResult only_error(const load_result& r, std::string_view where, std::string_view fragment) {
  if (r.errors.size() != 1) {
    return ::testing::AssertionFailure() << r.errors.size() << " errors, expected 1:" << all_errors(r);
  }
  return has_error(r, where, fragment);
}

::testing::AssertionResult loads(const load_result& r) {
  if (r.ok() && r.suites.size() == 1) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "did not load:" << all_errors(r);
}

/// The first step of the only case of a document that must load.
step first_step(std::string_view text) {
  const auto r = load(text);
  EXPECT_TRUE(loads(r));
  if (!r.ok() || r.suites.empty() || r.suites[0].cases.empty() || r.suites[0].cases[0].steps.empty()) return {};
  return r.suites[0].cases[0].steps[0];
}

reply_expectation expect_of(std::string_view value) {
  return first_step(one_step("{ send = \"NOOP\", expect = " + std::string(value) + " }")).expect;
}

/// A directory under the system temp dir, removed at the end of the test.
class temp_dir {
 public:
  temp_dir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() / ("smtpspec-loader-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const fs::path& path() const { return path_; }
  std::string write(const std::string& relative, std::string_view text) const {
    const auto p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

 private:
  fs::path path_;
};

std::string suite_file(std::string_view suite, std::string_view id) {
  return "[suite]\nname = \"" + std::string(suite) + "\"\ntitle = \"S\"\n[[case]]\nid = \"" + std::string(id) +
         "\"\ntitle = \"T\"\nrequirement = \"R\"\nrfc = \"5321#3.3\"\nlevel = \"MAY\"\n"
         "steps = [ { send = \"NOOP\" } ]\n";
}

// ---------------------------------------------------------------------------
// The examples file and a complete case

TEST(ScenarioLoader, ExamplesFileLoadsClean) {
  const auto r = load_scenarios(std::string(SMTPSPEC_SOURCE_DIR) + "/scenarios/examples/example.toml");
  ASSERT_TRUE(loads(r));
  const auto& suite = r.suites[0];
  EXPECT_EQ(suite.name, "examples");
  ASSERT_GE(suite.cases.size(), 3u);
  ASSERT_LE(suite.cases.size(), 5u);
  for (const auto& c : suite.cases) {
    EXPECT_TRUE(c.id.starts_with("examples.")) << c.id;
    EXPECT_EQ(c.suite, "examples");
    EXPECT_FALSE(c.title.empty());
    EXPECT_FALSE(c.requirement.empty());
    EXPECT_FALSE(c.rfc.empty());
    EXPECT_FALSE(c.steps.empty());
  }
  const auto& noop = suite.cases[0];
  EXPECT_EQ(noop.id, "examples.noop");
  EXPECT_EQ(noop.rfc[0].to_string(), "RFC 5321 4.1.1.9");
  EXPECT_EQ(noop.level, reference::level::must);
  EXPECT_EQ(noop.steps[1].lines, std::vector<std::string>{"NOOP"});
  EXPECT_EQ(noop.steps[1].expect.codes, std::vector<std::uint16_t>{250});
  const auto& rcpt = suite.cases[1];
  EXPECT_EQ(rcpt.rfc[0].to_string(), "RFC 5321 3.3");
  EXPECT_EQ(rcpt.steps[1].expect.to_string(), "503");
}

TEST(ScenarioLoader, AllCaseKeys) {
  const auto r2 = load(std::string(R"toml([suite]
name = "rfc5321.ordering"
title = "Order of commands (RFC 5321 4.1.4)"

[[case]]
id          = "rfc5321.ordering.rcpt-before-mail"
title       = "Sends RCPT before MAIL"
requirement = "If a RCPT command appears without a previous MAIL command, the server MUST return a 503"
rfc         = ["5321#3.3", "5321#D.1", "3030#2"]
level       = "SHOULD"
tags        = ["ordering", "smuggling"]
needs       = ["pipelining", "STARTTLS", "8BITMIME"]
tls         = "starttls"
timeout     = 2.5
steps = [
  { send = "EHLO {client}" },
  { send = "RCPT TO:<{to}>", expect = 503 },
]
check = { accepted_messages = 1, delivered_contains = ["x {nonce}"], delivered_lacks = ["y"], reply_content = true }
)toml"));
  ASSERT_TRUE(loads(r2));
  const auto& suite = r2.suites[0];
  EXPECT_EQ(suite.name, "rfc5321.ordering");
  EXPECT_EQ(suite.title, "Order of commands (RFC 5321 4.1.4)");
  EXPECT_EQ(suite.file, "t.toml");
  ASSERT_EQ(suite.cases.size(), 1u);
  const auto& c = suite.cases[0];
  EXPECT_EQ(c.id, "rfc5321.ordering.rcpt-before-mail");
  EXPECT_EQ(c.suite, "rfc5321.ordering");
  EXPECT_EQ(c.title, "Sends RCPT before MAIL");
  EXPECT_TRUE(c.requirement.starts_with("If a RCPT command"));
  ASSERT_EQ(c.rfc.size(), 3u);
  EXPECT_EQ(c.rfc[0].rfc, 5321);
  EXPECT_EQ(c.rfc[0].section, "3.3");
  EXPECT_EQ(c.rfc[1].section, "D.1");
  EXPECT_EQ(c.rfc[2].rfc, 3030);
  EXPECT_EQ(c.rfc[2].section, "2");
  EXPECT_EQ(c.level, reference::level::should);
  EXPECT_EQ(c.tags, (std::vector<std::string>{"ordering", "smuggling"}));
  EXPECT_EQ(c.needs, (std::vector<std::string>{"PIPELINING", "STARTTLS", "8BITMIME"}));
  EXPECT_EQ(c.tls, results::tls_mode::starttls);
  ASSERT_TRUE(c.timeout.has_value());
  EXPECT_EQ(*c.timeout, 2500ms);
  EXPECT_EQ(c.checks.accepted_messages, 1);
  EXPECT_EQ(c.checks.delivered_contains, std::vector<std::string>{"x {nonce}"});
  EXPECT_EQ(c.checks.delivered_lacks, std::vector<std::string>{"y"});
  EXPECT_TRUE(c.checks.reply_content);
  EXPECT_EQ(c.where.to_string(), "t.toml:5:1");
  ASSERT_EQ(c.steps.size(), 2u);
  EXPECT_EQ(c.steps[0].where.to_string(), "t.toml:16:3");
  EXPECT_EQ(c.steps[1].where.to_string(), "t.toml:17:3");
}

TEST(ScenarioLoader, Defaults) {
  const auto r = load(one_step("{ send = \"NOOP\" }"));
  ASSERT_TRUE(loads(r));
  const auto& c = r.suites[0].cases[0];
  EXPECT_EQ(c.level, reference::level::must);
  EXPECT_TRUE(c.tags.empty());
  EXPECT_TRUE(c.needs.empty());
  EXPECT_EQ(c.tls, results::tls_mode::none);
  EXPECT_FALSE(c.timeout.has_value());
  EXPECT_FALSE(c.checks.accepted_messages.has_value());
  EXPECT_FALSE(c.checks.reply_content);
  EXPECT_TRUE(c.steps[0].expect.empty());
}

TEST(ScenarioLoader, TlsModesAndLevels) {
  for (const auto& [text, mode] : {std::pair{"none", results::tls_mode::none}, std::pair{"starttls", results::tls_mode::starttls},
                                   std::pair{"implicit", results::tls_mode::implicit}}) {
    const auto r = load(doc("tls = \""s + text + "\"\nsteps = [ { send = \"NOOP\" } ]\n"));
    ASSERT_TRUE(loads(r)) << text;
    EXPECT_EQ(r.suites[0].cases[0].tls, mode);
  }
  for (const auto& [text, lvl] :
       {std::pair{"MUST", reference::level::must}, std::pair{"SHOULD", reference::level::should},
        std::pair{"MAY", reference::level::may}}) {
    auto text_doc = one_step("{ send = \"NOOP\" }");
    text_doc.replace(text_doc.find("\"MUST\""), 6, "\""s + text + "\"");
    const auto r = load(text_doc);
    ASSERT_TRUE(loads(r)) << text;
    EXPECT_EQ(r.suites[0].cases[0].level, lvl);
  }
}

// ---------------------------------------------------------------------------
// Step forms and kinds

TEST(ScenarioLoader, InlineStepsAndStepTablesGiveTheSameCase) {
  const auto inline_form = load(doc(R"(steps = [
  { send = "EHLO {client}" },
  { batch = ["MAIL FROM:<{from}>", "RCPT TO:<{to}>"], expect_each = [250, [250, 251]] },
  { raw = "DATA\r\n", expect = 354 },
]
)"));
  const auto table_form = load(doc(R"([[case.step]]
send = "EHLO {client}"
[[case.step]]
batch = ["MAIL FROM:<{from}>", "RCPT TO:<{to}>"]
expect_each = [250, [250, 251]]
[[case.step]]
raw = "DATA\r\n"
expect = 354
)"));
  ASSERT_TRUE(loads(inline_form));
  ASSERT_TRUE(loads(table_form));
  const auto& a = inline_form.suites[0].cases[0].steps;
  const auto& b = table_form.suites[0].cases[0].steps;
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].what, b[i].what);
    EXPECT_EQ(a[i].lines, b[i].lines);
    EXPECT_EQ(a[i].bytes, b[i].bytes);
    EXPECT_EQ(a[i].expect.to_string(), b[i].expect.to_string());
    EXPECT_EQ(a[i].expect_each.size(), b[i].expect_each.size());
  }
  EXPECT_EQ(a[0].where.to_string(), "t.toml:11:3");
  EXPECT_EQ(b[0].where.to_string(), "t.toml:10:1");
  EXPECT_EQ(b[2].where.to_string(), "t.toml:15:1");
  EXPECT_EQ(b[1].expect_each[1].to_string(), "250/251");
}

TEST(ScenarioLoader, StepsAsArrayOfTablesNamedSteps) {
  const auto r = load(doc("[[case.steps]]\nsend = \"NOOP\"\n"));
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.suites[0].cases[0].steps.size(), 1u);
}

TEST(ScenarioLoader, SendStep) {
  const auto s = first_step(one_step("{ send = \"MAIL FROM:<{from}> SIZE={repeat:3:9}\" }"));
  EXPECT_EQ(s.what, step::kind::send);
  EXPECT_EQ(s.lines, std::vector<std::string>{"MAIL FROM:<{from}> SIZE={repeat:3:9}"});  // not expanded
  EXPECT_EQ(s.where.to_string(), "t.toml:10:10");
  EXPECT_TRUE(first_step(one_step("{ send = \"\" }")).lines == std::vector<std::string>{""});
}

TEST(ScenarioLoader, BatchStep) {
  const auto s =
      first_step(one_step(R"({ batch = ["RSET", "NOOP", "NOOP"], expect_each = [250, "model", [250, "2yz"]] })"));
  EXPECT_EQ(s.what, step::kind::batch);
  EXPECT_EQ(s.lines, (std::vector<std::string>{"RSET", "NOOP", "NOOP"}));
  ASSERT_EQ(s.expect_each.size(), 3u);
  EXPECT_EQ(s.expect_each[0].to_string(), "250");
  EXPECT_TRUE(s.expect_each[1].empty());
  EXPECT_EQ(s.expect_each[2].to_string(), "250/2yz");
  // Without expect_each, one empty expectation per line.
  const auto t = first_step(one_step(R"({ batch = ["RSET", "NOOP"] })"));
  ASSERT_EQ(t.expect_each.size(), 2u);
  EXPECT_TRUE(t.expect_each[0].empty() && t.expect_each[1].empty());
}

TEST(ScenarioLoader, RawStep) {
  auto s = first_step(one_step(R"({ raw = "a\r\n.\n\u0000\u00e9", split = [1, 3, 6] })"));
  EXPECT_EQ(s.what, step::kind::raw);
  EXPECT_EQ(s.bytes, "a\r\n.\n\0\xC3\xA9"s);
  EXPECT_EQ(s.split, (std::vector<std::size_t>{1, 3, 6}));
  EXPECT_FALSE(s.bytewise);
  s = first_step(one_step(R"({ raw = "QUIT\r\n", bytewise = true, expect = "close" })"));
  EXPECT_TRUE(s.bytewise);
  EXPECT_TRUE(s.split.empty());
  EXPECT_TRUE(s.expect.close);
  // Offsets count expanded octets: {repeat:4:ab} is 8 octets, {{ is one.
  s = first_step(one_step(R"({ raw = "{repeat:4:ab}{{\r\n", split = [8, 10] })"));
  EXPECT_EQ(s.bytes, "{repeat:4:ab}{{\r\n");
  EXPECT_EQ(s.split, (std::vector<std::size_t>{8, 10}));
}

TEST(ScenarioLoader, RawHexStep) {
  auto s = first_step(one_step(R"({ raw_hex = "0d0a 2E 0d 0a ff 00", split = [2] })"));
  EXPECT_EQ(s.what, step::kind::raw);
  EXPECT_EQ(s.bytes, "\r\n.\r\n\xff\0"s);
  EXPECT_EQ(s.split, std::vector<std::size_t>{2});
  // Braces are doubled so that variable expansion gives them back.
  s = first_step(one_step(R"({ raw_hex = "7b 7d 41" })"));
  EXPECT_EQ(s.bytes, "{{}}A");
  s = first_step(doc("[[case.step]]\nraw_hex = \"\"\"\n0d0a\n2e0d0a\n\"\"\"\nbytewise = true\n"));
  EXPECT_EQ(s.bytes, "\r\n.\r\n");
  EXPECT_TRUE(s.bytewise);
}

TEST(ScenarioLoader, DataStep) {
  const auto s =
      first_step(one_step(R"({ data = "Subject: {nonce}\r\n\r\n.leading dot\r\n", expect = [250, "4yz", "5yz"] })"));
  EXPECT_EQ(s.what, step::kind::data);
  EXPECT_EQ(s.bytes, "Subject: {nonce}\r\n\r\n.leading dot\r\n");
  EXPECT_EQ(s.expect.codes, std::vector<std::uint16_t>{250});
  EXPECT_EQ(s.expect.classes, (1u << 4) | (1u << 5));
  EXPECT_TRUE(first_step(one_step(R"({ data = "" })")).bytes.empty());
}

TEST(ScenarioLoader, BdatStep) {
  auto s = first_step(one_step(R"({ bdat = "hello", last = true, size = 3, expect = 250 })"));
  EXPECT_EQ(s.what, step::kind::bdat);
  EXPECT_EQ(s.bytes, "hello");
  EXPECT_TRUE(s.bdat_last);
  ASSERT_TRUE(s.bdat_size.has_value());
  EXPECT_EQ(*s.bdat_size, 3u);
  s = first_step(one_step(R"({ bdat = "" })"));
  EXPECT_TRUE(s.bytes.empty());
  EXPECT_FALSE(s.bdat_last);
  EXPECT_FALSE(s.bdat_size.has_value());
  s = first_step(one_step(R"({ bdat = "x", size = 0, last = false })"));
  EXPECT_EQ(s.bdat_size, 0u);
}

TEST(ScenarioLoader, StarttlsStep) {
  auto s = first_step(one_step(R"({ starttls = true, expect = 220 })"));
  EXPECT_EQ(s.what, step::kind::starttls);
  EXPECT_TRUE(s.bytes.empty());
  EXPECT_EQ(s.expect.to_string(), "220");
  s = first_step(one_step(R"({ starttls = { inject = "NOOP\r\n" } })"));
  EXPECT_EQ(s.bytes, "NOOP\r\n");
  s = first_step(doc("[[case.step]]\n[case.step.starttls]\ninject = \"MAIL FROM:<{from}>\\r\\n\"\n"));
  EXPECT_EQ(s.what, step::kind::starttls);
  EXPECT_EQ(s.bytes, "MAIL FROM:<{from}>\r\n");
  EXPECT_TRUE(first_step(one_step(R"({ starttls = {} })")).bytes.empty());
}

TEST(ScenarioLoader, TimedStepsAndClose) {
  auto s = first_step(one_step("{ wait = 0.5 }"));
  EXPECT_EQ(s.what, step::kind::wait);
  EXPECT_EQ(s.duration, 500ms);
  s = first_step(one_step("{ read = 2, expect = \"none\" }"));
  EXPECT_EQ(s.what, step::kind::read);
  EXPECT_EQ(s.duration, 2000ms);
  EXPECT_TRUE(s.expect.none);
  s = first_step(one_step("{ expect_close = 5.0 }"));
  EXPECT_EQ(s.what, step::kind::expect_close);
  EXPECT_EQ(s.duration, 5000ms);
  EXPECT_EQ(first_step(one_step("{ wait = 0.001 }")).duration, 1ms);
  EXPECT_EQ(first_step(one_step("{ wait = 600 }")).duration, 600000ms);
  s = first_step(one_step("{ close = true }"));
  EXPECT_EQ(s.what, step::kind::close);
}

// ---------------------------------------------------------------------------
// Expectations

TEST(ScenarioLoader, ExpectationForms) {
  EXPECT_EQ(expect_of("503").codes, std::vector<std::uint16_t>{503});
  EXPECT_EQ(expect_of("\"503\"").codes, std::vector<std::uint16_t>{503});
  EXPECT_EQ(expect_of("200").to_string(), "200");
  EXPECT_EQ(expect_of("599").to_string(), "599");
  EXPECT_EQ(expect_of("\"5yz\"").classes, 1u << 5);
  EXPECT_EQ(expect_of("\"2yz\"").to_string(), "2yz");
  EXPECT_EQ(expect_of("\"3yz\"").to_string(), "3yz");
  EXPECT_EQ(expect_of("\"4yz\"").to_string(), "4yz");
  EXPECT_TRUE(expect_of("\"close\"").close);
  EXPECT_EQ(expect_of("\"close\"").to_string(), "close");
  EXPECT_TRUE(expect_of("\"none\"").none);
  EXPECT_EQ(expect_of("\"none\"").to_string(), "none");
  EXPECT_TRUE(expect_of("\"model\"").empty());
  EXPECT_EQ(expect_of("[250, 251]").to_string(), "250/251");
  EXPECT_EQ(expect_of("[503, \"5yz\"]").to_string(), "503/5yz");
  EXPECT_EQ(expect_of("[\"4yz\", 250, \"250\", \"5yz\"]").to_string(), "250/4yz/5yz");
}

TEST(ScenarioLoader, ExpectationErrors) {
  const std::string at = "t.toml:10:36";  // the value of expect in one_step("{ send = \"NOOP\", expect = ... }")
  auto bad = [&](std::string_view value) {
    return load(one_step("{ send = \"NOOP\", expect = " + std::string(value) + " }"));
  };
  for (const auto* value : {"199", "600", "0", "-503", "503.0", "\"6yz\"", "\"50\"", "\"5YZ\"", "\"ok\"", "true"}) {
    EXPECT_TRUE(only_error(bad(value), at, "'expect' must be a reply code from 200 to 599")) << value;
  }
  EXPECT_TRUE(only_error(bad("[]"), at, "'expect' must not be an empty array"));
  EXPECT_TRUE(only_error(bad("[250, \"close\"]"), "t.toml:10:42", "\"close\" must stand alone"));
  EXPECT_TRUE(only_error(bad("[250, 700]"), "t.toml:10:42", "must be a reply code"));
  const auto each = load(one_step(R"({ batch = ["NOOP", "NOOP"], expect_each = [250] })"));
  EXPECT_TRUE(
      only_error(each, "t.toml:10:52", "'expect_each' must be an array with one expectation per batch line (2)"));
  const auto each_bad = load(one_step(R"({ batch = ["NOOP"], expect_each = ["nope"] })"));
  EXPECT_TRUE(only_error(each_bad, "t.toml:10:45", "'expect_each' must be a reply code"));
}

TEST(ScenarioLoader, OptionsThatDoNotApply) {
  EXPECT_TRUE(only_error(load(one_step("{ wait = 1, expect = 250 }")), "t.toml:10:31",
                         "'expect' does not apply to a wait step"));
  EXPECT_TRUE(only_error(load(one_step(R"({ batch = ["NOOP"], expect = 250 })")), "t.toml:10:39", "use expect_each"));
  EXPECT_TRUE(only_error(load(one_step(R"({ send = "NOOP", split = [1] })")), "t.toml:10:35",
                         "'split' does not apply to a send step (only to raw, raw_hex)"));
  EXPECT_TRUE(
      only_error(load(one_step(R"({ send = "NOOP", bytewise = true })")), "t.toml:10:38", "'bytewise' does not apply"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "x", last = true })")), "t.toml:10:30",
                         "'last' does not apply to a raw step (only to bdat)"));
  EXPECT_TRUE(only_error(load(one_step(R"({ data = "x", size = 1 })")), "t.toml:10:31", "'size' does not apply"));
  EXPECT_TRUE(only_error(load(one_step(R"({ send = "x", expect_each = [250] })")), "t.toml:10:38",
                         "'expect_each' does not apply to a send step (only to batch)"));
  EXPECT_TRUE(only_error(load(one_step("{ close = true, expect = \"close\" }")), "t.toml:10:35",
                         "'expect' does not apply to a close step"));
}

TEST(ScenarioLoader, FailsOnAndPrecondition) {
  auto s = first_step(one_step(R"({ send = "NOOP", expect = 250, fails_on = [421, "close"] })"));
  EXPECT_EQ(s.fails_on.codes, std::vector<std::uint16_t>{421});
  EXPECT_TRUE(s.fails_on.close);
  EXPECT_EQ(s.expect.to_string(), "250");
  s = first_step(one_step(R"({ read = 1, fails_on = "4yz" })"));
  EXPECT_EQ(s.fails_on.classes, 1u << 4);
  s = first_step(one_step(R"({ send = "NOOP x", precondition = "2yz" })"));
  EXPECT_EQ(s.precondition.to_string(), "2yz");
  EXPECT_TRUE(s.fails_on.empty());
  EXPECT_TRUE(only_error(load(one_step(R"({ send = "NOOP", precondition = "close" })")), "t.toml:10:42",
                         "'precondition' takes the reply codes and classes the case needs"));
  EXPECT_TRUE(only_error(load(one_step(R"({ send = "NOOP", fails_on = "none" })")), "t.toml:10:38",
                         "'fails_on' takes reply codes"));
  EXPECT_TRUE(only_error(load(one_step(R"({ batch = ["NOOP"], precondition = 250 })")), "t.toml:10:45",
                         "'precondition' does not apply to a batch step"));
  EXPECT_TRUE(only_error(load(one_step(R"({ wait = 1, fails_on = 421 })")), "t.toml:10:33",
                         "'fails_on' does not apply to a wait step"));
  // "close" stands alone in expect, but fails_on lists it with codes.
  EXPECT_TRUE(only_error(load(one_step(R"({ send = "NOOP", expect = [250, "close"] })")), "t.toml:10:42",
                         "\"close\" must stand alone"));
}

// ---------------------------------------------------------------------------
// Step errors

TEST(ScenarioLoader, StepNeedsExactlyOneAction) {
  const std::string message =
      "step needs exactly one of send, batch, raw, raw_hex, data, bdat, starttls, wait, read, expect_close, close";
  EXPECT_TRUE(only_error(load(one_step("{ expect = 250 }")), "t.toml:10:10", message));
  const auto two = load(one_step(R"({ send = "NOOP", raw = "x" })"));
  EXPECT_TRUE(only_error(two, "t.toml:10:10", message + " (has send and raw)"));
}

TEST(ScenarioLoader, UnknownKeyInStepListsKnownKeys) {
  const auto r = load(one_step(R"({ sned = "NOOP" })"));
  ASSERT_EQ(r.errors.size(), 2u) << all_errors(r);
  EXPECT_TRUE(has_error(r, "t.toml:10:10", "step needs exactly one of"));
  EXPECT_TRUE(has_error(r, "t.toml:10:19",
                        "unknown key 'sned' in step (known: send, batch, raw, raw_hex, data, bdat, starttls, wait, "
                        "read, expect_close, close, expect, expect_each, split, bytewise, last, size, fails_on, precondition)"));
  // Errors come sorted by position.
  EXPECT_EQ(r.errors[0].where.column, 10u);
  EXPECT_EQ(r.errors[1].where.column, 19u);
}

TEST(ScenarioLoader, SendAndBatchErrors) {
  EXPECT_TRUE(only_error(load(one_step(R"({ send = "NOOP\r\n" })")), "t.toml:10:19",
                         "'send' must be one line without CR or LF"));
  EXPECT_TRUE(only_error(load(one_step("{ send = 1 }")), "t.toml:10:19", "'send' must be a string"));
  EXPECT_TRUE(only_error(load(one_step("{ batch = [] }")), "t.toml:10:20",
                         "'batch' must be a non-empty array of command lines"));
  EXPECT_TRUE(only_error(load(one_step("{ batch = \"NOOP\" }")), "t.toml:10:20", "'batch' must be a non-empty array"));
  EXPECT_TRUE(only_error(load(one_step(R"({ batch = ["NOOP", "A\nB"] })")), "t.toml:10:29",
                         "'batch' must be one line without CR or LF"));
  EXPECT_TRUE(only_error(load(one_step(R"({ batch = ["NOOP", 3] })")), "t.toml:10:29", "'batch' must be a string"));
}

TEST(ScenarioLoader, RawErrors) {
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "" })")), "t.toml:10:18", "'raw' must not be empty"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "abcd", split = [2, 2] })")), "t.toml:10:38",
                         "'split' offsets must be integers, strictly increasing, from 1 to 4 - 1"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "abcd", split = [0] })")), "t.toml:10:35", "strictly increasing"));
  EXPECT_TRUE(
      only_error(load(one_step(R"({ raw = "abcd", split = [4] })")), "t.toml:10:35", "(the text has 4 octets)"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "abcd", split = [1.5] })")), "t.toml:10:35", "must be integers"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "abcd", split = [] })")), "t.toml:10:34",
                         "'split' must be a non-empty array of offsets"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "<{to}>", split = [1] })")), "t.toml:10:36",
                         "'split' needs a text whose length is known when loading"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "abcd", split = [1], bytewise = true })")), "t.toml:10:50",
                         "'split' and 'bytewise' cannot be combined"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "abcd", bytewise = 1 })")), "t.toml:10:37",
                         "'bytewise' must be true or false"));
  for (const auto* hex : {"0g", "0d0", "0 d", "", "   ", "0x0d"}) {
    EXPECT_TRUE(only_error(load(one_step("{ raw_hex = \""s + hex + "\" }")), "t.toml:10:22",
                           "'raw_hex' must be pairs of hex digits"))
        << hex;
  }
  EXPECT_TRUE(only_error(load(one_step(R"({ raw_hex = "0d0a", split = [2] })")), "t.toml:10:39", "from 1 to 2 - 1"));
}

TEST(ScenarioLoader, DataBdatStarttlsErrors) {
  EXPECT_TRUE(only_error(load(one_step("{ data = [\"x\"] }")), "t.toml:10:19", "'data' must be a string"));
  EXPECT_TRUE(
      only_error(load(one_step(R"({ bdat = "x", size = -1 })")), "t.toml:10:31", "'size' must be an integer >= 0"));
  EXPECT_TRUE(only_error(load(one_step(R"({ bdat = "x", size = 1.0 })")), "t.toml:10:31", "'size' must be an integer"));
  EXPECT_TRUE(
      only_error(load(one_step(R"({ bdat = "x", last = "yes" })")), "t.toml:10:31", "'last' must be true or false"));
  EXPECT_TRUE(only_error(load(one_step("{ starttls = false }")), "t.toml:10:23",
                         "'starttls' must be true or a table such as { inject = "));
  EXPECT_TRUE(only_error(load(one_step("{ starttls = \"yes\" }")), "t.toml:10:23", "'starttls' must be true"));
  EXPECT_TRUE(only_error(load(one_step(R"({ starttls = { injct = "x" } })")), "t.toml:10:33",
                         "unknown key 'injct' in starttls (known: inject)"));
  EXPECT_TRUE(
      only_error(load(one_step(R"({ starttls = { inject = 1 } })")), "t.toml:10:34", "'inject' must be a string"));
  EXPECT_TRUE(only_error(load(one_step("{ close = false }")), "t.toml:10:20", "'close' must be true"));
}

TEST(ScenarioLoader, DurationErrors) {
  for (const auto* value : {"0", "0.0", "-1", "600.5", "601", "0.0004", "\"1\"", "nan", "inf", "true"}) {
    EXPECT_TRUE(only_error(load(one_step("{ wait = "s + value + " }")), "t.toml:10:19",
                           "'wait' must be a number of seconds from 0.001 to 600"))
        << value;
  }
  EXPECT_TRUE(only_error(load(one_step("{ read = 0 }")), "t.toml:10:19", "'read' must be a number of seconds"));
  EXPECT_TRUE(only_error(load(one_step("{ expect_close = -5 }")), "t.toml:10:27", "'expect_close' must be a number"));
  EXPECT_TRUE(only_error(load(doc("timeout = 0\nsteps = [ { send = \"NOOP\" } ]\n")), "t.toml:10:11",
                         "'timeout' must be a number of seconds"));
}

TEST(ScenarioLoader, StepsErrors) {
  EXPECT_TRUE(only_error(load(doc("steps = []\n")), "t.toml:10:9", "'steps' must be a non-empty array of steps"));
  EXPECT_TRUE(only_error(load(doc("steps = \"NOOP\"\n")), "t.toml:10:9", "'steps' must be a non-empty array"));
  EXPECT_TRUE(only_error(load(doc("steps = [\"NOOP\"]\n")), "t.toml:10:10", "each step must be a table"));
  EXPECT_TRUE(only_error(load(doc("")), "t.toml:4:1", "missing required key 'steps' in case"));
  const auto both = load(doc("steps = [ { send = \"NOOP\" } ]\n[[case.step]]\nsend = \"NOOP\"\n"));
  EXPECT_TRUE(only_error(both, "t.toml:11:1", "either 'steps = [...]' or [[case.step]] tables, not both"));
}

// ---------------------------------------------------------------------------
// Variables

TEST(ScenarioLoader, KnownVariables) {
  for (const auto* name : {"client", "from", "to", "domain", "to2", "reject", "nonce", "user", "password", "auth_plain",
                           "user64", "password64"}) {
    EXPECT_TRUE(is_known_variable(name)) << name;
    EXPECT_TRUE(loads(load(one_step("{ send = \"X {"s + name + "}\" }")))) << name;
  }
  EXPECT_FALSE(is_known_variable("repeat"));
  EXPECT_FALSE(is_known_variable("Client"));
  EXPECT_FALSE(is_known_variable(""));
  EXPECT_TRUE(loads(load(one_step(R"({ send = "{{literal}} {repeat:16777216:A} {repeat:1:x}}}" })"))));
  EXPECT_TRUE(loads(load(one_step(R"({ send = "{repeat:2:{}" })"))));  // TEXT may hold '{'
}

TEST(ScenarioLoader, VariableErrors) {
  const std::string at = "t.toml:10:19";
  auto send = [](std::string_view text) { return load(one_step("{ send = \"" + std::string(text) + "\" }")); };
  EXPECT_TRUE(only_error(send("MAIL FROM:<{frm}>"), at,
                         "unknown variable '{frm}' in 'send' (known: client, from, to, domain, to2, reject, nonce, "
                         "user, password, auth_plain, user64, password64, repeat:N:TEXT"));
  EXPECT_TRUE(only_error(send("{}"), at, "unknown variable '{}'"));
  EXPECT_TRUE(only_error(send("{client"), at, "unclosed '{' at offset 0 in 'send' (write {{ for a literal brace)"));
  EXPECT_TRUE(only_error(send("a}b"), at, "lone '}' at offset 1 in 'send' (write }} for a literal brace)"));
  EXPECT_TRUE(only_error(send("{repeat:0:a}"), at, "bad variable '{repeat:0:a}'"));
  EXPECT_TRUE(only_error(send("{repeat:16777217:a}"), at, "N from 1 to 16777216"));
  EXPECT_TRUE(only_error(send("{repeat:-1:a}"), at, "bad variable"));
  EXPECT_TRUE(only_error(send("{repeat:x:a}"), at, "bad variable"));
  EXPECT_TRUE(only_error(send("{repeat:5}"), at, "bad variable"));
  EXPECT_TRUE(only_error(send("{repeat:5:}"), at, "the TEXT to repeat is empty"));
  // Every text field is checked.
  EXPECT_TRUE(only_error(load(one_step(R"({ batch = ["NOOP", "{x}"] })")), "t.toml:10:29", "in 'batch'"));
  EXPECT_TRUE(only_error(load(one_step(R"({ raw = "{x}" })")), "t.toml:10:18", "in 'raw'"));
  EXPECT_TRUE(only_error(load(one_step(R"({ data = "{x}" })")), "t.toml:10:19", "in 'data'"));
  EXPECT_TRUE(only_error(load(one_step(R"({ bdat = "{x}" })")), "t.toml:10:19", "in 'bdat'"));
  EXPECT_TRUE(only_error(load(one_step(R"({ starttls = { inject = "{x}" } })")), "t.toml:10:34", "in 'inject'"));
  EXPECT_TRUE(only_error(load(doc("steps = [ { send = \"NOOP\" } ]\ncheck = { delivered_contains = [\"{x}\"] }\n")),
                         "t.toml:11:33", "in 'delivered_contains'"));
  // In [[case.step]] tables the error is on the value's own line.
  EXPECT_TRUE(only_error(load(doc("[[case.step]]\nsend = \"EHLO\"\n[[case.step]]\n\nsend = \"RCPT TO:<{too}>\"\n")),
                         "t.toml:14:8", "unknown variable '{too}'"));
  // raw_hex is not a template: braces are octets.
  EXPECT_TRUE(loads(load(one_step(R"({ raw_hex = "7b" })"))));
}

// ---------------------------------------------------------------------------
// Case and suite errors

TEST(ScenarioLoader, MissingRequiredCaseKeys) {
  const auto r = load("[suite]\nname = \"t\"\ntitle = \"T\"\n\n[[case]]\nsteps = [ { send = \"NOOP\" } ]\n");
  ASSERT_EQ(r.errors.size(), 5u) << all_errors(r);
  for (const auto* key : {"id", "title", "requirement", "rfc", "level"}) {
    EXPECT_TRUE(has_error(r, "t.toml:5:1", "missing required key '"s + key + "' in case"));
  }
  EXPECT_TRUE(r.suites.empty());
}

TEST(ScenarioLoader, WrongTypesInCase) {
  auto replace = [](std::string text, std::string_view from, std::string_view to) {
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  const auto base = one_step("{ send = \"NOOP\" }");
  EXPECT_TRUE(only_error(load(replace(base, "level = \"MUST\"", "level = 1")), "t.toml:9:9",
                         "'level' must be a string: MUST, SHOULD or MAY"));
  EXPECT_TRUE(only_error(load(replace(base, "level = \"MUST\"", "level = \"must\"")), "t.toml:9:9",
                         "'level' must be a string: MUST, SHOULD or MAY (not 'must')"));
  EXPECT_TRUE(only_error(load(replace(base, "id = \"t.a\"", "id = 7")), "t.toml:5:6", "'id' must be a string"));
  EXPECT_TRUE(only_error(load(replace(base, "id = \"t.a\"", "id = \"Bad ID\"")), "t.toml:5:6",
                         "'id' must match [a-z0-9._-]+, not 'Bad ID'"));
  EXPECT_TRUE(
      only_error(load(replace(base, "title = \"A case\"", "title = \"\"")), "t.toml:6:9", "'title' must not be empty"));
  EXPECT_TRUE(only_error(load(replace(base, "requirement = \"R\"", "requirement = [\"R\"]")), "t.toml:7:15",
                         "'requirement' must be a string"));
  EXPECT_TRUE(only_error(load(doc("tls = \"ssl\"\nsteps = [ { send = \"NOOP\" } ]\n")), "t.toml:10:7",
                         "'tls' must be a string: none, starttls or implicit (not 'ssl')"));
  EXPECT_TRUE(only_error(load(doc("tags = [\"Ordering\"]\nsteps = [ { send = \"NOOP\" } ]\n")), "t.toml:10:9",
                         "'tags' entries must be strings matching [a-z0-9._-]+"));
  EXPECT_TRUE(only_error(load(doc("tags = \"ordering\"\nsteps = [ { send = \"NOOP\" } ]\n")), "t.toml:10:8",
                         "'tags' must be an array of strings"));
  EXPECT_TRUE(only_error(load(doc("needs = [\"PIPELINING\", \"-X\"]\nsteps = [ { send = \"NOOP\" } ]\n")),
                         "t.toml:10:24", "'needs' entries must be EHLO keywords"));
  EXPECT_TRUE(only_error(load(doc("sned = 1\nsteps = [ { send = \"NOOP\" } ]\n")), "t.toml:10:8",
                         "unknown key 'sned' in case (known: id, title, requirement, rfc, level, tags, needs, tls, "
                         "timeout, steps, step, check)"));
}

TEST(ScenarioLoader, RfcReferences) {
  auto with_rfc = [](std::string_view value) {
    auto text = one_step("{ send = \"NOOP\" }");
    text.replace(text.find("\"5321#4.1.1.9\""), 14, value);
    return load(text);
  };
  for (const auto* good : {"\"5321#4.1.1.4\"", "\"5321#D.1\"", "\"5321#D\"", "\"3030#2\"", "\"1#1\"", "\"65535#1.2\"",
                           "[\"5321#3.3\", \"2920#3.1\"]"}) {
    EXPECT_TRUE(loads(with_rfc(good))) << good;
  }
  const auto r = with_rfc("\"5321#D.1\"");
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.suites[0].cases[0].rfc[0].url(), "https://www.rfc-editor.org/rfc/rfc5321#section-D.1");
  for (const auto* bad :
       {"\"5321\"", "\"5321#\"", "\"5321#x.1\"", "\"5321#4.\"", "\"5321#4..1\"", "\"5321#.4\"", "\"RFC5321#3.3\"",
        "\"65536#1\"", "\"0321#1\"", "\"#3.3\"", "\"5321#3.3 \"", "\"5321#DE.1\"", "\"5321#4.a\""}) {
    EXPECT_TRUE(only_error(with_rfc(bad), "t.toml:8:7", "bad rfc reference")) << bad;
  }
  EXPECT_TRUE(only_error(with_rfc("\"5321-3.3\""), "t.toml:8:7",
                         "bad rfc reference '5321-3.3': expected \"RFC#SECTION\" such as \"5321#4.1.1.4\" or "
                         "\"5321#D.1\""));
  EXPECT_TRUE(only_error(with_rfc("[\"5321#3.3\", \"x\"]"), "t.toml:8:20", "bad rfc reference 'x'"));
  EXPECT_TRUE(only_error(with_rfc("[]"), "t.toml:8:7", "'rfc' must not be empty"));
  EXPECT_TRUE(only_error(with_rfc("5321"), "t.toml:8:7", "'rfc' must be a string such as"));
}

TEST(ScenarioLoader, SuiteErrors) {
  const std::string cases =
      "[[case]]\nid = \"t.a\"\ntitle = \"A\"\nrequirement = \"R\"\nrfc = \"5321#3.3\"\nlevel = \"MUST\"\n"
      "steps = [ { send = \"NOOP\" } ]\n";
  EXPECT_TRUE(only_error(load(cases), "t.toml:1:1", "missing [suite] table (with name and title)"));
  EXPECT_TRUE(only_error(load("suite = \"t\"\n" + cases), "t.toml:1:9", "'suite' must be a table"));
  EXPECT_TRUE(only_error(load("[suite]\nname = \"T T\"\ntitle = \"x\"\n" + cases), "t.toml:2:8",
                         "'name' must match [a-z0-9._-]+"));
  EXPECT_TRUE(
      only_error(load("[suite]\nname = \"t\"\n" + cases), "t.toml:1:1", "missing required key 'title' in [suite]"));
  EXPECT_TRUE(only_error(load("[suite]\nname = \"t\"\ntitle = \"x\"\nowner = \"me\"\n" + cases), "t.toml:4:9",
                         "unknown key 'owner' in [suite] (known: name, title, role)"));
  EXPECT_TRUE(only_error(load("[suite]\nname = \"t\"\ntitle = \"x\"\n"), "t.toml:1:1", "no [[case]] in the file"));
  EXPECT_TRUE(only_error(load("[suite]\nname = \"t\"\ntitle = \"x\"\n[case]\nid = \"t.a\"\n"), "t.toml:4:1",
                         "'case' must be a non-empty array of tables: write [[case]]"));
  EXPECT_TRUE(only_error(load("cases = 1\n[suite]\nname = \"t\"\ntitle = \"x\"\n" + cases), "t.toml:1:9",
                         "unknown key 'cases' in the file (known: suite, case)"));
}

TEST(ScenarioLoader, CheckErrors) {
  auto with_check = [](std::string_view check) {
    return load(doc("steps = [ { send = \"NOOP\" } ]\ncheck = " + std::string(check) + "\n"));
  };
  EXPECT_TRUE(only_error(with_check("1"), "t.toml:11:9", "'check' must be a table"));
  EXPECT_TRUE(only_error(with_check("{ accepted_messages = -1 }"), "t.toml:11:31",
                         "'accepted_messages' must be an integer >= 0"));
  EXPECT_TRUE(only_error(with_check("{ accepted_messages = 1.0 }"), "t.toml:11:31", "'accepted_messages' must be"));
  EXPECT_TRUE(only_error(with_check("{ delivered_lacks = \"x\" }"), "t.toml:11:29",
                         "'delivered_lacks' must be an array of strings"));
  EXPECT_TRUE(only_error(with_check("{ delivered_contains = [\"\"] }"), "t.toml:11:33",
                         "'delivered_contains' entries must not be empty"));
  EXPECT_TRUE(only_error(with_check("{ reply_content = 1 }"), "t.toml:11:27", "'reply_content' must be true or false"));
  EXPECT_TRUE(only_error(with_check("{ accepted = 1 }"), "t.toml:11:22",
                         "unknown key 'accepted' in check (known: accepted_messages, delivered_contains, "
                         "delivered_lacks, reply_content)"));
  // [case.check] as a table of its own.
  const auto r = load(doc("steps = [ { send = \"NOOP\" } ]\n[case.check]\naccepted_messages = 0\n"));
  ASSERT_TRUE(loads(r));
  EXPECT_EQ(r.suites[0].cases[0].checks.accepted_messages, 0);
}

TEST(ScenarioLoader, CollectsAllErrorsOfAFileSortedByPosition) {
  const auto r = load(R"([suite]
name = "t"
title = "T"

[[case]]
id = "t.a"
title = "A"
requirement = "R"
rfc = "5321"
level = "must"
steps = [ { send = "{frm}" }, { wait = 0 } ]

[[case]]
id = "t.a"
title = "B"
requirement = "R"
rfc = "5321#3.3"
level = "MUST"
steps = [ { sned = "x" } ]
)");
  EXPECT_TRUE(has_error(r, "t.toml:9:7", "bad rfc reference '5321'"));
  EXPECT_TRUE(has_error(r, "t.toml:10:9", "'level' must be a string"));
  EXPECT_TRUE(has_error(r, "t.toml:11:20", "unknown variable '{frm}'"));
  EXPECT_TRUE(has_error(r, "t.toml:11:40", "'wait' must be a number"));
  EXPECT_TRUE(has_error(r, "t.toml:14:6", "duplicate case id 't.a' (first defined at t.toml:6:6)"));
  EXPECT_TRUE(has_error(r, "t.toml:19:11", "step needs exactly one of"));
  EXPECT_TRUE(has_error(r, "t.toml:19:20", "unknown key 'sned' in step"));
  EXPECT_EQ(r.errors.size(), 7u) << all_errors(r);
  EXPECT_TRUE(std::is_sorted(r.errors.begin(), r.errors.end(), [](const load_error& a, const load_error& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  }));
  EXPECT_TRUE(r.suites.empty());  // a file with errors gives no suite
}

// ---------------------------------------------------------------------------
// TOML syntax, encoding, robustness

TEST(ScenarioLoader, TomlSyntaxErrorStopsAtTheFirst) {
  const auto r = load("[suite]\nname = \"t\"\ntitle = = 3\n[[case]]\nid = 5\n");
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].where.to_string(), "t.toml:3:9");
  EXPECT_TRUE(r.suites.empty());
  const auto dup = load("[suite]\nname = \"t\"\nname = \"u\"\n");
  EXPECT_TRUE(only_error(dup, "t.toml:3:8", "cannot redefine existing string 'name'"));
  const auto unterminated = load("[suite]\nname = \"t\ntitle = \"x\"\n");
  EXPECT_TRUE(only_error(unterminated, "t.toml:2:10", "Error while parsing string"));
}

TEST(ScenarioLoader, NotUtf8) {
  EXPECT_TRUE(
      only_error(load(one_step("{ send = \"NO\xffOP\" }")), "t.toml:10:22", "the file is not valid UTF-8 (byte 0xFF)"));
  // An overlong encoding, a surrogate and a truncated sequence.
  EXPECT_TRUE(only_error(load("# \xC0\xAF\n"), "t.toml:1:3", "not valid UTF-8 (byte 0xC0)"));
  EXPECT_TRUE(only_error(load("a = \"\xED\xA0\x80\"\n"), "t.toml:1:6", "not valid UTF-8 (byte 0xED)"));
  EXPECT_TRUE(only_error(load("a = \"\xE2\x82\""), "t.toml:1:6", "not valid UTF-8"));
  // Columns count characters, as toml++ does: 'é' is one column.
  EXPECT_TRUE(only_error(load("# \xC3\xA9\xC3\xA9 \xFE\n"), "t.toml:1:6", "not valid UTF-8 (byte 0xFE)"));
}

TEST(ScenarioLoader, NonAsciiInStringsAndCommentsLoads) {
  // U+00E9, U+FEF6, U+3041 and U+4E2D: the first three sit in ranges where toml++ 3.3
  // reaches __builtin_unreachable() if it classifies them as whitespace.
  const auto r = load(std::string(R"(# Commentaire é ﻶ ぁ 中
[suite] # é ﻶ ぁ
name = "t"
title = "Tëst ﻶ ぁ 中"

[[case]]
id = "t.a"
title = "Envoie é"
requirement = """
Le serveur DOIT répondre ﻶ ぁ
sur plusieurs lignes é"""
rfc = "5321#4.1.1.9"
level = "MUST"  # ﻶ
steps = [ { send = "NOOP é ﻶ" }, { data = '''littéral ぁ
ﻶ'''}, { raw = "\u00e9\r\n" } ]
)"));
  ASSERT_TRUE(loads(r));
  const auto& c = r.suites[0].cases[0];
  EXPECT_EQ(c.title, "Envoie \xC3\xA9");
  EXPECT_EQ(r.suites[0].title, "T\xC3\xABst \xEF\xBB\xB6 \xE3\x81\x81 \xE4\xB8\xAD");
  EXPECT_EQ(c.steps[0].lines[0], "NOOP \xC3\xA9 \xEF\xBB\xB6");
  EXPECT_EQ(c.steps[2].bytes, "\xC3\xA9\r\n");
  // A byte order mark is allowed.
  EXPECT_TRUE(loads(load("\xEF\xBB\xBF" + one_step("{ send = \"NOOP\" }"))));
}

TEST(ScenarioLoader, NonAsciiWhereTomlppMisbehavesIsAnErrorNotAnAbort) {
  // Each of these makes toml++ 3.3 reach TOML_UNREACHABLE (UBSan: "execution reached
  // an unreachable program point") unless the loader hides the character from it.
  // toml++'s own error comes out, with the character given back.
  EXPECT_TRUE(only_error(load("a = 1\xC3\xA9\n"), "t.toml:1:6", "expected digit, saw '\xC3\xA9'"));
  EXPECT_TRUE(only_error(load("\xC3\xA9 = 1\n"), "t.toml:1:1", "saw '\xC3\xA9'"));
  EXPECT_TRUE(only_error(load("[suite]\nname = \xEF\xBB\xB6\n"), "t.toml:2:8", "could not determine value type"));
  EXPECT_TRUE(only_error(load("a = [1,\xE3\x81\x81]\n"), "t.toml:1:8", "could not determine value type"));
  EXPECT_TRUE(only_error(load("a = [1979-05-27 0,\"\xC3\xA9\"]\n"), "t.toml:1:6", "expected a time after the date"));
  EXPECT_TRUE(only_error(load("a = \"\"\"\\\xC3\xA9\"\"\"\n"), "t.toml:1:9", "unknown escape sequence '\\\xC3\xA9'"));
  EXPECT_TRUE(only_error(load("a = \"x\"\xF0\x9F\x98\x80\n"), "t.toml:1:8", "saw '\xF0\x9F\x98\x80'"));
  // In a key: the message shows the key as written.
  EXPECT_TRUE(
      has_error(load("[suite]\n\"nam\xC3\xA9\" = \"x\"\n"), "t.toml:2:10", "unknown key 'nam\xC3\xA9' in [suite]"));
  // Valid TOML that toml++ 3.3 misreads: a non-ASCII character right after a
  // line-ending backslash in a """ string. It loads.
  const auto continued = load(one_step("{ data = \"\"\"a \\\n  \xC3\xA9\xEF\xBB\xB6\"\"\" }"));
  ASSERT_TRUE(loads(continued));
  EXPECT_EQ(continued.suites[0].cases[0].steps[0].bytes, "a \xC3\xA9\xEF\xBB\xB6");
  // The stand-ins never collide with characters of the file, written or escaped:
  // U+0500 and U+0501 are the first stand-ins for 2-octet characters.
  const auto mixed = load(doc("steps = [ { send = \"\xC3\xA9 \xD4\x80 \\u0501 \xC3\xA9\xC3\xA8 \\U00000502\" } ]\n"));
  ASSERT_TRUE(loads(mixed));
  EXPECT_EQ(mixed.suites[0].cases[0].steps[0].lines[0], "\xC3\xA9 \xD4\x80 \xD4\x81 \xC3\xA9\xC3\xA8 \xD4\x82");
}

TEST(ScenarioLoader, TableHeaderWithoutANameIsAnErrorNotAnAbort) {
  // toml++ 3.3 asserts that a header name starts with a key character.
  EXPECT_TRUE(only_error(load("[!]\n"), "t.toml:1:2", "expected a table name after '[', saw '!'"));
  EXPECT_TRUE(only_error(load("a = 1\n  [[ !]]\n"), "t.toml:2:6", "saw '!'"));
  EXPECT_TRUE(only_error(load("[[[a]]]\n"), "t.toml:1:3", "saw '['"));
  EXPECT_TRUE(only_error(load("[\n"), "t.toml:1:2", "saw '\\x0a'"));
  EXPECT_TRUE(only_error(load("[[\xC3\xA9]]\n"), "t.toml:1:3", "saw '\xC3\xA9'"));
  // Left to toml++, which reports them itself.
  EXPECT_TRUE(only_error(load("[ [a]]\n"), "t.toml:1:3", "brackets must be contiguous"));
  EXPECT_TRUE(only_error(load("[]\n"), "t.toml:1:2", "blank"));
  // '[' that opens an array, not a header, may be followed by anything a value allows.
  const auto arrays = load("a = [\n[ { b = 1 } ],\n[ [1] ], # [!\n[\"]\"],\n]\n[suite]\nname = \"t\"\ntitle = \"T\"\n");
  EXPECT_TRUE(has_error(arrays, "t.toml:1:5", "unknown key 'a' in the file"));
  EXPECT_TRUE(has_error(arrays, "t.toml:1:1", "no [[case]] in the file"));
  EXPECT_EQ(arrays.errors.size(), 2u) << all_errors(arrays);
}

TEST(ScenarioLoader, ArrayValueStartingWithBraceIsAnErrorNotAnAbort) {
  // toml++ 3.3 asserts that an array value does not start with '}'.
  EXPECT_TRUE(only_error(load("a = [}]\n"), "t.toml:1:6", "expected a value or ']', saw '}'"));
  EXPECT_TRUE(only_error(load("a = [1,\n  # x\n  }]\n"), "t.toml:3:3", "saw '}'"));
  EXPECT_TRUE(only_error(load("a = [ { b = [ } ] }\n"), "t.toml:1:15", "saw '}'"));
  // Not in strings or comments, and not after a value (toml++ reports those).
  EXPECT_TRUE(has_error(load("a = [\"}\", '[}', \"\"\"[}\"\"\"] # [}\n"), "t.toml:1:1", "no [[case]]"));
  EXPECT_TRUE(only_error(load("a = [1 }]\n"), "t.toml:1:8", "expected comma or closing ']'"));
}

TEST(ScenarioLoader, DateTimeWithoutATimeIsAnErrorNotAnAbort) {
  // toml++ 3.3 asserts that a time follows "YYYY-MM-DDT", or "YYYY-MM-DD D".
  EXPECT_TRUE(only_error(load("a = 1979-05-27T=\n"), "t.toml:1:5", "expected a time after the date's 'T'"));
  EXPECT_TRUE(only_error(load("a = [1979-05-27t]\n"), "t.toml:1:6", "expected a time after the date's 'T'"));
  EXPECT_TRUE(
      only_error(load("a = [1, 1979-05-27 0]\n"), "t.toml:1:9", "expected a time after the date and the space"));
  EXPECT_TRUE(only_error(load("a = 1979-05-27 0\n"), "t.toml:1:5", "expected a time after the date and the space"));
  EXPECT_TRUE(only_error(load("a = 1979-05_-27 0#\n"), "t.toml:1:5", "expected a time after the date and the space"));
  // Valid dates and date-times are left alone (the schema then refuses the key).
  for (const auto* value : {"1979-05-27T07:32:00Z", "1979-05-27 07:32:00", "1979-05-27", "1979-05-27 # c",
                            "[1979-05-27, 1979-05-27t07:32:00.5+01:00]"}) {
    const auto r = load("a = "s + value + "\n[suite]\nname = \"t\"\ntitle = \"T\"\n");
    EXPECT_TRUE(has_error(r, "t.toml:1:5", "unknown key 'a' in the file")) << value << all_errors(r);
  }
}

TEST(ScenarioLoader, NeverThrows) {
  const std::vector<std::string> inputs = {
      "",
      "\n\n",
      std::string("\0\0\0", 3),
      "[",
      "[[",
      "[suite",
      std::string(300, '['),
      "a = " + std::string(300, '[') + std::string(300, ']'),
      "a = {" + std::string(100, '{'),
      "a = \"\"\"",
      "a = '''\n",
      "a = \"\\",
      "\xEF\xBB\xBF",
      "\xEF\xBB",
      "a = 99999999999999999999999",
      "a = 2e99999",
      "[suite]\nname = 1e400\ntitle = -0.0\n[[case]]\nid = 2e99\n",
      one_step("{ wait = 1e300 }"),
      one_step("{ bdat = \"x\", size = 9223372036854775807 }"),
      one_step("{ raw = \"{repeat:16777216:" + std::string(1000, 'x') + "}\", split = [1] }"),
  };
  for (const auto& text : inputs) {
    load_result r;
    EXPECT_NO_THROW(r = load(text)) << text;
  }
  EXPECT_TRUE(loads(load(one_step("{ bdat = \"x\", size = 9223372036854775807 }"))));
}

// ---------------------------------------------------------------------------
// Files, directories, duplicates

TEST(ScenarioLoader, DirectoryInSortedOrderAndFailingFilesAreErrors) {
  temp_dir dir;
  dir.write("b.toml", suite_file("b", "b.one"));
  dir.write("a.toml", suite_file("a", "a.one"));
  dir.write("sub/c.toml", suite_file("c", "c.one"));
  dir.write("a/z.toml", suite_file("az", "az.one"));
  dir.write("README.md", "not a scenario");
  dir.write("sub/broken.toml", "[suite\n");
  const auto r = load_scenarios(dir.path().string());
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].where.file, (dir.path() / "sub/broken.toml").string());
  EXPECT_EQ(r.errors[0].where.line, 1u);
  std::vector<std::string> names;
  for (const auto& s : r.suites) names.push_back(s.name);
  // Sorted by path, component by component: a/z.toml, a.toml, b.toml, sub/c.toml.
  EXPECT_EQ(names, (std::vector<std::string>{"az", "a", "b", "c"}));
  EXPECT_EQ(r.suites[3].file, (dir.path() / "sub/c.toml").string());
  EXPECT_EQ(r.suites[3].cases[0].where.file, (dir.path() / "sub/c.toml").string());
}

TEST(ScenarioLoader, DuplicateIdsAcrossFiles) {
  temp_dir dir;
  const auto one = dir.write("one.toml", suite_file("one", "same.id"));
  const auto two = dir.write("two.toml", suite_file("two", "same.id"));
  const auto r = load_scenarios(dir.path().string());
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_EQ(r.errors[0].where.to_string(), two + ":5:6");
  EXPECT_EQ(r.errors[0].message, "duplicate case id 'same.id' (first defined at " + one + ":5:6)");
  EXPECT_EQ(r.errors[0].to_string(), two + ":5:6: duplicate case id 'same.id' (first defined at " + one + ":5:6)");
  ASSERT_EQ(r.suites.size(), 1u);
  EXPECT_EQ(r.suites[0].name, "one");
  // The same through the list form.
  const auto r2 = load_scenarios(std::vector<std::string>{two, one});
  ASSERT_EQ(r2.errors.size(), 1u) << all_errors(r2);
  EXPECT_EQ(r2.errors[0].where.file, one);
}

TEST(ScenarioLoader, AFileNamedTwiceIsLoadedOnce) {
  temp_dir dir;
  const auto one = dir.write("one.toml", suite_file("one", "one.a"));
  const auto r = load_scenarios(std::vector<std::string>{dir.path().string(), one});
  EXPECT_TRUE(r.ok()) << all_errors(r);
  EXPECT_EQ(r.suites.size(), 1u);
}

TEST(ScenarioLoader, PathErrors) {
  temp_dir dir;
  const auto missing = (dir.path() / "nope").string();
  auto r = load_scenarios(missing);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), missing + ": no such file or directory");
  fs::create_directories(dir.path() / "empty");
  r = load_scenarios((dir.path() / "empty").string());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("no *.toml files"), std::string::npos);
  // An explicit file is loaded whatever its extension.
  const auto txt = dir.write("case.txt", suite_file("txt", "txt.a"));
  r = load_scenarios(txt);
  EXPECT_TRUE(r.ok()) << all_errors(r);
}

// ---------------------------------------------------------------------------
// scenario.hpp helpers

TEST(ScenarioModel, ToStrings) {
  EXPECT_EQ((source_position{"a.toml", 3, 7}).to_string(), "a.toml:3:7");
  EXPECT_EQ((source_position{"a.toml", 0, 0}).to_string(), "a.toml");
  EXPECT_EQ((load_error{{"a.toml", 1, 2}, "bad"}).to_string(), "a.toml:1:2: bad");
  EXPECT_EQ((results::rfc_ref{5321, "4.1.1.4"}).to_string(), "RFC 5321 4.1.1.4");
  EXPECT_EQ((results::rfc_ref{5321, "4.1.1.4"}).url(), "https://www.rfc-editor.org/rfc/rfc5321#section-4.1.1.4");
  EXPECT_EQ((results::rfc_ref{3207, "4"}).citation(), (reference::citation{3207, "4"}));
  EXPECT_EQ(to_string(results::tls_mode::none), "none");
  EXPECT_EQ(to_string(results::tls_mode::starttls), "starttls");
  EXPECT_EQ(to_string(results::tls_mode::implicit), "implicit");
  reply_expectation e;
  EXPECT_EQ(e.to_string(), "");
  e.codes = {250, 251};
  EXPECT_EQ(e.to_string(), "250/251");
  e.classes = 1u << 5;
  EXPECT_EQ(e.to_string(), "250/251/5yz");
  EXPECT_EQ((reply_expectation{{}, 0, true, false}).to_string(), "close");
  EXPECT_EQ((reply_expectation{{}, 0, false, true}).to_string(), "none");
}

}  // namespace
}  // namespace smtpspec::harness

// --- client suites ([suite] role = "client") ---------------------------------------

namespace smtpspec::harness {
namespace {

/// Some error, wherever, whose message contains `fragment`.
::testing::AssertionResult mentions(const load_result& r, std::string_view fragment) {
  for (const auto& e : r.errors)
    if (e.message.find(fragment) != std::string::npos) return ::testing::AssertionSuccess();
  std::string all;
  for (const auto& e : r.errors) all += "\n  " + e.to_string();
  return ::testing::AssertionFailure() << "no error containing \"" << fragment << "\":" << all;
}

constexpr std::string_view k_client_head = R"([suite]
name = "client.t"
title = "T"
role = "client"
)";

TEST(client_cases, load_the_server_script_and_the_checks) {
  const auto r = load_scenario_text(std::string(k_client_head) + R"(
[[case]]
id = "client.t.one"
title = "T"
requirement = "R"
rfc = "5321#3.3"
level = "MUST"
client = "starttls"
server = { greeting = ["220-a", "220 b"], replies = [{ to = "rcpt", nth = 2, reply = "550 5.1.1 No", delay = 0.5 }], extensions = ["SIZE 100"], delivery = "bytewise", max_size = 100 }
check = { must_send = ["quit"], must_not_send = ["DATA"], messages = 0, first_after_tls = "EHLO", first_command = "ehlo" }
)", "t.toml");
  ASSERT_TRUE(r.ok()) << (r.errors.empty() ? "" : r.errors.front().to_string());
  ASSERT_TRUE(r.suites.at(0).client_role);
  const auto& c = r.suites.at(0).cases.at(0);
  ASSERT_TRUE(c.client.has_value());
  EXPECT_EQ(c.client->profile, client_profile::starttls);
  ASSERT_EQ(c.client->server.replies.size(), 2u);
  EXPECT_EQ(c.client->server.replies[0].on, "GREETING");
  EXPECT_EQ(c.client->server.replies[0].wire, "220-a\r\n220 b\r\n");
  EXPECT_EQ(c.client->server.replies[1].on, "RCPT");
  EXPECT_EQ(c.client->server.replies[1].nth, 2u);
  EXPECT_EQ(c.client->server.replies[1].delay_ms, 500u);
  EXPECT_EQ(c.client->server.delivery, server_script::pacing::bytewise);
  EXPECT_EQ(c.client->checks.must_send, std::vector<std::string>{"QUIT"});
  EXPECT_EQ(c.client->checks.first_after_tls, "EHLO");
  EXPECT_EQ(c.client->checks.first_command, "EHLO");
  EXPECT_TRUE(c.steps.empty());
}

TEST(client_cases, report_bad_keys_and_replies_with_file_line_col) {
  const auto r = load_scenario_text(std::string(k_client_head) + R"(
[[case]]
id = "client.t.bad"
title = "T"
requirement = "R"
rfc = "5321#3.3"
level = "MUST"
client = "sometimes"
server = { greting = "220 x", replies = [{ to = "FETCH", reply = "ok" }] }
check = { must_send = ["FETCH"], first_command = "HELLO" }
)", "t.toml");
  EXPECT_TRUE(mentions(r, "'client' must be"));
  EXPECT_TRUE(mentions(r, "'first_command' must be an SMTP verb"));
  EXPECT_TRUE(mentions(r, "unknown key 'greting'"));
  for (const auto& e : r.errors) EXPECT_GT(e.where.line, 0u) << e.to_string();
  EXPECT_TRUE(mentions(r, "'to' must be one of"));
  EXPECT_TRUE(mentions(r, "must start with a reply code"));
  EXPECT_TRUE(mentions(r, "SMTP verbs"));
}

TEST(client_cases, a_server_suite_still_needs_steps) {
  const auto r = load_scenario_text(R"([suite]
name = "t"
title = "T"
[[case]]
id = "t.x"
title = "T"
requirement = "R"
rfc = "5321#3.3"
level = "MUST"
server = { greeting = "220 x" }
)", "t.toml");
  EXPECT_TRUE(mentions(r, "unknown key 'server'"));
  EXPECT_TRUE(mentions(r, "missing required key 'steps'"));
}

}  // namespace
}  // namespace smtpspec::harness
