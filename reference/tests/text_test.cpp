// text.hpp: ASCII case folding (RFC 5321 2.4), base64 (RFC 4648 4, with the test
// vectors of its section 10) and UTF-8 (RFC 3629 4).
#include "smtpspec/reference/text.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace smtpspec::reference {
namespace {

using namespace std::string_view_literals;

std::string hex(std::string_view s) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += {k[c >> 4], k[c & 15], ' '};
  return out;
}

// ---- ASCII case -------------------------------------------------------------------------------

TEST(text_case, only_ascii_letters_fold) {
  EXPECT_TRUE(iequals("EHLO", "ehlo"));
  EXPECT_TRUE(iequals("StartTLS", "STARTTLS"));
  EXPECT_TRUE(iequals("", ""));
  EXPECT_FALSE(iequals("EHLO", "EHL"));
  EXPECT_FALSE(iequals("HELO", "EHLO"));
  // Neighbours of the letters differ by 0x20 too, but are not letters.
  EXPECT_FALSE(iequals("@", "`"));
  EXPECT_FALSE(iequals("[", "{"));
  EXPECT_FALSE(iequals("^", "~"));
  // 8-bit octets never fold (Latin-1 "À" / "à", or UTF-8 lead octets).
  EXPECT_FALSE(iequals("\xc0", "\xe0"));
  EXPECT_TRUE(iequals("caf\xc3\xa9", "CAF\xc3\xa9"));
  EXPECT_FALSE(iequals("caf\xc3\xa9", "CAF\xc3\x89"));
}

TEST(text_case, every_octet_pair) {
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; ++b) {
      const char x = static_cast<char>(a), y = static_cast<char>(b);
      const bool letters = ((a | 0x20) >= 'a' && (a | 0x20) <= 'z') && ((b | 0x20) >= 'a' && (b | 0x20) <= 'z');
      const bool same = a == b || (letters && (a | 0x20) == (b | 0x20));
      ASSERT_EQ(iequals(std::string_view(&x, 1), std::string_view(&y, 1)), same) << a << " " << b;
    }
  }
}

TEST(text_case, prefix_search_and_folding) {
  EXPECT_TRUE(istarts_with("mail from:<a@b>", "MAIL FROM:"));
  EXPECT_FALSE(istarts_with("MAIL", "MAIL FROM:"));
  EXPECT_TRUE(istarts_with("x", ""));
  EXPECT_TRUE(icontains("250-Auth PLAIN", "auth"));
  EXPECT_TRUE(icontains("abc", ""));
  EXPECT_FALSE(icontains("", "a"));
  EXPECT_FALSE(icontains("AUT", "auth"));
  EXPECT_EQ(to_upper("8bitmime-\xe9x"), "8BITMIME-\xe9X");
  EXPECT_EQ(to_lower("SMTPUTF8 \xc9X"), "smtputf8 \xc9x");
  EXPECT_EQ(ascii_upper('z'), 'Z');
  EXPECT_EQ(ascii_lower('{'), '{');
}

// ---- base64 -----------------------------------------------------------------------------------

TEST(text_base64, rfc4648_section_10_vectors) {
  const std::vector<std::pair<std::string_view, std::string_view>> vectors = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    SCOPED_TRACE(std::string(plain));
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_TRUE(is_base64(encoded));
    const auto back = base64_decode(encoded);
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, plain);
  }
}

TEST(text_base64, auth_plain_credentials) {
  // RFC 4616 2: message = [authzid] NUL authcid NUL passwd.
  EXPECT_EQ(base64_encode("\0smtpspec\0smtpspec"sv), "AHNtdHBzcGVjAHNtdHBzcGVj");
}

TEST(text_base64, every_octet_round_trips) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::string_view plain = std::string_view(all).substr(all.size() - n);
    const std::string enc = base64_encode(plain);
    ASSERT_EQ(enc.size(), (n + 2) / 3 * 4);
    const auto dec = base64_decode(enc);
    ASSERT_TRUE(dec.has_value()) << enc;
    ASSERT_EQ(*dec, plain);
  }
  EXPECT_EQ(base64_encode("\xfb\xff"sv), "+/8=");
}

TEST(text_base64, rejects_what_is_not_base64) {
  for (const auto bad : {"Zg="sv, "Zg"sv, "Z"sv, "Zm9v\r\n"sv, "Zm 9"sv, "Zm9-"sv, "Zm9_"sv, "Z==="sv, "===="sv,
                         "Zg==Zm9v"sv, "Z=g="sv, "Zm=v"sv, "Zm9v="sv, "=Zm9"sv, "Zm9v\0AAA"sv, "Zm9\xc3"sv}) {
    SCOPED_TRACE(hex(bad));
    EXPECT_FALSE(is_base64(bad));
    EXPECT_FALSE(base64_decode(bad).has_value());
  }
}

TEST(text_base64, non_zero_pad_bits_are_accepted) {
  // RFC 4648 3.5: decoders MAY reject them; a model judging servers must not.
  EXPECT_TRUE(is_base64("Zh=="));
  EXPECT_EQ(base64_decode("Zh==").value(), "f");
  EXPECT_EQ(base64_decode("Zm9=").value(), "fo");
}

// ---- UTF-8 ------------------------------------------------------------------------------------

TEST(text_utf8, sequence_lengths_and_the_first_octet_that_does_not_fit) {
  struct utf8_case {
    std::string_view in;
    std::size_t length;
    std::size_t bad;
    char32_t cp;
  };
  const std::vector<utf8_case> cases = {
      {"a"sv, 1, 0, U'a'},
      {"\x7f"sv, 1, 0, 0x7f},
      {"\xc2\x80"sv, 2, 0, 0x80},
      {"\xdf\xbf"sv, 2, 0, 0x7ff},
      {"\xe0\xa0\x80"sv, 3, 0, 0x800},
      {"\xed\x9f\xbf"sv, 3, 0, 0xd7ff},
      {"\xee\x80\x80"sv, 3, 0, 0xe000},
      {"\xef\xbf\xbf"sv, 3, 0, 0xffff},
      {"\xf0\x90\x80\x80"sv, 4, 0, 0x10000},
      {"\xf4\x8f\xbf\xbf"sv, 4, 0, 0x10ffff},
      {"\xc3\xa9z"sv, 2, 0, 0xe9},
      {""sv, 0, 0, 0},
      {"\x80"sv, 0, 0, 0},              // a tail octet alone
      {"\xc0\x80"sv, 0, 0, 0},          // overlong NUL
      {"\xc1\xbf"sv, 0, 0, 0},          // overlong
      {"\xe0\x9f\x80"sv, 0, 1, 0},      // overlong
      {"\xed\xa0\x80"sv, 0, 1, 0},      // surrogate U+D800
      {"\xed\xbf\xbf"sv, 0, 1, 0},      // surrogate U+DFFF
      {"\xf0\x8f\x80\x80"sv, 0, 1, 0},  // overlong
      {"\xf4\x90\x80\x80"sv, 0, 1, 0},  // U+110000
      {"\xf5\x80\x80\x80"sv, 0, 0, 0},
      {"\xff"sv, 0, 0, 0},
      {"\xe2\x82"sv, 0, 2, 0},          // cut short
      {"\xe2\x28\xa1"sv, 0, 1, 0},
      {"\xf0\x9f\x98"sv, 0, 3, 0},
      {"\xf0\x9f\x98\x41"sv, 0, 3, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(hex(c.in));
    const utf8_char u = decode_utf8(c.in);
    EXPECT_EQ(u.length, c.length);
    if (c.length > 0) EXPECT_EQ(u.code_point, c.cp);
    else EXPECT_EQ(u.bad, c.bad);
    EXPECT_EQ(is_utf8(c.in), c.length > 0 || c.in.empty());  // each valid case is valid throughout
  }
}

TEST(text_utf8, every_scalar_value_round_trips) {
  std::string buf;
  for (char32_t cp = 0; cp <= 0x10ffff; ++cp) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    buf.clear();
    append_utf8(buf, cp);
    const utf8_char u = decode_utf8(buf);
    ASSERT_EQ(u.length, buf.size()) << std::hex << static_cast<std::uint32_t>(cp);
    ASSERT_EQ(u.code_point, cp);
    ASSERT_EQ(buf.size(), cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u);
  }
  buf.clear();
  append_utf8(buf, 0xd800);
  append_utf8(buf, 0x110000);
  EXPECT_EQ(buf, "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(text_utf8, a_sequence_is_accepted_exactly_when_it_is_the_shortest_form_of_a_scalar_value) {
  // Every 2-octet input, and every 3-octet input with a 3-octet lead: accepted
  // (with its full length) exactly when re-encoding its code point gives it back.
  // That is RFC 3629 4 without its table: no overlongs, no surrogates.
  std::string in(3, '\0'), again;
  auto check = [&](std::string_view s) {
    const utf8_char u = decode_utf8(s);
    if (u.length != s.size()) return;  // a shorter character, or none: checked below
    again.clear();
    append_utf8(again, u.code_point);
    ASSERT_EQ(again, s) << hex(s);
    ASSERT_FALSE(u.code_point >= 0xd800 && u.code_point <= 0xdfff);
  };
  std::size_t accepted = 0;
  for (int a = 0x80; a < 0x100; ++a)
    for (int b = 0; b < 0x100; ++b) {
      const char two[2] = {static_cast<char>(a), static_cast<char>(b)};
      check(std::string_view(two, 2));
      accepted += decode_utf8(std::string_view(two, 2)).length == 2;
    }
  EXPECT_EQ(accepted, 0x800u - 0x80u);  // U+0080 to U+07FF
  accepted = 0;
  for (int a = 0xe0; a < 0xf0; ++a)
    for (int b = 0; b < 0x100; ++b)
      for (int c = 0; c < 0x100; ++c) {
        in[0] = static_cast<char>(a), in[1] = static_cast<char>(b), in[2] = static_cast<char>(c);
        check(in);
        accepted += decode_utf8(in).length == 3;
      }
  EXPECT_EQ(accepted, 0x10000u - 0x800u - 0x800u);  // U+0800 to U+FFFF without the surrogates
}

TEST(text_utf8, whole_texts) {
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain ASCII\r\n\t\0"sv));
  EXPECT_TRUE(is_utf8("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a"));
  EXPECT_FALSE(is_utf8("caf\xe9"));
  EXPECT_FALSE(is_utf8("ok\xc3"));
  EXPECT_FALSE(is_utf8("\xef\xbb"));
}

}  // namespace
}  // namespace smtpspec::reference
