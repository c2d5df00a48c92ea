// The built-in suites against the embedded reference server, over real sockets:
// the defect-free server passes every case (the positive control), and each
// defect switch makes the cases aimed at it fail (the mutation tests).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "smtpspec/harness/reference_server.hpp"
#include "smtpspec/harness/runner.hpp"
#include "smtpspec/harness/scenario_loader.hpp"

namespace smtpspec::harness {
namespace {

const load_result& builtin() {
  static const load_result loaded = load_scenarios(std::string(SMTPSPEC_SOURCE_DIR) + "/scenarios");
  return loaded;
}

class embedded_target {
 public:
  explicit embedded_target(reference::defect defects = reference::defect::none) {
    reference_server_options opt;
    opt.session.defects = defects;
    opt.threads = 2;
    server_ = std::make_unique<reference_server>(opt);
    settings_.tls_options.insecure = true;
    settings_.jobs = 4;
    settings_.reply_timeout = std::chrono::milliseconds(5000);
    std::string error;
    EXPECT_TRUE(endpoint_spec::parse(server_->address(), settings_.target, error)) << error;
    probe_ = std::make_unique<store_probe>(*server_);
    settings_.probe = probe_.get();
    target_ = probe_target(settings_);
    EXPECT_TRUE(target_.reachable) << target_.problem;
  }

  std::vector<results::case_result> run(const std::vector<const scenario_case*>& cases) {
    return run_cases(cases, settings_, target_);
  }

 private:
  class store_probe final : public delivery_probe {
   public:
    explicit store_probe(const reference_server& s) : s_(s) {}
    std::optional<std::string> find(const std::string& marker) const override {
      auto m = s_.find_message(marker);
      return m ? std::optional<std::string>(m->message.content) : std::nullopt;
    }
    std::string describe() const override { return "embedded store"; }

   private:
    const reference_server& s_;
  };

  std::unique_ptr<reference_server> server_;
  std::unique_ptr<delivery_probe> probe_;
  run_settings settings_;
  target_probe target_;
};

/// The server cases (client suites are run by client_suite_test.cpp).
std::vector<const scenario_case*> all_cases() {
  std::vector<const scenario_case*> out;
  for (const auto& s : builtin().suites)
    if (!s.client_role)
      for (const auto& c : s.cases) out.push_back(&c);
  return out;
}

std::vector<const scenario_case*> cases_by_id(const std::vector<std::string>& ids) {
  std::vector<const scenario_case*> out;
  for (const auto& s : builtin().suites)
    for (const auto& c : s.cases)
      if (std::find(ids.begin(), ids.end(), c.id) != ids.end()) out.push_back(&c);
  return out;
}

TEST(builtin_suites, load_without_errors_and_hold_at_least_200_cases) {
  const auto& loaded = builtin();
  for (const auto& e : loaded.errors) ADD_FAILURE() << e.to_string();
  EXPECT_GE(all_cases().size(), 200u);
}

TEST(builtin_suites, every_case_cites_an_rfc_section_and_a_level_and_quotes_its_requirement) {
  for (const auto* c : all_cases()) {
    EXPECT_FALSE(c->rfc.empty()) << c->id;
    EXPECT_FALSE(c->requirement.empty()) << c->id;
    for (const auto& r : c->rfc) EXPECT_FALSE(r.section.empty()) << c->id;
  }
}

TEST(builtin_suites, the_embedded_reference_server_passes_every_case) {
  embedded_target target;
  auto results = target.run(all_cases());
  std::size_t passed = 0;
  for (const auto& r : results) {
    // A case may only skip because it needs an extension the server does not
    // offer (the embedded server does not implement EXPN, for one).
    const bool needs_skip = r.outcome == results::verdict::skip && r.reason.rfind("the target does not advertise", 0) == 0;
    if (r.outcome == results::verdict::pass) ++passed;
    EXPECT_TRUE(r.outcome == results::verdict::pass || needs_skip)
        << r.id << " (" << r.source << "): " << to_string(r.outcome) << ": " << r.reason;
  }
  EXPECT_GE(passed, 200u);
}

/// For each defect, the cases aimed at it. Each must FAIL against the broken
/// server (and PASS against the defect-free one, shown by the test above).
struct mutation {
  reference::defect broken;
  std::vector<std::string> aimed;
};

class mutation_test : public ::testing::TestWithParam<mutation> {};

TEST_P(mutation_test, the_aimed_cases_fail) {
  const auto& m = GetParam();
  auto cases = cases_by_id(m.aimed);
  ASSERT_EQ(cases.size(), m.aimed.size()) << "a case id in the mutation table does not exist";
  embedded_target target(m.broken);
  for (const auto& r : target.run(cases))
    EXPECT_EQ(r.outcome, results::verdict::fail) << reference::to_string(m.broken) << " was not caught by " << r.id << ": "
                                        << to_string(r.outcome) << " " << r.reason;
}

// Review A1.5: a server that ends the data at <LF>.<LF> but never runs what followed
// in the same write answers only the early end of data, which fills the slot of the
// real one. Only the case that waits after the look-alike sees the early reply.
TEST(builtin_suites, an_early_end_of_data_is_proven_by_a_reply_before_the_real_end) {
  embedded_target target(reference::defect::end_data_on_lf_dot_lf_discard_rest);
  auto results = target.run(cases_by_id({"rfc5321.smuggling.lf-dot-lf", "rfc5321.smuggling.lf-dot-lf-waited"}));
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    if (r.id == "rfc5321.smuggling.lf-dot-lf")
      EXPECT_EQ(r.outcome, results::verdict::pass) << "the pipelined form cannot tell: " << r.reason;
    else
      EXPECT_EQ(r.outcome, results::verdict::fail) << r.reason;
  }
}

std::string mutation_name(const ::testing::TestParamInfo<mutation>& info) {
  return std::string(reference::to_string(info.param.broken));
}

std::vector<mutation> mutations() {
  return {
#include "mutation_table.inc"
  };
}

INSTANTIATE_TEST_SUITE_P(defects, mutation_test, ::testing::ValuesIn(mutations()), mutation_name);

}  // namespace
}  // namespace smtpspec::harness
