// The one place where a server's octets become replies: a byte-level, resumable
// reader built from line_reader (framing, RFC 5321 2.3.8) and reply_parser (the
// 4.2 grammar). It also owns what the grammar alone does not say: how a malformed
// reply is read as far as it can be, where it ends, and what a line too long to
// frame does to the stream.
//
// Sans-I/O, modelled on Boost.Beast's basic_parser::put: the caller feeds octets
// and learns how many were consumed. put() stops right after the last octet of
// each item, so the octets after a reply are still the caller's: after a 220 to
// STARTTLS they are the plaintext that RFC 3207 4.2 says to discard, not replies.
// Errors are values; nothing throws, reads a socket or looks at a clock.
//
// Items. Each reply the server sends becomes exactly one item:
//   * reply           a well-formed reply (4.2, 4.2.1);
//   * malformed       a reply that breaks the grammar: the first error and its
//                     stream offset, the offending line, and the reply as far as
//                     it can be read (below). It still answers a command;
//   * frame_too_long  a line with no line end within max_line octets. Reported
//                     as soon as octet max_line + 1 of the line arrives, so an
//                     endless line costs at most max_line octets of memory.
// Every item carries the line notes of its own lines: a line ended by LF alone
// (2.3.8; only with lf_ends_line) and a line over 512 octets (4.5.3.1.5).
//
// Offsets are stream offsets: octets consumed since the reader was constructed
// (reset() keeps counting, so they stay offsets into the whole server side of a
// transcript). The items, their offsets and notes depend only on the octets, never
// on how they were split into put() calls (reply_reader_test's grind test).
//
// Reading a malformed reply. The reply's code is the first line's three digits
// when it starts with three digits (has_code), else 0 with has_code false. A code
// that was read is the server's even when its text is broken: 8-bit octets echoed
// in the text of a 250 leave a 250 with a text finding, not "reply code 0". The
// reply's lines are the text of each line read (after "NNN-" / "NNN " when the line
// has them, else the whole line), at most max_lines of them.
//
// Where a malformed reply ends (resynchronisation). After a malformed line the
// reader skips to the reply's last line, so that the next reply lines up with the
// next command:
//   * a malformed FIRST line ends the reply unless it starts with three digits and
//     "-": only "NNN-" announces continuation lines (4.2.1), so one stray line
//     answers one command;
//   * within a multi-line reply (a malformed later line, or the lines skipped
//     after a malformed "NNN-" line) the reply ends at the first line, the
//     malformed one included, that has the form of a last line: three digits then
//     SP or the end of the line (4.2.1: "The last line will begin with the reply
//     code, followed immediately by <SP>", which clients must be prepared to see
//     omitted; 4.2 Reply-line). Any other line (another "NNN-", a line
//     split by a stray LF, a line without a code, a changed code with "-") is
//     taken as part of the reply. A server that never sends that last line leaves
//     the reply open until put_eof().
// The code of the last line is not compared: a changed code is one of the errors
// a malformed reply may have.
//
// After frame_too_long the rest of that line is discarded up to its line end (CRLF,
// or a bare LF with lf_ends_line) without another item. If the line was not the
// reply's last line by the rules above (judged on its first octets), the
// following lines up to and including the last line are discarded too, without
// notes. The frame_too_long item stands for that whole reply: no other item
// follows for it, and the next octet after it begins a new reply.
//
// How the users read with it (one reader per connection and direction):
//   * the runner's case_run and the network fuzzer's session_player (through the
//     harness exchange): default options. Each item answers the next owed reply.
//     A note is a finding of its own (bare LF: 4.2 MUST; long line: 4.5.3.1.5
//     SHOULD). A malformed item gives one finding, "malformed reply: describe(
//     error.code)" at the RFC 5321 4.2 level, and fills the command's slot with
//     `reply` if has_code (its code is judged as usual) or as an unreadable reply
//     if not; never a second finding derived from code 0. frame_too_long is a
//     finding (4.5.3.1.5) and ends the session's judging. At close, put_eof() makes
//     a reply cut short a malformed (truncated_reply) item.
//   * the target probe (runner.cpp probe_session): default options; a malformed or
//     too-long item means "unparseable" (the cases report it), a reply is used.
//   * smtp_client (the good client): max_line 8192, allow_any_code off, strict
//     framing (lf_ends_line off); any item but a reply is a protocol error. After
//     a 220 to STARTTLS, put() has stopped at its end, so the octets the caller
//     still holds (plus buffered(), then 0) arrived behind the 220 and are
//     discarded (RFC 3207 4.2), then reset(their count).
//   * load_generator: max_line 512, allow_any_code off, strict framing; reads
//     item() in place without take(), so single-line replies allocate nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "smtpspec/reference/error.hpp"
#include "smtpspec/reference/line_reader.hpp"
#include "smtpspec/reference/reply.hpp"

namespace smtpspec::reference {

struct reply_reader_options {
  /// The frame bound: the longest line read, counting its line end. A longer
  /// line is frame_too_long. 4.5.3.1.5 allows 512; the default reads longer
  /// lines (and notes them) so that a long line is judged, not lost.
  std::size_t max_line = 64 * 1024;
  /// Bound on the lines of one reply (reply_parser_options::max_lines); a reply
  /// with more is malformed (too_many_reply_lines) and its further lines are
  /// skipped, not kept.
  std::size_t max_lines = 1000;
  /// Accept any three digits as a code (4.2 allows 2-5 and 0-5; out-of-range codes
  /// are then judged by the caller, not rejected here).
  bool allow_any_code = true;
  /// Accept well-formed UTF-8 in reply text (RFC 6531; RFC 3629 4), as
  /// reply_parser_options::allow_utf8.
  bool allow_utf8 = true;
  /// A LF without CR also ends a line, with a bare_lf note. Off, a bare LF stays
  /// inside the line (strict 2.3.8), where the text check rejects it.
  bool lf_ends_line = true;
};

/// Something about one line that is not a grammar error of the reply.
struct line_note {
  enum class kind : std::uint8_t {
    bare_lf,    ///< the line ended with LF alone (2.3.8; 4.2 replies end lines with CRLF)
    long_line,  ///< the line is longer than 512 octets with its line end (4.5.3.1.5)
  };
  kind what = kind::bare_lf;
  std::size_t offset = 0;  ///< stream offset of the line's first octet
  std::size_t length = 0;  ///< octets of the line, line end included (a bare LF is at offset + length - 1)
  friend bool operator==(const line_note&, const line_note&) = default;
};

struct reply_item {
  enum class kind : std::uint8_t {
    reply,           ///< a well-formed reply
    malformed,       ///< a reply that breaks 4.2; `error` says how, `reply` is its reading
    frame_too_long,  ///< a line exceeded max_line without a line end
  };
  kind what = kind::reply;
  /// The reply, or for the other kinds the reply as far as it could be read (see
  /// the header comment): for frame_too_long, the lines before the long one.
  ::smtpspec::reference::reply reply;
  /// The reply's code was read from its first line's three digits. Always true for
  /// a reply; when false, reply.code is 0 and means nothing.
  bool has_code = false;
  /// The first error: malformed, any reply error (truncated_reply from put_eof);
  /// frame_too_long, line_too_long at the first octet past max_line; reply, ok.
  /// The offset is a stream offset.
  parse_error error;
  /// malformed: the line with the first error, without its line end (for
  /// truncated_reply, the unfinished line, a trailing CR removed; may be empty).
  /// frame_too_long: the first max_line octets of the long line.
  std::string line;
  std::size_t offset = 0;  ///< stream offset of the reply's first octet
  std::size_t end = 0;     ///< stream offset just past the last octet read for this item
  /// Notes about this reply's lines, in stream order (at most 2 * max_lines).
  std::vector<line_note> notes;

  bool well_formed() const noexcept { return what == kind::reply; }
  friend bool operator==(const reply_item&, const reply_item&) = default;
};

class reply_reader {
 public:
  explicit reply_reader(reply_reader_options opt = {});

  /// Reads octets from the front of `input` and returns how many it consumed.
  /// It stops right after the last octet of an item (then ready() is true), or
  /// consumes all of `input` when no item ends in it (octets of an unfinished
  /// line are held, at most max_line of them). Any item still ready from before
  /// is dropped first: take() it, or use item() before calling put() again.
  /// Always retryable: the reader has no error state.
  std::size_t put(std::string_view input);

  /// The server's side of the connection ended. If a reply was under way (octets
  /// consumed with no item for them yet), it becomes a malformed item: its error
  /// is truncated_reply at the end of the stream, or the error it already had if
  /// it was being skipped to its last line. Returns ready(). Afterwards the reader
  /// starts afresh, as after reset().
  bool put_eof();

  /// An item is complete.
  bool ready() const noexcept { return ready_; }
  /// The complete item; valid while ready(), until the next put / put_eof / take / reset.
  const reply_item& item() const noexcept { return item_; }
  /// Moves the complete item out; ready() is false afterwards.
  reply_item take();

  /// Stream offset: octets consumed so far, plus those counted by reset().
  std::size_t offset() const noexcept { return offset_; }
  /// Some octets of a reply were consumed and its item is not complete yet.
  bool in_reply() const noexcept;
  /// Octets of an unfinished line held by the reader.
  std::size_t buffered() const noexcept { return lines_.buffered(); }

  /// Forgets any reply under way and any ready item (e.g. when TLS starts, RFC 3207
  /// 4.2) and counts `skipped` octets the caller dropped without reading them,
  /// so that stream offsets stay true. The options are kept.
  void reset(std::size_t skipped = 0);

 private:
  enum class phase : std::uint8_t {
    idle,      // between replies (the first line of the next may be partly buffered)
    multi,     // a well-formed multi-line reply under way in parser_
    resync,    // a malformed reply under way in item_: skipping to its last line
    discard,   // after frame_too_long: skipping to the abandoned reply's last line
  };
  void begin_item(std::size_t start);
  void finish(reply_item::kind k, std::size_t end);
  void add_notes(const line& l, std::size_t start);
  void add_text(std::string_view line_text);
  void read_code(std::string_view first_line);
  void on_line(const line& l, std::size_t start, std::size_t end);
  void on_too_long(std::string_view head, std::size_t start, std::size_t end);
  void malformed_line(std::string_view text, parse_error e, std::size_t start, bool first);

  reply_reader_options opt_;
  line_reader lines_;
  reply_parser parser_;
  reply_item item_;
  phase phase_ = phase::idle;
  bool ready_ = false;
  std::size_t offset_ = 0;
};

}  // namespace smtpspec::reference
