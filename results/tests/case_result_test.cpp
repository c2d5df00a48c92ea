// A case's verdict from its findings (decide_verdict) and the run's exit code.
#include "smtpspec/results/case_result.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "smtpspec/results/run_result.hpp"

namespace smtpspec::results {
namespace {

using reference::level;

case_finding finding(level l, std::string text, rfc_ref cite = {5321, "4.1.4"}) {
  case_finding f;
  f.strength = l;
  f.cite = std::move(cite);
  f.text = std::move(text);
  return f;
}

case_result decided(std::vector<case_finding> findings, bool strict = false, const std::string& error = {},
                    const std::string& skip = {}) {
  case_result r;
  r.findings = std::move(findings);
  decide_verdict(r, strict, error, skip);
  return r;
}

TEST(DecideVerdict, NoFindingPasses) { EXPECT_EQ(decided({}).outcome, verdict::pass); }

TEST(DecideVerdict, TheStrongestFindingDecidesAndGivesTheReason) {
  const auto r = decided({finding(level::should, "a SHOULD broken"), finding(level::must, "a MUST broken"),
                          finding(level::may, "a remark")});
  EXPECT_EQ(r.outcome, verdict::fail);
  EXPECT_EQ(r.reason, "a MUST broken [MUST, RFC 5321 4.1.4]");
}

TEST(DecideVerdict, AShouldWarnsAndFailsWhenStrict) {
  EXPECT_EQ(decided({finding(level::should, "x")}).outcome, verdict::warn);
  EXPECT_EQ(decided({finding(level::should, "x")}, true).outcome, verdict::fail);
}

TEST(DecideVerdict, TheCitationIsNotRepeatedWhenTheTextNamesIt) {
  EXPECT_EQ(decided({finding(level::must, "RFC 5321 4.1.4 says so")}).reason, "RFC 5321 4.1.4 says so [MUST]");
}

TEST(DecideVerdict, AnErrorWinsOverFindingsAndASkipLosesToThem) {
  const auto err = decided({finding(level::must, "x")}, false, "no connection", "not advertised");
  EXPECT_EQ(err.outcome, verdict::error);
  EXPECT_EQ(err.reason, "no connection");
  EXPECT_EQ(decided({finding(level::must, "x")}, false, {}, "not advertised").outcome, verdict::fail);
  const auto skipped = decided({finding(level::may, "x")}, false, {}, "not advertised");
  EXPECT_EQ(skipped.outcome, verdict::skip);
  EXPECT_EQ(skipped.reason, "not advertised");
}

TEST(RunResult, FailuresAndErrorsAloneMakeTheExitCodeOne) {
  run_result run;
  auto add = [&run](verdict v) { run.cases.emplace_back().outcome = v; };
  for (auto v : {verdict::pass, verdict::warn, verdict::skip, verdict::warn}) add(v);
  EXPECT_EQ(run.count(verdict::warn), 2u);
  EXPECT_EQ(run.exit_code(), 0);
  add(verdict::error);
  EXPECT_EQ(run.exit_code(), 1);
  run.cases.back().outcome = verdict::fail;
  EXPECT_EQ(run.exit_code(), 1);
}

}  // namespace
}  // namespace smtpspec::results
