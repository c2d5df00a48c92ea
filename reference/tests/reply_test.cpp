// Tests of the reply model: RFC 5321 section 4.2 (Reply-line, Reply-code,
// textstring, Greeting), 4.2.1 (multi-line replies), 4.3.2 (codes are three digits,
// first digit 2-5), 4.5.3.1.5 (reply line bound), Appendix D (the scenarios'
// replies), RFC 3463 section 2 (enhanced status syntax), RFC 2034 section 4
// (enhanced status on every line, class agreement), RFC 6531 (UTF-8 text option).
#include "smtpspec/reference/reply.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace smtpspec::reference {
namespace {

using namespace std::string_literals;

std::string describe_case(std::string_view s) {
  std::string out;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 32 && u < 127) out.push_back(c);
    else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

// Feeds every line; returns the last result.
parse_error feed_all(reply_parser& p, const std::vector<std::string>& lines) {
  parse_error e{error::need_more, 0};
  for (const auto& l : lines) {
    e = p.feed_line(l);
    if (e.code != error::need_more) break;
  }
  return e;
}

// ---- Reply-code and separator (4.2, 4.3.2) -------------------------------------------

struct line_ok {
  std::string line;
  std::uint16_t code;
  bool last;
  std::string text;
};

TEST(ReplyLine, AcceptsEveryCodeInRangeAndSeparator) {
  // Reply-code = %x32-35 %x30-35 %x30-39; "-" continues, SP ends (4.2.1).
  const line_ok cases[] = {
      {"200 ok", 200, true, "ok"},
      {"559 x", 559, true, "x"},
      {"250 OK", 250, true, "OK"},
      {"354 Start mail input; end with <CRLF>.<CRLF>", 354, true, "Start mail input; end with <CRLF>.<CRLF>"},
      {"421 foo.com Service not available", 421, true, "foo.com Service not available"},
      {"250-First line", 250, false, "First line"},
      {"250-", 250, false, ""},  // "-" [ textstring ]: the text is optional
      {"250  two spaces", 250, true, " two spaces"},  // the SP belongs to the separator, the rest is text
      {"250 a\tb", 250, true, "a\tb"},  // textstring includes HT (%d09)
      {"250 \t", 250, true, "\t"},
      {"250 ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", 250, true, "~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    reply_parser p;
    const parse_error e = p.feed_line(c.line);
    ASSERT_EQ(e.code, c.last ? error::ok : error::need_more);
    EXPECT_EQ(e.offset, 0u);
    EXPECT_EQ(p.in_progress(), !c.last);
    EXPECT_EQ(p.peek().code, c.code);
    ASSERT_EQ(p.peek().lines.size(), 1u);
    EXPECT_EQ(p.peek().lines[0], c.text);
  }
}

TEST(ReplyLine, EveryFirstAndSecondDigit) {
  // 4.2 / 4.3.2: first digit 2-5, second 0-5; everything else is out of range.
  for (int d0 = 0; d0 <= 9; ++d0) {
    for (int d1 = 0; d1 <= 9; ++d1) {
      const std::string line = std::to_string(d0) + std::to_string(d1) + "7 text";
      SCOPED_TRACE(line);
      reply_parser p;
      const parse_error e = p.feed_line(line);
      if (d0 < 2 || d0 > 5) {
        EXPECT_EQ(e, (parse_error{error::reply_code_out_of_range, 0}));
      } else if (d1 > 5) {
        EXPECT_EQ(e, (parse_error{error::reply_code_out_of_range, 1}));
      } else {
        EXPECT_EQ(e.code, error::ok);
        EXPECT_EQ(p.take().code, d0 * 100 + d1 * 10 + 7);
      }
    }
  }
}

struct line_bad {
  std::string line;
  error code;
  std::size_t offset;
};

TEST(ReplyLine, RejectsWithErrorAndOffset) {
  const line_bad cases[] = {
      // Not three digits (4.3.2 "other than three digits").
      {"", error::bad_reply_code, 0},
      {"2", error::bad_reply_code, 1},
      {"25", error::bad_reply_code, 2},
      {"a50 x", error::bad_reply_code, 0},
      {"2a0 x", error::bad_reply_code, 1},
      {"25a x", error::bad_reply_code, 2},
      {" 250 x", error::bad_reply_code, 0},
      {"2500 x", error::bad_reply_code, 3},
      {"25 0", error::bad_reply_code, 2},
      // Out of range: first digit 1, 6, 0; second digit 6-9 (4.2 Reply-code).
      {"100 x", error::reply_code_out_of_range, 0},
      {"150 x", error::reply_code_out_of_range, 0},
      {"600 x", error::reply_code_out_of_range, 0},
      {"050 x", error::reply_code_out_of_range, 0},
      {"260 x", error::reply_code_out_of_range, 1},
      {"470 x", error::reply_code_out_of_range, 1},
      {"580 x", error::reply_code_out_of_range, 1},
      {"590 x", error::reply_code_out_of_range, 1},
      // Separator other than SP, "-" or the end (4.2 Reply-line).
      {"250x", error::bad_reply_separator, 3},
      {"250\tOK", error::bad_reply_separator, 3},
      {"250_OK", error::bad_reply_separator, 3},
      {"250=OK", error::bad_reply_separator, 3},
      // Text outside textstring = 1*(%d09 / %d32-126).
      {"250 O\x01K", error::bad_reply_text, 5},
      {"250 OK\x7f", error::bad_reply_text, 6},
      {"250 OK\r", error::bad_reply_text, 6},
      {"250 O\nK", error::bad_reply_text, 5},
      {"250 a\0b"s, error::bad_reply_text, 5},
      {"250-\x1b[1m", error::bad_reply_text, 4},
      {"250 \x80", error::bad_reply_text, 4},  // 8-bit is not textstring (4.2) by default
      {"250 caf\xc3\xa9", error::bad_reply_text, 7},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(describe_case(c.line));
    reply_parser p;
    EXPECT_EQ(p.feed_line(c.line), (parse_error{c.code, c.offset}));
    EXPECT_FALSE(p.in_progress());
  }
}

TEST(ReplyLine, AllowAnyCodeAcceptsOutOfRangeButNotNonDigits) {
  // 4.2: codes outside 2-5 only "with extensions"; the option models that.
  reply_parser_options opt;
  opt.allow_any_code = true;
  for (const std::string line : {"100 x", "600 x", "099 x", "999 x", "260 x"}) {
    SCOPED_TRACE(line);
    reply_parser p(opt);
    ASSERT_EQ(p.feed_line(line).code, error::ok);
    EXPECT_EQ(p.take().code, std::stoi(line.substr(0, 3)));
  }
  reply_parser p(opt);
  EXPECT_EQ(p.feed_line("2a0 x"), (parse_error{error::bad_reply_code, 1}));
  EXPECT_EQ(p.feed_line("2000 x"), (parse_error{error::bad_reply_code, 3}));
}

TEST(ReplyLine, BareCodeWithoutAndWithTrailingSpace) {
  // 4.2: "clients ... SHOULD be prepared to process the code alone (with or without a
  // trailing space character)"; "senders SHOULD NOT send bare codes" - so accept and record.
  {
    reply_parser p;
    ASSERT_EQ(p.feed_line("250").code, error::ok);
    const reply r = p.take();
    EXPECT_EQ(r.code, 250);
    ASSERT_EQ(r.lines.size(), 1u);
    EXPECT_EQ(r.lines[0], "");
    EXPECT_TRUE(r.missing_sp);
    EXPECT_TRUE(r.bare());
    EXPECT_EQ(r.to_wire(), "250\r\n");
  }
  {
    reply_parser p;
    ASSERT_EQ(p.feed_line("250 ").code, error::ok);
    const reply r = p.take();
    EXPECT_FALSE(r.missing_sp);
    EXPECT_TRUE(r.bare());
    EXPECT_EQ(r.to_wire(), "250 \r\n");
  }
  {
    reply_parser p;
    ASSERT_EQ(p.feed_line("250 x").code, error::ok);
    EXPECT_FALSE(p.take().bare());
  }
  {
    // A bare last line ends a multi-line reply, too (Reply-code [ SP textstring ]).
    reply_parser p;
    ASSERT_EQ(feed_all(p, {"250-a", "250"}).code, error::ok);
    const reply r = p.take();
    EXPECT_TRUE(r.missing_sp);
    EXPECT_TRUE(r.bare());
    EXPECT_EQ(r.to_wire(), "250-a\r\n250\r\n");
  }
}

// ---- Multi-line replies (4.2.1) ---------------------------------------------------------

TEST(ReplyParser, MultiLineExampleOf421) {
  // The example of 4.2.1, including a text line that begins with digits.
  reply_parser p;
  EXPECT_EQ(p.feed_line("250-First line").code, error::need_more);
  EXPECT_TRUE(p.in_progress());
  EXPECT_EQ(p.feed_line("250-Second line").code, error::need_more);
  EXPECT_EQ(p.feed_line("250-234 Text beginning with numbers").code, error::need_more);
  EXPECT_EQ(p.feed_line("250 The last line").code, error::ok);
  EXPECT_FALSE(p.in_progress());
  const reply r = p.take();
  EXPECT_EQ(r.code, 250);
  EXPECT_TRUE(r.is_multiline());
  EXPECT_EQ(r.lines, (std::vector<std::string>{"First line", "Second line", "234 Text beginning with numbers",
                                                "The last line"}));
  EXPECT_FALSE(r.status.has_value());
}

TEST(ReplyParser, CodeChangeMidReplyIsAnErrorAndResets) {
  // 4.2.1: "the reply code on each of the lines MUST be the same".
  reply_parser p;
  EXPECT_EQ(p.feed_line("250-a").code, error::need_more);
  EXPECT_EQ(p.feed_line("250-b").code, error::need_more);
  EXPECT_EQ(p.feed_line("251 c"), (parse_error{error::reply_code_changed, 0}));
  EXPECT_FALSE(p.in_progress());
  // After the error the parser starts afresh: the next line is a new reply.
  ASSERT_EQ(p.feed_line("550 d").code, error::ok);
  const reply r = p.take();
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"d"}));
}

TEST(ReplyParser, ErrorInContinuationDropsThePartialReply) {
  reply_parser p;
  EXPECT_EQ(p.feed_line("250-a").code, error::need_more);
  EXPECT_EQ(p.feed_line("250-b\x01"), (parse_error{error::bad_reply_text, 5}));
  EXPECT_FALSE(p.in_progress());
  ASSERT_EQ(p.feed_line("250 z").code, error::ok);
  EXPECT_EQ(p.take().lines, (std::vector<std::string>{"z"}));
}

TEST(ReplyParser, ReusesStorageAcrossRepliesWithPeek) {
  // peek() leaves the reply in place; the next reply must not inherit anything.
  reply_parser p;
  ASSERT_EQ(feed_all(p, {"250-2.0.0 a long first line that is not in SSO", "250"}).code, error::ok);
  EXPECT_TRUE(p.peek().missing_sp);
  EXPECT_TRUE(p.peek().status.has_value());
  ASSERT_EQ(p.feed_line("451 x").code, error::ok);
  EXPECT_EQ(p.peek().code, 451);
  EXPECT_EQ(p.peek().lines, (std::vector<std::string>{"x"}));
  EXPECT_FALSE(p.peek().missing_sp);
  EXPECT_FALSE(p.peek().status.has_value());
  const reply r = p.take();
  EXPECT_EQ(r.code, 451);
  EXPECT_TRUE(p.peek().lines.empty());  // take() leaves nothing behind
}

TEST(ReplyParser, AfterAnErrorTheLinesBeforeItCanBeTaken) {
  // reply_reader reads a malformed reply as far as it can from these lines.
  reply_parser p;
  EXPECT_EQ(p.feed_line("250-a").code, error::need_more);
  EXPECT_EQ(p.feed_line("250-b").code, error::need_more);
  EXPECT_EQ(p.feed_line("251 c").code, error::reply_code_changed);
  EXPECT_FALSE(p.in_progress());
  reply r;
  p.take(r);
  EXPECT_EQ(r.code, 250);
  EXPECT_EQ(r.lines, (std::vector<std::string>{"a", "b"}));
  // Ready for a new reply; nothing of the old one leaks into it.
  ASSERT_EQ(p.feed_line("354 go").code, error::ok);
  EXPECT_EQ(p.peek().lines, (std::vector<std::string>{"go"}));
}

TEST(ReplyParser, TakeIntoSwapsStorage) {
  reply_parser p;
  reply out;
  out.code = 999;
  out.lines = {"old one", "old two"};
  ASSERT_EQ(feed_all(p, {"250-2.0.0 x", "250 y"}).code, error::ok);
  p.take(out);
  EXPECT_EQ(out.code, 250);
  EXPECT_EQ(out.lines, (std::vector<std::string>{"2.0.0 x", "y"}));
  ASSERT_TRUE(out.status.has_value());
  // The parser now reuses the old storage; the next reply starts clean.
  ASSERT_EQ(p.feed_line("451 z").code, error::ok);
  EXPECT_EQ(p.peek().code, 451);
  EXPECT_EQ(p.peek().lines, (std::vector<std::string>{"z"}));
  EXPECT_FALSE(p.peek().status.has_value());
}

TEST(ReplyParser, ResetDropsAPartialReply) {
  reply_parser p;
  EXPECT_EQ(p.feed_line("250-a").code, error::need_more);
  p.reset();
  EXPECT_FALSE(p.in_progress());
  // A different code is fine now: it is a new reply.
  ASSERT_EQ(p.feed_line("354 go").code, error::ok);
  EXPECT_EQ(p.take().lines.size(), 1u);
}

// ---- Bounds (4.5.3.1.5 and the configured line count) -----------------------------------

TEST(ReplyParser, LineLengthBoundAtTheEdge) {
  // 4.5.3.1.5: 512 octets with CRLF, so 510 without.
  const std::string at_limit = "250 " + std::string(506, 'x');
  ASSERT_EQ(at_limit.size(), 510u);
  reply_parser p;
  EXPECT_EQ(p.feed_line(at_limit).code, error::ok);
  EXPECT_EQ(p.feed_line(at_limit + "x"), (parse_error{error::line_too_long, 510}));
  // Configured bound, and the length check precedes the code check.
  reply_parser_options opt;
  opt.max_line_length = 10;
  reply_parser q(opt);
  EXPECT_EQ(q.feed_line("250 123456").code, error::ok);
  EXPECT_EQ(q.feed_line("250 1234567"), (parse_error{error::line_too_long, 10}));
  EXPECT_EQ(q.feed_line("xxxxxxxxxxx"), (parse_error{error::line_too_long, 10}));
}

TEST(ReplyParser, LineCountBoundAtTheEdge) {
  reply_parser_options opt;
  opt.max_lines = 3;
  {
    reply_parser p(opt);
    EXPECT_EQ(feed_all(p, {"250-a", "250-b", "250 c"}).code, error::ok);
  }
  {
    reply_parser p(opt);
    EXPECT_EQ(feed_all(p, {"250-a", "250-b", "250-c"}).code, error::need_more);
    EXPECT_EQ(p.feed_line("250 d"), (parse_error{error::too_many_reply_lines, 0}));
    EXPECT_FALSE(p.in_progress());
  }
  opt.max_lines = 1;
  {
    reply_parser p(opt);
    EXPECT_EQ(p.feed_line("250 a").code, error::ok);
    EXPECT_EQ(p.feed_line("250-a").code, error::need_more);
    EXPECT_EQ(p.feed_line("250 b"), (parse_error{error::too_many_reply_lines, 0}));
  }
}

TEST(ReplyParser, EndlessMultiLineReplyIsCutOff) {
  // A server that never sends the last line costs at most max_lines lines.
  reply_parser p;
  parse_error e{error::need_more, 0};
  std::size_t fed = 0;
  while (e.code == error::need_more && fed < 5000) {
    e = p.feed_line("250-and more");
    ++fed;
  }
  EXPECT_EQ(e, (parse_error{error::too_many_reply_lines, 0}));
  EXPECT_EQ(fed, 1001u);
  EXPECT_FALSE(p.in_progress());
}

// ---- UTF-8 option (RFC 6531; RFC 3629 section 4) --------------------------------------

TEST(ReplyParser, Utf8TextOnlyWhenAllowed) {
  reply_parser_options opt;
  opt.allow_utf8 = true;
  const line_bad bad[] = {
      {"250 \x80", error::bad_utf8, 4},               // lone continuation octet
      {"250 \xc3(", error::bad_utf8, 4},              // bad continuation
      {"250 \xc0\xaf", error::bad_utf8, 4},           // overlong
      {"250 ab\xed\xa0\x80", error::bad_utf8, 6},     // surrogate
      {"250 \xe2\x82", error::bad_utf8, 4},           // truncated at the end
      {"250 \xf4\x90\x80\x80", error::bad_utf8, 4},   // above U+10FFFF
      {"250 \xff", error::bad_utf8, 4},
      {"250 \xc3\xa9\x01", error::bad_reply_text, 6},  // controls stay forbidden
  };
  for (const auto& c : bad) {
    SCOPED_TRACE(describe_case(c.line));
    reply_parser p(opt);
    EXPECT_EQ(p.feed_line(c.line), (parse_error{c.code, c.offset}));
  }
  for (const std::string line : {"250 caf\xc3\xa9", "250 \xe2\x82\xac 5", "250 \xf0\x9f\x93\xa7", "250 \xed\x9f\xbf"}) {
    SCOPED_TRACE(describe_case(line));
    reply_parser p(opt);
    ASSERT_EQ(p.feed_line(line).code, error::ok);
    EXPECT_TRUE(p.peek().utf8);
    EXPECT_EQ(p.peek().lines[0], line.substr(4));
  }
  reply_parser p(opt);
  ASSERT_EQ(p.feed_line("250 plain").code, error::ok);
  EXPECT_FALSE(p.peek().utf8);
}

// ---- Enhanced status codes (RFC 3463 section 2) -----------------------------------------

struct status_ok {
  std::string text;
  enhanced_status status;
  std::size_t length;
};

TEST(EnhancedStatus, Accepts) {
  const status_ok cases[] = {
      {"2.0.0", {2, 0, 0}, 5},
      {"5.7.1 Relay access denied", {5, 7, 1}, 5},
      {"4.4.7", {4, 4, 7}, 5},
      {"2.999.999", {2, 999, 999}, 9},
      {"5.1.10 x", {5, 1, 10}, 6},
      {"4.10.0  two spaces", {4, 10, 0}, 6},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    std::size_t len = 0;
    const auto s = parse_enhanced_status(c.text, &len);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(*s, c.status);
    EXPECT_EQ(len, c.length);
    EXPECT_EQ(s->to_string(), c.text.substr(0, c.length));
  }
}

TEST(EnhancedStatus, RejectsWithOffset) {
  const line_bad cases[] = {
      {"", error::bad_enhanced_status, 0},
      {"1.0.0", error::bad_enhanced_status, 0},   // class is 2 / 4 / 5
      {"3.0.0", error::bad_enhanced_status, 0},
      {".2.0.0", error::bad_enhanced_status, 0},
      {"22.0.0", error::bad_enhanced_status, 1},
      {"2", error::bad_enhanced_status, 1},
      {"2,0.0", error::bad_enhanced_status, 1},
      {"2.", error::bad_enhanced_status, 2},
      {"2.a.0", error::bad_enhanced_status, 2},
      {"2.0", error::bad_enhanced_status, 3},
      {"2.0.", error::bad_enhanced_status, 4},
      {"2.01.0", error::bad_enhanced_status, 2},    // leading zero
      {"2.0.00", error::bad_enhanced_status, 4},    // leading zero
      {"2.1234.0", error::bad_enhanced_status, 5},  // 4-digit field
      {"2.0.1234", error::bad_enhanced_status, 7},
      {"2.0.0x", error::bad_enhanced_status, 5},
      {"2.0.0.0", error::bad_enhanced_status, 5},
      {"2.0.0\tx", error::bad_enhanced_status, 5},  // RFC 2034: followed by spaces
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    const auto s = parse_enhanced_status(c.line);
    ASSERT_FALSE(s.has_value());
    EXPECT_EQ(s.error(), (parse_error{c.code, c.offset}));
  }
}

TEST(ReplyStatus, SetFromAValidStatusOnTheFirstLine) {
  struct row {
    std::vector<std::string> lines;
    std::optional<enhanced_status> status;
  };
  const row rows[] = {
      {{"250 2.1.0 Ok"}, enhanced_status{2, 1, 0}},
      {{"250 Ok"}, std::nullopt},
      {{"250 2.01.0 Ok"}, std::nullopt},  // malformed: plain text, not an error
      {{"250 2.1.0"}, enhanced_status{2, 1, 0}},
      {{"250-2.1.0 a", "250 2.1.5 b"}, enhanced_status{2, 1, 0}},
      {{"250-a", "250 2.1.5 b"}, std::nullopt},  // only the first line counts
      {{"550 2.1.0 x"}, enhanced_status{2, 1, 0}},  // set; the class check is separate
      {{"250"}, std::nullopt},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.lines.front());
    reply_parser p;
    ASSERT_EQ(feed_all(p, r.lines).code, error::ok);
    EXPECT_EQ(p.take().status, r.status);
  }
}

struct wire_check {
  std::string wire;
  bool require_same;
  error code;
  std::size_t offset;
};

TEST(ReplyStatus, CheckEveryLineUnderEnhancedStatusCodes) {
  // RFC 2034 section 4: a status on every line of 2xx/4xx/5xx, class = first digit.
  const wire_check cases[] = {
      {"250 2.1.0 Ok\r\n", true, error::ok, 0},
      {"250-2.1.0 a\r\n250 2.1.0 b\r\n", true, error::ok, 0},
      {"550-5.1.1 a\r\n550 5.1.1\r\n", true, error::ok, 0},
      {"250-2.1.0 a\r\n250 2.1.5 b\r\n", false, error::ok, 0},
      {"354 Start mail input\r\n", true, error::ok, 0},  // 3xx are exempt
      {"250 Ok\r\n", true, error::bad_enhanced_status, 4},
      {"250-2.1.0 a\r\n250 b\r\n", true, error::bad_enhanced_status, 17},
      {"250-2.1.0 a\r\n250 2.1.5 b\r\n", true, error::bad_enhanced_status, 17},
      {"550 2.1.1 x\r\n", true, error::enhanced_status_class_mismatch, 4},
      {"450-4.2.0 a\r\n450 5.2.0 b\r\n", false, error::enhanced_status_class_mismatch, 17},
      {"250 2.01.0 x\r\n", true, error::bad_enhanced_status, 6},
      {"250 2.0.1000 x\r\n", true, error::bad_enhanced_status, 11},
      {"250\r\n", true, error::bad_enhanced_status, 3},
      {"250 \r\n", true, error::bad_enhanced_status, 4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(describe_case(c.wire));
    const auto r = parse_reply(c.wire);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(check_enhanced_status(*r, c.require_same), (parse_error{c.code, c.offset}));
  }
}

// ---- Whole replies from the wire --------------------------------------------------------

TEST(ParseReply, RejectsFramingErrorsWithOffsets) {
  const line_bad cases[] = {
      {"", error::truncated_reply, 0},
      {"250 OK", error::truncated_reply, 6},
      {"250 OK\r", error::truncated_reply, 7},
      {"250-a\r\n", error::truncated_reply, 7},
      {"250-a\r\n250 b", error::truncated_reply, 12},
      {"250 OK\n", error::bare_lf, 6},  // 2.3.8: only CRLF ends a line
      {"250-a\n250 b\r\n", error::bare_lf, 5},
      {"\n", error::bare_lf, 0},
      {"250 O\rK\r\n", error::bare_cr, 5},
      {"250 a\r\n250 b\r\n", error::trailing_characters, 7},  // exactly one reply
      {"250 a\r\nx", error::trailing_characters, 7},
      {"250-a\r\n251 b\r\n", error::reply_code_changed, 7},
      {"250-a\r\n250 b\x01\r\n", error::bad_reply_text, 12},
      {"250-a\r\n250_b\r\n", error::bad_reply_separator, 10},
      {"250-a\r\n" + std::string(511, '2') + "\r\n", error::line_too_long, 7 + 510},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(describe_case(c.line));
    const auto r = parse_reply(c.line);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), (parse_error{c.code, c.offset}));
  }
}

TEST(ParseReply, AppendixDServerReplies) {
  // Every server reply of Appendix D (D.1 to D.4) parses, and to_wire reproduces it.
  const std::string replies[] = {
      "220 foo.com Simple Mail Transfer Service Ready\r\n",
      "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n",
      "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250-VRFY\r\n250 HELP\r\n",
      "250 OK\r\n",
      "550 No such user here\r\n",
      "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
      "221 foo.com Service closing transmission channel\r\n",
      "220 xyz.com Simple Mail Transfer Service Ready\r\n",
      "250 xyz.com is on the air\r\n",
      "250 Mark Crispin <Admin.MRC@foo.com>\r\n",
  };
  for (const auto& w : replies) {
    SCOPED_TRACE(describe_case(w));
    const auto r = parse_reply(w);
    ASSERT_TRUE(r.has_value()) << to_string(r.error().code) << " at " << r.error().offset;
    EXPECT_EQ(r->to_wire(), w);
    EXPECT_FALSE(r->bare());
  }
  const auto ehlo = parse_reply(replies[1]);
  ASSERT_TRUE(ehlo.has_value());
  EXPECT_EQ(ehlo->lines.size(), 5u);
  EXPECT_EQ(ehlo->lines.back(), "HELP");
  EXPECT_TRUE(ehlo->positive());
  const auto no_user = parse_reply("550 No such user here\r\n");
  ASSERT_TRUE(no_user.has_value());
  EXPECT_EQ(no_user->klass(), 5);
  EXPECT_FALSE(no_user->positive());
}

TEST(Reply, ToWireAndTextOffsets) {
  reply r;
  r.code = 250;
  EXPECT_EQ(r.to_wire(), "250 \r\n");  // no lines: one line without text
  EXPECT_EQ(r.text_offset(0), 4u);
  r.missing_sp = true;
  EXPECT_EQ(r.to_wire(), "250\r\n");
  EXPECT_EQ(r.text_offset(0), 3u);
  r.lines = {"a", "bc", "def"};
  EXPECT_EQ(r.to_wire(), "250-a\r\n250-bc\r\n250 def\r\n");  // missing_sp ignored with text
  EXPECT_EQ(r.text_offset(0), 4u);
  EXPECT_EQ(r.text_offset(1), 11u);
  EXPECT_EQ(r.text_offset(2), 19u);
  r.code = 5;
  EXPECT_EQ(r.to_wire().substr(0, 4), "005-");
}

// Random textstring of 0..max octets, biased towards SP, HT and digits.
std::string random_text(std::mt19937& rng, std::size_t max) {
  std::uniform_int_distribution<std::size_t> len(0, max);
  std::uniform_int_distribution<int> pick(0, 99);
  std::uniform_int_distribution<int> printable(32, 126);
  std::string s(len(rng), ' ');
  for (auto& c : s) {
    const int k = pick(rng);
    c = k < 5 ? '\t' : k < 15 ? ' ' : k < 30 ? static_cast<char>('0' + k % 10) : k < 35 ? '.'
                                                                             : static_cast<char>(printable(rng));
  }
  return s;
}

TEST(Reply, GeneratedRepliesRoundTrip) {
  // to_wire and parse_reply are inverse on valid replies: reply -> wire -> reply,
  // and wire -> reply -> wire.
  std::mt19937 rng(5321);
  std::uniform_int_distribution<int> d0(2, 5), d1(0, 5), d2(0, 9), nlines(1, 6), coin(0, 3);
  for (int iter = 0; iter < 3000; ++iter) {
    reply r;
    r.code = static_cast<std::uint16_t>(d0(rng) * 100 + d1(rng) * 10 + d2(rng));
    const int n = nlines(rng);
    for (int i = 0; i < n; ++i) {
      std::string t = random_text(rng, 60);
      if (coin(rng) == 0) t = std::to_string(r.klass()) + ".1.0 " + t;  // some carry a status
      r.lines.push_back(t);
    }
    if (coin(rng) == 0) r.lines.back().clear();
    r.missing_sp = r.lines.back().empty() && coin(rng) < 2;
    if (auto s = parse_enhanced_status(r.lines.front())) r.status = *s;
    const std::string wire = r.to_wire();
    SCOPED_TRACE(describe_case(wire));
    const auto back = parse_reply(wire);
    ASSERT_TRUE(back.has_value()) << to_string(back.error().code) << " at " << back.error().offset;
    EXPECT_EQ(*back, r);
    EXPECT_EQ(back->to_wire(), wire);
  }
}

// ---- Greeting (4.2) ----------------------------------------------------------------------

TEST(Greeting, Accepts) {
  const std::string cases[] = {
      "220 foo.com Simple Mail Transfer Service Ready\r\n",
      "220 foo.com\r\n",
      "220 mx\r\n",
      "220 a-b.c0m ESMTP\r\n",
      "220 123.example\r\n",
      "220 [192.0.2.1] ready\r\n",
      "220 [255.255.255.255]\r\n",
      "220 [IPv6:2001:db8::1] hello\r\n",
      "220 [x-tag:some-thing]\r\n",
      "220-foo.com ESMTP\r\n220-more text\r\n220 the end\r\n",
      "220-foo.com\r\n220-\r\n220\r\n",  // "220-" [ textstring ] ... "220" [ SP textstring ]
      "220 foo.com \r\n",  // a lone trailing SP is tolerated (see check_greeting)
  };
  for (const auto& w : cases) {
    SCOPED_TRACE(describe_case(w));
    const auto r = parse_reply(w);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(check_greeting(*r), (parse_error{error::ok, 0}));
  }
}

TEST(Greeting, RejectsWithOffsets) {
  const line_bad cases[] = {
      {"220\r\n", error::bad_greeting, 3},  // no domain
      {"220 \r\n", error::bad_greeting, 4},
      {"220  foo.com\r\n", error::bad_greeting, 4},
      {"220-\r\n220 foo.com\r\n", error::bad_greeting, 4},  // the domain is on the first line
      {"220 -foo.com\r\n", error::bad_greeting, 4},
      {"220 foo-.com x\r\n", error::bad_greeting, 7},
      {"220 foo..com\r\n", error::bad_greeting, 8},
      {"220 .foo.com\r\n", error::bad_greeting, 4},
      {"220 foo.com.\r\n", error::bad_greeting, 12},
      {"220 foo_bar.com\r\n", error::bad_greeting, 7},
      {"220 foo.com:25\r\n", error::bad_greeting, 11},
      {"220 foo.com\tready\r\n", error::bad_greeting, 11},  // [ SP textstring ]: SP, not HT
      {"220 [300.0.0.1]\r\n", error::bad_greeting, 5},
      {"220 [1.2.3]\r\n", error::bad_greeting, 10},
      {"220 [1.2.3.4.5]\r\n", error::bad_greeting, 12},
      {"220 [1.2.3.4\r\n", error::bad_greeting, 12},
      {"220 [1.2.3.4]x\r\n", error::bad_greeting, 13},
      {"220 []\r\n", error::bad_greeting, 5},
      {"220 [IPv6:zz::1]\r\n", error::bad_greeting, 10},
      {"220 [tag:]\r\n", error::bad_greeting, 9},
      {"554 No SMTP service here\r\n", error::bad_greeting, 0},  // a Reply-line, not a Greeting
      {"250 foo.com\r\n", error::bad_greeting, 0},
      {"220 " + std::string(256, 'a') + "\r\n", error::bad_greeting, 4 + 255},  // 4.5.3.1.2
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(describe_case(c.line));
    const auto r = parse_reply(c.line);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(check_greeting(*r), (parse_error{c.code, c.offset}));
  }
}

TEST(Greeting, DomainOfExactly255OctetsIsAccepted) {
  std::string d;
  while (d.size() < 255) d += d.empty() ? "a" : ".a";
  ASSERT_EQ(d.size(), 255u);
  const auto r = parse_reply("220 " + d + "\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(check_greeting(*r).code, error::ok);
}

}  // namespace
}  // namespace smtpspec::reference
