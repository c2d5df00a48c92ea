// session_to_scenario: every seed converts to a scenario the project's loader
// accepts, the converted seeds PASS against the embedded reference server through
// the runner, and a defect's reproducer converts to a case that FAILs against the
// server broken that way.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "scenario_export.hpp"
#include "session_input.hpp"
#include "session_mutator.hpp"
#include "smtpspec/harness/reference_server.hpp"
#include "smtpspec/harness/runner.hpp"
#include "smtpspec/harness/scenario_loader.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::fuzz {
namespace {

namespace ref = smtpspec::reference;

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::filesystem::path> seeds() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(SMTPSPEC_FUZZ_NET_CORPUS))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

harness::scenario_case convert(const std::filesystem::path& f, const std::string& tls = "none") {
  scenario_options opt;
  opt.source = f.filename().string();
  opt.tls = tls;
  const std::string toml = to_scenario(decode(read_file(f)), opt);
  auto loaded = harness::load_scenario_text(toml, f.filename().string() + ".toml");
  std::string errors;
  for (const auto& e : loaded.errors) errors += e.to_string() + "\n";
  EXPECT_TRUE(loaded.ok()) << errors << toml;
  if (!loaded.ok() || loaded.suites.empty() || loaded.suites[0].cases.empty()) return {};
  return loaded.suites[0].cases[0];
}

/// A session converted and loaded back; the test fails (and the steps are empty)
/// when the loader refuses the generated file.
std::vector<harness::step> converted_steps(const session_input& s, const std::string& source) {
  scenario_options opt;
  opt.source = source;
  const std::string toml = to_scenario(s, opt);
  auto loaded = harness::load_scenario_text(toml, source + ".toml");
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string()) << "\n"
                           << encode(s) << "\n" << toml;
  if (!loaded.ok() || loaded.suites.empty() || loaded.suites[0].cases.empty()) return {};
  return loaded.suites[0].cases[0].steps;
}

class embedded_target {
 public:
  explicit embedded_target(ref::defect d = ref::defect::none) {
    harness::reference_server_options opt;
    opt.session.defects = d;
    server_ = std::make_unique<harness::reference_server>(opt);
    settings_.tls_options.insecure = true;
    settings_.reply_timeout = std::chrono::milliseconds(3000);
    std::string error;
    EXPECT_TRUE(harness::endpoint_spec::parse(server_->address(), settings_.target, error)) << error;
    probe_ = harness::probe_target(settings_);
    EXPECT_TRUE(probe_.reachable) << probe_.problem;
  }
  results::case_result run(const harness::scenario_case& c) const { return harness::run_case(c, settings_, probe_); }

 private:
  std::unique_ptr<harness::reference_server> server_;
  harness::run_settings settings_;
  harness::target_probe probe_;
};

std::string describe(const results::case_result& r) {
  std::string out = std::string(results::to_string(r.outcome)) + ": " + r.reason + "\n";
  for (const auto& f : r.findings) out += "  - " + f.text + "\n";
  for (const auto& e : r.transcript) {
    if (e.what == results::transcript_event::kind::client_bytes)
      out += "  C: " + results::visible(e.bytes) + "\n";
    else if (e.what == results::transcript_event::kind::server_bytes)
      out += "  S: " + results::visible(e.bytes) + "\n";
    else
      out += "  -- " + results::visible(e.bytes) + "\n";
  }
  return out;
}

TEST(session_to_scenario, every_seed_converts_to_a_loadable_case) {
  std::set<std::string> ids;
  for (const auto& f : seeds()) {
    auto c = convert(f);
    EXPECT_FALSE(c.steps.empty()) << f;
    EXPECT_EQ(c.level, ref::level::must);
    EXPECT_TRUE(ids.insert(c.id).second) << "duplicate id " << c.id;
  }
}

TEST(session_to_scenario, converted_seeds_pass_against_the_reference_server) {
  embedded_target t;
  for (const auto& f : seeds()) {
    auto c = convert(f);
    if (c.steps.empty()) continue;
    auto r = t.run(c);
    EXPECT_EQ(r.outcome, results::verdict::pass) << f.filename() << "\n" << describe(r);
  }
}

TEST(session_to_scenario, converted_defect_reproducers_fail_against_the_broken_server) {
  struct one {
    ref::defect d;
    const char* seed;
  };
  for (auto [d, name] : {one{ref::defect::end_data_on_lf_dot_lf, "smuggle-lf-dot-lf"},
                         one{ref::defect::end_data_on_any_bare_dot, "smuggle-cr-dot-lf"},
                         one{ref::defect::execute_after_starttls, "starttls-inject-mail"}}) {
    embedded_target broken(d);
    auto c = convert(std::filesystem::path(SMTPSPEC_FUZZ_NET_CORPUS) / name);
    auto r = broken.run(c);
    EXPECT_EQ(r.outcome, results::verdict::fail) << name << " with " << ref::to_string(d) << "\n" << describe(r);
  }
}

TEST(session_to_scenario, the_planted_crash_reproducer_fails_against_the_broken_server_only) {
  const std::string text =
      "cmd EHLO a.example\ncmd MAIL FROM:<a@example.test>\ncmd RCPT TO:<user@example.test>\nbdat x\n"
      "cmd NOOP a\\0b\ncmd \\xff\ncmd DATA\ncmd QUIT\n";
  scenario_options opt;
  opt.source = "planted-crash";
  auto loaded = harness::load_scenario_text(to_scenario(decode(text), opt), "planted-crash.toml");
  ASSERT_TRUE(loaded.ok());
  const auto& c = loaded.suites.at(0).cases.at(0);
  {
    embedded_target broken(ref::defect::crash_on_data_after_bdat);
    auto r = broken.run(c);
    EXPECT_EQ(r.outcome, results::verdict::fail) << describe(r);
  }
  embedded_target strict;
  auto r = strict.run(c);
  EXPECT_EQ(r.outcome, results::verdict::pass) << describe(r);
}

TEST(session_to_scenario, long_8bit_octets_go_as_a_multiline_raw_hex) {
  // More than 32 octets: hex_pairs() breaks the line, so the string must be multi-line.
  const auto steps = converted_steps(decode("raw QUIT  SMTPUTF8=yes\\xd7\\{80}\\r\\n\n"), "unit");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].bytes, "QUIT  SMTPUTF8=yes" + std::string(81, '\xd7') + "\r\n");
}

// Whatever the fuzzer saves must convert: 3,000 mutated sessions (fixed seed), each
// to a case the loader accepts (found: long 8-bit raw steps were broken TOML).
TEST(session_to_scenario, mutated_sessions_convert_to_loadable_cases) {
  std::vector<session_input> pool;
  for (const auto& f : seeds()) pool.push_back(decode(read_file(f)));
  session_mutator m;
  std::minstd_rand rng(7);
  for (int i = 0; i < 3000; ++i) {
    session_input s = pool[rng() % pool.size()];
    m.mutate(s, rng);
    if (i % 3 == 0) s = m.cross_over(s, pool[rng() % pool.size()], rng);
    ASSERT_FALSE(converted_steps(s, "mutated-" + std::to_string(i)).empty());
    if (i % 10 == 0) pool.push_back(std::move(s));
  }
}

TEST(session_to_scenario, steps_use_the_scenario_step_kinds) {
  session_input s = decode(
      "cmd EHLO a.example\n"
      "cmd MAIL FROM:<a@example.test>\n+cmd RCPT TO:<user@example.test>\n"
      "bdat[last] x{y}\n"
      "starttls NOOP\\r\\n\n"
      "pause 20\n"
      "raw MAIL FR\n+pause 5\n+raw OM:<a@b>\\r\\n\n"
      "cmd NOOP \\xff\n"
      "close\n");
  scenario_options opt;
  opt.source = "unit";
  const std::string toml = to_scenario(s, opt);
  auto loaded = harness::load_scenario_text(toml, "unit.toml");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string()) << "\n" << toml;
  const auto& steps = loaded.suites.at(0).cases.at(0).steps;
  using k = harness::step::kind;
  ASSERT_EQ(steps.size(), 8u) << toml;
  EXPECT_EQ(steps[0].what, k::send);
  EXPECT_EQ(steps[1].what, k::batch);
  EXPECT_EQ(steps[2].what, k::bdat);
  EXPECT_TRUE(steps[2].bdat_last);
  EXPECT_EQ(steps[2].bytes, "x{{y}}") << "braces are doubled for the runner's expansion";
  EXPECT_EQ(steps[3].what, k::starttls);
  EXPECT_EQ(steps[4].what, k::wait);
  EXPECT_EQ(steps[5].what, k::raw);
  EXPECT_EQ(steps[5].split, std::vector<std::size_t>{7});
  EXPECT_EQ(steps[6].what, k::raw) << "8-bit octets go as raw_hex";
  EXPECT_EQ(steps[6].bytes, "NOOP \xff\r\n");
  EXPECT_EQ(steps[7].what, k::close);
  EXPECT_EQ(loaded.suites[0].cases[0].id, "regressions.fuzz.unit");
}

TEST(session_to_scenario, command_line_tool_writes_a_loadable_file) {
  const auto out = std::filesystem::temp_directory_path() / ("smtpspec-s2s-" + std::to_string(::getpid()) + ".toml");
  const std::string cmd = std::string(SMTPSPEC_SESSION_TO_SCENARIO) + " --id regressions.fuzz.cli --tag smuggling -o " +
                          out.string() + " " + SMTPSPEC_FUZZ_NET_CORPUS + "/smuggle-lf-dot-lf";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto loaded = harness::load_scenarios(out.string());
  std::filesystem::remove(out);
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].to_string());
  const auto& c = loaded.suites.at(0).cases.at(0);
  EXPECT_EQ(c.id, "regressions.fuzz.cli");
  EXPECT_EQ(c.tags, std::vector<std::string>{"smuggling"});
  const std::string bad = std::string(SMTPSPEC_SESSION_TO_SCENARIO) + " --level must x 2>/dev/null";
  EXPECT_NE(std::system(bad.c_str()), 0);
}

}  // namespace
}  // namespace smtpspec::fuzz
