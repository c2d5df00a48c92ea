// The network fuzzer's input: one SMTP session as a list of client actions, in a
// line-based text form that is readable in a seed or a reproducer and total to
// decode (any octets decode to some session; what does not parse is skipped).
//
//   # a comment
//   cmd EHLO client.example.test          a command line; CRLF appended
//   cmd[eol=lf] NOOP                      ... ended by a bare LF instead (crlf, lf, cr, none)
//   +cmd RCPT TO:<user@example.test>      '+': same write as the previous action (pipelining)
//   raw MAIL FROM:<a@b>\r\nRSET\r\n        octets exactly as given
//   data[end=lf.lf] Subject: x\r\n\r\nhi    mail data, dot-stuffed after CRLF, then the end
//                                         sequence (crlf.crlf, lf.lf, cr.cr, crlf.lf, lf.crlf,
//                                         crlf.cr, cr.crlf, lf.cr, cr.lf, none); nostuff: as is
//   bdat[last] Subject: x\r\n\r\nhi        "BDAT <size> [LAST]" CRLF and the chunk, one write;
//   bdat[size=100] abc                    a declared size other than the chunk's length
//   starttls MAIL FROM:<x>\r\n             "STARTTLS" CRLF plus plaintext queued behind it (RFC 3207
//                                         injection); the player follows a 220 into TLS
//   pause 20                              milliseconds (at most 100) before the next write
//   close                                 half-close; the session ends once the server closes
//
// Payload escapes: \\ \r \n \t \0 \xHH, and \{N} repeats the previous octet N more times
// (so a 1000-octet line stays one short line of text). Any other backslash is literal.
// encode() writes the canonical form: every octet outside printable ASCII escaped,
// runs of more than 12 equal octets compressed, a trailing blank escaped.
//
// Groups: an action without '+' starts a write group; the player writes a group's
// octets in one write (a `pause` inside a group splits it into timed writes), then
// reads the replies the strict framing says are owed before the next group.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtpspec::fuzz {

enum class action_kind : std::uint8_t { command, raw, data, bdat, starttls, pause, close };
std::string_view to_string(action_kind k) noexcept;

/// How a `cmd` line ends (RFC 5321 2.3.8 allows only CRLF).
enum class line_end : std::uint8_t { crlf, lf, cr, none };
std::string_view to_string(line_end e) noexcept;

/// The sequence written after mail data. crlf_dot_crlf is the real end (4.1.1.4);
/// the others are the look-alikes of data_transparency.hpp; none writes nothing.
enum class data_end : std::uint8_t {
  crlf_dot_crlf,
  lf_dot_lf,
  cr_dot_cr,
  crlf_dot_lf,
  lf_dot_crlf,
  crlf_dot_cr,
  cr_dot_crlf,
  lf_dot_cr,
  cr_dot_lf,
  none,
  count_
};
inline constexpr std::size_t data_end_count = static_cast<std::size_t>(data_end::count_);
std::string_view to_string(data_end e) noexcept;  ///< "crlf.crlf", "lf.lf", ...
std::string_view wire_of(data_end e) noexcept;    ///< "\r\n.\r\n", "\n.\n", ...

/// Bounds that keep every decoded session cheap to play.
struct session_limits {
  static constexpr std::size_t max_actions = 96;
  static constexpr std::size_t max_payload = 32 * 1024;  ///< one action's text, decoded
  static constexpr std::size_t max_wire = 96 * 1024;     ///< the whole session's octets
  static constexpr std::uint32_t max_pause_ms = 100;
  static constexpr std::uint32_t max_total_pause_ms = 300;
  static constexpr std::uint64_t max_bdat_size = 64 * 1024;  ///< a declared size
};

struct action {
  action_kind kind = action_kind::command;
  bool glued = false;  ///< written with the previous action, without reading replies in between

  // command: the line is verb [SP argument]
  std::string verb;           ///< as written ("EHLO", "ehlo", "XFOO", "" for an empty line)
  bool has_argument = false;  ///< a SP follows the verb (argument may then be empty)
  line_end eol = line_end::crlf;

  /// command: the argument; raw: the octets; data: the content (unstuffed);
  /// bdat: the chunk; starttls: the octets queued behind "STARTTLS" CRLF.
  std::string text;

  data_end end = data_end::crlf_dot_crlf;  ///< data
  bool stuff = true;                       ///< data: dot-stuff after CRLF (4.5.2)
  std::optional<std::uint64_t> bdat_size;  ///< bdat: declared size (default: chunk length)
  bool bdat_last = false;                  ///< bdat
  std::uint32_t pause_ms = 0;              ///< pause

  /// command: verb [SP argument], without the line end.
  std::string line() const;
  /// The octets this action writes (empty for pause and close).
  std::string wire() const;

  friend bool operator==(const action&, const action&) = default;
};

struct session_input {
  std::vector<action> actions;
  friend bool operator==(const session_input&, const session_input&) = default;
};

/// Decodes the text form. Total: never fails; unknown lines are skipped, limits
/// applied (actions beyond max_actions or max_wire are dropped, pauses clamped,
/// the first action is never glued).
session_input decode(std::string_view text);
/// The canonical text form; decode(encode(s)) == s for every decoded s.
std::string encode(const session_input& s);
/// Applies the limits of decode() to a session built or mutated in memory.
void normalise(session_input& s);

/// Payload escaping of the text form (exposed for tests and the converter).
std::string escape_payload(std::string_view octets);
std::string unescape_payload(std::string_view text);

/// Builders for code that makes sessions (tests, the mutator's templates).
action make_command(std::string_view line, line_end eol = line_end::crlf, bool glued = false);
action make_raw(std::string_view octets, bool glued = false);
action make_data(std::string_view content, data_end end = data_end::crlf_dot_crlf, bool glued = false);
action make_bdat(std::string_view chunk, bool last, std::optional<std::uint64_t> size = std::nullopt);
action make_starttls(std::string_view injected = {});
action make_pause(std::uint32_t ms);
action make_close();

}  // namespace smtpspec::fuzz
