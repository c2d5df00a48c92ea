// Text helpers every layer needs, in one place: ASCII case folding, base64 and
// UTF-8. Sans-I/O and locale-free (std::toupper would follow the C locale; SMTP
// folds ASCII letters only).
//
//   * Case. RFC 5321 2.4: verbs, argument keywords and extension keywords are
//     case-insensitive; only the 52 ASCII letters fold. Octets >= 0x80 never match
//     anything but themselves.
//   * base64. RFC 4648 section 4, the alphabet with "+" and "/", "=" padding, no
//     line breaks and no other characters (section 3.3: reject what is outside the
//     alphabet). Pad bits that are not zero (section 3.5, "QR==") are accepted: a
//     decoder MAY reject them, and smtpspec judges servers that need not.
//   * UTF-8. RFC 3629 section 4 (UTF8-octets): no overlong forms, no UTF-16
//     surrogates (U+D800 to U+DFFF), nothing above U+10FFFF, no C0/C1/F5-FF leads.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace smtpspec::reference {

// ---- ASCII case (RFC 5321 2.4) ---------------------------------------------------------

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
constexpr char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - ('a' - 'A')) : c; }

/// Equal when ASCII letters are compared without case.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

/// `s` starts with `prefix`, ASCII letters compared without case.
constexpr bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

/// `needle` occurs in `hay`, ASCII letters compared without case. An empty needle
/// occurs everywhere.
bool icontains(std::string_view hay, std::string_view needle) noexcept;

/// `s` with its ASCII letters folded.
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);

// ---- base64 (RFC 4648 section 4) -----------------------------------------------------------

/// The base64 encoding of `octets`, padded with "=" to a multiple of 4.
std::string base64_encode(std::string_view octets);

/// `text` is base64: groups of four alphabet characters, the last of which may end
/// in "=" or "==". The empty text is base64 (of nothing); callers that need a
/// response say so themselves (RFC 4954 4 sends an empty response as "=").
bool is_base64(std::string_view text) noexcept;

/// The octets `text` encodes, or std::nullopt unless is_base64(text).
std::optional<std::string> base64_decode(std::string_view text);

// ---- UTF-8 (RFC 3629 section 4) -------------------------------------------------------------

/// One character decoded from the start of a text.
struct utf8_char {
  char32_t code_point = 0;  ///< valid when length > 0
  /// Octets of the well-formed character (1 to 4), or 0 when none starts there.
  std::size_t length = 0;
  /// When length is 0: offset of the first octet that does not fit (0 for a bad
  /// lead octet, or the input's size when the sequence is cut short).
  std::size_t bad = 0;
};

/// Decodes the character at the start of `in` (an ASCII octet is a character of
/// length 1). The empty input gives length 0 and bad 0.
utf8_char decode_utf8(std::string_view in) noexcept;

/// Every octet of `s` belongs to a well-formed character.
bool is_utf8(std::string_view s) noexcept;

/// Appends the UTF-8 form of `cp` (which must be a Unicode scalar value: at most
/// U+10FFFF and not a surrogate; anything else is appended as U+FFFD).
void append_utf8(std::string& out, char32_t cp);

}  // namespace smtpspec::reference
