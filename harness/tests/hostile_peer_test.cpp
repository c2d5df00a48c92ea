// End to end over real sockets: a hostile SMTP server (in this test, on
// 127.0.0.1:0) answers with markup, "]]>", "</system-out>", entities, NUL, ESC
// sequences, a UTF-8-encoded lone surrogate, invalid UTF-8 and a 1 MB reply line.
// The real runner (probe_target + run_cases) must neither crash nor hang nor keep
// more transcript than its limit; the JSON report must round-trip every octet; the
// JUnit report must be well-formed and valid against reports/junit.xsd; the HTML
// report must hold the hostile strings only escaped. It lives in harness/ because
// it drives the runner; reports/ itself builds without harness/.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <pugixml.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "loopback_server.hpp"
#include "smtpspec/harness/runner.hpp"
#include "smtpspec/harness/scenario_loader.hpp"
#include "smtpspec/reference/text.hpp"
#include "smtpspec/reports/html_report.hpp"
#include "smtpspec/reports/json_report.hpp"
#include "smtpspec/reports/junit_report.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::reports {
namespace {

namespace h = smtpspec::harness;
using namespace std::chrono_literals;
using namespace std::string_literals;

// --- what the peer sends ------------------------------------------------------------------

const std::string k_markup = "<script>alert(1)</script> </system-out> ]]> &amp; & \"'";
/// Octets no reply grammar allows and XML forbids: NUL, ESC sequences (clear screen,
/// set the terminal title), a lone surrogate as UTF-8, invalid UTF-8.
const std::string k_octets = "\0NUL \x1b[2J\x1b]0;pwned\x07 \xed\xa0\x80 \xff\xfe"s;

/// Parseable (so the probe reads it as the banner) yet hostile: markup, U+FFFE
/// and the C1 control CSI are well-formed UTF-8 but not XML-safe.
const std::string k_greeting = "220 hostile.example ESMTP " + k_markup + " \xef\xbf\xbe \xc2\x9b[2J\tend\r\n";
const std::string k_raw_greeting = "220 hostile.example " + k_octets + " " + k_markup + "\r\n";
const std::string k_ehlo = "250-hostile.example greets you " + k_markup + "\r\n" +
                           "250-PIPELINING\r\n"
                           "250-XHOSTILE " + k_markup + "\r\n" +
                           "250-SIZE 1000000\r\n"
                           "250 8BITMIME\r\n";
const std::string k_mail = "250-2.1.0 " + k_octets + "\r\n250 2.1.0 " + k_markup + " " + k_octets + "\r\n";
const std::string k_noop = "250 2.0.0 " + k_octets + " " + k_markup + "\r\n";
const std::string k_unknown = "500 5.5.1 " + k_markup + "\r\n";
const std::string k_quit = "221 2.0.0 bye ]]> </system-out>\r\n";
constexpr std::size_t k_huge = 1024 * 1024;

/// One reply line of 1 MB, made of the hostile strings.
std::string huge_reply() {
  std::string line = "250 ";
  while (line.size() < k_huge) line += k_markup + k_octets;
  line.resize(k_huge);
  return line + "\r\n";
}

// --- the hostile server ---------------------------------------------------------------

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string verb_of(std::string_view line) {
  return smtpspec::reference::to_upper(line.substr(0, line.find(' ')));
}

/// A peer whose every octet is hostile (loopback_server.hpp).
class hostile_server {
 public:
  explicit hostile_server(std::string greeting) : greeting_(std::move(greeting)) {}

  std::string address() const { return server_.address(); }
  std::size_t connections() const { return server_.connections(); }
  std::size_t huge_replies_sent() const { return huge_sent_; }

 private:
  void session(int fd, const std::atomic<bool>& stopping) {
    // A client that stops reading must not block this thread for long.
    timeval tv{3, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (!send_all(fd, greeting_)) return;
    std::string in;
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (!stopping && std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      char buf[4096];
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      for (auto nl = in.find("\r\n"); nl != std::string::npos; nl = in.find("\r\n")) {
        const std::string line = in.substr(0, nl);
        in.erase(0, nl + 2);
        if (!answer(fd, line)) return;
      }
    }
  }

  /// False when the session ends.
  bool answer(int fd, std::string_view line) {
    const auto verb = verb_of(line);
    if (verb == "EHLO") return send_all(fd, k_ehlo);
    if (verb == "MAIL") return send_all(fd, k_mail);
    if (verb == "NOOP") return send_all(fd, k_noop);
    if (verb == "RCPT") {
      ++huge_sent_;
      return send_all(fd, huge_reply());
    }
    if (verb == "QUIT") {
      send_all(fd, k_quit);
      return false;
    }
    return send_all(fd, k_unknown);  // RSET, the runner's sync probe, anything else
  }

  std::string greeting_;
  std::atomic<std::size_t> huge_sent_{0};
  // Last: its threads use the members above.
  test_support::loopback_server server_{[this](int fd, const std::atomic<bool>& stopping) { session(fd, stopping); }};
};

// --- the run ------------------------------------------------------------------------------

const char* const k_scenario = R"toml(
[suite]
name  = "hostile.peer"
title = "A peer whose every octet is hostile <script>alert(1)</script> ]]>"

[[case]]
id          = "hostile.peer.huge-rcpt-reply"
title       = "MAIL gets control octets, RCPT a 1 MB line </system-out> ]]> &amp; <script>alert(1)</script>"
requirement = "Every command MUST generate exactly one reply. <script>alert(1)</script> ]]> </system-out>"
rfc         = "5321#4.2"
level       = "MUST"
steps = [
  { send = "EHLO {client}" },
  { send = "MAIL FROM:<{from}>" },
  { send = "RCPT TO:<{to}>" },
  { send = "QUIT" },
]

[[case]]
id          = "hostile.peer.noop"
title       = "NOOP gets NUL, ESC and invalid UTF-8 ]]>"
requirement = "The server SHOULD answer NOOP with 250."
rfc         = "5321#4.1.1.9"
level       = "SHOULD"
steps = [
  { send = "EHLO {client}" },
  { send = "NOOP" },
  { send = "RSET" },
  { send = "QUIT" },
]
)toml";

/// Below the 64 KiB reply frame times two, so the 1 MB line truncates the transcript.
constexpr std::size_t k_transcript_limit = 96 * 1024;
constexpr auto k_run_bound = 60s;  // far above the few seconds it takes: a hang shows

struct hostile_run {
  results::run_result run;
  std::chrono::milliseconds took{0};
  std::size_t connections = 0, huge_replies = 0;
  std::string problem;  // set when the run could not be made
};

hostile_run run_against_hostile_peer(bool raw_greeting) {
  hostile_run out;
  auto loaded = h::load_scenario_text(k_scenario, "hostile_peer_test.toml");
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) out.problem += e.to_string() + "\n";
    return out;
  }
  std::vector<const h::scenario_case*> cases;
  for (const auto& s : loaded.suites)
    for (const auto& c : s.cases) cases.push_back(&c);

  hostile_server server(raw_greeting ? k_raw_greeting : k_greeting);
  h::run_settings s;
  std::string error;
  if (!h::endpoint_spec::parse(server.address(), s.target, error)) {
    out.problem = "bad address: " + error;
    return out;
  }
  s.connect_timeout = 2000ms;
  s.reply_timeout = 2000ms;
  s.case_timeout = 10000ms;
  s.jobs = 2;
  s.transcript_limit = k_transcript_limit;

  const auto started = std::chrono::steady_clock::now();
  auto& run = out.run;
  run.tool_version = "test";
  run.started_at = "2024-01-01T00:00:00Z";
  auto target = h::probe_target(s);
  run.target = target.info;
  // A greeting of control octets is still an answer: the target is reachable and
  // the cases report the malformed greeting themselves.
  if (!target.reachable) out.problem = "the probe did not reach the peer: " + target.problem;
  run.options.jobs = s.jobs;
  run.options.reply_timeout = s.reply_timeout;
  run.options.case_timeout = s.case_timeout;
  run.cases = h::run_cases(cases, s, target);
  run.finished_at = "2024-01-01T00:00:05Z";
  run.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started);
  out.took = std::chrono::duration_cast<std::chrono::milliseconds>(run.duration);
  out.connections = server.connections();
  out.huge_replies = server.huge_replies_sent();
  return out;
}

/// One run per test process (ctest runs each test on its own).
const hostile_run& hostile() {
  static const hostile_run r = run_against_hostile_peer(false);
  return r;
}

const hostile_run& hostile_raw_greeting() {
  static const hostile_run r = run_against_hostile_peer(true);
  return r;
}

// --- checks --------------------------------------------------------------------------------

struct xmllint_result {
  int status = -1;
  std::string output;
};

/// Validates `xml` against reports/junit.xsd with xmllint (a required tool).
xmllint_result validate(const std::string& xml) {
  const std::string xmllint = SMTPSPEC_XMLLINT;
  if (xmllint.empty()) return {-1, "xmllint was not found when the build was configured (install libxml2-utils)"};
  static std::atomic<int> n{0};
  const auto base = std::filesystem::temp_directory_path() /
                    ("smtpspec-hostile-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  const auto file = base.string() + ".xml", log = base.string() + ".log";
  std::ofstream(file, std::ios::binary) << xml;
  const std::string cmd = "'" + xmllint + "' --noout --nonet --schema '" + SMTPSPEC_SOURCE_DIR +
                          "/reports/junit.xsd' '" + file + "' >'" + log + "' 2>&1";
  xmllint_result r;
  r.status = std::system(cmd.c_str());
  std::stringstream ss;
  ss << std::ifstream(log).rdbuf();
  r.output = ss.str().substr(0, 4000);
  std::filesystem::remove(file);
  std::filesystem::remove(log);
  return r;
}

/// SMTPSPEC_TEST_DUMP=DIR keeps the reports of this test for reading.
void dump(const std::string& name, const std::string& text) {
  if (const char* dir = std::getenv("SMTPSPEC_TEST_DUMP")) std::ofstream(std::string(dir) + "/" + name, std::ios::binary) << text;
}

bool has_raw_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return c < 0x20 && ch != '\t' && ch != '\n' && ch != '\r';
  });
}

std::size_t payload(const results::case_result& c) {
  std::size_t n = 0;
  for (const auto& e : c.transcript) n += e.bytes.size();
  return n;
}

/// The runner kept at most its limit and noticed something; prints what it got.
void check_bounded(const hostile_run& hr) {
  EXPECT_LT(hr.took, k_run_bound) << "the runner took " << hr.took.count() << " ms against the hostile peer";
  EXPECT_GE(hr.connections, 3u);  // the probe and one per case
  std::cout << "[ hostile  ] run took " << hr.took.count() << " ms, " << hr.connections << " connections, banner "
            << results::visible(hr.run.target.banner).substr(0, 200) << "\n";
  for (const auto& c : hr.run.cases) {
    std::size_t biggest = 0, findings = 0;
    for (const auto& e : c.transcript) biggest = std::max(biggest, e.bytes.size());
    for (const auto& f : c.findings) findings += f.text.size() + f.expected.size() + f.observed.size();
    std::cout << "[ hostile  ] " << c.id << ": " << results::to_string(c.outcome) << ", " << c.transcript.size()
              << " events, " << payload(c) << " transcript octets" << (c.transcript_truncated ? " (truncated)" : "")
              << ", " << c.findings.size() << " findings (" << findings << " octets), reason: "
              << results::visible(c.reason).substr(0, 300) << "\n";
    // The transcript keeps at most its limit, and the 1 MB line is nowhere whole.
    EXPECT_LE(payload(c), k_transcript_limit) << c.id;
    EXPECT_LT(biggest, k_huge / 2) << c.id;
    EXPECT_LT(findings, k_huge / 2) << c.id;
    EXPECT_NE(c.outcome, results::verdict::pass) << c.id << ": the hostile replies were not noticed";
  }
}

void check_json(const hostile_run& hr) {
  const auto json = to_json(hr.run);
  dump("hostile" + std::to_string(hr.huge_replies) + ".json", json);
  std::cout << "[ hostile  ] JSON report: " << json.size() << " octets\n";
  EXPECT_FALSE(has_raw_control(json));
  EXPECT_NE(json.find("\"base64\""), std::string::npos) << "invalid UTF-8 in the transcript takes the base64 path";
  results::run_result back;
  std::string error;
  ASSERT_TRUE(from_json(json, back, error)) << error;
  ASSERT_EQ(back.cases.size(), hr.run.cases.size());
  for (std::size_t i = 0; i < back.cases.size(); ++i) {
    const auto& a = hr.run.cases[i];
    const auto& b = back.cases[i];
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.outcome, a.outcome);
    EXPECT_EQ(b.transcript_truncated, a.transcript_truncated);
    ASSERT_EQ(b.transcript.size(), a.transcript.size()) << a.id;
    for (std::size_t k = 0; k < a.transcript.size(); ++k) {
      EXPECT_EQ(b.transcript[k].what, a.transcript[k].what) << a.id << " event " << k;
      EXPECT_EQ(b.transcript[k].at, a.transcript[k].at) << a.id << " event " << k;
      EXPECT_TRUE(b.transcript[k].bytes == a.transcript[k].bytes) << a.id << " event " << k << " differs";
    }
  }
  // The octets the peer sent are in the transcript, exactly.
  bool found = false;
  for (const auto& c : back.cases)
    for (const auto& e : c.transcript) found |= e.bytes.find(k_octets) != std::string::npos;
  EXPECT_TRUE(found);
}

void check_junit(const hostile_run& hr) {
  for (bool strict : {false, true}) {
    junit_options opt;
    opt.strict = strict;
    opt.transcript_limit = 16 * 1024;  // below what the huge reply left in the transcript
    const auto xml = to_junit(hr.run, opt);
    dump("hostile" + std::to_string(hr.huge_replies) + (strict ? "-strict" : "") + ".junit.xml", xml);
    std::cout << "[ hostile  ] JUnit report" << (strict ? " (strict)" : "") << ": " << xml.size() << " octets\n";
    EXPECT_FALSE(has_raw_control(xml));
    EXPECT_EQ(xml.find("<script>"), std::string::npos);
    EXPECT_EQ(xml.find("\xed\xa0\x80"), std::string::npos);
    EXPECT_EQ(xml.find("\xff"), std::string::npos);
    EXPECT_EQ(xml.find("\xef\xbf\xbe"), std::string::npos);  // U+FFFE from the banner
    // Bounded: per case the transcript limit (visible() may write 4 octets per
    // octet) plus bounded fields, whatever the peer sent.
    EXPECT_LT(xml.size(), hr.run.cases.size() * (4 * opt.transcript_limit + 256 * 1024));

    pugi::xml_document doc;
    auto parsed = doc.load_buffer(xml.data(), xml.size());
    ASSERT_TRUE(parsed) << parsed.description();
    auto root = doc.child("testsuites");
    EXPECT_EQ(root.attribute("tests").as_ullong(), hr.run.cases.size());
    bool cut = false;
    for (auto s : root.children("testsuite"))
      for (auto tc : s.children("testcase")) {
        EXPECT_STREQ(tc.attribute("classname").value(), "hostile.peer");
        const std::string out = tc.child("system-out").text().get();
        EXPECT_NE(out.find("Transcript:"), std::string::npos);
        cut |= out.find(" octets not shown\n") != std::string::npos;
      }
    if (hr.huge_replies > 0) {
      EXPECT_TRUE(cut) << "the transcript with the 1 MB line was not cut";
    }
    auto v = validate(xml);
    EXPECT_EQ(v.status, 0) << v.output;
  }
}

#define REQUIRE_HOSTILE_RUN(expr)                \
  const auto& hr = (expr);                       \
  ASSERT_TRUE(hr.problem.empty()) << hr.problem; \
  ASSERT_EQ(hr.run.cases.size(), 2u)

TEST(hostile_peer, the_runner_finishes_in_bounded_time_and_memory) {
  REQUIRE_HOSTILE_RUN(hostile());
  check_bounded(hr);
  // One to the probe's preflight RCPT (which survives it too), one to the case's.
  EXPECT_EQ(hr.huge_replies, 2u);
  // The banner and EHLO keywords came through the probe, hostile as they are.
  EXPECT_NE(hr.run.target.banner.find("<script>alert(1)</script>"), std::string::npos) << results::visible(hr.run.target.banner);
  bool hostile_keyword = false;
  for (const auto& e : hr.run.target.extensions) hostile_keyword |= e.find("</system-out>") != std::string::npos;
  EXPECT_TRUE(hostile_keyword);
  // The case that got the 1 MB line kept a bounded part of it, and says so.
  EXPECT_TRUE(hr.run.cases[0].transcript_truncated);
}

TEST(hostile_peer, json_round_trips_every_octet) {
  REQUIRE_HOSTILE_RUN(hostile());
  check_json(hr);
}

TEST(hostile_peer, junit_is_well_formed_valid_and_bounded) {
  REQUIRE_HOSTILE_RUN(hostile());
  check_junit(hr);
}

/// A greeting no reply grammar allows (NUL, ESC, invalid UTF-8 in its first line):
/// the probe says so instead of calling the target unreachable; the cases still
/// run and the reports still hold.
TEST(hostile_peer, a_greeting_of_control_octets_is_survived) {
  REQUIRE_HOSTILE_RUN(hostile_raw_greeting());
  EXPECT_EQ(hr.run.target.banner, "(unparseable greeting)");
  check_bounded(hr);
  check_json(hr);
  check_junit(hr);
}

/// A malformed reply is reported with its own octets (case_run::read_reply once
/// used a view into its buffer after erasing it and showed the following octets).
TEST(hostile_peer, a_malformed_reply_line_is_reported_with_its_own_octets) {
  REQUIRE_HOSTILE_RUN(hostile());
  std::set<std::string> sent;  // every line the peer sends, as visible() shows it
  for (const auto& reply : {k_greeting, k_ehlo, k_mail, k_noop, k_unknown, k_quit}) {
    std::string_view rest = reply;
    for (auto nl = rest.find("\r\n"); nl != std::string_view::npos; nl = rest.find("\r\n")) {
      sent.insert(results::visible(rest.substr(0, nl)));
      rest.remove_prefix(nl + 2);
    }
  }
  std::size_t malformed = 0;
  for (const auto& c : hr.run.cases)
    for (const auto& f : c.findings)
      if (f.expected == "Reply-line syntax") {
        ++malformed;
        EXPECT_TRUE(sent.count(f.observed)) << c.id << ": observed is not a line the peer sent: " << f.observed;
      }
  EXPECT_GE(malformed, 2u);
}

TEST(hostile_peer, html_holds_the_hostile_strings_only_escaped) {
  REQUIRE_HOSTILE_RUN(hostile());
  const auto html = to_html(hr.run);
  std::cout << "[ hostile  ] HTML report: " << html.size() << " octets\n";
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("</system-out>"), std::string::npos);
  EXPECT_EQ(html.find('\0'), std::string::npos);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_EQ(html.find("\xed\xa0\x80"), std::string::npos);
  EXPECT_EQ(html.find("\xff\xfe"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)"), std::string::npos) << "the hostile text should be shown, escaped";
}

}  // namespace
}  // namespace smtpspec::reports
