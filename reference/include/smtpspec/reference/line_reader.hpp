// Line framing for commands and replies: RFC 5321 section 2.3.8 (lines end with
// CRLF only) and the length limits of 4.5.3.1.4 / 4.5.3.1.5.
//
// Sans-I/O and bounded: the reader never holds more than `max_line` octets of a
// line, whatever the peer sends. An over-long line is reported once, as soon as
// its length (counting its terminator) exceeds max_line, and its remaining octets
// are discarded up to the next line end, so an endless line costs constant memory.
//
// Framing, exactly:
//   * CRLF ends a line. A CR split from its LF across two inputs frames the same.
//   * With lf_ends_line a LF without CR also ends the line (line::bare_lf).
//     Without it (strict 2.3.8) such a LF is an ordinary octet of the line and
//     only sets line::has_bare_lf.
//   * A CR followed by anything but LF is an ordinary octet (line::has_bare_cr).
//     In CR CR LF the first CR is bare and stays in `text`; the second ends the line.
//   * The length of a line counts every octet including its terminator (2 for
//     CRLF, 1 for a bare LF ending it). A line is too long when that length
//     exceeds max_line: too_long is returned when the octet number max_line + 1 of
//     the line is consumed, so line::length is then always max_line + 1, the flags
//     are false, and `text` holds only the line's first octets (at most max_line,
//     without the CR of a CRLF ending it), enough to tell the verb or reply code of
//     the line the peer meant (the line itself is not delivered). If that
//     octet ends the line (its LF), nothing is discarded; otherwise every octet up
//     to and including the line's terminator is skipped silently.
// Events depend only on the octet stream, never on how it is split into inputs.
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
    too_long,  ///< a line exceeded max_line; `length` is its total length so far (max_line + 1), `text` its head
  };
  status state = status::need_more;
  std::string_view text;    ///< valid until the next call on the reader (or the input changes)
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
  /// of that line is skipped silently. Every event is retryable: the reader never
  /// enters an error state.
  line next(std::string_view& input);

  /// Octets of an incomplete line held back (always <= max_line).
  std::size_t buffered() const noexcept { return release_partial_ ? 0 : partial_.size(); }
  /// Those octets themselves (a CR that may start the CRLF included), valid until
  /// the next call on the reader.
  std::string_view partial() const noexcept { return release_partial_ ? std::string_view{} : std::string_view{partial_}; }
  /// True while the rest of an over-long line is being skipped.
  bool discarding() const noexcept { return discarding_; }
  void reset();

 private:
  bool skip_discarded(std::string_view input, std::size_t& i);
  line end_line(std::string_view input, std::size_t begin, std::size_t i, bool crlf);
  line report_too_long(std::string_view head, std::size_t length);
  void clear_line();

  line_reader_options opt_;
  std::string partial_;          // octets of the current line, terminator excluded
  bool release_partial_ = false; // partial_ backs the last returned text; clear it next call
  bool discarding_ = false;      // skipping the rest of an over-long line
  bool pending_cr_ = false;      // the last octet consumed of the current line was a CR
  bool has_bare_cr_ = false;
  bool has_bare_lf_ = false;
  bool has_nul_ = false;
};

}  // namespace smtpspec::reference
