// The client suite (scenarios/client/) against smtpspec's own client, started as a
// real process (`smtpspec send`) over real sockets: the good client passes every
// case (the positive control), and each one-defect client fails the case aimed at
// that defect (the mutation tests of issue 6).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>

#include "smtpspec/harness/client_runner.hpp"
#include "smtpspec/harness/scenario_loader.hpp"

namespace smtpspec::harness {
namespace {

const load_result& client_suites() {
  static const load_result loaded = load_scenarios(std::string(SMTPSPEC_SOURCE_DIR) + "/scenarios/client");
  return loaded;
}

std::vector<const scenario_case*> cases(const std::vector<std::string>& ids = {}) {
  std::vector<const scenario_case*> out;
  for (const auto& s : client_suites().suites)
    for (const auto& c : s.cases)
      if (ids.empty() || std::find(ids.begin(), ids.end(), c.id) != ids.end()) out.push_back(&c);
  return out;
}

/// Runs `which` with `smtpspec send` (plus `--defect NAME` when given, and `extra`
/// options) as the client.
std::map<std::string, results::case_result> run(const std::vector<const scenario_case*>& which, const std::string& defect = {},
                                                const std::string& extra = {}) {
  client_run_settings s;
  s.listen = "127.0.0.1:0";
  s.case_timeout = std::chrono::milliseconds(20000);
  s.idle_timeout = std::chrono::milliseconds(3000);
  s.work_dir =
      (std::filesystem::temp_directory_path() / ("smtpspec-client-test-" + std::to_string(::getpid()) + defect +
                                                 std::to_string(std::hash<std::string>{}(extra))))
          .string();
  const std::string base = std::string(SMTPSPEC_CLI) +
                           " send --server {host}:{port} --from {from} --to {to} --to {to2} --message {msgfile} --timeout 5" +
                           (defect.empty() ? "" : " --defect " + defect) + extra;
  s.exec[client_profile::plain] = base;
  s.exec[client_profile::starttls] = base + " --tls require-starttls --ca-file {cafile}";
  s.exec[client_profile::auth] = base + " --tls require-starttls --ca-file {cafile} --auth-user {user} --auth-password {password}";
  results::target_info info;
  std::map<std::string, results::case_result> out;
  for (auto& r : run_client_cases(which, s, info)) out.emplace(r.id, std::move(r));
  std::filesystem::remove_all(s.work_dir);
  return out;
}

TEST(client_suite, loads_and_every_case_cites_a_section_and_a_level) {
  ASSERT_TRUE(client_suites().ok());
  EXPECT_GE(cases().size(), 30u);
  for (const auto* c : cases()) {
    EXPECT_FALSE(c->rfc.empty()) << c->id;
    EXPECT_FALSE(c->requirement.empty()) << c->id;
    EXPECT_TRUE(c->client.has_value()) << c->id;
  }
}

TEST(client_suite, the_good_client_passes_every_case) {
  const auto results = run(cases());
  ASSERT_EQ(results.size(), cases().size());
  for (const auto& [id, r] : results)
    EXPECT_EQ(r.outcome, results::verdict::pass) << id << ": " << to_string(r.outcome) << " " << r.reason;
}

// RFC 5321 4.1.1.1 asks a client without a domain name for an address literal in
// EHLO and HELO, and its grammar gives HELO a Domain only: a HELO [literal] after a
// refused EHLO is graded at the lower level, once (WARN, not FAIL).
TEST(client_suite, helo_with_an_address_literal_is_one_should_finding) {
  const auto results =
      run(cases({"client.session.helo-fallback-502", "client.session.helo-fallback-500"}), {}, " --helo '[127.0.0.1]'");
  ASSERT_EQ(results.size(), 2u);
  for (const auto& [id, r] : results) {
    EXPECT_EQ(r.outcome, results::verdict::warn) << id << ": " << r.reason;
    ASSERT_EQ(r.findings.size(), 1u) << id << ": " << r.reason;
    EXPECT_EQ(r.findings[0].strength, reference::level::should) << id;
    EXPECT_EQ(r.findings[0].cite.to_string(), "RFC 5321 4.1.1.1") << id;
  }
}

// RFC 4954 4: "If an AUTH command fails, the client MAY proceed without
// authentication." A client that does so passes, as the good client, which stops.
TEST(client_suite, going_on_after_a_refused_auth_is_no_finding) {
  const auto results = run(cases({"client.auth.refused"}), {}, " --auth-optional");
  ASSERT_EQ(results.size(), 1u);
  const auto& r = results.begin()->second;
  EXPECT_EQ(r.outcome, results::verdict::pass) << r.reason;
  const auto sent_data = std::any_of(r.transcript.begin(), r.transcript.end(), [](const results::transcript_event& e) {
    return e.what == results::transcript_event::kind::client_bytes && e.bytes.find("DATA\r\n") != std::string::npos;
  });
  EXPECT_TRUE(sent_data) << "the client went on with the transaction";
}

// A client that takes the reply injected behind the 220 to STARTTLS as its EHLO
// reply sends MAIL early: one act, one defect (the model's "MAIL before the reply
// to EHLO"), not a second one for the same octets sent while the reply was held.
TEST(client_suite, a_command_sent_early_during_a_held_reply_is_one_defect) {
  const auto results = run(cases({"client.starttls.response-injection"}), "use_injected_reply");
  ASSERT_EQ(results.size(), 1u);
  const auto& r = results.begin()->second;
  EXPECT_EQ(r.outcome, results::verdict::fail) << r.reason;
  std::size_t must = 0;
  for (const auto& f : r.findings) must += f.strength == reference::level::must;
  EXPECT_EQ(must, 1u) << r.reason;
}

// Each defect of harness/smtp_client.hpp and the case aimed at it.
struct aimed {
  const char* defect;
  std::vector<std::string> fail;
  results::verdict expected = results::verdict::fail;  ///< WARN for a SHOULD case
};

class client_mutation : public ::testing::TestWithParam<aimed> {};

TEST_P(client_mutation, the_aimed_case_fails) {
  const auto& a = GetParam();
  const auto results = run(cases(a.fail), a.defect);
  ASSERT_EQ(results.size(), a.fail.size());
  for (const auto& id : a.fail) {
    const auto& r = results.at(id);
    EXPECT_EQ(r.outcome, a.expected) << a.defect << " should fail " << id << ", got " << to_string(r.outcome) << " "
                                     << r.reason;
  }
}

INSTANTIATE_TEST_SUITE_P(
    defects, client_mutation,
    ::testing::Values(aimed{"no_dot_stuffing", {"client.transaction.dot-stuffing"}},
                      aimed{"lf_line_endings", {"client.session.crlf-only"}},
                      aimed{"pipeline_without_pipelining", {"client.pipelining.not-advertised"}},
                      aimed{"continue_after_failed_starttls", {"client.starttls.refused-454"}},
                      aimed{"use_injected_reply", {"client.starttls.response-injection"}},
                      aimed{"no_ehlo_after_starttls", {"client.starttls.forgets-plaintext-extensions"}},
                      aimed{"data_after_failed_recipients",
                            {"client.transaction.all-recipients-refused", "client.pipelining.all-recipients-refused"}},
                      aimed{"no_quit", {"client.session.sends-quit"}},
                      aimed{"no_helo_fallback", {"client.session.helo-fallback-502"}},
                      // RFC 1870 6.1 is a SHOULD NOT. (It FAILed while MAIL refused 552 made the
                      // RCPTs and DATA pipelined behind it look out of order.)
                      aimed{"ignore_size", {"client.extensions.size-limit"}, results::verdict::warn},
                      aimed{"helo_before_ehlo", {"client.session.ehlo-first"}, results::verdict::warn}),
    [](const auto& p) { return std::string(p.param.defect); });

}  // namespace
}  // namespace smtpspec::harness
