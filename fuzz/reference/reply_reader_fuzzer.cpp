// reply_reader_fuzzer: the one reader of server octets (reply_reader.hpp; RFC 5321
// 2.3.8, 4.2, 4.2.1, 4.5.3.1.5), fed the way a client reads a server.
//
// Input: [flags] [split 1] [split 2] then the octets a server sent (the layout of
// reply_parser_fuzzer, whose corpus this target replays).
//   flags bit 0: allow_any_code off; bit 1: allow_utf8 off; bit 2: max_lines = 3;
//         bit 3: max_line = 40; bit 4: strict framing (a bare LF ends no line).
// Invariants:
//  * the items do not depend on how the octets arrive: whole, cut at the two
//    split points, and one octet at a time give the same items (sans-I/O);
//  * put() consumes everything unless an item ends, then stops right after it;
//    the reader never holds more than max_line octets;
//  * items follow each other in stream order; a reply read well is exactly the
//    octets it was read from (to_wire()); codes, line counts and notes respect
//    the options; a code that was not read is 0.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "smtpspec/reference/reply_reader.hpp"

namespace {

using namespace smtpspec::reference;
using smtpspec::fuzz::fuzz_input;

std::vector<reply_item> run(const std::vector<std::string_view>& pieces, const reply_reader_options& opt) {
  reply_reader r(opt);
  std::vector<reply_item> out;
  for (std::string_view in : pieces) {
    while (!in.empty()) {
      const std::size_t n = r.put(in);
      FUZZ_CHECK(n <= in.size(), "put() consumes at most its input");
      if (r.ready()) {
        FUZZ_CHECK(r.item().end == r.offset(), "put() stops right after an item");
        out.push_back(r.take());
      } else {
        FUZZ_CHECK(n == in.size(), "without an item put() consumes everything");
      }
      FUZZ_CHECK(r.buffered() <= opt.max_line, "the reader holds at most max_line octets");
      in.remove_prefix(n);
    }
  }
  if (r.put_eof()) out.push_back(r.take());
  FUZZ_CHECK(!r.in_reply(), "after put_eof() no reply is under way");
  return out;
}

void check_items(const std::vector<reply_item>& items, std::string_view wire, const reply_reader_options& opt) {
  std::size_t last_end = 0;
  for (const reply_item& i : items) {
    FUZZ_CHECK(i.offset >= last_end && i.offset <= i.end && i.end <= wire.size(), "items are in stream order");
    last_end = i.end;
    FUZZ_CHECK(i.reply.lines.size() <= opt.max_lines, "at most max_lines lines are kept");
    FUZZ_CHECK(i.notes.size() <= 2 * opt.max_lines, "notes are bounded");
    FUZZ_CHECK(i.reply.code < 1000 && (i.has_code || i.reply.code == 0), "a code is three digits, or 0 when unread");
    for (const line_note& n : i.notes)
      FUZZ_CHECK(n.offset >= i.offset && n.offset + n.length <= i.end, "a note is about a line of its item");
    if (i.what == reply_item::kind::reply) {
      FUZZ_CHECK(i.has_code && i.error.code == error::ok, "a reply has its code and no error");
      if (!opt.allow_any_code) FUZZ_CHECK(i.reply.klass() >= 2 && i.reply.klass() <= 5, "codes 2yz to 5yz (4.2)");
      bool bare_lf = false;
      for (const line_note& n : i.notes) bare_lf = bare_lf || n.what == line_note::kind::bare_lf;
      if (!bare_lf)
        FUZZ_CHECK(i.reply.to_wire() == wire.substr(i.offset, i.end - i.offset),
                   "a reply is exactly the octets it was read from");
    } else {
      FUZZ_CHECK(i.error.code != error::ok && i.error.code != error::need_more, "a malformed item names its error");
      FUZZ_CHECK(i.error.offset >= i.offset && i.error.offset <= i.end, "the error lies inside its item");
      FUZZ_CHECK(i.what != reply_item::kind::frame_too_long || i.error.code == error::line_too_long,
                 "frame_too_long is line_too_long");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_input in(data, size);
  const std::uint8_t flags = in.byte();
  const std::uint8_t cut1 = in.byte(), cut2 = in.byte();
  const std::string_view wire = in.rest();

  reply_reader_options opt;
  opt.allow_any_code = !(flags & 1u);
  opt.allow_utf8 = !(flags & 2u);
  if (flags & 4u) opt.max_lines = 3;
  if (flags & 8u) opt.max_line = 40;
  opt.lf_ends_line = !(flags & 16u);

  const auto whole = run({wire}, opt);
  check_items(whole, wire, opt);
  const auto pieces = smtpspec::fuzz::split_by(wire, cut1, cut2);
  FUZZ_CHECK(run(pieces, opt) == whole, "the same octets split differently give the same items");
  if (wire.size() <= 4096) {
    const auto octets = smtpspec::fuzz::octets_of(wire);
    FUZZ_CHECK(run(octets, opt) == whole, "one octet at a time gives the same items");
  }
  return 0;
}
