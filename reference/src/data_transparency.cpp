// DATA transparency: RFC 5321 section 4.5.2 (dot-stuffing on both sides), 4.1.1.4
// (the end of mail data indication <CRLF>.<CRLF>, and the MUST NOT on treating
// <LF>.<LF> as end of data), 2.3.8 (only CRLF ends a line; clients send no bare CR
// or LF) and 4.5.3.1.6 (a text line is at most 1000 octets with its CRLF, not
// counting the stuffed dot). The exact definitions are in data_transparency.hpp.
//
// Speed: mail bodies are long runs of ordinary octets between a few special ones
// (CR, LF, NUL). Both directions search for the next special octet 16 octets at a
// time (SSE2 on x86-64, an 8-octet SWAR test elsewhere) and copy the runs between
// them in bulk; the state machine only runs at the special octets and at line
// starts. The state is explicit and nothing looks past the end of a chunk, so the
// result cannot depend on how the stream is split.
#include "smtpspec/reference/data_transparency.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace smtpspec::reference {
namespace {

#if !defined(__SSE2__)
// Nonzero iff some octet of w equals the octet repeated in `pattern` (the classic
// "has zero byte" test on w XOR pattern; only zero versus nonzero is used, so the
// test does not depend on the byte order).
constexpr std::uint64_t k_ones = 0x0101010101010101ULL;
constexpr std::uint64_t k_highs = 0x8080808080808080ULL;
inline std::uint64_t has_octet(std::uint64_t w, std::uint64_t pattern) noexcept {
  const std::uint64_t x = w ^ pattern;
  return (x - k_ones) & ~x & k_highs;
}
#endif

inline bool is_special(char c, bool with_nul) noexcept {
  return c == '\r' || c == '\n' || (with_nul && c == '\0');
}

// The first CR or LF (and NUL when WithNul) in [p, end), or end.
template <bool WithNul>
const char* find_special(const char* p, const char* end) noexcept {
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hits = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
    if constexpr (WithNul) hits = _mm_or_si128(hits, _mm_cmpeq_epi8(v, _mm_setzero_si128()));
    const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    if (mask != 0) return p + std::countr_zero(mask);
    p += 16;
  }
#else
  while (end - p >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    std::uint64_t hits = has_octet(w, k_ones * '\r') | has_octet(w, k_ones * '\n');
    if constexpr (WithNul) hits |= has_octet(w, 0);
    if (hits != 0) break;  // the scalar loop below finds which octet
    p += 8;
  }
#endif
  while (p != end && !is_special(*p, WithNul)) ++p;
  return p;
}

// Room for `more` octets, growing geometrically: a caller feeding many small
// chunks into one string must not pay a reallocation per chunk (reserve() alone
// allocates exactly on some standard libraries).
inline void make_room(std::string& out, std::size_t more) {
  if (out.capacity() - out.size() < more) out.reserve(std::max(out.size() + more, 2 * out.capacity()));
}

inline void flush(std::string& out, const char* p, std::size_t from, std::size_t to) {
  if (to > from) out.append(p + from, to - from);
}

}  // namespace

std::string_view to_string(data_anomaly a) noexcept {
  switch (a) {
    case data_anomaly::bare_lf: return "bare_lf";
    case data_anomaly::bare_cr: return "bare_cr";
    case data_anomaly::lf_dot_lf: return "lf_dot_lf";
    case data_anomaly::cr_dot_cr: return "cr_dot_cr";
    case data_anomaly::crlf_dot_lf: return "crlf_dot_lf";
    case data_anomaly::lf_dot_crlf: return "lf_dot_crlf";
    case data_anomaly::crlf_dot_cr: return "crlf_dot_cr";
    case data_anomaly::cr_dot_crlf: return "cr_dot_crlf";
    case data_anomaly::lf_dot_cr: return "lf_dot_cr";
    case data_anomaly::nul: return "nul";
    case data_anomaly::overlong_line: return "overlong_line";
    case data_anomaly::cr_dot_lf: return "cr_dot_lf";
    case data_anomaly::count_: break;
  }
  return "unknown_data_anomaly";
}

// ---------------------------------------------------------------------------------
// Encoder (4.5.2, first bullet: the client doubles a leading period).

// One octet that needs a decision: it is at a line start, follows a CR, or is a
// CR or LF itself. Octets in [run, i) of the chunk are still to be copied to
// `out`; anything inserted is written after flushing them.
void data_encoder::encode_octet(char c, const char* p, std::size_t i, std::size_t& run, std::string& out) {
  if (opt_.bare == bare_line_endings::to_crlf) {
    // 2.3.8: the client sends line ends only as CRLF.
    if (last_was_cr_ && c != '\n') {  // the CR already sent was bare: complete it
      flush(out, p, run, i);
      run = i;
      out.push_back('\n');
      last_was_cr_ = false;
      at_line_start_ = true;
    } else if (c == '\n' && !last_was_cr_) {  // bare LF: send CR first
      flush(out, p, run, i);
      run = i;
      out.push_back('\r');
      last_was_cr_ = true;
    }
  }
  if (at_line_start_ && c == '.') {  // 4.5.2: insert one additional period
    flush(out, p, run, i);
    run = i;
    out.push_back('.');
  }
  const bool crlf = c == '\n' && last_was_cr_;
  at_line_start_ = crlf || (opt_.bare == bare_line_endings::stuff_after && (c == '\n' || c == '\r'));
  ended_with_crlf_ = crlf;
  last_was_cr_ = c == '\r';
}

void data_encoder::encode(std::string_view chunk, std::string& out) {
  const char* const p = chunk.data();
  const std::size_t n = chunk.size();
  make_room(out, n + 16);
  std::size_t i = 0;
  std::size_t run = 0;
  while (i < n) {
    if (!at_line_start_ && !last_was_cr_) {
      // Inside a line: ordinary octets pass unchanged; jump to the next CR or LF.
      const auto j = static_cast<std::size_t>(find_special<false>(p + i, p + n) - p);
      if (j != i) {
        ended_with_crlf_ = false;
        i = j;
        if (i == n) break;
      }
    }
    encode_octet(p[i], p, i, run, out);
    ++i;
  }
  flush(out, p, run, n);
}

void data_encoder::finish(std::string& out) {
  if (opt_.bare == bare_line_endings::to_crlf && last_was_cr_) {
    out.push_back('\n');  // a bare CR at the very end becomes CRLF too
    ended_with_crlf_ = true;
  }
  // 4.1.1.4: a final line without CRLF gets one; otherwise no extra CRLF (it would
  // add an empty line to the message).
  if (!ended_with_crlf_) out.append("\r\n");
  out.append(".\r\n");
  at_line_start_ = true;
  last_was_cr_ = false;
  ended_with_crlf_ = true;
}

std::string encode_data(std::string_view content, data_encoder_options opt) {
  data_encoder enc(opt);
  std::string out;
  enc.encode(content, out);
  enc.finish(out);
  return out;
}

// ---------------------------------------------------------------------------------
// Decoder (4.5.2, second bullet; 4.1.1.4 end of data).

namespace {

// The anomaly of the dot sequence T1 "." T2; count_ for CRLF "." CRLF.
template <class Ending>
data_anomaly dot_kind(Ending t1, Ending t2) noexcept {
  constexpr data_anomaly table[3][3] = {
      // T2:   CRLF                        LF                          CR
      {data_anomaly::count_, data_anomaly::crlf_dot_lf, data_anomaly::crlf_dot_cr},  // T1 CRLF
      {data_anomaly::lf_dot_crlf, data_anomaly::lf_dot_lf, data_anomaly::lf_dot_cr},  // T1 LF
      {data_anomaly::cr_dot_crlf, data_anomaly::cr_dot_lf, data_anomaly::cr_dot_cr},  // T1 CR
  };
  return table[static_cast<int>(t1)][static_cast<int>(t2)];
}

}  // namespace

void data_decoder::reset() {
  counts_ = {};
  records_.clear();
  offset_ = 0;
  state_ = state::line_start;
  t1_ = ending::crlf;
  t1_offset_ = 0;  // the virtual CRLF before offset 0 (the DATA command's, 4.1.1.4)
  cr_offset_ = 0;
  line_offset_ = 0;
  line_length_ = 0;
  line_overlong_ = false;
  ended_by_ = data_anomaly::count_;
}

void data_decoder::note(data_anomaly a, std::uint64_t offset) {
  ++counts_[static_cast<std::size_t>(a)];
  if (records_.size() < opt_.max_records) records_.push_back({a, offset});
}

// 4.5.3.1.6: the length of a text line includes its CRLF. Recorded once per line,
// at the octet that makes the length exceed max_line.
void data_decoder::count_line_octets(std::size_t n) {
  line_length_ += n;
  if (!line_overlong_ && line_length_ > opt_.max_line) {
    line_overlong_ = true;
    note(data_anomaly::overlong_line, line_offset_);
  }
}

// A CRLF at crlf_offset ended a line; the next one starts at next_offset.
void data_decoder::start_line(std::uint64_t crlf_offset, std::uint64_t next_offset) {
  state_ = state::line_start;
  t1_ = ending::crlf;
  t1_offset_ = crlf_offset;
  line_offset_ = next_offset;
  line_length_ = 0;
  line_overlong_ = false;
}

bool data_decoder::ends_on(data_anomaly a) const noexcept {
  return is_dot_sequence(a) && (opt_.also_end_on & data_anomaly_bit(a)) != 0;
}

data_feed_result data_decoder::finish(std::size_t consumed, data_anomaly by) {
  state_ = state::ended;
  ended_by_ = by;
  offset_ += consumed;
  return {consumed, true, by};
}

// The held "." turned out not to be part of an end-of-data sequence. 4.5.2: at a
// line start (T1 = CRLF) it is the stuffed period and is deleted; after a bare CR
// or LF it is not at a line start and is content.
void data_decoder::emit_held_dot(std::string& out) const {
  if (t1_ != ending::crlf || opt_.keep_stuffed_dot) out.push_back('.');
}

data_feed_result data_decoder::feed(std::string_view chunk, std::string& out) {
  if (state_ == state::ended) return {0, true, ended_by_};
  const char* const p = chunk.data();
  const std::size_t n = chunk.size();
  make_room(out, n + 2);
  // Octets in [run, i) are content to be copied unchanged. Invariant: in the dot
  // and dot_cr states run == i, since the held octets are not in the run.
  std::size_t run = 0;
  std::size_t i = 0;
  while (i < n) {
    const std::uint64_t pos = offset_ + i;
    const char c = p[i];
    switch (state_) {
      case state::mid: {
        const auto j = static_cast<std::size_t>(find_special<true>(p + i, p + n) - p);
        if (j != i) {
          count_line_octets(j - i);
          i = j;
          break;
        }
        // c is CR, LF or NUL; it is content in every case.
        if (c == '\r' && n - i >= 3 && p[i + 1] == '\n' && p[i + 2] != '.') {
          // The common case in one step: CRLF, then a line that does not start
          // with ".". The same transitions as mid -> after_cr -> line_start -> mid
          // taken octet by octet, and nothing is looked at past the chunk.
          count_line_octets(2);
          start_line(pos, pos + 2);
          state_ = state::mid;
          i += 2;
          break;
        }
        if (c == '\r') {
          cr_offset_ = pos;
          state_ = state::after_cr;
        } else if (c == '\n') {
          note(data_anomaly::bare_lf, pos);  // 2.3.8: LF without CR
          t1_ = ending::lf;
          t1_offset_ = pos;
          state_ = state::after_bare;
        } else {
          note(data_anomaly::nul, pos);
        }
        count_line_octets(1);
        ++i;
        break;
      }
      case state::after_cr:
        if (c == '\n') {  // CRLF: the line ends (2.3.8)
          count_line_octets(1);
          start_line(cr_offset_, pos + 1);
          ++i;
        } else {  // the CR was bare; c is looked at again
          note(data_anomaly::bare_cr, cr_offset_);
          t1_ = ending::cr;
          t1_offset_ = cr_offset_;
          state_ = state::after_bare;
        }
        break;
      case state::line_start:
        if (c == '.') {  // stuffed, or the end of data: held until the next octet
          flush(out, p, run, i);
          run = i + 1;
          state_ = state::dot;  // not counted: 4.5.3.1.6 leaves out the stuffed dot
          ++i;
        } else {
          state_ = state::mid;
        }
        break;
      case state::after_bare:
        if (c == '.') {  // T1 "." with a bare T1: content unless it ends the data
          flush(out, p, run, i);
          run = i + 1;
          state_ = state::dot;
          count_line_octets(1);
          ++i;
        } else {
          state_ = state::mid;
        }
        break;
      case state::dot:
        if (c == '\r') {
          cr_offset_ = pos;
          state_ = state::dot_cr;
          count_line_octets(1);
          ++i;
          run = i;
        } else if (c == '\n') {  // T2 is a bare LF
          note(data_anomaly::bare_lf, pos);
          const data_anomaly kind = dot_kind(t1_, ending::lf);
          note(kind, t1_offset_);
          count_line_octets(1);
          if (ends_on(kind)) return finish(i + 1, kind);
          emit_held_dot(out);
          t1_ = ending::lf;  // this LF may be T1 of the next sequence
          t1_offset_ = pos;
          state_ = state::after_bare;
          ++i;  // the LF itself stays in the run
        } else {  // no T2: the line goes on; c is looked at again
          emit_held_dot(out);
          state_ = state::mid;
        }
        break;
      case state::dot_cr:
        if (c == '\n') {  // T2 is CRLF
          const data_anomaly kind = dot_kind(t1_, ending::crlf);
          if (kind != data_anomaly::count_) note(kind, t1_offset_);
          count_line_octets(1);
          // <CRLF>.<CRLF> always ends the data (4.1.1.4); the others only on request.
          if (kind == data_anomaly::count_ || ends_on(kind)) return finish(i + 1, kind);
          out.push_back('.');  // T1 is bare, so the dot was not at a line start
          out.push_back('\r');
          start_line(cr_offset_, pos + 1);
          ++i;  // the LF stays in the run
        } else {  // T2 is a bare CR, decided by c, which is not consumed here
          note(data_anomaly::bare_cr, cr_offset_);
          const data_anomaly kind = dot_kind(t1_, ending::cr);
          note(kind, t1_offset_);
          if (ends_on(kind)) return finish(i, kind);
          emit_held_dot(out);
          out.push_back('\r');
          t1_ = ending::cr;  // this CR may be T1 of the next sequence
          t1_offset_ = cr_offset_;
          state_ = state::after_bare;
        }
        break;
      case state::ended:
        return {i, true, ended_by_};  // not reached: finish() returns directly
    }
  }
  flush(out, p, run, n);
  offset_ += n;
  return {n, false, data_anomaly::count_};
}

}  // namespace smtpspec::reference
