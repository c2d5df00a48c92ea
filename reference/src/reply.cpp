// SMTP replies. Implements RFC 5321 section 4.2 (Reply-line, Reply-code,
// textstring, Greeting), 4.2.1 (multi-line replies carry one code), 4.5.3.1.5 (the
// reply line bound), RFC 3463 section 2 (enhanced status code syntax) and RFC 2034
// section 4 (where enhanced status codes appear and that their class matches the
// reply code). The Domain / address-literal check of the Greeting follows 4.1.2 and
// 4.1.3 minimally until address.hpp's parsers replace it.
#include "smtpspec/reference/reply.hpp"

#include <array>
#include <utility>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reference {
namespace {

constexpr parse_error ok_result{error::ok, 0};

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr bool is_alpha(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr bool is_let_dig(char c) noexcept { return is_alpha(c) || is_digit(c); }  // 4.1.2 Let-dig
constexpr bool is_hex(char c) noexcept {
  return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}
constexpr unsigned char octet(char c) noexcept { return static_cast<unsigned char>(c); }

// 4.2 textstring = 1*(%d09 / %d32-126): HT, SP and printable US-ASCII.
constexpr std::array<bool, 256> make_text_table() noexcept {
  std::array<bool, 256> t{};
  t[9] = true;
  for (int c = 32; c <= 126; ++c) t[static_cast<std::size_t>(c)] = true;
  return t;
}
constexpr std::array<bool, 256> k_text = make_text_table();

// Checks `text` against textstring (4.2), or textstring plus UTF-8 (RFC 3629 4,
// text.hpp) when `utf8`.
// Returns ok, or the error and its offset in `text`; sets `saw_utf8`.
parse_error check_text(std::string_view text, bool utf8, bool& saw_utf8) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = octet(text[i]);
    if (k_text[c]) {
      ++i;
      continue;
    }
    if (c < 0x80 || !utf8) return {error::bad_reply_text, i};
    const std::size_t n = decode_utf8(text.substr(i)).length;
    if (n == 0) return {error::bad_utf8, i};
    saw_utf8 = true;
    i += n;
  }
  return ok_result;
}

// RFC 3463 section 2: subject / detail = 1*3digit, "each numeric sub-code ... MUST
// be expressed without leading zero digits". Parses one field at `pos`.
parse_error parse_status_field(std::string_view text, std::size_t& pos, std::uint16_t& value) noexcept {
  if (pos >= text.size() || !is_digit(text[pos])) return {error::bad_enhanced_status, pos};
  if (text[pos] == '0' && pos + 1 < text.size() && is_digit(text[pos + 1]))
    return {error::bad_enhanced_status, pos};  // leading zero
  const std::size_t start = pos;
  unsigned v = 0;
  while (pos < text.size() && is_digit(text[pos])) {
    if (pos - start == 3) return {error::bad_enhanced_status, pos};  // a fourth digit
    v = v * 10 + static_cast<unsigned>(text[pos] - '0');
    ++pos;
  }
  value = static_cast<std::uint16_t>(v);
  return ok_result;
}

// 4.1.2: Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str];
// Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig. So a label starts and ends with a
// letter or digit; empty labels (leading, trailing or doubled dots) are errors.
parse_error check_domain(std::string_view s) noexcept {
  if (s.size() > 255) return {error::domain_too_long, 255};  // 4.5.3.1.2
  std::size_t i = 0;
  for (;;) {
    if (i >= s.size() || !is_let_dig(s[i])) return {error::bad_domain, i};
    while (i < s.size() && (is_let_dig(s[i]) || s[i] == '-')) ++i;
    if (s[i - 1] == '-') return {error::bad_domain, i - 1};
    if (i == s.size()) return ok_result;
    if (s[i] != '.') return {error::bad_domain, i};
    ++i;
  }
}

// 4.1.3: IPv4-address-literal = Snum 3("." Snum); Snum = 1*3DIGIT, 0 to 255.
parse_error check_ipv4(std::string_view s, std::size_t base) noexcept {
  std::size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return {error::bad_address_literal, base + i};
      ++i;
    }
    const std::size_t start = i;
    unsigned v = 0;
    while (i < s.size() && is_digit(s[i]) && i - start < 3) v = v * 10 + static_cast<unsigned>(s[i++] - '0');
    if (i == start || v > 255) return {error::bad_address_literal, base + start};
  }
  if (i != s.size()) return {error::bad_address_literal, base + i};
  return ok_result;
}

// 4.1.3 General-address-literal = Standardized-tag ":" 1*dcontent, with IPv6 as the
// tag "IPv6". Minimal: the tag is an Ldh-str; an IPv6 address holds only HEXDIG,
// ":" and "." (its structure is address.cpp's job); dcontent is %d33-90 / %d94-126.
parse_error check_tagged_literal(std::string_view s, std::size_t colon, std::size_t base) noexcept {
  const std::string_view tag = s.substr(0, colon);
  if (tag.empty() || !is_let_dig(tag.back())) return {error::bad_address_literal, base + colon};
  for (std::size_t i = 0; i < tag.size(); ++i)
    if (!is_let_dig(tag[i]) && tag[i] != '-') return {error::bad_address_literal, base + i};
  const std::string_view rest = s.substr(colon + 1);
  if (rest.empty()) return {error::bad_address_literal, base + colon + 1};
  const bool ipv6 = tag.size() == 4 && (tag[0] == 'I' || tag[0] == 'i') && (tag[1] == 'P' || tag[1] == 'p') &&
                    (tag[2] == 'v' || tag[2] == 'V') && tag[3] == '6';
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const unsigned char c = octet(rest[i]);
    const bool good = ipv6 ? (is_hex(rest[i]) || c == ':' || c == '.')
                           : ((c >= 33 && c <= 90) || (c >= 94 && c <= 126));
    if (!good) return {error::bad_address_literal, base + colon + 1 + i};
  }
  return ok_result;
}

// address-literal = "[" ( IPv4 / IPv6 / General ) "]" (4.1.2, 4.1.3).
parse_error check_address_literal(std::string_view s) noexcept {
  const std::size_t close = s.find(']');
  if (close == std::string_view::npos) return {error::bad_address_literal, s.size()};
  if (close + 1 != s.size()) return {error::bad_address_literal, close + 1};
  const std::string_view inner = s.substr(1, close - 1);
  if (inner.empty()) return {error::bad_address_literal, 1};
  const std::size_t colon = inner.find(':');
  if (colon == std::string_view::npos) return check_ipv4(inner, 1);
  return check_tagged_literal(inner, colon, 1);
}

void append_code(std::string& out, std::uint16_t code) {
  out.push_back(static_cast<char>('0' + code / 100 % 10));
  out.push_back(static_cast<char>('0' + code / 10 % 10));
  out.push_back(static_cast<char>('0' + code % 10));
}

}  // namespace

// ---- enhanced status (RFC 3463 section 2) ------------------------------------------

std::string enhanced_status::to_string() const {
  return std::to_string(klass) + '.' + std::to_string(subject) + '.' + std::to_string(detail);
}

result<enhanced_status> parse_enhanced_status(std::string_view text, std::size_t* length) {
  // class = "2" / "4" / "5"
  if (text.empty() || (text[0] != '2' && text[0] != '4' && text[0] != '5'))
    return parse_error{error::bad_enhanced_status, 0};
  if (text.size() < 2 || text[1] != '.') return parse_error{error::bad_enhanced_status, 1};
  enhanced_status s;
  s.klass = static_cast<std::uint8_t>(text[0] - '0');
  std::size_t pos = 2;
  if (auto e = parse_status_field(text, pos, s.subject); e.code != error::ok) return e;
  if (pos >= text.size() || text[pos] != '.') return parse_error{error::bad_enhanced_status, pos};
  ++pos;
  if (auto e = parse_status_field(text, pos, s.detail); e.code != error::ok) return e;
  // RFC 2034 section 3 (4): "always followed by one or more spaces"; the end of
  // the line is accepted too (a status with no further text).
  if (pos < text.size() && text[pos] != ' ') return parse_error{error::bad_enhanced_status, pos};
  if (length) *length = pos;
  return s;
}

// ---- reply --------------------------------------------------------------------------

std::string reply::to_wire() const {
  std::string out;
  const std::size_t n = lines.empty() ? 1 : lines.size();
  std::size_t size = 0;
  for (const auto& l : lines) size += l.size() + 6;
  out.reserve(size + 6);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view text = lines.empty() ? std::string_view{} : std::string_view{lines[i]};
    append_code(out, code);
    const bool last = i + 1 == n;
    // 4.2: "-" on all lines but the last; the last has SP unless it was bare.
    if (!last) out.push_back('-');
    else if (!(missing_sp && text.empty())) out.push_back(' ');
    out.append(text);
    out.append("\r\n");
  }
  return out;
}

std::size_t reply::text_offset(std::size_t i) const noexcept {
  std::size_t off = 0;
  for (std::size_t k = 0; k < i && k < lines.size(); ++k) off += lines[k].size() + 6;
  const std::size_t n = lines.empty() ? 1 : lines.size();
  const bool bare_last = i + 1 == n && missing_sp && (lines.empty() || lines[i].empty());
  return off + (bare_last ? 3 : 4);
}

// ---- reply_parser (4.2) -----------------------------------------------------------

// What check_line learned about a line that passed.
struct reply_parser::line_head {
  std::uint16_t code = 0;
  bool last = false;
  bool utf8 = false;
  std::string_view text;
};

parse_error reply_parser::check_line(std::string_view line, line_head& head) const {
  // 4.5.3.1.5: at most 512 octets with the CRLF. Checked first, so that an endless
  // line costs nothing more than the caller's framing.
  if (line.size() > opt_.max_line_length) return {error::line_too_long, opt_.max_line_length};
  // Reply-code = %x32-35 %x30-35 %x30-39: exactly three digits (4.3.2).
  for (std::size_t i = 0; i < 3; ++i)
    if (i >= line.size() || !is_digit(line[i])) return {error::bad_reply_code, i};
  if (!opt_.allow_any_code) {
    if (line[0] < '2' || line[0] > '5') return {error::reply_code_out_of_range, 0};
    if (line[1] > '5') return {error::reply_code_out_of_range, 1};
  }
  head.code = static_cast<std::uint16_t>((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
  // Separator: "-" continues; SP or the end of the line ends the reply (4.2.1; the
  // bare code is accepted because 4.2 says clients SHOULD be prepared for it).
  if (line.size() == 3) {
    head.last = true;
  } else if (line[3] == '-' || line[3] == ' ') {
    head.last = line[3] == ' ';
    head.text = line.substr(4);
  } else {
    return {is_digit(line[3]) ? error::bad_reply_code : error::bad_reply_separator, 3};
  }
  // 4.2.1: "the reply code on each of the lines MUST be the same".
  if (state_ == state::in_reply && head.code != current_.code) return {error::reply_code_changed, 0};
  const std::size_t lines_so_far = state_ == state::in_reply ? current_.lines.size() : 0;
  if (lines_so_far >= opt_.max_lines) return {error::too_many_reply_lines, 0};
  parse_error e = check_text(head.text, opt_.allow_utf8, head.utf8);
  if (e.code != error::ok) e.offset += 4;
  return e;
}

void reply_parser::store_line(std::string_view text) {
  auto& lines = current_.lines;
  if (state_ == state::in_reply) {
    lines.emplace_back(text);
  } else if (lines.empty()) {
    lines.emplace_back(text);
  } else {
    // A new reply after peek(): keep the first string's and the vector's storage.
    lines.resize(1);
    lines.front().assign(text);
  }
}

parse_error reply_parser::feed_line(std::string_view line) {
  line_head head;
  if (const parse_error e = check_line(line, head); e.code != error::ok) {
    // Ready for a new reply; current_ keeps the lines before this one for take(reply&).
    state_ = state::idle;
    return e;
  }
  if (state_ != state::in_reply) {
    current_.code = head.code;
    current_.status.reset();
    current_.missing_sp = false;
    current_.utf8 = false;
  }
  store_line(head.text);
  current_.utf8 = current_.utf8 || head.utf8;
  if (!head.last) {
    state_ = state::in_reply;
    return {error::need_more, 0};
  }
  current_.missing_sp = line.size() == 3;
  if (auto s = parse_enhanced_status(current_.lines.front())) current_.status = *s;
  state_ = state::complete;
  return ok_result;
}

reply reply_parser::take() {
  reply out = std::move(current_);
  current_ = reply{};
  state_ = state::idle;
  return out;
}

void reply_parser::take(reply& out) noexcept {
  std::swap(out, current_);
  state_ = state::idle;
}

void reply_parser::reset() {
  current_.lines.clear();
  current_.status.reset();
  current_.code = 0;
  current_.missing_sp = false;
  current_.utf8 = false;
  state_ = state::idle;
}

// ---- whole replies ------------------------------------------------------------------

result<reply> parse_reply(std::string_view wire, const reply_parser_options& opt) {
  reply_parser parser(opt);
  std::size_t pos = 0;
  while (pos < wire.size()) {
    const std::size_t lf = wire.find('\n', pos);
    if (lf == std::string_view::npos) break;  // unterminated: truncated below
    // 2.3.8: only CRLF ends a line.
    if (lf == pos || wire[lf - 1] != '\r') return parse_error{error::bare_lf, lf};
    const std::string_view line = wire.substr(pos, lf - 1 - pos);
    if (const std::size_t cr = line.find('\r'); cr != std::string_view::npos)
      return parse_error{error::bare_cr, pos + cr};
    const parse_error e = parser.feed_line(line);
    if (e.code == error::ok) {
      // Exactly one reply.
      if (lf + 1 != wire.size()) return parse_error{error::trailing_characters, lf + 1};
      return parser.take();
    }
    if (e.code != error::need_more) return parse_error{e.code, pos + e.offset};
    pos = lf + 1;
  }
  return parse_error{error::truncated_reply, wire.size()};
}

// ---- Greeting (4.2) -------------------------------------------------------------------

namespace detail {
parse_error check_host(std::string_view host, bool allow_literal) noexcept {
  if (allow_literal && !host.empty() && host.front() == '[') return check_address_literal(host);
  return check_domain(host);
}
}  // namespace detail

parse_error check_greeting(const reply& r) {
  // Greeting = "220 " / "220-" (Domain / address-literal) [ SP textstring ] ...
  if (r.code != 220) return {error::bad_greeting, 0};
  const std::string_view text = r.lines.empty() ? std::string_view{} : std::string_view{r.lines.front()};
  const std::size_t base = r.text_offset(0);
  const std::string_view host = text.substr(0, text.find(' '));
  if (host.empty()) return {error::bad_greeting, base};
  if (const parse_error e = detail::check_host(host, true); e.code != error::ok)
    return {error::bad_greeting, base + e.offset};
  // The rest is [ SP textstring ], already textstring-checked by the parser. A
  // lone trailing SP (textstring empty) is tolerated: "220 d  " with two SPs is
  // valid, so rejecting one SP would judge nothing of value.
  return ok_result;
}

// ---- ENHANCEDSTATUSCODES (RFC 2034 section 4) -----------------------------------------

parse_error check_enhanced_status(const reply& r, bool require_same) {
  const int klass = r.klass();
  // "These codes must appear in all 2xx, 4xx, and 5xx response lines"; 3xx are NOT.
  if (klass != 2 && klass != 4 && klass != 5) return ok_result;
  const std::size_t n = r.lines.empty() ? 1 : r.lines.size();
  std::optional<enhanced_status> first;
  for (std::size_t i = 0; i < n; ++i) {
    const std::string_view text = r.lines.empty() ? std::string_view{} : std::string_view{r.lines[i]};
    const std::size_t base = r.text_offset(i);
    auto s = parse_enhanced_status(text);
    if (!s) return {s.error().code, base + s.error().offset};
    // "a 2xx response must incorporate a 2.X.X code" and so on.
    if (s->klass != klass) return {error::enhanced_status_class_mismatch, base};
    if (!first) first = *s;
    else if (require_same && *s != *first) return {error::bad_enhanced_status, base};
  }
  return ok_result;
}

}  // namespace smtpspec::reference
