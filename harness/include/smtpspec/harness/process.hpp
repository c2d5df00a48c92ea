// Starting the client under test (`smtpspec client --exec`): a shell command in its
// own process group, its output captured (bounded) in a file, waited for with a
// deadline and killed, group and all, when it overstays.
#pragma once

#include <chrono>
#include <string>
#include <sys/types.h>

namespace smtpspec::harness {

class child_process {
 public:
  /// Runs `/bin/sh -c command` with stdin from /dev/null and stdout+stderr into
  /// `output_file`. Throws std::runtime_error when it cannot be started.
  child_process(const std::string& command, const std::string& output_file);
  ~child_process();  ///< kills the group if still running
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Waits up to `timeout` for the process to exit; true when it has.
  bool wait(std::chrono::milliseconds timeout);
  /// SIGTERM to the group, then SIGKILL after a grace period; reaps it.
  void kill();
  bool exited() const noexcept { return done_; }
  /// "exit status 0", "killed by signal 9", "still running".
  std::string status_text() const;
  int exit_status() const noexcept { return status_; }  ///< -1 unless it exited normally
  /// The last `max` octets of its output.
  std::string output_tail(std::size_t max = 2000) const;

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  int raw_status_ = 0;
  int status_ = -1;
  std::string output_file_;
};

/// Quotes `text` for /bin/sh (single quotes), for placeholders in --exec commands.
std::string shell_quote(const std::string& text);

}  // namespace smtpspec::harness
