// Line framing for commands and replies: RFC 5321 section 2.3.8 (lines end with
// CRLF only) and the length limits of 4.5.3.1.4 / 4.5.3.1.5.
//
// Sans-I/O and bounded: the reader never holds more than `max_line` octets of a
// line, whatever the peer sends. An over-long line is reported once (with its
// full length counted) and its remaining octets are discarded up to the next line
// end, so an endless line costs constant memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace smtpspec::reference {

struct line_reader_options {
  /// Longest line accepted, counting the CRLF (512 for commands and replies).
  std::size_t max_line = 512;
  /// Also end a line at a LF without CR (reported in line::bare_lf). Strict
  /// RFC 5321 2.3.8 framing leaves this off: a bare LF stays inside the line.
  bool lf_ends_line = false;
};

struct line {
  enum class status : std::uint8_t {
    complete,  ///< `text` holds a line (terminator stripped)
    need_more, ///< no complete line in the input yet
    too_long,  ///< a line exceeded max_line; `length` is its total length so far
  };
  status state = status::need_more;
  std::string_view text;    ///< valid until the next call on the reader
  std::size_t length = 0;   ///< octets of the line including its terminator
  bool bare_lf = false;     ///< ended by LF alone (only with lf_ends_line)
  bool has_bare_cr = false; ///< contains a CR not followed by LF
  bool has_bare_lf = false; ///< contains a LF not preceded by CR (when not a terminator)
  bool has_nul = false;     ///< contains a NUL octet
};

class line_reader {
 public:
  explicit line_reader(line_reader_options opt = {}) : opt_(opt) {}

  /// Takes octets from the front of `input` and returns the next event; `input` is
  /// advanced past what was consumed. Call repeatedly until it returns need_more
  /// (then `input` is empty). A too_long event is returned once per line; the rest
  /// of that line is skipped silently.
  line next(std::string_view& input);

  /// Octets of an incomplete line held back (always <= max_line).
  std::size_t buffered() const noexcept { return partial_.size(); }
  void reset();

 private:
  line_reader_options opt_;
  std::string partial_;
  std::size_t discarding_ = 0;  // > 0 while skipping the rest of an over-long line
  bool discard_reported_ = false;
  bool pending_cr_ = false;
};

}  // namespace smtpspec::reference
