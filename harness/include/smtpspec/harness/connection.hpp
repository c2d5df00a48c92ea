// One client connection to a target SMTP server over real sockets: TCP (IPv4 or
// IPv6), then optionally TLS (STARTTLS upgrade, RFC 3207, or implicit TLS, RFC
// 8314). Every operation has a deadline; every octet goes into the transcript.
//
// The interface is blocking (each case is a straight line of steps, which keeps
// cases readable); underneath each call runs its own Boost.Asio io_context until
// the operation completes or its deadline passes, then cancels it. One connection
// is used by one thread at a time; many connections run in parallel on many threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "smtpspec/harness/tls.hpp"
#include "smtpspec/results/transcript.hpp"

namespace smtpspec::harness {

/// HOST:PORT, [IPv6]:PORT, or HOST (port 25). Returns false if malformed.
struct endpoint_spec {
  std::string host;
  std::uint16_t port = 25;
  static bool parse(std::string_view text, endpoint_spec& out, std::string& error);
  std::string to_string() const;
};

enum class io_status : std::uint8_t {
  ok,
  timeout,       ///< the deadline passed
  closed,        ///< the peer closed the connection (EOF)
  reset,         ///< connection reset or another network error
  tls_failed,    ///< the TLS handshake failed
  refused,       ///< connect: nothing listens there
  unreachable,   ///< connect: name resolution or routing failed
  /// The TLS handshake failed because the client did not trust the server's
  /// certificate (chain or name): the client's trust configuration, not the server's
  /// protocol. Told apart by the TLS layer's error, never by its text.
  tls_untrusted,
};
std::string_view to_string(io_status s) noexcept;

struct io_result {
  io_status status = io_status::ok;
  std::size_t bytes = 0;
  std::string detail;  ///< human-readable reason (system or OpenSSL message)
  explicit operator bool() const noexcept { return status == io_status::ok; }
};

/// Which side smtpspec plays. As a client (the default: testing a server) its
/// writes are "client" octets in the transcript; as a server (`smtpspec client`,
/// testing a client) its writes are "server" octets and the peer's are "client".
enum class local_role : std::uint8_t { client, server };

class connection {
 public:
  explicit connection(results::transcript& log, local_role role = local_role::client);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  /// Resolves and connects (trying every address), within `timeout`.
  io_result connect(const endpoint_spec& target, std::chrono::milliseconds timeout);
  /// Client side of the TLS handshake on the open connection (after 220 to
  /// STARTTLS, or right after connect for implicit TLS).
  io_result start_tls(const client_tls_options& opt, const std::string& host, std::chrono::milliseconds timeout);

  /// Takes over a connected socket: on the server side one accepted by a listener
  /// (see listener.hpp); on the client side one connected without the resolver.
  io_result adopt(int native_socket, const std::string& peer);
  /// Server side of the TLS handshake (after sending 220 to STARTTLS, or at once
  /// for implicit TLS). The context must outlive the connection.
  io_result accept_tls(boost::asio::ssl::context& ctx, std::chrono::milliseconds timeout);

  /// Writes all of `bytes` (one write call; TCP may split it).
  io_result write(std::string_view bytes, std::chrono::milliseconds timeout);
  /// Reads what is available (at least one octet) into `out` (appended), at most
  /// `max` octets, waiting up to `timeout`.
  io_result read_some(std::string& out, std::size_t max, std::chrono::milliseconds timeout);
  /// Half-close (shutdown send side) or full close.
  void shutdown_send();
  void close();

  bool is_open() const noexcept;
  bool tls_active() const noexcept;
  /// TLS details once active: "TLSv1.3 TLS_AES_256_GCM_SHA384", peer certificate subject.
  std::string tls_description() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace smtpspec::harness
