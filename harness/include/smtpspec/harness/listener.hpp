// A listening TCP socket for `smtpspec client`, where smtpspec plays the server:
// accept() waits for the client under test with a deadline, so a client that never
// connects costs one case timeout, never a hang.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "smtpspec/harness/connection.hpp"

namespace smtpspec::harness {

class listener {
 public:
  /// Binds and listens on HOST:PORT (port 0: a free one). Throws std::runtime_error
  /// with the reason when the address cannot be bound.
  explicit listener(const endpoint_spec& where);
  ~listener();
  listener(const listener&) = delete;
  listener& operator=(const listener&) = delete;

  /// The bound address, e.g. "127.0.0.1:2525", and its parts.
  std::string address() const;
  std::string host() const;
  std::uint16_t port() const;

  /// Waits up to `timeout` for a connection. Returns the connected socket (to hand
  /// to connection::adopt) and sets `peer`; -1 when the deadline passed.
  int accept(std::chrono::milliseconds timeout, std::string& peer);
  /// Accepts and closes every connection already waiting (a client that retried
  /// after a case ended must not be served by the next case). Returns how many.
  int drain();

 private:
  int fd_ = -1;
  std::string host_;
  std::uint16_t port_ = 0;
};

}  // namespace smtpspec::harness
