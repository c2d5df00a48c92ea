// Tests of address.hpp: RFC 5321 4.1.2 (Path, A-d-l, Mailbox, Local-part,
// Dot-string, Quoted-string, Domain), 4.1.3 (address literals), 4.5.3.1.1 to
// 4.5.3.1.3 (size limits), RFC 6531 3.3 (UTF-8 in addresses), RFC 3629 4 (UTF-8).
//
// Every rejection checks the error value and the offset of the first octet that
// does not fit.
#include "smtpspec/reference/address.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace smtpspec::reference {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

struct reject_case {
  std::string_view input;
  error code;
  std::size_t offset;
};

std::string show(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

template <class T>
void expect_error(const result<T>& r, error code, std::size_t offset) {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(to_string(r.error().code), to_string(code));
  EXPECT_EQ(r.error().offset, offset);
}

/// A domain of exactly n octets: labels of 63 "a" (the DNS label limit, which
/// 4.1.2 does not impose but which keeps the test realistic), never ending in ".".
std::string domain_of(std::size_t n) {
  std::string d(n, 'a');
  for (std::size_t i = 63; i + 1 < n; i += 64) d[i] = '.';
  return d;
}

address_options utf8() {
  address_options o;
  o.smtputf8 = true;
  return o;
}

address_options raw8() {
  address_options o;
  o.allow_8bit = true;
  return o;
}

// --- Domain (4.1.2) ------------------------------------------------------------------

TEST(AddressDomain, AcceptsSubDomainsOfLetDigAndLdhStr) {
  // sub-domain = Let-dig [Ldh-str]; Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig
  for (std::string_view d : {"example.com"sv, "a"sv, "A.B.C"sv, "a-b.c"sv, "a--b.example"sv, "3com.com"sv,
                             "1.2.3.4"sv, "xn--bcher-kva.example"sv, "a1-2b.c3"sv, "d.bar.org"sv}) {
    SCOPED_TRACE(show(d));
    const auto r = parse_domain(d);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, d);
  }
}

TEST(AddressDomain, RejectsWithErrorAndOffset) {
  const std::vector<reject_case> cases = {
      {""sv, error::bad_domain, 0},           // at least one sub-domain
      {"-a"sv, error::bad_domain, 0},         // Let-dig first: no leading hyphen
      {"a-"sv, error::bad_domain, 2},         // Ldh-str ends with Let-dig: no trailing hyphen
      {"a-.b"sv, error::bad_domain, 2},       // ... also before a dot
      {"a..b"sv, error::bad_domain, 2},       // empty label
      {".a"sv, error::bad_domain, 0},         // empty first label
      {"a."sv, error::bad_domain, 2},         // trailing dot: a label must follow "."
      {"a_b.example"sv, error::bad_domain, 1},  // 4.1.2: "the underscore character is not permitted"
      {"a b"sv, error::bad_domain, 1},
      {"a@b"sv, error::bad_domain, 1},
      {"[1.2.3.4]"sv, error::bad_domain, 0},  // a literal is not a Domain
      {"a\tb"sv, error::control_character, 1},
      {"a\x7f"sv, error::control_character, 1},
      {"a\0b"sv, error::nul_octet, 1},
      {"ex\xc3\xa4mple.com"sv, error::eight_bit_octet, 2},  // 2.4: 7-bit only without an extension
      {"a-\x80"sv, error::eight_bit_octet, 2},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.input));
    expect_error(parse_domain(c.input), c.code, c.offset);
  }
}

TEST(AddressDomain, LimitIs255Octets) {
  // 4.5.3.1.2: "The maximum total length of a domain name or number is 255 octets."
  EXPECT_TRUE(parse_domain(domain_of(255)).has_value());
  expect_error(parse_domain(domain_of(256)), error::domain_too_long, 255);
  // The limit is reached before a later syntax error...
  std::string late = domain_of(300);
  late[280] = '_';
  expect_error(parse_domain(late), error::domain_too_long, 255);
  // ... but an earlier syntax error is reported first.
  std::string early = domain_of(300);
  early[100] = '_';
  expect_error(parse_domain(early), error::bad_domain, 100);
}

TEST(AddressDomain, ULabelsOnlyWithSmtputf8) {
  // RFC 6531 3.3: sub-domain =/ U-label.
  const std::string_view buecher = "b\xc3\xbc" "cher.example";
  const std::string_view japanese = "\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88";
  const std::string_view emoji = "\xf0\x9f\x98\x80.example";
  for (std::string_view d : {buecher, japanese, emoji}) {
    SCOPED_TRACE(show(d));
    EXPECT_TRUE(parse_domain(d, utf8()).has_value());
    // Without SMTPUTF8 the first octet >= 0x80 does not fit (2.4).
    const auto r = parse_domain(d);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, error::eight_bit_octet);
  }
  expect_error(parse_domain(buecher), error::eight_bit_octet, 1);
}

TEST(AddressDomain, ULabelKeepsTheHyphenRules) {
  expect_error(parse_domain("-\xc3\xbc"sv, utf8()), error::bad_domain, 0);
  expect_error(parse_domain("\xc3\xbc-"sv, utf8()), error::bad_domain, 3);
  expect_error(parse_domain("\xc3\xbc..x"sv, utf8()), error::bad_domain, 3);
  EXPECT_TRUE(parse_domain("\xc3\xbc-\xc3\xbc"sv, utf8()).has_value());
}

TEST(AddressDomain, MalformedUtf8IsBadUtf8) {
  // RFC 6531 3.3 relies on RFC 3629 section 4 (via RFC 6532 UTF8-non-ascii).
  const std::vector<reject_case> cases = {
      {"b\xc3(cher"sv, error::bad_utf8, 2},     // tail octet missing
      {"\xc0\xaf.example"sv, error::bad_utf8, 0},  // overlong lead C0
      {"\xed\xa0\x80.x"sv, error::bad_utf8, 1},    // UTF-16 surrogate
      {"\xf4\x90\x80\x80.x"sv, error::bad_utf8, 1},  // above U+10FFFF
      {"ab\xe2\x82"sv, error::bad_utf8, 4},        // cut short at the end
      {"\x80" "abc"sv, error::bad_utf8, 0},        // a lone tail octet
      {"\xff"sv, error::bad_utf8, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.input));
    expect_error(parse_domain(c.input, utf8()), c.code, c.offset);
  }
}

TEST(AddressDomain, EightBitLeniencyAcceptsRawOctetsButNotUnderSmtputf8) {
  const std::string_view latin1 = "b\xfc" "cher.example";
  EXPECT_TRUE(parse_domain(latin1, raw8()).has_value());
  expect_error(parse_domain(latin1), error::eight_bit_octet, 1);
  address_options both = utf8();
  both.allow_8bit = true;  // SMTPUTF8 wins: UTF-8 must be well-formed
  expect_error(parse_domain(latin1, both), error::bad_utf8, 1);
}

// --- address literals (4.1.3) ----------------------------------------------------------------

TEST(AddressLiteral, AcceptsEveryForm) {
  struct accept_case {
    std::string_view in;
    host_kind kind;
  };
  const std::vector<accept_case> cases = {
      // IPv4-address-literal = Snum 3("." Snum), Snum = 1*3DIGIT in 0-255
      {"[123.255.37.2]"sv, host_kind::ipv4_literal},  // the example in 4.1.3
      {"[0.0.0.0]"sv, host_kind::ipv4_literal},
      {"[255.255.255.255]"sv, host_kind::ipv4_literal},
      {"[001.02.3.4]"sv, host_kind::ipv4_literal},  // 1*3DIGIT allows leading zeros
      // IPv6-full = IPv6-hex 7(":" IPv6-hex)
      {"[IPv6:2001:db8:0:0:0:0:0:1]"sv, host_kind::ipv6_literal},
      {"[IPv6:FFFF:ffff:0:1:2:3:4:5]"sv, host_kind::ipv6_literal},
      // IPv6-comp: "::" plus at most 6 groups
      {"[IPv6:2001:db8::1]"sv, host_kind::ipv6_literal},
      {"[IPv6:::]"sv, host_kind::ipv6_literal},
      {"[IPv6:1::]"sv, host_kind::ipv6_literal},
      {"[IPv6:1:2:3:4:5:6::]"sv, host_kind::ipv6_literal},
      {"[IPv6:::1:2:3:4:5:6]"sv, host_kind::ipv6_literal},
      {"[IPv6:1:2:3::4:5:6]"sv, host_kind::ipv6_literal},
      // the tag is case-insensitive (an ABNF string)
      {"[ipv6:::1]"sv, host_kind::ipv6_literal},
      {"[IPV6:1::]"sv, host_kind::ipv6_literal},
      // IPv6v4-full = IPv6-hex 5(":" IPv6-hex) ":" IPv4-address-literal
      {"[IPv6:1:2:3:4:5:6:1.2.3.4]"sv, host_kind::ipv6_literal},
      // IPv6v4-comp: "::" plus at most 4 groups before the IPv4 part
      {"[IPv6:::ffff:192.0.2.1]"sv, host_kind::ipv6_literal},
      {"[IPv6:::1.2.3.4]"sv, host_kind::ipv6_literal},
      {"[IPv6:1:2:3:4::1.2.3.4]"sv, host_kind::ipv6_literal},
      {"[IPv6:1::2:3:4:1.2.3.4]"sv, host_kind::ipv6_literal},
      {"[IPv6:::1:2:3:4:1.2.3.4]"sv, host_kind::ipv6_literal},
      // General-address-literal = Standardized-tag ":" 1*dcontent
      {"[x400:c=us;a=x]"sv, host_kind::general_literal},
      {"[12:ab]"sv, host_kind::general_literal},
      {"[-a:b]"sv, host_kind::general_literal},  // Ldh-str may start with "-"
      {"[tag:!~]"sv, host_kind::general_literal},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.in));
    const auto r = parse_address_literal(c.in);
    ASSERT_TRUE(r.has_value()) << to_string(r.error().code) << " at " << r.error().offset;
    EXPECT_EQ(*r, c.kind);
  }
}

TEST(AddressLiteral, RejectsIpv4WithErrorAndOffset) {
  const std::vector<reject_case> cases = {
      {"1.2.3.4"sv, error::bad_address_literal, 0},      // "[" required
      {"[1.2.3.4"sv, error::bad_address_literal, 8},     // "]" required
      {"[]"sv, error::bad_address_literal, 1},
      {"[256.1.1.1]"sv, error::bad_address_literal, 3},  // Snum above 255: at the digit
      {"[1.2.3.256]"sv, error::bad_address_literal, 9},
      {"[1234.1.1.1]"sv, error::bad_address_literal, 4},  // 1*3DIGIT
      {"[0001.1.1.1]"sv, error::bad_address_literal, 4},  // ... even when the value is small
      {"[1.2.3]"sv, error::bad_address_literal, 6},       // 4 Snum
      {"[1.2.3.4.5]"sv, error::bad_address_literal, 8},
      {"[1..2.3]"sv, error::bad_address_literal, 3},
      {"[a.b.c.d]"sv, error::bad_address_literal, 1},
      {"[1.2.3.4 ]"sv, error::bad_address_literal, 8},
      {"[1.2.3.4]x"sv, error::bad_address_literal, 9},
      {"[1.2.3.\x80]"sv, error::eight_bit_octet, 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.input));
    expect_error(parse_address_literal(c.input), c.code, c.offset);
  }
}

TEST(AddressLiteral, RejectsIpv6WithErrorAndOffset) {
  // "[IPv6:" is 6 octets; each offset is at the first octet no IPv6 form can take.
  const std::vector<reject_case> cases = {
      {"[IPv6:]"sv, error::bad_address_literal, 6},
      {"[IPv6:1:2:3:4:5:6:7]"sv, error::bad_address_literal, 19},    // 7 groups without "::"
      {"[IPv6:1:2:3:4:5:6:7:8:9]"sv, error::bad_address_literal, 21},  // a 9th group
      {"[IPv6:1::2::3]"sv, error::bad_address_literal, 11},          // two "::"
      {"[IPv6:12345::]"sv, error::bad_address_literal, 10},          // 1*4HEXDIG
      {"[IPv6:1:2:3:4:5:6:7::]"sv, error::bad_address_literal, 20},  // 7 groups + "::"
      {"[IPv6:::1:2:3:4:5:6:7]"sv, error::bad_address_literal, 19},  // "::" + 7 groups
      {"[IPv6:1:2:3:4:5:6::7]"sv, error::bad_address_literal, 19},
      {"[IPv6:::g]"sv, error::bad_address_literal, 8},
      {"[IPv6::1]"sv, error::bad_address_literal, 7},  // a single leading ":"
      {"[IPv6:1:]"sv, error::bad_address_literal, 8},  // a group must follow ":"
      {"[IPv6::::]"sv, error::bad_address_literal, 8},
      {"[IPv6:1:2:3:4:5:1.2.3.4]"sv, error::bad_address_literal, 17},    // IPv6v4-full needs 6
      {"[IPv6:1:2:3:4:5:6:7:1.2.3.4]"sv, error::bad_address_literal, 21},
      {"[IPv6:1:2:3:4:5::1.2.3.4]"sv, error::bad_address_literal, 18},   // IPv6v4-comp: at most 4
      {"[IPv6:::1:2:3:4:5:1.2.3.4]"sv, error::bad_address_literal, 19},
      {"[IPv6:::ffff:1.2.3]"sv, error::bad_address_literal, 18},
      {"[IPv6:::1.2.3.256]"sv, error::bad_address_literal, 16},
      {"[IPv6:a.1.2.3]"sv, error::bad_address_literal, 7},
      {"[IPv6:1234.1.2.3]"sv, error::bad_address_literal, 10},
      {"[IPv6:::1.2.3.0001]"sv, error::bad_address_literal, 17},  // Snum = 1*3DIGIT
      {"[IPv6:::1.2.3.4:1]"sv, error::bad_address_literal, 15},  // nothing after the IPv4 part
      {"[IPv6:::1"sv, error::bad_address_literal, 9},
      {"[IPv6:::1\t]"sv, error::control_character, 9},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.input));
    expect_error(parse_address_literal(c.input), c.code, c.offset);
  }
}

TEST(AddressLiteral, RejectsGeneralLiteralsWithErrorAndOffset) {
  const std::vector<reject_case> cases = {
      {"[x400:]"sv, error::bad_address_literal, 6},     // 1*dcontent
      {"[x400:a b]"sv, error::bad_address_literal, 7},  // dcontent excludes SP
      {"[x400:a[b]"sv, error::bad_address_literal, 7},  // ... "[" ...
      {"[x400:a\\b]"sv, error::bad_address_literal, 7},  // ... "\" ...
      {"[a-:b]"sv, error::bad_address_literal, 3},      // Ldh-str ends with Let-dig
      {"[-:b]"sv, error::bad_address_literal, 2},
      {"[x400:\x80]"sv, error::eight_bit_octet, 6},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.input));
    expect_error(parse_address_literal(c.input), c.code, c.offset);
  }
}

TEST(AddressLiteral, IsBoundedLikeADomain) {
  // 4.5.3.1.2 "a domain name or number": the literal counts its brackets.
  const std::string ok = "[x:" + std::string(251, 'a') + "]";
  ASSERT_EQ(ok.size(), 255u);
  EXPECT_TRUE(parse_address_literal(ok).has_value());
  const std::string long_one = "[x:" + std::string(252, 'a') + "]";
  expect_error(parse_address_literal(long_one), error::domain_too_long, 255);
}

// --- Local-part, Dot-string, Quoted-string (4.1.2) -------------------------------------

TEST(AddressLocalPart, AcceptsDotStringsAndQuotedStrings) {
  for (std::string_view lp :
       {"a"sv, "user"sv, "first.last"sv, "a.b.c"sv, "!#$%&'*+-/=?^_`{|}~"sv,  // atext, RFC 5322 3.2.3
        "\"Joe\\,Smith\""sv,  // the 4.1.2 example: a nine-character user name
        "\"\""sv,             // *QcontentSMTP may be empty
        "\"a b\""sv, "\"a\\\"b\""sv, "\"a\\\\b\""sv, "\"@\""sv, "\"a\\ b\""sv, "\"(),:;<>[]\""sv}) {
    SCOPED_TRACE(show(lp));
    const auto r = parse_local_part(lp);
    ASSERT_TRUE(r.has_value()) << to_string(r.error().code) << " at " << r.error().offset;
    EXPECT_EQ(*r, lp);
  }
  // A prefix parser: it stops where the Local-part ends.
  const auto r = parse_local_part("abc@d");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "abc");
}

TEST(AddressLocalPart, RejectsWithErrorAndOffset) {
  const std::vector<reject_case> cases = {
      {""sv, error::bad_local_part, 0},
      {".a"sv, error::bad_local_part, 0},     // Atom first
      {"a..b"sv, error::bad_local_part, 2},   // empty Atom
      {"a."sv, error::bad_local_part, 2},     // an Atom must follow "."
      {",a"sv, error::bad_local_part, 0},
      {"\"abc"sv, error::bad_quoted_string, 4},    // unterminated
      {"\"a\\"sv, error::bad_quoted_string, 3},    // quoted-pair cut short
      {"\"a\tb\""sv, error::control_character, 2},  // qtextSMTP is %d32-126 minus " and \ .
      {"\"a\\\x01\""sv, error::control_character, 3},  // quoted-pairSMTP = %d92 %d32-126
      {"\"a\\\x7f\""sv, error::control_character, 3},
      {"\"\xc3\xa9\""sv, error::eight_bit_octet, 1},
      {"\xc3\xa9"sv, error::eight_bit_octet, 0},
      {"a\0"sv, error::nul_octet, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.input));
    const auto r = parse_local_part(c.input);
    if (c.input == "a\0"sv) {
      // "a" is a complete Local-part: the prefix parser stops before the NUL.
      ASSERT_TRUE(r.has_value());
      EXPECT_EQ(*r, "a");
      continue;
    }
    expect_error(r, c.code, c.offset);
  }
}

TEST(AddressLocalPart, LimitIs64OctetsAsWritten) {
  // 4.5.3.1.1: "The maximum total length of a user name or other local-part is 64 octets."
  EXPECT_TRUE(parse_local_part(std::string(64, 'a')).has_value());
  expect_error(parse_local_part(std::string(65, 'a')), error::local_part_too_long, 64);
  const std::string quoted64 = "\"" + std::string(62, 'a') + "\"";
  EXPECT_TRUE(parse_local_part(quoted64).has_value());
  const std::string quoted65 = "\"" + std::string(63, 'a') + "\"";
  expect_error(parse_local_part(quoted65), error::local_part_too_long, 64);
  std::string late = std::string(100, 'a');
  late[80] = ',';
  expect_error(parse_local_part(late + "@x"), error::local_part_too_long, 64);
  expect_error(parse_local_part(std::string(50, 'a') + "..b"), error::bad_local_part, 51);
}

TEST(AddressLocalPart, Utf8OnlyWithSmtputf8) {
  // RFC 6531 3.3: atext =/ UTF8-non-ascii; qtextSMTP =/ UTF8-non-ascii.
  const std::string_view chinese = "\xe7\x94\xa8\xe6\x88\xb7";
  EXPECT_TRUE(parse_local_part(chinese, utf8()).has_value());
  EXPECT_TRUE(parse_local_part("\"d\xc3\xa9 x\""sv, utf8()).has_value());
  expect_error(parse_local_part(chinese), error::eight_bit_octet, 0);
  // quoted-pairSMTP is not extended: "\" must be followed by ASCII.
  expect_error(parse_local_part("\"\\\xc3\xa9\""sv, utf8()), error::bad_quoted_string, 2);
  expect_error(parse_local_part("a\xc3(b"sv, utf8()), error::bad_utf8, 2);
  expect_error(parse_local_part("\"a\xe2\x82\""sv, utf8()), error::bad_utf8, 4);
  EXPECT_TRUE(parse_local_part("j\xf6rg"sv, raw8()).has_value());
}

TEST(AddressString, AtomOrQuotedString) {
  // String = Atom / Quoted-string (4.1.2): no dots outside quotes.
  auto r = parse_string("Crispin");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "Crispin");
  r = parse_string("a.b");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "a");
  r = parse_string("\"John Smith\" x");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, "\"John Smith\"");
  expect_error(parse_string(""), error::bad_local_part, 0);
  expect_error(parse_string(".a"), error::bad_local_part, 0);
  expect_error(parse_string("\"ab"), error::bad_quoted_string, 3);
}

// --- Mailbox (4.1.2) -------------------------------------------------------------------

TEST(AddressMailbox, SplitsLocalPartAndHost) {
  struct mailbox_case {
    std::string_view in;
    std::string_view local;
    std::string_view host;
    host_kind kind;
    bool quoted;
  };
  const std::vector<mailbox_case> cases = {
      {"user@example.com"sv, "user"sv, "example.com"sv, host_kind::domain, false},
      {"\"Joe\\,Smith\"@example.com"sv, "\"Joe\\,Smith\""sv, "example.com"sv, host_kind::domain, true},
      {"a@[1.2.3.4]"sv, "a"sv, "[1.2.3.4]"sv, host_kind::ipv4_literal, false},
      {"a@[IPv6:::1]"sv, "a"sv, "[IPv6:::1]"sv, host_kind::ipv6_literal, false},
      {"a@[x400:c=us]"sv, "a"sv, "[x400:c=us]"sv, host_kind::general_literal, false},
      {"Smith@bar.com"sv, "Smith"sv, "bar.com"sv, host_kind::domain, false},  // Appendix D
      {"Admin.MRC@foo.com"sv, "Admin.MRC"sv, "foo.com"sv, host_kind::domain, false},
      {"\"a@b\"@c"sv, "\"a@b\""sv, "c"sv, host_kind::domain, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.in));
    const auto r = parse_mailbox(c.in);
    ASSERT_TRUE(r.has_value()) << to_string(r.error().code) << " at " << r.error().offset;
    EXPECT_EQ(r->text, c.in);
    EXPECT_EQ(r->local_part, c.local);
    EXPECT_EQ(r->host, c.host);
    EXPECT_EQ(r->kind, c.kind);
    EXPECT_EQ(r->quoted, c.quoted);
    EXPECT_FALSE(r->utf8);
  }
}

TEST(AddressMailbox, RejectsWithErrorAndOffset) {
  const std::vector<reject_case> cases = {
      {"user"sv, error::bad_local_part, 4},  // "@" required
      {"user@"sv, error::bad_domain, 5},
      {"@example.com"sv, error::bad_local_part, 0},
      {"a@b@c"sv, error::bad_domain, 3},
      {"\"a\"b@c"sv, error::bad_quoted_string, 3},
      {"a@[1.2.3.4]x"sv, error::bad_address_literal, 11},
      {"a b@c"sv, error::bad_local_part, 1},
      {"a@b_c"sv, error::bad_domain, 3},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.input));
    expect_error(parse_mailbox(c.input), c.code, c.offset);
  }
}

TEST(AddressMailbox, Utf8Flag) {
  const std::string_view box = "\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a";
  const auto r = parse_mailbox(box, utf8());
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->utf8);
  expect_error(parse_mailbox(box), error::eight_bit_octet, 0);
  const auto ascii_host = parse_mailbox("\xc3\xa9@example.com"sv, utf8());
  ASSERT_TRUE(ascii_host.has_value());
  EXPECT_TRUE(ascii_host->utf8);
}

// --- Path, Reverse-path, Forward-path, A-d-l (4.1.2, Appendix C) ---------------------------

TEST(AddressPath, PlainPathIsAPrefix) {
  const auto r = parse_path("<user@example.com> SIZE=1", false, false);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->text, "<user@example.com>");
  EXPECT_EQ(r->box.text, "user@example.com");
  EXPECT_TRUE(r->source_route.empty());
  EXPECT_FALSE(r->null);
  EXPECT_FALSE(r->postmaster);
}

TEST(AddressPath, NullPathOnlyWhereAllowed) {
  // Reverse-path = Path / "<>"; Forward-path = Path.
  const auto r = parse_path("<>", true, false);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->null);
  EXPECT_EQ(r->text, "<>");
  expect_error(parse_path("<>", false, true), error::bad_path, 1);
}

TEST(AddressPath, PostmasterCaseInsensitiveOnlyWhereAllowed) {
  // 4.1.1.3: "<Postmaster>" with the string treated as case-insensitive.
  for (std::string_view p : {"<Postmaster>"sv, "<POSTMASTER>"sv, "<postMaster>"sv}) {
    SCOPED_TRACE(show(p));
    const auto r = parse_path(p, false, true);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->postmaster);
    EXPECT_TRUE(r->box.text.empty());
    EXPECT_EQ(r->text, p);
    // Not a Mailbox: without the special case there is no "@".
    expect_error(parse_path(p, true, false), error::bad_local_part, 11);
  }
  // "<Postmaster@" Domain ">" is an ordinary Forward-path.
  const auto r = parse_path("<Postmaster@example.com>", false, true);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->postmaster);
  EXPECT_EQ(r->box.local_part, "Postmaster");
  EXPECT_EQ(r->box.host, "example.com");
  // Only the whole name counts.
  expect_error(parse_path("<Postmasters>", false, true), error::bad_local_part, 12);
}

TEST(AddressPath, SourceRoutesAreAccepted) {
  // 4.1.2 A-d-l "MUST BE accepted"; the examples of 4.1.1.3 and Appendix C.
  struct route_case {
    std::string_view in;
    std::string_view route;
    std::string_view box;
  };
  const std::vector<route_case> cases = {
      {"<@hosta.int,@jkl.org:userc@d.bar.org>"sv, "@hosta.int,@jkl.org"sv, "userc@d.bar.org"sv},
      {"<@jkl.org:userc@d.bar.org>"sv, "@jkl.org"sv, "userc@d.bar.org"sv},
      {"<@ONE,@TWO:JOE@THREE>"sv, "@ONE,@TWO"sv, "JOE@THREE"sv},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.in));
    const auto r = parse_path(c.in, false, false);
    ASSERT_TRUE(r.has_value()) << to_string(r.error().code) << " at " << r.error().offset;
    EXPECT_EQ(r->source_route, c.route);
    EXPECT_EQ(r->box.text, c.box);
    EXPECT_EQ(r->text, c.in);
  }
}

TEST(AddressPath, IntoFillsInPlace) {
  path out;
  EXPECT_EQ(parse_path_into("<a@b.example> x", false, false, {}, out), parse_error{});
  EXPECT_EQ(out.text, "<a@b.example>");
  EXPECT_EQ(out.box.host, "b.example");
  path bad;
  EXPECT_EQ(parse_path_into("<a@b", false, false, {}, bad), (parse_error{error::bad_path, 4}));
}

TEST(AddressPath, RejectsWithErrorAndOffset) {
  const std::vector<reject_case> cases = {
      {""sv, error::bad_path, 0},
      {"a@b"sv, error::bad_path, 0},  // "<" required
      {"<a@b"sv, error::bad_path, 4},  // ">" required
      {"<a@b c>"sv, error::bad_domain, 4},
      {"<a@b_c>"sv, error::bad_domain, 4},
      {"<a@[1.2.3.4]x>"sv, error::bad_path, 12},
      {"<a>"sv, error::bad_local_part, 2},
      {"<a@b\x01>"sv, error::control_character, 4},
      // A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain, then ":"
      {"<@a,b:c@d>"sv, error::bad_source_route, 4},
      {"<@a c@d>"sv, error::bad_source_route, 3},
      {"<@:a@b>"sv, error::bad_source_route, 2},
      {"<@[1.2.3.4]:a@b>"sv, error::bad_source_route, 2},  // At-domain takes no literal
      {"<@a-:x@y>"sv, error::bad_source_route, 4},
      {"<@a,:x@y>"sv, error::bad_source_route, 4},
      {"<@a"sv, error::bad_source_route, 3},
      {"<@a:>"sv, error::bad_local_part, 4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.input));
    expect_error(parse_path(c.input, true, true), c.code, c.offset);
  }
}

TEST(AddressPath, LimitIs256OctetsWithBrackets) {
  // 4.5.3.1.3: 256 octets "including the punctuation and element separators".
  const std::string local(64, 'a');
  const std::string fits = "<" + local + "@" + domain_of(189) + ">";
  ASSERT_EQ(fits.size(), 256u);
  EXPECT_TRUE(parse_path(fits, false, false).has_value());
  const std::string over = "<" + local + "@" + domain_of(190) + ">";
  expect_error(parse_path(over, false, false), error::path_too_long, 256);
  // A local part over 64 is reported as such (it is reached first).
  expect_error(parse_path("<" + std::string(65, 'a') + "@b>", false, false), error::local_part_too_long, 65);
}

TEST(AddressPath, MissingBracketsLeniency) {
  address_options lenient;
  lenient.allow_missing_brackets = true;
  auto r = parse_path("a@b SIZE=1", true, false, lenient);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->text, "a@b");
  EXPECT_EQ(r->box.text, "a@b");
  r = parse_path("@a:b@c", false, false, lenient);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->source_route, "@a");
  r = parse_path("postmaster", false, true, lenient);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->postmaster);
  // Brackets still work with the leniency on.
  r = parse_path("<a@b>", false, false, lenient);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->text, "<a@b>");
  expect_error(parse_path("a@b>", false, false, lenient), error::bad_domain, 3);
  expect_error(parse_path("", false, false, lenient), error::bad_path, 0);
  expect_error(parse_path("a@b", false, false), error::bad_path, 0);  // off: strict
  // Without brackets the limit leaves room for them: 256 - 2.
  const std::string fits = std::string(64, 'a') + "@" + domain_of(189);
  ASSERT_EQ(fits.size(), 254u);
  EXPECT_TRUE(parse_path(fits, false, false, lenient).has_value());
  expect_error(parse_path(fits + "a", false, false, lenient), error::path_too_long, 254);
}

TEST(AddressPath, Smtputf8) {
  const std::string_view p = "<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>";
  const auto r = parse_path(p, false, false, utf8());
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->box.utf8);
  expect_error(parse_path(p, false, false), error::eight_bit_octet, 1);
  expect_error(parse_path("<a\xc3(@b>"sv, false, false, utf8()), error::bad_utf8, 3);
  // A U-label in a source route.
  EXPECT_TRUE(parse_path("<@\xc3\xbc.example:a@b>"sv, false, false, utf8()).has_value());
}

}  // namespace
}  // namespace smtpspec::reference
