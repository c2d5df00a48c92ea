// POSIX listening socket with poll() deadlines; see listener.hpp.
#include "smtpspec/harness/listener.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace smtpspec::harness {
namespace {

std::string text_of(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, buf, sizeof buf);
    return endpoint_spec{buf, ntohs(v6.sin6_port)}.to_string();
  }
  const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
  ::inet_ntop(AF_INET, &v4.sin_addr, buf, sizeof buf);
  return endpoint_spec{buf, ntohs(v4.sin_port)}.to_string();
}

}  // namespace

listener::listener(const endpoint_spec& where) {
  const std::string host = strip_brackets(where.host.empty() ? "127.0.0.1" : where.host);
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (sockaddr_in v4{}; ::inet_pton(AF_INET, host.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(where.port);
    std::memcpy(&addr, &v4, sizeof v4);
    len = sizeof v4;
  } else if (sockaddr_in6 v6{}; ::inet_pton(AF_INET6, host.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(where.port);
    std::memcpy(&addr, &v6, sizeof v6);
    len = sizeof v6;
  } else {
    throw std::runtime_error("--listen needs an IP address (e.g. 127.0.0.1:2525), not '" + host + "'");
  }
  fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  int on = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 64) != 0) {
    const std::string reason = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error("cannot listen on " + where.to_string() + ": " + reason);
  }
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &blen);
  host_ = host;
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(bound).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(bound).sin_port);
}

listener::~listener() {
  if (fd_ >= 0) ::close(fd_);
}

std::string listener::address() const { return endpoint_spec{host_, port_}.to_string(); }
std::string listener::host() const { return host_; }
std::uint16_t listener::port() const { return port_; }

int listener::accept(std::chrono::milliseconds timeout, std::string& peer) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return -1;
    pollfd p{fd_, POLLIN, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) return -1;
    if (n <= 0) continue;
    sockaddr_storage from{};
    socklen_t len = sizeof from;
    const int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED) continue;
      return -1;
    }
    peer = text_of(from);
    return fd;
  }
}

int listener::drain() {
  int n = 0;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0) return n;
    const int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return n;
    ::close(fd);
    ++n;
  }
}

}  // namespace smtpspec::harness
