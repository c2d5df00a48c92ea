// Tests of DATA transparency: RFC 5321 section 4.5.2 (dot-stuffing), 4.1.1.4 (the
// end of mail data indication, and <LF>.<LF> MUST NOT end the data), 2.3.8 (bare
// CR / bare LF) and 4.5.3.1.6 (text line length). Besides hand-computed cases, the
// streaming decoder is checked against `model_decode`, a whole-input restatement
// of the definitions in data_transparency.hpp written without a state machine,
// and against itself at every split of many generated inputs.
#include "smtpspec/reference/data_transparency.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace smtpspec::reference {

void PrintTo(const data_anomaly_record& r, std::ostream* os) { *os << to_string(r.kind) << "@" << r.offset; }

namespace {

using A = data_anomaly;
using records = std::vector<data_anomaly_record>;
using namespace std::string_literals;

std::string visible(std::string_view s) {
  std::string v;
  for (char c : s) {
    if (c == '\r') v += "\\r";
    else if (c == '\n') v += "\\n";
    else if (c == '\0') v += "\\0";
    else v += c;
  }
  return v;
}

// Everything a decoder produced for one stream.
struct decoded {
  std::string content;
  records anomalies;
  std::array<std::uint64_t, data_anomaly_count> counts{};
  std::size_t consumed = 0;
  bool end = false;
  data_anomaly ended_by = A::count_;
  bool saw(data_anomaly a) const { return counts[static_cast<std::size_t>(a)] != 0; }
  friend bool operator==(const decoded&, const decoded&) = default;
};

void PrintTo(const decoded& d, std::ostream* os) {
  *os << "{content=\"" << visible(d.content) << "\" consumed=" << d.consumed << " end=" << d.end
      << " by=" << (d.ended_by == A::count_ ? "crlf_dot_crlf" : to_string(d.ended_by)) << " anomalies=[";
  for (const auto& r : d.anomalies) *os << to_string(r.kind) << "@" << r.offset << " ";
  *os << "]}";
}

// Feeds the pieces in order; stops at end of data. Checks the feed() contract on
// the way: without end of data every octet is consumed.
decoded decode_pieces(const std::vector<std::string_view>& pieces, data_decoder_options opt = {}) {
  data_decoder dec(opt);
  decoded d;
  for (std::string_view piece : pieces) {
    const data_feed_result r = dec.feed(piece, d.content);
    d.consumed += r.consumed;
    if (r.end_of_data) {
      d.end = true;
      d.ended_by = r.ended_by;
      break;
    }
    EXPECT_EQ(r.consumed, piece.size());
  }
  EXPECT_EQ(dec.consumed(), d.consumed);
  EXPECT_EQ(dec.ended(), d.end);
  d.anomalies = dec.anomalies();
  d.counts = dec.counts();
  return d;
}

decoded decode(std::string_view wire, data_decoder_options opt = {}) { return decode_pieces({wire}, opt); }

decoded decode_bytewise(std::string_view wire, data_decoder_options opt = {}) {
  std::vector<std::string_view> pieces;
  for (std::size_t i = 0; i < wire.size(); ++i) pieces.push_back(wire.substr(i, 1));
  return decode_pieces(pieces, opt);
}

// ---- the model: the header's definitions, read off the whole input at once ----

enum class tok { crlf, lf, cr };

// The header's "Detection order": by the deciding octet, then by phase at that
// octet: a pending CR's bare_cr (0) and the sequence it ends (1), the octet's own
// bare_lf or nul (2) and the sequence it ends (3), overlong_line (4).
struct model_record {
  data_anomaly kind;
  std::uint64_t offset;
  std::size_t decided_at;
  int phase;
};

data_anomaly model_kind(tok t1, tok t2) {
  if (t1 == tok::crlf) return t2 == tok::crlf ? A::count_ : t2 == tok::lf ? A::crlf_dot_lf : A::crlf_dot_cr;
  if (t1 == tok::lf) return t2 == tok::crlf ? A::lf_dot_crlf : t2 == tok::lf ? A::lf_dot_lf : A::lf_dot_cr;
  return t2 == tok::crlf ? A::cr_dot_crlf : t2 == tok::lf ? A::cr_dot_lf : A::cr_dot_cr;
}

decoded model_decode(std::string_view s, const data_decoder_options& opt) {
  const std::size_t n = s.size();
  auto line_start = [&](std::size_t i) { return i == 0 || (i >= 2 && s[i - 2] == '\r' && s[i - 1] == '\n'); };
  // T1 before a "." at k, with its offset.
  auto t1_at = [&](std::size_t k) -> std::optional<std::pair<tok, std::uint64_t>> {
    if (line_start(k)) return std::pair{tok::crlf, k == 0 ? 0 : k - 2};
    if (s[k - 1] == '\n') return std::pair{tok::lf, k - 1};  // not after CR, or k would be a line start
    if (s[k - 1] == '\r') return std::pair{tok::cr, k - 1};  // followed by ".", so bare
    return std::nullopt;
  };
  struct t2_info {
    tok t;
    std::size_t decided_at;  // the octet that decides T2
    std::size_t end;         // consumed octets if the data ends here
  };
  auto t2_at = [&](std::size_t k) -> std::optional<t2_info> {
    if (k + 1 >= n) return std::nullopt;
    if (s[k + 1] == '\n') return t2_info{tok::lf, k + 1, k + 2};
    if (s[k + 1] != '\r' || k + 2 >= n) return std::nullopt;
    if (s[k + 2] == '\n') return t2_info{tok::crlf, k + 2, k + 3};
    return t2_info{tok::cr, k + 2, k + 2};  // the deciding octet is not consumed
  };
  auto ends = [&](data_anomaly a) { return a == A::count_ || (opt.also_end_on & data_anomaly_bit(a)) != 0; };

  std::vector<model_record> recs;
  std::optional<std::size_t> end_dot;  // the "." of the ending sequence
  std::size_t consumed = n;
  data_anomaly by = A::count_;
  bool end_t2_cr = false;
  for (std::size_t k = 0; k < n && !end_dot; ++k) {
    if (s[k] != '.') continue;
    const auto t1 = t1_at(k);
    const auto t2 = t1 ? t2_at(k) : std::nullopt;
    if (!t2) continue;
    const data_anomaly kind = model_kind(t1->first, t2->t);
    if (kind != A::count_) recs.push_back({kind, t1->second, t2->decided_at, t2->t == tok::cr ? 1 : 3});
    if (ends(kind)) {
      end_dot = k;
      consumed = t2->end;
      by = kind;
      end_t2_cr = t2->t == tok::cr;
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (s[i] == '\n' && !(i > 0 && s[i - 1] == '\r')) recs.push_back({A::bare_lf, i, i, 2});
    if (s[i] == '\r' && i + 1 < n && s[i + 1] != '\n') recs.push_back({A::bare_cr, i, i + 1, 0});
    if (s[i] == '\0') recs.push_back({A::nul, i, i, 2});
  }
  std::size_t length = 0;
  std::size_t line_offset = 0;
  bool reported = false;
  for (std::size_t i = 0; i < n; ++i) {
    if (line_start(i)) {
      length = 0;
      line_offset = i;
      reported = false;
      if (s[i] == '.') continue;  // 4.5.3.1.6: the stuffed dot is not counted
    }
    if (++length > opt.max_line && !reported) {
      reported = true;
      recs.push_back({A::overlong_line, line_offset, i, 4});
    }
  }

  std::sort(recs.begin(), recs.end(),
            [](const auto& a, const auto& b) { return std::tie(a.decided_at, a.phase) < std::tie(b.decided_at, b.phase); });
  decoded d;
  d.consumed = consumed;
  d.end = end_dot.has_value();
  d.ended_by = by;
  for (const auto& r : recs) {
    const bool kept = r.decided_at < consumed ||
                      (end_t2_cr && r.decided_at == consumed &&
                       (r.kind == by || (r.kind == A::bare_cr && r.offset == *end_dot + 1)));
    if (!kept) continue;
    d.anomalies.push_back({r.kind, r.offset});
    ++d.counts[static_cast<std::size_t>(r.kind)];
  }
  // Content: everything before the ending ".", minus stuffed dots; without an end,
  // a trailing T1 "." or T1 "." CR is still undecided and held back.
  std::size_t content_end = end_dot.value_or(n);
  if (!end_dot) {
    if (n >= 1 && s[n - 1] == '.' && t1_at(n - 1)) content_end = n - 1;
    else if (n >= 2 && s[n - 1] == '\r' && s[n - 2] == '.' && t1_at(n - 2)) content_end = n - 2;
  }
  for (std::size_t i = 0; i < content_end; ++i)
    if (!(s[i] == '.' && line_start(i) && !opt.keep_stuffed_dot)) d.content.push_back(s[i]);
  return d;
}

// ---- hand-computed cases ----

TEST(DataAnomaly, EveryKindHasAName) {
  std::vector<std::string_view> names;
  for (std::size_t k = 0; k < data_anomaly_count; ++k) names.push_back(to_string(static_cast<data_anomaly>(k)));
  EXPECT_EQ(names, (std::vector<std::string_view>{"bare_lf", "bare_cr", "lf_dot_lf", "cr_dot_cr", "crlf_dot_lf",
                                                  "lf_dot_crlf", "crlf_dot_cr", "cr_dot_crlf", "lf_dot_cr", "nul",
                                                  "overlong_line", "cr_dot_lf"}));
}

TEST(DataAnomaly, DotSequenceMaskHoldsTheEightSequences) {
  int n = 0;
  for (std::size_t k = 0; k < data_anomaly_count; ++k) {
    const auto a = static_cast<data_anomaly>(k);
    EXPECT_EQ((all_dot_sequences & data_anomaly_bit(a)) != 0, is_dot_sequence(a)) << to_string(a);
    n += is_dot_sequence(a) ? 1 : 0;
  }
  EXPECT_EQ(n, 8);
}

// 4.1.1.4: <CRLF>.<CRLF> ends the data; its first CRLF ends the last line.
TEST(DataDecoder, StandardEndOfData) {
  const decoded d = decode("Subject: x\r\n\r\nbody\r\n.\r\n");
  EXPECT_EQ(d.content, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_TRUE(d.end);
  EXPECT_EQ(d.ended_by, A::count_);
  EXPECT_EQ(d.consumed, 23u);
  EXPECT_TRUE(d.anomalies.empty());
}

// 4.1.1.4: with no mail data the CRLF of the DATA command is the first CRLF.
TEST(DataDecoder, DotLineAtOffsetZeroIsAnEmptyMessage) {
  const decoded d = decode(".\r\n");
  EXPECT_EQ(d.content, "");
  EXPECT_TRUE(d.end);
  EXPECT_EQ(d.consumed, 3u);
}

TEST(DataDecoder, OctetsAfterTheEndAreReturned) {
  const std::string wire = "hi\r\n.\r\nMAIL FROM:<a@b>\r\n";
  data_decoder dec;
  std::string out;
  const data_feed_result r = dec.feed(wire, out);
  EXPECT_TRUE(r.end_of_data);
  EXPECT_EQ(std::string_view(wire).substr(r.consumed), "MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(out, "hi\r\n");
}

TEST(DataDecoder, FeedAfterTheEndConsumesNothingUntilReset) {
  data_decoder dec;
  std::string out;
  ASSERT_TRUE(dec.feed(".\r\n", out).end_of_data);
  const data_feed_result again = dec.feed("more\r\n", out);
  EXPECT_TRUE(again.end_of_data);
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_EQ(out, "");
  dec.reset();
  const data_feed_result next = dec.feed("x\r\n.\r\n", out);
  EXPECT_TRUE(next.end_of_data);
  EXPECT_EQ(out, "x\r\n");
  EXPECT_EQ(dec.consumed(), 6u);
}

// 4.5.2: "If the first character is a period and there are other characters on
// the line, the first character is deleted."
TEST(DataDecoder, StuffedDotIsRemoved) {
  EXPECT_EQ(decode("..\r\n.\r\n").content, ".\r\n");
  EXPECT_EQ(decode("..foo\r\n.\r\n").content, ".foo\r\n");
  EXPECT_EQ(decode(".foo\r\n.\r\n").content, "foo\r\n");
  EXPECT_EQ(decode("a\r\n...\r\n.\r\n").content, "a\r\n..\r\n");
  EXPECT_TRUE(decode("..foo\r\n.\r\n").anomalies.empty());
}

TEST(DataDecoder, DotInsideALineIsContent) {
  EXPECT_EQ(decode("a.b.\r\n.\r\n").content, "a.b.\r\n");
}

TEST(DataDecoder, KeepStuffedDotEmulatesAServerThatDoesNotUnstuff) {
  const decoded d = decode("..foo\r\n.x\r\n.\r\n", {.keep_stuffed_dot = true});
  EXPECT_EQ(d.content, "..foo\r\n.x\r\n");
  EXPECT_TRUE(d.end);
}

struct anomaly_case {
  std::string name;
  std::string wire;
  std::string content;
  records expected;  // in detection order
};

// One case per kind, and combinations; every wire ends with the standard end.
std::vector<anomaly_case> anomaly_cases() {
  return {
      {"bare_lf", "a\nb\r\n.\r\n", "a\nb\r\n", {{A::bare_lf, 1}}},
      {"bare_cr", "a\rb\r\n.\r\n", "a\rb\r\n", {{A::bare_cr, 1}}},
      {"nul", "a\0b\r\n.\r\n"s, "a\0b\r\n"s, {{A::nul, 1}}},
      {"lf_dot_lf", "a\n.\nb\r\n.\r\n", "a\n.\nb\r\n", {{A::bare_lf, 1}, {A::bare_lf, 3}, {A::lf_dot_lf, 1}}},
      {"cr_dot_cr", "a\r.\rb\r\n.\r\n", "a\r.\rb\r\n", {{A::bare_cr, 1}, {A::bare_cr, 3}, {A::cr_dot_cr, 1}}},
      // The dot after CRLF is at a line start: with other characters on its line it is deleted.
      {"crlf_dot_lf", "a\r\n.\nb\r\n.\r\n", "a\r\n\nb\r\n", {{A::bare_lf, 4}, {A::crlf_dot_lf, 1}}},
      {"lf_dot_crlf", "a\n.\r\nb\r\n.\r\n", "a\n.\r\nb\r\n", {{A::bare_lf, 1}, {A::lf_dot_crlf, 1}}},
      {"crlf_dot_cr", "a\r\n.\rb\r\n.\r\n", "a\r\n\rb\r\n", {{A::bare_cr, 4}, {A::crlf_dot_cr, 1}}},
      {"cr_dot_crlf", "a\r.\r\nb\r\n.\r\n", "a\r.\r\nb\r\n", {{A::bare_cr, 1}, {A::cr_dot_crlf, 1}}},
      {"lf_dot_cr", "a\n.\rb\r\n.\r\n", "a\n.\rb\r\n", {{A::bare_lf, 1}, {A::bare_cr, 3}, {A::lf_dot_cr, 1}}},
      {"cr_dot_lf", "a\r.\nb\r\n.\r\n", "a\r.\nb\r\n", {{A::bare_cr, 1}, {A::bare_lf, 3}, {A::cr_dot_lf, 1}}},
      // At offset 0 the virtual CRLF of the DATA command is T1; the offset is the dot's.
      {"crlf_dot_lf at start", ".\nX\r\n.\r\n", "\nX\r\n", {{A::bare_lf, 1}, {A::crlf_dot_lf, 0}}},
      {"crlf_dot_cr at start", ".\rX\r\n.\r\n", "\rX\r\n", {{A::bare_cr, 1}, {A::crlf_dot_cr, 0}}},
      // A token can be T2 of one sequence and T1 of the next.
      {"chained lf_dot_lf", "\n.\n.\n\r\n.\r\n", "\n.\n.\n\r\n",
       {{A::bare_lf, 0}, {A::bare_lf, 2}, {A::lf_dot_lf, 0}, {A::bare_lf, 4}, {A::lf_dot_lf, 2}}},
      {"chained crlf_dot_cr, cr_dot_crlf", "a\r\n.\r.\r\nb\r\n.\r\n", "a\r\n\r.\r\nb\r\n",
       {{A::bare_cr, 4}, {A::crlf_dot_cr, 1}, {A::cr_dot_crlf, 4}}},
      // ".." after a bare LF is no sequence: the second dot is not T2.
      {"dot dot after bare lf", "a\n..\n\r\n.\r\n", "a\n..\n\r\n", {{A::bare_lf, 1}, {A::bare_lf, 4}}},
      {"mixed", "x\0\r.\r\n..\n\r\n.\r\n"s, "x\0\r.\r\n.\n\r\n"s,
       {{A::nul, 1}, {A::bare_cr, 2}, {A::cr_dot_crlf, 2}, {A::bare_lf, 8}}},
      // CR CR LF: the first CR is bare; CR LF LF: the second LF is bare.
      {"cr cr lf", "a\r\r\n.\r\n", "a\r\r\n", {{A::bare_cr, 1}}},
      {"cr lf lf", "a\r\n\nb\r\n.\r\n", "a\r\n\nb\r\n", {{A::bare_lf, 3}}},
  };
}

TEST(DataDecoder, EachAnomalyWithExactOffsets) {
  for (const auto& c : anomaly_cases()) {
    SCOPED_TRACE(c.name);
    const decoded d = decode(c.wire);
    EXPECT_EQ(d.anomalies, c.expected);
    EXPECT_EQ(d.content, c.content);
    EXPECT_TRUE(d.end);
    EXPECT_EQ(d.ended_by, A::count_);
    EXPECT_EQ(d.consumed, c.wire.size());
    std::array<std::uint64_t, data_anomaly_count> counts{};
    for (const auto& r : c.expected) ++counts[static_cast<std::size_t>(r.kind)];
    EXPECT_EQ(d.counts, counts);
    EXPECT_EQ(decode_bytewise(c.wire), d);
    EXPECT_EQ(model_decode(c.wire, {}), d);
  }
}

// 4.5.3.1.6: 1000 octets including CRLF; the stuffed dot is not counted.
TEST(DataDecoder, OverlongLine) {
  const std::string x998(998, 'x');
  const std::string x999(999, 'x');
  EXPECT_FALSE(decode(x998 + "\r\n.\r\n").counts[static_cast<std::size_t>(A::overlong_line)]);
  EXPECT_EQ(decode(x999 + "\r\n.\r\n").anomalies, (records{{A::overlong_line, 0}}));
  EXPECT_EQ(decode("ab\r\n" + x999 + "\r\n.\r\n").anomalies, (records{{A::overlong_line, 4}}));
  EXPECT_TRUE(decode("." + x998 + "\r\n.\r\n").anomalies.empty());
  EXPECT_EQ(decode("." + x999 + "\r\n.\r\n").anomalies, (records{{A::overlong_line, 0}}));
  // Once per line, however long it gets.
  EXPECT_EQ(decode(std::string(5000, 'y') + "\r\n" + x999 + "\r\n.\r\n").anomalies,
            (records{{A::overlong_line, 0}, {A::overlong_line, 5002}}));
  // Only CRLF ends a line (2.3.8): bare LFs do not reset the count.
  std::string lf_lines;
  for (int k = 0; k < 30; ++k) lf_lines += std::string(40, 'z') + "\n";
  const decoded d = decode(lf_lines + "\r\n.\r\n");
  EXPECT_EQ(d.counts[static_cast<std::size_t>(A::overlong_line)], 1u);
  EXPECT_EQ(d.counts[static_cast<std::size_t>(A::bare_lf)], 30u);
}

TEST(DataDecoder, MaxLineIsConfigurable) {
  EXPECT_TRUE(decode("abc\r\n.\r\n", {.max_line = 5}).anomalies.empty());
  EXPECT_EQ(decode("abcd\r\n.\r\n", {.max_line = 5}).anomalies, (records{{A::overlong_line, 0}}));
}

TEST(DataDecoder, RecordsAreBoundedButCountsAreNot) {
  std::string wire;
  for (int k = 0; k < 1000; ++k) wire += "a\n";
  wire += "\r\n.\r\n";
  const decoded d = decode(wire, {.max_records = 10});
  EXPECT_EQ(d.anomalies.size(), 10u);
  EXPECT_EQ(d.anomalies.back(), (data_anomaly_record{A::bare_lf, 19}));
  EXPECT_EQ(d.counts[static_cast<std::size_t>(A::bare_lf)], 1000u);
}

// 4.1.1.4: "<LF>.<LF> ... MUST NOT be treated as equivalent to <CRLF>.<CRLF>". A
// strict decoder reads a smuggled command as content and waits for the real end.
TEST(DataDecoder, StrictDecoderDoesNotEndOnAnyLookAlike) {
  const std::string smuggled = "MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\n";
  for (const std::string look_alike : {"\n.\n", "\r.\r", "\r\n.\n", "\n.\r\n", "\r\n.\r", "\r.\r\n", "\n.\r", "\r.\n"}) {
    SCOPED_TRACE(visible(look_alike));
    const std::string wire = "body" + look_alike + smuggled + ".\r\n";
    const decoded d = decode(wire);
    EXPECT_TRUE(d.end);
    EXPECT_EQ(d.consumed, wire.size());
    EXPECT_NE(d.content.find("MAIL FROM:<evil@x>"), std::string::npos);
  }
}

struct end_case {
  data_anomaly kind;
  std::string t1;
  std::string t2;
};

const end_case k_end_cases[] = {
    {A::lf_dot_lf, "\n", "\n"},     {A::cr_dot_cr, "\r", "\r"},     {A::crlf_dot_lf, "\r\n", "\n"},
    {A::lf_dot_crlf, "\n", "\r\n"}, {A::crlf_dot_cr, "\r\n", "\r"}, {A::cr_dot_crlf, "\r", "\r\n"},
    {A::lf_dot_cr, "\n", "\r"},     {A::cr_dot_lf, "\r", "\n"},
};

// also_end_on emulates a server that ends data on one look-alike: the data ends
// there, T1 stays content, and the smuggled command is handed back.
TEST(DataDecoder, AlsoEndOnEachDotSequence) {
  for (const auto& c : k_end_cases) {
    SCOPED_TRACE(to_string(c.kind));
    const std::string wire = "Hi" + c.t1 + "." + c.t2 + "QUIT\r\n";
    const std::size_t end = 2 + c.t1.size() + 1 + c.t2.size();
    for (const std::uint32_t mask : {data_anomaly_bit(c.kind), all_dot_sequences}) {
      const decoded d = decode(wire, {.also_end_on = mask});
      EXPECT_TRUE(d.end);
      EXPECT_EQ(d.ended_by, c.kind);
      EXPECT_EQ(d.consumed, end);
      EXPECT_EQ(std::string_view(wire).substr(d.consumed), "QUIT\r\n");
      EXPECT_EQ(d.content, "Hi" + c.t1);
      EXPECT_EQ(d.counts[static_cast<std::size_t>(c.kind)], 1u);
      EXPECT_EQ(decode_bytewise(wire, {.also_end_on = mask}), d);
    }
    // Any other bit does not end it, and the strict decoder does not either.
    const decoded other = decode(wire + ".\r\n", {.also_end_on = all_dot_sequences & ~data_anomaly_bit(c.kind)});
    EXPECT_EQ(other.ended_by, A::count_);
    EXPECT_EQ(other.consumed, wire.size() + 3);
    EXPECT_TRUE(decode(wire + ".\r\n").saw(c.kind));
  }
}

// A bare-CR T2 is known to be bare only at the next octet, which is not consumed:
// when that octet arrives in a later feed, the later feed consumes nothing.
TEST(DataDecoder, BareCrEndDecidedByTheNextFeed) {
  data_decoder dec({.also_end_on = data_anomaly_bit(A::crlf_dot_cr)});
  std::string out;
  const auto first = dec.feed("Hi\r\n.\r", out);
  EXPECT_FALSE(first.end_of_data);
  EXPECT_EQ(first.consumed, 6u);
  const auto second = dec.feed("QUIT\r\n", out);
  EXPECT_TRUE(second.end_of_data);
  EXPECT_EQ(second.consumed, 0u);
  EXPECT_EQ(second.ended_by, A::crlf_dot_cr);
  EXPECT_EQ(out, "Hi\r\n");
}

TEST(DataDecoder, StandardEndStillEndsWithAllBitsSet) {
  const decoded d = decode("Hi\r\n.\r\nQUIT\r\n", {.also_end_on = all_dot_sequences});
  EXPECT_EQ(d.ended_by, A::count_);
  EXPECT_EQ(d.consumed, 7u);
}

TEST(DataDecoder, NonDotBitsAreIgnored) {
  const decoded d = decode("a\nb\r\n.\r\n", {.also_end_on = data_anomaly_bit(A::bare_lf) | data_anomaly_bit(A::nul)});
  EXPECT_EQ(d.ended_by, A::count_);
  EXPECT_EQ(d.consumed, 8u);
}

TEST(DataDecoder, HeldDotIsDeliveredByALaterFeed) {
  data_decoder dec;
  std::string out;
  dec.feed("a\n.", out);
  EXPECT_EQ(out, "a\n");  // the dot might still be part of a sequence that ends the data
  dec.feed("b\r\n", out);
  EXPECT_EQ(out, "a\n.b\r\n");
}

TEST(DataDecoder, ResetClearsCountsAndOffsets) {
  data_decoder dec;
  std::string out;
  dec.feed("a\nb", out);
  ASSERT_TRUE(dec.saw(A::bare_lf));
  dec.reset();
  EXPECT_FALSE(dec.saw(A::bare_lf));
  EXPECT_TRUE(dec.anomalies().empty());
  EXPECT_EQ(dec.consumed(), 0u);
  dec.feed("\n", out);  // at offset 0 again
  EXPECT_EQ(dec.anomalies(), (records{{A::bare_lf, 0}}));
}

// ---- generated inputs: model agreement and split invariance ----

// Wire-like octet strings built from the pieces that matter for the decoder.
std::vector<std::string> generated_wires(unsigned seed, int count) {
  static const std::vector<std::string> tokens = {
      "a", "bc", "xyz", ".", "..", "\r\n", "\r\n", "\n", "\r", "\0"s, "\r\n.", "\n.", "\r.", "\r\n..", ".\r", ".\n",
  };
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, tokens.size() - 1);
  std::uniform_int_distribution<int> len(0, 24);
  std::uniform_int_distribution<int> percent(0, 99);
  std::vector<std::string> wires;
  for (int k = 0; k < count; ++k) {
    std::string s;
    const int n = len(rng);
    for (int t = 0; t < n; ++t) s += tokens[pick(rng)];
    if (percent(rng) < 30) s += "\r\n.\r\n";
    if (percent(rng) < 20) s += "QUIT\r\n";
    wires.push_back(s);
  }
  return wires;
}

std::vector<data_decoder_options> option_sets() {
  std::vector<data_decoder_options> sets = {
      {},
      {.keep_stuffed_dot = true},
      {.max_line = 6},
      {.also_end_on = all_dot_sequences},
      {.also_end_on = all_dot_sequences, .keep_stuffed_dot = true, .max_line = 4},
  };
  for (const auto& c : k_end_cases) sets.push_back({.also_end_on = data_anomaly_bit(c.kind)});
  for (auto& o : sets) o.max_records = 100000;
  return sets;
}

TEST(DataDecoder, AgreesWithTheModel) {
  for (const auto& opt : option_sets()) {
    for (const std::string& wire : generated_wires(4521, 600)) {
      const decoded d = decode(wire, opt);
      decoded m = model_decode(wire, opt);
      ASSERT_EQ(d.content, m.content) << visible(wire);
      ASSERT_EQ(d.consumed, m.consumed) << visible(wire);
      ASSERT_EQ(d.end, m.end) << visible(wire);
      ASSERT_EQ(d.ended_by, m.ended_by) << visible(wire);
      ASSERT_EQ(d.counts, m.counts) << visible(wire);
      ASSERT_EQ(d.anomalies, m.anomalies) << visible(wire);  // the same order, too
    }
  }
}

TEST(DataDecoder, EveryTwoWaySplitGivesTheSameResult) {
  for (const auto& opt : option_sets()) {
    for (const std::string& wire : generated_wires(1764, 300)) {
      const decoded whole = decode(wire, opt);
      const std::string_view v(wire);
      for (std::size_t cut = 0; cut <= v.size(); ++cut)
        ASSERT_EQ(decode_pieces({v.substr(0, cut), v.substr(cut)}, opt), whole) << visible(wire) << " cut=" << cut;
    }
  }
}

TEST(DataDecoder, EveryThreeWaySplitGivesTheSameResult) {
  for (const auto& opt : option_sets()) {
    for (const std::string& wire : generated_wires(51765, 40)) {
      const decoded whole = decode(wire, opt);
      const std::string_view v(wire);
      for (std::size_t a = 0; a <= v.size(); ++a)
        for (std::size_t b = a; b <= v.size(); ++b)
          ASSERT_EQ(decode_pieces({v.substr(0, a), v.substr(a, b - a), v.substr(b)}, opt), whole)
              << visible(wire) << " cuts=" << a << "," << b;
    }
  }
}

TEST(DataDecoder, OneOctetAtATimeGivesTheSameResult) {
  for (const auto& opt : option_sets())
    for (const std::string& wire : generated_wires(51766, 600))
      ASSERT_EQ(decode_bytewise(wire, opt), decode(wire, opt)) << visible(wire);
}

// Long inputs take the 16-octet search path; split them at every offset too.
TEST(DataDecoder, LongRunsSplitAnywhere) {
  const std::string wire = std::string(37, 'a') + "\r\n" + std::string(40, 'b') + "\n." + std::string(33, 'c') +
                           "\0"s + std::string(20, 'd') + "\r\n.." + std::string(50, 'e') + "\r\n.\r\n";
  for (const auto& opt : option_sets()) {
    const decoded whole = decode(wire, opt);
    const decoded model = model_decode(wire, opt);
    EXPECT_EQ(whole.content, model.content);
    EXPECT_EQ(whole.counts, model.counts);
    EXPECT_EQ(whole.anomalies, model.anomalies);
    for (std::size_t cut = 0; cut <= wire.size(); ++cut)
      ASSERT_EQ(decode_pieces({std::string_view(wire).substr(0, cut), std::string_view(wire).substr(cut)}, opt), whole);
  }
}

// ---- encoder ----

TEST(DataEncoder, StuffsLinesThatStartWithADot) {
  EXPECT_EQ(encode_data(".foo\r\n"), "..foo\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\n.\r\nb\r\n"), "a\r\n..\r\nb\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\n..\r\n"), "a\r\n...\r\n.\r\n");
  EXPECT_EQ(encode_data("a.b\r\n"), "a.b\r\n.\r\n");
}

// 4.1.1.4: CRLF is added only when the content does not end with one.
TEST(DataEncoder, FinishAddsCrlfOnlyWhenMissing) {
  EXPECT_EQ(encode_data(""), ".\r\n");
  EXPECT_EQ(encode_data("a"), "a\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\n"), "a\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\n\r\n"), "a\r\n\r\n.\r\n");
  EXPECT_EQ(encode_data("."), "..\r\n.\r\n");
}

TEST(DataEncoder, FinishResetsForTheNextMessage) {
  data_encoder enc;
  std::string out;
  enc.encode("a", out);
  enc.finish(out);
  enc.encode(".b", out);
  enc.finish(out);
  EXPECT_EQ(out, "a\r\n.\r\n..b\r\n.\r\n");
}

// 2.3.8: clients send line ends only as CRLF; the default normalises bare ones.
TEST(DataEncoder, ToCrlfNormalisesBareLineEnds) {
  EXPECT_EQ(encode_data("a\n.b"), "a\r\n..b\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r.b"), "a\r\n..b\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\r\nb"), "a\r\n\r\nb\r\n.\r\n");
  EXPECT_EQ(encode_data("a\n\n"), "a\r\n\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r"), "a\r\n.\r\n");
  EXPECT_EQ(encode_data("\n.\n"), "\r\n..\r\n.\r\n");
}

TEST(DataEncoder, StuffAfterKeepsBareLineEndsButStuffsAfterThem) {
  const data_encoder_options opt{.bare = bare_line_endings::stuff_after};
  EXPECT_EQ(encode_data("a\n.b", opt), "a\n..b\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r.b", opt), "a\r..b\r\n.\r\n");
  EXPECT_EQ(encode_data("a\n.\n", opt), "a\n..\n\r\n.\r\n");
}

TEST(DataEncoder, VerbatimStuffsOnlyAfterCrlf) {
  const data_encoder_options opt{.bare = bare_line_endings::verbatim};
  EXPECT_EQ(encode_data("a\n.\nb", opt), "a\n.\nb\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r\n.x", opt), "a\r\n..x\r\n.\r\n");
  EXPECT_EQ(encode_data("a\r", opt), "a\r\r\n.\r\n");
}

// A CR at the end of one chunk and LF at the start of the next are one CRLF.
TEST(DataEncoder, CrlfSplitAcrossChunks) {
  for (const auto bare : {bare_line_endings::to_crlf, bare_line_endings::stuff_after, bare_line_endings::verbatim}) {
    data_encoder enc({.bare = bare});
    std::string out;
    enc.encode("a\r", out);
    enc.encode("\n.b", out);
    enc.finish(out);
    EXPECT_EQ(out, "a\r\n..b\r\n.\r\n");
  }
}

// ---- round trips ----

// Content with CRLF line ends: empty lines, ".", "..", dot-led lines, long lines
// (over the 1000-octet limit), NUL, and sometimes no final CRLF.
std::vector<std::string> generated_crlf_contents(unsigned seed, int count) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> lines(0, 12);
  std::uniform_int_distribution<int> kind(0, 9);
  std::uniform_int_distribution<int> len(0, 80);
  std::uniform_int_distribution<int> percent(0, 99);
  std::vector<std::string> contents;
  for (int k = 0; k < count; ++k) {
    std::string s;
    const int n = lines(rng);
    for (int l = 0; l < n; ++l) {
      switch (kind(rng)) {
        case 0: break;  // empty line
        case 1: s += "."; break;
        case 2: s += ".."; break;
        case 3: s += "." + std::string(static_cast<std::size_t>(len(rng)), 'd'); break;
        case 4: s += std::string(static_cast<std::size_t>(1000 + len(rng)), 'L'); break;
        case 5: s += "a\0b"s; break;
        case 6: s += "..." + std::string(static_cast<std::size_t>(len(rng)), '.'); break;
        default: s += std::string(static_cast<std::size_t>(len(rng)), 't') + ".x."; break;
      }
      if (l + 1 < n || percent(rng) < 70) s += "\r\n";
    }
    contents.push_back(s);
  }
  return contents;
}

// Content with bare CR and bare LF mixed in.
std::vector<std::string> generated_bare_contents(unsigned seed, int count) {
  static const std::vector<std::string> tokens = {"a", "..", ".", "\r\n", "\n", "\r", "\n.", "\r.", "\r\n.", "x.y"};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> pick(0, tokens.size() - 1);
  std::uniform_int_distribution<int> len(0, 20);
  std::vector<std::string> contents;
  for (int k = 0; k < count; ++k) {
    std::string s;
    const int n = len(rng);
    for (int t = 0; t < n; ++t) s += tokens[pick(rng)];
    contents.push_back(s);
  }
  return contents;
}

bool ends_with_crlf(std::string_view s) { return s.size() >= 2 && s.substr(s.size() - 2) == "\r\n"; }

// What a strict receiver delivers for content that the client finished: the
// content plus the CRLF that finish() adds when it is missing (4.1.1.4).
std::string with_final_crlf(std::string s) {
  if (!s.empty() && !ends_with_crlf(s)) s += "\r\n";
  return s;
}

// Every bare CR and bare LF replaced by CRLF (2.3.8).
std::string normalised(std::string_view s) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r') {
      r += "\r\n";
      if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
    } else if (s[i] == '\n') {
      r += "\r\n";
    } else {
      r += s[i];
    }
  }
  return r;
}

// stuff_after seen through a strict receiver: the extra dot after a bare CR or
// bare LF is not at a line start, so it stays.
std::string stuff_after_delivered(std::string_view s) {
  std::string r;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool after_bare_lf = i >= 1 && s[i - 1] == '\n' && !(i >= 2 && s[i - 2] == '\r');
    const bool after_cr = i >= 1 && s[i - 1] == '\r';
    if (s[i] == '.' && (after_bare_lf || after_cr)) r += '.';
    r += s[i];
  }
  return r;
}

// Encodes in random chunks with a fixed seed; the result must equal encode_data.
std::string encode_chunked(std::string_view content, data_encoder_options opt, std::mt19937& rng) {
  data_encoder enc(opt);
  std::string out;
  std::uniform_int_distribution<std::size_t> step(0, 7);
  std::size_t at = 0;
  while (at < content.size()) {
    const std::size_t n = std::min(step(rng), content.size() - at);
    enc.encode(content.substr(at, n), out);
    at += n;
  }
  enc.finish(out);
  return out;
}

const bare_line_endings k_all_modes[] = {bare_line_endings::to_crlf, bare_line_endings::stuff_after,
                                         bare_line_endings::verbatim};

TEST(DataRoundTrip, CrlfContentSurvivesEveryMode) {
  std::mt19937 rng(3207);
  for (const auto mode : k_all_modes) {
    for (const std::string& content : generated_crlf_contents(5321, 400)) {
      const std::string wire = encode_data(content, {.bare = mode});
      ASSERT_EQ(encode_chunked(content, {.bare = mode}, rng), wire);
      const decoded d = decode(wire);
      ASSERT_TRUE(d.end) << visible(content);
      ASSERT_EQ(d.consumed, wire.size());
      ASSERT_EQ(d.ended_by, A::count_);
      ASSERT_EQ(d.content, with_final_crlf(content)) << visible(content);
      EXPECT_FALSE(d.saw(A::bare_cr) || d.saw(A::bare_lf));
      ASSERT_EQ(decode_bytewise(wire), d);
    }
  }
}

TEST(DataRoundTrip, ToCrlfDeliversTheNormalisedContent) {
  std::mt19937 rng(1869);
  for (const std::string& content : generated_bare_contents(2821, 600)) {
    const std::string wire = encode_data(content);
    ASSERT_EQ(encode_chunked(content, {}, rng), wire);
    const decoded d = decode(wire, {.also_end_on = all_dot_sequences});
    ASSERT_EQ(d.consumed, wire.size()) << visible(content);
    ASSERT_EQ(d.ended_by, A::count_);
    ASSERT_EQ(d.content, with_final_crlf(normalised(content))) << visible(content);
    EXPECT_TRUE(d.anomalies.empty()) << visible(wire);  // conformant on the wire
  }
}

// stuff_after is safe: no look-alike survives, whatever a receiver ends data on.
TEST(DataRoundTrip, StuffAfterLeavesNoLookAlike) {
  std::mt19937 rng(6531);
  for (const std::string& content : generated_bare_contents(3030, 600)) {
    const std::string wire = encode_data(content, {.bare = bare_line_endings::stuff_after});
    ASSERT_EQ(encode_chunked(content, {.bare = bare_line_endings::stuff_after}, rng), wire);
    const decoded d = decode(wire, {.also_end_on = all_dot_sequences});
    ASSERT_EQ(d.consumed, wire.size()) << visible(content);
    ASSERT_EQ(d.ended_by, A::count_);
    for (std::size_t k = 0; k < data_anomaly_count; ++k)
      EXPECT_FALSE(is_dot_sequence(static_cast<data_anomaly>(k)) && d.counts[k] != 0) << visible(wire);
    ASSERT_EQ(d.content, with_final_crlf(stuff_after_delivered(content))) << visible(content);
  }
}

// verbatim round-trips exactly through a strict decoder, and shows why it is for
// tests only: some of its outputs end early at a lenient receiver.
TEST(DataRoundTrip, VerbatimIsExactForAStrictReceiver) {
  std::mt19937 rng(2920);
  int ends_early = 0;
  for (const std::string& content : generated_bare_contents(4954, 600)) {
    const std::string wire = encode_data(content, {.bare = bare_line_endings::verbatim});
    ASSERT_EQ(encode_chunked(content, {.bare = bare_line_endings::verbatim}, rng), wire);
    const decoded d = decode(wire);
    ASSERT_EQ(d.consumed, wire.size()) << visible(content);
    ASSERT_EQ(d.content, with_final_crlf(content)) << visible(content);
    if (decode(wire, {.also_end_on = all_dot_sequences}).consumed < wire.size()) ++ends_early;
  }
  EXPECT_GT(ends_early, 0);
}

}  // namespace
}  // namespace smtpspec::reference
