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
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpspec/harness/connection.hpp"
#include "smtpspec/harness/result.hpp"
#include "smtpspec/harness/scenario.hpp"
#include "smtpspec/reference/client_stream.hpp"
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
  /// probe_target tries MAIL FROM:<from>, RCPT TO:<to> (and <to2>) once, then RSET
  /// (target_probe::envelope). Off where the cases address no {to} (relay mode).
  bool check_envelope = true;
  const delivery_probe* probe = nullptr;
  /// How long a delivered-message check keeps looking (MTAs deliver after the 250).
  std::chrono::milliseconds delivery_wait{5000};
  std::size_t transcript_limit = 1024 * 1024;
  /// Called with every reply that answered something a case sent, from the thread
  /// running the case (relay mode reads the reply to its end of data this way).
  std::function<void(const reference::judged_reply&, const reference::reply&)> on_reply;
};

/// The preflight transaction of probe_target: MAIL FROM:<from>, RCPT TO:<to> (and
/// <to2> when given), RSET, in the session's mode of the cases (plaintext, or inside
/// TLS for --tls starttls/implicit). Most cases need the server to take mail from
/// `from` to `to`; one that refuses them makes every such case about the refusal.
struct envelope_check {
  enum class outcome : std::uint8_t {
    not_tried,      ///< the probe did not get that far (EHLO refused, TLS failed...)
    accepted,       ///< 2yz to MAIL and to every RCPT
    refused,        ///< 5yz (550, 553...): a mailbox the server does not take
    auth_required,  ///< 530: authentication (RFC 4954 6) or STARTTLS (RFC 3207 4) first
    deferred,       ///< 4yz (greylisting, resources): refused for now
  };
  enum class which : std::uint8_t { from, to, to2 };
  outcome result = outcome::not_tried;
  which command = which::from;  ///< the command refused (MAIL, or the RCPT of to/to2)
  std::string line;             ///< that command line, e.g. "RCPT TO:<user@example.test>"
  std::string reply;            ///< its reply in one line (untrusted, made visible)
};

/// What the run learned about the target before the cases (greeting, EHLO
/// keywords in plaintext and inside TLS, and whether the cases can run as set up).
/// Every field added since the first version defaults to what a target without
/// those problems gives, so a probe rebuilt from a recorded report (the verdict
/// snapshots) runs the cases as they were recorded.
struct target_probe {
  bool reachable = false;
  std::string problem;  ///< why not reachable
  results::target_info info;
  /// The EHLO reply could be read; when not, `needs` are not judged (the cases run
  /// and report the malformed reply themselves).
  bool ehlo_readable = true;
  /// The greeting was a readable reply other than 220 (554, or 421: RFC 5321 3.1):
  /// the server refuses the session, so no case can run. info.banner holds it.
  bool session_refused = false;
  /// The sync probe's unknown verb got no 5yz (a 250: RFC 5321 4.2.4 wants 500;
  /// no reply; a close): the cases synchronise with NOOP and counted replies
  /// instead (exchange_settings::sync_with_noop), or each would wait out the reply
  /// timeout. The unknown-verb cases judge that reply, once.
  bool sync_by_noop = false;
  std::string unknown_verb_reply;  ///< what the unknown verb got, in one line
  /// A TLS handshake failed because smtpspec did not trust the server's certificate
  /// (io_status::tls_untrusted): the user's configuration. info.tls_problem, or
  /// `problem` for implicit TLS, says why.
  bool certificate_untrusted = false;
  envelope_check envelope;
  /// "KEYWORD" or "KEYWORD PARAM" (e.g. "AUTH LOGIN") is advertised.
  bool has(std::string_view need, bool in_tls) const;
};

target_probe probe_target(const run_settings& s);

/// What to tell a user whose TLS handshake failed on an untrusted certificate
/// (`problem`: the TLS layer's reason): trust is their configuration.
std::string certificate_advice(std::string_view problem);

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
