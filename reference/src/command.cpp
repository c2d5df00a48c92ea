// The SMTP command parser.
//
// Implements:
//   RFC 5321 2.4       verbs and argument keywords are case-insensitive
//   RFC 5321 4.1.1     verbs; "SP" between verb and argument; RSET/DATA/QUIT take
//                      no parameters (501, 4.3.2); receivers tolerate trailing
//                      white space (leniency::trailing_whitespace)
//   RFC 5321 4.1.1.1   ehlo = "EHLO" SP ( Domain / address-literal ),
//                      helo = "HELO" SP Domain
//   RFC 5321 4.1.1.2   mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]
//   RFC 5321 4.1.1.3   rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" /
//                      "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]
//   RFC 5321 4.1.1.4-10 data, rset, vrfy, expn, help, noop, quit
//   RFC 5321 4.1.2     Mail-parameters, esmtp-param, esmtp-keyword, esmtp-value
//                      (paths and addresses: address.cpp)
//   RFC 5321 4.5.3.1.4 command line at most 512 octets including CRLF
//   RFC 3207 4         "STARTTLS" CRLF
//   RFC 4954 4         "AUTH" SP sasl-mech [SP initial-response];
//                      initial-response = base64 / "=" (base64 from its section 8);
//                      sasl-mech = 1*20 mech-char (RFC 4422 3.1)
//   RFC 3030 2         "BDAT" SP chunk-size [SP end-marker]; chunk-size = 1*DIGIT;
//                      end-marker = "LAST"
//   RFC 6531 3.3       esmtp-value =/ UTF8-non-ascii (with SMTPUTF8)
//   RFC 6531 3.7.1     EHLO carries only ASCII domains (LDH labels or A-labels)
//   RFC 6531 3.7.4.2   vrfy/expn = ... SP String [ SP "SMTPUTF8" ]
//
// Decisions where the RFCs leave room (each is exercised in command_test.cpp):
//   * The verb is the run of octets up to the first SP or control character. A run
//     that is not a known verb is unknown_verb (500); a known verb followed by a
//     control character (e.g. HTAB) is bad_verb_separator (501).
//   * line_too_long is checked before anything else: it is a framing limit that a
//     line reader enforces before the grammar is looked at (4.5.3.1.4).
//   * VRFY/EXPN: 4.1.1.6 says String (Atom / Quoted-string), but 3.5.1 says the
//     argument is "a user name or a user name and domain" and 3.5.3 that servers
//     SHOULD accept the "local-part@domain" form. Accepted: Local-part (64-octet
//     limit of 4.5.3.1.1, "user name or other local-part") or Mailbox, then an
//     optional " SMTPUTF8". UTF-8 in the string is allowed with command_options::
//     smtputf8 or when the command carries SMTPUTF8 (6531 3.7.4.2).
//   * HELP/NOOP take exactly [ SP String ]; "NOOP " (SP, no String) is
//     missing_argument unless trailing_whitespace leniency strips the SP. A
//     malformed Atom is reported as bad_local_part (no error value of its own).
//   * After a complete argument, SP plus anything is trailing_characters at the SP;
//     other octets get the argument's own error (e.g. bad_domain for "EHLO a_b").
//   * EHLO/HELO domains are parsed without SMTPUTF8 (6531 3.7.1) but with the
//     eight_bit leniency when set.
//   * AUTH: the mechanism is accepted in any case (5321 2.4; RFC 4422 names are
//     upper case); the initial response is kept as sent.
//   * The eight_bit leniency applies where SMTPUTF8 would allow UTF8-non-ascii;
//     with smtputf8 set, UTF-8 must be well-formed whatever the leniency.
//   * A duplicate esmtp-keyword (compared case-insensitively) is reported at the
//     start of its second occurrence.
#include "smtpspec/reference/command.hpp"

#include <array>
#include <limits>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reference {
namespace {

// --- character classes -------------------------------------------------------------
enum : std::uint8_t {
  k_alnum = 1u << 0,    // ALPHA / DIGIT (first octet of an esmtp-keyword)
  k_keyword = 1u << 1,  // ALPHA / DIGIT / "-" (esmtp-keyword)
  k_value = 1u << 2,    // esmtp-value %d33-60 / %d62-126
  k_base64 = 1u << 3,   // base64-char = ALPHA / DIGIT / "+" / "/"
  k_mech = 1u << 4,     // mech-char = UPPER-ALPHA / DIGIT / "-" / "_" (any case)
  k_digit = 1u << 5,    // DIGIT
  k_verb_end = 1u << 6, // SP or a control character: ends the verb
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    std::uint8_t v = 0;
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    const bool digit = c >= '0' && c <= '9';
    if (alpha || digit) v |= k_alnum | k_keyword | k_base64 | k_mech;
    if (c == '-') v |= k_keyword | k_mech;
    if (c == '_') v |= k_mech;
    if (c == '+' || c == '/') v |= k_base64;
    if ((c >= 33 && c <= 60) || (c >= 62 && c <= 126)) v |= k_value;
    if (digit) v |= k_digit;
    if (c == ' ' || c < 0x20 || c == 0x7f) v |= k_verb_end;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}
constexpr auto k_classes = make_classes();

constexpr bool is(unsigned char c, std::uint8_t cls) noexcept { return (k_classes[c] & cls) != 0; }

unsigned char octet(std::string_view s, std::size_t i) noexcept { return static_cast<unsigned char>(s[i]); }


/// Same octet classification as address.cpp: NUL, controls and 8-bit (where only
/// ASCII is allowed) before the production's own error.
error misfit(unsigned char c, error fallback, bool eight_ok) noexcept {
  if (c == 0) return error::nul_octet;
  if (c < 0x20 || c == 0x7f) return error::control_character;
  if (c >= 0x80 && !eight_ok) return error::eight_bit_octet;
  return fallback;
}

error misfit_at(std::string_view s, std::size_t pos, error fallback, bool eight_ok) noexcept {
  return pos >= s.size() ? fallback : misfit(octet(s, pos), fallback, eight_ok);
}

parse_error shifted(const parse_error& e, std::size_t by) noexcept { return {e.code, e.offset + by}; }

// --- verbs ------------------------------------------------------------------------
// Four-letter verbs are compared as one 32-bit word with the case bit forced: for
// an octet b and a lower-case letter l, (b | 0x20) == l only if b is l or its upper
// case, so the comparison is exact.
constexpr std::uint32_t pack4(const char (&s)[5]) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[3])) << 24;
}

std::uint32_t load4_folded(const char* s) noexcept {
  return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[0])) |
          static_cast<std::uint32_t>(static_cast<unsigned char>(s[1])) << 8 |
          static_cast<std::uint32_t>(static_cast<unsigned char>(s[2])) << 16 |
          static_cast<std::uint32_t>(static_cast<unsigned char>(s[3])) << 24) |
         0x20202020u;
}

verb lookup_verb(std::string_view w) noexcept {
  if (w.size() == 4) {
    switch (load4_folded(w.data())) {
      case pack4("ehlo"): return verb::ehlo;
      case pack4("helo"): return verb::helo;
      case pack4("mail"): return verb::mail;
      case pack4("rcpt"): return verb::rcpt;
      case pack4("data"): return verb::data;
      case pack4("rset"): return verb::rset;
      case pack4("vrfy"): return verb::vrfy;
      case pack4("expn"): return verb::expn;
      case pack4("help"): return verb::help;
      case pack4("noop"): return verb::noop;
      case pack4("quit"): return verb::quit;
      case pack4("auth"): return verb::auth;
      case pack4("bdat"): return verb::bdat;
      default: return verb::unknown;
    }
  }
  if (w.size() == 8 && load4_folded(w.data()) == pack4("star") && load4_folded(w.data() + 4) == pack4("ttls"))
    return verb::starttls;
  return verb::unknown;
}

// --- shared pieces ----------------------------------------------------------------

/// At an octet >= 0x80 where RFC 6531 3.3 allows UTF8-non-ascii (esmtp-value):
/// the number of octets to consume, or 0 with `e` / `at` set.
std::size_t take_non_ascii(std::string_view s, std::size_t pos, const address_options& a, error& e,
                           std::size_t& at) noexcept {
  if (a.smtputf8) {
    const utf8_char u = decode_utf8(s.substr(pos));
    if (u.length == 0) {
      e = error::bad_utf8;
      at = pos + u.bad;
    }
    return u.length;
  }
  if (a.allow_8bit) return 1;
  e = error::eight_bit_octet;
  at = pos;
  return 0;
}

/// Whether `keyword` already names one of the (validated) params in `earlier`.
bool seen_keyword(std::string_view earlier, std::string_view keyword) noexcept {
  std::size_t i = 0;
  while (i < earlier.size()) {
    std::size_t j = i;
    while (j < earlier.size() && earlier[j] != '=' && earlier[j] != ' ') ++j;
    if (iequals(earlier.substr(i, j - i), keyword)) return true;
    while (j < earlier.size() && earlier[j] != ' ') ++j;
    i = j + 1;
  }
  return false;
}

/// Mail-parameters / Rcpt-parameters = esmtp-param *(SP esmtp-param), from `from`
/// to the end of the line; esmtp-param = esmtp-keyword ["=" esmtp-value].
parse_error parse_params(command& cmd, std::string_view text, std::size_t from, const address_options& a) {
  const bool eight = a.smtputf8 || a.allow_8bit;
  const std::size_t n = text.size();
  std::size_t pos = from;
  for (;;) {
    // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    const std::size_t key = pos;
    if (pos >= n || !is(octet(text, pos), k_alnum))
      return {misfit_at(text, pos, error::bad_parameter, false), pos};
    ++pos;
    while (pos < n && is(octet(text, pos), k_keyword)) ++pos;
    if (seen_keyword(text.substr(from, key - from), text.substr(key, pos - key)))
      return {error::duplicate_parameter, key};
    if (pos < n && text[pos] == '=') {
      // esmtp-value = 1*(%d33-60 / %d62-126); RFC 6531 3.3 adds UTF8-non-ascii
      ++pos;
      const std::size_t value = pos;
      while (pos < n) {
        const unsigned char c = octet(text, pos);
        if (is(c, k_value)) {
          ++pos;
          continue;
        }
        if (c < 0x80) break;
        error e = error::ok;
        std::size_t at = pos;
        const std::size_t len = take_non_ascii(text, pos, a, e, at);
        if (len == 0) return {e, at};
        pos += len;
      }
      if (pos == value) return {misfit_at(text, pos, error::bad_parameter, eight), pos};
    }
    if (pos == n) break;
    if (text[pos] != ' ') return {misfit(octet(text, pos), error::bad_parameter, eight), pos};
    ++pos;  // SP: another esmtp-param must follow
  }
  cmd.params = esmtp_params(text.substr(from));
  return {};
}

// --- per-verb argument rules --------------------------------------------------------
// Each takes the (possibly trimmed) line and the offset `k` just after the verb:
// text[k] is SP, or k == text.size() when there is no argument.

/// DATA, RSET, QUIT (4.1.1), STARTTLS (RFC 3207 4): no parameters.
parse_error parse_no_argument(std::string_view text, std::size_t k) noexcept {
  if (k < text.size()) return {error::unexpected_argument, k};
  return {};
}

/// ehlo = "EHLO" SP ( Domain / address-literal ); helo = "HELO" SP Domain (4.1.1.1),
/// or an address literal for HELO too with leniency::helo_address_literal.
parse_error parse_hello(command& cmd, std::string_view text, std::size_t k, const address_options& a,
                        bool helo_literal) {
  if (k >= text.size()) return {error::missing_argument, k};
  const std::size_t at = k + 1;
  const std::string_view arg = text.substr(at);
  if (arg.empty()) return {error::missing_argument, at};
  const std::size_t sp = arg.find(' ');  // neither a Domain nor a literal holds SP
  const std::string_view token = arg.substr(0, sp);
  if ((cmd.kind == verb::ehlo || helo_literal) && !token.empty() && token.front() == '[') {
    const auto literal = parse_address_literal(token);
    if (!literal) return shifted(literal.error(), at);
    cmd.domain_kind = *literal;
  } else {
    const auto domain = parse_domain(token, a);
    if (!domain) return shifted(domain.error(), at);
    cmd.domain_kind = host_kind::domain;
  }
  cmd.domain = token;
  if (sp != std::string_view::npos) return {error::trailing_characters, at + sp};
  return {};
}

/// mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] (4.1.1.2);
/// rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )
///        [SP Rcpt-parameters] (4.1.1.3).
parse_error parse_mail_rcpt(command& cmd, std::string_view text, std::size_t k, const command_options& opt,
                            const address_options& a) {
  const bool mail = cmd.kind == verb::mail;
  const std::string_view keyword = mail ? "from:" : "to:";  // case-insensitive (2.4)
  const error missing = mail ? error::missing_from : error::missing_to;
  std::size_t pos = k;
  if (pos >= text.size()) return {missing, pos};
  ++pos;  // SP
  for (const char c : keyword) {
    if (pos >= text.size() || ascii_lower(text[pos]) != c) return {missing, pos};
    ++pos;
  }
  if (has(opt.lenient, leniency::space_after_colon))
    while (pos < text.size() && text[pos] == ' ') ++pos;
  // "<Postmaster@" Domain ">" is a Forward-path as well; only "<Postmaster>" is
  // special (4.1.1.3).
  const parse_error e = parse_path_into(text.substr(pos), mail, !mail, a, cmd.address);
  if (e.code != error::ok) return shifted(e, pos);
  pos += cmd.address.text.size();
  if (pos == text.size()) return {};
  if (text[pos] != ' ') return {misfit(octet(text, pos), error::trailing_characters, a.smtputf8 || a.allow_8bit), pos};
  return parse_params(cmd, text, pos + 1, a);
}

/// vrfy / expn = "VRFY" / "EXPN" SP String [ SP "SMTPUTF8" ] (4.1.1.6, 4.1.1.7,
/// RFC 6531 3.7.4.2), String widened to Local-part / Mailbox (3.5.1, 3.5.3).
parse_error parse_user(command& cmd, std::string_view text, std::size_t k, address_options a) {
  if (k >= text.size()) return {error::missing_argument, k};
  const std::size_t at = k + 1;
  const std::string_view arg = text.substr(at);
  if (arg.empty()) return {error::missing_argument, at};
  constexpr std::string_view suffix = " smtputf8";
  std::string_view body = arg;
  if (arg.size() > suffix.size() && iequals(arg.substr(arg.size() - suffix.size()), suffix)) {
    body = arg.substr(0, arg.size() - suffix.size());
    cmd.smtputf8_param = true;
    a.smtputf8 = true;  // "String may include Non-ASCII characters"
  }
  const auto local = parse_local_part(body, a);
  if (!local) return shifted(local.error(), at);
  std::size_t end = local->size();
  if (end < body.size() && body[end] == '@') {
    const std::string_view box = body.substr(0, body.find(' ', end));  // a host holds no SP
    const auto m = parse_mailbox(box, a);
    if (!m) return shifted(m.error(), at);
    end = box.size();
  }
  cmd.string_arg = body.substr(0, end);
  if (end == body.size()) return {};
  if (body[end] == ' ') return {error::trailing_characters, at + end};
  const error own = local->front() == '"' ? error::bad_quoted_string : error::bad_local_part;
  return {misfit(octet(body, end), own, a.smtputf8 || a.allow_8bit), at + end};
}

/// help = "HELP" [ SP String ]; noop = "NOOP" [ SP String ] (4.1.1.8, 4.1.1.9).
parse_error parse_optional_string(command& cmd, std::string_view text, std::size_t k, const address_options& a) {
  if (k >= text.size()) return {};
  const std::size_t at = k + 1;
  const std::string_view arg = text.substr(at);
  if (arg.empty()) return {error::missing_argument, at};
  const auto s = parse_string(arg, a);
  if (!s) return shifted(s.error(), at);
  cmd.string_arg = *s;
  const std::size_t end = s->size();
  if (end == arg.size()) return {};
  if (arg[end] == ' ') return {error::trailing_characters, at + end};
  const error own = s->front() == '"' ? error::bad_quoted_string : error::bad_local_part;
  return {misfit(octet(arg, end), own, a.smtputf8 || a.allow_8bit), at + end};
}

/// initial-response = base64 / "=" (RFC 4954 4); base64 = base64-terminal /
/// ( 1*(4base64-char) [base64-terminal] ); base64-terminal = (2base64-char "==") /
/// (3base64-char "=") (RFC 4954 8). Returns the offset where it ends.
parse_error scan_initial_response(std::string_view text, std::size_t& pos) noexcept {
  const std::size_t n = text.size();
  if (pos < n && text[pos] == '=') {  // "=": an empty response
    ++pos;
    return {};
  }
  std::size_t chars = 0;
  while (pos < n && is(octet(text, pos), k_base64)) {
    ++pos;
    ++chars;
  }
  const std::size_t tail = chars % 4;
  if (pos < n && text[pos] == '=') {
    if (tail < 2) return {error::bad_auth_response, pos};  // padding after 0 or 1 chars
    for (std::size_t pad = 4 - tail; pad > 0; --pad) {
      if (pos >= n || text[pos] != '=') return {misfit_at(text, pos, error::bad_auth_response, false), pos};
      ++pos;
    }
  } else if (chars == 0 || tail != 0) {
    return {misfit_at(text, pos, error::bad_auth_response, false), pos};
  }
  return {};
}

/// auth-command = "AUTH" SP sasl-mech [SP initial-response] (RFC 4954 4);
/// sasl-mech = 1*20mech-char (RFC 4422 3.1).
parse_error parse_auth(command& cmd, std::string_view text, std::size_t k) {
  const std::size_t n = text.size();
  if (k >= n) return {error::missing_argument, k};
  std::size_t pos = k + 1;
  const std::size_t mech = pos;
  while (pos < n && is(octet(text, pos), k_mech)) {
    if (pos - mech == 20) return {error::bad_auth_mechanism, pos};  // 1*20
    ++pos;
  }
  if (pos == mech) {
    if (pos == n) return {error::missing_argument, pos};
    return {misfit(octet(text, pos), error::bad_auth_mechanism, false), pos};
  }
  cmd.mechanism = text.substr(mech, pos - mech);
  if (pos == n) return {};
  if (text[pos] != ' ') return {misfit(octet(text, pos), error::bad_auth_mechanism, false), pos};
  ++pos;
  const std::size_t response = pos;
  const parse_error e = scan_initial_response(text, pos);
  if (e.code != error::ok) return e;
  cmd.initial_response = text.substr(response, pos - response);
  if (pos == n) return {};
  if (text[pos] == ' ') return {error::trailing_characters, pos};
  return {misfit(octet(text, pos), error::bad_auth_response, false), pos};
}

/// bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ]; chunk-size = 1*DIGIT;
/// end-marker = "LAST" (RFC 3030 2). A size beyond 2^64 - 1 is bad_chunk_size.
parse_error parse_bdat(command& cmd, std::string_view text, std::size_t k) {
  const std::size_t n = text.size();
  if (k >= n) return {error::missing_argument, k};
  std::size_t pos = k + 1;
  if (pos == n) return {error::missing_argument, pos};
  if (!is(octet(text, pos), k_digit)) return {misfit(octet(text, pos), error::bad_chunk_size, false), pos};
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t size = 0;
  while (pos < n && is(octet(text, pos), k_digit)) {
    const auto digit = static_cast<std::uint64_t>(text[pos] - '0');
    if (size > (max - digit) / 10) return {error::bad_chunk_size, pos};  // would overflow
    size = size * 10 + digit;
    ++pos;
  }
  cmd.chunk_size = size;
  if (pos == n) return {};
  if (text[pos] != ' ') return {misfit(octet(text, pos), error::bad_chunk_size, false), pos};
  ++pos;
  for (const char c : std::string_view("last")) {  // case-insensitive (2.4)
    if (pos >= n || ascii_lower(text[pos]) != c)
      return {misfit_at(text, pos, error::bad_bdat_argument, false), pos};
    ++pos;
  }
  cmd.last = true;
  if (pos == n) return {};
  if (text[pos] == ' ') return {error::trailing_characters, pos};
  return {misfit(octet(text, pos), error::bad_bdat_argument, false), pos};
}

std::string_view trim_trailing_whitespace(std::string_view s) noexcept {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

// --- esmtp_params -------------------------------------------------------------------

esmtp_params::iterator::iterator(std::string_view rest) : rest_(rest), done_(false) { load(); }

void esmtp_params::iterator::load() {
  if (rest_.empty()) {
    rest_ = {};
    done_ = true;
    return;
  }
  const std::string_view token = rest_.substr(0, rest_.find(' '));
  const std::size_t eq = token.find('=');
  current_.keyword = token.substr(0, eq);
  current_.has_value = eq != std::string_view::npos;
  current_.value = current_.has_value ? token.substr(eq + 1) : std::string_view{};
}

esmtp_params::iterator& esmtp_params::iterator::operator++() {
  const std::size_t sp = rest_.find(' ');
  if (sp == std::string_view::npos) {
    rest_ = {};
    done_ = true;
    current_ = {};
    return *this;
  }
  rest_.remove_prefix(sp + 1);
  load();
  return *this;
}

std::size_t esmtp_params::size() const {
  std::size_t count = 0;
  for (auto it = begin(); it != end(); ++it) ++count;
  return count;
}

std::optional<esmtp_param> esmtp_params::find(std::string_view keyword) const {
  for (const auto& p : *this)
    if (iequals(p.keyword, keyword)) return p;
  return std::nullopt;
}

// --- verbs ----------------------------------------------------------------------------

std::string_view to_string(verb v) noexcept {
  switch (v) {
    case verb::ehlo: return "EHLO";
    case verb::helo: return "HELO";
    case verb::mail: return "MAIL";
    case verb::rcpt: return "RCPT";
    case verb::data: return "DATA";
    case verb::rset: return "RSET";
    case verb::vrfy: return "VRFY";
    case verb::expn: return "EXPN";
    case verb::help: return "HELP";
    case verb::noop: return "NOOP";
    case verb::quit: return "QUIT";
    case verb::starttls: return "STARTTLS";
    case verb::auth: return "AUTH";
    case verb::bdat: return "BDAT";
    case verb::unknown: break;
  }
  return "";
}

verb verb_from_string(std::string_view name) noexcept { return lookup_verb(name); }

// --- parse_command ---------------------------------------------------------------------

namespace {

/// parse_command() into a default-constructed `cmd` (built in place in the result,
/// so that the success path copies nothing large).
parse_error parse_into(command& cmd, std::string_view line, const command_options& opt) {
  // 4.5.3.1.4: the line plus its CRLF; the first octet past the limit is at max - 2.
  if (line.size() + 2 > opt.max_line) return {error::line_too_long, opt.max_line >= 2 ? opt.max_line - 2 : 0};

  // 4.1.1: "SMTP receivers SHOULD tolerate trailing white space" (leniency).
  const std::string_view text =
      has(opt.lenient, leniency::trailing_whitespace) ? trim_trailing_whitespace(line) : line;
  if (text.empty()) return {error::empty_line, 0};

  std::size_t k = 0;
  while (k < text.size() && !is(octet(text, k), k_verb_end)) ++k;
  cmd.line = line;
  cmd.verb_text = text.substr(0, k);
  cmd.kind = lookup_verb(cmd.verb_text);
  if (cmd.kind == verb::unknown) return {error::unknown_verb, 0};
  if (k < text.size() && text[k] != ' ') return {error::bad_verb_separator, k};
  cmd.argument = k < text.size() ? text.substr(k + 1) : text.substr(k);

  address_options a;
  a.smtputf8 = opt.smtputf8;
  a.allow_8bit = has(opt.lenient, leniency::eight_bit);
  a.allow_missing_brackets = has(opt.lenient, leniency::missing_angle_brackets);

  parse_error e;
  switch (cmd.kind) {
    case verb::ehlo:
    case verb::helo: {
      address_options ascii = a;  // RFC 6531 3.7.1: EHLO domains are ASCII
      ascii.smtputf8 = false;
      e = parse_hello(cmd, text, k, ascii, has(opt.lenient, leniency::helo_address_literal));
      break;
    }
    case verb::mail:
    case verb::rcpt: e = parse_mail_rcpt(cmd, text, k, opt, a); break;
    case verb::vrfy:
    case verb::expn: e = parse_user(cmd, text, k, a); break;
    case verb::help:
    case verb::noop: e = parse_optional_string(cmd, text, k, a); break;
    case verb::auth: e = parse_auth(cmd, text, k); break;
    case verb::bdat: e = parse_bdat(cmd, text, k); break;
    case verb::data:
    case verb::rset:
    case verb::quit:
    case verb::starttls: e = parse_no_argument(text, k); break;
    case verb::unknown: break;
  }
  return e;
}

}  // namespace

result<command> parse_command(std::string_view line, const command_options& opt) {
  result<command> out{command{}};
  const parse_error e = parse_into(*out, line, opt);
  if (e.code != error::ok) out = result<command>(e);
  return out;  // the one named return value: no copy
}

std::uint16_t reply_code_for(error e) noexcept {
  // 4.2.2 / 4.3.2: 500 "Syntax error, command unrecognized (This may include errors
  // such as command line too long)"; 501 "Syntax error in parameters or arguments".
  switch (e) {
    case error::unknown_verb:
    case error::line_too_long: return 500;
    default: return 501;
  }
}

}  // namespace smtpspec::reference
