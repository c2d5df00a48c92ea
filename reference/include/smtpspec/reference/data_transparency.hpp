// DATA transparency: RFC 5321 section 4.5.2 (dot-stuffing), the end-of-data
// indication of 4.1.1.4 (<CRLF>.<CRLF>), the CRLF-only line rule of 2.3.8, and the
// text line limit of 4.5.3.1.6.
//
// Both directions are streaming and sans-I/O: feed any split of the input and the
// result is the same as feeding it whole. The decoder is strict by default (only
// CRLF.CRLF ends the data) and classifies every non-standard line ending and
// end-of-data look-alike it meets, because SMTP smuggling is built on exactly the
// sequences a lenient receiver mistakes for end-of-data.
//
// ---- How the decoder reads the encoded stream (the octets after "DATA" CRLF) ----
//
// Tokens. Every CR and LF belongs to exactly one line-ending token:
//   CRLF     a CR immediately followed by LF;
//   bare CR  a CR not immediately followed by LF;
//   bare LF  a LF not immediately preceded by CR.
// (In CR CR LF the first CR is bare; in CR LF LF the second LF is bare.)
//
// Lines and line starts (2.3.8: only CRLF ends a line). A line start is offset 0
// (the CRLF that ends the DATA command precedes the content, 4.1.1.4) or the
// octet right after a CRLF. A bare CR or bare LF does not start a line.
//
// End of data (4.1.1.4). A "." at a line start followed by CRLF ends the data; the
// CRLF before the "." belongs to the content (it ends its last line), so ".\r\n"
// at offset 0 is an empty message.
//
// Dot-stuffing (4.5.2). A "." at a line start that does not end the data is
// deleted: the line has other characters after it, whatever they are (so in
// ".\n..." the dot is deleted too, the line runs to the next CRLF). A "." after a
// bare CR or bare LF is not at a line start and is content.
//
// Dot sequences. A sequence is T1 "." T2 where T1 and T2 are line-ending tokens
// (T1 may also be the virtual CRLF before offset 0). CRLF "." CRLF is the standard
// end; the other eight combinations are anomalies:
//                 T2 = CRLF       T2 = bare LF    T2 = bare CR
//   T1 = CRLF     (end of data)   crlf_dot_lf     crlf_dot_cr
//   T1 = bare LF  lf_dot_crlf     lf_dot_lf       lf_dot_cr
//   T1 = bare CR  cr_dot_crlf     cr_dot_lf       cr_dot_cr
// The kinds are exact token patterns: "\r\n.\n" is crlf_dot_lf, never lf_dot_lf.
// A server that matches the substring "\n.\n" is modelled with
// also_end_on = lf_dot_lf | crlf_dot_lf.
//
// Overlaps. Classification is orthogonal:
//   * every bare CR is counted as bare_cr and every bare LF as bare_lf, whether or
//     not it is also part of a dot sequence ("\n.\n" gives two bare_lf and one
//     lf_dot_lf);
//   * the same token can be T2 of one sequence and T1 of the next ("\n.\n.\n" gives
//     lf_dot_lf at 0 and lf_dot_lf at 2);
//   * every NUL octet is counted as nul;
//   * a text line whose length exceeds max_line is counted once as overlong_line.
//     The length counts every octet from the line start up to and including its
//     CRLF, except a leading "." at the line start (4.5.3.1.6 does not count the
//     dot duplicated for transparency). Since only CRLF ends a line, bare LFs and
//     bare CRs do not end one either.
//
// Offsets count octets of the encoded stream since reset(), starting at 0:
//   bare_cr, bare_lf, nul: the octet itself;
//   a dot sequence: the first octet of T1 (the CR of a CRLF), or 0 for a sequence
//     whose T1 is the virtual CRLF before offset 0 (the dot is then at 0);
//   overlong_line: the line start.
//
// Detection order (the order of anomalies(), identical for every split): an
// anomaly is detected at the octet that decides it: bare_lf and nul at their own
// octet, bare_cr at the octet after the CR, a dot sequence at the last octet of T2
// (for a bare CR T2: at the octet after it), overlong_line at the octet that makes
// the length exceed max_line. At one octet, what earlier octets left pending is
// decided first (bare_cr of a pending CR, then the dot sequence that CR ends),
// then the octet's own kinds (bare_lf or nul, then the dot sequence it ends), and
// overlong_line last.
//
// Ending on a non-standard sequence (also_end_on). The data ends at the first
// sequence whose kind is enabled (or at the standard end, which always ends it).
// As for the standard end, T1 is content and "." T2 are not. For a T2 that is a
// bare CR the decoder must see the octet after the CR to know it is bare; that
// octet is not consumed (it is the first octet of the command stream).
//
// Octets held back: a "." after a T1 (and a CR after it) is held until the next
// octet decides whether it is content, so a chunk ending there yields its content
// on a later feed(). Nothing else is held.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smtpspec::reference {

/// Non-standard sequences met in mail data. "." means a dot alone on its line. The
/// numbers are stable (append only): they are the bit positions of also_end_on.
enum class data_anomaly : std::uint8_t {
  bare_lf = 0,     ///< LF not preceded by CR (2.3.8)
  bare_cr,         ///< CR not followed by LF (2.3.8)
  lf_dot_lf,       ///< <LF>.<LF>
  cr_dot_cr,       ///< <CR>.<CR>
  crlf_dot_lf,     ///< <CRLF>.<LF>
  lf_dot_crlf,     ///< <LF>.<CRLF>
  crlf_dot_cr,     ///< <CRLF>.<CR> (CR not followed by LF)
  cr_dot_crlf,     ///< <CR>.<CRLF>
  lf_dot_cr,       ///< <LF>.<CR>
  nul,             ///< NUL octet in the data
  overlong_line,   ///< a text line over 1000 octets including CRLF (4.5.3.1.6)
  cr_dot_lf,       ///< <CR>.<LF> (the ninth combination; appended after the others)
  count_
};
inline constexpr std::size_t data_anomaly_count = static_cast<std::size_t>(data_anomaly::count_);

std::string_view to_string(data_anomaly a) noexcept;

/// The also_end_on bit of one anomaly kind.
constexpr std::uint32_t data_anomaly_bit(data_anomaly a) noexcept {
  return std::uint32_t{1} << static_cast<unsigned>(a);
}

/// True for the eight non-standard dot sequences (the kinds also_end_on can use).
constexpr bool is_dot_sequence(data_anomaly a) noexcept {
  return (a >= data_anomaly::lf_dot_lf && a <= data_anomaly::lf_dot_cr) || a == data_anomaly::cr_dot_lf;
}

/// also_end_on value that ends data on every non-standard dot sequence.
inline constexpr std::uint32_t all_dot_sequences =
    data_anomaly_bit(data_anomaly::lf_dot_lf) | data_anomaly_bit(data_anomaly::cr_dot_cr) |
    data_anomaly_bit(data_anomaly::crlf_dot_lf) | data_anomaly_bit(data_anomaly::lf_dot_crlf) |
    data_anomaly_bit(data_anomaly::crlf_dot_cr) | data_anomaly_bit(data_anomaly::cr_dot_crlf) |
    data_anomaly_bit(data_anomaly::lf_dot_cr) | data_anomaly_bit(data_anomaly::cr_dot_lf);

/// What the encoder does with a CR or LF in the content that is not part of a CRLF.
enum class bare_line_endings : std::uint8_t {
  /// Rewrite each bare CR and each bare LF as CRLF (2.3.8: a client MUST send line
  /// ends only as CRLF), then stuff after CRLF. The output is RFC-conformant and a
  /// strict decoder returns the normalised content. The default.
  to_crlf,
  /// Send them unchanged, but treat the octet after any CR or LF as a line start
  /// for stuffing. Not 2.3.8-conformant, yet safe: no lenient receiver can find an
  /// end-of-data look-alike in the output. A strict decoder returns the content
  /// with an extra "." wherever a "." followed a bare CR or bare LF.
  stuff_after,
  /// Send them unchanged and stuff only after CRLF (the literal reading of 4.5.2).
  /// A strict decoder returns the content exactly, but a lenient receiver may see
  /// a dot sequence in it and end the data early (SMTP smuggling): for tests only.
  verbatim,
};

struct data_encoder_options {
  bare_line_endings bare = bare_line_endings::to_crlf;
};

/// Dot-stuffing encoder (4.5.2 client side): a "." is inserted before every line
/// that starts with "."; finish() appends the end-of-data indication, first adding
/// CRLF if the content did not end with one (4.1.1.4). Line starts: offset 0 and
/// after each CRLF, and with stuff_after also after each bare CR or bare LF.
class data_encoder {
 public:
  explicit data_encoder(data_encoder_options opt = {}) : opt_(opt) {}

  /// Appends the stuffed form of `chunk` to `out`. The concatenated output does not
  /// depend on how the content is split into chunks.
  void encode(std::string_view chunk, std::string& out);
  /// Appends [CRLF] "." CRLF and resets the encoder for the next message. Empty
  /// content gives ".\r\n" alone (the DATA command's CRLF is the first CRLF).
  void finish(std::string& out);

 private:
  void encode_octet(char c, const char* p, std::size_t i, std::size_t& run, std::string& out);

  data_encoder_options opt_;
  bool at_line_start_ = true;
  bool last_was_cr_ = false;
  bool ended_with_crlf_ = true;
};

/// Convenience: the whole stuffed form of `content` including the end-of-data line.
std::string encode_data(std::string_view content, data_encoder_options opt = {});

struct data_decoder_options {
  /// Sequences other than CRLF.CRLF that this decoder treats as end-of-data. Strict
  /// RFC 5321 (the default) has none. The embedded server's defect switches and
  /// the smuggling models set bits here (data_anomaly_bit(kind); only the dot
  /// sequences, is_dot_sequence(), are meaningful; other bits are ignored).
  std::uint32_t also_end_on = 0;
  /// Keep the leading dot of a stuffed line (a defect, for mutation tests).
  bool keep_stuffed_dot = false;
  /// Longest text line before overlong_line is recorded (including CRLF).
  std::size_t max_line = 1000;
  /// Bound on anomalies(); counts() keeps counting past it.
  std::size_t max_records = 256;
};

struct data_anomaly_record {
  data_anomaly kind;
  std::uint64_t offset;  ///< octet offset in the encoded stream where it starts
  friend bool operator==(const data_anomaly_record&, const data_anomaly_record&) = default;
};

/// Result of one feed() call.
struct data_feed_result {
  std::size_t consumed = 0;   ///< octets of the input used; the rest follows end-of-data
  bool end_of_data = false;   ///< the end-of-data indication was consumed
  data_anomaly ended_by = data_anomaly::count_;  ///< non-standard terminator, or count_ for CRLF.CRLF
};

/// Streaming decoder (4.5.2 server side): removes the stuffed dot, finds the end
/// of data, and records anomalies. After end_of_data, bytes after `consumed` belong
/// to the command stream (a pipelined command or a smuggled one).
class data_decoder {
 public:
  explicit data_decoder(data_decoder_options opt = {}) : opt_(opt) {}

  /// Decodes `chunk`, appending content to `out`. Once the end of data has been
  /// consumed, further calls consume nothing and report end_of_data again until
  /// reset().
  data_feed_result feed(std::string_view chunk, std::string& out);

  /// Counts of each anomaly seen since the last reset.
  const std::array<std::uint64_t, data_anomaly_count>& counts() const noexcept { return counts_; }
  /// The first max_records anomalies with their offsets, in detection order.
  const std::vector<data_anomaly_record>& anomalies() const noexcept { return records_; }
  bool saw(data_anomaly a) const noexcept { return counts_[static_cast<std::size_t>(a)] != 0; }
  /// Octets of the encoded stream consumed since the last reset.
  std::uint64_t consumed() const noexcept { return offset_; }
  /// True once the end-of-data indication has been consumed.
  bool ended() const noexcept { return state_ == state::ended; }
  /// Ready for the next message; options are kept.
  void reset();

 private:
  // Where the decoder stands between two octets (see the header comment).
  enum class state : std::uint8_t {
    line_start,  // at a line start: a "." here is stuffed or ends the data
    mid,         // inside a line, after an ordinary octet
    after_cr,    // after a CR whose LF is not yet seen (the CR is already content)
    after_bare,  // after a bare CR or bare LF (t1_ names it): a "." forms T1 "."
    dot,         // after T1 "." (the dot is held)
    dot_cr,      // after T1 "." CR (both held)
    ended,       // end of data consumed
  };
  enum class ending : std::uint8_t { crlf, lf, cr };  // a line-ending token

  void note(data_anomaly a, std::uint64_t offset);
  void count_line_octets(std::size_t n);
  void start_line(std::uint64_t crlf_offset, std::uint64_t next_offset);
  bool ends_on(data_anomaly a) const noexcept;
  data_feed_result finish(std::size_t consumed, data_anomaly by);
  void emit_held_dot(std::string& out) const;

  data_decoder_options opt_;
  std::array<std::uint64_t, data_anomaly_count> counts_{};
  std::vector<data_anomaly_record> records_;
  std::uint64_t offset_ = 0;       // octets consumed before the current feed
  state state_ = state::line_start;
  ending t1_ = ending::crlf;       // the token before a held "."
  std::uint64_t t1_offset_ = 0;    // offset of that token (0 for the virtual CRLF)
  std::uint64_t cr_offset_ = 0;    // offset of a pending CR (after_cr, dot_cr)
  std::uint64_t line_offset_ = 0;  // offset of the current line start
  std::size_t line_length_ = 0;    // octets of the current line counted so far
  bool line_overlong_ = false;     // overlong_line already recorded for this line
  data_anomaly ended_by_ = data_anomaly::count_;
};

}  // namespace smtpspec::reference
