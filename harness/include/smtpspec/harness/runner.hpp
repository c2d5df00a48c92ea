// Runs conformance cases against a target server over real sockets and judges
// every reply with the reference session model.
//
// How replies are matched to what was sent: every octet smtpspec writes is also
// fed to an interpreter that frames it exactly as a strict server must (command
// lines ending in CRLF, mail data up to CRLF.CRLF only, BDAT chunks by count, no
// commands after 220 to STARTTLS) and queues one reply slot per command, end of
// data or SASL line. Each reply from the target fills the oldest slot and is
// judged against what the model allows in the state the earlier replies led to.
// A reply with no slot is a desynchronisation: the target saw a command smtpspec
// did not send (SMTP smuggling, STARTTLS injection, pipelining confusion), which
// breaks RFC 5321 4.2 ("Every command MUST generate exactly one reply").
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "smtpspec/harness/connection.hpp"
#include "smtpspec/harness/result.hpp"
#include "smtpspec/harness/scenario.hpp"
#include "smtpspec/results/run_result.hpp"

namespace smtpspec::harness {

/// Finds a delivered message by a marker in it (the embedded server's store, or a
/// directory such as a maildir). Returns the whole message.
class delivery_probe {
 public:
  virtual ~delivery_probe() = default;
  virtual std::optional<std::string> find(const std::string& marker) const = 0;
  virtual std::string describe() const = 0;
  /// The store may hold LF where CRLF was sent (maildirs): compare without CR.
  virtual bool normalises_line_endings() const { return false; }
};

/// Scans every regular file under a directory for the marker.
std::unique_ptr<delivery_probe> make_directory_probe(const std::string& dir);

struct run_settings {
  endpoint_spec target;
  results::tls_mode tls = results::tls_mode::none;          ///< how every case connects (cases may ask for more)
  client_tls_options tls_options;
  bool strict = false;                    ///< WARN counts as FAIL
  unsigned jobs = 1;
  std::chrono::milliseconds connect_timeout{10000};
  std::chrono::milliseconds reply_timeout{10000};  ///< for each reply
  std::chrono::milliseconds case_timeout{60000};   ///< for a whole case
  /// Quiet time after the final sync probe (a NOOP whose reply follows any reply the
  /// server still owes) to catch late, unexpected replies.
  std::chrono::milliseconds settle{20};
  std::string client_domain = "client.smtpspec.test";
  std::string from = "sender@client.smtpspec.test";
  std::string to = "user@example.test";
  std::string to2;     ///< default: same as `to`
  std::string reject;  ///< default: reject.nosuchuser.{nonce}@ the domain of `to`
  std::string auth_user = "smtpspec", auth_password = "smtpspec";
  const delivery_probe* probe = nullptr;
  /// How long a delivered-message check keeps looking (MTAs deliver after the 250).
  std::chrono::milliseconds delivery_wait{5000};
  std::size_t transcript_limit = 1024 * 1024;
};

/// What the run learned about the target before the cases (greeting, EHLO
/// keywords in plaintext and inside TLS).
struct target_probe {
  bool reachable = false;
  std::string problem;  ///< why not reachable
  results::target_info info;
  /// The EHLO reply could be read; when not, `needs` are not judged (the cases run
  /// and report the malformed reply themselves).
  bool ehlo_readable = true;
  /// "KEYWORD" or "KEYWORD PARAM" (e.g. "AUTH LOGIN") is advertised.
  bool has(std::string_view need, bool in_tls) const;
};

target_probe probe_target(const run_settings& s);

/// Runs one case. Never throws: harness faults become verdict::error.
results::case_result run_case(const scenario_case& c, const run_settings& s, const target_probe& t);

/// Called after each case (from worker threads, serialised by the caller).
using progress_fn = std::function<void(const results::case_result&, std::size_t done, std::size_t total)>;

/// Runs cases on `s.jobs` threads, in the given order of ids in the result.
std::vector<results::case_result> run_cases(const std::vector<const scenario_case*>& cases, const run_settings& s,
                                   const target_probe& t, const progress_fn& progress = {});

/// A token unique to one run of a case (12 hex digits), for {nonce}.
std::string make_nonce();

/// Expands the variables of scenario.hpp in `text` for one run of a case.
std::string expand_variables(std::string_view text, const run_settings& s, std::string_view nonce);

}  // namespace smtpspec::harness
