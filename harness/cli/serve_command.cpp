// `smtpspec serve`: the embedded reference server, alone, until SIGINT/SIGTERM.
#include <csignal>
#include <iostream>

#include "commands.hpp"
#include "smtpspec/harness/reference_server.hpp"

namespace smtpspec::cli {

namespace {
harness::reference_server* g_server = nullptr;
extern "C" void on_signal(int) {
  if (g_server) g_server->stop();
}
}  // namespace

bool apply_defects(const std::vector<std::string>& names, reference::server_config& cfg) {
  for (const auto& n : names) {
    auto d = reference::defect_from_string(n);
    if (d == reference::defect::none) {
      std::cerr << "smtpspec: unknown defect '" << n << "'; known:";
      for (auto k : reference::all_defects()) std::cerr << " " << reference::to_string(k);
      std::cerr << "\n";
      return false;
    }
    cfg.defects = cfg.defects | d;
  }
  return true;
}

int run_serve(const serve_command& cmd) {
  harness::reference_server_options opt;
  opt.listen = cmd.listen;
  opt.implicit_tls = cmd.implicit_tls;
  opt.session.implicit_tls = cmd.implicit_tls;
  opt.tls.cert_file = cmd.cert;
  opt.tls.key_file = cmd.key;
  opt.store_dir = cmd.store;
  opt.idle_timeout = std::chrono::milliseconds(static_cast<long long>(cmd.idle_timeout * 1000));
  opt.threads = std::max(1u, cmd.threads);
  if (!apply_defects(cmd.defects, opt.session)) return exit_code::usage;
  harness::reference_server server(opt);
  g_server = &server;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::cout << "smtpspec reference server listening on " << server.address()
            << (cmd.implicit_tls ? " (implicit TLS)" : " (STARTTLS offered)") << "\n"
            << std::flush;
  server.wait();
  g_server = nullptr;
  if (server.crashed()) {
    // Test only (--defect crash_on_data_after_bdat): exit the way a daemon killed
    // by SIGABRT looks to its supervisor (128 + 6), without a core file.
    std::cerr << "smtpspec serve: died of the planted defect crash_on_data_after_bdat after "
              << server.connections_served() << " connections\n";
    return 134;
  }
  std::cout << "stopped after " << server.connections_served() << " connections, " << server.messages().size()
            << " messages\n";
  return exit_code::ok;
}

}  // namespace smtpspec::cli
