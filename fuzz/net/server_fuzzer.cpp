// server_fuzzer: a libFuzzer target that fuzzes an SMTP server over a real socket.
//
// Each input is one SMTP session in the text form of session_input.hpp. The target
// connects to the server (-target=HOST:PORT, or SMTPSPEC_FUZZ_TARGET; without one it
// starts the embedded reference server in-process on 127.0.0.1:0), plays the session
// with short deadlines and judges every reply with the reference model exactly as
// the conformance runner does (session_player.hpp). A finding of a selected kind
// prints a one-paragraph report with the transcript tail and aborts, so libFuzzer
// saves the input (crash-<sha1>); -minimize_crash=1 then minimises it and
// session_to_scenario turns it into a regression case.
//
// Flags (also read from the environment, which is how libFuzzer's child processes
// such as -minimize_crash and -fork runs inherit them):
//   -target=HOST:PORT              SMTPSPEC_FUZZ_TARGET     server under test (default: embedded)
//   -tls=none|starttls|implicit    SMTPSPEC_FUZZ_TLS        how each session connects
//   -smtpspec_findings=LIST        SMTPSPEC_FUZZ_FINDINGS   kinds that abort (crash,hang,drop,desync,
//                                                           illegal,should,syntax,all,none;
//                                                           default: all but should)
//   -smtpspec_state_feedback=0|1|2 SMTPSPEC_FUZZ_STATE_FEEDBACK  extra coverage counters from the
//                                                           server's replies (default 1; 2: hit
//                                                           counts and reply trigrams)
//   -smtpspec_structured=0|1       SMTPSPEC_FUZZ_STRUCTURED session-level mutations (default 1)
//   -smtpspec_reply_timeout=MS     SMTPSPEC_FUZZ_REPLY_TIMEOUT   per reply (default 2000)
//   -smtpspec_connect_timeout=MS   SMTPSPEC_FUZZ_CONNECT_TIMEOUT (default 2000)
//   -smtpspec_reply_content=0|1    SMTPSPEC_FUZZ_REPLY_CONTENT   judge greeting/EHLO grammar and
//                                                           enhanced status codes (default 1)
//   -smtpspec_verbose=0|1|2        SMTPSPEC_FUZZ_VERBOSE    1: unselected findings; 2: every session
//   -smtpspec_defect=NAME[,NAME]   SMTPSPEC_FUZZ_DEFECT     (hidden, test-only) break the embedded
//                                                           server in that way (server_session.hpp)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "session_input.hpp"
#include "session_mutator.hpp"
#include "session_player.hpp"
#include "smtpspec/harness/reference_server.hpp"
#include "smtpspec/reference/server_session.hpp"
#include "smtpspec/results/visible.hpp"

#if defined(SMTPSPEC_LIBFUZZER)
extern "C" std::size_t LLVMFuzzerMutate(std::uint8_t* data, std::size_t size, std::size_t max_size);
#endif

namespace {

namespace ref = smtpspec::reference;
namespace harness = smtpspec::harness;
namespace results = smtpspec::results;
using namespace smtpspec::fuzz;

// --- the state feedback ---------------------------------------------------------------
//
// libFuzzer only sees the coverage of this process. The target's own protocol states
// show in its replies: each reply sets a counter for (the model's phase before the
// command, the slot it answered: verb / invalid line / end of data / SASL line /
// greeting / none, the reply code bucket), and one for each trigram of (slot, code)
// pairs. Inputs that make the server answer in a new way are kept. libFuzzer reads
// the section __libfuzzer_extra_counters between __start_ and __stop_ (Linux) and
// clears it before every run.
constexpr std::size_t k_phases = 11;
constexpr std::size_t k_slots = static_cast<std::size_t>(slot_class::count_);
constexpr std::size_t k_code_buckets = 40;
constexpr std::size_t k_transitions = k_phases * k_slots * k_code_buckets;  // 9240
constexpr std::size_t k_finding_counters = 8;
constexpr std::size_t k_counters = 16384;
constexpr std::size_t k_ngram_base = k_transitions + k_finding_counters;
constexpr std::size_t k_ngrams = k_counters - k_ngram_base;

#if defined(SMTPSPEC_LIBFUZZER)
__attribute__((section("__libfuzzer_extra_counters"), used, aligned(64))) std::uint8_t g_counters[k_counters];
#else
std::uint8_t g_counters[k_counters];  // replay build: nothing reads them
#endif

std::size_t code_bucket(std::uint16_t code) {
  static constexpr std::uint16_t k_codes[] = {211, 214, 220, 221, 235, 250, 251, 252, 334, 354, 421,
                                              450, 451, 452, 454, 455, 500, 501, 502, 503, 504, 521,
                                              530, 534, 535, 538, 550, 551, 552, 553, 554, 555};
  if (code == 0) return 0;
  for (std::size_t i = 0; i < std::size(k_codes); ++i)
    if (k_codes[i] == code) return i + 1;
  const int klass = code / 100;
  if (klass >= 2 && klass <= 5) return 33 + static_cast<std::size_t>(klass - 2);
  return 37;
}

void bump(std::size_t i) {
  auto& c = g_counters[i % k_counters];
  if (c != 255) ++c;
}

/// What the target did over the whole run, whatever the feedback setting: distinct
/// (phase, slot, code) transitions and reply trigrams seen. A neutral measure for
/// comparing runs with and without the state feedback (printed at exit).
std::vector<bool> g_seen_transitions(k_transitions), g_seen_ngrams(k_ngrams);

void record_seen(const play_result& r) {
  std::uint32_t h1 = 0, h2 = 0;
  for (const auto& o : r.observations) {
    const auto phase = std::min<std::size_t>(static_cast<std::size_t>(o.before), k_phases - 1);
    const auto slot = std::min<std::size_t>(o.slot, k_slots - 1);
    const auto bucket = code_bucket(o.code);
    g_seen_transitions[(phase * k_slots + slot) * k_code_buckets + bucket] = true;
    const std::uint32_t pair = static_cast<std::uint32_t>(slot * k_code_buckets + bucket + 1);
    const std::uint32_t gram = (h2 * 0x9E3779B1u) ^ (h1 * 0x85EBCA77u) ^ (pair * 0xC2B2AE3Du);
    g_seen_ngrams[(gram >> 7) % k_ngrams] = true;
    h2 = h1;
    h1 = pair;
  }
}

/// Mode 1 (the default): one boolean feature per (phase, slot, code) transition and
/// per pair of consecutive (slot, code) replies. Mode 2: hit counts of transitions
/// and of reply trigrams (finer, and a larger corpus; see fuzz/net/README.md).
void record_feedback(const play_result& r, int mode) {
  std::uint32_t h1 = 0, h2 = 0;  // the two previous (slot, code) pairs
  for (const auto& o : r.observations) {
    const auto phase = std::min<std::size_t>(static_cast<std::size_t>(o.before), k_phases - 1);
    const auto slot = std::min<std::size_t>(o.slot, k_slots - 1);
    const auto bucket = code_bucket(o.code);
    const std::size_t transition = (phase * k_slots + slot) * k_code_buckets + bucket;
    const std::uint32_t pair = static_cast<std::uint32_t>(slot * k_code_buckets + bucket + 1);
    if (mode == 1) {
      g_counters[transition] = 1;
      const std::uint32_t gram = (h1 * 0x85EBCA77u) ^ (pair * 0xC2B2AE3Du);
      g_counters[k_ngram_base + (gram >> 7) % k_ngrams] = 1;
    } else {
      bump(transition);
      const std::uint32_t gram = (h2 * 0x9E3779B1u) ^ (h1 * 0x85EBCA77u) ^ (pair * 0xC2B2AE3Du);
      bump(k_ngram_base + (gram >> 7) % k_ngrams);
    }
    h2 = h1;
    h1 = pair;
  }
  for (const auto& f : r.findings) g_counters[k_transitions + static_cast<std::size_t>(f.kind)] = 1;
}

// --- configuration --------------------------------------------------------------------

struct config {
  std::string target;  // empty: the embedded reference server
  results::tls_mode tls = results::tls_mode::none;
  std::uint32_t kinds = default_finding_kinds;
  int state_feedback = 1;  // 0 off, 1 boolean states and pairs, 2 hit counts and trigrams
  bool structured = true;
  bool reply_content = true;
  ref::defect defects = ref::defect::none;
  std::string defect_names;
  long reply_timeout_ms = 2000;
  long connect_timeout_ms = 2000;
  int verbose = 0;
};

struct fuzzer {
  config cfg;
  std::unique_ptr<harness::reference_server> embedded;
  std::unique_ptr<session_player> player;
  std::unique_ptr<session_mutator> mutator;
  std::string target_text;
  bool ever_connected = false;
  std::uint64_t sessions = 0, selected_findings = 0;
  std::uint64_t by_kind[finding_kind_count] = {};
  std::chrono::microseconds playing{0};
  std::chrono::microseconds spent[time_spent_count] = {};
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

fuzzer& the() {
  static fuzzer f;
  return f;
}

[[noreturn]] void fatal(const std::string& what) {
  std::fprintf(stderr, "server_fuzzer: %s\n", what.c_str());
  std::exit(1);
}

bool parse_bool(std::string_view v) { return !(v == "0" || v == "false" || v == "no" || v == "off"); }

long parse_ms(std::string_view name, std::string_view v) {
  char* end = nullptr;
  const std::string s(v);
  long n = std::strtol(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || n < 1 || n > 600000) fatal(std::string(name) + ": milliseconds from 1 to 600000");
  return n;
}

/// Applies one setting; `name` is the flag name without '-' and '='.
void apply(config& c, std::string_view name, std::string_view v) {
  if (name == "target") {
    c.target = std::string(v);
  } else if (name == "tls") {
    if (v == "none")
      c.tls = results::tls_mode::none;
    else if (v == "starttls")
      c.tls = results::tls_mode::starttls;
    else if (v == "implicit")
      c.tls = results::tls_mode::implicit;
    else
      fatal("-tls must be none, starttls or implicit");
  } else if (name == "smtpspec_findings") {
    std::string error;
    auto k = parse_finding_kinds(v, error);
    if (!k) fatal("-smtpspec_findings: " + error);
    c.kinds = *k;
  } else if (name == "smtpspec_state_feedback") {
    c.state_feedback = v == "2" ? 2 : parse_bool(v) ? 1 : 0;
  } else if (name == "smtpspec_structured") {
    c.structured = parse_bool(v);
  } else if (name == "smtpspec_reply_content") {
    c.reply_content = parse_bool(v);
  } else if (name == "smtpspec_reply_timeout") {
    c.reply_timeout_ms = parse_ms(name, v);
  } else if (name == "smtpspec_connect_timeout") {
    c.connect_timeout_ms = parse_ms(name, v);
  } else if (name == "smtpspec_verbose") {
    c.verbose = std::atoi(std::string(v).c_str());
  } else if (name == "smtpspec_defect") {
    c.defects = ref::defect::none;
    c.defect_names = std::string(v);
    std::string_view list = v;
    while (!list.empty()) {
      auto comma = list.find(',');
      auto one = list.substr(0, comma);
      list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
      if (one.empty() || one == "none") continue;
      auto d = ref::defect_from_string(one);
      if (d == ref::defect::none) {
        std::string known;
        for (auto k : ref::all_defects()) known += (known.empty() ? "" : ", ") + std::string(ref::to_string(k));
        fatal("-smtpspec_defect: unknown defect '" + std::string(one) + "' (known: " + known + ")");
      }
      c.defects = c.defects | d;
    }
  }
}

struct flag_env {
  const char* flag;
  const char* env;
};
constexpr flag_env k_flags[] = {
    {"target", "SMTPSPEC_FUZZ_TARGET"},
    {"tls", "SMTPSPEC_FUZZ_TLS"},
    {"smtpspec_findings", "SMTPSPEC_FUZZ_FINDINGS"},
    {"smtpspec_state_feedback", "SMTPSPEC_FUZZ_STATE_FEEDBACK"},
    {"smtpspec_structured", "SMTPSPEC_FUZZ_STRUCTURED"},
    {"smtpspec_reply_content", "SMTPSPEC_FUZZ_REPLY_CONTENT"},
    {"smtpspec_reply_timeout", "SMTPSPEC_FUZZ_REPLY_TIMEOUT"},
    {"smtpspec_connect_timeout", "SMTPSPEC_FUZZ_CONNECT_TIMEOUT"},
    {"smtpspec_verbose", "SMTPSPEC_FUZZ_VERBOSE"},
    {"smtpspec_defect", "SMTPSPEC_FUZZ_DEFECT"},
};

/// Environment first, then flags (which win); our flags leave argv so libFuzzer does
/// not warn about them, and go into the environment for its child processes.
void configure(int* argc, char*** argv) {
  auto& c = the().cfg;
  for (const auto& f : k_flags)
    if (const char* v = std::getenv(f.env); v && *v) apply(c, f.flag, v);
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string_view arg = (*argv)[i];
    bool ours = false;
    for (const auto& f : k_flags) {
      const std::string prefix = "-" + std::string(f.flag) + "=";
      if (arg.substr(0, prefix.size()) == prefix) {
        auto value = arg.substr(prefix.size());
        apply(c, f.flag, value);
        ::setenv(f.env, std::string(value).c_str(), 1);
        ours = true;
      }
    }
    if (!ours) (*argv)[kept++] = (*argv)[i];
  }
  (*argv)[kept] = nullptr;
  *argc = kept;
  // libFuzzer's per-input leak check (-detect_leaks=1) re-runs an input under LSan
  // whenever mallocs and frees differ during it, which they always do here (the
  // embedded server's thread, reused buffers): it would cost half the run time and
  // find nothing about the target. Off unless asked for; ASan's check at exit stays.
  bool leaks_given = false;
  for (int i = 1; i < *argc; ++i)
    leaks_given = leaks_given || std::string_view((*argv)[i]).starts_with("-detect_leaks=");
  if (!leaks_given) {
    static std::vector<char*> args;
    static char no_leaks[] = "-detect_leaks=0";
    args.assign(*argv, *argv + *argc);
    args.insert(args.begin() + 1, no_leaks);
    args.push_back(nullptr);
    *argv = args.data();
    *argc = static_cast<int>(args.size()) - 1;
  }
}

void print_stats() {
  auto& f = the();
  if (f.sessions == 0) return;
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - f.started).count();
  const double in_sessions = std::chrono::duration<double>(f.playing).count();
  std::fprintf(stderr,
               "==smtpspec== %llu sessions in %.1f s (%.0f sessions/s; %.2f ms per session, %.0f%% of the time "
               "in sessions) against %s\n",
               static_cast<unsigned long long>(f.sessions), wall, wall > 0 ? f.sessions / wall : 0.0,
               1000.0 * in_sessions / static_cast<double>(f.sessions), wall > 0 ? 100.0 * in_sessions / wall : 0.0,
               f.target_text.c_str());
  // Where the session time went (session_player.hpp, time_spent): what to look at
  // when the rate is low. The rest is the exchange itself.
  std::string split;
  std::chrono::microseconds accounted{0};
  for (std::size_t k = 0; k < time_spent_count; ++k) {
    accounted += f.spent[k];
    if (f.spent[k].count() > 0 && in_sessions > 0)
      split += " " + std::string(to_string(static_cast<time_spent>(k))) + " " +
               std::to_string(static_cast<int>(100.0 * std::chrono::duration<double>(f.spent[k]).count() / in_sessions +
                                               0.5)) +
               "%;";
  }
  if (in_sessions > 0)
    std::fprintf(stderr, "==smtpspec== session time:%s exchange %.0f%%\n", split.c_str(),
                 100.0 * std::chrono::duration<double>(f.playing - accounted).count() / in_sessions);
  std::string kinds;
  for (std::size_t k = 0; k < finding_kind_count; ++k)
    if (f.by_kind[k])
      kinds += " " + std::string(to_string(static_cast<finding_kind>(k))) + "=" + std::to_string(f.by_kind[k]);
  std::fprintf(stderr, "==smtpspec== sessions with findings by kind:%s\n", kinds.empty() ? " none" : kinds.c_str());
  std::fprintf(stderr, "==smtpspec== target states seen: %zu (phase, command, reply) transitions, %zu reply trigrams\n",
               static_cast<std::size_t>(std::count(g_seen_transitions.begin(), g_seen_transitions.end(), true)),
               static_cast<std::size_t>(std::count(g_seen_ngrams.begin(), g_seen_ngrams.end(), true)));
}

void at_exit() {
  print_stats();
  auto& f = the();
  f.player.reset();
  f.embedded.reset();
}

std::string describe_action(const session_input& s, int index) {
  if (index < 0 || static_cast<std::size_t>(index) >= s.actions.size())
    return index == -1 ? "the player's own set-up or ending (EHLO/STARTTLS set-up, end of data, QUIT)"
                       : "the player's sync probe after STARTTLS";
  session_input one;
  one.actions.push_back(s.actions[static_cast<std::size_t>(index)]);
  one.actions.front().glued = false;
  std::string line = encode(one);
  if (!line.empty() && line.back() == '\n') line.pop_back();
  if (line.size() > 300) line = line.substr(0, 300) + "...";
  return "action " + std::to_string(index + 1) + " of " + std::to_string(s.actions.size()) + ": " + line;
}

[[noreturn]] void report_and_abort(const session_input& s, const play_result& r, const finding& main) {
  auto& f = the();
  std::string out = "\n==smtpspec== FINDING " + std::string(to_string(main.kind)) + " [" +
                    std::string(ref::to_string(main.strength)) + ", " + main.cite.to_string() + "]\n";
  out += "  " + main.text + "\n";
  if (!main.expected.empty() || !main.observed.empty())
    out += "  expected: " + main.expected + "; observed: " + main.observed + "\n";
  out += "  target: " + f.target_text + ", tls " + std::string(results::to_string(f.cfg.tls)) + "\n";
  out += "  while playing " + describe_action(s, main.action) + "\n";
  int others = 0;
  for (const auto& g : r.findings) {
    if (&g == &main || others >= 6) continue;
    ++others;
    out += "  also: " + std::string(to_string(g.kind)) + ": " + g.text.substr(0, 240) + "\n";
  }
  if (!r.terminator.empty()) out += "  the player ended the session with: " + results::visible(r.terminator) + "\n";
  out += "  transcript tail:\n";
  std::string_view tail = r.transcript_tail;
  while (!tail.empty()) {
    auto nl = tail.find('\n');
    out += "    " + std::string(tail.substr(0, nl)) + "\n";
    tail = nl == std::string_view::npos ? std::string_view() : tail.substr(nl + 1);
  }
  out += "  reproduce: server_fuzzer " + (f.cfg.target.empty() ? std::string() : "-target=" + f.cfg.target + " ") +
         (f.cfg.defect_names.empty() ? std::string() : "-smtpspec_defect=" + f.cfg.defect_names + " ") +
         "CRASH_FILE; minimise: add -minimize_crash=1 -runs=2000; regression case: session_to_scenario CRASH_FILE > "
         "scenarios/regressions/NAME.toml\n";
  out += "==smtpspec== end of finding\n";
  std::fputs(out.c_str(), stderr);
  print_stats();
  std::fflush(stderr);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  configure(argc, argv);
  auto& f = the();
  player_settings ps;
  ps.tls = f.cfg.tls;
  ps.reply_timeout = std::chrono::milliseconds(f.cfg.reply_timeout_ms);
  ps.connect_timeout = std::chrono::milliseconds(f.cfg.connect_timeout_ms);
  ps.session_budget = std::max(std::chrono::milliseconds(10000), 5 * ps.reply_timeout);
  ps.reply_content = f.cfg.reply_content;
  if (f.cfg.target.empty()) {
    harness::reference_server_options opt;
    opt.listen = "127.0.0.1:0";
    opt.threads = 1;
    opt.session.defects = f.cfg.defects;
    opt.implicit_tls = f.cfg.tls == results::tls_mode::implicit;
    opt.session.implicit_tls = opt.implicit_tls;
    opt.idle_timeout = std::chrono::seconds(30);
    opt.memory_store_limit = 64;
    opt.memory_store_bytes = 4 * 1024 * 1024;
    try {
      f.embedded = std::make_unique<harness::reference_server>(opt);
    } catch (const std::exception& e) {
      fatal(std::string("cannot start the embedded reference server: ") + e.what());
    }
    f.target_text = f.embedded->address() + " (embedded reference server" +
                    (f.cfg.defect_names.empty() ? std::string() : ", defect " + f.cfg.defect_names) + ")";
    std::string error;
    if (!harness::endpoint_spec::parse(f.embedded->address(), ps.target, error)) fatal(error);
  } else {
    if (f.cfg.defects != ref::defect::none) fatal("-smtpspec_defect applies only to the embedded server");
    std::string error;
    if (!harness::endpoint_spec::parse(f.cfg.target, ps.target, error)) fatal("-target: " + error);
    f.target_text = f.cfg.target;
  }
  f.player = std::make_unique<session_player>(ps);
#if defined(SMTPSPEC_LIBFUZZER)
  f.mutator = std::make_unique<session_mutator>(
      [](std::uint8_t* d, std::size_t n, std::size_t max) { return LLVMFuzzerMutate(d, n, max); });
#else
  f.mutator = std::make_unique<session_mutator>();
#endif
  // Fail fast when nothing answers, before libFuzzer takes that for a finding.
  auto probe = f.player->play(session_input{});
  if (!probe.connected) fatal("cannot reach " + f.target_text + ": " + probe.connect.detail);
  f.ever_connected = true;
  std::fprintf(stderr, "==smtpspec== fuzzing %s, tls %s, findings:", f.target_text.c_str(),
               std::string(results::to_string(f.cfg.tls)).c_str());
  for (std::size_t k = 0; k < finding_kind_count; ++k)
    if (f.cfg.kinds & kind_bit(static_cast<finding_kind>(k)))
      std::fprintf(stderr, " %s", std::string(to_string(static_cast<finding_kind>(k))).c_str());
  std::fprintf(stderr, "; state feedback %s, reply timeout %ld ms\n",
               f.cfg.state_feedback == 0   ? "off"
               : f.cfg.state_feedback == 1 ? "on"
                                           : "on (counts)",
               f.cfg.reply_timeout_ms);
  // Registered after OpenSSL's own exit handler, so it runs first: the server's
  // threads end (and OpenSSL frees their per-thread state) before OpenSSL cleans up.
  std::atexit(at_exit);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& f = the();
  const auto s = decode(std::string_view(reinterpret_cast<const char*>(data), size));
  auto r = f.player->play(s);
  ++f.sessions;
  f.playing += r.duration;
  for (std::size_t k = 0; k < time_spent_count; ++k) f.spent[k] += r.spent[k];
  if (!r.connected) {
    // It accepted connections before: it died or stopped listening.
    finding died;
    died.kind = finding_kind::crash;
    died.cite = {5321, "3.1"};
    died.text = "the target no longer accepts connections (" + r.connect.detail +
                "); it did before. The input that killed it may be this one or the one before";
    r.findings.push_back(std::move(died));
  }
  record_seen(r);
  if (f.cfg.state_feedback) record_feedback(r, f.cfg.state_feedback);
  bool seen[finding_kind_count] = {};
  for (const auto& g : r.findings) seen[static_cast<std::size_t>(g.kind)] = true;
  for (std::size_t k = 0; k < finding_kind_count; ++k) f.by_kind[k] += seen[k] ? 1 : 0;
  if (const finding* main = r.primary(f.cfg.kinds)) {
    ++f.selected_findings;
    report_and_abort(s, r, *main);
  }
  if (f.cfg.verbose >= 2 || (f.cfg.verbose >= 1 && !r.findings.empty())) {
    std::fprintf(stderr, "==smtpspec== session %llu: %zu actions, %llu replies, %.2f ms%s\n",
                 static_cast<unsigned long long>(f.sessions), s.actions.size(),
                 static_cast<unsigned long long>(r.replies), r.duration.count() / 1000.0,
                 r.findings.empty() ? "" : ", unselected findings:");
    for (const auto& g : r.findings)
      std::fprintf(stderr, "    %s: %s\n", std::string(to_string(g.kind)).c_str(), g.text.substr(0, 200).c_str());
    if (f.cfg.verbose >= 3) std::fputs(r.transcript_tail.c_str(), stderr);
  }
  return 0;
}

#if defined(SMTPSPEC_LIBFUZZER)
extern "C" std::size_t LLVMFuzzerCustomMutator(std::uint8_t* data, std::size_t size, std::size_t max_size,
                                               unsigned int seed) {
  auto& f = the();
  if (!f.cfg.structured) return LLVMFuzzerMutate(data, size, max_size);
  return f.mutator->mutate_text(data, size, max_size, seed);
}

extern "C" std::size_t LLVMFuzzerCustomCrossOver(const std::uint8_t* data1, std::size_t size1,
                                                 const std::uint8_t* data2, std::size_t size2, std::uint8_t* out,
                                                 std::size_t max_out_size, unsigned int seed) {
  auto& f = the();
  if (!f.cfg.structured) {
    const std::size_t n = std::min(size1, max_out_size);
    std::memcpy(out, data1, n);
    return n;
  }
  return f.mutator->cross_over_text(data1, size1, data2, size2, out, max_out_size, seed);
}
#endif
