// See process.hpp.
#include "smtpspec/harness/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace smtpspec::harness {

child_process::child_process(const std::string& command, const std::string& output_file) : output_file_(output_file) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, output_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  // Its own process group, so that kill() reaches whatever the shell started.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  const int rc = posix_spawn(&pid_, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) throw std::runtime_error("cannot start '" + command + "': " + std::strerror(rc));
}

child_process::~child_process() {
  if (!done_) kill();
}

bool child_process::wait(std::chrono::milliseconds timeout) {
  if (done_) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto nap = std::chrono::milliseconds(1);
  for (;;) {
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      done_ = true;
      raw_status_ = st;
      status_ = r == pid_ && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::milliseconds(50));
  }
}

void child_process::kill() {
  if (done_ || pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  if (wait(std::chrono::milliseconds(1000))) return;
  ::kill(-pid_, SIGKILL);
  wait(std::chrono::milliseconds(5000));
}

std::string child_process::status_text() const {
  if (!done_) return "still running";
  if (WIFEXITED(raw_status_)) return "exit status " + std::to_string(WEXITSTATUS(raw_status_));
  if (WIFSIGNALED(raw_status_)) return "killed by signal " + std::to_string(WTERMSIG(raw_status_));
  return "ended";
}

std::string child_process::output_tail(std::size_t max) const {
  std::ifstream in(output_file_, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const auto size = static_cast<std::size_t>(in.tellg());
  const std::size_t from = size > max ? size - max : 0;
  in.seekg(static_cast<std::streamoff>(from));
  std::string out(size - from, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return from > 0 ? "..." + out : out;
}

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

}  // namespace smtpspec::harness
