// Paths, mailboxes, domains and address literals: RFC 5321 sections 4.1.2 and 4.1.3,
// with the size limits of 4.5.3.1.1 to 4.5.3.1.3 and, when enabled, the UTF-8
// extensions of RFC 6531 section 3.3.
//
// Parsers return views into the caller's buffer; nothing is allocated.
//
// Errors carry the offset (into the input given) of the first octet that does not
// fit. Octets that fit nowhere are classified: NUL is nul_octet, other controls
// (0x01-0x1F, 0x7F) control_character, octets >= 0x80 where only ASCII is allowed
// eight_bit_octet; other misfits get the error of the production they broke. When a
// size limit and a syntax error both apply, the one reached first wins: an object
// whose first max+1 octets fit the grammar is too long, whatever follows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "smtpspec/reference/error.hpp"

namespace smtpspec::reference {

/// Size limits of RFC 5321 4.5.3.1 (octets).
inline constexpr std::size_t max_local_part = 64;    // 4.5.3.1.1
inline constexpr std::size_t max_domain = 255;       // 4.5.3.1.2
inline constexpr std::size_t max_path = 256;         // 4.5.3.1.3, including "<" and ">"
inline constexpr std::size_t max_command_line = 512; // 4.5.3.1.4, including CRLF
inline constexpr std::size_t max_reply_line = 512;   // 4.5.3.1.5, including CRLF
inline constexpr std::size_t max_text_line = 1000;   // 4.5.3.1.6, including CRLF

enum class host_kind : std::uint8_t {
  domain,           ///< Domain (4.1.2)
  ipv4_literal,     ///< "[" IPv4-address-literal "]" (4.1.3)
  ipv6_literal,     ///< "[IPv6:" IPv6-addr "]" (4.1.3)
  general_literal,  ///< "[" Standardized-tag ":" 1*dcontent "]" (4.1.3)
};

struct address_options {
  /// RFC 6531 section 3.3: allow UTF-8 (UTF8-non-ascii) in local parts and
  /// domain labels (U-labels). Off: any octet >= 0x80 is eight_bit_octet.
  /// Only well-formed UTF-8 (RFC 3629 section 4) passes; anything else is bad_utf8.
  bool smtputf8 = false;
  /// Leniency (command.hpp leniency::eight_bit): where smtputf8 would allow
  /// UTF8-non-ascii, accept any octet >= 0x80 instead, without checking UTF-8.
  /// Ignored when smtputf8 is set (then UTF-8 must be well-formed).
  bool allow_8bit = false;
  /// Leniency (command.hpp leniency::missing_angle_brackets): parse_path also
  /// accepts `[ A-d-l ":" ] Mailbox` (or "Postmaster") without "<" ">", ending at
  /// SP or the end of the input; its limit is then max_path - 2.
  bool allow_missing_brackets = false;
};

struct mailbox {
  std::string_view text;        ///< the whole Mailbox as written
  std::string_view local_part;  ///< as written; includes the quotes of a Quoted-string
  std::string_view host;        ///< domain, or address literal including "[" "]"
  host_kind kind = host_kind::domain;
  bool quoted = false;          ///< local part is a Quoted-string
  bool utf8 = false;            ///< contains octets >= 0x80 (smtputf8 or allow_8bit only)
};

struct path {
  std::string_view text;          ///< "<...>" as written
  std::string_view source_route;  ///< A-d-l without the trailing ":" (empty if none)
  mailbox box;                    ///< empty for the null path and for <postmaster>
  bool null = false;              ///< "<>" (Reverse-path only, 4.1.1.2 / 4.5.5)
  bool postmaster = false;        ///< "<Postmaster>" without domain (4.1.1.3), case-insensitive
};

/// Domain = sub-domain *("." sub-domain); at most 255 octets. The whole of `in`
/// must be the domain. With smtputf8, labels may be U-labels (RFC 6531 3.3).
result<std::string_view> parse_domain(std::string_view in, const address_options& opt = {});

/// address-literal = "[" ( IPv4 / "IPv6:" IPv6-addr / General ) "]" (4.1.3). The
/// whole of `in` must be the literal, including the brackets.
result<host_kind> parse_address_literal(std::string_view in);

/// Mailbox = Local-part "@" ( Domain / address-literal ); the whole of `in`.
result<mailbox> parse_mailbox(std::string_view in, const address_options& opt = {});

/// Parses a Path (or "<>" when `allow_null`, or "<Postmaster>" when
/// `allow_postmaster`) at the start of `in`. On success `path.text` is the prefix of
/// `in` that was consumed; the caller looks at what follows.
result<path> parse_path(std::string_view in, bool allow_null, bool allow_postmaster,
                        const address_options& opt = {});

/// parse_path() filling `out` (which must be default-constructed) in place:
/// returns {error::ok, 0} on success. For hot paths (parse_command) that should not
/// copy a path through a result<>.
parse_error parse_path_into(std::string_view in, bool allow_null, bool allow_postmaster,
                            const address_options& opt, path& out) noexcept;

/// Local-part = Dot-string / Quoted-string (4.1.2) at the start of `in`, at most 64
/// octets as written (4.5.3.1.1). Returns the consumed prefix; the caller looks at
/// what follows. Errors: bad_local_part, bad_quoted_string, local_part_too_long,
/// and the octet-level errors.
result<std::string_view> parse_local_part(std::string_view in, const address_options& opt = {});

/// String = Atom / Quoted-string (4.1.2; the argument of VRFY, EXPN, HELP, NOOP) at
/// the start of `in`. Returns the consumed prefix. A malformed Atom is reported as
/// bad_local_part (Atom is the production Dot-string is built from), a malformed
/// Quoted-string as bad_quoted_string.
result<std::string_view> parse_string(std::string_view in, const address_options& opt = {});

}  // namespace smtpspec::reference
