// `smtpspec relay`: outbound (relay) testing; see harness/relay.hpp.
#include <chrono>
#include <iostream>

#include "commands.hpp"
#include "report_files.hpp"
#include "smtpspec/harness/relay.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::cli {

int run_relay_command(const relay_command& cmd) {
  harness::relay_settings s;
  std::string error;
  if (!harness::endpoint_spec::parse(cmd.target, s.submit.target, error)) {
    std::cerr << "smtpspec: bad target '" << cmd.target << "': " << error << "\n";
    return exit_code::usage;
  }
  s.submit.tls = cmd.tls == "starttls" ? results::tls_mode::starttls
                 : cmd.tls == "implicit" ? results::tls_mode::implicit
                                         : results::tls_mode::none;
  s.submit.tls_options.insecure = cmd.insecure;
  s.submit.from = cmd.from;
  s.submit.client_domain = cmd.helo;
  s.submit.reply_timeout = std::chrono::milliseconds(static_cast<long long>(cmd.reply_timeout * 1000));
  s.sink_listen = cmd.sink_listen;
  s.relay_domain = cmd.relay_domain;
  s.delivery_timeout = std::chrono::milliseconds(static_cast<long long>(cmd.delivery_timeout * 1000));

  const auto cases = harness::builtin_relay_cases();
  std::cout << "smtpspec relay: " << cases.size() << " cases through " << s.submit.target.to_string()
            << " to the sink at " << s.sink_listen << " (domain " << s.relay_domain << ")\n";
  results::run_result run;
  try {
    run = harness::run_relay(s, cases);
  } catch (const std::exception& e) {
    std::cerr << "smtpspec: " << e.what() << "\n";
    return exit_code::unreachable;
  }
  run.tool_version = SMTPSPEC_VERSION;
  assign_defects(run, false);
  for (const auto& r : run.cases) {
    std::cout << results::to_string(r.outcome) << "  " << r.id << "\n";
    if (r.outcome != results::verdict::pass && !r.reason.empty())
      std::cout << "      " << results::visible(r.reason).substr(0, 300) << "\n";
  }
  report_files files{cmd.json, cmd.html, cmd.junit};
  if (!cmd.output.empty()) files.in_directory(cmd.output);
  if (!write_reports(run, files, nullptr, std::cout)) return exit_code::usage;
  std::cout << run.cases.size() << " relay cases: " << run.count(results::verdict::pass) << " PASS, "
            << run.count(results::verdict::fail) << " FAIL, " << run.count(results::verdict::warn) << " WARN, "
            << run.count(results::verdict::error) << " ERROR\n";
  print_defects(run, std::cout, false);
  return run.exit_code();
}

}  // namespace smtpspec::cli
