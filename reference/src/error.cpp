// Names and descriptions of reference-model errors; see error.hpp.
#include "smtpspec/reference/error.hpp"

#include <string>

namespace smtpspec::reference {
namespace {

struct error_info {
  error code;
  std::string_view name;
  std::string_view text;
  condition cond;
};

constexpr error_info k_errors[] = {
    {error::ok, "ok", "no error", condition::syntax},
    {error::need_more, "need_more", "more input is needed", condition::need_more},
    {error::line_too_long, "line_too_long", "line exceeds the RFC 5321 4.5.3.1 length limit", condition::limit},
    {error::bare_lf, "bare_lf", "LF without a preceding CR (RFC 5321 2.3.8)", condition::framing},
    {error::bare_cr, "bare_cr", "CR not followed by LF (RFC 5321 2.3.8)", condition::framing},
    {error::nul_octet, "nul_octet", "NUL octet", condition::framing},
    {error::eight_bit_octet, "eight_bit_octet", "octet with the high bit set where only ASCII is allowed", condition::framing},
    {error::control_character, "control_character", "control character where none is allowed", condition::syntax},
    {error::empty_line, "empty_line", "empty command line", condition::syntax},
    {error::unknown_verb, "unknown_verb", "command not recognized", condition::syntax},
    {error::bad_verb_separator, "bad_verb_separator", "verb not followed by SP or end of line", condition::syntax},
    {error::missing_argument, "missing_argument", "required argument missing", condition::syntax},
    {error::unexpected_argument, "unexpected_argument", "argument given to a command that takes none", condition::syntax},
    {error::missing_from, "missing_from", "MAIL without FROM:", condition::syntax},
    {error::missing_to, "missing_to", "RCPT without TO:", condition::syntax},
    {error::bad_path, "bad_path", "malformed path (RFC 5321 4.1.2 Path)", condition::syntax},
    {error::bad_source_route, "bad_source_route", "malformed source route (RFC 5321 4.1.2 A-d-l)", condition::syntax},
    {error::bad_local_part, "bad_local_part", "malformed local part (RFC 5321 4.1.2 Dot-string)", condition::syntax},
    {error::bad_quoted_string, "bad_quoted_string", "malformed quoted local part (RFC 5321 4.1.2 Quoted-string)", condition::syntax},
    {error::bad_domain, "bad_domain", "malformed domain (RFC 5321 4.1.2 Domain)", condition::syntax},
    {error::bad_address_literal, "bad_address_literal", "malformed address literal (RFC 5321 4.1.3)", condition::syntax},
    {error::local_part_too_long, "local_part_too_long", "local part over 64 octets (RFC 5321 4.5.3.1.1)", condition::limit},
    {error::domain_too_long, "domain_too_long", "domain over 255 octets (RFC 5321 4.5.3.1.2)", condition::limit},
    {error::path_too_long, "path_too_long", "path over 256 octets (RFC 5321 4.5.3.1.3)", condition::limit},
    {error::bad_parameter, "bad_parameter", "malformed esmtp-param (RFC 5321 4.1.2)", condition::syntax},
    {error::bad_chunk_size, "bad_chunk_size", "BDAT chunk size is not a number (RFC 3030 2)", condition::syntax},
    {error::bad_bdat_argument, "bad_bdat_argument", "BDAT argument other than LAST (RFC 3030 2)", condition::syntax},
    {error::bad_auth_mechanism, "bad_auth_mechanism", "malformed SASL mechanism name (RFC 4954 4)", condition::syntax},
    {error::bad_auth_response, "bad_auth_response", "AUTH response neither base64 nor \"=\" (RFC 4954 4)", condition::syntax},
    {error::trailing_characters, "trailing_characters", "unexpected characters after the argument", condition::syntax},
    {error::bad_utf8, "bad_utf8", "malformed UTF-8 (RFC 6531 3.3)", condition::syntax},
    {error::duplicate_parameter, "duplicate_parameter", "the same esmtp-keyword appears twice", condition::syntax},
    {error::bad_reply_code, "bad_reply_code", "reply line does not start with a three-digit code (RFC 5321 4.2)", condition::syntax},
    {error::reply_code_out_of_range, "reply_code_out_of_range", "reply code outside 200-559 (RFC 5321 4.2)", condition::syntax},
    {error::bad_reply_separator, "bad_reply_separator", "reply code not followed by SP, \"-\" or end of line", condition::syntax},
    {error::reply_code_changed, "reply_code_changed", "lines of one multi-line reply carry different codes (RFC 5321 4.2.1)", condition::syntax},
    {error::bad_reply_text, "bad_reply_text", "reply text outside textstring (RFC 5321 4.2)", condition::syntax},
    {error::too_many_reply_lines, "too_many_reply_lines", "multi-line reply exceeds the line bound", condition::limit},
    {error::bad_enhanced_status, "bad_enhanced_status", "malformed enhanced status code (RFC 3463 2)", condition::syntax},
    {error::enhanced_status_class_mismatch, "enhanced_status_class_mismatch", "enhanced status class differs from reply code class (RFC 2034 3)", condition::syntax},
    {error::bad_greeting, "bad_greeting", "greeting without a domain (RFC 5321 4.2 Greeting)", condition::syntax},
    {error::bad_ehlo_reply, "bad_ehlo_reply", "EHLO reply does not match ehlo-ok-rsp (RFC 5321 4.1.1.1)", condition::syntax},
    {error::truncated_reply, "truncated_reply", "reply cut off before its final CRLF", condition::framing},
};

const error_info* find(error e) noexcept {
  for (const auto& info : k_errors)
    if (info.code == e) return &info;
  return nullptr;
}

class error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "smtpspec.reference"; }
  std::string message(int ev) const override { return std::string(describe(static_cast<error>(ev))); }
  std::error_condition default_error_condition(int ev) const noexcept override {
    return make_error_condition(condition_of(static_cast<error>(ev)));
  }
};

class condition_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "smtpspec.reference.condition"; }
  std::string message(int ev) const override {
    switch (static_cast<condition>(ev)) {
      case condition::need_more: return "more input needed";
      case condition::syntax: return "syntax error";
      case condition::limit: return "size limit exceeded";
      case condition::framing: return "line framing or octet error";
    }
    return "unknown condition";
  }
};

}  // namespace

const std::error_category& error_category() noexcept {
  static const error_category_impl cat;
  return cat;
}

const std::error_category& condition_category() noexcept {
  static const condition_category_impl cat;
  return cat;
}

std::error_code make_error_code(error e) noexcept { return {static_cast<int>(e), error_category()}; }

std::error_condition make_error_condition(condition c) noexcept { return {static_cast<int>(c), condition_category()}; }

std::string_view to_string(error e) noexcept {
  const auto* info = find(e);
  return info ? info->name : std::string_view("unknown_error");
}

std::string_view describe(error e) noexcept {
  const auto* info = find(e);
  return info ? info->text : std::string_view("unknown error");
}

condition condition_of(error e) noexcept {
  const auto* info = find(e);
  return info ? info->cond : condition::syntax;
}

}  // namespace smtpspec::reference
