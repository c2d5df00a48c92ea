// The HTML report's escaping helper; see html_escape.hpp.
#include "html_escape.hpp"

#include <cstdio>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reports::html {
namespace {

/// Characters that are valid but invisible or misleading on screen: C1 controls,
/// bidirectional overrides and isolates (they can reorder the text around them),
/// zero-width characters, the BOM, and noncharacters.
bool hidden_character(char32_t cp) noexcept {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff ||
         (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

/// Characters a peer could send to imitate the notation of octets mode.
bool looks_like_notation(char32_t cp) noexcept {
  return (cp >= 0x2400 && cp <= 0x2426) || cp == 0x27e8 || cp == 0x27e9 || cp == 0x2026;
}

class writer {
 public:
  writer(std::string& out, escape_mode mode) : out_(out), markup_(mode == escape_mode::octets) {}
  ~writer() { plain(); }
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  /// Notation smtpspec adds (not an octet the peer sent as such).
  void notation(std::string_view text) {
    if (markup_ && !in_i_) out_ += "<i>", in_i_ = true;
    out_ += text;
  }
  void notation(char32_t picture) {
    std::string s;
    reference::append_utf8(s, picture);
    notation(s);
  }
  /// Switches back to the peer's own text.
  void plain() {
    if (in_i_) out_ += "</i>", in_i_ = false;
  }
  void text(std::string_view t) {
    plain();
    out_ += t;
  }

 private:
  std::string& out_;
  bool markup_;
  bool in_i_ = false;
};

void escape_all(std::string& out, std::string_view s, escape_mode mode) {
  const bool octets = mode == escape_mode::octets;
  writer w(out, mode);
  char buf[24];
  for (std::size_t i = 0; i < s.size();) {
    // One well-formed character (RFC 3629 4: no overlongs, surrogates or code
    // points above U+10FFFF), or an octet shown as such.
    const reference::utf8_char c = reference::decode_utf8(s.substr(i));
    const char32_t cp = c.code_point;
    const std::size_t n = c.length;
    if (n == 0) {
      std::snprintf(buf, sizeof buf, "\u27e8%02x\u27e9", static_cast<unsigned>(static_cast<unsigned char>(s[i])));
      w.notation(buf);
      ++i;
      continue;
    }
    const std::string_view ch = s.substr(i, n);
    i += n;
    if (cp < 0x20 || cp == 0x7f) {
      if (!octets && (cp == '\t' || cp == '\n')) {
        w.text(ch);
        continue;
      }
      w.notation(static_cast<char32_t>(cp == 0x7f ? 0x2421 : 0x2400 + cp));
      // A real line end breaks the line after the visible ␊ (inside <pre>-like text).
      if (cp == '\n') w.text("\n");
      continue;
    }
    switch (cp) {
      case '&': w.text("&amp;"); continue;
      case '<': w.text("&lt;"); continue;
      case '>': w.text("&gt;"); continue;
      case '"': w.text("&quot;"); continue;
      case '\'': w.text("&#39;"); continue;
      default: break;
    }
    if (hidden_character(cp) || (octets && looks_like_notation(cp))) {
      std::snprintf(buf, sizeof buf, "\u27e8U+%04X\u27e9", static_cast<unsigned>(cp));
      w.notation(buf);
      continue;
    }
    w.text(ch);
  }
}

}  // namespace

std::size_t utf8_cut(std::string_view s, std::size_t n) noexcept {
  if (n >= s.size()) return s.size();
  std::size_t k = n;
  while (k > 0 && n - k < 3 && (static_cast<unsigned char>(s[k]) & 0xc0) == 0x80) --k;
  return (static_cast<unsigned char>(s[k]) & 0xc0) == 0x80 ? n : k;
}

std::string omitted_marker(std::uint64_t octets) {
  std::string digits = std::to_string(octets), grouped;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) grouped += ',';
    grouped += digits[i];
  }
  return "\u2026 " + grouped + (octets == 1 ? " octet not shown" : " octets not shown");
}

void escape(std::string& out, std::string_view s, escape_mode mode, std::size_t limit) {
  if (s.size() <= limit) {
    escape_all(out, s, mode);
    return;
  }
  const std::size_t cut = utf8_cut(s, limit);
  escape_all(out, s.substr(0, cut), mode);
  if (mode == escape_mode::octets) out += "<i class=cut>" + omitted_marker(s.size() - cut) + "</i>";
  else out += " " + omitted_marker(s.size() - cut);
}

std::string escaped(std::string_view s, escape_mode mode, std::size_t limit) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  escape(out, s, mode, limit);
  return out;
}

}  // namespace smtpspec::reports::html
