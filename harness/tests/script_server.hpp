// A scripted line-based SMTP server for the harness tests (exchange_test, cli_test):
// each connection gets a handler of its own; plain_server answers like a small
// conforming server and lets a test change what it says to some lines.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "loopback_server.hpp"

namespace smtpspec::test_support {

/// One client connection of script_server.
struct peer {
  int fd = -1;
  bool gone = false;
  void send(std::string_view s) {
    while (!gone && !s.empty()) {
      const auto n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  /// Closes with a FIN.
  void close() {
    if (gone) return;
    gone = true;
    ::shutdown(fd, SHUT_RDWR);
  }
  /// Closes with a RST (SO_LINGER 0, as the socket is closed after the handler
  /// returns), so the client's next write fails.
  void reset() {
    if (gone) return;
    gone = true;
    linger l{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
};

/// Answers one line (without its line end). `rest` holds what the client sent
/// after the line in the same read: the handler may clear it (discarded input).
using line_handler = std::function<void(peer&, const std::string& line, std::string& rest)>;

/// A line-based SMTP server (loopback_server.hpp); each connection gets a fresh
/// handler from `make`, with its own state.
class script_server {
 public:
  explicit script_server(std::function<line_handler()> make, std::string greeting = "220 script.example.test ESMTP\r\n")
      : make_(std::move(make)), greeting_(std::move(greeting)) {}
  std::string address() const { return server_.address(); }

 private:
  void serve(int fd, const std::atomic<bool>& stopping) {
    peer p{fd};
    line_handler h = make_();
    p.send(greeting_);
    std::string buf;
    char chunk[65536];
    while (!p.gone && !stopping) {
      pollfd pf{fd, POLLIN, 0};
      if (::poll(&pf, 1, 100) <= 0) continue;
      const auto n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buf.append(chunk, static_cast<std::size_t>(n));
      for (auto nl = buf.find('\n'); !p.gone && nl != std::string::npos; nl = buf.find('\n')) {
        std::string line = buf.substr(0, nl);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        std::string rest = buf.substr(nl + 1);
        h(p, line, rest);
        buf = std::move(rest);
      }
    }
  }

  std::function<line_handler()> make_;
  std::string greeting_;
  // Last: its threads use the members above.
  test_support::loopback_server server_{[this](int fd, const std::atomic<bool>& stopping) { serve(fd, stopping); }};
};

inline bool starts(const std::string& line, std::string_view verb) {
  if (line.size() < verb.size()) return false;
  for (std::size_t i = 0; i < verb.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(line[i])) != verb[i]) return false;
  return true;
}

/// A plain server: EHLO offers `keywords`; MAIL, RCPT, NOOP, RSET 250; DATA 354
/// and the data to its end; QUIT 221 and close; anything else 500. `special` runs
/// first and returns true when it has answered the line itself.
inline line_handler plain_server(std::vector<std::string> keywords,
                          std::function<bool(peer&, const std::string&, std::string&)> special = {}) {
  auto in_data = std::make_shared<bool>(false);
  return [=](peer& p, const std::string& line, std::string& rest) {
    if (*in_data) {
      if (line == ".") {
        *in_data = false;
        p.send("250 2.0.0 queued\r\n");
      }
      return;
    }
    if (special && special(p, line, rest)) return;
    if (starts(line, "EHLO")) {
      std::string r = "250";
      r += keywords.empty() ? " " : "-";
      r += "script.example.test\r\n";
      for (std::size_t i = 0; i < keywords.size(); ++i)
        r += (i + 1 == keywords.size() ? "250 " : "250-") + keywords[i] + "\r\n";
      p.send(r);
    } else if (starts(line, "MAIL") || starts(line, "RCPT") || starts(line, "NOOP") || starts(line, "RSET")) {
      p.send("250 2.0.0 OK\r\n");
    } else if (starts(line, "DATA")) {
      *in_data = true;
      p.send("354 go ahead\r\n");
    } else if (starts(line, "QUIT")) {
      p.send("221 2.0.0 bye\r\n");
      p.close();
    } else {
      p.send("500 5.5.2 unknown command\r\n");
    }
  };
}

}  // namespace smtpspec::test_support
