// Tests of line framing: RFC 5321 section 2.3.8 (CRLF ends a line, bare CR and
// bare LF are not line ends) and the length limits of 4.5.3.1.4 / 4.5.3.1.5,
// including the bounded-memory promise of line_reader.hpp and split invariance.
#include "smtpspec/reference/line_reader.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace smtpspec::reference {
namespace {

using status = line::status;

// A line event with its text copied, so that events can be kept and compared.
struct event {
  status state = status::need_more;
  std::string text;
  std::size_t length = 0;
  bool bare_lf = false;
  bool has_bare_cr = false;
  bool has_bare_lf = false;
  bool has_nul = false;
  friend bool operator==(const event&, const event&) = default;
};

void PrintTo(const event& e, std::ostream* os) {
  *os << "{state=" << static_cast<int>(e.state) << " text=\"";
  for (char c : e.text) {
    if (c == '\r') *os << "\\r";
    else if (c == '\n') *os << "\\n";
    else if (c == '\0') *os << "\\0";
    else *os << c;
  }
  *os << "\" length=" << e.length << " bare_lf=" << e.bare_lf << " cr=" << e.has_bare_cr
      << " lf=" << e.has_bare_lf << " nul=" << e.has_nul << "}";
}

event complete(std::string text, std::size_t length) {
  event e;
  e.state = status::complete;
  e.text = std::move(text);
  e.length = length;
  return e;
}

event too_long(std::size_t length, std::string head) {
  event e;
  e.state = status::too_long;
  e.length = length;
  e.text = std::move(head);
  return e;
}

// Feeds one input and collects events until need_more, which must leave the input
// empty (the contract of next()).
void read_into(line_reader& r, std::string_view input, std::vector<event>& events) {
  for (;;) {
    const line l = r.next(input);
    if (l.state == status::need_more) {
      EXPECT_TRUE(input.empty());
      return;
    }
    events.push_back({l.state, std::string(l.text), l.length, l.bare_lf, l.has_bare_cr, l.has_bare_lf, l.has_nul});
  }
}

std::vector<event> read_pieces(line_reader_options opt, const std::vector<std::string_view>& pieces) {
  line_reader r(opt);
  std::vector<event> events;
  for (std::string_view piece : pieces) {
    read_into(r, piece, events);
    EXPECT_LE(r.buffered(), opt.max_line);
  }
  return events;
}

std::vector<event> read_whole(line_reader_options opt, std::string_view input) { return read_pieces(opt, {input}); }

TEST(LineReader, CrlfEndsEachLine) {
  EXPECT_EQ(read_whole({}, "EHLO x\r\nQUIT\r\n"), (std::vector<event>{complete("EHLO x", 8), complete("QUIT", 6)}));
}

TEST(LineReader, EmptyLineIsALine) {
  EXPECT_EQ(read_whole({}, "\r\n"), (std::vector<event>{complete("", 2)}));
}

TEST(LineReader, PartialHoldsOnlyTheUnfinishedLine) {
  line_reader r;
  std::string_view in = "NOO";
  EXPECT_EQ(r.next(in).state, status::need_more);
  EXPECT_EQ(r.partial(), "NOO");
  in = "P\r\nQU";
  const line l = r.next(in);  // completed from the held octets
  ASSERT_EQ(l.state, status::complete);
  EXPECT_EQ(l.text, "NOOP");
  EXPECT_EQ(r.buffered(), 0u);  // that line is delivered, not held
  EXPECT_EQ(r.partial(), "");
  EXPECT_EQ(r.next(in).state, status::need_more);
  EXPECT_EQ(r.partial(), "QU");
  EXPECT_EQ(r.buffered(), 2u);
}

TEST(LineReader, IncompleteLineIsHeldUntilItsCrlf) {
  line_reader r;
  std::string_view in = "NOOP";
  EXPECT_EQ(r.next(in).state, status::need_more);
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(r.buffered(), 4u);
  in = "\r\n";
  const line l = r.next(in);
  EXPECT_EQ(l.state, status::complete);
  EXPECT_EQ(l.text, "NOOP");
  EXPECT_EQ(l.length, 6u);
  EXPECT_TRUE(in.empty());
}

TEST(LineReader, InputIsAdvancedPastEachLine) {
  line_reader r;
  std::string_view in = "A\r\nBB\r\nC";
  EXPECT_EQ(r.next(in).text, "A");
  EXPECT_EQ(in, "BB\r\nC");
  EXPECT_EQ(r.next(in).text, "BB");
  EXPECT_EQ(in, "C");
  EXPECT_EQ(r.next(in).state, status::need_more);
  EXPECT_TRUE(in.empty());
}

// 2.3.8: a CR at the end of one read and its LF at the start of the next are one CRLF.
TEST(LineReader, CrAndLfSplitAcrossInputsFrameAsCrlf) {
  const auto whole = read_whole({}, "EHLO\r\nX\r\n");
  EXPECT_EQ(read_pieces({}, {"EHLO\r", "\nX\r\n"}), whole);
  EXPECT_EQ(whole, (std::vector<event>{complete("EHLO", 6), complete("X", 3)}));
}

// 2.3.8: strict framing does not end a line at a bare LF; it is flagged.
TEST(LineReader, BareLfStaysInsideLineWhenStrict) {
  event e = complete("a\nb", 5);
  e.has_bare_lf = true;
  EXPECT_EQ(read_whole({}, "a\nb\r\n"), (std::vector<event>{e}));
}

TEST(LineReader, BareLfEndsLineWhenAllowed) {
  event a = complete("a", 2);
  a.bare_lf = true;
  EXPECT_EQ(read_whole({.max_line = 512, .lf_ends_line = true}, "a\nb\r\n"), (std::vector<event>{a, complete("b", 3)}));
}

TEST(LineReader, CrBeforeBareLfMakesCrlfEvenWhenLfEndsLine) {
  EXPECT_EQ(read_whole({.max_line = 512, .lf_ends_line = true}, "a\r\n"), (std::vector<event>{complete("a", 3)}));
}

TEST(LineReader, BareCrIsFlaggedAndKept) {
  event e = complete("a\rb", 5);
  e.has_bare_cr = true;
  EXPECT_EQ(read_whole({}, "a\rb\r\n"), (std::vector<event>{e}));
}

// In CR CR LF the first CR is bare and belongs to the text; the second one ends the line.
TEST(LineReader, CrCrLfKeepsTheFirstCr) {
  event e = complete("a\r", 4);
  e.has_bare_cr = true;
  EXPECT_EQ(read_whole({}, "a\r\r\n"), (std::vector<event>{e}));
  EXPECT_EQ(read_pieces({}, {"a\r", "\r", "\n"}), (std::vector<event>{e}));
}

TEST(LineReader, NulIsFlagged) {
  event e = complete(std::string("a\0b", 3), 5);
  e.has_nul = true;
  EXPECT_EQ(read_whole({}, std::string_view("a\0b\r\n", 5)), (std::vector<event>{e}));
}

TEST(LineReader, FlagsBelongToOneLineOnly) {
  event first = complete("a\rb", 5);
  first.has_bare_cr = true;
  EXPECT_EQ(read_whole({}, "a\rb\r\nc\r\n"), (std::vector<event>{first, complete("c", 3)}));
}

// 4.5.3.1.4: 512 octets including the CRLF are allowed, 513 are not.
TEST(LineReader, LineOfExactlyMaxLineIsAccepted) {
  const std::string text(510, 'x');
  EXPECT_EQ(read_whole({}, text + "\r\n"), (std::vector<event>{complete(text, 512)}));
}

TEST(LineReader, LineOneOverMaxLineIsTooLong) {
  const std::string text(511, 'x');
  // The 513th octet is the LF, which also ends the line: nothing is discarded.
  EXPECT_EQ(read_whole({}, text + "\r\nQUIT\r\n"), (std::vector<event>{too_long(513, text), complete("QUIT", 6)}));
}

TEST(LineReader, TooLongIsReportedOnceAndTheRestIsSkipped) {
  const line_reader_options opt{.max_line = 10};
  EXPECT_EQ(read_whole(opt, std::string(30, 'A') + "\r\nNEXT\r\n"),
            (std::vector<event>{too_long(11, std::string(10, 'A')), complete("NEXT", 6)}));
}

TEST(LineReader, DiscardingEndsAtCrlfSplitAcrossInputs) {
  const line_reader_options opt{.max_line = 10};
  line_reader r(opt);
  std::vector<event> events;
  read_into(r, std::string(10, 'A') + "\r", events);  // the CR is octet 11
  EXPECT_TRUE(r.discarding());
  EXPECT_EQ(r.buffered(), 0u);
  read_into(r, "\nOK\r\n", events);
  EXPECT_FALSE(r.discarding());
  EXPECT_EQ(events, (std::vector<event>{too_long(11, std::string(10, 'A')), complete("OK", 4)}));
}

// While skipping, a bare LF ends the over-long line only when it would end any line.
TEST(LineReader, DiscardingObeysTheFramingMode) {
  const std::string input = std::string(20, 'A') + "\nB\r\nOK\r\n";
  EXPECT_EQ(read_whole({.max_line = 10}, input), (std::vector<event>{too_long(11, std::string(10, 'A')), complete("OK", 4)}));
  event b = complete("B", 3);
  EXPECT_EQ(read_whole({.max_line = 10, .lf_ends_line = true}, input),
            (std::vector<event>{too_long(11, std::string(10, 'A')), b, complete("OK", 4)}));
}

TEST(LineReader, LfEndedLineCountsOneTerminatorOctet) {
  const line_reader_options opt{.max_line = 10, .lf_ends_line = true};
  event fits = complete(std::string(9, 'x'), 10);
  fits.bare_lf = true;
  EXPECT_EQ(read_whole(opt, std::string(9, 'x') + "\n"), (std::vector<event>{fits}));
  EXPECT_EQ(read_whole(opt, std::string(10, 'x') + "\n"), (std::vector<event>{too_long(11, std::string(10, 'x'))}));
}

// The bounded-memory promise: an endless line never costs more than max_line octets.
TEST(LineReader, EndlessLineUsesBoundedMemory) {
  line_reader r;  // max_line 512
  const std::string piece(64 * 1024, 'A');
  const std::size_t total = 100u * 1024 * 1024;
  std::size_t too_long_events = 0;
  std::size_t max_buffered = 0;
  for (std::size_t fed = 0; fed < total; fed += piece.size()) {
    std::string_view in = piece;
    for (;;) {
      const line l = r.next(in);
      max_buffered = std::max(max_buffered, r.buffered());
      if (l.state == status::need_more) break;
      ASSERT_EQ(l.state, status::too_long);
      EXPECT_EQ(l.length, 513u);
      ++too_long_events;
    }
    ASSERT_TRUE(in.empty());
  }
  EXPECT_EQ(too_long_events, 1u);
  EXPECT_LE(max_buffered, 512u);
  EXPECT_TRUE(r.discarding());
  std::vector<event> events;
  read_into(r, "\r\nQUIT\r\n", events);
  EXPECT_EQ(events, (std::vector<event>{complete("QUIT", 6)}));
}

TEST(LineReader, ResetForgetsPartialLineAndDiscarding) {
  line_reader r({.max_line = 10});
  std::vector<event> events;
  read_into(r, std::string(20, 'A'), events);
  EXPECT_TRUE(r.discarding());
  r.reset();
  EXPECT_FALSE(r.discarding());
  read_into(r, "abc", events);
  r.reset();
  EXPECT_EQ(r.buffered(), 0u);
  read_into(r, "OK\r\n", events);
  EXPECT_EQ(events, (std::vector<event>{too_long(11, std::string(10, 'A')), complete("OK", 4)}));
}

// A text returned from the held buffer must survive until the next call.
TEST(LineReader, TextFromHeldOctetsIsComplete) {
  line_reader r;
  std::string_view in = "HEL";
  EXPECT_EQ(r.next(in).state, status::need_more);
  in = "O x\r\nNOOP\r\n";
  const line l = r.next(in);
  EXPECT_EQ(l.text, "HELO x");
  EXPECT_EQ(r.next(in).text, "NOOP");
}

// ---- split invariance: the events depend only on the octets, not on the reads ----

std::vector<std::string> framing_corpus() {
  std::vector<std::string> corpus = {
      "EHLO a\r\nMAIL FROM:<a@b>\r\n",
      "a\nb\r\n\r\n",
      "a\r\r\n\r\r\n",
      "\r\r\r\n\n\n\r\n",
      std::string("x\0y\r\n\0\r\n", 9),
      "0123456789\r\nshort\r\n",
      "01234567\r\n012345678\r\n0123456789\r\n",
      "0123456789ABCDEF\r\nok\r\n",
      "0123456789ABCDEF\nmore\r\nok\r\n",
      "012345678\r\r\nok\r\n",
      "0123456789\rX\r\nok\r\n",
      "unterminated",
      "0123456789012345678901234",
  };
  // Random octet strings over the octets that matter, with a fixed seed.
  std::mt19937 rng(2023'51764);
  const std::string alphabet = std::string("ab\r\n\0.", 6);
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::uniform_int_distribution<std::size_t> len(0, 40);
  for (int k = 0; k < 150; ++k) {
    std::string s;
    const std::size_t n = len(rng);
    for (std::size_t i = 0; i < n; ++i) s.push_back(alphabet[pick(rng)]);
    corpus.push_back(s);
  }
  return corpus;
}

const line_reader_options k_split_options[] = {
    {.max_line = 512, .lf_ends_line = false},
    {.max_line = 512, .lf_ends_line = true},
    {.max_line = 10, .lf_ends_line = false},
    {.max_line = 10, .lf_ends_line = true},
    {.max_line = 3, .lf_ends_line = false},
};

TEST(LineReader, EveryTwoWaySplitGivesTheSameEvents) {
  for (const auto& opt : k_split_options) {
    for (const std::string& s : framing_corpus()) {
      const auto whole = read_whole(opt, s);
      const std::string_view v(s);
      for (std::size_t cut = 0; cut <= s.size(); ++cut)
        ASSERT_EQ(read_pieces(opt, {v.substr(0, cut), v.substr(cut)}), whole) << "cut=" << cut << " max=" << opt.max_line;
    }
  }
}

TEST(LineReader, EveryThreeWaySplitGivesTheSameEvents) {
  for (const auto& opt : k_split_options) {
    for (const std::string& s : framing_corpus()) {
      if (s.size() > 30) continue;
      const auto whole = read_whole(opt, s);
      const std::string_view v(s);
      for (std::size_t a = 0; a <= s.size(); ++a)
        for (std::size_t b = a; b <= s.size(); ++b)
          ASSERT_EQ(read_pieces(opt, {v.substr(0, a), v.substr(a, b - a), v.substr(b)}), whole) << a << "," << b;
    }
  }
}

TEST(LineReader, OneOctetAtATimeGivesTheSameEvents) {
  for (const auto& opt : k_split_options) {
    for (const std::string& s : framing_corpus()) {
      std::vector<std::string_view> pieces;
      for (std::size_t i = 0; i < s.size(); ++i) pieces.push_back(std::string_view(s).substr(i, 1));
      EXPECT_EQ(read_pieces(opt, pieces), read_whole(opt, s));
    }
  }
}

}  // namespace
}  // namespace smtpspec::reference

namespace smtpspec::reference {
namespace {
// The head of an over-long line names its verb or code (client_stream reads a long
// "EHLO ..." as EHLO); the CR of its CRLF is not part of it, however the input split.
TEST(LineReader, TooLongHeadLeavesOutTheCrOfItsCrlf) {
  const line_reader_options opt{.max_line = 10};
  line_reader r(opt);
  std::vector<event> events;
  read_into(r, std::string(9, 'A') + "\r", events);
  read_into(r, "\nOK\r\n", events);
  EXPECT_EQ(events, (std::vector<event>{too_long(11, std::string(9, 'A')), complete("OK", 4)}));
  EXPECT_EQ(read_whole(opt, std::string(9, 'A') + "\r\nOK\r\n"),
            (std::vector<event>{too_long(11, std::string(9, 'A')), complete("OK", 4)}));
}
}  // namespace
}  // namespace smtpspec::reference
