// Paths, mailboxes, domains and address literals: RFC 5321 sections 4.1.2 and 4.1.3,
// with the size limits of 4.5.3.1.1 to 4.5.3.1.3 and, when enabled, the UTF-8
// extensions of RFC 6531 section 3.3.
//
// Parsers return views into the caller's buffer; nothing is allocated.
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
  bool smtputf8 = false;
};

struct mailbox {
  std::string_view text;        ///< the whole Mailbox as written
  std::string_view local_part;  ///< as written; includes the quotes of a Quoted-string
  std::string_view host;        ///< domain, or address literal including "[" "]"
  host_kind kind = host_kind::domain;
  bool quoted = false;          ///< local part is a Quoted-string
  bool utf8 = false;            ///< contains non-ASCII (only possible with smtputf8)
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

}  // namespace smtpspec::reference
