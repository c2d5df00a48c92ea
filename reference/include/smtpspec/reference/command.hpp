// The SMTP command parser: RFC 5321 4.1.1 (verbs) and 4.1.2 (arguments), plus
// STARTTLS (RFC 3207 section 4), AUTH (RFC 4954 section 4), BDAT (RFC 3030
// section 2), the SIZE/BODY/SMTPUTF8 parameters' syntax being generic esmtp-params
// (checked for meaning by the session model, not here).
//
// parse_command() takes one command line WITHOUT its terminating CRLF and returns
// either a command (views into the line; nothing is allocated) or a parse_error
// with the offset of the first octet that does not fit the grammar. Verbs are
// case-insensitive (2.4). Limits: the line plus CRLF may be at most 512 octets
// (4.5.3.1.4), a path 256 (4.5.3.1.3), a local part 64, a domain 255.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

#include "smtpspec/reference/address.hpp"
#include "smtpspec/reference/error.hpp"

namespace smtpspec::reference {

enum class verb : std::uint8_t {
  unknown = 0,
  ehlo, helo, mail, rcpt, data, rset, vrfy, expn, help, noop, quit,  // RFC 5321 4.1.1
  starttls,  // RFC 3207
  auth,      // RFC 4954
  bdat,      // RFC 3030
};

/// Upper-case name of a verb ("MAIL"), or "" for unknown.
std::string_view to_string(verb v) noexcept;
/// Case-insensitive lookup of a verb name; verb::unknown if none matches.
verb verb_from_string(std::string_view name) noexcept;

/// esmtp-param = esmtp-keyword ["=" esmtp-value] (4.1.2).
struct esmtp_param {
  std::string_view keyword;
  std::string_view value;  ///< empty if no "="
  bool has_value = false;
};

/// A view of validated Mail-parameters / Rcpt-parameters text ("K1=V1 K2"),
/// iterated lazily so that parsing allocates nothing.
class esmtp_params {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = esmtp_param;
    using difference_type = std::ptrdiff_t;
    using pointer = const esmtp_param*;
    using reference = const esmtp_param&;

    iterator() = default;
    explicit iterator(std::string_view rest);
    reference operator*() const { return current_; }
    pointer operator->() const { return &current_; }
    iterator& operator++();
    iterator operator++(int) { auto t = *this; ++*this; return t; }
    friend bool operator==(const iterator& a, const iterator& b) { return a.rest_.data() == b.rest_.data() && a.done_ == b.done_; }

   private:
    void load();
    std::string_view rest_;
    esmtp_param current_{};
    bool done_ = true;
  };

  esmtp_params() = default;
  /// `text` must already be valid (parse_command checks it).
  explicit esmtp_params(std::string_view text) : text_(text) {}

  iterator begin() const { return text_.empty() ? iterator() : iterator(text_); }
  iterator end() const { return iterator(); }
  bool empty() const noexcept { return text_.empty(); }
  std::size_t size() const;
  std::string_view text() const noexcept { return text_; }
  /// Case-insensitive keyword lookup (esmtp keywords are case-insensitive, 2.4).
  std::optional<esmtp_param> find(std::string_view keyword) const;

 private:
  std::string_view text_;
};

/// Leniency: each bit accepts one common deviation (llhttp's lenient flags).
/// The default (none) is strict RFC 5321 syntax.
enum class leniency : std::uint32_t {
  none = 0,
  space_after_colon = 1u << 0,       ///< "MAIL FROM: <a@b>"
  missing_angle_brackets = 1u << 1,  ///< "MAIL FROM:a@b"
  trailing_whitespace = 1u << 2,     ///< "NOOP " / "QUIT  "
  eight_bit = 1u << 3,               ///< octets >= 0x80 outside SMTPUTF8
  /// "HELO [192.0.2.1]": RFC 5321 4.1.1.1's prose asks a client without a domain
  /// name for an address literal, its grammar gives HELO a Domain only.
  helo_address_literal = 1u << 4,
};
constexpr leniency operator|(leniency a, leniency b) { return leniency(std::uint32_t(a) | std::uint32_t(b)); }
constexpr bool has(leniency set, leniency bit) { return (std::uint32_t(set) & std::uint32_t(bit)) != 0; }

struct command_options {
  /// RFC 6531: UTF-8 in mailboxes (the client sent SMTPUTF8 on MAIL, or the caller
  /// wants to accept it).
  bool smtputf8 = false;
  leniency lenient = leniency::none;
  /// Longest command line accepted, counting the CRLF the input does not contain
  /// (4.5.3.1.4: 512; "SMTP extensions may be used to increase this limit", e.g.
  /// RFC 4954 section 5 adds 500 for MAIL with AUTH=).
  std::size_t max_line = max_command_line;
};

struct command {
  verb kind = verb::unknown;
  std::string_view line;       ///< the whole line (without CRLF)
  std::string_view verb_text;  ///< the verb as sent
  std::string_view argument;   ///< everything after the verb and its SP (raw)

  // EHLO / HELO (4.1.1.1): Domain or address-literal
  std::string_view domain;
  host_kind domain_kind = host_kind::domain;

  // MAIL (Reverse-path) / RCPT (Forward-path or <Postmaster>)
  path address;
  esmtp_params params;

  // BDAT (RFC 3030): chunk size and LAST
  std::uint64_t chunk_size = 0;
  bool last = false;

  // AUTH (RFC 4954): mechanism and optional initial response as sent, still
  // base64-encoded ("=" is kept as "=": it means an empty response)
  std::string_view mechanism;
  std::optional<std::string_view> initial_response;

  // VRFY / EXPN / HELP / NOOP: the raw argument, if any, is `argument`; the String
  // (or, for VRFY/EXPN, the user name or Mailbox; RFC 5321 3.5.1, 3.5.3) is
  // `string_arg`, without the RFC 6531 3.7.4.2 " SMTPUTF8" parameter, which sets
  // `smtputf8_param`.
  std::string_view string_arg;
  bool smtputf8_param = false;
};

/// Parses one command line (without CRLF). See the file comment; the grammar
/// decisions are listed at the top of command.cpp.
result<command> parse_command(std::string_view line, const command_options& opt = {});

/// The reply code a server answers a parse error with (4.3.2, 4.5.3.1.9): 500 for an
/// unrecognized verb or an over-long line, 501 for everything else.
std::uint16_t reply_code_for(error e) noexcept;

}  // namespace smtpspec::reference
