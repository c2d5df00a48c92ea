// SMTP replies: the grammar of RFC 5321 section 4.2 (Reply-line, Greeting), reply
// code classes (4.2.1), and RFC 3463 enhanced status codes as RFC 2034 places them
// at the start of each text line.
//
// reply_parser is sans-I/O and line-oriented: the caller frames lines (see
// line_reader.hpp) and feeds each line WITHOUT its CRLF. A reply owns its text,
// because replies outlive the network buffer they came from.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpspec/reference/error.hpp"

namespace smtpspec::reference {

/// RFC 3463 section 2: status-code = class "." subject "." detail.
struct enhanced_status {
  std::uint8_t klass = 0;     ///< 2, 4 or 5
  std::uint16_t subject = 0;  ///< 1 to 3 digits
  std::uint16_t detail = 0;   ///< 1 to 3 digits
  std::string to_string() const;
  friend bool operator==(const enhanced_status&, const enhanced_status&) = default;
};

/// Parses "X.Y.Z" at the start of `text`, followed by SP or the end. On success,
/// returns the status and sets `length` to the octets consumed (without the SP).
result<enhanced_status> parse_enhanced_status(std::string_view text, std::size_t* length = nullptr);

struct reply {
  std::uint16_t code = 0;
  /// Text of each line after "NNN " / "NNN-" (without the separator). A bare code
  /// gives an empty string for that line.
  std::vector<std::string> lines;
  /// The RFC 3463 code from the first line, if it carries one.
  std::optional<enhanced_status> status;

  int klass() const noexcept { return code / 100; }  ///< first digit (4.2.1)
  bool positive() const noexcept { return klass() == 2 || klass() == 3; }
  bool is_multiline() const noexcept { return lines.size() > 1; }
  /// Reassembles the wire form, each line ended by CRLF.
  std::string to_wire() const;
};

struct reply_parser_options {
  /// Bound on continuation lines, so an endless multi-line reply cannot exhaust memory.
  std::size_t max_lines = 1000;
  /// Bound on one line without CRLF (4.5.3.1.5: 512 including CRLF).
  std::size_t max_line_length = 510;
  /// Accept codes whose first digit is outside 2-5 (4.2: only with extensions).
  bool allow_any_code = false;
};

/// Incremental multi-line reply parser (4.2: "NNN-text" continues, "NNN text" or
/// "NNN" ends). After a complete reply or an error the parser is ready for the next.
class reply_parser {
 public:
  explicit reply_parser(reply_parser_options opt = {}) : opt_(opt) {}

  /// Feeds one line without CRLF. Returns error::need_more while the reply
  /// continues, error::ok when `take()` has a complete reply, or another error
  /// (offset relative to this line); after an error the partial reply is dropped.
  parse_error feed_line(std::string_view line);

  /// The completed reply (valid once after feed_line returned ok).
  reply take();

  /// True between the first and the last line of a multi-line reply.
  bool in_progress() const noexcept { return !current_.lines.empty(); }
  void reset();

 private:
  reply_parser_options opt_;
  reply current_;
};

/// Parses a complete reply given as wire text ("250-a\r\n250 b\r\n"). Every line
/// must end in CRLF; the text must hold exactly one reply.
result<reply> parse_reply(std::string_view wire, const reply_parser_options& opt = {});

/// Checks the 4.2 Greeting production on a 220 reply: the first line's text starts
/// with a Domain or address-literal.
parse_error check_greeting(const reply& r);

}  // namespace smtpspec::reference
