// `smtpspec server`: run the selected cases against a target (by default the
// embedded reference server) and report.
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

#include "commands.hpp"
#include "report_files.hpp"
#include "selection.hpp"
#include "smtpspec/harness/reference_server.hpp"
#include "smtpspec/reports/baseline.hpp"
#include "smtpspec/reports/json_report.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::cli {

bool apply_defects(const std::vector<std::string>& names, reference::server_config& cfg);

namespace {

using namespace std::chrono;


class embedded_probe final : public harness::delivery_probe {
 public:
  explicit embedded_probe(const harness::reference_server& s) : server_(s) {}
  std::optional<std::string> find(const std::string& marker) const override {
    auto m = server_.find_message(marker);
    if (!m) return std::nullopt;
    return m->message.content;
  }
  std::string describe() const override { return "the embedded server's store"; }

 private:
  const harness::reference_server& server_;
};

std::string safe_file_name(const std::string& id) {
  std::string out;
  for (char c : id) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_') ? c : '_';
  return out;
}

/// What keeps the cases from testing the server as the user set them up, in words
/// that say what to change; "" when nothing does.
std::string setup_problem(const harness::target_probe& t, const server_command& cmd, std::vector<std::string>& notes) {
  const auto& s = cmd.settings;
  if (t.session_refused)
    // 3.1: after a 554 greeting the server wants only QUIT; no case can run.
    return "the server refused the session with the greeting '" + t.info.banner +
           "' (RFC 5321 3.1): no case can run; test an address where it offers service";
  if (t.certificate_untrusted) {
    if (s.tls != results::tls_mode::none) return harness::certificate_advice(t.info.tls_problem);
    // Only the cases that use STARTTLS need the trust: they ERROR with this advice.
    notes.push_back(harness::certificate_advice(t.info.tls_problem));
    return {};
  }
  if (s.tls == results::tls_mode::starttls && !t.info.tls_problem.empty()) {
    if (!cmd.tls_optional)
      return "--tls starttls, but TLS cannot be had (" + t.info.tls_problem +
             "); give --tls-optional to run the cases in plaintext then";
    notes.push_back("TLS cannot be had (" + t.info.tls_problem + "): the cases run in plaintext");
  }
  if (cmd.skip_envelope_check) return {};
  using outcome = harness::envelope_check::outcome;
  const auto& e = t.envelope;
  if (e.result == outcome::not_tried || e.result == outcome::accepted) return {};
  const std::string option = e.command == harness::envelope_check::which::from  ? "--from"
                             : e.command == harness::envelope_check::which::to ? "--to"
                                                                               : "--to2";
  std::string what = e.line + " got '" + e.reply + "'";
  switch (e.result) {
    case outcome::auth_required:
      // RFC 4954 6 and RFC 3207 4 both use 530.
      return what + ": the server takes mail only after AUTH or STARTTLS (530)" +
             (s.tls == results::tls_mode::none && t.has("STARTTLS", false) ? "; try --tls starttls" : "") +
             "; or test a port that takes mail without it (25 rather than 587)";
    case outcome::deferred:
      return what + ": the server defers this envelope (4yz, greylisting?); try again later or give " + option +
             " a mailbox it takes now";
    default:
      return what + ": give " + option + " a mailbox the server accepts (or --skip-envelope-check to run anyway)";
  }
}

}  // namespace

void print_case(const results::case_result& r, bool verbose) {
  std::cout << std::left << std::setw(5) << results::to_string(r.outcome) << " " << r.id << "\n";
  if (r.outcome == results::verdict::pass && !verbose) return;
  if (!r.reason.empty()) std::cout << "      " << results::visible(r.reason).substr(0, 400) << "\n";
  if (verbose)
    for (const auto& f : r.findings)
      std::cout << "      - [" << reference::to_string(f.strength) << " " << f.cite.to_string() << "] "
                << results::visible(f.text).substr(0, 300) << "\n";
}

void assign_defects(results::run_result& run, bool strict) { run.defects = results::assign_defects(run.cases, strict); }

void print_defects(const results::run_result& run, std::ostream& out, bool verbose) {
  std::size_t must = 0, should = 0, security = 0;
  for (const auto& d : run.defects) {
    must += d.strength == reference::level::must;
    should += d.strength == reference::level::should;
    security += d.security;
  }
  out << run.defects.size() << " distinct defect" << (run.defects.size() == 1 ? "" : "s") << " (" << must << " MUST, "
      << should << " SHOULD; " << security << " security)\n";
  std::size_t shown = 0;
  for (const auto& d : run.defects) {
    if (!verbose && (d.strength != reference::level::must || ++shown > 20)) break;
    out << "  [" << reference::to_string(d.strength) << " " << d.cite.to_string() << "] "
        << results::visible(d.text).substr(0, 200) << " (" << d.owner;
    if (d.cases.size() > 1) out << "; seen in " << d.cases.size() << " cases";
    out << ")\n";
  }
}

void print_baseline(const reports::baseline_diff& d, std::ostream& out) {
  out << "baseline (" << d.baseline_started_at << ", " << d.baseline_target << "): " << d.worse.size()
      << " new failures, " << d.fixed.size() << " fixed, " << d.known_failures.size() << " known failures\n";
  auto list = [&](const char* what, const std::vector<reports::verdict_change>& v) {
    for (const auto& c : v)
      out << "  " << what << " " << c.id << " (" << (c.new_case ? "new case" : results::to_string(c.before)) << " -> "
          << results::to_string(c.now) << ")\n";
  };
  list("NEW  ", d.worse);
  list("FIXED", d.fixed);
}

int run_server(server_command& cmd) {
  auto& s = cmd.settings;
  s.reply_timeout = seconds_to_ms(cmd.reply_timeout);
  s.case_timeout = seconds_to_ms(cmd.case_timeout);
  s.connect_timeout = seconds_to_ms(cmd.connect_timeout);
  s.settle = seconds_to_ms(cmd.settle);
  s.delivery_wait = seconds_to_ms(cmd.delivery_wait);
  s.tls = cmd.tls == "starttls" ? results::tls_mode::starttls
          : cmd.tls == "implicit" ? results::tls_mode::implicit
                                  : results::tls_mode::none;

  // Read the baseline first: a bad file is a usage error before any case runs.
  std::optional<results::run_result> baseline;
  if (!cmd.baseline.empty() && !read_run(cmd.baseline, baseline.emplace())) return exit_code::usage;

  loaded_cases lc;
  if (!load_selection(cmd.select, lc)) return exit_code::usage;
  if (lc.cases.empty()) {
    std::cerr << "smtpspec: no case matches the selection\n";
    return exit_code::usage;
  }

  // The default target: the embedded reference server, started here.
  std::unique_ptr<harness::reference_server> embedded;
  std::unique_ptr<harness::delivery_probe> probe;
  if (cmd.target.empty()) {
    harness::reference_server_options opt;
    opt.listen = "127.0.0.1:0";
    opt.implicit_tls = s.tls == results::tls_mode::implicit;
    opt.session.implicit_tls = opt.implicit_tls;
    opt.threads = 2;
    if (!apply_defects(cmd.defects, opt.session)) return exit_code::usage;
    embedded = std::make_unique<harness::reference_server>(opt);
    cmd.target = embedded->address();
    s.tls_options.insecure = true;  // its certificate is self-signed, made at start-up
    probe = std::make_unique<embedded_probe>(*embedded);
  } else if (!cmd.defects.empty()) {
    std::cerr << "smtpspec: --defect applies only to the embedded server\n";
    return exit_code::usage;
  }
  if (!cmd.maildir.empty()) probe = harness::make_directory_probe(cmd.maildir);
  s.probe = probe.get();

  std::string error;
  if (!harness::endpoint_spec::parse(cmd.target, s.target, error)) {
    std::cerr << "smtpspec: bad target '" << cmd.target << "': " << error << "\n";
    return exit_code::usage;
  }

  results::run_result run;
  run.tool_version = SMTPSPEC_VERSION;
  run.started_at = iso_now();
  const auto started = steady_clock::now();
  auto target = harness::probe_target(s);
  run.target = target.info;
  run.target.embedded = embedded != nullptr;
  if (!target.reachable) {
    std::cerr << "smtpspec: cannot reach " << s.target.to_string() << ": "
              << (target.certificate_untrusted ? harness::certificate_advice(target.problem) : target.problem) << "\n";
    return exit_code::unreachable;
  }
  // A run that is not set up right would only produce findings about the set-up.
  std::vector<std::string> notes;
  if (const auto problem = setup_problem(target, cmd, notes); !problem.empty()) {
    std::cerr << "smtpspec: " << s.target.to_string() << ": " << results::visible(problem) << "\n";
    return exit_code::unreachable;
  }
  run.options.strict = s.strict;
  run.options.jobs = s.jobs;
  run.options.reply_timeout = s.reply_timeout;
  run.options.case_timeout = s.case_timeout;
  run.options.suites = cmd.select.suites;
  run.options.filters = cmd.select.cases;

  const bool tty = isatty(STDERR_FILENO) != 0;
  if (!cmd.quiet)
    std::cout << "smtpspec " << SMTPSPEC_VERSION << ": " << lc.cases.size() << " cases against " << s.target.to_string()
              << (embedded ? " (embedded reference server)" : "") << ", " << s.jobs << " jobs\n"
              << "  banner: " << results::visible(target.info.banner).substr(0, 200) << "\n"
              << (target.info.tls_problem.empty() || target.certificate_untrusted
                      ? ""
                      : "  TLS: " + target.info.tls_problem + "\n")
              << std::flush;
  if (target.sync_by_noop)
    notes.push_back("the server answered " + target.unknown_verb_reply +
                    " to an unknown verb (RFC 5321 4.2.4 wants 500): the unknown-verb cases judge that; the others "
                    "synchronise with NOOP");
  if (!cmd.quiet)
    for (const auto& n : notes) std::cout << "  note: " << results::visible(n).substr(0, 400) << "\n" << std::flush;

  run.cases = harness::run_cases(lc.cases, s, target, [&](const results::case_result& r, std::size_t done, std::size_t total) {
    if (tty && !cmd.quiet)
      std::cerr << "\r\033[K[" << std::setw(4) << done << "/" << total << "] " << results::to_string(r.outcome) << " "
                << r.id << std::flush;
  });
  if (tty && !cmd.quiet) std::cerr << "\r\033[K" << std::flush;
  assign_defects(run, s.strict);
  run.finished_at = iso_now();
  run.duration = duration_cast<microseconds>(steady_clock::now() - started);

  if (!cmd.quiet)
    for (const auto& r : run.cases)
      if (cmd.verbose || r.outcome == results::verdict::fail || r.outcome == results::verdict::error ||
          r.outcome == results::verdict::warn)
        print_case(r, cmd.verbose);

  // Nothing tested is no pass: CI must not go green on a run in which every case
  // was skipped (a refused session, a selection the server offers nothing for).
  const bool nothing_ran = !run.cases.empty() && run.count(results::verdict::skip) == run.cases.size();

  std::optional<reports::baseline_diff> diff;
  if (baseline) diff = reports::compare(*baseline, run, s.strict);
  report_files files{cmd.json, cmd.html, cmd.junit};
  if (!cmd.output.empty()) files.in_directory(cmd.output);
  std::ostringstream paths;
  bool written = write_reports(run, files, diff ? &*diff : nullptr, paths);
  if (!cmd.transcripts.empty()) {
    for (const auto& r : run.cases) {
      results::transcript t;
      std::string text;
      for (const auto& e : r.transcript) {
        switch (e.what) {
          case results::transcript_event::kind::client_bytes: text += "C: " + results::visible(e.bytes) + "\n"; break;
          case results::transcript_event::kind::server_bytes: text += "S: " + results::visible(e.bytes) + "\n"; break;
          case results::transcript_event::kind::tls_started: text += "== TLS started " + e.bytes + "\n"; break;
          case results::transcript_event::kind::closed: text += "== closed: " + e.bytes + "\n"; break;
          case results::transcript_event::kind::note: text += "# " + e.bytes + "\n"; break;
        }
      }
      written &= write_text_file(cmd.transcripts + "/" + safe_file_name(r.id) + ".txt", text);
    }
  }

  const double secs = static_cast<double>(run.duration.count()) / 1e6;
  std::cout << run.cases.size() << " cases: " << run.count(results::verdict::pass) << " PASS, "
            << run.count(results::verdict::fail) << " FAIL, " << run.count(results::verdict::warn) << " WARN, "
            << run.count(results::verdict::skip) << " SKIP, " << run.count(results::verdict::error) << " ERROR in "
            << std::fixed << std::setprecision(2) << secs << " s (" << std::setprecision(1)
            << (secs > 0 ? static_cast<double>(run.cases.size()) / secs : 0.0) << " cases/s)\n";
  if (!cmd.quiet) print_defects(run, std::cout, cmd.verbose);
  if (!cmd.quiet) std::cout << paths.str();
  if (!written) return exit_code::usage;
  if (nothing_ran) {
    std::cerr << "smtpspec: no case could run: all " << run.cases.size() << " SKIP (the first: "
              << results::visible(run.cases.front().reason).substr(0, 200) << ")\n";
    return exit_code::unreachable;
  }
  if (diff) {
    print_baseline(*diff, std::cout);
    return diff->exit_code();
  }
  return run.exit_code();
}

}  // namespace smtpspec::cli
