// One defect, one FAIL: assign_defects groups findings and picks each one's owner.
#include "smtpspec/results/defects.hpp"

#include <gtest/gtest.h>

namespace smtpspec::results {
namespace {

using reference::level;

case_finding finding(level l, rfc_ref cite, std::string rule, std::string observation, bool security = false) {
  case_finding f;
  f.strength = l;
  f.cite = std::move(cite);
  f.rule = rule;
  f.text = rule + ": " + observation;
  f.observation = std::move(observation);
  f.security = security;
  return f;
}

case_result make_case(std::string id, std::vector<rfc_ref> rfc, std::vector<case_finding> findings,
                      std::vector<std::string> tags = {}) {
  case_result c;
  c.id = std::move(id);
  c.rfc = std::move(rfc);
  c.tags = std::move(tags);
  c.findings = std::move(findings);
  decide_verdict(c, false);
  return c;
}

const case_finding vrfy_502 = finding(level::should, {5321, "7.3"}, "a disabled VRFY gets 252", "502 to VRFY");

TEST(defects, one_defect_counts_in_the_case_whose_main_citation_it_is) {
  std::vector<case_result> cases{
      make_case("enhanced.vrfy", {{2034, "4"}}, {vrfy_502}),
      make_case("vrfy.keeps-transaction", {{5321, "4.1.1.6"}}, {vrfy_502}),
      make_case("vrfy.disabled", {{5321, "7.3"}}, {vrfy_502}),
  };
  auto defects = assign_defects(cases, false);
  ASSERT_EQ(defects.size(), 1u);
  EXPECT_EQ(defects[0].owner, "vrfy.disabled");
  EXPECT_EQ(defects[0].cases, (std::vector<std::string>{"enhanced.vrfy", "vrfy.keeps-transaction", "vrfy.disabled"}));
  EXPECT_EQ(cases[2].outcome, verdict::warn);
  for (int i : {0, 1}) {
    EXPECT_EQ(cases[i].outcome, verdict::pass) << cases[i].id;
    EXPECT_FALSE(cases[i].findings[0].counted);
    EXPECT_EQ(cases[i].findings[0].owner, "vrfy.disabled");
    EXPECT_NE(cases[i].reason.find("counted in vrfy.disabled"), std::string::npos) << cases[i].reason;
  }
  // --strict: the owner FAILs, the others still only note it.
  assign_defects(cases, true);
  EXPECT_EQ(cases[2].outcome, verdict::fail);
  EXPECT_EQ(cases[0].outcome, verdict::pass);
}

TEST(defects, a_secondary_citation_owns_before_a_mere_observer_and_run_order_breaks_ties) {
  auto grammar = finding(level::must, {5321, "4.1.1.1"}, "ehlo-ok-rsp grammar", "EHLO reply");
  std::vector<case_result> cases{
      make_case("a", {{5321, "4.2"}}, {grammar}),
      make_case("b", {{5321, "3.2"}, {5321, "4.1.1.1"}}, {grammar}),
      make_case("c", {{5321, "3.1"}, {5321, "4.1.1.1"}}, {grammar}),
  };
  auto defects = assign_defects(cases, false);
  ASSERT_EQ(defects.size(), 1u);
  EXPECT_EQ(defects[0].owner, "b");
  EXPECT_EQ(cases[0].outcome, verdict::pass);
  EXPECT_EQ(cases[1].outcome, verdict::fail);
  EXPECT_EQ(cases[2].outcome, verdict::pass);
}

TEST(defects, a_section_above_or_below_the_main_citation_owns_it) {
  auto noop = finding(level::should, {5321, "4.1.1.9"}, "NOOP parameter ignored", "500 to NOOP");
  std::vector<case_result> cases{make_case("x", {{5321, "4.2"}}, {noop}), make_case("y", {{5321, "4.1.1"}}, {noop})};
  EXPECT_EQ(assign_defects(cases, false)[0].owner, "y");
  // "4.1.1" does not hold "4.1.10".
  auto other = finding(level::should, {5321, "4.1.10"}, "r", "o");
  std::vector<case_result> more{make_case("x", {{5321, "4.2"}}, {other}), make_case("y", {{5321, "4.1.1"}}, {other})};
  EXPECT_EQ(assign_defects(more, false)[0].owner, "x");
}

TEST(defects, security_findings_go_to_a_security_case_and_sort_first) {
  auto desync = finding(level::must, {5321, "4.2"}, "one reply per command", "reply after lf_dot_lf", true);
  auto vrfy = vrfy_502;
  std::vector<case_result> cases{
      make_case("data.plain", {{5321, "4.1.1.4"}}, {desync, vrfy}),
      make_case("smuggling.lf-dot-lf", {{5321, "4.1.1.4"}}, {desync}, {"security"}),
  };
  // Both cite 4.1.1.4 as their main citation, which does not hold 4.2: the security tag decides.
  auto defects = assign_defects(cases, false);
  ASSERT_EQ(defects.size(), 2u);
  EXPECT_TRUE(defects[0].security);
  EXPECT_EQ(defects[0].owner, "smuggling.lf-dot-lf");
  EXPECT_EQ(defects[1].owner, "data.plain");
  EXPECT_EQ(cases[0].outcome, verdict::warn);  // its own SHOULD only
  EXPECT_EQ(cases[1].outcome, verdict::fail);
}

TEST(defects, observations_tell_defects_apart_and_may_findings_make_none) {
  auto lf = finding(level::must, {5321, "4.2"}, "one reply per command", "reply after lf_dot_lf", true);
  auto cr = finding(level::must, {5321, "4.2"}, "one reply per command", "reply after cr_dot_cr", true);
  auto note = finding(level::may, {5321, "7.8"}, "closed after refusals", "close");
  std::vector<case_result> cases{make_case("one", {{5321, "4.2"}}, {lf, note}), make_case("two", {{5321, "4.2"}}, {cr})};
  auto defects = assign_defects(cases, false);
  EXPECT_EQ(defects.size(), 2u);
  EXPECT_EQ(cases[0].outcome, verdict::fail);
  EXPECT_EQ(cases[1].outcome, verdict::fail);
  EXPECT_TRUE(cases[0].findings[1].counted);  // MAY: a note of its own case, never moved
}

TEST(defects, a_case_that_could_not_reach_its_requirement_still_skips) {
  auto tls = finding(level::must, {3207, "4"}, "TLS handshake after 220", "handshake failed");
  std::vector<case_result> cases{make_case("starttls.basic", {{3207, "4"}}, {tls}),
                                 make_case("enhanced.starttls", {{2034, "4"}}, {tls})};
  cases[1].inconclusive = "STARTTLS could not be completed";
  auto defects = assign_defects(cases, false);
  EXPECT_EQ(cases[0].outcome, verdict::fail);
  EXPECT_EQ(cases[1].outcome, verdict::skip);
  EXPECT_EQ(cases[1].reason, "STARTTLS could not be completed");
}

TEST(defects, without_a_rule_the_text_names_the_defect) {
  case_finding a;
  a.cite = {5321, "3.8"};
  a.text = "closed";
  case_finding b = a;
  b.text = "closed again";
  EXPECT_NE(defect_key(a), defect_key(b));
  b.text = "closed";
  EXPECT_EQ(defect_key(a), defect_key(b));
}

}  // namespace
}  // namespace smtpspec::results
