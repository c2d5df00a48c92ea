// The EHLO reply as an extension list. Implements RFC 5321 section 4.1.1.1
// (ehlo-ok-rsp, ehlo-greet, ehlo-line, ehlo-keyword, ehlo-param) and 2.4 (keywords
// are case-insensitive), RFC 1870 section 3 (3) and 4 (the SIZE parameter:
// [1*DIGIT], 0 = no fixed limit), RFC 4954 section 3 (AUTH carries a space-separated
// list of SASL mechanism names, RFC 4422 section 3.1 for their syntax), and the
// historic "AUTH=" line that pre-RFC 2554 clients expect (tolerated, flagged).
#include "smtpspec/reference/extensions.hpp"

#include <cstddef>
#include <limits>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reference {
namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
// ehlo-param = 1*(%d33-126): any CHAR except SP and controls.
constexpr bool is_param_char(char c) noexcept { return c >= 33 && c <= 126; }

// One ehlo-line taken apart, with offsets relative to the line's text.
struct raw_line {
  std::string_view keyword;
  std::size_t keyword_end = 0;
  bool legacy = false;
};

// ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-"), or the historic
// "AUTH=" 1*param-char form.
parse_error scan_keyword(std::string_view text, raw_line& out) {
  if (text.empty() || !(is_alpha(text[0]) || is_digit(text[0]))) return {error::bad_ehlo_reply, 0};
  std::size_t i = 1;
  while (i < text.size() && (is_alpha(text[i]) || is_digit(text[i]) || text[i] == '-')) ++i;
  if (i < text.size() && text[i] == '=' && iequals(text.substr(0, i), "AUTH")) {
    // "AUTH=LOGIN PLAIN": not an ehlo-line, but common; keep the token whole.
    const std::size_t start = ++i;
    while (i < text.size() && is_param_char(text[i])) ++i;
    if (i == start) return {error::bad_ehlo_reply, i};
    out.legacy = true;
  }
  if (i < text.size() && text[i] != ' ') return {error::bad_ehlo_reply, i};
  out.keyword = text.substr(0, i);
  out.keyword_end = i;
  return {error::ok, 0};
}

// *( SP ehlo-param ): exactly one SP before each parameter, none at the end.
parse_error scan_params(std::string_view text, std::size_t pos, std::vector<std::string>& params,
                        std::vector<std::size_t>& offsets) {
  while (pos < text.size()) {
    ++pos;  // the SP (scan_keyword / the loop below guarantee it is one)
    const std::size_t start = pos;
    while (pos < text.size() && is_param_char(text[pos])) ++pos;
    if (pos == start) return {error::bad_ehlo_reply, pos};  // empty: SP SP, trailing SP, HT...
    if (pos < text.size() && text[pos] != ' ') return {error::bad_ehlo_reply, pos};
    params.emplace_back(text.substr(start, pos - start));
    offsets.push_back(start);
  }
  return {error::ok, 0};
}

// RFC 1870 section 3 (3): size-param ::= [1*DIGIT]; one parameter at most. A value
// beyond 64 bits cannot be represented and is reported rather than clamped.
parse_error check_size(const extension& x, const std::vector<std::size_t>& offsets) {
  if (x.params.size() > 1) return {error::bad_ehlo_reply, offsets[1]};
  if (x.params.empty()) return {error::ok, 0};
  std::uint64_t v = 0;
  const std::string& p = x.params.front();
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (!is_digit(p[i])) return {error::bad_ehlo_reply, offsets[0] + i};
    const auto d = static_cast<std::uint64_t>(p[i] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return {error::bad_ehlo_reply, offsets[0] + i};
    v = v * 10 + d;
  }
  return {error::ok, 0};
}

// RFC 4954 section 3 (3) / RFC 4422 section 3.1: sasl-mech = 1*20mech-char,
// mech-char = UPPER-ALPHA / DIGIT / "-" / "_". Lower case is accepted (and
// upper-cased by auth_mechanisms()): mechanism names compare case-insensitively.
parse_error check_auth(const extension& x, const std::vector<std::size_t>& offsets) {
  for (std::size_t k = 0; k < x.params.size(); ++k) {
    const std::string& m = x.params[k];
    for (std::size_t i = 0; i < m.size(); ++i)
      if (!(is_alpha(m[i]) || is_digit(m[i]) || m[i] == '-' || m[i] == '_'))
        return {error::bad_auth_mechanism, offsets[k] + i};
    if (m.size() > 20) return {error::bad_auth_mechanism, offsets[k] + 20};
  }
  return {error::ok, 0};
}

// ehlo-line = ehlo-keyword *( SP ehlo-param ), checked against the keyword's own
// parameter syntax where smtpspec knows it.
result<extension> parse_ehlo_line(std::string_view text) {
  raw_line raw;
  if (const parse_error e = scan_keyword(text, raw); e.code != error::ok) return e;
  extension x;
  x.keyword = to_upper(raw.keyword);
  x.legacy = raw.legacy;
  std::vector<std::size_t> offsets;
  if (const parse_error e = scan_params(text, raw.keyword_end, x.params, offsets); e.code != error::ok) return e;
  parse_error e{error::ok, 0};
  if (!x.legacy && x.keyword == "SIZE") e = check_size(x, offsets);
  if (!x.legacy && x.keyword == "AUTH") e = check_auth(x, offsets);
  if (e.code != error::ok) return e;
  return x;
}

// First line: Domain [ SP ehlo-greet ]. An address literal is tolerated and recorded.
parse_error parse_first_line(std::string_view text, extension_list& out) {
  const std::string_view host = text.substr(0, text.find(' '));
  if (host.empty()) return {error::bad_ehlo_reply, 0};
  if (const parse_error e = detail::check_host(host, true); e.code != error::ok)
    return {error::bad_ehlo_reply, e.offset};
  out.domain.assign(host);
  out.domain_is_literal = host.front() == '[';
  // ehlo-greet = 1*(%d0-9 / %d11-12 / %d14-127): the parser's textstring is stricter.
  if (host.size() < text.size()) out.greeting.assign(text.substr(host.size() + 1));
  return {error::ok, 0};
}

}  // namespace

// ---- extension_list -------------------------------------------------------------------

const extension* extension_list::find(std::string_view keyword) const {
  for (const auto& x : items)
    if (!x.legacy && iequals(x.keyword, keyword)) return &x;
  return nullptr;
}

bool extension_list::has(std::string_view keyword) const { return find(keyword) != nullptr; }

std::optional<std::uint64_t> extension_list::size_limit() const {
  const extension* x = find("SIZE");
  if (!x) return std::nullopt;
  // RFC 1870: absent or "0" means no fixed limit. parse_ehlo_reply validated the
  // digits; a hand-built list with anything else is read as "no information" (0).
  std::uint64_t v = 0;
  if (x->params.size() != 1) return v;
  for (char c : x->params.front()) {
    if (!is_digit(c) || v > (std::numeric_limits<std::uint64_t>::max() - static_cast<std::uint64_t>(c - '0')) / 10)
      return 0;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::vector<std::string> extension_list::auth_mechanisms() const {
  std::vector<std::string> out;
  if (const extension* x = find("AUTH"))
    for (const auto& m : x->params) out.push_back(to_upper(m));
  return out;
}

bool extension_list::has_legacy_auth() const {
  for (const auto& x : items)
    if (x.legacy) return true;
  return false;
}

// ---- ehlo-ok-rsp (4.1.1.1) --------------------------------------------------------------

result<extension_list> parse_ehlo_reply(const reply& r) {
  if (r.code != 250 || r.lines.empty()) return parse_error{error::bad_ehlo_reply, 0};
  extension_list out;
  if (const parse_error e = parse_first_line(r.lines.front(), out); e.code != error::ok)
    return parse_error{e.code, r.text_offset(0) + e.offset};
  out.items.reserve(r.lines.size() - 1);
  for (std::size_t i = 1; i < r.lines.size(); ++i) {
    auto x = parse_ehlo_line(r.lines[i]);
    if (!x) return parse_error{x.error().code, r.text_offset(i) + x.error().offset};
    out.items.push_back(std::move(*x));
  }
  return out;
}

}  // namespace smtpspec::reference
