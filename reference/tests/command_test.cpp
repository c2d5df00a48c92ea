// Tests of command.hpp: RFC 5321 2.4 (case-insensitivity), 4.1.1.1 to 4.1.1.10
// (verbs and their arguments), 4.1.2 (Mail-parameters, esmtp-param), 4.3.2 / 4.2.2
// (500 vs 501), 4.5.3.1 (limits), RFC 3207 4 (STARTTLS), RFC 4954 4 and 8 (AUTH),
// RFC 3030 2 (BDAT), RFC 6531 3.3 and 3.7 (SMTPUTF8), and the leniency bits.
//
// Every rejection checks the error value and the offset (into the line) of the
// first octet that does not fit.
#include "smtpspec/reference/command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace smtpspec::reference {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

// parse_command allocates nothing: a command holds only views and scalars.
static_assert(std::is_trivially_copyable_v<command>);
static_assert(std::is_trivially_destructible_v<command>);

struct reject_case {
  std::string_view line;
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

command_options lenient(leniency bits) {
  command_options o;
  o.lenient = bits;
  return o;
}

command_options utf8() {
  command_options o;
  o.smtputf8 = true;
  return o;
}

/// Parses a line that must be accepted.
command accept(std::string_view line, const command_options& opt = {}) {
  const auto r = parse_command(line, opt);
  EXPECT_TRUE(r.has_value()) << show(line) << ": " << (r ? "" : to_string(r.error().code)) << " at "
                             << (r ? 0 : r.error().offset);
  return r ? *r : command{};
}

void expect_reject(std::string_view line, error code, std::size_t offset, const command_options& opt = {}) {
  SCOPED_TRACE(show(line));
  const auto r = parse_command(line, opt);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(to_string(r.error().code), to_string(code));
  EXPECT_EQ(r.error().offset, offset);
}

void expect_rejects(const std::vector<reject_case>& cases, const command_options& opt = {}) {
  for (const auto& c : cases) expect_reject(c.line, c.code, c.offset, opt);
}

/// A domain of exactly n octets (labels of 63, never ending in ".").
std::string domain_of(std::size_t n) {
  std::string d(n, 'a');
  for (std::size_t i = 63; i + 1 < n; i += 64) d[i] = '.';
  return d;
}

// --- verbs (4.1.1, 2.4) --------------------------------------------------------------------

TEST(CommandVerb, EveryVerbInAnyCase) {
  // 2.4: "a command verb ... MAY be encoded in upper case, lower case, or any mixture".
  struct verb_case {
    std::string_view line;
    verb kind;
  };
  const std::vector<verb_case> cases = {
      {"EHLO example.com"sv, verb::ehlo},  {"ehlo example.com"sv, verb::ehlo}, {"eHlO example.com"sv, verb::ehlo},
      {"HELO example.com"sv, verb::helo},  {"helo x"sv, verb::helo},           {"MAIL FROM:<a@b>"sv, verb::mail},
      {"mail from:<a@b>"sv, verb::mail},   {"MaIl FrOm:<a@b>"sv, verb::mail},  {"RCPT TO:<a@b>"sv, verb::rcpt},
      {"rcpt to:<a@b>"sv, verb::rcpt},     {"DATA"sv, verb::data},             {"data"sv, verb::data},
      {"RSET"sv, verb::rset},              {"rSeT"sv, verb::rset},             {"VRFY x"sv, verb::vrfy},
      {"vrfy x"sv, verb::vrfy},            {"EXPN x"sv, verb::expn},           {"expn x"sv, verb::expn},
      {"HELP"sv, verb::help},              {"help"sv, verb::help},             {"NOOP"sv, verb::noop},
      {"noop"sv, verb::noop},              {"QUIT"sv, verb::quit},             {"quit"sv, verb::quit},
      {"STARTTLS"sv, verb::starttls},      {"starttls"sv, verb::starttls},     {"StartTls"sv, verb::starttls},
      {"AUTH PLAIN"sv, verb::auth},        {"auth plain"sv, verb::auth},       {"BDAT 0"sv, verb::bdat},
      {"bdat 0 last"sv, verb::bdat},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.line));
    const command cmd = accept(c.line);
    EXPECT_EQ(cmd.kind, c.kind);
    EXPECT_EQ(cmd.line, c.line);
    EXPECT_EQ(cmd.verb_text, c.line.substr(0, cmd.verb_text.size()));
    EXPECT_EQ(cmd.verb_text.size(), to_string(c.kind).size());
  }
}

TEST(CommandVerb, NamesRoundTrip) {
  for (verb v : {verb::ehlo, verb::helo, verb::mail, verb::rcpt, verb::data, verb::rset, verb::vrfy, verb::expn,
                 verb::help, verb::noop, verb::quit, verb::starttls, verb::auth, verb::bdat}) {
    SCOPED_TRACE(to_string(v));
    EXPECT_EQ(verb_from_string(to_string(v)), v);
    std::string lower(to_string(v));
    for (char& c : lower) c = static_cast<char>(c | 0x20);
    EXPECT_EQ(verb_from_string(lower), v);
  }
  EXPECT_EQ(to_string(verb::unknown), "");
  EXPECT_EQ(to_string(verb::starttls), "STARTTLS");
  for (std::string_view s : {""sv, "MAILX"sv, "MAI"sv, "STARTTLX"sv, "SEND"sv, "M@IL"sv, "MA\x09L"sv})
    EXPECT_EQ(verb_from_string(s), verb::unknown) << show(s);
}

TEST(CommandVerb, UnknownVerbIs500AtOffsetZero) {
  // 4.2.4 / 4.3.2: an unrecognized command is answered with 500.
  for (std::string_view line :
       {"FOO"sv, "MAILX FROM:<a@b>"sv, "MAI"sv, "X-FOO bar"sv, " MAIL FROM:<a@b>"sv, "MAIL1"sv, "MAIL:FROM"sv,
        "SEND FROM:<a@b>"sv,  // SEND, SOML, SAML, TURN are obsolete (F.3-F.6) and not modelled
        "TURN"sv, "M\xc3\x81IL FROM:<a@b>"sv, "STARTTLSX"sv, "DATA."sv, "EHLO\x80 x"sv}) {
    expect_reject(line, error::unknown_verb, 0);
  }
  EXPECT_EQ(reply_code_for(error::unknown_verb), 500);
}

TEST(CommandVerb, EmptyLine) { expect_reject("", error::empty_line, 0); }

TEST(CommandVerb, VerbMustBeFollowedBySpOrEndOfLine) {
  // 4.1.1: verbs are "terminated by <SP> if parameters follow and <CRLF> otherwise".
  expect_rejects({
      {"MAIL\tFROM:<a@b>"sv, error::bad_verb_separator, 4},
      {"QUIT\r"sv, error::bad_verb_separator, 4},
      {"DATA\0"sv, error::bad_verb_separator, 4},
      {"NOOP\x7fx"sv, error::bad_verb_separator, 4},
  });
  EXPECT_EQ(reply_code_for(error::bad_verb_separator), 501);
}

// --- commands without arguments (4.1.1, 4.3.2, RFC 3207 4) ------------------------------------

TEST(CommandNoArgument, DataRsetQuitStarttlsTakeNone) {
  // 4.1.1: "Several commands (RSET, DATA, QUIT) are specified as not permitting
  // parameters"; STARTTLS likewise (RFC 3207 4: "STARTTLS" CRLF).
  for (std::string_view line : {"DATA"sv, "RSET"sv, "QUIT"sv, "STARTTLS"sv}) {
    const command cmd = accept(line);
    EXPECT_TRUE(cmd.argument.empty());
  }
  expect_rejects({
      {"DATA x"sv, error::unexpected_argument, 4},
      {"RSET now"sv, error::unexpected_argument, 4},
      {"QUIT bye"sv, error::unexpected_argument, 4},
      {"STARTTLS x"sv, error::unexpected_argument, 8},
      {"DATA "sv, error::unexpected_argument, 4},  // strict: no trailing white space
  });
  EXPECT_EQ(reply_code_for(error::unexpected_argument), 501);
}

// --- EHLO / HELO (4.1.1.1) ----------------------------------------------------------------------

TEST(CommandHello, EhloTakesDomainOrAddressLiteral) {
  struct hello_case {
    std::string_view line;
    std::string_view domain;
    host_kind kind;
  };
  const std::vector<hello_case> cases = {
      {"EHLO client.example"sv, "client.example"sv, host_kind::domain},
      {"EHLO bar.com"sv, "bar.com"sv, host_kind::domain},  // Appendix D
      {"EHLO [192.0.2.1]"sv, "[192.0.2.1]"sv, host_kind::ipv4_literal},
      {"EHLO [IPv6:2001:db8::1]"sv, "[IPv6:2001:db8::1]"sv, host_kind::ipv6_literal},
      {"EHLO [x-tag:foo]"sv, "[x-tag:foo]"sv, host_kind::general_literal},
      {"HELO client.example"sv, "client.example"sv, host_kind::domain},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.line));
    const command cmd = accept(c.line);
    EXPECT_EQ(cmd.domain, c.domain);
    EXPECT_EQ(cmd.domain_kind, c.kind);
    EXPECT_EQ(cmd.argument, c.domain);
  }
}

TEST(CommandHello, Rejects) {
  expect_rejects({
      {"EHLO"sv, error::missing_argument, 4},
      {"EHLO "sv, error::missing_argument, 5},
      {"HELO"sv, error::missing_argument, 4},
      {"HELO [192.0.2.1]"sv, error::bad_domain, 5},  // helo = "HELO" SP Domain: no literal
      {"EHLO a_b"sv, error::bad_domain, 6},
      {"EHLO -a"sv, error::bad_domain, 5},
      {"EHLO a..b"sv, error::bad_domain, 7},
      {"EHLO  a"sv, error::bad_domain, 5},
      {"EHLO a-"sv, error::bad_domain, 7},
      {"EHLO [1.2.3]"sv, error::bad_address_literal, 11},
      {"EHLO [1.2.3.4]x"sv, error::bad_address_literal, 14},
      // 4.1.1.1: the old "literal followed by information" convention is not grammar.
      {"EHLO client.example extra"sv, error::trailing_characters, 19},
      {"EHLO [192.0.2.1] (client)"sv, error::trailing_characters, 16},
  });
}

TEST(CommandHello, DomainLimit) {
  // 4.5.3.1.2, reachable here because the line (512) is longer than a domain.
  EXPECT_EQ(accept("EHLO " + domain_of(255)).domain.size(), 255u);
  expect_reject("EHLO " + domain_of(256), error::domain_too_long, 5 + 255);
}

TEST(CommandHello, AsciiOnlyEvenWithSmtputf8) {
  // RFC 6531 3.7.1: the client "MUST send only ASCII (LDH label or A-label [RFC5890])
  // domains in the EHLO command".
  const std::string_view line = "EHLO b\xc3\xbc" "cher.example";
  expect_reject(line, error::eight_bit_octet, 6);
  expect_reject(line, error::eight_bit_octet, 6, utf8());
  EXPECT_EQ(accept("EHLO xn--bcher-kva.example", utf8()).domain, "xn--bcher-kva.example");
  // The eight_bit leniency accepts the raw octets.
  EXPECT_EQ(accept(line, lenient(leniency::eight_bit)).domain, line.substr(5));
}

// --- MAIL (4.1.1.2) ---------------------------------------------------------------------------------

TEST(CommandMail, ReversePath) {
  command cmd = accept("MAIL FROM:<userx@y.foo.org>");  // 4.1.1.3 example
  EXPECT_EQ(cmd.address.text, "<userx@y.foo.org>");
  EXPECT_EQ(cmd.address.box.local_part, "userx");
  EXPECT_EQ(cmd.address.box.host, "y.foo.org");
  EXPECT_TRUE(cmd.params.empty());
  EXPECT_EQ(cmd.argument, "FROM:<userx@y.foo.org>");

  cmd = accept("MAIL FROM:<>");  // Reverse-path = Path / "<>" (4.5.5 null path)
  EXPECT_TRUE(cmd.address.null);
  EXPECT_EQ(cmd.address.text, "<>");

  cmd = accept("mail from:<Smith@bar.com>");  // 2.4: "FROM:" is case-insensitive
  EXPECT_EQ(cmd.address.box.local_part, "Smith");  // the local part keeps its case

  cmd = accept("MAIL FROM:<\"Joe\\,Smith\"@example.com>");  // 4.1.2 example
  EXPECT_TRUE(cmd.address.box.quoted);
  EXPECT_EQ(cmd.address.box.local_part, "\"Joe\\,Smith\"");

  cmd = accept("MAIL FROM:<@a.example,@b.example:c@d.example>");  // source routes are grammar
  EXPECT_EQ(cmd.address.source_route, "@a.example,@b.example");

  cmd = accept("MAIL FROM:<\"a b\"@c> SIZE=1");  // SP inside a Quoted-string is not a separator
  EXPECT_EQ(cmd.address.box.local_part, "\"a b\"");
  EXPECT_EQ(cmd.params.size(), 1u);
}

TEST(CommandMail, Rejects) {
  expect_rejects({
      {"MAIL"sv, error::missing_from, 4},
      {"MAIL "sv, error::missing_from, 5},
      {"MAIL TO:<a@b>"sv, error::missing_from, 5},
      {"MAIL FROM<a@b>"sv, error::missing_from, 9},
      {"MAIL FROMX:<a@b>"sv, error::missing_from, 9},
      {"MAIL FROM:"sv, error::bad_path, 10},
      {"MAIL FROM: <a@b>"sv, error::bad_path, 10},  // strict: no SP after the colon
      {"MAIL FROM:a@b"sv, error::bad_path, 10},     // strict: brackets required
      {"MAIL FROM:<Postmaster>"sv, error::bad_local_part, 21},  // only RCPT has <Postmaster>
      {"MAIL FROM:<a@b>x"sv, error::trailing_characters, 15},
      {"MAIL FROM:<a@b>\t"sv, error::control_character, 15},
      {"MAIL FROM:<a@b> "sv, error::bad_parameter, 16},  // SP must introduce a parameter
      {"MAIL FROM:<a@b"sv, error::bad_path, 14},
      {"MAIL FROM:<a..b@c>"sv, error::bad_local_part, 13},
  });
}

TEST(CommandMail, PathAndLocalPartLimits) {
  // 4.5.3.1.3 path 256 with brackets; 4.5.3.1.1 local part 64.
  const std::string local(64, 'a');
  const std::string fits = "MAIL FROM:<" + local + "@" + domain_of(189) + ">";
  EXPECT_EQ(accept(fits).address.text.size(), 256u);
  expect_reject("MAIL FROM:<" + local + "@" + domain_of(190) + ">", error::path_too_long, 10 + 256);
  expect_reject("MAIL FROM:<" + std::string(65, 'a') + "@b>", error::local_part_too_long, 11 + 64);
  EXPECT_EQ(accept("MAIL FROM:<" + local + "@b>").address.box.local_part.size(), 64u);
  EXPECT_EQ(reply_code_for(error::path_too_long), 501);  // 4.5.3.1.9 "501 Path too long"
}

// --- RCPT (4.1.1.3) ---------------------------------------------------------------------------------

TEST(CommandRcpt, ForwardPathAndPostmaster) {
  command cmd = accept("RCPT TO:<Jones@foo.com>");  // Appendix D
  EXPECT_EQ(cmd.address.box.text, "Jones@foo.com");
  EXPECT_FALSE(cmd.address.postmaster);

  cmd = accept("RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>");  // 4.1.1.3 example
  EXPECT_EQ(cmd.address.source_route, "@hosta.int,@jkl.org");
  EXPECT_EQ(cmd.address.box.text, "userc@d.bar.org");

  for (std::string_view line : {"RCPT TO:<Postmaster>"sv, "RCPT TO:<postmaster>"sv, "rcpt to:<POSTMASTER>"sv}) {
    cmd = accept(line);  // "the "Postmaster" string ... is treated as case-insensitive"
    EXPECT_TRUE(cmd.address.postmaster);
    EXPECT_TRUE(cmd.address.box.text.empty());
  }
  cmd = accept("RCPT TO:<Postmaster@example.com>");  // "<Postmaster@" Domain ">"
  EXPECT_FALSE(cmd.address.postmaster);
  EXPECT_EQ(cmd.address.box.local_part, "Postmaster");

  cmd = accept("rcpt to:<a@b> NOTIFY=NEVER");
  EXPECT_EQ(cmd.params.text(), "NOTIFY=NEVER");
}

TEST(CommandRcpt, Rejects) {
  expect_rejects({
      {"RCPT"sv, error::missing_to, 4},
      {"RCPT FROM:<a@b>"sv, error::missing_to, 5},
      {"RCPT TO <a@b>"sv, error::missing_to, 7},
      {"RCPT TO:<>"sv, error::bad_path, 9},  // Forward-path has no null form
      {"RCPT TO:"sv, error::bad_path, 8},
      {"RCPT TO:<Postmaster@>"sv, error::bad_domain, 20},
      {"RCPT TO:<a@b> NOTIFY="sv, error::bad_parameter, 21},
  });
}

// --- Mail-parameters / Rcpt-parameters (4.1.2) -----------------------------------------------------

TEST(CommandParams, IteratesLazilyOverViewsOfTheLine) {
  const std::string_view line = "MAIL FROM:<a@b> SIZE=1000 BODY=8BITMIME SMTPUTF8";
  const command cmd = accept(line, utf8());
  EXPECT_EQ(cmd.params.text(), "SIZE=1000 BODY=8BITMIME SMTPUTF8");
  EXPECT_EQ(cmd.params.size(), 3u);
  std::vector<esmtp_param> seen(cmd.params.begin(), cmd.params.end());
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].keyword, "SIZE");
  EXPECT_EQ(seen[0].value, "1000");
  EXPECT_TRUE(seen[0].has_value);
  EXPECT_EQ(seen[1].keyword, "BODY");
  EXPECT_EQ(seen[1].value, "8BITMIME");
  EXPECT_EQ(seen[2].keyword, "SMTPUTF8");
  EXPECT_FALSE(seen[2].has_value);
  EXPECT_TRUE(seen[2].value.empty());
  for (const auto& p : seen) {  // views into the caller's line, nothing copied
    EXPECT_GE(p.keyword.data(), line.data());
    EXPECT_LE(p.keyword.data() + p.keyword.size(), line.data() + line.size());
  }
  // Keywords are case-insensitive (2.4).
  const auto size = cmd.params.find("size");
  ASSERT_TRUE(size.has_value());
  EXPECT_EQ(size->value, "1000");
  EXPECT_TRUE(cmd.params.find("SmtpUtf8").has_value());
  EXPECT_FALSE(cmd.params.find("AUTH").has_value());
  EXPECT_FALSE(cmd.params.find("SIZ").has_value());
}

TEST(CommandParams, EmptyWhenAbsent) {
  const command cmd = accept("MAIL FROM:<a@b>");
  EXPECT_TRUE(cmd.params.empty());
  EXPECT_EQ(cmd.params.size(), 0u);
  EXPECT_TRUE(cmd.params.begin() == cmd.params.end());
  EXPECT_FALSE(cmd.params.find("SIZE").has_value());
}

TEST(CommandParams, KeywordAndValueSyntax) {
  // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-");
  // esmtp-value = 1*(%d33-60 / %d62-126).
  const command cmd = accept("MAIL FROM:<a@b> X-1=!<>~ 8BIT A-B-C ORCPT=rfc822;a+40b");
  EXPECT_EQ(cmd.params.size(), 4u);
  EXPECT_EQ(cmd.params.find("x-1")->value, "!<>~");
  EXPECT_EQ(cmd.params.find("ORCPT")->value, "rfc822;a+40b");
  expect_rejects({
      {"MAIL FROM:<a@b> SIZE="sv, error::bad_parameter, 21},   // 1*value
      {"MAIL FROM:<a@b> =1"sv, error::bad_parameter, 16},      // keyword required
      {"MAIL FROM:<a@b> -X=1"sv, error::bad_parameter, 16},    // starts with ALPHA / DIGIT
      {"MAIL FROM:<a@b> X_Y=1"sv, error::bad_parameter, 17},   // no "_"
      {"MAIL FROM:<a@b> SIZE=1=2"sv, error::bad_parameter, 22},  // value excludes "="
      {"MAIL FROM:<a@b> SIZE=1  BODY=7BIT"sv, error::bad_parameter, 23},  // exactly one SP
      {"MAIL FROM:<a@b> SIZE=\x01"sv, error::control_character, 21},
      {"MAIL FROM:<a@b> SIZE=1\t"sv, error::control_character, 22},
  });
}

TEST(CommandParams, DuplicateKeyword) {
  expect_rejects({
      {"MAIL FROM:<a@b> SIZE=1 SIZE=2"sv, error::duplicate_parameter, 23},
      {"MAIL FROM:<a@b> SIZE=1 size=2"sv, error::duplicate_parameter, 23},  // case-insensitive
      {"MAIL FROM:<a@b> SIZE=1 BODY=8BITMIME SIZE=2"sv, error::duplicate_parameter, 37},
      {"MAIL FROM:<a@b> SMTPUTF8 SMTPUTF8"sv, error::duplicate_parameter, 25},
      {"RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER"sv, error::duplicate_parameter, 27},
  });
  EXPECT_EQ(accept("MAIL FROM:<a@b> SIZE=1 SIZES=2").params.size(), 2u);  // not a prefix match
  EXPECT_EQ(reply_code_for(error::duplicate_parameter), 501);
}

TEST(CommandParams, Utf8ValuesOnlyWithSmtputf8) {
  // RFC 6531 3.3: esmtp-value =/ UTF8-non-ascii.
  const std::string_view line = "RCPT TO:<a@b> ORCPT=utf-8;\xc3\xa9@x";
  expect_reject(line, error::eight_bit_octet, 26);
  EXPECT_EQ(accept(line, utf8()).params.find("ORCPT")->value, "utf-8;\xc3\xa9@x");
  expect_reject("RCPT TO:<a@b> ORCPT=\xc3("sv, error::bad_utf8, 21, utf8());
  EXPECT_EQ(accept("RCPT TO:<a@b> X=\xe9", lenient(leniency::eight_bit)).params.size(), 1u);
}

// --- VRFY / EXPN (4.1.1.6, 4.1.1.7, 3.5, RFC 6531 3.7.4.2) -------------------------------------

TEST(CommandVrfyExpn, UserNamesAndMailboxes) {
  struct user_case {
    std::string_view line;
    std::string_view string;
  };
  const std::vector<user_case> cases = {
      {"VRFY Crispin"sv, "Crispin"sv},                            // Appendix D
      {"EXPN Example-People"sv, "Example-People"sv},              // 3.5.3
      {"EXPN Executive-Washroom-List"sv, "Executive-Washroom-List"sv},
      {"VRFY \"John Smith\""sv, "\"John Smith\""sv},              // Quoted-string
      {"VRFY john.smith"sv, "john.smith"sv},                      // a user name (3.5.1)
      {"VRFY john@example.com"sv, "john@example.com"sv},          // 3.5.3 local-part@domain
      {"vrfy a@[192.0.2.1]"sv, "a@[192.0.2.1]"sv},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(show(c.line));
    const command cmd = accept(c.line);
    EXPECT_EQ(cmd.string_arg, c.string);
    EXPECT_FALSE(cmd.smtputf8_param);
  }
}

TEST(CommandVrfyExpn, Smtputf8Parameter) {
  // RFC 6531 3.7.4.2: vrfy = "VRFY" SP String [ SP "SMTPUTF8" ].
  command cmd = accept("VRFY Crispin SMTPUTF8");
  EXPECT_TRUE(cmd.smtputf8_param);
  EXPECT_EQ(cmd.string_arg, "Crispin");
  EXPECT_EQ(cmd.argument, "Crispin SMTPUTF8");
  cmd = accept("expn list smtputf8");
  EXPECT_TRUE(cmd.smtputf8_param);
  EXPECT_EQ(cmd.string_arg, "list");
  cmd = accept("VRFY SMTPUTF8");  // the String itself
  EXPECT_FALSE(cmd.smtputf8_param);
  EXPECT_EQ(cmd.string_arg, "SMTPUTF8");
  // "String may include Non-ASCII characters" with the parameter (or SMTPUTF8 set).
  const std::string_view swedish = "VRFY Anv\xc3\xa4ndaren";
  expect_reject(swedish, error::eight_bit_octet, 8);
  EXPECT_EQ(accept(std::string(swedish) + " SMTPUTF8").string_arg, swedish.substr(5));
  EXPECT_EQ(accept(swedish, utf8()).string_arg, swedish.substr(5));
  expect_reject("VRFY Anv\xc3(ndaren SMTPUTF8"sv, error::bad_utf8, 9);
}

TEST(CommandVrfyExpn, Rejects) {
  expect_rejects({
      {"VRFY"sv, error::missing_argument, 4},
      {"EXPN"sv, error::missing_argument, 4},
      {"VRFY "sv, error::missing_argument, 5},
      {"VRFY John Smith"sv, error::trailing_characters, 9},
      {"VRFY a,b"sv, error::bad_local_part, 6},
      {"VRFY a@b_c"sv, error::bad_domain, 8},
      {"VRFY \"abc"sv, error::bad_quoted_string, 9},
      {"VRFY \"a\"b"sv, error::bad_quoted_string, 8},
      {"VRFY  SMTPUTF8"sv, error::bad_local_part, 5},
      {"VRFY x SMTPUTF8 SMTPUTF8"sv, error::trailing_characters, 6},
  });
  // 4.5.3.1.1 bounds "a user name or other local-part".
  EXPECT_EQ(accept("VRFY " + std::string(64, 'u')).string_arg.size(), 64u);
  expect_reject("VRFY " + std::string(65, 'u'), error::local_part_too_long, 5 + 64);
}

// --- HELP / NOOP (4.1.1.8, 4.1.1.9) ----------------------------------------------------------------

TEST(CommandHelpNoop, OptionalString) {
  EXPECT_TRUE(accept("HELP").string_arg.empty());
  EXPECT_EQ(accept("HELP MAIL").string_arg, "MAIL");
  EXPECT_TRUE(accept("NOOP").string_arg.empty());
  EXPECT_EQ(accept("NOOP hello").string_arg, "hello");
  EXPECT_EQ(accept("NOOP \"any text at all\"").string_arg, "\"any text at all\"");
  expect_rejects({
      {"HELP "sv, error::missing_argument, 5},
      {"NOOP "sv, error::missing_argument, 5},
      {"NOOP a b"sv, error::trailing_characters, 6},
      {"NOOP a.b"sv, error::bad_local_part, 6},  // String = Atom / Quoted-string: no "."
      {"HELP \"x"sv, error::bad_quoted_string, 7},
      {"HELP ,"sv, error::bad_local_part, 5},
  });
}

// --- AUTH (RFC 4954 4) --------------------------------------------------------------------------------

TEST(CommandAuth, MechanismAndInitialResponse) {
  command cmd = accept("AUTH PLAIN");
  EXPECT_EQ(cmd.mechanism, "PLAIN");
  EXPECT_FALSE(cmd.initial_response.has_value());

  cmd = accept("AUTH PLAIN =");  // "=" is an empty initial response
  ASSERT_TRUE(cmd.initial_response.has_value());
  EXPECT_EQ(*cmd.initial_response, "=");

  cmd = accept("AUTH PLAIN dGVzdAB0ZXN0ADEyMzQ=");
  EXPECT_EQ(*cmd.initial_response, "dGVzdAB0ZXN0ADEyMzQ=");
  cmd = accept("AUTH LOGIN dXNlcg==");
  EXPECT_EQ(*cmd.initial_response, "dXNlcg==");
  cmd = accept("AUTH X_MECH-1 ab+/");
  EXPECT_EQ(cmd.mechanism, "X_MECH-1");
  cmd = accept("auth cram-md5");  // accepted in any case (5321 2.4)
  EXPECT_EQ(cmd.mechanism, "cram-md5");
  cmd = accept("AUTH ABCDEFGHIJKLMNOPQRST");  // 20 mech-chars: the maximum
  EXPECT_EQ(cmd.mechanism.size(), 20u);
}

TEST(CommandAuth, Rejects) {
  expect_rejects({
      {"AUTH"sv, error::missing_argument, 4},
      {"AUTH "sv, error::missing_argument, 5},
      {"AUTH ABCDEFGHIJKLMNOPQRSTU"sv, error::bad_auth_mechanism, 25},  // 1*20
      {"AUTH PL@IN"sv, error::bad_auth_mechanism, 7},
      {"AUTH @"sv, error::bad_auth_mechanism, 5},
      {"AUTH PLAIN "sv, error::bad_auth_response, 11},
      {"AUTH PLAIN abc"sv, error::bad_auth_response, 14},   // groups of 4
      {"AUTH PLAIN ab=c"sv, error::bad_auth_response, 14},  // 2base64-char "=="
      {"AUTH PLAIN a==="sv, error::bad_auth_response, 12},
      {"AUTH PLAIN abcd="sv, error::bad_auth_response, 15},
      {"AUTH PLAIN ab==cd"sv, error::bad_auth_response, 15},  // the terminal ends base64
      {"AUTH PLAIN =="sv, error::bad_auth_response, 12},
      {"AUTH PLAIN ab!d"sv, error::bad_auth_response, 13},
      {"AUTH PLAIN abcd efgh"sv, error::trailing_characters, 15},
  });
}

// --- BDAT (RFC 3030 2) ----------------------------------------------------------------------------------

TEST(CommandBdat, ChunkSizeAndLast) {
  command cmd = accept("BDAT 0");
  EXPECT_EQ(cmd.chunk_size, 0u);
  EXPECT_FALSE(cmd.last);
  cmd = accept("BDAT 1000 LAST");
  EXPECT_EQ(cmd.chunk_size, 1000u);
  EXPECT_TRUE(cmd.last);
  cmd = accept("bdat 5 last");  // "LAST" is case-insensitive
  EXPECT_TRUE(cmd.last);
  EXPECT_EQ(accept("BDAT 007").chunk_size, 7u);
  EXPECT_EQ(accept("BDAT 18446744073709551615").chunk_size, 18446744073709551615u);
}

TEST(CommandBdat, Rejects) {
  expect_rejects({
      {"BDAT"sv, error::missing_argument, 4},
      {"BDAT "sv, error::missing_argument, 5},
      {"BDAT x"sv, error::bad_chunk_size, 5},
      {"BDAT -1"sv, error::bad_chunk_size, 5},
      {"BDAT 10x"sv, error::bad_chunk_size, 7},
      {"BDAT 18446744073709551616"sv, error::bad_chunk_size, 24},  // 2^64
      {"BDAT 99999999999999999999"sv, error::bad_chunk_size, 24},
      {"BDAT 100 LASTX"sv, error::bad_bdat_argument, 13},
      {"BDAT 100 FIRST"sv, error::bad_bdat_argument, 9},
      {"BDAT 100 LA"sv, error::bad_bdat_argument, 11},
      {"BDAT 100 "sv, error::bad_bdat_argument, 9},
      {"BDAT 100 LAST now"sv, error::trailing_characters, 13},
  });
}

// --- line length (4.5.3.1.4) ------------------------------------------------------------------------------

TEST(CommandLimits, LineIs512OctetsWithCrlf) {
  const std::string fits = "NOOP " + std::string(505, 'x');
  ASSERT_EQ(fits.size() + 2, 512u);
  EXPECT_EQ(accept(fits).string_arg.size(), 505u);
  expect_reject(fits + "x", error::line_too_long, 510);
  // The framing limit comes first, whatever the line holds.
  expect_reject(std::string(600, '\x01'), error::line_too_long, 510);
  EXPECT_EQ(reply_code_for(error::line_too_long), 500);  // 4.5.3.1.9 "500 Line too long."
}

TEST(CommandLimits, ExtensionsMayRaiseTheLineLimit) {
  // 4.5.3.1.4: "SMTP extensions may be used to increase this limit."
  command_options wide;
  wide.max_line = 1012;
  const std::string line = "MAIL FROM:<a@b> X=" + std::string(600, 'v');
  expect_reject(line, error::line_too_long, 510);
  EXPECT_EQ(accept(line, wide).params.size(), 1u);
  command_options tiny;
  tiny.max_line = 1;
  expect_reject("", error::line_too_long, 0, tiny);
}

// --- leniency bits -------------------------------------------------------------------------------------------

TEST(CommandLeniency, SpaceAfterColon) {
  expect_reject("MAIL FROM: <a@b>", error::bad_path, 10);
  const auto opt = lenient(leniency::space_after_colon);
  EXPECT_EQ(accept("MAIL FROM: <a@b>", opt).address.text, "<a@b>");
  EXPECT_EQ(accept("RCPT TO:  <a@b> NOTIFY=NEVER", opt).params.size(), 1u);
  EXPECT_EQ(accept("MAIL FROM:<a@b>", opt).address.text, "<a@b>");  // still fine without
}

TEST(CommandLeniency, MissingAngleBrackets) {
  expect_reject("MAIL FROM:a@b", error::bad_path, 10);
  expect_reject("RCPT TO:postmaster", error::bad_path, 8);
  const auto opt = lenient(leniency::missing_angle_brackets);
  command cmd = accept("MAIL FROM:a@b", opt);
  EXPECT_EQ(cmd.address.text, "a@b");
  EXPECT_EQ(cmd.address.box.text, "a@b");
  cmd = accept("RCPT TO:a@b NOTIFY=NEVER", opt);
  EXPECT_EQ(cmd.params.text(), "NOTIFY=NEVER");
  EXPECT_TRUE(accept("RCPT TO:postmaster", opt).address.postmaster);
  EXPECT_TRUE(accept("MAIL FROM:<>", opt).address.null);
  expect_reject("MAIL FROM:", error::bad_path, 10, opt);
  expect_reject("MAIL FROM:a@b>", error::bad_domain, 13, opt);
}

TEST(CommandLeniency, TrailingWhitespace) {
  // 4.1.1: "SMTP receivers SHOULD tolerate trailing white space before the
  // terminating <CRLF>."
  expect_reject("QUIT ", error::unexpected_argument, 4);
  expect_reject("MAIL FROM:<a@b> ", error::bad_parameter, 16);
  expect_reject("EHLO x.example ", error::trailing_characters, 14);
  const auto opt = lenient(leniency::trailing_whitespace);
  EXPECT_EQ(accept("QUIT ", opt).kind, verb::quit);
  EXPECT_EQ(accept("QUIT  \t", opt).argument, "");
  EXPECT_EQ(accept("NOOP \t", opt).kind, verb::noop);
  EXPECT_TRUE(accept("MAIL FROM:<a@b> ", opt).params.empty());
  EXPECT_EQ(accept("EHLO x.example  ", opt).domain, "x.example");
  EXPECT_EQ(accept("EHLO x.example  ", opt).line, "EHLO x.example  ");  // line stays whole
  expect_reject("   ", error::empty_line, 0, opt);
  expect_reject("   ", error::unknown_verb, 0);
}

TEST(CommandLeniency, HeloAddressLiteral) {
  // 4.1.1.1: the prose asks a client without a domain name for an address literal
  // in EHLO and HELO, the grammar gives HELO a Domain only.
  expect_reject("HELO [192.0.2.1]", error::bad_domain, 5);
  const auto opt = lenient(leniency::helo_address_literal);
  command cmd = accept("HELO [192.0.2.1]", opt);
  EXPECT_EQ(cmd.domain, "[192.0.2.1]");
  EXPECT_EQ(cmd.domain_kind, host_kind::ipv4_literal);
  EXPECT_EQ(accept("HELO [IPv6:2001:db8::1]", opt).domain_kind, host_kind::ipv6_literal);
  EXPECT_EQ(accept("HELO client.example", opt).domain_kind, host_kind::domain);
  expect_reject("HELO [1.2.3]", error::bad_address_literal, 11, opt);
  expect_reject("HELO [192.0.2.1] x", error::trailing_characters, 16, opt);
}

TEST(CommandLeniency, EightBit) {
  const std::string_view line = "MAIL FROM:<b\xfcr@example.com>";
  expect_reject(line, error::eight_bit_octet, 12);
  const command cmd = accept(line, lenient(leniency::eight_bit));
  EXPECT_TRUE(cmd.address.box.utf8);
  // With SMTPUTF8 the octets must be UTF-8 whatever the leniency.
  command_options both = utf8();
  both.lenient = leniency::eight_bit;
  expect_reject(line, error::bad_utf8, 12, both);
}

TEST(CommandLeniency, AllBitsTogether) {
  const auto opt = lenient(leniency::space_after_colon | leniency::missing_angle_brackets |
                           leniency::trailing_whitespace | leniency::eight_bit);
  const command cmd = accept("mail from: j\xf6rg@example.com SIZE=10  ", opt);
  EXPECT_EQ(cmd.address.text, "j\xf6rg@example.com");
  EXPECT_EQ(cmd.params.find("SIZE")->value, "10");
  EXPECT_TRUE(has(opt.lenient, leniency::eight_bit));
  EXPECT_FALSE(has(leniency::none, leniency::eight_bit));
}

// --- SMTPUTF8 (RFC 6531 3.3) ----------------------------------------------------------------------------------

TEST(CommandSmtputf8, MailboxesOnlyWithTheOption) {
  const std::string_view line =
      "MAIL FROM:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a> SMTPUTF8";
  expect_reject(line, error::eight_bit_octet, 11);
  const command cmd = accept(line, utf8());
  EXPECT_TRUE(cmd.address.box.utf8);
  EXPECT_TRUE(cmd.params.find("SMTPUTF8").has_value());
  expect_reject("RCPT TO:<a\xc3(@b>"sv, error::bad_utf8, 11, utf8());
  expect_reject("RCPT TO:<a@\xe2\x82>"sv, error::bad_utf8, 13, utf8());
  EXPECT_TRUE(accept("RCPT TO:<\"\xc3\xa9 x\"@b>", utf8()).address.box.quoted);
}

// --- reply codes (4.2.2, 4.3.2) --------------------------------------------------------------------------------

TEST(CommandReplyCode, FiveHundredOrFiveHundredOne) {
  EXPECT_EQ(reply_code_for(error::unknown_verb), 500);
  EXPECT_EQ(reply_code_for(error::line_too_long), 500);
  for (error e : {error::empty_line, error::bad_verb_separator, error::missing_argument, error::bad_path,
                  error::bad_domain, error::bad_parameter, error::eight_bit_octet, error::bad_utf8,
                  error::bad_auth_response, error::bad_chunk_size, error::trailing_characters})
    EXPECT_EQ(reply_code_for(e), 501) << to_string(e);
}

// --- RFC 5321 Appendix D scenarios ---------------------------------------------------------------------------------

TEST(CommandRfcExamples, AppendixDClientLinesParse) {
  for (std::string_view line :
       {"EHLO bar.com"sv, "MAIL FROM:<Smith@bar.com>"sv, "RCPT TO:<Jones@foo.com>"sv, "RCPT TO:<Green@foo.com>"sv,
        "RCPT TO:<Brown@foo.com>"sv, "DATA"sv, "QUIT"sv, "RSET"sv, "MAIL FROM:<JQP@bar.com>"sv,
        "RCPT TO:<Jones@XYZ.COM>"sv, "EHLO foo.com"sv, "VRFY Crispin"sv, "MAIL FROM:<EAK@bar.com>"sv,
        "RCPT TO:<Admin.MRC@foo.com>"sv, "MAIL FROM:<userx@y.foo.org>"sv,
        "RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>"sv, "RCPT TO:<userc@d.bar.org>"sv,
        "RCPT TO:<@jkl.org:userc@d.bar.org>"sv}) {
    EXPECT_NE(accept(line).kind, verb::unknown) << line;
  }
}

// --- robustness: offsets and views stay inside the line ------------------------------------------------------------

TEST(CommandRobustness, EveryPrefixAndMutationStaysInBounds) {
  // Cheap exhaustive neighbourhood of valid lines (run under ASan/UBSan in CI):
  // every prefix, and every single-octet substitution from a set of delimiters.
  const std::vector<std::string> seeds = {
      "MAIL FROM:<user@example.com> SIZE=1000",
      "RCPT TO:<@hosta.int,@jkl.org:\"Joe\\,Smith\"@[IPv6:::ffff:1.2.3.4]> NOTIFY=NEVER",
      "EHLO [IPv6:2001:db8::1]",
      "AUTH PLAIN dGVzdA==",
      "BDAT 18446744073709551615 LAST",
      "VRFY \"a b\"@c.example SMTPUTF8",
      "RCPT TO:<Postmaster>",
  };
  static constexpr char raw[] = "\0\t <>@\":.\\[]=,\x80\xc3\xe2\xff" "aZ9-";
  const std::string octets(raw, sizeof raw - 1);
  command_options opts[4];
  opts[1].smtputf8 = true;
  opts[2].lenient = leniency::space_after_colon | leniency::missing_angle_brackets |
                    leniency::trailing_whitespace | leniency::eight_bit;
  opts[3] = opts[2];
  opts[3].smtputf8 = true;
  std::size_t accepted = 0;
  std::size_t rejected = 0;
  const auto check = [&](const std::string& line) {
    for (const auto& opt : opts) {
      const auto r = parse_command(line, opt);
      if (!r) {
        ++rejected;
        EXPECT_LE(r.error().offset, line.size()) << show(line);
        EXPECT_NE(r.error().code, error::ok) << show(line);
        continue;
      }
      ++accepted;
      const char* lo = line.data();
      const char* hi = line.data() + line.size();
      for (std::string_view v : {r->verb_text, r->argument, r->domain, r->address.text, r->address.box.text,
                                 r->params.text(), r->string_arg, r->mechanism}) {
        if (v.empty()) continue;
        EXPECT_TRUE(v.data() >= lo && v.data() + v.size() <= hi) << show(line);
      }
      for (const auto& p : r->params) EXPECT_FALSE(p.keyword.empty()) << show(line);
    }
  };
  for (const auto& seed : seeds) {
    for (std::size_t n = 0; n <= seed.size(); ++n) check(seed.substr(0, n));
    for (std::size_t i = 0; i < seed.size(); ++i) {
      for (char c : octets) {
        std::string line = seed;
        line[i] = c;
        check(line);
      }
    }
  }
  // Sanity: the neighbourhood contains both outcomes.
  EXPECT_GT(accepted, 100u);
  EXPECT_GT(rejected, 100u);
}

}  // namespace
}  // namespace smtpspec::reference
