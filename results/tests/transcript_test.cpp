// The transcript: order and kinds of events, exact escaping, and the bound.
#include "smtpspec/results/transcript.hpp"

#include <gtest/gtest.h>

#include <string>

#include "smtpspec/results/visible.hpp"

namespace smtpspec::results {
namespace {

using kind = transcript_event::kind;

TEST(Visible, PrintableAsciiIsUnchanged) { EXPECT_EQ(visible("EHLO client.example 250 OK ~!"), "EHLO client.example 250 OK ~!"); }

TEST(Visible, EscapesLineEndsNulAndControls) {
  using namespace std::string_literals;
  EXPECT_EQ(visible("a\r\nb"), "a\\r\\nb");
  EXPECT_EQ(visible("x\0y"s), "x\\0y");
  EXPECT_EQ(visible("\t\x1b\x7f"), "\\t\\x1b\\x7f");
}

TEST(Visible, EscapesEightBitOctets) { EXPECT_EQ(visible("\xff\x80\xc3\xa9"), "\\xff\\x80\\xc3\\xa9"); }

TEST(Visible, BackslashIsEscapedSoTextCannotImitateAnEscape) {
  // A peer sending the four characters \ r \ n must not look like CR LF.
  EXPECT_EQ(visible("\\r\\n"), "\\\\r\\\\n");
  EXPECT_NE(visible("\\r"), visible("\r"));
}

TEST(Transcript, RecordsEventsInOrderWithTimes) {
  transcript t;
  t.client("EHLO x\r\n");
  t.server("250 ok\r\n");
  t.tls_started("TLSv1.3");
  t.note("step 2");
  t.closed("by peer");
  const auto& e = t.events();
  ASSERT_EQ(e.size(), 5u);
  EXPECT_EQ(e[0].what, kind::client_bytes);
  EXPECT_EQ(e[0].bytes, "EHLO x\r\n");
  EXPECT_EQ(e[1].what, kind::server_bytes);
  EXPECT_EQ(e[2].what, kind::tls_started);
  EXPECT_EQ(e[2].bytes, "TLSv1.3");
  EXPECT_EQ(e[3].what, kind::note);
  EXPECT_EQ(e[4].what, kind::closed);
  for (std::size_t i = 1; i < e.size(); ++i) EXPECT_LE(e[i - 1].at, e[i].at);
  EXPECT_FALSE(t.truncated());
  EXPECT_EQ(t.dropped_octets(), 0u);
}

TEST(Transcript, KeepsBinaryOctetsExactly) {
  using namespace std::string_literals;
  transcript t;
  const std::string smuggle = "x\r\n.\n\0\xff"s;
  t.client(smuggle);
  ASSERT_EQ(t.events().size(), 1u);
  EXPECT_EQ(t.events()[0].bytes, smuggle);
}

TEST(Transcript, ToTextPrefixesEachLineAndShowsLineEnds) {
  transcript t;
  t.client("EHLO x\r\n");
  t.server("250-a\r\n250 b\r\n");
  t.tls_started("TLSv1.3");
  t.closed("by peer");
  EXPECT_EQ(t.to_text(),
            "C: EHLO x\\r\\n\n"
            "S: 250-a\\r\\n\n"
            "S: 250 b\\r\\n\n"
            "-- TLS started: TLSv1.3\n"
            "-- closed: by peer\n");
}

TEST(Transcript, ToTextShowsBareLfInsideALine) {
  transcript t;
  t.client("a\nb\r\n");
  EXPECT_EQ(t.to_text(), "C: a\\n\nC: b\\r\\n\n");
}

TEST(Transcript, TruncatesAtTheLimit) {
  const std::size_t limit = 2 * transcript::event_overhead + 100;
  transcript t(limit);
  t.client(std::string(60, 'a'));
  EXPECT_FALSE(t.truncated());
  t.server(std::string(60, 'b'));  // only 40 octets fit
  EXPECT_TRUE(t.truncated());
  t.client(std::string(1000, 'c'));
  t.note("dropped too");
  ASSERT_EQ(t.events().size(), 2u);
  EXPECT_EQ(t.events()[0].bytes.size(), 60u);
  EXPECT_EQ(t.events()[1].bytes, std::string(40, 'b'));
  EXPECT_EQ(t.dropped_octets(), 20u + 1000u + 11u);
  EXPECT_LE(t.kept(), t.limit());
  EXPECT_NE(t.to_text().find("truncated"), std::string::npos);
}

TEST(Transcript, StillSaysHowTheConnectionEndedAfterTruncation) {
  transcript t(transcript::event_overhead + 10);
  t.server(std::string(100, 'x'));
  ASSERT_TRUE(t.truncated());
  t.closed("reset by peer");
  ASSERT_FALSE(t.events().empty());
  EXPECT_EQ(t.events().back().what, kind::closed);
}

TEST(Transcript, ManyTinyEventsStayBounded) {
  // A peer trickling one octet at a time: the per-event overhead is charged, so the
  // number of events is bounded too, not only the octets.
  const std::size_t limit = 64 * 1024;
  transcript t(limit);
  for (int i = 0; i < 100000; ++i) t.server("x");
  EXPECT_TRUE(t.truncated());
  EXPECT_LE(t.events().size(), limit / transcript::event_overhead + 8);
  EXPECT_LE(t.kept(), limit);
  EXPECT_GT(t.dropped_octets(), 0u);
}

}  // namespace
}  // namespace smtpspec::results
