// session_to_scenario: turns a network fuzzer input (a reproducer such as crash-<sha1>,
// or a seed) into a scenario file with one [[case]] that `smtpspec server --suite FILE`
// replays. See fuzz/net/README.md or the "Network fuzzers" section of fuzz/README.md.
//
//   session_to_scenario crash-3f2a... > scenarios/regressions/lf-dot-lf.toml
//   session_to_scenario -o x.toml --id regressions.fuzz.lf-dot-lf --tag smuggling crash-3f2a...
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "scenario_export.hpp"
#include "session_input.hpp"

namespace {

constexpr const char* k_usage =
    "usage: session_to_scenario [options] SESSION_FILE   ('-' reads standard input)\n"
    "Writes a scenario TOML file (scenarios/FORMAT.md) with one [[case]] replaying the session.\n"
    "  -o, --output FILE   write to FILE instead of standard output\n"
    "  --suite NAME        suite name (default regressions.fuzz)\n"
    "  --suite-title TEXT  suite title\n"
    "  --no-suite          write the [[case]] alone (to append to an existing file)\n"
    "  --id ID             case id (default SUITE.<file name>)\n"
    "  --title TEXT        case title\n"
    "  --requirement TEXT  the RFC sentence the case checks\n"
    "  --rfc REF           RFC reference such as 5321#4.1.1.4 (repeatable; default 5321#4.2)\n"
    "  --level LEVEL       MUST, SHOULD or MAY (default MUST)\n"
    "  --tag TAG           tag (repeatable; default fuzz, regression)\n"
    "  --tls MODE          none, starttls or implicit: how the fuzzer connected (default none)\n"
    "  --no-reply-content  the fuzzer ran with -smtpspec_reply_content=0: judge reply codes only\n";

int usage_error(const std::string& what) {
  std::cerr << "session_to_scenario: " << what << "\n" << k_usage;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  smtpspec::fuzz::scenario_options opt;
  std::string input, output;
  bool tags_given = false, rfc_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string& into) {
      if (i + 1 >= argc) return false;
      into = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "-h" || arg == "--help") {
      std::cout << k_usage;
      return 0;
    } else if (arg == "-o" || arg == "--output") {
      if (!value(output)) return usage_error("missing value for " + arg);
    } else if (arg == "--suite") {
      if (!value(opt.suite)) return usage_error("missing value for " + arg);
    } else if (arg == "--suite-title") {
      if (!value(opt.suite_title)) return usage_error("missing value for " + arg);
    } else if (arg == "--no-suite") {
      opt.with_suite = false;
    } else if (arg == "--id") {
      if (!value(opt.id)) return usage_error("missing value for " + arg);
    } else if (arg == "--title") {
      if (!value(opt.title)) return usage_error("missing value for " + arg);
    } else if (arg == "--requirement") {
      if (!value(opt.requirement)) return usage_error("missing value for " + arg);
    } else if (arg == "--rfc") {
      if (!value(v)) return usage_error("missing value for " + arg);
      if (!rfc_given) opt.rfc.clear();
      rfc_given = true;
      opt.rfc.push_back(v);
    } else if (arg == "--level") {
      if (!value(opt.level)) return usage_error("missing value for " + arg);
      if (opt.level != "MUST" && opt.level != "SHOULD" && opt.level != "MAY")
        return usage_error("--level must be MUST, SHOULD or MAY");
    } else if (arg == "--tag") {
      if (!value(v)) return usage_error("missing value for " + arg);
      if (!tags_given) opt.tags.clear();
      tags_given = true;
      opt.tags.push_back(v);
    } else if (arg == "--no-reply-content") {
      opt.reply_content = false;
    } else if (arg == "--tls") {
      if (!value(opt.tls)) return usage_error("missing value for " + arg);
      if (opt.tls != "none" && opt.tls != "starttls" && opt.tls != "implicit")
        return usage_error("--tls must be none, starttls or implicit");
    } else if (arg.size() > 1 && arg[0] == '-') {
      return usage_error("unknown option " + arg);
    } else if (input.empty()) {
      input = arg;
    } else {
      return usage_error("more than one session file");
    }
  }
  if (input.empty()) return usage_error("no session file");

  std::string text;
  if (input == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(input, std::ios::binary);
    if (!in) {
      std::cerr << "session_to_scenario: cannot read " << input << "\n";
      return 1;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  if (opt.source.empty()) opt.source = input == "-" ? "stdin" : input;
  const auto session = smtpspec::fuzz::decode(text);
  if (session.actions.empty()) std::cerr << "session_to_scenario: warning: " << input << " holds no action\n";
  const std::string toml = smtpspec::fuzz::to_scenario(session, opt);

  if (output.empty()) {
    std::cout << toml;
    return std::cout ? 0 : 1;
  }
  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out << toml;
  if (!out) {
    std::cerr << "session_to_scenario: cannot write " << output << "\n";
    return 1;
  }
  return 0;
}
