// Errors of the reference model, reported as values (never thrown through a caller).
//
// Every parser in reference/ returns either its result or a parse_error that names
// what failed (an error value) and where (the byte offset into the input it was
// given). The numbers are part of the interface: they are append-only and never
// renumbered, so that fuzz reproducers and golden files stay meaningful (llhttp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace smtpspec::reference {

enum class error : std::uint16_t {
  ok = 0,
  /// More input is needed to decide; the only restartable error.
  need_more = 1,

  // --- line framing (RFC 5321 2.3.8, 4.5.3.1) -------------------------------------
  /// A command line over 512 octets, a reply line over 512, or a text line over 1000
  /// (all counting the CRLF; 4.5.3.1.4 to 4.5.3.1.6).
  line_too_long = 10,
  /// A LF that is not preceded by CR (2.3.8: only CRLF ends a line).
  bare_lf = 11,
  /// A CR that is not followed by LF (2.3.8).
  bare_cr = 12,
  /// A NUL octet where none is allowed.
  nul_octet = 13,
  /// An octet with the high bit set where only ASCII is allowed (2.3.1, 4.1.2).
  eight_bit_octet = 14,
  /// A control character where the grammar allows none.
  control_character = 15,

  // --- commands (4.1.1, 4.1.2) -----------------------------------------------------
  /// The line is empty.
  empty_line = 30,
  /// The verb is not one this model knows (4.2.4, 4.3.2: answered with 500).
  unknown_verb = 31,
  /// The verb is followed by something other than SP or the end of the line.
  bad_verb_separator = 32,
  /// A required argument is absent (e.g. "EHLO" alone).
  missing_argument = 33,
  /// An argument where the command takes none (DATA, RSET, QUIT, STARTTLS; 4.3.2 "501").
  unexpected_argument = 34,
  /// MAIL without "FROM:" (4.1.1.2).
  missing_from = 35,
  /// RCPT without "TO:" (4.1.1.3).
  missing_to = 36,
  /// A path that is not enclosed in "<" ">" or is otherwise malformed (4.1.2 Path).
  bad_path = 37,
  /// A malformed obsolete source route (4.1.2 A-d-l, Appendix C).
  bad_source_route = 38,
  /// A malformed Local-part: Dot-string (4.1.2).
  bad_local_part = 39,
  /// A malformed Quoted-string local part (4.1.2 Quoted-string).
  bad_quoted_string = 40,
  /// A malformed Domain (4.1.2 Domain, sub-domain, Let-dig, Ldh-str).
  bad_domain = 41,
  /// A malformed address literal (4.1.3).
  bad_address_literal = 42,
  /// A Local-part over 64 octets (4.5.3.1.1).
  local_part_too_long = 43,
  /// A domain over 255 octets (4.5.3.1.2).
  domain_too_long = 44,
  /// A path over 256 octets including the angle brackets (4.5.3.1.3).
  path_too_long = 45,
  /// A malformed esmtp-param (4.1.2 esmtp-keyword, esmtp-value).
  bad_parameter = 46,
  /// A BDAT chunk size that is not a number (RFC 3030 section 2).
  bad_chunk_size = 47,
  /// A BDAT argument after the size other than "LAST" (RFC 3030 section 2).
  bad_bdat_argument = 48,
  /// A SASL mechanism name that does not match RFC 4954 section 4 / RFC 4422.
  bad_auth_mechanism = 49,
  /// An AUTH initial response that is neither base64 nor "=" (RFC 4954 section 4).
  bad_auth_response = 50,
  /// Text follows a complete argument where the grammar ends.
  trailing_characters = 51,
  /// A UTF-8 sequence that is malformed (RFC 6531 section 3.3 relies on RFC 3629).
  bad_utf8 = 52,
  /// The same esmtp-keyword appears twice in one command.
  duplicate_parameter = 53,

  // --- replies (4.2, RFC 3463, RFC 2034) --------------------------------------------
  /// The line does not start with three digits (4.2 Reply-code).
  bad_reply_code = 70,
  /// A reply code outside %x32-35 %x30-35 %x30-39 (4.2, 4.3.2: first digit 2 to 5).
  reply_code_out_of_range = 71,
  /// The code is followed by something other than SP, "-" or the end of the line.
  bad_reply_separator = 72,
  /// A continuation line carries a different code than the first line (4.2.1).
  reply_code_changed = 73,
  /// Reply text holds an octet outside textstring (%d09 / %d32-126; 4.2).
  bad_reply_text = 74,
  /// More continuation lines than the configured bound.
  too_many_reply_lines = 75,
  /// An enhanced status code that does not match RFC 3463 section 2.
  bad_enhanced_status = 76,
  /// The enhanced status class differs from the first digit of the reply code (RFC 2034 section 3).
  enhanced_status_class_mismatch = 77,
  /// A 220 greeting without a domain or address literal (4.2 Greeting).
  bad_greeting = 78,
  /// An EHLO reply that does not match 4.1.1.1 ehlo-ok-rsp.
  bad_ehlo_reply = 79,
  /// A reply without its final CRLF when the input ended.
  truncated_reply = 80,
};

/// The broad classes of error: callers branch on these rather than on single values.
enum class condition {
  need_more = 1,  ///< feed more input and call again
  syntax,         ///< the input does not match the grammar
  limit,          ///< a size limit of 4.5.3.1 (or a configured bound) was exceeded
  framing,        ///< line-ending or octet-level violation (bare CR/LF, NUL, 8-bit)
};

const std::error_category& error_category() noexcept;
const std::error_category& condition_category() noexcept;
std::error_code make_error_code(error e) noexcept;
std::error_condition make_error_condition(condition c) noexcept;

/// A short, stable, human-readable name such as "bad_domain".
std::string_view to_string(error e) noexcept;
/// One sentence describing the error, for reports.
std::string_view describe(error e) noexcept;
/// The broad class an error belongs to.
condition condition_of(error e) noexcept;

/// What failed and where: `offset` counts octets from the start of the input the
/// parser was given.
struct parse_error {
  error code = error::ok;
  std::size_t offset = 0;
  friend bool operator==(const parse_error&, const parse_error&) = default;
};

/// Either a value or a parse_error. A small stand-in for C++23 std::expected.
template <class T>
class result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT(implicit)
  result(parse_error e) : v_(std::in_place_index<1>, e) {}           // NOLINT(implicit)

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  /// Only valid when !has_value().
  const parse_error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, parse_error> v_;
};

}  // namespace smtpspec::reference

template <>
struct std::is_error_code_enum<smtpspec::reference::error> : std::true_type {};
template <>
struct std::is_error_condition_enum<smtpspec::reference::condition> : std::true_type {};
