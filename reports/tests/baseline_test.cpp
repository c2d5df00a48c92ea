// Baseline gating: only cases that got worse decide the exit code.
#include "smtpspec/reports/baseline.hpp"

#include <gtest/gtest.h>

namespace smtpspec::reports {
namespace {

using results::verdict;

results::run_result run_with(std::initializer_list<std::pair<const char*, verdict>> cases) {
  results::run_result r;
  for (auto [id, v] : cases) {
    results::case_result c;
    c.id = id;
    c.outcome = v;
    r.cases.push_back(c);
  }
  return r;
}

TEST(baseline, sorts_changes_into_worse_fixed_known_and_other) {
  auto before = run_with({{"a", verdict::pass}, {"b", verdict::fail}, {"c", verdict::fail}, {"d", verdict::warn},
                          {"e", verdict::pass}, {"gone", verdict::pass}});
  auto now = run_with({{"a", verdict::fail}, {"b", verdict::fail}, {"c", verdict::pass}, {"d", verdict::skip},
                       {"e", verdict::error}, {"new-ok", verdict::pass}, {"new-bad", verdict::fail}});
  auto d = compare(before, now);
  ASSERT_EQ(d.worse.size(), 3u);  // a: pass->fail, e: pass->error, new-bad
  EXPECT_EQ(d.worse[0].id, "a");
  EXPECT_EQ(d.worse[1].id, "e");
  EXPECT_EQ(d.worse[2].id, "new-bad");
  EXPECT_TRUE(d.worse[2].new_case);
  ASSERT_EQ(d.known_failures.size(), 1u);
  EXPECT_EQ(d.known_failures[0].id, "b");
  ASSERT_EQ(d.fixed.size(), 1u);
  EXPECT_EQ(d.fixed[0].id, "c");
  ASSERT_EQ(d.other_changes.size(), 1u);
  EXPECT_EQ(d.other_changes[0].id, "d");
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0], "gone");
  EXPECT_EQ(d.exit_code(), 1);
}

TEST(baseline, unchanged_known_failures_do_not_fail_the_gate) {
  auto before = run_with({{"a", verdict::fail}, {"b", verdict::error}, {"c", verdict::pass}});
  auto now = run_with({{"a", verdict::fail}, {"b", verdict::fail}, {"c", verdict::skip}});
  auto d = compare(before, now);
  EXPECT_TRUE(d.worse.empty());
  EXPECT_EQ(d.known_failures.size(), 2u);
  EXPECT_EQ(d.exit_code(), 0);
}

TEST(baseline, warn_counts_as_failure_only_when_strict) {
  auto before = run_with({{"a", verdict::pass}});
  auto now = run_with({{"a", verdict::warn}});
  EXPECT_EQ(compare(before, now, false).exit_code(), 1);  // pass -> warn is worse
  auto known = compare(run_with({{"a", verdict::warn}}), run_with({{"a", verdict::fail}}), true);
  EXPECT_TRUE(known.worse.empty());  // strict: warn was already a failure
  EXPECT_EQ(known.known_failures.size(), 1u);
}

}  // namespace
}  // namespace smtpspec::reports
