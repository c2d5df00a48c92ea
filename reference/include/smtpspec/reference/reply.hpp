// SMTP replies: the grammar of RFC 5321 section 4.2 (Reply-line, Greeting), reply
// code classes (4.2.1), and RFC 3463 enhanced status codes as RFC 2034 places them
// at the start of each text line.
//
// reply_parser is sans-I/O and line-oriented: the caller frames lines (see
// line_reader.hpp) and feeds each line WITHOUT its CRLF. A reply owns its text,
// because replies outlive the network buffer they came from.
//
// Offsets. feed_line() reports offsets into the line it was given, parse_reply()
// into the wire text it was given. The checks that take a finished `reply`
// (check_greeting, check_enhanced_status, parse_ehlo_reply) report offsets into
// `r.to_wire()`, which for a parsed reply is the wire text the server sent, so
// one number names both the line and the octet.
#pragma once

#include <cstddef>
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
/// RFC 3463 section 2: class is "2" / "4" / "5", subject and detail are 1*3digit
/// without leading zeros ("0" itself is fine). Errors: bad_enhanced_status at the
/// first offending octet (a leading zero: the zero; a fourth digit: that digit).
result<enhanced_status> parse_enhanced_status(std::string_view text, std::size_t* length = nullptr);

struct reply {
  std::uint16_t code = 0;
  /// Text of each line after "NNN " / "NNN-" (without the separator). A bare code
  /// gives an empty string for that line.
  std::vector<std::string> lines;
  /// The RFC 3463 code from the first line, if it carries a well-formed one. Set
  /// whether or not its class matches the code (check_enhanced_status judges that).
  std::optional<enhanced_status> status;
  /// The last line was the code alone WITHOUT the SP ("250" CRLF). 4.2: servers
  /// SHOULD send the SP when no text follows, clients MUST accept its absence.
  /// Kept so that to_wire() reproduces the wire exactly ("250" vs "250 ").
  bool missing_sp = false;
  /// Some line holds octets >= 0x80 (possible only with reply_parser_options::allow_utf8).
  bool utf8 = false;

  int klass() const noexcept { return code / 100; }  ///< first digit (4.2.1)
  bool positive() const noexcept { return klass() == 2 || klass() == 3; }
  bool is_multiline() const noexcept { return lines.size() > 1; }
  /// A bare code (4.2: "senders SHOULD NOT send bare codes"): the last line has no
  /// text, with or without the trailing SP ("250" or "250 ").
  bool bare() const noexcept { return lines.empty() || lines.back().empty(); }
  /// Reassembles the wire form, each line ended by CRLF. An empty `lines` is
  /// written as one line without text. `code` must be below 1000.
  std::string to_wire() const;
  /// Offset in to_wire() of the first octet of line `i`'s text (just after
  /// "NNN-" / "NNN ", or after "NNN" for a last line with missing_sp).
  std::size_t text_offset(std::size_t i) const noexcept;

  friend bool operator==(const reply&, const reply&) = default;
};

struct reply_parser_options {
  /// Bound on the lines of one reply (the last line included), so an endless
  /// multi-line reply cannot exhaust memory.
  std::size_t max_lines = 1000;
  /// Bound on one line without CRLF (4.5.3.1.5: 512 including CRLF).
  std::size_t max_line_length = 510;
  /// Accept codes whose first digit is outside 2-5 (4.2: only with extensions).
  /// Any three digits are then accepted, including second digits 6-9.
  bool allow_any_code = false;
  /// Accept UTF-8 in reply text. Off (the default), the 4.2 textstring
  /// (%d09 / %d32-126) is enforced and any octet >= 0x80 is bad_reply_text. On, for
  /// sessions where SMTPUTF8 (RFC 6531) is in use, octets >= 0x80 must form
  /// well-formed UTF-8 (RFC 3629 section 4), else bad_utf8; reply::utf8 is set.
  bool allow_utf8 = false;
};

/// Incremental multi-line reply parser (4.2: "NNN-text" continues, "NNN text" or
/// "NNN" ends). After a complete reply or an error the parser is ready for the next.
///
/// Checks, in this order: the line bound (line_too_long, offset max_line_length),
/// Reply-code (bad_reply_code / reply_code_out_of_range), separator
/// (bad_reply_separator; a fourth digit is bad_reply_code), same code as the first
/// line (reply_code_changed, offset 0), the line-count bound (too_many_reply_lines,
/// offset 0), textstring (bad_reply_text / bad_utf8 at the octet).
class reply_parser {
 public:
  explicit reply_parser(reply_parser_options opt = {}) : opt_(opt) {}

  /// Feeds one line without CRLF. Returns error::need_more while the reply
  /// continues, error::ok when `take()` has a complete reply, or another error
  /// (offset relative to this line). After an error the parser is ready for a new
  /// reply; until the next feed_line, peek() / take(reply&) still give the lines
  /// accepted before the failing one (reply_reader.hpp builds its reading of a
  /// malformed reply from them).
  parse_error feed_line(std::string_view line);

  /// The completed reply (valid once after feed_line returned ok).
  reply take();
  /// Moves the completed reply (or, after an error or while a reply is in
  /// progress, the lines accepted so far) into `out`, and keeps `out`'s old
  /// storage for the next reply, so a reader that swaps back and forth allocates
  /// nothing per single-line reply. The parser is then ready for a new reply.
  void take(reply& out) noexcept;
  /// The completed reply without taking it: valid after feed_line returned ok and
  /// until the next feed_line, take or reset. The parser then reuses its storage,
  /// so a loop of feed_line + peek parses single-line replies without allocating.
  const reply& peek() const noexcept { return current_; }

  /// True between the first and the last line of a multi-line reply.
  bool in_progress() const noexcept { return state_ == state::in_reply; }
  void reset();

 private:
  enum class state : std::uint8_t { idle, in_reply, complete };
  struct line_head;
  parse_error check_line(std::string_view line, line_head& head) const;
  void store_line(std::string_view text);

  reply_parser_options opt_;
  reply current_;
  state state_ = state::idle;
};

/// Parses a complete reply given as wire text ("250-a\r\n250 b\r\n"). Every line
/// must end in CRLF; the text must hold exactly one reply. Errors, with offsets
/// into `wire`: those of feed_line; bare_lf (a LF without CR), bare_cr (a CR not
/// followed by LF inside a line); truncated_reply (at wire.size()) when the input
/// ends before the final line's CRLF; trailing_characters after the reply.
result<reply> parse_reply(std::string_view wire, const reply_parser_options& opt = {});

/// Checks the 4.2 Greeting production on a 220 reply: the first line's text starts
/// with a Domain or address-literal, followed by SP or the end of the line (a
/// single trailing SP is tolerated). The other lines are Reply-line text, already
/// checked by the parser. Any code other than 220 is bad_greeting at offset 0 (a
/// 554 or 421 at connection time is a Reply-line, not a Greeting; 4.3.2).
/// Errors: bad_greeting, offset into r.to_wire().
parse_error check_greeting(const reply& r);

/// RFC 2034 section 4, for sessions where ENHANCEDSTATUSCODES was advertised: every
/// line of a 2xx, 4xx or 5xx reply starts with a status code (followed by SP or the
/// end of the line) whose class is the reply code's first digit. 3xx replies are
/// exempt (RFC 2034) and pass, as do codes outside 2-5. The caller must not apply
/// this to the greeting or to the reply to HELO/EHLO, which RFC 2034 also exempts.
/// With `require_same`, every line must carry the first line's status (RFC 2034
/// does not say so; servers do it, and a differing status is suspicious).
/// Errors, offset into r.to_wire(): bad_enhanced_status (missing, malformed or,
/// with require_same, different), enhanced_status_class_mismatch (at the class).
parse_error check_enhanced_status(const reply& r, bool require_same = true);

namespace detail {
/// Internal, shared by reply.cpp and extensions.cpp: a minimal check that the whole
/// of `host` is a Domain (4.1.2: sub-domain *("." sub-domain), at most 255 octets,
/// 4.5.3.1.2) or, with `allow_literal`, an address-literal (4.1.3; IPv4 checked
/// fully, IPv6 and General literals only for their character sets). Returns
/// bad_domain / domain_too_long / bad_address_literal with the offset in `host`.
/// To be replaced by address.hpp's parse_domain / parse_address_literal.
parse_error check_host(std::string_view host, bool allow_literal) noexcept;
}  // namespace detail

}  // namespace smtpspec::reference
