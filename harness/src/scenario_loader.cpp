// Loads scenario files (scenarios/FORMAT.md is the reference of the format).
//
// Every problem becomes a load_error with file:line:col; nothing here throws out
// of the public functions and nothing aborts. toml++ stops at the first syntax
// error; everything after that (schema checks) collects all errors of a file.
//
// toml++ 3.3 guards (shared/toolchain.md item 2):
//  - Its whitespace classifier is_non_ascii_horizontal_whitespace() reaches
//    __builtin_unreachable() for U+00A1..U+0499, U+2C5E..U+3057 (but U+3000) and
//    U+FB26..U+FEFE, and the parser calls it on the code points where syntax may
//    follow, including inside a value it scans ahead ("x = 1é") and inside
//    """ strings after a line-ending backslash. That is undefined behaviour in the
//    shared library too. class stand_ins replaces those code points, before toml++
//    reads the text, by code points of the same UTF-8 length that toml++ handles
//    and the file does not hold, then restores them in every string and message.
//    Positions do not move; non-ASCII text loads wherever TOML allows it.
//  - Its TOML_ASSERT_ASSUME checks abort debug builds (e.g. a header-only fuzz
//    build) and are undefined behaviour in clang release builds on inputs found
//    by fuzzing: a table header without a name ("[!]"), an array value starting
//    with '}' ("[}"), a date-time without a time ("1979-05-27T=", "1979-05-27 0,").
//    (The Debian shared library is built with NDEBUG by gcc: there they are no-ops.)
//    class screener rejects those first, and text that is not UTF-8 (so that the
//    error has a line and column).
#include "smtpspec/harness/scenario_loader.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::harness {

std::string load_error::to_string() const { return where.to_string() + ": " + message; }

namespace {

namespace fs = std::filesystem;
using namespace std::string_view_literals;
using key_list = std::span<const std::string_view>;

constexpr std::array k_variables{"client"sv, "from"sv, "to"sv,       "domain"sv,     "to2"sv,    "reject"sv,
                                 "nonce"sv,  "user"sv, "password"sv, "auth_plain"sv, "user64"sv, "password64"sv};

constexpr std::array k_root_keys{"suite"sv, "case"sv};
constexpr std::array k_suite_keys{"name"sv, "title"sv, "role"sv};
constexpr std::array k_client_case_keys{"id"sv,      "title"sv,  "requirement"sv, "rfc"sv,   "level"sv, "tags"sv,
                                        "timeout"sv, "client"sv, "message"sv,     "server"sv, "check"sv};
constexpr std::array k_server_keys{"greeting"sv,    "greeting_delay"sv, "replies"sv,  "extensions"sv,
                                   "tls_extensions"sv, "auth_in_plaintext"sv, "max_size"sv, "delivery"sv};
constexpr std::array k_reply_keys{"to"sv, "nth"sv, "reply"sv, "delay"sv, "close"sv};
constexpr std::array k_client_check_keys{"message_equals_submitted"sv, "messages"sv, "must_send"sv,
                                         "must_not_send"sv, "plaintext_forbidden"sv, "first_after_tls"sv,
                                         "first_command"sv};
constexpr std::array k_reply_targets{"GREETING"sv, "END-OF-DATA"sv, "EHLO"sv, "HELO"sv, "MAIL"sv,     "RCPT"sv,
                                     "DATA"sv,     "BDAT"sv,        "RSET"sv, "VRFY"sv, "EXPN"sv,     "HELP"sv,
                                     "NOOP"sv,     "QUIT"sv,        "STARTTLS"sv, "AUTH"sv, "UNKNOWN"sv};
constexpr std::array k_case_keys{"id"sv,    "title"sv, "requirement"sv, "rfc"sv,   "level"sv, "tags"sv,
                                 "needs"sv, "tls"sv,   "timeout"sv,     "steps"sv, "step"sv,  "check"sv};
constexpr std::array k_actions{"send"sv,     "batch"sv, "raw"sv,  "raw_hex"sv,      "data"sv, "bdat"sv,
                               "starttls"sv, "wait"sv,  "read"sv, "expect_close"sv, "close"sv};
constexpr std::array k_step_keys{"send"sv,        "batch"sv, "raw"sv,      "raw_hex"sv,      "data"sv,  "bdat"sv,
                                 "starttls"sv,    "wait"sv,  "read"sv,     "expect_close"sv, "close"sv, "expect"sv,
                                 "expect_each"sv, "split"sv, "bytewise"sv, "last"sv,         "size"sv,
                                 "fails_on"sv,    "precondition"sv};
constexpr std::array k_starttls_keys{"inject"sv};
constexpr std::array k_check_keys{"accepted_messages"sv, "delivered_contains"sv, "delivered_lacks"sv,
                                  "reply_content"sv};

constexpr std::uintmax_t k_max_file_size = 16u * 1024u * 1024u;
constexpr std::uint64_t k_max_repeat = 16777216;
constexpr double k_min_seconds = 0.001;
constexpr double k_max_seconds = 600.0;
constexpr std::size_t k_max_quoted = 60;

constexpr std::string_view k_expect_help =
    "a reply code from 200 to 599 (e.g. 503), a class such as \"5yz\", \"close\", \"none\", \"model\", "
    "or an array of codes and classes such as [250, 251]";

// ---------------------------------------------------------------------------
// Small text helpers

std::string join(key_list words, std::string_view separator = ", ") {
  std::string out;
  for (const auto word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

/// Text from a scenario file, made safe to show in one line of a message.
std::string shown(std::string_view text) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i >= k_max_quoted && (static_cast<unsigned char>(text[i]) & 0xc0) != 0x80) {  // not inside a UTF-8 sequence
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "'";
}

std::string key_name(std::string_view key) { return "'" + std::string(key) + "'"; }

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) noexcept { return is_digit(c) || (c >= 'a' && c <= 'z'); }
bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_bare_key_character(char c) noexcept { return is_alpha(c) || is_digit(c) || c == '_' || c == '-'; }

/// 0 to 15, or -1 if `c` is not a hex digit.
int hex_digit(char c) noexcept {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// [a-z0-9._-]+
bool is_name(std::string_view s) noexcept {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '.' || c == '_' || c == '-'; });
}

/// ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-") (RFC 5321 4.1.1.1)
bool is_ehlo_keyword(std::string_view s) noexcept {
  if (s.empty() || s.front() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; });
}

/// A `needs` entry: an ehlo-keyword, optionally followed by SP and one ehlo-param
/// (%d33-126, 4.1.1.1) that must be among the keyword's parameters, e.g. "AUTH PLAIN".
bool is_need(std::string_view s) noexcept {
  auto sp = s.find(' ');
  if (sp == std::string_view::npos) return is_ehlo_keyword(s);
  auto param = s.substr(sp + 1);
  return is_ehlo_keyword(s.substr(0, sp)) && !param.empty() &&
         std::all_of(param.begin(), param.end(), [](char c) { return c >= 33 && c <= 126; });
}

/// Parses a decimal number of at most `max_digits` digits (no sign).
std::optional<std::uint64_t> decimal(std::string_view s, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return std::nullopt;
  std::uint64_t value = 0;
  for (const char c : s) {
    if (!is_digit(c)) return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

// ---------------------------------------------------------------------------
// Error collection

class reporter {
 public:
  reporter(const std::string& file, std::vector<load_error>& errors) : file_(file), errors_(errors) {}

  source_position at(const toml::source_position& p) const {
    return {file_, static_cast<std::uint32_t>(p.line), static_cast<std::uint32_t>(p.column)};
  }
  source_position at(const toml::node& n) const { return at(n.source().begin); }

  void error(source_position where, std::string message) { errors_.push_back({std::move(where), std::move(message)}); }
  void error(const toml::node& n, std::string message) { error(at(n), std::move(message)); }

  const std::string& file() const noexcept { return file_; }

 private:
  const std::string& file_;
  std::vector<load_error>& errors_;
};

// ---------------------------------------------------------------------------
// Guarding toml++ 3.3 (see the comment at the top)

/// The well-formed UTF-8 character at text[i] (RFC 3629 4; length 0 when none
/// starts there). An ASCII octet is a character of length 1.
reference::utf8_char char_at(std::string_view text, std::size_t i) noexcept {
  return reference::decode_utf8(text.substr(i));
}

std::string hex_byte(unsigned char b) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  return std::string("0x") + k_hex[b >> 4] + k_hex[b & 15];
}

/// The value of exactly 4 or 8 hex digits (as in \uXXXX, \UXXXXXXXX).
std::optional<char32_t> hex_value(std::string_view digits) noexcept {
  if (digits.size() != 4 && digits.size() != 8) return std::nullopt;
  char32_t value = 0;
  for (const char c : digits) {
    const int nibble = hex_digit(c);
    if (nibble < 0) return std::nullopt;
    value = value * 16 + static_cast<char32_t>(nibble);
  }
  return value;
}

/// The code points for which toml++ 3.3's is_non_ascii_horizontal_whitespace()
/// reaches TOML_UNREACHABLE: the same arithmetic as unicode_autogenerated.h, where
/// the blocks 0, 11 and 63 of 0x3FA code points from U+00A0 have no switch case.
/// That is U+00A1..U+0499, U+2C5E..U+3057 but U+3000, and U+FB26..U+FEFE.
bool misread_by_tomlpp(char32_t cp) noexcept {
  if (cp <= 0xa0 || cp >= 0xfeff || cp == 0x3000) return false;
  const auto block = (cp - 0xa0) / 0x3fa;
  return block == 0 || block == 11 || block == 63;
}

/// The text toml++ reads: every code point it misreads is replaced by a stand-in
/// of the same UTF-8 length that toml++ handles well (so positions do not move)
/// and that the file does not otherwise hold; restore() maps them back.
class stand_ins {
 public:
  explicit stand_ins(std::string_view text) {  // `text` is valid UTF-8
    collect_used(text);
    text_.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
      const auto c = char_at(text, i);
      const auto n = std::max<std::size_t>(1, c.length);
      const auto cp = c.code_point;
      if (misread_by_tomlpp(cp)) {
        reference::append_utf8(text_, stand_in_for(cp, n));
      } else {
        text_.append(text, i, n);
      }
      i += n;
    }
  }

  bool ok() const noexcept { return ok_; }
  const std::string& text() const noexcept { return text_; }

  std::string restore(std::string_view s) const {
    if (back_.empty()) return std::string(s);
    std::string out;
    for (std::size_t i = 0; i < s.size();) {
      const auto c = char_at(s, i);
      const auto n = c.length;
      const auto it = n == 0 ? back_.end() : back_.find(c.code_point);
      if (it != back_.end()) {
        reference::append_utf8(out, it->second);
      } else {
        out.append(s, i, std::max<std::size_t>(1, n));
      }
      i += std::max<std::size_t>(1, n);
    }
    return out;
  }

  /// Restores every string value in a parsed tree.
  void restore(toml::node& n) const {
    if (back_.empty()) return;
    if (auto* t = n.as_table()) {
      for (auto&& [key, value] : *t) restore(value);
    } else if (auto* a = n.as_array()) {
      for (auto& value : *a) restore(value);
    } else if (auto* s = n.as_string()) {
      s->get() = restore(s->get());
    }
  }

 private:
  /// Every code point in the text, and those \uXXXX and \UXXXXXXXX escapes may produce.
  void collect_used(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
      const auto c = char_at(text, i);
      const auto n = std::max<std::size_t>(1, c.length);
      used_.insert(c.code_point);
      if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == 'u' || text[i + 1] == 'U')) {
        if (const auto escaped = hex_value(text.substr(i + 2, text[i + 1] == 'u' ? 4 : 8))) used_.insert(*escaped);
      }
      i += n;
    }
  }

  /// Stand-ins come from U+0500..U+07FF (2 octets) and U+4E00..U+9FFF (3 octets).
  char32_t stand_in_for(char32_t cp, std::size_t length) {
    if (const auto it = chosen_.find(cp); it != chosen_.end()) return it->second;
    char32_t& next = length == 2 ? next_two_ : next_three_;
    const char32_t last = length == 2 ? 0x7ff : 0x9fff;
    while (next <= last && used_.contains(next)) ++next;
    if (next > last) {
      ok_ = false;
      return cp;
    }
    chosen_.emplace(cp, next);
    back_.emplace(next, cp);
    return next++;
  }

  std::string text_;
  std::set<char32_t> used_;
  std::map<char32_t, char32_t> chosen_;  ///< original -> stand-in
  std::map<char32_t, char32_t> back_;    ///< stand-in -> original
  char32_t next_two_ = 0x500;
  char32_t next_three_ = 0x4e00;
  bool ok_ = true;
};

/// Checks, before toml++ reads the text, what toml++ 3.3 does not check itself:
/// that the text is UTF-8 (so that errors have a position), and the two places
/// where toml++ asserts what the input may break (TOML_ASSERT_ASSUME: an abort in
/// debug builds, undefined behaviour in clang release builds):
///  - parse_key() from a table header: "[!]" (the name must start with a key character);
///  - parse_value() from an array: "[}" (a value must not start with '}').
/// It follows strings and comments, so '[' and '}' in them are not looked at.
class screener {
 public:
  screener(std::string_view text, reporter& r) : text_(text), report_(r) {}

  bool run() {
    if (!valid_utf8()) return false;
    reset();
    if (text_.starts_with("\xEF\xBB\xBF")) index_ = 3;  // toml++ skips a byte order mark
    while (!at_end()) {
      if (!step()) return false;
    }
    return true;
  }

 private:
  bool valid_utf8() {
    reset();
    while (!at_end()) {
      if (char_at(text_, index_).length == 0) {
        return fail("the file is not valid UTF-8 (byte " + hex_byte(static_cast<unsigned char>(text_[index_])) +
                    "); scenario files must be UTF-8");
      }
      next();
    }
    return true;
  }

  /// One character (or string, or comment) outside strings.
  bool step() {
    const char c = text_[index_];
    if (c == '\n' || c == '\r' || c == ' ' || c == '\t') {
      line_start_ = line_start_ || c == '\n';
      next();
      return true;
    }
    if (c == '#') {
      while (!at_end() && !at('\n')) next();
      return true;
    }
    const bool header = line_start_ && open_.empty() && c == '[';
    line_start_ = false;
    if (header) return check_table_header();
    if (c == '"' || c == '\'') {
      skip_string(c);
      last_ = c;
      return true;
    }
    if (c == '}' && !open_.empty() && open_.back() == '[' && (last_ == '[' || last_ == ',')) {
      return fail("expected a value or ']', saw '}'");
    }
    if (value_start() && !check_date_time()) return false;
    if (c == '[' || c == '{') open_.push_back(c);
    if ((c == ']' || c == '}') && !open_.empty()) open_.pop_back();
    last_ = c;
    next();
    return true;
  }

  /// After '=', or where an array expects a value.
  bool value_start() const noexcept {
    return last_ == '=' || (!open_.empty() && open_.back() == '[' && (last_ == '[' || last_ == ','));
  }

  /// toml++ asserts a digit after "YYYY-MM-DDT", and after "YYYY-MM-DD D" (a date,
  /// a space, one digit) something that does not end a value.
  bool check_date_time() {
    const auto rest = text_.substr(index_);
    if (is_date(rest) && rest.size() > 10 && (rest[10] == 'T' || rest[10] == 't') &&
        !(rest.size() > 11 && is_digit(rest[11]))) {
      return fail("expected a time after the date's 'T'");
    }
    const auto end = std::min(rest.size(), value_end(rest));
    std::string token(rest.substr(0, end));
    std::erase(token, '_');
    if (is_date(token) && token.size() == 10 && token.find_first_not_of("0123456789-") == std::string::npos &&
        end + 2 < rest.size() && rest[end] == ' ' && is_digit(rest[end + 1]) && ends_value(rest, end + 2)) {
      return fail("expected a time after the date and the space");
    }
    return true;
  }

  static bool is_date(std::string_view s) noexcept {
    if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
    return std::all_of(s.begin(), s.begin() + 4, is_digit) && is_digit(s[5]) && is_digit(s[6]) && is_digit(s[8]) &&
           is_digit(s[9]);
  }

  /// Where toml++'s is_value_terminator() ends a value that starts at s[0] (toml++
  /// looks at most 127 characters ahead; so does this, more or less).
  static std::size_t value_end(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size() && i < 256 && !ends_value(s, i)) i += std::max<std::size_t>(1, char_at(s, i).length);
    return i;
  }

  /// toml++'s is_value_terminator() for the code point at s[i]: whitespace (with
  /// its non-ASCII whitespace), ']', '}', ',' or '#'.
  static bool ends_value(std::string_view s, std::size_t i) noexcept {
    if (i >= s.size()) return false;
    const auto c = char_at(s, i);
    const auto cp = c.length == 0 ? char32_t{0xfffd} : c.code_point;
    return (cp >= '\t' && cp <= '\r') || cp == ' ' || cp == ']' || cp == '}' || cp == ',' || cp == '#' || cp == 0x85 ||
           cp == 0xa0 || cp == 0x1680 || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200b) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x2060 || cp == 0x3000 || cp == 0xfeff;
  }

  void reset() {
    index_ = 0;
    line_ = 1;
    column_ = 1;
  }
  bool at_end() const noexcept { return index_ >= text_.size(); }
  bool at(char c, std::size_t ahead = 0) const noexcept {
    return index_ + ahead < text_.size() && text_[index_ + ahead] == c;
  }

  /// Moves past one code point.
  void next() noexcept {
    const auto c = text_[index_];
    index_ += std::max<std::size_t>(1, char_at(text_, index_).length);
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
  }

  bool fail(std::string message) {
    report_.error(source_position{report_.file(), line_, column_}, std::move(message));
    return false;
  }

  void skip_blanks() {
    while (at(' ') || at('\t')) next();
  }

  bool check_table_header() {
    next();  // '['
    if (at('[')) {
      next();  // "[[": an array of tables
    } else {
      skip_blanks();
      if (at('[')) return true;  // "[ [": toml++ reports it
    }
    skip_blanks();
    if (at_end() || at('"') || at('\'') || at(']') || is_bare_key_character(text_[index_])) return true;
    return fail("expected a table name after '[', saw " + shown(text_.substr(index_, char_at(text_, index_).length)));
  }

  void skip_string(char quote) {
    const bool multi_line = at(quote, 1) && at(quote, 2);
    next();
    if (!multi_line) {
      while (!at_end() && !at('\n')) {
        const char c = text_[index_];
        next();
        if (c == quote) return;
        if (c == '\\' && quote == '"' && !at_end() && !at('\n')) next();
      }
      return;
    }
    next();
    next();
    while (!at_end()) {
      if (at(quote)) {  // like toml++: 3 to 5 quotes end the string, 1 or 2 are content
        std::size_t run = 0;
        while (run < 5 && at(quote, run)) ++run;
        for (std::size_t k = 0; k < std::min<std::size_t>(run, 5); ++k) next();
        if (run >= 3) return;
        continue;
      }
      const bool backslash = at('\\');
      next();
      if (backslash && quote == '"' && !at_end()) next();
    }
  }

  std::string_view text_;
  reporter& report_;
  std::size_t index_ = 0;
  std::uint32_t line_ = 1;
  std::uint32_t column_ = 1;
  std::vector<char> open_;  ///< '[' and '{' of the arrays and inline tables being read
  bool line_start_ = true;  ///< only blanks so far on this line
  char last_ = '\n';        ///< the last character outside strings, comments and blanks
};

// ---------------------------------------------------------------------------
// Variables in step strings

struct variable_scan {
  std::string error;                  ///< empty when the text is fine
  std::string hint;                   ///< what to write instead, for the message
  std::optional<std::size_t> length;  ///< expanded length, when known at load time
};

std::string known_variables() { return join(k_variables) + ", repeat:N:TEXT; write {{ and }} for literal braces"; }

/// Checks "{repeat:N:TEXT}" (without braces); returns the expanded length or an error.
std::optional<std::size_t> scan_repeat(std::string_view inner, std::string& error, std::string& hint) {
  const auto rest = inner.substr("repeat:"sv.size());
  const auto colon = rest.find(':');
  const auto count = decimal(rest.substr(0, colon), 8);
  if (colon == std::string_view::npos || !count || *count < 1 || *count > k_max_repeat) {
    error = "bad variable " + shown("{" + std::string(inner) + "}");
    hint = "(expected {repeat:N:TEXT} with N from 1 to 16777216)";
    return std::nullopt;
  }
  const auto text = rest.substr(colon + 1);
  if (text.empty()) {
    error = "bad variable " + shown("{" + std::string(inner) + "}");
    hint = "(the TEXT to repeat is empty)";
    return std::nullopt;
  }
  return static_cast<std::size_t>(*count) * text.size();
}

variable_scan scan_variables(std::string_view text) {
  variable_scan out;
  std::size_t length = 0;
  bool known_length = true;
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if ((c == '{' || c == '}') && i + 1 < text.size() && text[i + 1] == c) {
      ++length;
      i += 2;
    } else if (c == '}') {
      out.error = "lone '}' at offset " + std::to_string(i);
      out.hint = "(write }} for a literal brace)";
      return out;
    } else if (c == '{') {
      const auto close = text.find('}', i + 1);
      if (close == std::string_view::npos) {
        out.error = "unclosed '{' at offset " + std::to_string(i);
        out.hint = "(write {{ for a literal brace)";
        return out;
      }
      const auto inner = text.substr(i + 1, close - i - 1);
      if (inner.starts_with("repeat:")) {
        const auto n = scan_repeat(inner, out.error, out.hint);
        if (!n) return out;
        length += *n;
      } else if (is_known_variable(inner)) {
        known_length = false;
      } else {
        out.error = "unknown variable " + shown("{" + std::string(inner) + "}");
        out.hint = "(known: " + known_variables() + ")";
        return out;
      }
      i = close + 1;
    } else {
      ++length;
      ++i;
    }
  }
  if (known_length) out.length = length;
  return out;
}

// ---------------------------------------------------------------------------
// Typed access to TOML values

void check_keys(reporter& r, const toml::table& t, key_list known, std::string_view where) {
  for (auto&& [key, value] : t) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      r.error(value, "unknown key " + shown(key.str()) + " in " + std::string(where) + " (known: " + join(known) + ")");
    }
  }
}

const toml::node* require(reporter& r, const toml::table& t, std::string_view key, std::string_view where) {
  const toml::node* n = t.get(key);
  if (n == nullptr) r.error(t, "missing required key " + key_name(key) + " in " + std::string(where));
  return n;
}

std::optional<std::string> string_of(reporter& r, const toml::node& n, std::string_view key) {
  if (const auto* s = n.as_string()) return s->get();
  r.error(n, key_name(key) + " must be a string");
  return std::nullopt;
}

std::optional<std::string> non_empty_string(reporter& r, const toml::node& n, std::string_view key) {
  auto s = string_of(r, n, key);
  if (s && s->empty()) {
    r.error(n, key_name(key) + " must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<bool> bool_of(reporter& r, const toml::node& n, std::string_view key) {
  if (const auto b = n.value_exact<bool>()) return b;
  r.error(n, key_name(key) + " must be true or false");
  return std::nullopt;
}

/// An integer from `min` to `max`; `what` completes "'key' must be ...".
std::optional<std::int64_t> integer_of(reporter& r, const toml::node& n, std::string_view key, std::int64_t min,
                                       std::int64_t max, std::string_view what) {
  const auto v = n.is_integer() ? n.value_exact<std::int64_t>() : std::nullopt;
  if (!v || *v < min || *v > max) {
    r.error(n, key_name(key) + " must be " + std::string(what));
    return std::nullopt;
  }
  return v;
}

std::optional<std::chrono::milliseconds> duration_of(reporter& r, const toml::node& n, std::string_view key) {
  std::optional<double> seconds;
  if (n.is_integer()) {
    if (const auto i = n.value_exact<std::int64_t>()) seconds = static_cast<double>(*i);
  } else if (n.is_floating_point()) {
    seconds = n.value_exact<double>();
  }
  if (!seconds || !(*seconds >= k_min_seconds && *seconds <= k_max_seconds)) {
    r.error(n, key_name(key) + " must be a number of seconds from 0.001 to 600");
    return std::nullopt;
  }
  return std::chrono::milliseconds(std::llround(*seconds * 1000.0));
}

/// A string whose variables are valid; fills `length` with the expanded length if known.
std::optional<std::string> text_of(reporter& r, const toml::node& n, std::string_view key,
                                   std::optional<std::size_t>* length = nullptr) {
  auto s = string_of(r, n, key);
  if (!s) return std::nullopt;
  const auto scan = scan_variables(*s);
  if (!scan.error.empty()) {
    r.error(n, scan.error + " in " + key_name(key) + " " + scan.hint);
    return std::nullopt;
  }
  if (length != nullptr) *length = scan.length;
  return s;
}

/// One command line: a text without CR or LF.
std::optional<std::string> line_of(reporter& r, const toml::node& n, std::string_view key) {
  auto s = text_of(r, n, key);
  if (s && s->find_first_of("\r\n") != std::string::npos) {
    r.error(n, key_name(key) + " must be one line without CR or LF (CRLF is appended; use raw for other octets)");
    return std::nullopt;
  }
  return s;
}

const toml::array* array_of(reporter& r, const toml::node& n, std::string_view key, std::string_view what) {
  const auto* a = n.as_array();
  if (a == nullptr || a->empty()) {
    r.error(n, key_name(key) + " must be " + std::string(what));
    return nullptr;
  }
  return a;
}

/// An array of strings, each checked by `valid` (else `what` completes the message).
template <typename Valid>
std::vector<std::string> word_list(reporter& r, const toml::node& n, std::string_view key, Valid valid,
                                   std::string_view what) {
  std::vector<std::string> out;
  const auto* a = n.as_array();
  if (a == nullptr) {
    r.error(n, key_name(key) + " must be an array of strings");
    return out;
  }
  for (const toml::node& e : *a) {
    const auto* s = e.as_string();
    if (s == nullptr || !valid(s->get())) {
      r.error(e, key_name(key) + " entries must be " + std::string(what));
      continue;
    }
    out.push_back(s->get());
  }
  return out;
}

// ---------------------------------------------------------------------------
// RFC references, levels, TLS modes

/// "5321#4.1.1.4" or "5321#D.1": RFC number, '#', section (digits, or an appendix letter, then .digits).
std::optional<results::rfc_ref> parse_rfc_ref(std::string_view s) {
  const auto hash = s.find('#');
  if (hash == std::string_view::npos || hash == 0 || s[0] == '0') return std::nullopt;
  const auto number = decimal(s.substr(0, hash), 5);
  if (!number || *number > std::numeric_limits<std::uint16_t>::max()) return std::nullopt;
  const auto section = s.substr(hash + 1);
  std::size_t i = 0;
  if (i < section.size() && section[i] >= 'A' && section[i] <= 'Z') {
    ++i;
  } else {
    const auto start = i;
    while (i < section.size() && is_digit(section[i])) ++i;
    if (i == start) return std::nullopt;
  }
  while (i < section.size()) {
    if (section[i] != '.') return std::nullopt;
    const auto start = ++i;
    while (i < section.size() && is_digit(section[i])) ++i;
    if (i == start) return std::nullopt;
  }
  return results::rfc_ref{static_cast<std::uint16_t>(*number), std::string(section)};
}

void bad_rfc(reporter& r, const toml::node& n, std::string_view text) {
  r.error(n,
          "bad rfc reference " + shown(text) + ": expected \"RFC#SECTION\" such as \"5321#4.1.1.4\" or \"5321#D.1\"");
}

std::vector<results::rfc_ref> parse_rfc(reporter& r, const toml::node& n) {
  std::vector<results::rfc_ref> out;
  auto add = [&](const toml::node& e) {
    const auto* s = e.as_string();
    if (s == nullptr) {
      r.error(e, "'rfc' must be a string such as \"5321#4.1.1.4\" or an array of them");
    } else if (auto ref = parse_rfc_ref(s->get())) {
      out.push_back(std::move(*ref));
    } else {
      bad_rfc(r, e, s->get());
    }
  };
  if (const auto* a = n.as_array()) {
    if (a->empty()) r.error(n, "'rfc' must not be empty");
    for (const toml::node& e : *a) add(e);
  } else {
    add(n);
  }
  return out;
}

std::optional<reference::level> parse_level(reporter& r, const toml::node& n) {
  const auto* s = n.as_string();
  if (s != nullptr) {
    if (s->get() == "MUST") return reference::level::must;
    if (s->get() == "SHOULD") return reference::level::should;
    if (s->get() == "MAY") return reference::level::may;
  }
  r.error(n, "'level' must be a string: MUST, SHOULD or MAY" + (s ? " (not " + shown(s->get()) + ")" : ""));
  return std::nullopt;
}

std::optional<results::tls_mode> parse_tls(reporter& r, const toml::node& n) {
  const auto* s = n.as_string();
  if (s != nullptr) {
    if (s->get() == "none") return results::tls_mode::none;
    if (s->get() == "starttls") return results::tls_mode::starttls;
    if (s->get() == "implicit") return results::tls_mode::implicit;
  }
  r.error(n, "'tls' must be a string: none, starttls or implicit" + (s ? " (not " + shown(s->get()) + ")" : ""));
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Expectations

bool add_code(reply_expectation& e, std::int64_t code) {
  if (code < 200 || code > 599) return false;
  const auto c = static_cast<std::uint16_t>(code);
  if (std::find(e.codes.begin(), e.codes.end(), c) == e.codes.end()) e.codes.push_back(c);
  return true;
}

/// A code ("503") or a class ("5yz") written as a string.
bool add_code_or_class(reply_expectation& e, std::string_view s) {
  if (s.size() != 3 || s[0] < '2' || s[0] > '5') return false;
  if (s.substr(1) == "yz") {
    e.classes = static_cast<std::uint8_t>(e.classes | (1u << (s[0] - '0')));
    return true;
  }
  const auto code = decimal(s, 3);
  return code && add_code(e, static_cast<std::int64_t>(*code));
}

/// One element of an expectation array.
bool add_element(reply_expectation& e, const toml::node& n) {
  if (n.is_integer()) return add_code(e, n.value_exact<std::int64_t>().value_or(0));
  const auto* s = n.as_string();
  return s != nullptr && add_code_or_class(e, s->get());
}

std::optional<reply_expectation> parse_expectation(reporter& r, const toml::node& n, std::string_view key) {
  reply_expectation e;
  const std::string help = key_name(key) + " must be " + std::string(k_expect_help);
  if (const auto* a = n.as_array()) {
    if (a->empty()) r.error(n, key_name(key) + " must not be an empty array");
    bool ok = !a->empty();
    for (const toml::node& element : *a) {
      if (add_element(e, element)) continue;
      const auto* s = element.as_string();
      if (s && s->get() == "close" && key == "fails_on") {  // fails_on = [421, "close"]
        e.close = true;
        continue;
      }
      const bool word = s && (s->get() == "close" || s->get() == "none" || s->get() == "model");
      r.error(element, word ? "\"" + s->get() + "\" must stand alone, not in an array (" + key_name(key) + ")" : help);
      ok = false;
    }
    return ok ? std::optional(e) : std::nullopt;
  }
  if (const auto* s = n.as_string()) {
    if (s->get() == "close") {
      e.close = true;
    } else if (s->get() == "none") {
      e.none = true;
    } else if (s->get() != "model" && !add_code_or_class(e, s->get())) {
      r.error(n, help);
      return std::nullopt;
    }
    return e;
  }
  if (!add_element(e, n)) {
    r.error(n, help);
    return std::nullopt;
  }
  return e;
}

// ---------------------------------------------------------------------------
// Steps

step::kind kind_of(std::string_view action) {
  if (action == "send") return step::kind::send;
  if (action == "batch") return step::kind::batch;
  if (action == "raw" || action == "raw_hex") return step::kind::raw;
  if (action == "data") return step::kind::data;
  if (action == "bdat") return step::kind::bdat;
  if (action == "starttls") return step::kind::starttls;
  if (action == "wait") return step::kind::wait;
  if (action == "read") return step::kind::read;
  if (action == "expect_close") return step::kind::expect_close;
  return step::kind::close;
}

/// The actions each option applies to.
key_list option_applies_to(std::string_view option) {
  static constexpr std::array expect{"send"sv, "raw"sv, "raw_hex"sv, "data"sv, "bdat"sv, "starttls"sv, "read"sv};
  static constexpr std::array batch{"batch"sv};
  static constexpr std::array raw{"raw"sv, "raw_hex"sv};
  static constexpr std::array bdat{"bdat"sv};
  static constexpr std::array replied{"send"sv, "batch"sv, "raw"sv,      "raw_hex"sv,
                                      "data"sv, "bdat"sv,  "starttls"sv, "read"sv};
  static constexpr std::array precondition{"send"sv, "raw"sv, "raw_hex"sv, "data"sv, "bdat"sv, "starttls"sv};
  if (option == "expect") return expect;
  if (option == "fails_on") return replied;
  if (option == "precondition") return precondition;
  if (option == "expect_each") return batch;
  if (option == "split" || option == "bytewise") return raw;
  if (option == "last" || option == "size") return bdat;
  return {};
}

/// Reports options that do not apply to the step's action; true if all apply.
bool check_options(reporter& r, const toml::table& t, std::string_view action) {
  bool ok = true;
  for (const auto option :
       {"expect"sv, "expect_each"sv, "split"sv, "bytewise"sv, "last"sv, "size"sv, "fails_on"sv, "precondition"sv}) {
    const auto* n = t.get(option);
    const auto applies = option_applies_to(option);
    if (n == nullptr || std::find(applies.begin(), applies.end(), action) != applies.end()) continue;
    std::string message =
        key_name(option) + " does not apply to a " + std::string(action) + " step (only to " + join(applies) + ")";
    if (option == "expect" && action == "batch") message += "; use expect_each";
    r.error(*n, std::move(message));
    ok = false;
  }
  return ok;
}

std::optional<std::string> decode_hex(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n') {
      ++i;
      continue;
    }
    if (i + 1 >= s.size() || hex_digit(s[i]) < 0 || hex_digit(s[i + 1]) < 0) return std::nullopt;
    out.push_back(static_cast<char>(hex_digit(s[i]) * 16 + hex_digit(s[i + 1])));
    i += 2;
  }
  return out;
}

/// Octets that must reach the wire as they are: braces doubled, so that variable
/// expansion (which every step text goes through) gives them back unchanged.
std::string escape_braces(std::string_view octets) {
  std::string out;
  for (const char c : octets) {
    out += c;
    if (c == '{' || c == '}') out += c;
  }
  return out;
}

void parse_split(reporter& r, const toml::node& n, std::optional<std::size_t> length, step& s) {
  const auto* a = array_of(r, n, "split", "a non-empty array of offsets, e.g. [3, 10]");
  if (a == nullptr) return;
  if (!length) {
    r.error(n, "'split' needs a text whose length is known when loading: no variables other than {repeat:N:TEXT}");
    return;
  }
  std::int64_t previous = 0;
  for (const toml::node& e : *a) {
    const auto v = e.is_integer() ? e.value_exact<std::int64_t>() : std::nullopt;
    if (!v || *v <= previous || *v >= static_cast<std::int64_t>(*length)) {
      r.error(e, "'split' offsets must be integers, strictly increasing, from 1 to " + std::to_string(*length) +
                     " - 1 (the text has " + std::to_string(*length) + " octets)");
      return;
    }
    previous = *v;
    s.split.push_back(static_cast<std::size_t>(*v));
  }
}

void parse_raw_options(reporter& r, const toml::table& t, std::optional<std::size_t> length, step& s) {
  const auto* split = t.get("split");
  const auto* bytewise = t.get("bytewise");
  if (split != nullptr && bytewise != nullptr) {
    r.error(*bytewise, "'split' and 'bytewise' cannot be combined");
    return;
  }
  if (split != nullptr) parse_split(r, *split, length, s);
  if (bytewise != nullptr) s.bytewise = bool_of(r, *bytewise, "bytewise").value_or(false);
}

void parse_raw(reporter& r, const toml::table& t, const toml::node& n, step& s) {
  std::optional<std::size_t> length;
  auto text = text_of(r, n, "raw", &length);
  if (!text) return;
  if (text->empty()) {
    r.error(n, "'raw' must not be empty");
    return;
  }
  s.bytes = std::move(*text);
  parse_raw_options(r, t, length, s);
}

void parse_raw_hex(reporter& r, const toml::table& t, const toml::node& n, step& s) {
  const auto text = string_of(r, n, "raw_hex");
  if (!text) return;
  const auto octets = decode_hex(*text);
  if (!octets || octets->empty()) {
    r.error(n, "'raw_hex' must be pairs of hex digits, optionally separated by spaces, e.g. \"0d 0a 2e ff\"");
    return;
  }
  s.bytes = escape_braces(*octets);
  parse_raw_options(r, t, octets->size(), s);
}

void parse_batch(reporter& r, const toml::table& t, const toml::node& n, step& s) {
  const auto* a = array_of(r, n, "batch", "a non-empty array of command lines");
  if (a == nullptr) return;
  for (const toml::node& e : *a) {
    if (auto line = line_of(r, e, "batch")) s.lines.push_back(std::move(*line));
  }
  s.expect_each.resize(a->size());
  const auto* each = t.get("expect_each");
  if (each == nullptr) return;
  const auto* expectations = each->as_array();
  if (expectations == nullptr || expectations->size() != a->size()) {
    r.error(*each,
            "'expect_each' must be an array with one expectation per batch line (" + std::to_string(a->size()) + ")");
    return;
  }
  for (std::size_t i = 0; i < expectations->size(); ++i) {
    if (auto e = parse_expectation(r, *expectations->get(i), "expect_each")) s.expect_each[i] = std::move(*e);
  }
}

void parse_bdat(reporter& r, const toml::table& t, const toml::node& n, step& s) {
  if (auto text = text_of(r, n, "bdat")) s.bytes = std::move(*text);
  if (const auto* last = t.get("last")) s.bdat_last = bool_of(r, *last, "last").value_or(false);
  if (const auto* size = t.get("size")) {
    if (const auto v = integer_of(r, *size, "size", 0, std::numeric_limits<std::int64_t>::max(),
                                  "an integer >= 0 (the declared chunk size)")) {
      s.bdat_size = static_cast<std::uint64_t>(*v);
    }
  }
}

void parse_starttls(reporter& r, const toml::node& n, step& s) {
  if (const auto* t = n.as_table()) {
    check_keys(r, *t, k_starttls_keys, "starttls");
    if (const auto* inject = t->get("inject")) {
      if (auto text = text_of(r, *inject, "inject")) s.bytes = std::move(*text);
    }
    return;
  }
  if (n.value_exact<bool>() != std::optional(true)) {
    r.error(n, "'starttls' must be true or a table such as { inject = \"NOOP\\r\\n\" }");
  }
}

void parse_action(reporter& r, const toml::table& t, std::string_view action, const toml::node& n, step& s) {
  if (action == "send") {
    if (auto line = line_of(r, n, "send")) s.lines.push_back(std::move(*line));
  } else if (action == "batch") {
    parse_batch(r, t, n, s);
  } else if (action == "raw") {
    parse_raw(r, t, n, s);
  } else if (action == "raw_hex") {
    parse_raw_hex(r, t, n, s);
  } else if (action == "data") {
    if (auto text = text_of(r, n, "data")) s.bytes = std::move(*text);
  } else if (action == "bdat") {
    parse_bdat(r, t, n, s);
  } else if (action == "starttls") {
    parse_starttls(r, n, s);
  } else if (action == "close") {
    if (n.value_exact<bool>() != std::optional(true)) r.error(n, "'close' must be true");
  } else if (auto d = duration_of(r, n, action)) {  // wait, read, expect_close
    s.duration = *d;
  }
}

step parse_step(reporter& r, const toml::table& t) {
  step s;
  s.where = r.at(t);
  check_keys(r, t, k_step_keys, "step");
  std::vector<std::string_view> present;
  for (const auto action : k_actions) {
    if (t.contains(action)) present.push_back(action);
  }
  if (present.size() != 1) {
    std::string message = "step needs exactly one of " + join(k_actions);
    if (!present.empty()) message += " (has " + join(present, " and ") + ")";
    r.error(t, std::move(message));
    return s;
  }
  const auto action = present.front();
  s.what = kind_of(action);
  parse_action(r, t, action, *t.get(action), s);
  if (!check_options(r, t, action)) return s;
  if (const auto* expect = t.get("expect")) {
    if (auto e = parse_expectation(r, *expect, "expect")) s.expect = std::move(*e);
  }
  if (const auto* fails_on = t.get("fails_on")) {
    if (auto e = parse_expectation(r, *fails_on, "fails_on")) {
      if (e->none) r.error(*fails_on, "'fails_on' takes reply codes, classes and \"close\", not \"none\"");
      else s.fails_on = std::move(*e);
    }
  }
  if (const auto* precondition = t.get("precondition")) {
    if (auto e = parse_expectation(r, *precondition, "precondition")) {
      if (e->none || e->close)
        r.error(*precondition, "'precondition' takes the reply codes and classes the case needs, e.g. \"2yz\"");
      else s.precondition = std::move(*e);
    }
  }
  return s;
}

void parse_steps(reporter& r, const toml::table& c, std::vector<step>& out) {
  const auto* inline_steps = c.get("steps");
  const auto* table_steps = c.get("step");
  if (inline_steps != nullptr && table_steps != nullptr) {
    r.error(*table_steps, "a case takes either 'steps = [...]' or [[case.step]] tables, not both");
    return;
  }
  const auto* n = inline_steps != nullptr ? inline_steps : table_steps;
  if (n == nullptr) {
    r.error(c, "missing required key 'steps' in case (steps = [...] or [[case.step]] tables)");
    return;
  }
  const std::string_view key = inline_steps != nullptr ? "steps" : "step";
  const auto* a = array_of(r, *n, key, "a non-empty array of steps, e.g. [ { send = \"NOOP\" } ]");
  if (a == nullptr) return;
  for (const toml::node& e : *a) {
    if (const auto* t = e.as_table()) {
      out.push_back(parse_step(r, *t));
    } else {
      r.error(e, "each step must be a table, e.g. { send = \"NOOP\" }");
    }
  }
}

// ---------------------------------------------------------------------------
// Checks, cases, suites

std::vector<std::string> text_list(reporter& r, const toml::node& n, std::string_view key) {
  std::vector<std::string> out;
  const auto* a = n.as_array();
  if (a == nullptr) {
    r.error(n, key_name(key) + " must be an array of strings");
    return out;
  }
  for (const toml::node& e : *a) {
    if (auto text = text_of(r, e, key)) {
      if (text->empty())
        r.error(e, key_name(key) + " entries must not be empty");
      else
        out.push_back(std::move(*text));
    }
  }
  return out;
}

case_checks parse_checks(reporter& r, const toml::node& n) {
  case_checks out;
  const auto* t = n.as_table();
  if (t == nullptr) {
    r.error(n, "'check' must be a table, e.g. check = { accepted_messages = 1 }");
    return out;
  }
  check_keys(r, *t, k_check_keys, "check");
  if (const auto* v = t->get("accepted_messages")) {
    if (const auto count =
            integer_of(r, *v, "accepted_messages", 0, std::numeric_limits<int>::max(), "an integer >= 0")) {
      out.accepted_messages = static_cast<int>(*count);
    }
  }
  if (const auto* v = t->get("delivered_contains")) out.delivered_contains = text_list(r, *v, "delivered_contains");
  if (const auto* v = t->get("delivered_lacks")) out.delivered_lacks = text_list(r, *v, "delivered_lacks");
  if (const auto* v = t->get("reply_content")) out.reply_content = bool_of(r, *v, "reply_content").value_or(false);
  return out;
}

/// Case ids seen so far (across files), with the position of their first definition.
using id_registry = std::map<std::string, source_position, std::less<>>;

void parse_case_id(reporter& r, const toml::node& n, id_registry& ids, scenario_case& c) {
  auto id = string_of(r, n, "id");
  if (!id) return;
  if (!is_name(*id)) {
    r.error(n, "'id' must match [a-z0-9._-]+, not " + shown(*id));
    return;
  }
  const auto [it, inserted] = ids.try_emplace(*id, r.at(n));
  if (!inserted) r.error(n, "duplicate case id " + shown(*id) + " (first defined at " + it->second.to_string() + ")");
  c.id = std::move(*id);
}

void parse_case_optional(reporter& r, const toml::table& t, scenario_case& c) {
  if (const auto* n = t.get("tags")) c.tags = word_list(r, *n, "tags", is_name, "strings matching [a-z0-9._-]+");
  if (const auto* n = t.get("needs")) {
    c.needs = word_list(r, *n, "needs", is_need,
                        "EHLO keywords such as \"PIPELINING\", optionally with one parameter (\"AUTH PLAIN\")");
    for (auto& keyword : c.needs) keyword = reference::to_upper(keyword);
  }
  if (const auto* n = t.get("tls")) c.tls = parse_tls(r, *n).value_or(results::tls_mode::none);
  if (const auto* n = t.get("timeout")) c.timeout = duration_of(r, *n, "timeout");
  if (const auto* n = t.get("check")) c.checks = parse_checks(r, *n);
}

// ---------------------------------------------------------------------------
// Client cases ([suite] role = "client"): smtpspec plays the server

bool is_reply_target(std::string_view s) {
  return std::find(k_reply_targets.begin(), k_reply_targets.end(), s) != k_reply_targets.end();
}

/// Reply lines: a string (lines separated by LF) or an array of lines; each line
/// is sent with CRLF. A line must start with a reply code so that the strict
/// server can follow it, except lines after the first reply (injected octets).
std::optional<std::string> reply_wire(reporter& r, const toml::node& n, std::string_view key) {
  std::vector<std::string> lines;
  if (const auto* a = n.as_array()) {
    for (const toml::node& e : *a)
      if (auto s = string_of(r, e, key)) lines.push_back(std::move(*s));
  } else if (auto s = string_of(r, n, key)) {
    for (std::size_t pos = 0;;) {
      auto nl = s->find('\n', pos);
      lines.push_back(s->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
      if (nl == std::string::npos) break;
      pos = nl + 1;
    }
  }
  if (lines.empty() || lines[0].size() < 3 || lines[0][0] < '2' || lines[0][0] > '5' || !is_digit(lines[0][1]) ||
      !is_digit(lines[0][2])) {
    r.error(n, key_name(key) + " must start with a reply code from 200 to 599, e.g. \"550 5.1.1 No such user\"");
    return std::nullopt;
  }
  std::string wire;
  for (auto& l : lines) {
    if (l.find('\r') != std::string::npos) {
      r.error(n, key_name(key) + " lines must not hold CR (CRLF is appended to each line)");
      return std::nullopt;
    }
    wire += l + "\r\n";
  }
  return wire;
}

void parse_scripted_reply(reporter& r, const toml::node& n, server_script& out) {
  const auto* t = n.as_table();
  if (t == nullptr) {
    r.error(n, "each of 'replies' must be a table, e.g. { to = \"RCPT\", nth = 2, reply = \"550 5.1.1 No such user\" }");
    return;
  }
  check_keys(r, *t, k_reply_keys, "a scripted reply");
  reference::scripted_reply s;
  if (const auto* to = require(r, *t, "to", "a scripted reply")) {
    auto v = string_of(r, *to, "to");
    if (v && !is_reply_target(reference::to_upper(*v)))
      r.error(*to, "'to' must be one of " + join(k_reply_targets));
    else if (v)
      s.on = reference::to_upper(*v);
  }
  if (const auto* v = t->get("nth")) s.nth = static_cast<unsigned>(integer_of(r, *v, "nth", 1, 1000, "from 1 to 1000").value_or(1));
  if (const auto* v = require(r, *t, "reply", "a scripted reply")) s.wire = reply_wire(r, *v, "reply").value_or("");
  if (const auto* v = t->get("delay"))
    s.delay_ms = static_cast<std::uint32_t>(duration_of(r, *v, "delay").value_or(std::chrono::milliseconds(0)).count());
  if (const auto* v = t->get("close")) s.close = bool_of(r, *v, "close").value_or(false);
  out.replies.push_back(std::move(s));
}

server_script parse_server_script(reporter& r, const toml::node& n) {
  server_script out;
  const auto* t = n.as_table();
  if (t == nullptr) {
    r.error(n, "'server' must be a table, e.g. server = { extensions = [\"PIPELINING\"] }");
    return out;
  }
  check_keys(r, *t, k_server_keys, "server");
  if (const auto* v = t->get("greeting")) {
    reference::scripted_reply g;
    g.on = "GREETING";
    g.wire = reply_wire(r, *v, "greeting").value_or("");
    g.close = !g.wire.empty() && g.wire.compare(0, 3, "421") == 0;
    out.replies.push_back(std::move(g));
  }
  if (const auto* v = t->get("greeting_delay")) out.greeting_delay = duration_of(r, *v, "greeting_delay").value_or(std::chrono::milliseconds(0));
  if (const auto* v = t->get("replies")) {
    if (const auto* a = array_of(r, *v, "replies", "a non-empty array of tables"))
      for (const toml::node& e : *a) parse_scripted_reply(r, e, out);
  }
  auto keywords = [&](std::string_view key) -> std::optional<std::vector<std::string>> {
    const auto* v = t->get(key);
    if (v == nullptr) return std::nullopt;
    return word_list(r, *v, key, [](std::string_view k) { return !k.empty() && k.find_first_of("\r\n") == std::string_view::npos; },
                     "EHLO keyword lines such as \"SIZE 1000\"");
  };
  out.keywords = keywords("extensions");
  out.tls_keywords = keywords("tls_extensions");
  if (const auto* v = t->get("auth_in_plaintext")) out.auth_in_plaintext = bool_of(r, *v, "auth_in_plaintext").value_or(false);
  if (const auto* v = t->get("max_size"))
    out.max_size = static_cast<std::uint64_t>(integer_of(r, *v, "max_size", 1, std::int64_t{1} << 40, "a size in octets").value_or(1000000));
  if (const auto* v = t->get("delivery")) {
    auto d = string_of(r, *v, "delivery");
    if (d == "whole") out.delivery = server_script::pacing::whole;
    else if (d == "lines") out.delivery = server_script::pacing::lines;
    else if (d == "bytewise") out.delivery = server_script::pacing::bytewise;
    else if (d) r.error(*v, "'delivery' must be \"whole\", \"lines\" or \"bytewise\"");
  }
  return out;
}

client_checks parse_client_checks(reporter& r, const toml::node& n) {
  client_checks out;
  const auto* t = n.as_table();
  if (t == nullptr) {
    r.error(n, "'check' must be a table, e.g. check = { must_send = [\"QUIT\"] }");
    return out;
  }
  check_keys(r, *t, k_client_check_keys, "check");
  auto verbs = [&](std::string_view key) {
    std::vector<std::string> v;
    if (const auto* e = t->get(key))
      for (auto& w : word_list(
               r, *e, key, [](std::string_view s) { return is_reply_target(reference::to_upper(s)); },
               "SMTP verbs such as \"DATA\""))
        v.push_back(reference::to_upper(w));
    return v;
  };
  if (const auto* v = t->get("message_equals_submitted"))
    out.message_equals_submitted = bool_of(r, *v, "message_equals_submitted").value_or(false);
  if (const auto* v = t->get("messages"))
    out.messages = static_cast<int>(integer_of(r, *v, "messages", 0, 1000, "from 0 to 1000").value_or(0));
  out.must_send = verbs("must_send");
  out.must_not_send = verbs("must_not_send");
  out.plaintext_forbidden = verbs("plaintext_forbidden");
  for (auto [key, field] : {std::pair{"first_after_tls"sv, &out.first_after_tls}, std::pair{"first_command"sv, &out.first_command}})
    if (const auto* v = t->get(key)) {
      auto w = string_of(r, *v, key);
      if (w && is_reply_target(reference::to_upper(*w))) *field = reference::to_upper(*w);
      else if (w) r.error(*v, "'" + std::string(key) + "' must be an SMTP verb such as \"EHLO\"");
    }
  return out;
}

constexpr std::string_view k_default_message =
    "From: <{from}>\r\nTo: <{to}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nSubject: smtpspec client test {nonce}\r\n"
    "Message-ID: <{nonce}@client.smtpspec.test>\r\n"
    "\r\nThis message was submitted by the client under test.\r\n";

scenario_case parse_client_case(reporter& r, const toml::table& t, id_registry& ids) {
  scenario_case c;
  c.where = r.at(t);
  check_keys(r, t, k_client_case_keys, "case");
  if (const auto* n = require(r, t, "id", "case")) parse_case_id(r, *n, ids, c);
  if (const auto* n = require(r, t, "title", "case")) c.title = non_empty_string(r, *n, "title").value_or("");
  if (const auto* n = require(r, t, "requirement", "case")) c.requirement = non_empty_string(r, *n, "requirement").value_or("");
  if (const auto* n = require(r, t, "rfc", "case")) c.rfc = parse_rfc(r, *n);
  if (const auto* n = require(r, t, "level", "case")) c.level = parse_level(r, *n).value_or(reference::level::must);
  if (const auto* n = t.get("tags")) c.tags = word_list(r, *n, "tags", is_name, "strings matching [a-z0-9._-]+");
  if (const auto* n = t.get("timeout")) c.timeout = duration_of(r, *n, "timeout");
  client_part part;
  if (const auto* n = t.get("client")) {
    auto p = string_of(r, *n, "client");
    if (p == "plain") part.profile = client_profile::plain;
    else if (p == "starttls") part.profile = client_profile::starttls;
    else if (p == "auth") part.profile = client_profile::auth;
    else if (p) r.error(*n, "'client' must be \"plain\", \"starttls\" (a client that requires STARTTLS) or \"auth\" (one that authenticates)");
  }
  part.message = std::string(k_default_message);
  if (const auto* n = t.get("message")) part.message = text_of(r, *n, "message").value_or(part.message);
  if (const auto* n = t.get("server")) part.server = parse_server_script(r, *n);
  if (const auto* n = t.get("check")) part.checks = parse_client_checks(r, *n);
  c.client = std::move(part);
  return c;
}

scenario_case parse_case(reporter& r, const toml::table& t, id_registry& ids) {
  scenario_case c;
  c.where = r.at(t);
  check_keys(r, t, k_case_keys, "case");
  if (const auto* n = require(r, t, "id", "case")) parse_case_id(r, *n, ids, c);
  if (const auto* n = require(r, t, "title", "case")) c.title = non_empty_string(r, *n, "title").value_or("");
  if (const auto* n = require(r, t, "requirement", "case")) {
    c.requirement = non_empty_string(r, *n, "requirement").value_or("");
  }
  if (const auto* n = require(r, t, "rfc", "case")) c.rfc = parse_rfc(r, *n);
  if (const auto* n = require(r, t, "level", "case")) c.level = parse_level(r, *n).value_or(reference::level::must);
  parse_case_optional(r, t, c);
  parse_steps(r, t, c.steps);
  return c;
}

void parse_suite_table(reporter& r, const toml::table& root, scenario_suite& suite) {
  const auto* n = root.get("suite");
  if (n == nullptr) {
    r.error(root, "missing [suite] table (with name and title)");
    return;
  }
  const auto* t = n->as_table();
  if (t == nullptr) {
    r.error(*n, "'suite' must be a table: [suite] with name and title");
    return;
  }
  check_keys(r, *t, k_suite_keys, "[suite]");
  if (const auto* name = require(r, *t, "name", "[suite]")) {
    auto s = string_of(r, *name, "name");
    if (s && !is_name(*s))
      r.error(*name, "'name' must match [a-z0-9._-]+, not " + shown(*s));
    else if (s)
      suite.name = std::move(*s);
  }
  if (const auto* title = require(r, *t, "title", "[suite]")) {
    suite.title = non_empty_string(r, *title, "title").value_or("");
  }
  if (const auto* role = t->get("role")) {
    auto s = string_of(r, *role, "role");
    if (s == "client") suite.client_role = true;
    else if (s && *s != "server") r.error(*role, "'role' must be \"server\" (smtpspec tests a server, the default) or \"client\"");
  }
}

void parse_cases(reporter& r, const toml::table& root, id_registry& ids, scenario_suite& suite) {
  const auto* n = root.get("case");
  if (n == nullptr) {
    r.error(root, "no [[case]] in the file");
    return;
  }
  const auto* a = n->as_array();
  if (a == nullptr || a->empty()) {
    r.error(*n, "'case' must be a non-empty array of tables: write [[case]]");
    return;
  }
  for (const toml::node& e : *a) {
    if (const auto* t = e.as_table()) {
      suite.cases.push_back(suite.client_role ? parse_client_case(r, *t, ids) : parse_case(r, *t, ids));
      suite.cases.back().suite = suite.name;
    } else {
      r.error(e, "each case must be a table: write [[case]]");
    }
  }
}

scenario_suite parse_root(reporter& r, const toml::table& root, id_registry& ids) {
  scenario_suite suite;
  suite.file = r.file();
  check_keys(r, root, k_root_keys, "the file");
  parse_suite_table(r, root, suite);
  parse_cases(r, root, ids, suite);
  return suite;
}

void sort_errors(std::vector<load_error>& errors) {
  std::stable_sort(errors.begin(), errors.end(), [](const load_error& a, const load_error& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  });
}

/// Parses with toml++ the text with stand-ins, then checks the schema.
std::optional<scenario_suite> parse_safely(const stand_ins& safe, reporter& r, id_registry& ids) {
  if (!safe.ok()) {
    r.error(source_position{r.file(), 1, 1},
            "too many different non-ASCII characters (toml++ 3.3 cannot read them safely)");
    return std::nullopt;
  }
  toml::table root;
  try {
    root = toml::parse(safe.text(), std::string_view(r.file()));
  } catch (const toml::parse_error& e) {
    r.error(r.at(e.source().begin), std::string(e.description()));
    return std::nullopt;
  }
  safe.restore(root);
  return parse_root(r, root, ids);
}

/// Loads one file's text; the suite is added to `out` only if the file has no error.
void load_text(std::string_view text, const std::string& file, id_registry& ids, load_result& out) {
  std::vector<load_error> errors;
  reporter r(file, errors);
  try {
    if (screener(text, r).run()) {
      const stand_ins safe(text);
      if (auto suite = parse_safely(safe, r, ids); suite && errors.empty()) out.suites.push_back(std::move(*suite));
      for (auto& e : errors) e.message = safe.restore(e.message);  // e.g. a key in "unknown key '...'"
    }
  } catch (const std::exception& e) {
    r.error(source_position{file, 0, 0}, std::string("cannot load: ") + e.what());
  }
  sort_errors(errors);
  out.errors.insert(out.errors.end(), std::make_move_iterator(errors.begin()), std::make_move_iterator(errors.end()));
}

// ---------------------------------------------------------------------------
// Files and directories

void file_error(load_result& out, const fs::path& p, std::string message) {
  out.errors.push_back({source_position{p.string(), 0, 0}, std::move(message)});
}

std::optional<std::string> read_file(const fs::path& p, load_result& out) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) {
    file_error(out, p, "cannot read: " + ec.message());
    return std::nullopt;
  }
  if (size > k_max_file_size) {
    file_error(out, p, "file too large (" + std::to_string(size) + " bytes; at most 16 MiB)");
    return std::nullopt;
  }
  std::ifstream in(p, std::ios::binary);
  std::string text(static_cast<std::size_t>(size), '\0');
  if (!in || !in.read(text.data(), static_cast<std::streamsize>(text.size()))) {
    file_error(out, p, "cannot read the file");
    return std::nullopt;
  }
  return text;
}

/// The *.toml files under a directory, sorted by path (component by component).
void collect_directory(const fs::path& dir, std::vector<fs::path>& files, load_result& out) {
  std::vector<fs::path> found;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->path().extension() == ".toml" && it->is_regular_file(type_ec)) found.push_back(it->path());
  }
  if (ec) file_error(out, dir, "cannot read the directory: " + ec.message());
  if (found.empty() && !ec) file_error(out, dir, "no *.toml files in this directory");
  std::sort(found.begin(), found.end());
  files.insert(files.end(), found.begin(), found.end());
}

void collect(const std::string& path, std::vector<fs::path>& files, load_result& out) {
  const fs::path p(path);
  std::error_code ec;
  const auto status = fs::status(p, ec);
  if (ec || !fs::exists(status)) {
    file_error(out, p, "no such file or directory");
  } else if (fs::is_directory(status)) {
    collect_directory(p, files, out);
  } else if (fs::is_regular_file(status)) {
    files.push_back(p);
  } else {
    file_error(out, p, "not a regular file or directory");
  }
}

/// Drops files named twice (e.g. a directory and a file inside it).
std::vector<fs::path> unique_files(const std::vector<fs::path>& files) {
  std::vector<fs::path> out;
  std::set<fs::path> seen;
  for (const auto& f : files) {
    std::error_code ec;
    auto canonical = fs::weakly_canonical(f, ec);
    if (seen.insert(ec ? f : canonical).second) out.push_back(f);
  }
  return out;
}

}  // namespace

bool is_known_variable(std::string_view name) {
  return std::find(k_variables.begin(), k_variables.end(), name) != k_variables.end();
}

load_result load_scenario_text(std::string_view text, const std::string& file) {
  load_result out;
  id_registry ids;
  load_text(text, file, ids, out);
  return out;
}

load_result load_scenarios(const std::string& path) { return load_scenarios(std::vector<std::string>{path}); }

load_result load_scenarios(const std::vector<std::string>& paths) {
  load_result out;
  try {
    std::vector<fs::path> files;
    for (const auto& path : paths) collect(path, files, out);
    id_registry ids;
    for (const auto& file : unique_files(files)) {
      if (const auto text = read_file(file, out)) load_text(*text, file.string(), ids, out);
    }
  } catch (const std::exception& e) {
    out.errors.push_back({source_position{}, std::string("cannot load scenarios: ") + e.what()});
  }
  return out;
}

}  // namespace smtpspec::harness
