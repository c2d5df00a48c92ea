// A replay peer: a loopback server that answers the runner from a recorded lab run,
// so the cases judged against a real server can be judged again offline, with the
// current model (docs/verdict-snapshots.md; the fixtures come from
// ci/snapshot_fixture.py, which documents the format).
//
// The peer follows the recording by octet counts, never by time: it sends the next
// recorded server octets as soon as the client has sent as many octets on that
// connection as it had when the server's octets were read, starts TLS where the
// recording did, closes where the server closed, and otherwise reads. Where the
// recording shows that the client met silence first ("hold"), the peer waits for
// more client octets before it answers, so a reply deadline that passed in the lab
// passes in the replay too, whatever the deadline.
//
// The peer always closes gracefully (end of stream, then it reads until the client
// closes). A server's reset would race with the client's next write: whether that
// write fails or the reset is met on the next read depends on which thread runs
// first. So a lab run in which the client met the reset on a write (a server that
// closes at once after refusing an over-long line) replays as a close met on a
// read: deterministic, though it may judge differently from the lab; the snapshot
// test lists such cases when the table is updated.
//
// When the client leaves the recording (its octets hash differently, it sends more
// than was recorded, it closes early, it skips the TLS handshake, it opens a
// connection the recording lacks and talks on it), the peer closes that connection
// and says why in divergence(): the case's verdict then changes and the snapshot
// test reports the case as diverged, never as a quiet change of verdict. Every wait
// of the peer has a deadline; stop() ends it at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "smtpspec/harness/connection.hpp"
#include "smtpspec/harness/listener.hpp"
#include "smtpspec/results/run_result.hpp"

namespace smtpspec::harness::replay {

/// One action of a recorded connection's script.
struct action {
  enum class kind : std::uint8_t {
    client,       ///< the client sends octets up to `upto`; they hash to `hash`
    server,       ///< send `bytes`
    hold,         ///< wait for at least one more client octet (the client met silence here)
    tls,          ///< server side of a TLS handshake that succeeds
    tls_fail,     ///< a TLS handshake that fails with an internal_error alert
    close,        ///< the server closed
    end,          ///< the client closed: any further octet leaves the recording
  };
  kind what = kind::end;
  std::uint64_t upto = 0;
  std::uint64_t hash = 0;
  std::string bytes;
};

struct recorded_connection {
  std::vector<action> script;
  /// Where the case's nonce stands in the client's octets: masked before hashing,
  /// since every run of a case draws a new one (harness::make_nonce).
  std::vector<std::uint64_t> nonce_at;
};

struct recorded_case {
  std::string id;
  std::string recorded;  ///< the verdict the lab run gave, for reference
  std::vector<recorded_connection> connections;
  /// The runner's liveness check after the server closed found the port closed.
  bool refuse_after_close = false;
  /// The report cut the transcript short: the case cannot be replayed.
  bool truncated = false;
  /// The delivered message, with the nonce written "{nonce}".
  std::optional<std::string> delivered;
};

/// One recorded run of the suite against one server.
struct recorded_run {
  std::string server;
  int run = 0;
  std::string tool_version, started_at;
  std::string to, to2;
  bool strict = false;
  results::tls_mode tls = results::tls_mode::none;
  results::target_info target;
  /// The runner could read the EHLO reply of its probe (target_probe::ehlo_readable).
  bool ehlo_readable = true;
  std::vector<recorded_case> cases;
};

/// Reads a fixture (ci/snapshot_fixture.py). Throws std::runtime_error naming the
/// file and what is wrong.
recorded_run read_recorded_run(const std::string& path);

/// FNV-1a (64 bits) continued over `bytes`; the recorder computes the same.
std::uint64_t fnv1a64(std::uint64_t h, std::string_view bytes);
inline constexpr std::uint64_t fnv1a64_basis = 0xcbf29ce484222325ULL;

/// Serves one recorded case on 127.0.0.1 (a port of its own), one connection at
/// a time, in the order the recording has them; connections past the recorded ones
/// (the runner's liveness check after a close) are accepted and left silent.
class replay_peer {
 public:
  explicit replay_peer(const recorded_case& c);
  ~replay_peer();
  replay_peer(const replay_peer&) = delete;
  replay_peer& operator=(const replay_peer&) = delete;

  endpoint_spec address() const { return address_; }
  /// Ends every wait, closes what is open and joins the peer's thread.
  void stop();

  /// Why the replay left the recording; empty while it followed it.
  std::string divergence() const;
  /// The nonce the client used where the recording had its own (empty if none seen).
  std::string live_nonce() const;
  /// After the case: why its replay left the recording, or "". Adds to
  /// divergence() what only the runner's transcript shows: the client opened other
  /// session connections than the recording has (a case skipped in the lab that
  /// runs now waits for a greeting that never comes and says nothing).
  std::string divergence(const results::case_result& replayed) const;

 private:
  friend class replay_session;
  void serve();
  void diverge(std::string why);
  void learn_nonce(std::string nonce);
  bool stopping() const { return stop_.load(); }

  const recorded_case& case_;
  std::unique_ptr<listener> listener_;
  endpoint_spec address_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::string divergence_, nonce_;
  std::thread thread_;
};

}  // namespace smtpspec::harness::replay
