// The JSON report's distinct defects read back, and an older report (written
// before findings were grouped into defects) still read and rendered: no defects,
// every finding counted in its own case, and the HTML and JUnit reports saying
// the defect count is unknown rather than 0.
#include "smtpspec/reports/json_report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "smtpspec/reports/defect_counts.hpp"
#include "smtpspec/reports/html_report.hpp"
#include "smtpspec/reports/junit_report.hpp"
#include "smtpspec/results/defects.hpp"

namespace smtpspec::reports {
namespace {

namespace ref = smtpspec::reference;

/// Three cases; the VRFY defect counts in the first and is a note in the second.
results::run_result grouped_run() {
  results::run_result r;
  r.tool_version = "0.1.0";
  r.target.address = "mx.example:25";
  results::case_finding vrfy{ref::level::must, {5321, "3.5.3"}, "VRFY: 502", "252", "502 no", 1};
  vrfy.rule = "VRFY must be implemented";
  vrfy.observation = "502 to VRFY";
  for (const char* id : {"vrfy", "help", "clean"}) {
    results::case_result c;
    c.id = id;
    c.rfc = {{5321, std::string(id) == "vrfy" ? "3.5.3" : "4.1.1.8"}};
    if (std::string(id) != "clean") c.findings.push_back(vrfy);
    r.cases.push_back(c);
  }
  r.defects = results::assign_defects(r.cases, false);
  return r;
}

TEST(json_report, defects_and_notes_read_back) {
  const auto run = grouped_run();
  ASSERT_EQ(run.defects.size(), 1u);
  results::run_result back;
  std::string error;
  ASSERT_TRUE(from_json(to_json(run), back, error)) << error;
  ASSERT_EQ(back.defects.size(), 1u);
  const auto& d = back.defects[0];
  EXPECT_EQ(d.strength, ref::level::must);
  EXPECT_EQ(d.cite.to_string(), "RFC 5321 3.5.3");
  EXPECT_EQ(d.rule, "VRFY must be implemented");
  EXPECT_EQ(d.observation, "502 to VRFY");
  EXPECT_EQ(d.text, "VRFY: 502");
  EXPECT_EQ(d.owner, "vrfy");
  EXPECT_EQ(d.cases, (std::vector<std::string>{"vrfy", "help"}));
  EXPECT_TRUE(back.cases[0].findings[0].counted);
  EXPECT_FALSE(back.cases[1].findings[0].counted);
  EXPECT_EQ(back.cases[1].findings[0].owner, "vrfy");
  EXPECT_EQ(back.cases[0].outcome, results::verdict::fail);
  EXPECT_EQ(back.cases[1].outcome, results::verdict::pass);
  const auto n = count_defects(back);
  EXPECT_TRUE(n.recorded);
  EXPECT_EQ(n.total, 1u);
  EXPECT_EQ(n[ref::level::must], 1u);
}

TEST(json_report, an_older_report_without_defects_is_read_and_rendered) {
  // The same run as an older smtpspec wrote it: no defects, no distinct_defects,
  // and findings without rule, observation, counted or owner (cases without error
  // or inconclusive).
  auto doc = nlohmann::json::parse(to_json(grouped_run()));
  doc.erase("defects");
  doc.erase("distinct_defects");
  for (auto& c : doc["cases"]) {
    c.erase("error");
    c.erase("inconclusive");
    for (auto& f : c["findings"])
      for (const char* k : {"rule", "observation", "counted", "owner"}) f.erase(k);
  }
  results::run_result old;
  std::string error;
  ASSERT_TRUE(from_json(doc.dump(), old, error)) << error;
  EXPECT_TRUE(old.defects.empty());
  ASSERT_EQ(old.cases.size(), 3u);
  for (const auto& c : old.cases)
    for (const auto& f : c.findings) {
      EXPECT_TRUE(f.counted) << c.id;
      EXPECT_TRUE(f.owner.empty()) << c.id;
    }
  EXPECT_FALSE(count_defects(old).recorded);

  const auto html = to_html(old);
  EXPECT_NE(html.find("id=defects-unknown"), std::string::npos);
  EXPECT_EQ(html.find("id=\"count-defects\""), std::string::npos);
  EXPECT_EQ(html.find("<h3>Notes"), std::string::npos);
  EXPECT_EQ(to_junit(old).find("distinct_defects"), std::string::npos);
  // Rendered as a matrix beside a new report, it is marked, not counted as 0.
  const auto matrix = to_html_matrix({grouped_run(), old});
  EXPECT_NE(matrix.find("<span class=df>distinct defects not recorded</span>"), std::string::npos);
  EXPECT_NE(matrix.find("<span class=df>1 distinct defect</span>"), std::string::npos);
}

}  // namespace
}  // namespace smtpspec::reports
