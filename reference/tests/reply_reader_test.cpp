// reply_reader (reply_reader.hpp): server octets to replies, malformed replies,
// line notes and frames too long; and the grind test (after Beast's parsegrind):
// every recorded transcript, split at every offset and fed one octet at a time,
// gives exactly the same items.
#include "smtpspec/reference/reply_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace smtpspec::reference {
namespace {

using kind = reply_item::kind;

/// Feeds `pieces` in order, as reads from a socket would arrive, and collects
/// every item; put_eof() at the end when `eof`. Checks the put() contract on the way.
std::vector<reply_item> read_pieces(reply_reader& r, const std::vector<std::string_view>& pieces, bool eof = true) {
  std::vector<reply_item> out;
  for (std::string_view in : pieces) {
    while (!in.empty()) {
      const std::size_t n = r.put(in);
      EXPECT_LE(n, in.size());
      if (r.ready()) {
        EXPECT_EQ(r.item().end, r.offset()) << "put() stops right after the item's last octet";
        out.push_back(r.take());
        EXPECT_FALSE(r.ready());
      } else {
        EXPECT_EQ(n, in.size()) << "without an item put() consumes everything";
      }
      in.remove_prefix(n);
    }
  }
  if (eof && r.put_eof()) out.push_back(r.take());
  EXPECT_FALSE(r.in_reply());
  return out;
}

std::vector<reply_item> read_all(std::string_view wire, reply_reader_options opt = {}, bool eof = true) {
  reply_reader r(opt);
  return read_pieces(r, {wire}, eof);
}

std::vector<std::string> lines(std::initializer_list<const char*> l) { return {l.begin(), l.end()}; }

// ---- well-formed replies -------------------------------------------------------------

TEST(reply_reader, single_line_reply) {
  const auto items = read_all("250 2.1.0 Ok\r\n");
  ASSERT_EQ(items.size(), 1u);
  const reply_item& i = items[0];
  EXPECT_EQ(i.what, kind::reply);
  EXPECT_TRUE(i.well_formed());
  EXPECT_TRUE(i.has_code);
  EXPECT_EQ(i.reply.code, 250);
  EXPECT_EQ(i.reply.lines, lines({"2.1.0 Ok"}));
  ASSERT_TRUE(i.reply.status.has_value());
  EXPECT_EQ(i.reply.status->subject, 1);
  EXPECT_EQ(i.error.code, error::ok);
  EXPECT_EQ(i.offset, 0u);
  EXPECT_EQ(i.end, 14u);
  EXPECT_TRUE(i.notes.empty());
}

TEST(reply_reader, multi_line_reply_is_one_item) {
  const std::string wire = "250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n";
  const auto items = read_all(wire);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].what, kind::reply);
  EXPECT_EQ(items[0].reply.lines, lines({"mail.example.org", "PIPELINING", "SIZE 10240000", "8BITMIME"}));
  EXPECT_EQ(items[0].end, wire.size());
  EXPECT_EQ(items[0].reply.to_wire(), wire);
}

TEST(reply_reader, put_stops_right_after_each_reply) {
  // RFC 3207 4.2: what follows a 220 to STARTTLS is the caller's to discard; the
  // reader must not have read it.
  const std::string wire = "220 2.0.0 Ready to start TLS\r\n250 injected\r\n";
  reply_reader r;
  const std::size_t n = r.put(wire);
  EXPECT_EQ(n, 30u);
  ASSERT_TRUE(r.ready());
  EXPECT_EQ(r.item().reply.code, 220);
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_FALSE(r.in_reply());
  // The caller drops the rest unread and says so; offsets stay stream offsets.
  r.reset(wire.size() - n);
  EXPECT_FALSE(r.ready());
  EXPECT_EQ(r.put("250 in TLS\r\n"), 12u);
  ASSERT_TRUE(r.ready());
  EXPECT_EQ(r.item().reply.lines, lines({"in TLS"}));
  EXPECT_EQ(r.item().offset, wire.size());
}

TEST(reply_reader, put_consumes_everything_when_no_reply_ends) {
  reply_reader r;
  EXPECT_EQ(r.put("250-a\r\n25"), 9u);
  EXPECT_FALSE(r.ready());
  EXPECT_TRUE(r.in_reply());
  EXPECT_EQ(r.buffered(), 2u);
  EXPECT_EQ(r.put("0 b\r\n221 c\r\n"), 5u);
  ASSERT_TRUE(r.ready());
  EXPECT_EQ(r.item().reply.lines, lines({"a", "b"}));
}

TEST(reply_reader, item_can_be_read_in_place_and_is_dropped_by_the_next_put) {
  reply_reader r;
  EXPECT_EQ(r.put("250-x\r\n250 y\r\n"), 14u);
  ASSERT_TRUE(r.ready());
  EXPECT_EQ(r.item().reply.lines.size(), 2u);
  EXPECT_EQ(r.put("451 z\r\n"), 7u);  // without take(): storage is reused
  ASSERT_TRUE(r.ready());
  EXPECT_EQ(r.item().reply.code, 451);
  EXPECT_EQ(r.item().reply.lines, lines({"z"}));
  EXPECT_FALSE(r.item().reply.status.has_value());
  EXPECT_EQ(r.item().offset, 14u);
  EXPECT_EQ(r.put(""), 0u);
  EXPECT_FALSE(r.ready());
}

TEST(reply_reader, bare_code_with_and_without_sp) {
  // 4.2: servers SHOULD send "250 " ; clients MUST accept "250" alone.
  const auto items = read_all("250\r\n250 \r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::reply);
  EXPECT_TRUE(items[0].reply.missing_sp);
  EXPECT_TRUE(items[0].reply.bare());
  EXPECT_EQ(items[1].what, kind::reply);
  EXPECT_FALSE(items[1].reply.missing_sp);
  EXPECT_EQ(items[1].offset, 5u);
}

TEST(reply_reader, any_code_and_utf8_are_read_by_default) {
  const auto items = read_all("600 out of range\r\n250 caf\xc3\xa9\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::reply);
  EXPECT_EQ(items[0].reply.code, 600);
  EXPECT_EQ(items[1].what, kind::reply);
  EXPECT_TRUE(items[1].reply.utf8);
}

TEST(reply_reader, strict_options_reject_what_the_defaults_read) {
  reply_reader_options o;
  o.allow_any_code = false;
  o.allow_utf8 = false;
  const auto items = read_all("600 out of range\r\n250 caf\xc3\xa9\r\n", o);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error, (parse_error{error::reply_code_out_of_range, 0}));
  EXPECT_TRUE(items[0].has_code);
  EXPECT_EQ(items[0].reply.code, 600);
  EXPECT_EQ(items[1].what, kind::malformed);
  EXPECT_EQ(items[1].error, (parse_error{error::bad_reply_text, 18 + 7}));
  EXPECT_EQ(items[1].reply.code, 250);
}

// ---- line notes ------------------------------------------------------------------------

TEST(reply_reader, bare_lf_ends_a_line_with_a_note) {
  const auto items = read_all("250-a\n250 b\r\n220 c\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::reply);
  EXPECT_EQ(items[0].reply.lines, lines({"a", "b"}));
  EXPECT_EQ(items[0].notes, (std::vector<line_note>{{line_note::kind::bare_lf, 0, 6}}));
  EXPECT_EQ(items[1].notes, (std::vector<line_note>{{line_note::kind::bare_lf, 13, 6}}));
  EXPECT_EQ(items[1].end, 19u);
}

TEST(reply_reader, strict_framing_keeps_a_bare_lf_inside_the_line) {
  reply_reader_options o;
  o.lf_ends_line = false;
  const auto items = read_all("250 a\nb\r\n", o);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error, (parse_error{error::bad_reply_text, 5}));
  EXPECT_EQ(items[0].line, "250 a\nb");
  EXPECT_TRUE(items[0].notes.empty());
}

TEST(reply_reader, a_line_over_512_octets_is_noted_with_its_length) {
  // 4.5.3.1.5: 512 octets with the CRLF is the limit; 512 is fine, 513 is noted.
  const std::string ok = "250 " + std::string(506, 'x') + "\r\n";
  const std::string over = "250-" + std::string(507, 'y') + "\r\n";
  ASSERT_EQ(ok.size(), 512u);
  const auto items = read_all(ok + over + "250 z\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_TRUE(items[0].notes.empty());
  EXPECT_EQ(items[1].what, kind::reply);
  EXPECT_EQ(items[1].notes, (std::vector<line_note>{{line_note::kind::long_line, 512, 513}}));
}

TEST(reply_reader, both_notes_on_one_line) {
  const std::string wire = "250 " + std::string(600, 'x') + "\n";
  const auto items = read_all(wire);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].notes, (std::vector<line_note>{{line_note::kind::bare_lf, 0, 605},
                                                    {line_note::kind::long_line, 0, 605}}));
}

// ---- malformed replies -------------------------------------------------------------------

TEST(reply_reader, malformed_first_line_without_a_code) {
  const auto items = read_all("hello\r\n250 ok\r\n");
  ASSERT_EQ(items.size(), 2u);
  const reply_item& m = items[0];
  EXPECT_EQ(m.what, kind::malformed);
  EXPECT_FALSE(m.well_formed());
  EXPECT_FALSE(m.has_code);
  EXPECT_EQ(m.reply.code, 0);
  EXPECT_EQ(m.reply.lines, lines({"hello"}));
  EXPECT_EQ(m.error, (parse_error{error::bad_reply_code, 0}));
  EXPECT_EQ(m.line, "hello");
  EXPECT_EQ(m.end, 7u);
  // One stray line answers one command; the next reply is read as usual.
  EXPECT_EQ(items[1].what, kind::reply);
  EXPECT_EQ(items[1].offset, 7u);
}

TEST(reply_reader, missing_separator_keeps_the_code) {
  const auto items = read_all("250OK\r\n2500 four digits\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error, (parse_error{error::bad_reply_separator, 3}));
  EXPECT_TRUE(items[0].has_code);
  EXPECT_EQ(items[0].reply.code, 250);
  EXPECT_EQ(items[0].reply.lines, lines({"250OK"}));  // no separator: the whole line
  EXPECT_EQ(items[1].error, (parse_error{error::bad_reply_code, 7 + 3}));
  EXPECT_EQ(items[1].reply.code, 250);
}

TEST(reply_reader, eight_bit_text_keeps_a_readable_code) {
  // Review A1.15: Exim echoes 8-bit octets of the command into its reply. The
  // reply is a 501 with bad text, not "reply code 0".
  const std::string wire = "501 <sen\x9c\x9a>: sender address must contain a domain\r\n";
  const auto items = read_all(wire);
  ASSERT_EQ(items.size(), 1u);
  const reply_item& m = items[0];
  EXPECT_EQ(m.what, kind::malformed);
  EXPECT_TRUE(m.has_code);
  EXPECT_EQ(m.reply.code, 501);
  EXPECT_EQ(m.reply.klass(), 5);
  EXPECT_EQ(m.reply.lines, lines({"<sen\x9c\x9a>: sender address must contain a domain"}));
  EXPECT_EQ(m.error, (parse_error{error::bad_utf8, 8}));
  EXPECT_EQ(m.end, wire.size());
}

TEST(reply_reader, malformed_text_keeps_the_enhanced_status) {
  const auto items = read_all("500 5.5.1 Command unrecognized: \".\rEHLO x\"\r\n");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error.code, error::bad_reply_text);
  EXPECT_EQ(items[0].error.offset, 34u);
  ASSERT_TRUE(items[0].reply.status.has_value());
  EXPECT_EQ(items[0].reply.status->to_string(), "5.5.1");
}

TEST(reply_reader, malformed_continuation_skips_to_the_last_line) {
  const std::string wire = "250-a\r\n250-b\x01\r\n250-c\r\n250 d\r\n221 bye\r\n";
  const auto items = read_all(wire);
  ASSERT_EQ(items.size(), 2u);
  const reply_item& m = items[0];
  EXPECT_EQ(m.what, kind::malformed);
  EXPECT_EQ(m.reply.code, 250);
  EXPECT_EQ(m.reply.lines, lines({"a", "b\x01", "c", "d"}));
  EXPECT_EQ(m.error, (parse_error{error::bad_reply_text, 7 + 5}));
  EXPECT_EQ(m.line, "250-b\x01");
  EXPECT_EQ(m.offset, 0u);
  EXPECT_EQ(m.end, 29u);
  // The next reply lines up with the next command.
  EXPECT_EQ(items[1].what, kind::reply);
  EXPECT_EQ(items[1].reply.code, 221);
  EXPECT_EQ(items[1].offset, 29u);
}

TEST(reply_reader, malformed_first_line_with_dash_skips_to_the_last_line) {
  const auto items = read_all("250-caf\xff\r\n250-x\r\n250 y\r\n354 go\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error, (parse_error{error::bad_utf8, 7}));
  EXPECT_EQ(items[0].reply.lines, lines({"caf\xff", "x", "y"}));
  EXPECT_EQ(items[1].reply.code, 354);
}

TEST(reply_reader, a_stray_line_inside_a_multi_line_reply_does_not_end_it) {
  // A line split by a stray LF (or any line without a code) inside a multi-line
  // reply: only a line of the last line's form ends the reply.
  const auto items = read_all("250-first\r\ncontinued\r\n250-more\r\n250 last\r\n221 bye\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error, (parse_error{error::bad_reply_code, 11}));
  EXPECT_EQ(items[0].reply.lines, lines({"first", "continued", "more", "last"}));
  EXPECT_EQ(items[1].reply.code, 221);
}

TEST(reply_reader, malformed_last_line_ends_the_reply) {
  const auto items = read_all("250-a\r\n250 b\x7f\r\n221 c\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error, (parse_error{error::bad_reply_text, 7 + 5}));
  EXPECT_EQ(items[0].end, 15u);
  EXPECT_EQ(items[1].reply.code, 221);
}

TEST(reply_reader, bare_code_ends_a_resync) {
  const auto items = read_all("250-\x01\r\n250\r\n221 c\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].reply.lines, lines({"\x01", ""}));
  EXPECT_EQ(items[0].end, 12u);
}

TEST(reply_reader, code_change_on_the_last_line) {
  // 4.2.1: every line of a multi-line reply carries the same code.
  const auto items = read_all("250-a\r\n251 b\r\n");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error, (parse_error{error::reply_code_changed, 7}));
  EXPECT_EQ(items[0].reply.code, 250);  // the first line's
  EXPECT_EQ(items[0].reply.lines, lines({"a", "b"}));
}

TEST(reply_reader, code_change_in_a_continuation_skips_to_the_last_line) {
  const auto items = read_all("250-a\r\n251-b\r\n250 c\r\n221 d\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].error, (parse_error{error::reply_code_changed, 7}));
  EXPECT_EQ(items[0].reply.lines, lines({"a", "b", "c"}));
  EXPECT_EQ(items[0].end, 21u);
  EXPECT_EQ(items[1].reply.code, 221);
}

TEST(reply_reader, notes_of_skipped_lines_belong_to_the_malformed_reply) {
  const auto items = read_all("250-\x01\r\n250-b\n250 c\r\n");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].notes, (std::vector<line_note>{{line_note::kind::bare_lf, 7, 6}}));
}

TEST(reply_reader, too_many_lines_keeps_max_lines_and_reads_to_the_end) {
  reply_reader_options o;
  o.max_lines = 3;
  const auto items = read_all("250-1\r\n250-2\r\n250-3\r\n250-4\r\n250 5\r\n221 x\r\n", o);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::malformed);
  EXPECT_EQ(items[0].error, (parse_error{error::too_many_reply_lines, 21}));
  EXPECT_EQ(items[0].reply.lines, lines({"1", "2", "3"}));
  EXPECT_EQ(items[0].end, 35u);
  EXPECT_EQ(items[1].reply.code, 221);
}

// ---- frames too long ----------------------------------------------------------------------

reply_reader_options small_frame() {
  reply_reader_options o;
  o.max_line = 64;
  return o;
}

TEST(reply_reader, frame_too_long_is_reported_at_the_octet_past_the_bound) {
  const std::string wire = "250 " + std::string(100, 'x') + "\r\n220 next\r\n";
  reply_reader r(small_frame());
  EXPECT_EQ(r.put(wire), 65u);  // reported at once, not at the line end
  ASSERT_TRUE(r.ready());
  const reply_item& i = r.item();
  EXPECT_EQ(i.what, kind::frame_too_long);
  EXPECT_EQ(i.error, (parse_error{error::line_too_long, 64}));
  EXPECT_TRUE(i.has_code);
  EXPECT_EQ(i.reply.code, 250);
  EXPECT_TRUE(i.reply.lines.empty());
  EXPECT_EQ(i.line, wire.substr(0, 64));  // its head, for the report
  EXPECT_EQ(i.offset, 0u);
  EXPECT_EQ(i.end, 65u);
  // Then: the rest of the line is discarded, the next line is a new reply.
  const auto rest = read_pieces(r, {std::string_view(wire).substr(65)});
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].reply.code, 220);
  EXPECT_EQ(rest[0].offset, 106u);
}

TEST(reply_reader, an_endless_line_is_reported_once_in_bounded_memory) {
  reply_reader r(small_frame());
  const std::string chunk(1000, 'z');
  std::vector<reply_item> items;
  for (int k = 0; k < 1000; ++k) {
    std::string_view in = chunk;
    while (!in.empty()) {
      in.remove_prefix(r.put(in));
      if (r.ready()) items.push_back(r.take());
    }
    EXPECT_LE(r.buffered(), 64u);
  }
  EXPECT_FALSE(r.put_eof());
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].what, kind::frame_too_long);
  EXPECT_FALSE(items[0].has_code);
  EXPECT_EQ(r.offset(), 1000u * 1000u);
}

TEST(reply_reader, too_long_continuation_discards_its_reply) {
  const std::string wire = "250-" + std::string(100, 'x') + "\r\n250-y\r\n250 z\r\n221 bye\r\n";
  const auto items = read_all(wire, small_frame());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::frame_too_long);
  EXPECT_EQ(items[1].what, kind::reply);
  EXPECT_EQ(items[1].reply.code, 221);
}

TEST(reply_reader, too_long_line_inside_a_reply_keeps_the_lines_before_it) {
  const std::string wire = "250-a\r\n250 " + std::string(100, 'x') + "\r\n221 bye\r\n";
  const auto items = read_all(wire, small_frame());
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::frame_too_long);
  EXPECT_EQ(items[0].reply.lines, lines({"a"}));
  EXPECT_EQ(items[0].offset, 0u);
  EXPECT_EQ(items[0].error.offset, 7u + 64u);
  EXPECT_EQ(items[1].reply.code, 221);  // "250 " was the last line: nothing more skipped
}

TEST(reply_reader, too_long_line_split_inside_its_head) {
  // The head ("250-") arrives in pieces before the line turns out too long.
  const std::string wire = "250-" + std::string(100, 'x') + "\r\n250 end\r\n221 bye\r\n";
  reply_reader r(small_frame());
  const auto items = read_pieces(r, {wire.substr(0, 2), wire.substr(2, 1), wire.substr(3)});
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].what, kind::frame_too_long);
  EXPECT_EQ(items[0].reply.code, 250);
  EXPECT_EQ(items[1].reply.code, 221);
}

TEST(reply_reader, notes_of_the_frame_bound_itself) {
  // A line of exactly max_line octets is read; one more is too long.
  reply_reader_options o = small_frame();
  const std::string fits = "250 " + std::string(58, 'a') + "\r\n";
  ASSERT_EQ(fits.size(), 64u);
  auto items = read_all(fits, o);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].what, kind::reply);
  items = read_all("250 " + std::string(59, 'a') + "\r\n", o);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].what, kind::frame_too_long);
}

// ---- end of stream -----------------------------------------------------------------------

TEST(reply_reader, eof_mid_line_is_a_truncated_reply) {
  const auto items = read_all("250-a\r\n250 b");
  ASSERT_EQ(items.size(), 1u);
  const reply_item& m = items[0];
  EXPECT_EQ(m.what, kind::malformed);
  EXPECT_EQ(m.error, (parse_error{error::truncated_reply, 12}));
  EXPECT_TRUE(m.has_code);
  EXPECT_EQ(m.reply.lines, lines({"a", "b"}));
  EXPECT_EQ(m.line, "250 b");
  EXPECT_EQ(m.offset, 0u);
  EXPECT_EQ(m.end, 12u);
}

TEST(reply_reader, eof_after_continuation_lines_is_a_truncated_reply) {
  const auto items = read_all("220 hi\r\n250-a\r\n250-b\r\n");
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].what, kind::malformed);
  EXPECT_EQ(items[1].error, (parse_error{error::truncated_reply, 22}));
  EXPECT_EQ(items[1].reply.lines, lines({"a", "b"}));
  EXPECT_EQ(items[1].line, "");
  EXPECT_EQ(items[1].offset, 8u);
}

TEST(reply_reader, eof_on_a_first_partial_line) {
  auto items = read_all("25");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_FALSE(items[0].has_code);
  EXPECT_EQ(items[0].error, (parse_error{error::truncated_reply, 2}));
  items = read_all("221 bye\r");  // a CR without its LF: the line text leaves it out
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].reply.code, 221);
  EXPECT_EQ(items[0].reply.lines, lines({"bye"}));
  EXPECT_EQ(items[0].line, "221 bye");
}

TEST(reply_reader, eof_while_skipping_keeps_the_first_error) {
  const auto items = read_all("250-\x01\r\n250-b\r\n250-c");
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].error, (parse_error{error::bad_reply_text, 4}));
  EXPECT_EQ(items[0].reply.lines, lines({"\x01", "b", "c"}));
  EXPECT_EQ(items[0].end, 19u);
}

TEST(reply_reader, eof_between_replies_or_after_a_long_frame_gives_nothing) {
  EXPECT_TRUE(read_all("250 ok\r\n").size() == 1u);
  reply_reader r(small_frame());
  EXPECT_FALSE(r.put_eof());
  (void)r.put(std::string(100, 'x'));
  ASSERT_TRUE(r.ready());
  (void)r.put(std::string(100, 'x'));
  EXPECT_FALSE(r.in_reply());
  EXPECT_FALSE(r.put_eof());
}

TEST(reply_reader, reader_starts_afresh_after_eof) {
  reply_reader r;
  EXPECT_EQ(r.put("250-a\r\n"), 7u);
  EXPECT_TRUE(r.put_eof());
  EXPECT_EQ(r.put("250 b\r\n"), 7u);
  ASSERT_TRUE(r.ready());
  EXPECT_EQ(r.item().what, kind::reply);
  EXPECT_EQ(r.item().reply.lines, lines({"b"}));
  EXPECT_EQ(r.item().offset, 7u);
}

// ---- the grind: every recorded transcript, split every way ---------------------------------

/// Server octets of a transcript, as segments (a new segment after TLS starts:
/// the reader is reset there, as a client does, RFC 3207 4.2), the options to read
/// them with, and the item log the file expects (if it states one).
struct transcript_file {
  std::string name;
  std::vector<std::string> segments{1};
  reply_reader_options opt;
  std::vector<std::string> expected;
};

/// Undoes harness::visible() (transcript.hpp): \r \n \0 \t \\ and \xHH.
std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    if (c == 'r') out += '\r';
    else if (c == 'n') out += '\n';
    else if (c == '0') out += '\0';
    else if (c == 't') out += '\t';
    else if (c == 'x' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

/// Reads a transcript. `rfc_lines`: the RFC 5321 Appendix D form ("S: text", each
/// line ending in CRLF). Otherwise transcript::to_text() form (the octets through
/// visible(), line ends included), so a transcript smtpspec recorded can be
/// dropped in as it is; there "-- TLS started" starts a new segment, "#!" lines
/// set options (max_line=N max_lines=N allow_any_code=0/1 allow_utf8=0/1
/// lf_ends_line=0/1) and "=> " lines give the expected item log.
transcript_file load(const std::filesystem::path& p, bool rfc_lines) {
  transcript_file t;
  t.name = p.filename().string();
  std::ifstream in(p, std::ios::binary);
  EXPECT_TRUE(in.good()) << p;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("S: ", 0) == 0 || line == "S:") {
      const std::string_view text = std::string_view(line).substr(std::min<std::size_t>(3, line.size()));
      if (rfc_lines) t.segments.back() += std::string(text) + "\r\n";
      else t.segments.back() += unescape(text);
    } else if (line.rfind("-- TLS started", 0) == 0) {
      t.segments.emplace_back();
    } else if (line.rfind("=> ", 0) == 0) {
      t.expected.push_back(line.substr(3));
    } else if (line.rfind("#!", 0) == 0) {
      std::istringstream opts(line.substr(2));
      std::string kv;
      while (opts >> kv) {
        const auto eq = kv.find('=');
        const std::string k = kv.substr(0, eq);
        const std::size_t v = std::stoul(kv.substr(eq + 1));
        if (k == "max_line") t.opt.max_line = v;
        else if (k == "max_lines") t.opt.max_lines = v;
        else if (k == "allow_any_code") t.opt.allow_any_code = v != 0;
        else if (k == "allow_utf8") t.opt.allow_utf8 = v != 0;
        else if (k == "lf_ends_line") t.opt.lf_ends_line = v != 0;
        else ADD_FAILURE() << p << ": unknown option " << k;
      }
    }
  }
  return t;
}

/// One line per item: kind, code ("---" when none was read), error@offset, the
/// item's offsets, line count, notes.
std::string describe(const reply_item& i) {
  std::string s = i.what == kind::reply ? "reply" : i.what == kind::malformed ? "malformed" : "frame_too_long";
  s += ' ';
  s += i.has_code ? std::to_string(i.reply.code) : "---";
  if (i.error.code != error::ok) s += " " + std::string(to_string(i.error.code)) + "@" + std::to_string(i.error.offset);
  s += " off=" + std::to_string(i.offset) + " end=" + std::to_string(i.end) +
       " lines=" + std::to_string(i.reply.lines.size());
  for (const auto& n : i.notes)
    s += std::string(n.what == line_note::kind::bare_lf ? " bare_lf@" : " long_line@") + std::to_string(n.offset) +
         "+" + std::to_string(n.length);
  return s;
}

/// Reads the segments, each cut into pieces by `cut`; reset() between segments.
template <class Cut>
std::vector<reply_item> read_transcript(const transcript_file& t, Cut cut) {
  reply_reader r(t.opt);
  std::vector<reply_item> out;
  for (std::size_t k = 0; k < t.segments.size(); ++k) {
    if (k > 0) r.reset();
    const bool last = k + 1 == t.segments.size();
    auto items = read_pieces(r, cut(k, std::string_view(t.segments[k])), last);
    std::move(items.begin(), items.end(), std::back_inserter(out));
  }
  return out;
}

std::vector<transcript_file> all_transcripts() {
  namespace fs = std::filesystem;
  const fs::path data = SMTPSPEC_REFERENCE_TEST_DATA;
  std::vector<transcript_file> out;
  std::vector<fs::path> rfc, recorded;
  for (const auto& e : fs::directory_iterator(data))
    if (e.is_regular_file() && e.path().filename().string().rfind("appendix_d", 0) == 0) rfc.push_back(e.path());
  for (const auto& e : fs::directory_iterator(data / "replies"))
    if (e.is_regular_file() && e.path().extension() != ".md") recorded.push_back(e.path());
  std::sort(rfc.begin(), rfc.end());
  std::sort(recorded.begin(), recorded.end());
  for (const auto& p : rfc) out.push_back(load(p, true));
  for (const auto& p : recorded) out.push_back(load(p, false));
  return out;
}

TEST(reply_reader_grind, every_transcript_reads_the_same_however_it_is_split) {
  const auto files = all_transcripts();
  ASSERT_GE(files.size(), 15u);  // 5 from RFC 5321 Appendix D, the rest in replies/
  std::size_t splits = 0;
  for (const auto& t : files) {
    SCOPED_TRACE(t.name);
    const auto whole = read_transcript(t, [](std::size_t, std::string_view s) { return std::vector{s}; });
    ASSERT_FALSE(whole.empty());
    // Each file under replies/ states its item log, except recorded-* ones (dropped
    // in from real runs: they are only ground).
    const bool needs_log = t.name.rfind("appendix_d", 0) != 0 && t.name.rfind("recorded-", 0) != 0;
    std::string log;
    for (const auto& i : whole) log += "=> " + describe(i) + "\n";
    EXPECT_TRUE(!needs_log || !t.expected.empty()) << "no item log; the reader gives:\n" << log;
    if (!t.expected.empty()) {
      std::string want;
      for (const auto& e : t.expected) want += "=> " + e + "\n";
      EXPECT_EQ(log, want);
    }
    // One octet at a time.
    const auto octets = read_transcript(t, [](std::size_t, std::string_view s) {
      std::vector<std::string_view> v;
      for (std::size_t i = 0; i < s.size(); ++i) v.push_back(s.substr(i, 1));
      return v;
    });
    EXPECT_EQ(octets, whole) << "fed one octet at a time";
    // Every segment cut in two at every offset.
    for (std::size_t seg = 0; seg < t.segments.size(); ++seg) {
      for (std::size_t at = 0; at <= t.segments[seg].size(); ++at) {
        ++splits;
        const auto split = read_transcript(t, [&](std::size_t k, std::string_view s) {
          if (k != seg) return std::vector{s};
          return std::vector{s.substr(0, at), s.substr(at)};
        });
        ASSERT_EQ(split, whole) << "cut at offset " << at << " of segment " << seg;
      }
    }
  }
  std::size_t octets = 0, segments = 0;
  for (const auto& t : files)
    for (const auto& s : t.segments) octets += s.size(), ++segments;
  EXPECT_EQ(splits, octets + segments);  // every offset of every segment, both ends included
  EXPECT_GT(octets, 4000u);
}

TEST(reply_reader_grind, appendix_d_replies_are_all_well_formed) {
  for (const auto& t : all_transcripts()) {
    if (t.name.rfind("appendix_d", 0) != 0) continue;
    SCOPED_TRACE(t.name);
    const auto items = read_transcript(t, [](std::size_t, std::string_view s) { return std::vector{s}; });
    ASSERT_FALSE(items.empty());
    for (const auto& i : items) {
      EXPECT_EQ(i.what, kind::reply) << describe(i);
      EXPECT_TRUE(i.notes.empty());
    }
    EXPECT_EQ(items.front().reply.code, 220);
    EXPECT_EQ(items.back().reply.code, 221);
  }
}

}  // namespace
}  // namespace smtpspec::reference
