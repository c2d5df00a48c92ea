// Tests of the EHLO reply model: RFC 5321 section 4.1.1.1 (ehlo-ok-rsp, ehlo-line,
// ehlo-keyword, ehlo-param) with its Appendix D examples, 2.4 (keywords are
// case-insensitive), RFC 1870 section 3 (SIZE parameter), RFC 4954 section 3 (AUTH
// mechanism list; RFC 4422 section 3.1 names) and the historic "AUTH=" line.
#include "smtpspec/reference/extensions.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace smtpspec::reference {
namespace {

// Parses wire text as a reply, then as an EHLO reply.
result<extension_list> ehlo(const std::string& wire) {
  const auto r = parse_reply(wire);
  if (!r) {
    ADD_FAILURE() << "reply does not parse: " << to_string(r.error().code) << " at " << r.error().offset;
    return r.error();
  }
  return parse_ehlo_reply(*r);
}

std::vector<std::string> keywords(const extension_list& l) {
  std::vector<std::string> out;
  for (const auto& x : l.items) out.push_back(x.keyword);
  return out;
}

TEST(Ehlo, AppendixDExample) {
  // D.1: the multi-line ehlo-ok-rsp of 4.1.1.1.
  const auto l = ehlo("250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->domain, "foo.com");
  EXPECT_EQ(l->greeting, "greets bar.com");
  EXPECT_FALSE(l->domain_is_literal);
  EXPECT_EQ(keywords(*l), (std::vector<std::string>{"8BITMIME", "SIZE", "DSN", "HELP"}));
  EXPECT_TRUE(l->has("8bitmime"));  // 2.4: keywords are case-insensitive
  EXPECT_TRUE(l->has("Help"));
  EXPECT_FALSE(l->has("PIPELINING"));
  EXPECT_FALSE(l->has("SIZ"));
  EXPECT_EQ(l->size_limit(), std::optional<std::uint64_t>{0});  // SIZE without a number
  EXPECT_TRUE(l->auth_mechanisms().empty());
  EXPECT_FALSE(l->has_legacy_auth());
}

TEST(Ehlo, SingleLineReply) {
  // D.3 step 2: "250" SP Domain [ SP ehlo-greet ], no extensions.
  const auto l = ehlo("250 xyz.com is on the air\r\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->domain, "xyz.com");
  EXPECT_EQ(l->greeting, "is on the air");
  EXPECT_TRUE(l->items.empty());
  EXPECT_EQ(l->size_limit(), std::nullopt);
  const auto bare = ehlo("250 xyz.com\r\n");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->greeting, "");
}

TEST(Ehlo, RealisticServerReply) {
  const auto l = ehlo(
      "250-mail.example.org Hello client.example [192.0.2.7], pleased to meet you\r\n"
      "250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n"
      "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->items.size(), 10u);
  EXPECT_EQ(l->size_limit(), std::optional<std::uint64_t>{10240000});
  for (const char* k : {"PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "SMTPUTF8", "CHUNKING"})
    EXPECT_TRUE(l->has(k)) << k;
}

TEST(Ehlo, KeywordsUpperCasedParamsKeptAsSent) {
  const auto l = ehlo("250-foo.com\r\n250-pipelining\r\n250-X-Foo bAr baz=1\r\n250 8bitmime\r\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(keywords(*l), (std::vector<std::string>{"PIPELINING", "X-FOO", "8BITMIME"}));
  const extension* x = l->find("x-foo");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->params, (std::vector<std::string>{"bAr", "baz=1"}));
  EXPECT_EQ(l->find("X-BAR"), nullptr);
}

TEST(Ehlo, AddressLiteralDomainIsToleratedAndRecorded) {
  // ehlo-ok-rsp names a Domain; an address literal is tolerated but flagged.
  const auto l = ehlo("250-[192.0.2.1] hi\r\n250 HELP\r\n");
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->domain, "[192.0.2.1]");
  EXPECT_TRUE(l->domain_is_literal);
}

// ---- SIZE (RFC 1870 section 3 (3): size-param ::= [1*DIGIT]) -------------------------

TEST(EhloSize, Values) {
  struct row {
    std::string line;
    std::optional<std::uint64_t> limit;
  };
  const row rows[] = {
      {"250 SIZE 10240000", 10240000},
      {"250 SIZE", 0},     // advertised, no information on the limit
      {"250 SIZE 0", 0},   // "0": no fixed maximum
      {"250 size 52428800", 52428800},
      {"250 SIZE 0010", 10},  // 1*DIGIT allows leading zeros
      {"250 SIZE 18446744073709551615", std::numeric_limits<std::uint64_t>::max()},
      {"250 HELP", std::nullopt},  // not advertised
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.line);
    const auto l = ehlo("250-foo.com\r\n" + r.line + "\r\n");
    ASSERT_TRUE(l.has_value()) << to_string(l.error().code) << " at " << l.error().offset;
    EXPECT_EQ(l->size_limit(), r.limit);
  }
}

struct bad_case {
  std::string wire;
  error code;
  std::size_t offset;
};

void expect_rejections(const std::vector<bad_case>& cases) {
  for (const auto& c : cases) {
    SCOPED_TRACE(c.wire);
    const auto l = ehlo(c.wire);
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.error(), (parse_error{c.code, c.offset}));
  }
}

TEST(EhloSize, Rejections) {
  // Offsets are into the wire; "250-foo.com\r\n" is 13 octets, "250 SIZE " 9 more.
  expect_rejections({
      {"250-foo.com\r\n250 SIZE 18446744073709551616\r\n", error::bad_ehlo_reply, 13 + 9 + 19},  // overflow
      {"250-foo.com\r\n250 SIZE 99999999999999999999999\r\n", error::bad_ehlo_reply, 13 + 9 + 19},
      {"250-foo.com\r\n250 SIZE abc\r\n", error::bad_ehlo_reply, 13 + 9},
      {"250-foo.com\r\n250 SIZE 10M\r\n", error::bad_ehlo_reply, 13 + 11},
      {"250-foo.com\r\n250 SIZE -1\r\n", error::bad_ehlo_reply, 13 + 9},
      {"250-foo.com\r\n250 SIZE 1 2\r\n", error::bad_ehlo_reply, 13 + 11},  // one parameter at most
  });
}

// ---- AUTH (RFC 4954 section 3) ----------------------------------------------------------

TEST(EhloAuth, Mechanisms) {
  struct row {
    std::string line;
    std::vector<std::string> mechs;
  };
  const row rows[] = {
      {"250 AUTH PLAIN LOGIN CRAM-MD5", {"PLAIN", "LOGIN", "CRAM-MD5"}},
      {"250 auth plain xoauth2", {"PLAIN", "XOAUTH2"}},  // upper-cased
      {"250 AUTH SCRAM-SHA-256-PLUS GSSAPI", {"SCRAM-SHA-256-PLUS", "GSSAPI"}},
      {"250 AUTH X_MECH_20_CHARACTERS", {"X_MECH_20_CHARACTERS"}},
      {"250 AUTH", {}},
      {"250 HELP", {}},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.line);
    const auto l = ehlo("250-foo.com\r\n" + r.line + "\r\n");
    ASSERT_TRUE(l.has_value()) << to_string(l.error().code) << " at " << l.error().offset;
    EXPECT_EQ(l->auth_mechanisms(), r.mechs);
  }
}

TEST(EhloAuth, HistoricAuthEqualsIsToleratedButNotRfc) {
  // "AUTH=LOGIN PLAIN" is not an ehlo-line ("=" is not in ehlo-keyword); kept as a
  // legacy item that find("AUTH") and auth_mechanisms() do not see.
  {
    const auto l = ehlo("250-foo.com\r\n250-AUTH PLAIN LOGIN\r\n250 AUTH=PLAIN LOGIN\r\n");
    ASSERT_TRUE(l.has_value());
    ASSERT_EQ(l->items.size(), 2u);
    EXPECT_FALSE(l->items[0].legacy);
    EXPECT_TRUE(l->items[1].legacy);
    EXPECT_EQ(l->items[1].keyword, "AUTH=PLAIN");
    EXPECT_EQ(l->items[1].params, (std::vector<std::string>{"LOGIN"}));
    EXPECT_EQ(l->auth_mechanisms(), (std::vector<std::string>{"PLAIN", "LOGIN"}));
    EXPECT_TRUE(l->has_legacy_auth());
  }
  {
    const auto l = ehlo("250-foo.com\r\n250 auth=login plain\r\n");
    ASSERT_TRUE(l.has_value());
    EXPECT_FALSE(l->has("AUTH"));
    EXPECT_FALSE(l->has("AUTH=LOGIN"));  // lookups never return legacy items
    EXPECT_TRUE(l->auth_mechanisms().empty());
    EXPECT_TRUE(l->has_legacy_auth());
    EXPECT_EQ(l->items.at(0).keyword, "AUTH=LOGIN");
  }
}

TEST(EhloAuth, Rejections) {
  // "250-foo.com\r\n" is 13 octets, "250 AUTH " 9 more.
  expect_rejections({
      {"250-foo.com\r\n250 AUTH PL@IN\r\n", error::bad_auth_mechanism, 13 + 9 + 2},
      {"250-foo.com\r\n250 AUTH PLAIN LOGIN.\r\n", error::bad_auth_mechanism, 13 + 9 + 11},
      {"250-foo.com\r\n250 AUTH X_MECH_21_CHARACTERSX\r\n", error::bad_auth_mechanism, 13 + 9 + 20},
      {"250-foo.com\r\n250 AUTH=\r\n", error::bad_ehlo_reply, 13 + 9},
      {"250-foo.com\r\n250 AUTHX=PLAIN\r\n", error::bad_ehlo_reply, 13 + 9},  // only AUTH= is tolerated
  });
}

// ---- ehlo-ok-rsp rejections (4.1.1.1) ------------------------------------------------------

TEST(Ehlo, RejectsNonConformingRepliesWithWireOffsets) {
  expect_rejections({
      {"550 not here\r\n", error::bad_ehlo_reply, 0},    // not 250
      {"502 Command not implemented\r\n", error::bad_ehlo_reply, 0},
      {"250\r\n", error::bad_ehlo_reply, 3},              // no Domain
      {"250 \r\n", error::bad_ehlo_reply, 4},
      {"250  foo.com\r\n", error::bad_ehlo_reply, 4},
      {"250 foo..com\r\n", error::bad_ehlo_reply, 8},
      {"250 foo.com\thi\r\n", error::bad_ehlo_reply, 11},
      {"250-foo.com\r\n250-\r\n250 HELP\r\n", error::bad_ehlo_reply, 17},         // empty ehlo-line
      {"250-foo.com\r\n250 \r\n", error::bad_ehlo_reply, 17},
      {"250-foo.com\r\n250\r\n", error::bad_ehlo_reply, 16},
      {"250-foo.com\r\n250 -BAD\r\n", error::bad_ehlo_reply, 17},                  // keyword starts with ALPHA / DIGIT
      {"250-foo.com\r\n250 FOO_BAR\r\n", error::bad_ehlo_reply, 20},
      {"250-foo.com\r\n250 X=Y\r\n", error::bad_ehlo_reply, 18},
      {"250-foo.com\r\n250 FOO  BAR\r\n", error::bad_ehlo_reply, 21},              // empty ehlo-param
      {"250-foo.com\r\n250 FOO BAR \r\n", error::bad_ehlo_reply, 25},              // trailing SP
      {"250-foo.com\r\n250 FOO\tBAR\r\n", error::bad_ehlo_reply, 20},              // params separated by SP only
      {"250-foo.com\r\n250 FOO BA\tR\r\n", error::bad_ehlo_reply, 23},
      {"250-foo.com\r\n250-HELP\r\n250 F\"OO\r\n", error::bad_ehlo_reply, 13 + 10 + 5},
  });
}

TEST(Ehlo, UnicodeInParamsIsRejectedEvenWithUtf8Text) {
  // ehlo-param = 1*(%d33-126): no 8-bit octets, even where the text may be UTF-8.
  reply_parser_options opt;
  opt.allow_utf8 = true;
  const auto r = parse_reply("250-foo.com\r\n250 X-LANG caf\xc3\xa9\r\n", opt);
  ASSERT_TRUE(r.has_value());
  const auto l = parse_ehlo_reply(*r);
  ASSERT_FALSE(l.has_value());
  EXPECT_EQ(l.error(), (parse_error{error::bad_ehlo_reply, 13 + 4 + 10}));
}

TEST(Ehlo, EmptyReplyObjectIsRejected) {
  reply r;
  r.code = 250;
  const auto l = parse_ehlo_reply(r);
  ASSERT_FALSE(l.has_value());
  EXPECT_EQ(l.error().code, error::bad_ehlo_reply);
}

}  // namespace
}  // namespace smtpspec::reference
