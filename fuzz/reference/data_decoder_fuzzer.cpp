// data_decoder_fuzzer: DATA transparency (RFC 5321 4.5.2 dot-stuffing, 4.1.1.4
// end of data, 2.3.8 line endings, 4.5.3.1.6 line length), both directions.
//
// Input: [mode] [max_line] [split 1] [split 2] then the payload, read both as the
// octets a client sent after 354 (decoder) and as message content (encoder).
//   mode bit 0: keep_stuffed_dot; bit 1: also_end_on = every dot sequence;
//        bit 2: also_end_on |= lf_dot_lf | crlf_dot_lf; bit 3: also feed octet by
//        octet; bit 4: max_records = 4.
//   max_line & 3 selects 1000, 78, 10 or 2.
// Invariants:
//  * the decoder's result (content, end position, terminator, anomalies and their
//    order) is the same for the whole payload, for it cut at the two split
//    points and, with bit 3, for one octet at a time;
//  * it never takes back what it emitted: after the payload plus CRLF.CRLF the
//    content extends what the payload alone gave by at most the 2 held octets
//    and the added line end;
//  * strict decoding (no also_end_on) equals a slow reference written below from
//    4.1.1.4 and 4.5.2 alone, content, end and anomaly counts included;
//  * for each bare line ending mode, decode(encode(content)) is the content (as
//    data_transparency.hpp specifies per mode), chunking the encoder's input
//    changes nothing, and the conformant modes produce no end-of-data look-alike;
//  * encode(decode(x)) == x for every x the decoder ends on that is already in
//    canonical form (CRLF only, every leading dot stuffed).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "smtpspec/reference/data_transparency.hpp"

namespace {

using namespace smtpspec::reference;
using smtpspec::fuzz::fuzz_input;

struct decoded {
  std::string content;
  bool ended = false;
  std::uint64_t consumed = 0;
  data_anomaly ended_by = data_anomaly::count_;
  std::array<std::uint64_t, data_anomaly_count> counts{};
  std::vector<data_anomaly_record> records;
  friend bool operator==(const decoded&, const decoded&) = default;
};

decoded decode(const std::vector<std::string_view>& pieces, const data_decoder_options& opt) {
  data_decoder d(opt);
  decoded out;
  for (const std::string_view piece : pieces) {
    const auto r = d.feed(piece, out.content);
    FUZZ_CHECK(r.consumed <= piece.size(), "feed() consumes at most what it is given");
    if (out.ended) {
      FUZZ_CHECK(r.consumed == 0 && r.end_of_data && r.ended_by == out.ended_by,
                 "after the end of data, feed() consumes nothing and reports the end again");
      continue;
    }
    out.consumed += r.consumed;
    if (r.end_of_data) {
      out.ended = true;
      out.ended_by = r.ended_by;
      FUZZ_CHECK(r.ended_by == data_anomaly::count_ || is_dot_sequence(r.ended_by),
                 "data ends on CRLF.CRLF or on a dot sequence");
      FUZZ_CHECK(r.ended_by == data_anomaly::count_ || (opt.also_end_on & data_anomaly_bit(r.ended_by)) != 0,
                 "a non-standard sequence ends the data only when also_end_on asks for it (4.1.1.4)");
    } else {
      FUZZ_CHECK(r.consumed == piece.size(), "before the end of data, every octet is consumed");
    }
  }
  FUZZ_CHECK(d.ended() == out.ended && d.consumed() == out.consumed, "ended() and consumed() agree with feed()");
  out.counts = d.counts();
  out.records = d.anomalies();
  std::uint64_t total = 0;
  for (const auto c : out.counts) total += c;
  FUZZ_CHECK(out.records.size() == std::min<std::uint64_t>(total, opt.max_records),
             "anomalies() holds the first max_records of what counts() counts");
  for (const auto& rec : out.records) {
    FUZZ_CHECK(rec.kind != data_anomaly::count_ && rec.offset < out.consumed, "an anomaly lies in the octets consumed");
    FUZZ_CHECK(d.saw(rec.kind), "saw() reports every recorded kind");
  }
  return out;
}

// ---- the slow reference: RFC 5321 4.1.1.4 and 4.5.2 read literally ----------------------

/// Strict decoding by whole lines: only CRLF ends a line (2.3.8); a line that is
/// "." alone ends the data (4.1.1.4); otherwise a leading "." is deleted (4.5.2).
struct reference_result {
  std::string content;
  bool ended = false;
  std::size_t end = 0;  // octets up to and including the terminating CRLF
};

reference_result reference_decode(std::string_view s, bool keep_dot) {
  reference_result out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t crlf = s.find("\r\n", pos);
    if (crlf == std::string_view::npos) return out;
    std::string_view line = s.substr(pos, crlf - pos);
    if (line == ".") {
      out.ended = true;
      out.end = crlf + 2;
      return out;
    }
    if (!keep_dot && !line.empty() && line.front() == '.') line.remove_prefix(1);
    out.content.append(line).append("\r\n");
    pos = crlf + 2;
  }
}

enum class token { crlf, lf, cr, none };

/// The anomalies of data_transparency.hpp for the octets [0, end) of a stream that
/// ended at `end` with CRLF.CRLF, found by looking at each octet and its
/// neighbours rather than by a state machine.
std::vector<data_anomaly_record> reference_anomalies(std::string_view s, std::size_t end, std::size_t max_line) {
  std::vector<data_anomaly_record> out;
  auto add = [&](data_anomaly a, std::size_t at) { out.push_back({a, at}); };
  std::size_t line_start = 0;
  for (std::size_t i = 0; i < end; ++i) {
    const char c = s[i];
    if (c == '\n' && (i == 0 || s[i - 1] != '\r')) add(data_anomaly::bare_lf, i);
    if (c == '\r' && s[i + 1] != '\n') add(data_anomaly::bare_cr, i);  // s[end - 1] is LF: i + 1 < end
    if (c == '\0') add(data_anomaly::nul, i);
    if (c == '.') {
      // T1: the token ending just before the dot (the DATA line's CRLF at 0).
      token t1 = token::none;
      std::size_t t1_at = 0;  // where T1 starts; 0 for the virtual CRLF
      if (i == 0) {
        t1 = token::crlf;
      } else if (s[i - 1] == '\n' && i >= 2 && s[i - 2] == '\r') {
        t1 = token::crlf;
        t1_at = i - 2;
      } else if (s[i - 1] == '\n') {
        t1 = token::lf;
        t1_at = i - 1;
      } else if (s[i - 1] == '\r') {  // followed by ".", so bare
        t1 = token::cr;
        t1_at = i - 1;
      }
      token t2 = token::none;
      if (i + 1 < end && s[i + 1] == '\n') t2 = token::lf;
      else if (i + 2 < end && s[i + 1] == '\r') t2 = s[i + 2] == '\n' ? token::crlf : token::cr;
      static constexpr data_anomaly table[3][3] = {
          {data_anomaly::count_, data_anomaly::crlf_dot_lf, data_anomaly::crlf_dot_cr},
          {data_anomaly::lf_dot_crlf, data_anomaly::lf_dot_lf, data_anomaly::lf_dot_cr},
          {data_anomaly::cr_dot_crlf, data_anomaly::cr_dot_lf, data_anomaly::cr_dot_cr},
      };
      if (t1 != token::none && t2 != token::none) {
        const data_anomaly kind = table[static_cast<int>(t1)][static_cast<int>(t2)];
        if (kind != data_anomaly::count_) add(kind, t1_at);
      }
    }
    if (c == '\n' && i > 0 && s[i - 1] == '\r') {
      // 4.5.3.1.6: the line's octets with its CRLF, not counting a leading dot.
      const std::size_t length = i + 1 - line_start - (s[line_start] == '.' ? 1 : 0);
      if (length > max_line) add(data_anomaly::overlong_line, line_start);
      line_start = i + 1;
    }
  }
  return out;
}

bool by_offset(const data_anomaly_record& a, const data_anomaly_record& b) {
  return a.offset != b.offset ? a.offset < b.offset : a.kind < b.kind;
}

void check_against_reference(std::string_view payload, const data_decoder_options& opt, const decoded& got) {
  const auto ref = reference_decode(payload, opt.keep_stuffed_dot);
  FUZZ_CHECK(got.ended == ref.ended, "strict decoding ends where CRLF.CRLF is (4.1.1.4)");
  if (!ref.ended) return;
  FUZZ_CHECK(got.consumed == ref.end && got.ended_by == data_anomaly::count_, "the end is the first CRLF.CRLF");
  FUZZ_CHECK(got.content == ref.content, "content is the lines with one leading dot removed (4.5.2)");

  auto expected = reference_anomalies(payload, ref.end, opt.max_line);
  std::array<std::uint64_t, data_anomaly_count> counts{};
  for (const auto& a : expected) ++counts[static_cast<std::size_t>(a.kind)];
  FUZZ_CHECK(got.counts == counts, "anomaly counts match the octet-by-octet reading");
  if (expected.size() <= opt.max_records) {
    auto records = got.records;
    std::sort(records.begin(), records.end(), by_offset);
    std::sort(expected.begin(), expected.end(), by_offset);
    FUZZ_CHECK(records == expected, "anomaly kinds and offsets match the reference");
  }
}

// ---- encoder ------------------------------------------------------------------------------

/// 2.3.8 normalisation (bare_line_endings::to_crlf): each bare CR or LF becomes CRLF.
std::string to_crlf(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) out += "\r\n";
    else if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out += "\r\n";
    else out += s[i];
  }
  return out;
}

/// bare_line_endings::stuff_after: a "." after a bare CR or bare LF is doubled and,
/// not being at a line start, survives strict decoding.
std::string with_bare_dots_doubled(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool after_bare = i > 0 && ((s[i - 1] == '\r') || (s[i - 1] == '\n' && (i < 2 || s[i - 2] != '\r')));
    if (s[i] == '.' && after_bare) out += '.';
    out += s[i];
  }
  return out;
}

/// 4.1.1.4: a final line without CRLF gets one.
std::string ended_line(std::string s) {
  if (!s.empty() && !(s.size() >= 2 && s.compare(s.size() - 2, 2, "\r\n") == 0)) s += "\r\n";
  return s;
}

void check_encoder(std::string_view content, const std::vector<std::string_view>& pieces) {
  for (const auto mode : {bare_line_endings::to_crlf, bare_line_endings::stuff_after, bare_line_endings::verbatim}) {
    const std::string whole = encode_data(content, {mode});
    data_encoder enc({mode});
    std::string chunked;
    for (const auto piece : pieces) enc.encode(piece, chunked);
    enc.finish(chunked);
    FUZZ_CHECK(chunked == whole, "the encoder's output does not depend on how the content is chunked");

    const decoded back = decode({whole}, {});
    FUZZ_CHECK(back.ended && back.consumed == whole.size() && back.ended_by == data_anomaly::count_,
               "the encoded form ends exactly at its own CRLF.CRLF");
    std::string expected;
    switch (mode) {
      case bare_line_endings::to_crlf: expected = ended_line(to_crlf(content)); break;
      case bare_line_endings::stuff_after: expected = ended_line(with_bare_dots_doubled(content)); break;
      case bare_line_endings::verbatim: expected = ended_line(std::string(content)); break;
    }
    FUZZ_CHECK(back.content == expected, "decode(encode(content)) is the content, as the mode specifies");
    if (mode == bare_line_endings::verbatim) continue;
    // The conformant modes leave nothing a lenient receiver could take for the end.
    data_decoder_options lenient;
    lenient.also_end_on = all_dot_sequences;
    FUZZ_CHECK(decode({whole}, lenient) == back, "no end-of-data look-alike in the encoded form");
    if (mode == bare_line_endings::to_crlf)
      FUZZ_CHECK(back.counts[static_cast<std::size_t>(data_anomaly::bare_cr)] == 0 &&
                     back.counts[static_cast<std::size_t>(data_anomaly::bare_lf)] == 0,
                 "to_crlf sends line ends only as CRLF (2.3.8)");
  }
}

/// Every line is CRLF-ended and every line that starts with "." starts with "..":
/// the form an encoder produces, so re-encoding the content must give it back.
bool canonical(std::string_view wire) {
  std::size_t pos = 0;
  while (pos < wire.size()) {
    const std::size_t crlf = wire.find("\r\n", pos);
    const std::string_view line = wire.substr(pos, crlf - pos);
    if (line.find_first_of("\r\n") != std::string_view::npos) return false;
    if (line != "." && !line.empty() && line.front() == '.' && (line.size() < 2 || line[1] != '.')) return false;
    pos = crlf + 2;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_input in(data, size);
  const std::uint8_t mode = in.byte();
  const std::uint8_t line_sel = in.byte();
  const std::uint8_t cut1 = in.byte(), cut2 = in.byte();
  const std::string_view payload = in.rest();

  data_decoder_options opt;
  opt.keep_stuffed_dot = mode & 1u;
  if (mode & 2u) opt.also_end_on = all_dot_sequences;
  if (mode & 4u)
    opt.also_end_on |= data_anomaly_bit(data_anomaly::lf_dot_lf) | data_anomaly_bit(data_anomaly::crlf_dot_lf);
  if (mode & 16u) opt.max_records = 4;
  static constexpr std::size_t k_max_line[] = {1000, 78, 10, 2};
  opt.max_line = k_max_line[line_sel & 3u];

  const auto pieces = smtpspec::fuzz::split_by(payload, cut1, cut2);
  const decoded whole = decode({payload}, opt);
  FUZZ_CHECK(decode(pieces, opt) == whole, "decoding does not depend on where the input is split");
  if (mode & 8u) {
    const auto octets = smtpspec::fuzz::octets_of(payload);
    FUZZ_CHECK(decode(octets, opt) == whole, "decoding one octet at a time gives the same result");
  }

  if (!whole.ended) {
    // Held back at most "." CR (data_transparency.hpp), never taken back.
    const std::string more = std::string(payload) + "\r\n.\r\n";
    const decoded finished = decode({more}, opt);
    FUZZ_CHECK(finished.ended, "CRLF.CRLF always ends the data (4.1.1.4)");
    FUZZ_CHECK(finished.content.compare(0, whole.content.size(), whole.content) == 0 &&
                   finished.content.size() <= whole.content.size() + 4,
               "the decoder never retracts content and holds back at most two octets");
  }

  if (opt.also_end_on == 0) {
    check_against_reference(payload, opt, whole);
    if (whole.ended && !opt.keep_stuffed_dot) {
      const std::string_view wire = payload.substr(0, whole.consumed);
      if (canonical(wire))
        for (const auto m : {bare_line_endings::to_crlf, bare_line_endings::verbatim})
          FUZZ_CHECK(encode_data(whole.content, {m}) == wire, "encode(decode(x)) == x for canonical x (4.5.2)");
    }
  }

  check_encoder(payload, pieces);
  return 0;
}
