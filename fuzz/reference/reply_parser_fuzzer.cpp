// reply_parser_fuzzer: the incremental reply parser (RFC 5321 4.2, 4.2.1,
// 4.5.3.1.5; RFC 3463 2) fed by the line framer (line_reader, 2.3.8), the way a
// client reads a server.
//
// Input: [flags] [split 1] [split 2] then the octets a server sent.
//   flags bit 0: allow_any_code; bit 1: allow_utf8; bit 2: max_lines = 3;
//         bit 3: max_line_length = 40; bit 4: the framer also ends lines at a bare LF.
// Invariants:
//  * framing and parsing do not depend on how the octets arrive: the same bytes
//    fed whole and cut at the two split points give the same events (the sans-I/O
//    contract of line_reader.hpp and reply.hpp);
//  * peek() (storage reused) and take() give the same reply;
//  * a reply is reproduced exactly by to_wire(), parse_reply() of that text gives
//    it back, text_offset() names each line's text, and its code, status and
//    line count respect the options;
//  * parse_reply() on the whole input agrees with the incremental parser;
//  * error offsets lie inside the line (or the reply) they are reported for.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "smtpspec/reference/address.hpp"
#include "smtpspec/reference/line_reader.hpp"
#include "smtpspec/reference/reply.hpp"

namespace {

using namespace smtpspec::reference;
using smtpspec::fuzz::fuzz_input;

struct event {
  enum class kind { reply, error, too_long } what = kind::reply;
  reply r;
  parse_error e;
  std::string wire;  // the framed lines that made the reply or the error
  friend bool operator==(const event&, const event&) = default;
};

void check_reply(const reply& r, const reply_parser_options& opt, std::string_view wire, bool crlf_only) {
  FUZZ_CHECK(r.code < 1000, "a reply code is three digits (4.2)");
  if (!opt.allow_any_code) FUZZ_CHECK(r.klass() >= 2 && r.klass() <= 5, "the first digit is 2 to 5 (4.2, 4.3.2)");
  FUZZ_CHECK(!r.lines.empty() && r.lines.size() <= opt.max_lines, "a reply has 1 to max_lines lines");
  FUZZ_CHECK(!r.utf8 || opt.allow_utf8, "UTF-8 text only when allowed (4.2 textstring)");
  for (const auto& l : r.lines) FUZZ_CHECK(l.size() + 4 <= opt.max_line_length, "the line bound holds (4.5.3.1.5)");
  const std::string again = r.to_wire();
  if (crlf_only) {
    FUZZ_CHECK(again == wire, "to_wire() reproduces the octets the reply was read from");
    const auto reparsed = parse_reply(again, opt);
    FUZZ_CHECK(reparsed.has_value() && *reparsed == r, "parse_reply(to_wire()) gives the reply back");
  }
  for (std::size_t i = 0; i < r.lines.size(); ++i)
    FUZZ_CHECK(again.compare(r.text_offset(i), r.lines[i].size(), r.lines[i]) == 0 &&
                   again.compare(r.text_offset(i) + r.lines[i].size(), 2, "\r\n") == 0,
               "text_offset(i) names line i's text in to_wire()");
  const auto status = parse_enhanced_status(r.lines.front());
  FUZZ_CHECK(r.status.has_value() == status.has_value() && (!status || *r.status == *status),
             "status is the RFC 3463 code at the start of the first line");
  for (const parse_error e : {check_greeting(r), check_enhanced_status(r, true), check_enhanced_status(r, false)})
    FUZZ_CHECK(e.code == error::ok || e.offset <= again.size(), "check offsets point into to_wire()");
}

/// Frames `pieces` into lines and parses them into replies; checks each event.
std::vector<event> run(const std::vector<std::string_view>& pieces, const reply_parser_options& opt, bool lf_ends) {
  line_reader lines(line_reader_options{max_reply_line, lf_ends});
  reply_parser taker(opt), peeker(opt);
  std::vector<event> out;
  std::string segment;
  for (std::string_view in : pieces) {
    for (;;) {
      const line l = lines.next(in);
      if (l.state == line::status::need_more) break;
      if (l.state == line::status::too_long) {
        FUZZ_CHECK(l.length == max_reply_line + 1, "too_long is reported at octet max_line + 1 (line_reader.hpp)");
        FUZZ_CHECK(lines.buffered() <= max_reply_line, "the framer holds at most max_line octets");
        out.push_back({event::kind::too_long, {}, {error::line_too_long, l.length}, {}});
        taker.reset();
        peeker.reset();
        segment.clear();
        continue;
      }
      FUZZ_CHECK(l.length == l.text.size() + (l.bare_lf ? 1 : 2), "a line's length counts its terminator");
      FUZZ_CHECK(!l.bare_lf || lf_ends, "a bare LF ends a line only when asked (2.3.8)");
      segment.append(l.text).append(l.bare_lf ? "\n" : "\r\n");
      const parse_error e = taker.feed_line(l.text);
      const parse_error e2 = peeker.feed_line(l.text);
      FUZZ_CHECK(e == e2, "two parsers fed the same lines agree");
      if (e.code == error::need_more) {
        FUZZ_CHECK(taker.in_progress(), "need_more means a multi-line reply is under way (4.2.1)");
        continue;
      }
      FUZZ_CHECK(!taker.in_progress(), "after a complete reply or an error the parser is ready for the next");
      if (e.code == error::ok) {
        reply r = taker.take();
        FUZZ_CHECK(peeker.peek() == r, "peek() and take() give the same reply");
        check_reply(r, opt, segment, !lf_ends);
        out.push_back({event::kind::reply, std::move(r), e, segment});
      } else {
        FUZZ_CHECK(e.offset <= l.text.size(), "a line error's offset lies within the line");
        FUZZ_CHECK(condition_of(e.code) != condition::need_more, "a reply error is final");
        out.push_back({event::kind::error, {}, e, segment});
      }
      segment.clear();
    }
    FUZZ_CHECK(lines.buffered() <= max_reply_line, "the framer holds at most max_line octets (line_reader.hpp)");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_input in(data, size);
  const std::uint8_t flags = in.byte();
  const std::uint8_t cut1 = in.byte(), cut2 = in.byte();
  const std::string_view wire = in.rest();

  reply_parser_options opt;
  opt.allow_any_code = flags & 1u;
  opt.allow_utf8 = flags & 2u;
  if (flags & 4u) opt.max_lines = 3;
  if (flags & 8u) opt.max_line_length = 40;
  const bool lf_ends = flags & 16u;

  const auto whole = run({wire}, opt, lf_ends);
  const auto pieces = smtpspec::fuzz::split_by(wire, cut1, cut2);
  FUZZ_CHECK(run(pieces, opt, lf_ends) == whole, "the same octets split differently give the same replies");

  if (!lf_ends) {
    // parse_reply() reads exactly one complete reply: it must agree with the
    // incremental parser whenever either of them finds one spanning the input.
    const auto one = parse_reply(wire, opt);
    const bool single = whole.size() == 1 && whole[0].what == event::kind::reply && whole[0].wire == wire;
    FUZZ_CHECK(one.has_value() == single, "parse_reply() and the incremental parser agree on a whole reply");
    if (one) FUZZ_CHECK(*one == whole[0].r, "parse_reply() and the incremental parser give the same reply");
    else FUZZ_CHECK(one.error().offset <= wire.size(), "parse_reply() error offsets lie within its input");
  }
  return 0;
}
