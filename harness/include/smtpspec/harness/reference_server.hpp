// `smtpspec serve`: the embedded reference server. Boost.Asio (C++20 coroutines)
// around reference::server_session, which makes every protocol decision; this
// layer only moves octets, runs the TLS handshake when the session asks for it
// (RFC 3207; or from the start for implicit TLS, RFC 8314), enforces the idle
// timeout (RFC 5321 4.5.3.2.7) and stores accepted messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpspec/harness/tls.hpp"
#include "smtpspec/reference/server_session.hpp"

namespace smtpspec::harness {

struct reference_server_options {
  std::string listen = "127.0.0.1:0";  ///< HOST:PORT; port 0 picks a free one
  reference::server_config session;    ///< protocol behaviour (and defect switches)
  server_tls_options tls;              ///< certificate; generated when empty
  bool implicit_tls = false;           ///< TLS from the first octet (port 465 style)
  std::chrono::milliseconds idle_timeout{std::chrono::minutes(5)};  ///< 4.5.3.2.7
  std::string store_dir;               ///< write each accepted message as a file here; empty: memory only
  std::size_t memory_store_limit = 10000;  ///< messages kept in memory (oldest dropped)
  /// Content octets kept in memory in total (oldest messages dropped first), so a
  /// long-running server cannot grow without bound even with large messages.
  std::size_t memory_store_bytes = 256 * 1024 * 1024;
  /// Connections served at once; beyond it a new connection gets 421 (RFC 5321
  /// 3.8, 4.3.2) and is closed.
  std::size_t max_connections = 1000;
  unsigned threads = 1;
  /// Receives one line per noteworthy event (a handler that failed, a TLS
  /// handshake that failed, plaintext discarded after STARTTLS...). Called from
  /// the server's threads, so it must be thread-safe. Empty: silent.
  std::function<void(std::string_view)> log;
};

/// A message the server accepted, with a sequence number.
struct accepted_message {
  std::uint64_t id = 0;
  reference::stored_message message;
};

class reference_server {
 public:
  /// Binds and starts serving on background threads; throws std::runtime_error if
  /// the address cannot be bound or TLS cannot be set up.
  explicit reference_server(reference_server_options opt);
  ~reference_server();  ///< stops and joins
  reference_server(const reference_server&) = delete;
  reference_server& operator=(const reference_server&) = delete;

  /// The bound address as HOST:PORT (the real port when 0 was asked for).
  std::string address() const;
  std::uint16_t port() const;
  /// The generated self-signed certificate (PEM), for clients that want to verify
  /// it (client_tls_options::ca_file); empty when a certificate file was given.
  std::string certificate_pem() const;

  /// Accepted messages so far (copy) and a way to find one by a marker in its
  /// content or envelope (newest first).
  std::vector<accepted_message> messages() const;
  std::optional<accepted_message> find_message(std::string_view marker) const;
  std::uint64_t connections_served() const;
  /// The planted defect crash_on_data_after_bdat fired and took the server down
  /// (it stopped itself: wait() returns).
  bool crashed() const;

  /// Closes the listening socket and every open connection, and returns once the
  /// server's threads have finished. Safe to call more than once, from any
  /// thread, and from a signal handler: there it only requests the stop
  /// (async-signal-safe) and wait() or the destructor finishes it.
  void stop();
  /// Blocks until stop() has been called (from another thread or a signal
  /// handler) and the server's threads have finished.
  void wait();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace smtpspec::harness
