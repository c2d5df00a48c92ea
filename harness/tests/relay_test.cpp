// Relay mode (harness/relay.hpp) against the embedded reference server as the
// "relay": what the relay's inbound side does wrong is the server suite's finding,
// not the relay case's (review A1.1 and A2: the three postfix-relay FAILs repeated
// Postfix's inbound smuggling finding).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "smtpspec/harness/reference_server.hpp"
#include "smtpspec/harness/relay.hpp"

namespace smtpspec::harness {
namespace {

using namespace std::chrono_literals;

TEST(relay, an_inbound_early_end_of_data_makes_the_relay_case_inconclusive) {
  reference_server_options opt;
  opt.session.defects = reference::defect::end_data_on_lf_dot_lf;
  opt.session.local_domains.push_back("relay.test");
  reference_server inbound(opt);

  relay_settings s;
  std::string error;
  ASSERT_TRUE(endpoint_spec::parse(inbound.address(), s.submit.target, error)) << error;
  s.submit.reply_timeout = 2000ms;
  s.submit.case_timeout = 20000ms;
  s.submit.tls_options.insecure = true;
  s.sink_listen = "127.0.0.1:0";
  s.delivery_timeout = 1000ms;

  auto cases = builtin_relay_cases();
  cases.erase(std::remove_if(cases.begin(), cases.end(), [](const relay_case& c) { return c.id != "relay.eod.lf-dot-lf"; }),
              cases.end());
  ASSERT_EQ(cases.size(), 1u);
  const auto run = run_relay(s, cases);
  ASSERT_EQ(run.cases.size(), 1u);
  const auto& r = run.cases.front();
  EXPECT_EQ(r.outcome, results::verdict::skip) << r.reason;
  EXPECT_NE(r.reason.find("outbound hop could not be judged"), std::string::npos) << r.reason;
  EXPECT_TRUE(r.findings.empty());
  const bool noted = std::any_of(r.transcript.begin(), r.transcript.end(), [](const results::transcript_event& e) {
    return e.what == results::transcript_event::kind::note && e.bytes.rfind("on submission (MUST", 0) == 0;
  });
  EXPECT_TRUE(noted) << "the inbound finding stays visible as a note";
}

}  // namespace
}  // namespace smtpspec::harness
