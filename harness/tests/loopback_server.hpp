// A TCP server on 127.0.0.1 for the tests that need a peer the embedded reference
// server cannot be (hostile octets, scripted defects). Plain POSIX sockets and a
// thread per connection: simpler than Asio here, and independent of the client
// code under test.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace smtpspec::test_support {

class loopback_server {
 public:
  /// Runs `serve(fd, stopping)` on a thread of its own for each connection, then
  /// closes the socket; `stopping` turns true when the server is being destroyed.
  explicit loopback_server(std::function<void(int fd, const std::atomic<bool>& stopping)> serve)
      : serve_(std::move(serve)) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_, 16) != 0)
      throw std::runtime_error("loopback_server: cannot listen on 127.0.0.1:0");
    socklen_t len = sizeof a;
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;
  ~loopback_server() {
    stop_ = true;
    acceptor_.join();
    ::close(listen_);
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& t : sessions_) t.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::size_t connections() const { return connections_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      std::lock_guard<std::mutex> lock(mutex_);
      sessions_.emplace_back([this, fd] {
        serve_(fd, stop_);
        ::close(fd);
      });
    }
  }

  std::function<void(int, const std::atomic<bool>&)> serve_;
  int listen_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> connections_{0};
  std::mutex mutex_;
  std::vector<std::thread> sessions_;
  std::thread acceptor_;
};

}  // namespace smtpspec::test_support
