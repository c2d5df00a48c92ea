// smtpspec: SMTP conformance and fuzz testing. This file only declares the command
// line (CLI11); the subcommands live beside it.
#include <CLI/CLI.hpp>

#include <iostream>
#include <thread>

#include "commands.hpp"
#include "load_command.hpp"
#include "send_command.hpp"

namespace {

void add_selection(CLI::App& app, smtpspec::cli::selection& s) {
  app.add_option("--suite", s.suites,
                 "Suite to run: a suite name or prefix (rfc5321, rfc3207.starttls), a .toml file or a directory; "
                 "repeatable. Default: every built-in suite");
  app.add_option("--case", s.cases, "Only cases whose id matches this glob (e.g. 'rfc5321.data.*'); repeatable");
  app.add_option("--skip", s.skips, "Leave out cases whose id matches this glob; repeatable");
  app.add_option("--tag", s.tags, "Only cases with this tag (smuggling, security, pipelining...); repeatable");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace smtpspec::cli;
  CLI::App app{"smtpspec " SMTPSPEC_VERSION
               ": tells, case by case and with the RFC section in hand, where an SMTP server breaks RFC 5321 and its "
               "extensions, and whether it can be desynchronised (SMTP smuggling, STARTTLS injection).",
               "smtpspec"};
  app.require_subcommand(1);
  app.set_version_flag("--version", SMTPSPEC_VERSION);
  app.footer(
      "Examples:\n"
      "  smtpspec server                          run every case against the built-in reference server\n"
      "  smtpspec server 127.0.0.1:25 --to postmaster@localhost --json out.json\n"
      "  smtpspec server mx.example.test:25 --tls starttls --insecure --tag smuggling\n"
      "  smtpspec serve --listen 127.0.0.1:2525   run the reference server alone\n"
      "  smtpspec list --suite rfc3207            show cases with their RFC section and level\n"
      "  smtpspec report run.json --html run.html --baseline last-week.json\n"
      "  smtpspec report merge postfix.json exim.json --html matrix.html\n"
      "Exit codes: 0 all MUST cases passed, 1 a case failed or errored, 2 usage or scenario error,\n"
      "            3 nothing could be tested as set up (target unreachable, session refused, TLS not\n"
      "              available or not trusted, --from/--to refused, every case skipped).");

  server_command server;
  auto* s = app.add_subcommand("server", "Test an SMTP server (default target: the embedded reference server)");
  s->add_option("target", server.target, "HOST:PORT or [IPv6]:PORT of the server under test (port 25 if omitted)");
  s->add_option("--tls", server.tls, "How every case connects: none, starttls (RFC 3207) or implicit (RFC 8314)")
      ->check(CLI::IsMember({"none", "starttls", "implicit"}))
      ->capture_default_str();
  s->add_flag("--tls-optional", server.tls_optional,
              "With --tls starttls: run in plaintext when the server offers no working STARTTLS (default: exit 3)");
  s->add_flag("-k,--insecure", server.settings.tls_options.insecure, "Accept any TLS certificate (self-signed targets)");
  s->add_option("--sni", server.settings.tls_options.sni, "TLS server name to send and verify");
  s->add_option("--ca-file", server.settings.tls_options.ca_file, "Trust anchors (PEM) for verifying the target");
  s->add_option("--client-cert", server.settings.tls_options.client_cert, "Client certificate chain (PEM)");
  s->add_option("--client-key", server.settings.tls_options.client_key, "Client private key (PEM)");
  add_selection(*s, server.select);
  s->add_flag("-S,--strict", server.settings.strict, "SHOULD-level findings fail the case (WARN becomes FAIL)");
  server.settings.jobs = std::max(1u, std::thread::hardware_concurrency());
  s->add_option("-j,--jobs", server.settings.jobs, "Cases run in parallel (default: the number of cores)")
      ->check(CLI::Range(1u, 256u));
  s->add_option("--timeout", server.reply_timeout, "Seconds to wait for each reply")->capture_default_str();
  s->add_option("--case-timeout", server.case_timeout, "Seconds a whole case may take")->capture_default_str();
  s->add_option("--connect-timeout", server.connect_timeout, "Seconds to wait for a connection")->capture_default_str();
  s->add_option("--settle", server.settle,
                "Seconds of quiet after a case's last step, to catch late unexpected replies")
      ->capture_default_str();
  s->add_option("--helo", server.settings.client_domain, "Domain smtpspec gives in EHLO/HELO")->capture_default_str();
  s->add_option("--from", server.settings.from, "Sender mailbox ({from})")->capture_default_str();
  s->add_option("--to", server.settings.to, "A mailbox the target accepts ({to})")->capture_default_str();
  s->add_option("--to2", server.settings.to2, "A second accepted mailbox ({to2}; default: --to)");
  s->add_flag("--skip-envelope-check", server.skip_envelope_check,
              "Run even when the server refuses MAIL FROM:<--from> or RCPT TO:<--to> before the cases (default: "
              "exit 3 with the refusal, since most cases need an accepted envelope)");
  s->add_option("--reject", server.settings.reject,
                "A mailbox the target refuses ({reject}; default: a random local part at the domain of --to)");
  s->add_option("--auth-user", server.settings.auth_user, "AUTH user name ({user})")->capture_default_str();
  s->add_option("--auth-password", server.settings.auth_password, "AUTH password ({password})")->capture_default_str();
  s->add_option("--maildir", server.maildir,
                "Directory where the target delivers mail (checks that read the delivered message)");
  s->add_option("--delivery-wait", server.delivery_wait,
                "Seconds a delivered-message check keeps looking in --maildir")
      ->capture_default_str();
  s->add_option("--json", server.json, "Write the complete result as JSON");
  s->add_option("--html", server.html, "Write a self-contained HTML report");
  s->add_option("--junit", server.junit, "Write JUnit XML (one testsuite per suite)");
  s->add_option("--transcripts", server.transcripts, "Write each case's transcript as a text file in this directory");
  s->add_option("-o,--output", server.output,
                "Write report.json, report.html and report.junit.xml into this directory");
  s->add_option("--baseline", server.baseline,
                "An earlier JSON report: the exit code counts only cases whose verdict got worse, and the reports list "
                "new failures, fixed cases and known failures apart")
      ->check(CLI::ExistingFile);
  s->add_flag("-v,--verbose", server.verbose, "Print every case's verdict and findings");
  s->add_flag("-q,--quiet", server.quiet, "Print only the summary line");
  s->add_option("--defect", server.defects, "Test only: break the embedded reference server in this way")
      ->group("");  // hidden: used by the mutation tests

  serve_command serve;
  auto* v = app.add_subcommand("serve", "Run the embedded RFC-strict reference server");
  v->add_option("--listen", serve.listen, "HOST:PORT to listen on")->capture_default_str();
  v->add_flag("--implicit-tls", serve.implicit_tls, "TLS from the first octet (port 465 style, RFC 8314)");
  v->add_option("--cert", serve.cert, "Certificate chain (PEM); default: a self-signed one made at start-up");
  v->add_option("--key", serve.key, "Private key (PEM) for --cert");
  v->add_option("--store", serve.store, "Directory to write accepted messages to (default: memory only)");
  v->add_option("--idle-timeout", serve.idle_timeout, "Seconds of client silence before 421 (RFC 5321 4.5.3.2.7)")
      ->capture_default_str();
  v->add_option("--threads", serve.threads, "I/O threads")->capture_default_str();
  v->add_option("--defect", serve.defects, "Test only: break the server in this way")->group("");

  relay_command relay;
  auto* y = app.add_subcommand("relay",
                               "Test an outbound relay: submit messages that it must relay to smtpspec's own sink, "
                               "and judge what arrives (bare LF/CR and end-of-data look-alikes, dot-stuffing, 8-bit, "
                               "long lines)");
  y->add_option("target", relay.target, "HOST:PORT of the relay under test")->required();
  y->add_option("--sink-listen", relay.sink_listen, "Where smtpspec's sink listens (the relay must route to it)")
      ->capture_default_str();
  y->add_option("--relay-domain", relay.relay_domain, "Recipient domain the relay routes to the sink")
      ->capture_default_str();
  y->add_option("--tls", relay.tls, "How to submit: none, starttls or implicit")
      ->check(CLI::IsMember({"none", "starttls", "implicit"}))
      ->capture_default_str();
  y->add_flag("-k,--insecure", relay.insecure, "Accept any TLS certificate");
  y->add_option("--from", relay.from, "Sender mailbox")->capture_default_str();
  y->add_option("--helo", relay.helo, "Domain given in EHLO")->capture_default_str();
  y->add_option("--delivery-timeout", relay.delivery_timeout, "Seconds to wait for each relayed copy")
      ->capture_default_str();
  y->add_option("--timeout", relay.reply_timeout, "Seconds to wait for each reply")->capture_default_str();
  y->add_option("--json", relay.json, "Write the complete result as JSON");
  y->add_option("--html", relay.html, "Write a self-contained HTML report");
  y->add_option("--junit", relay.junit, "Write JUnit XML");
  y->add_option("-o,--output", relay.output, "Write report.json, report.html and report.junit.xml into this directory");

  report_command report;
  auto* r = app.add_subcommand("report", "Re-render an earlier run's JSON report (HTML, JUnit), optionally against a baseline");
  r->add_option("input", report.input, "The JSON report of a run (smtpspec server --json)")->check(CLI::ExistingFile);
  r->add_option("--html", report.html, "Write a self-contained HTML report");
  r->add_option("--junit", report.junit, "Write JUnit XML");
  r->add_option("--json", report.json, "Write the JSON report again (e.g. after a format upgrade)");
  r->add_option("-o,--output", report.output, "Write report.json, report.html and report.junit.xml into this directory");
  r->add_option("--baseline", report.baseline,
                "An earlier JSON report: list new failures, fixed cases and known failures; the exit code counts only "
                "cases that got worse")
      ->check(CLI::ExistingFile);
  merge_command merge;
  auto* m = r->add_subcommand("merge", "One HTML matrix of several runs: cases down, targets across, differences marked");
  m->add_option("inputs", merge.inputs, "JSON reports, one per target")->required()->check(CLI::ExistingFile);
  m->add_option("--html", merge.html, "Where to write the matrix")->capture_default_str();
  r->require_subcommand(0, 1);

  client_command client;
  auto* c = app.add_subcommand(
      "client",
      "Test an SMTP client: smtpspec plays the server, one scripted way per case, and judges every octet the "
      "client sends. Example:\n  smtpspec client --exec 'curl -sS smtp://{host}:{port} --mail-from {from} "
      "--mail-rcpt {to} --mail-rcpt {to2} --upload-file {msgfile}' -o out/curl");
  c->add_option("--listen", client.listen, "HOST:PORT where smtpspec listens for the client (port 0: any free one)")
      ->capture_default_str();
  c->add_option("--exec", client.exec,
                "Start the client under test for each case (sh -c). Placeholders, shell-quoted: {host} {port} {from} "
                "{to} {to2} {msgfile} {user} {password} {cafile} {nonce}. It must submit {msgfile} from {from} to "
                "{to} and {to2}. Without any --exec, smtpspec waits for a client started by hand for each case");
  c->add_option("--exec-starttls", client.exec_starttls,
                "The same client configured to require STARTTLS (for the 'starttls' cases; else they SKIP)");
  c->add_option("--exec-auth", client.exec_auth,
                "The same client configured to authenticate with {user}/{password} (for the 'auth' cases)");
  add_selection(*c, client.select);
  c->add_flag("-S,--strict", client.settings.strict, "SHOULD-level findings fail the case (WARN becomes FAIL)");
  c->add_option("--case-timeout", client.case_timeout, "Seconds a case may take (the client must connect and finish)")
      ->capture_default_str();
  c->add_option("--idle-timeout", client.idle_timeout, "Seconds of client silence before the case gives up on it")
      ->capture_default_str();
  c->add_option("--from", client.settings.from, "Sender mailbox given to the client ({from})")->capture_default_str();
  c->add_option("--to", client.settings.to, "First recipient ({to})")->capture_default_str();
  c->add_option("--to2", client.settings.to2, "Second recipient ({to2})")->capture_default_str();
  c->add_option("--auth-user", client.settings.user, "AUTH user ({user})")->capture_default_str();
  c->add_option("--auth-password", client.settings.password, "AUTH password ({password})")->capture_default_str();
  c->add_option("--work-dir", client.work_dir, "Where message files, the certificate and client output go");
  c->add_option("--json", client.json, "Write the complete result as JSON");
  c->add_option("--html", client.html, "Write a self-contained HTML report");
  c->add_option("--junit", client.junit, "Write JUnit XML");
  c->add_option("-o,--output", client.output, "Write report.json, report.html and report.junit.xml into this directory");
  c->add_option("--baseline", client.baseline, "An earlier JSON report: the exit code counts only what got worse")
      ->check(CLI::ExistingFile);
  c->add_flag("-v,--verbose", client.verbose, "Print every case's verdict and findings");
  c->add_flag("-q,--quiet", client.quiet, "Print only the summary line");

  send_command send;
  auto* snd = add_send_command(app, send);
  load_command load;
  auto* ld = add_load_command(app, load);

  list_command list;
  auto* l = app.add_subcommand("list", "List the cases with their RFC section and requirement level");
  add_selection(*l, list.select);
  l->add_flag("--json", list.json, "Print as JSON");
  bool list_client = false;
  l->add_flag("--client", list_client, "List the client cases (smtpspec client) instead of the server cases");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return exit_code::usage;
  }
  try {
    if (*s) return run_server(server);
    if (*v) return run_serve(serve);
    if (*l) {
      if (list_client) list.select.which = selection::role::client;
      return run_list(list);
    }
    if (*m) return run_merge(merge);
    if (*y) return run_relay_command(relay);
    if (*c) return run_client(client);
    if (*snd) return run_send(send);
    if (*ld) return run_load(load);
    if (*r) {
      if (report.input.empty()) {
        std::cerr << "smtpspec report: give a JSON report, or 'merge' followed by several\n";
        return exit_code::usage;
      }
      return run_report(report);
    }
  } catch (const std::exception& e) {
    std::cerr << "smtpspec: " << e.what() << "\n";
    return exit_code::usage;
  }
  return exit_code::usage;
}
