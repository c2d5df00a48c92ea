// ASCII case folding (RFC 5321 2.4), base64 (RFC 4648 4) and UTF-8 (RFC 3629 4);
// the rules each follows are in text.hpp.
#include "smtpspec/reference/text.hpp"

#include <algorithm>
#include <cstdint>

namespace smtpspec::reference {
namespace {

constexpr char k_base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The 6-bit value of a base64 alphabet character, or -1.
constexpr int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

constexpr unsigned char octet(char c) noexcept { return static_cast<unsigned char>(c); }

}  // namespace

// ---- ASCII case -----------------------------------------------------------------------------

bool icontains(std::string_view hay, std::string_view needle) noexcept {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return ascii_lower(a) == ascii_lower(b); }) != hay.end();
}

std::string to_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_upper(c);
  return out;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

// ---- base64 ---------------------------------------------------------------------------------

std::string base64_encode(std::string_view octets) {
  std::string out;
  out.reserve((octets.size() + 2) / 3 * 4);
  std::size_t i = 0;
  // Each 24-bit group becomes four characters (RFC 4648 4).
  for (; i + 2 < octets.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{octet(octets[i])} << 16) | (std::uint32_t{octet(octets[i + 1])} << 8) |
                            std::uint32_t{octet(octets[i + 2])};
    out += k_base64_alphabet[(n >> 18) & 63];
    out += k_base64_alphabet[(n >> 12) & 63];
    out += k_base64_alphabet[(n >> 6) & 63];
    out += k_base64_alphabet[n & 63];
  }
  // A final 8 or 16 bits: two or three characters, then "==" or "=" (zero pad bits).
  if (const std::size_t rest = octets.size() - i; rest > 0) {
    std::uint32_t n = std::uint32_t{octet(octets[i])} << 16;
    if (rest == 2) n |= std::uint32_t{octet(octets[i + 1])} << 8;
    out += k_base64_alphabet[(n >> 18) & 63];
    out += k_base64_alphabet[(n >> 12) & 63];
    out += rest == 2 ? k_base64_alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

bool is_base64(std::string_view text) noexcept {
  if (text.size() % 4 != 0) return false;
  // "=" only at the end, at most two of them (RFC 4648 4: "xx==" or "xxx=").
  std::size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  const std::string_view data = text.substr(0, text.size() - pad);
  return std::all_of(data.begin(), data.end(), [](char c) { return base64_value(c) >= 0; });
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (!is_base64(text)) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    std::uint32_t n = 0;
    int pad = 0;
    for (std::size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      n <<= 6;
      if (c == '=') ++pad;
      else n |= static_cast<std::uint32_t>(base64_value(c));
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

// ---- UTF-8 ----------------------------------------------------------------------------------

utf8_char decode_utf8(std::string_view in) noexcept {
  // RFC 3629 section 4:
  //   UTF8-1 = %x00-7F
  //   UTF8-2 = %xC2-DF UTF8-tail
  //   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
  //            %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
  //   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
  //            %xF4 %x80-8F 2( UTF8-tail )
  //   UTF8-tail = %x80-BF
  // The narrowed ranges of the second octet exclude overlong forms (E0, F0),
  // surrogates (ED) and code points above U+10FFFF (F4).
  utf8_char out;
  if (in.empty()) return out;
  const unsigned char lead = octet(in[0]);
  if (lead < 0x80) {
    out.code_point = lead;
    out.length = 1;
    return out;
  }
  std::size_t length = 0;
  unsigned char low = 0x80, high = 0xBF;  // range of the second octet
  char32_t cp = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1Fu;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0Fu;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07u;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return out;  // a tail octet, C0, C1 or F5-FF: bad at 0
  }
  for (std::size_t i = 1; i < length; ++i) {
    if (i >= in.size()) {
      out.bad = in.size();
      return out;
    }
    const unsigned char c = octet(in[i]);
    if (c < (i == 1 ? low : 0x80) || c > (i == 1 ? high : 0xBF)) {
      out.bad = i;
      return out;
    }
    cp = (cp << 6) | (c & 0x3Fu);
  }
  out.code_point = cp;
  out.length = length;
  return out;
}

bool is_utf8(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    if (octet(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const utf8_char c = decode_utf8(s.substr(i));
    if (c.length == 0) return false;
    i += c.length;
  }
  return true;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace smtpspec::reference
