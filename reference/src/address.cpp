// Paths, mailboxes, domains and address literals.
//
// Implements:
//   RFC 5321 4.1.2   Reverse-path, Forward-path, Path, A-d-l, At-domain, Mailbox,
//                    Local-part, Dot-string, Atom, Quoted-string, QcontentSMTP,
//                    qtextSMTP, quoted-pairSMTP, String, Domain, sub-domain,
//                    Let-dig, Ldh-str
//   RFC 5321 4.1.3   address-literal: IPv4-address-literal (Snum 0-255),
//                    IPv6-address-literal (IPv6-full, IPv6-comp, IPv6v4-full,
//                    IPv6v4-comp with the group-count comments),
//                    General-address-literal (Standardized-tag ":" 1*dcontent)
//   RFC 5321 4.1.1.3 "<Postmaster>", case-insensitive
//   RFC 5321 4.5.3.1.1 to 4.5.3.1.3  local part 64, domain 255, path 256 octets
//   RFC 5322 3.2.3   atext
//   RFC 6531 3.3     atext, qtextSMTP and sub-domain (U-label) extended by
//                    UTF8-non-ascii; UTF-8 per RFC 3629 section 4
//
// Decisions where the grammar leaves room:
//   * "IPv6" is also a valid Standardized-tag, so "[IPv6:junk]" would match
//     General-address-literal. The tag is registered for the IPv6 syntax (4.1.3:
//     tags are "registered with IANA"), so an "IPv6:" literal (tag compared
//     case-insensitively, as ABNF strings are) must be a valid IPv6-addr.
//   * IPv6-comp and IPv6v4-comp are held to their comments: at most 6 (resp. 4)
//     groups besides the "::", counting both sides together.
//   * The domain limit (255, "a domain name or number") also bounds literals.
//   * A U-label is checked as a label of Let-dig, "-" and well-formed UTF-8 with no
//     leading or trailing hyphen; IDNA2008 validity (NFC, code point tables, bidi,
//     RFC 5891) is out of scope for a syntax oracle.
//   * The local-part limit counts the octets as written (quotes and backslashes
//     included); a path without brackets (leniency) is held to 256 - 2.
#include "smtpspec/reference/address.hpp"

#include <array>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reference {
namespace {

// --- character classes (table-driven: one load per octet) ----------------------
enum : std::uint8_t {
  k_letdig = 1u << 0,    // Let-dig = ALPHA / DIGIT
  k_ldh = 1u << 1,       // ALPHA / DIGIT / "-"
  k_hex = 1u << 2,       // HEXDIG
  k_digit = 1u << 3,     // DIGIT
  k_atext = 1u << 4,     // RFC 5322 3.2.3 atext
  k_qtext = 1u << 5,     // qtextSMTP %d32-33 / %d35-91 / %d93-126
  k_dcontent = 1u << 6,  // dcontent %d33-90 / %d94-126
  k_qpair = 1u << 7,     // the octet after "\" in quoted-pairSMTP: %d32-126
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit) v |= k_letdig | k_ldh | k_atext;
    if (c == '-') v |= k_ldh;
    if (digit || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f')) v |= k_hex;
    if (digit) v |= k_digit;
    for (char s : std::string_view("!#$%&'*+-/=?^_`{|}~"))
      if (c == static_cast<unsigned char>(s)) v |= k_atext;
    if ((c >= 32 && c <= 33) || (c >= 35 && c <= 91) || (c >= 93 && c <= 126)) v |= k_qtext;
    if ((c >= 33 && c <= 90) || (c >= 94 && c <= 126)) v |= k_dcontent;
    if (c >= 32 && c <= 126) v |= k_qpair;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}
constexpr auto k_classes = make_classes();

constexpr bool is(unsigned char c, std::uint8_t cls) noexcept { return (k_classes[c] & cls) != 0; }

// --- a cursor over the input ---------------------------------------------------
struct cursor {
  const unsigned char* s;
  std::size_t pos;
  std::size_t end;

  bool done() const noexcept { return pos >= end; }
  unsigned char cur() const noexcept { return s[pos]; }
  bool at(unsigned char c) const noexcept { return pos < end && s[pos] == c; }
  std::string_view view(std::size_t from, std::size_t to) const noexcept {
    return {reinterpret_cast<const char*>(s) + from, to - from};
  }
};

cursor make_cursor(std::string_view in) noexcept {
  return {reinterpret_cast<const unsigned char*>(in.data()), 0, in.size()};
}

/// Whether UTF8-non-ascii (RFC 6531 3.3) or raw 8-bit octets (leniency) may appear.
bool non_ascii_ok(const address_options& o) noexcept { return o.smtputf8 || o.allow_8bit; }

/// The error for an octet that fits nowhere: octet-level classes first (NUL,
/// controls, 8-bit where only ASCII is allowed), else the production's own error.
error misfit(unsigned char c, error fallback, bool eight_ok) noexcept {
  if (c == 0) return error::nul_octet;
  if (c < 0x20 || c == 0x7f) return error::control_character;
  if (c >= 0x80 && !eight_ok) return error::eight_bit_octet;
  return fallback;
}

/// misfit() at the cursor; at the end of the input the production's own error.
error misfit_at(const cursor& c, error fallback, bool eight_ok) noexcept {
  return c.done() ? fallback : misfit(c.cur(), fallback, eight_ok);
}

/// At an octet >= 0x80 where RFC 6531 3.3 allows UTF8-non-ascii: consume one
/// character (or, leniently, one raw octet). On failure the cursor is left at the
/// offending octet: eight_bit_octet when no 8-bit is allowed, bad_utf8 when the
/// sequence is malformed.
error take_non_ascii(cursor& c, const address_options& o) noexcept {
  if (o.smtputf8) {
    const utf8_char u = decode_utf8(c.view(c.pos, c.end));
    if (u.length == 0) {
      c.pos += u.bad;
      return error::bad_utf8;
    }
    c.pos += u.length;
    return error::ok;
  }
  if (o.allow_8bit) {
    ++c.pos;
    return error::ok;
  }
  return error::eight_bit_octet;
}

/// Applies a size limit of 4.5.3.1 to the object that started at `start`: if the
/// parse got past octet number `max` (successfully or not), the octet at
/// start + max is the first that does not fit, and the object is too long.
error limit(cursor& c, std::size_t start, std::size_t max, error e, error too_long) noexcept {
  if (c.pos - start > max) {
    c.pos = start + max;
    return too_long;
  }
  return e;
}

// --- Local-part (4.1.2) --------------------------------------------------------

/// Atom = 1*atext (RFC 5322 3.2.3; RFC 6531 3.3 adds UTF8-non-ascii).
error scan_atom(cursor& c, const address_options& o, bool& non_ascii) noexcept {
  const std::size_t from = c.pos;
  while (!c.done()) {
    const unsigned char ch = c.cur();
    if (is(ch, k_atext)) {
      ++c.pos;
      continue;
    }
    if (ch < 0x80) break;
    const error e = take_non_ascii(c, o);
    if (e != error::ok) return e;
    non_ascii = true;
  }
  if (c.pos == from) return misfit_at(c, error::bad_local_part, non_ascii_ok(o));
  return error::ok;
}

/// Dot-string = Atom *("." Atom).
error scan_dot_string(cursor& c, const address_options& o, bool& non_ascii) noexcept {
  for (;;) {
    const error e = scan_atom(c, o, non_ascii);
    if (e != error::ok) return e;
    if (!c.at('.')) return error::ok;
    ++c.pos;
  }
}

/// Quoted-string = DQUOTE *QcontentSMTP DQUOTE; QcontentSMTP = qtextSMTP /
/// quoted-pairSMTP; quoted-pairSMTP = %d92 %d32-126 (not extended by RFC 6531).
error scan_quoted_string(cursor& c, const address_options& o, bool& non_ascii) noexcept {
  const bool eight = non_ascii_ok(o);
  ++c.pos;  // DQUOTE
  for (;;) {
    if (c.done()) return error::bad_quoted_string;  // unterminated
    const unsigned char ch = c.cur();
    if (is(ch, k_qtext)) {
      ++c.pos;
    } else if (ch == '"') {
      ++c.pos;
      return error::ok;
    } else if (ch == '\\') {
      ++c.pos;
      if (c.done()) return error::bad_quoted_string;
      if (!is(c.cur(), k_qpair)) return misfit(c.cur(), error::bad_quoted_string, eight);
      ++c.pos;
    } else if (ch >= 0x80) {
      const error e = take_non_ascii(c, o);
      if (e != error::ok) return e;
      non_ascii = true;
    } else {
      return misfit(ch, error::bad_quoted_string, eight);
    }
  }
}

/// Local-part = Dot-string / Quoted-string, at most 64 octets (4.5.3.1.1).
error scan_local_part(cursor& c, const address_options& o, bool& non_ascii, bool& quoted) noexcept {
  const std::size_t start = c.pos;
  quoted = c.at('"');
  const error e = quoted ? scan_quoted_string(c, o, non_ascii) : scan_dot_string(c, o, non_ascii);
  return limit(c, start, max_local_part, e, error::local_part_too_long);
}

// --- Domain (4.1.2) --------------------------------------------------------------

/// sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str], Ldh-str =
/// *( ALPHA / DIGIT / "-" ) Let-dig: no leading or trailing hyphen, no underscore.
/// With SMTPUTF8 a label may be a U-label (RFC 6531 3.3). Stops at the first octet
/// that cannot continue the domain; a label must end with a Let-dig.
error scan_labels(cursor& c, const address_options& o, bool& non_ascii) noexcept {
  const bool eight = non_ascii_ok(o);
  for (;;) {
    if (c.done()) return error::bad_domain;  // empty domain or label after "."
    unsigned char ch = c.cur();
    if (is(ch, k_letdig)) {
      ++c.pos;
    } else if (ch >= 0x80 && eight) {
      const error e = take_non_ascii(c, o);
      if (e != error::ok) return e;
      non_ascii = true;
    } else {
      return misfit(ch, error::bad_domain, eight);
    }
    bool hyphen = false;
    while (!c.done()) {
      ch = c.cur();
      if (is(ch, k_ldh)) {
        hyphen = ch == '-';
        ++c.pos;
      } else if (ch >= 0x80 && eight) {
        const error e = take_non_ascii(c, o);
        if (e != error::ok) return e;
        non_ascii = true;
        hyphen = false;
      } else {
        break;
      }
    }
    if (hyphen) return misfit_at(c, error::bad_domain, eight);  // Ldh-str ends with Let-dig
    if (!c.at('.')) return error::ok;
    ++c.pos;
  }
}

/// Domain, at most 255 octets (4.5.3.1.2).
error scan_domain(cursor& c, const address_options& o, bool& non_ascii) noexcept {
  const std::size_t start = c.pos;
  const error e = scan_labels(c, o, non_ascii);
  return limit(c, start, max_domain, e, error::domain_too_long);
}

// --- address literals (4.1.3) ----------------------------------------------------

/// IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, value 0 through 255.
error scan_ipv4(cursor& c) noexcept {
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (!c.at('.')) return misfit_at(c, error::bad_address_literal, false);
      ++c.pos;
    }
    if (c.done() || !is(c.cur(), k_digit)) return misfit_at(c, error::bad_address_literal, false);
    unsigned value = 0;
    int digits = 0;
    while (!c.done() && is(c.cur(), k_digit)) {
      if (digits == 3) return error::bad_address_literal;  // 1*3DIGIT
      value = value * 10 + static_cast<unsigned>(c.cur() - '0');
      if (value > 255) return error::bad_address_literal;  // "0 through 255"
      ++c.pos;
      ++digits;
    }
  }
  return error::ok;
}

/// IPv6-addr = IPv6-full / IPv6-comp / IPv6v4-full / IPv6v4-comp, with IPv6-hex =
/// 1*4HEXDIG. Full forms have 8 groups (6 before an IPv4 tail); a "::" stands for at
/// least 2 groups, so besides it at most 6 groups (4 before an IPv4 tail) appear.
/// Fails at the first octet that no form can continue.
error scan_ipv6(cursor& c) noexcept {
  int left = 0;   // groups before "::" (all groups when there is none)
  int right = 0;  // groups after "::"
  bool compressed = false;
  bool need_group = true;
  if (c.at(':')) {
    if (c.pos + 1 < c.end && c.s[c.pos + 1] == ':') {
      compressed = true;
      need_group = false;
      c.pos += 2;
    } else {
      ++c.pos;  // a lone leading ":" fits no form
      return misfit_at(c, error::bad_address_literal, false);
    }
  }
  for (;;) {
    if (c.done() || !is(c.cur(), k_hex)) {
      if (need_group) return misfit_at(c, error::bad_address_literal, false);
      break;
    }
    const int groups = left + right;
    if (compressed && groups >= 6) return error::bad_address_literal;  // no room left
    std::size_t q = c.pos;
    bool decimal = true;
    while (q < c.end && is(c.s[q], k_hex)) {
      decimal = decimal && is(c.s[q], k_digit);
      ++q;
    }
    const std::size_t length = q - c.pos;
    if (length > 4) {  // IPv6-hex = 1*4HEXDIG
      c.pos += 4;
      return error::bad_address_literal;
    }
    if (q < c.end && c.s[q] == '.') {
      // An IPv4-address-literal tail: IPv6v4-full after exactly 6 groups,
      // IPv6v4-comp after at most 4 besides the "::".
      const bool room = compressed ? groups <= 4 : groups == 6;
      if (!decimal || length > 3 || !room) {
        c.pos = q;
        return error::bad_address_literal;
      }
      return scan_ipv4(c);  // nothing may follow it
    }
    c.pos = q;
    if (compressed)
      ++right;
    else
      ++left;
    if (!c.at(':')) break;
    if (c.pos + 1 < c.end && c.s[c.pos + 1] == ':') {
      if (compressed || left > 6) {  // one "::" only; at most 6 groups before it
        ++c.pos;
        return error::bad_address_literal;
      }
      compressed = true;
      need_group = false;
      c.pos += 2;
      continue;
    }
    if (compressed ? left + right >= 6 : left >= 8) return error::bad_address_literal;  // at ":"
    ++c.pos;
    need_group = true;
  }
  if (!compressed && left != 8) return misfit_at(c, error::bad_address_literal, false);
  return error::ok;
}

/// address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]". General-address-literal = Standardized-tag ":"
/// 1*dcontent with Standardized-tag = Ldh-str.
error scan_address_literal(cursor& c, host_kind& kind) noexcept {
  const std::size_t start = c.pos;
  ++c.pos;  // "["
  const std::size_t tag = c.pos;
  while (!c.done() && is(c.cur(), k_ldh)) ++c.pos;
  error e = error::ok;
  if (c.pos > tag && c.at(':')) {
    if (c.s[c.pos - 1] == '-') {  // Ldh-str ends with a Let-dig
      e = error::bad_address_literal;
    } else if (iequals(c.view(tag, c.pos), "IPv6")) {
      ++c.pos;
      kind = host_kind::ipv6_literal;
      e = scan_ipv6(c);
    } else {
      ++c.pos;
      kind = host_kind::general_literal;
      const std::size_t content = c.pos;
      while (!c.done() && is(c.cur(), k_dcontent)) ++c.pos;
      if (c.pos == content) e = misfit_at(c, error::bad_address_literal, false);
    }
  } else {
    c.pos = tag;
    kind = host_kind::ipv4_literal;
    e = scan_ipv4(c);
  }
  if (e == error::ok) {
    if (c.at(']'))
      ++c.pos;
    else
      e = misfit_at(c, error::bad_address_literal, false);
  }
  return limit(c, start, max_domain, e, error::domain_too_long);
}

/// Domain / address-literal.
error scan_host(cursor& c, const address_options& o, host_kind& kind, bool& non_ascii) noexcept {
  if (c.at('[')) return scan_address_literal(c, kind);
  kind = host_kind::domain;
  return scan_domain(c, o, non_ascii);
}

// --- Mailbox and Path (4.1.2) ------------------------------------------------------

/// Mailbox = Local-part "@" ( Domain / address-literal ).
error scan_mailbox(cursor& c, const address_options& o, mailbox& box) noexcept {
  const std::size_t start = c.pos;
  bool non_ascii = false;
  bool quoted = false;
  error e = scan_local_part(c, o, non_ascii, quoted);
  if (e != error::ok) return e;
  const std::size_t at_sign = c.pos;
  if (!c.at('@')) return misfit_at(c, quoted ? error::bad_quoted_string : error::bad_local_part, non_ascii_ok(o));
  ++c.pos;
  const std::size_t host = c.pos;
  host_kind kind = host_kind::domain;
  e = scan_host(c, o, kind, non_ascii);
  if (e != error::ok) return e;
  box.text = c.view(start, c.pos);
  box.local_part = c.view(start, at_sign);
  box.host = c.view(host, c.pos);
  box.kind = kind;
  box.quoted = quoted;
  box.utf8 = non_ascii;
  return error::ok;
}

/// A-d-l = At-domain *( "," At-domain ); At-domain = "@" Domain. The obsolete
/// source route MUST be accepted (4.1.2, Appendix C, F.2). Leaves the cursor at ":".
error scan_route(cursor& c, const address_options& o) noexcept {
  bool non_ascii = false;
  for (;;) {
    ++c.pos;  // "@"
    const error e = scan_domain(c, o, non_ascii);
    if (e == error::bad_domain) return error::bad_source_route;
    if (e != error::ok) return e;
    if (!c.at(',')) break;
    ++c.pos;
    if (!c.at('@')) return misfit_at(c, error::bad_source_route, false);
  }
  if (!c.at(':')) return misfit_at(c, error::bad_source_route, non_ascii_ok(o));
  return error::ok;
}

/// Whether the input at the cursor is "Postmaster" (case-insensitive, 4.1.1.3)
/// followed by ">" (or, without brackets, by SP or the end).
bool at_postmaster(const cursor& c, bool bracketed) noexcept {
  constexpr std::string_view name = "postmaster";
  if (c.end - c.pos < name.size()) return false;
  if (!iequals(c.view(c.pos, c.pos + name.size()), name)) return false;
  const std::size_t after = c.pos + name.size();
  if (bracketed) return after < c.end && c.s[after] == '>';
  return after == c.end || c.s[after] == ' ';
}

/// "<" [ A-d-l ":" ] Mailbox ">", or "<>" / "<Postmaster>" where allowed; without
/// the brackets when `bracketed` is false (leniency).
error scan_path_body(cursor& c, bool bracketed, bool allow_null, bool allow_postmaster,
                     const address_options& o, path& out) noexcept {
  if (bracketed) {
    ++c.pos;  // "<"
    if (c.at('>')) {  // Reverse-path = Path / "<>"
      if (!allow_null) return error::bad_path;
      ++c.pos;
      out.null = true;
      return error::ok;
    }
  } else if (c.done() || c.cur() == ' ') {
    return misfit_at(c, error::bad_path, non_ascii_ok(o));
  }
  if (allow_postmaster && at_postmaster(c, bracketed)) {
    c.pos += bracketed ? 11 : 10;
    out.postmaster = true;
    return error::ok;
  }
  if (c.at('@')) {
    const std::size_t route = c.pos;
    const error e = scan_route(c, o);
    if (e != error::ok) return e;
    out.source_route = c.view(route, c.pos);
    ++c.pos;  // ":"
  }
  const error e = scan_mailbox(c, o, out.box);
  if (e != error::ok) return e;
  // What ends the host: ">" (or SP / the end without brackets). Anything else is an
  // octet the Domain could not take, or junk after an address literal.
  const error junk = out.box.kind == host_kind::domain ? error::bad_domain : error::bad_path;
  if (bracketed) {
    if (c.done()) return error::bad_path;
    if (c.cur() != '>') return misfit(c.cur(), junk, non_ascii_ok(o));
    ++c.pos;
  } else if (!c.done() && c.cur() != ' ') {
    return misfit(c.cur(), junk, non_ascii_ok(o));
  }
  return error::ok;
}

error scan_path(cursor& c, bool allow_null, bool allow_postmaster, const address_options& o,
                path& out) noexcept {
  const std::size_t start = c.pos;
  const bool bracketed = c.at('<');
  if (!bracketed && !o.allow_missing_brackets) return misfit_at(c, error::bad_path, non_ascii_ok(o));
  // 4.5.3.1.3: 256 octets "including the punctuation and element separators".
  const std::size_t max = bracketed ? max_path : max_path - 2;
  error e = scan_path_body(c, bracketed, allow_null, allow_postmaster, o, out);
  e = limit(c, start, max, e, error::path_too_long);
  if (e == error::ok) out.text = c.view(start, c.pos);
  return e;
}

}  // namespace

result<std::string_view> parse_domain(std::string_view in, const address_options& opt) {
  cursor c = make_cursor(in);
  bool non_ascii = false;
  error e = scan_domain(c, opt, non_ascii);
  if (e == error::ok && !c.done()) e = misfit(c.cur(), error::bad_domain, non_ascii_ok(opt));
  if (e != error::ok) return parse_error{e, c.pos};
  return in;
}

result<host_kind> parse_address_literal(std::string_view in) {
  cursor c = make_cursor(in);
  if (!c.at('[')) return parse_error{misfit_at(c, error::bad_address_literal, false), 0};
  host_kind kind = host_kind::ipv4_literal;
  error e = scan_address_literal(c, kind);
  if (e == error::ok && !c.done()) e = misfit(c.cur(), error::bad_address_literal, false);
  if (e != error::ok) return parse_error{e, c.pos};
  return kind;
}

result<mailbox> parse_mailbox(std::string_view in, const address_options& opt) {
  cursor c = make_cursor(in);
  mailbox box;
  error e = scan_mailbox(c, opt, box);
  if (e == error::ok && !c.done()) {
    const error junk = box.kind == host_kind::domain ? error::bad_domain : error::bad_address_literal;
    e = misfit(c.cur(), junk, non_ascii_ok(opt));
  }
  if (e != error::ok) return parse_error{e, c.pos};
  return box;
}

parse_error parse_path_into(std::string_view in, bool allow_null, bool allow_postmaster,
                            const address_options& opt, path& out) noexcept {
  cursor c = make_cursor(in);
  const error e = scan_path(c, allow_null, allow_postmaster, opt, out);
  if (e != error::ok) return {e, c.pos};
  return {};
}

result<path> parse_path(std::string_view in, bool allow_null, bool allow_postmaster,
                        const address_options& opt) {
  path out;
  const parse_error e = parse_path_into(in, allow_null, allow_postmaster, opt, out);
  if (e.code != error::ok) return e;
  return out;
}

result<std::string_view> parse_local_part(std::string_view in, const address_options& opt) {
  cursor c = make_cursor(in);
  bool non_ascii = false;
  bool quoted = false;
  const error e = scan_local_part(c, opt, non_ascii, quoted);
  if (e != error::ok) return parse_error{e, c.pos};
  return in.substr(0, c.pos);
}

result<std::string_view> parse_string(std::string_view in, const address_options& opt) {
  cursor c = make_cursor(in);
  bool non_ascii = false;
  const error e = c.at('"') ? scan_quoted_string(c, opt, non_ascii) : scan_atom(c, opt, non_ascii);
  if (e != error::ok) return parse_error{e, c.pos};
  return in.substr(0, c.pos);
}

}  // namespace smtpspec::reference
