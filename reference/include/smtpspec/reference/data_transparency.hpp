// DATA transparency: RFC 5321 section 4.5.2 (dot-stuffing), the end-of-data
// indication of 4.1.1.4 (<CRLF>.<CRLF>), and the text line limit of 4.5.3.1.6.
//
// Both directions are streaming and sans-I/O: feed any split of the input and the
// result is the same as feeding it whole. The decoder is strict by default (only
// CRLF.CRLF ends the data) and classifies every non-standard line ending and
// end-of-data look-alike it meets, because SMTP smuggling is built on exactly the
// sequences a lenient receiver mistakes for end-of-data.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace smtpspec::reference {

/// Non-standard sequences met in mail data. "." means a dot alone on its line.
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
  count_
};
inline constexpr std::size_t data_anomaly_count = static_cast<std::size_t>(data_anomaly::count_);

std::string_view to_string(data_anomaly a) noexcept;

/// Dot-stuffing encoder (4.5.2 client side): a "." is inserted before every line
/// that starts with "."; finish() appends the end-of-data indication, first adding
/// CRLF if the content did not end with one (4.1.1.4).
class data_encoder {
 public:
  /// Appends the stuffed form of `chunk` to `out`.
  void encode(std::string_view chunk, std::string& out);
  /// Appends [CRLF] "." CRLF and resets the encoder for the next message.
  void finish(std::string& out);

 private:
  bool at_line_start_ = true;
  bool last_was_cr_ = false;
  bool ended_with_crlf_ = true;
};

/// Convenience: the whole stuffed form of `content` including the end-of-data line.
std::string encode_data(std::string_view content);

struct data_decoder_options {
  /// Sequences other than CRLF.CRLF that this decoder treats as end-of-data. Strict
  /// RFC 5321 (the default) has none. The embedded server's defect switches and
  /// the smuggling models set bits here (bit i = data_anomaly i; only the dot
  /// sequences lf_dot_lf .. lf_dot_cr are meaningful).
  std::uint32_t also_end_on = 0;
  /// Keep the leading dot of a stuffed line (a defect, for mutation tests).
  bool keep_stuffed_dot = false;
  /// Longest text line before overlong_line is recorded (including CRLF).
  std::size_t max_line = 1000;
};

struct data_anomaly_record {
  data_anomaly kind;
  std::uint64_t offset;  ///< octet offset in the encoded stream where it starts
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

  /// Decodes `chunk`, appending content to `out`.
  data_feed_result feed(std::string_view chunk, std::string& out);

  /// Counts of each anomaly seen since the last reset.
  const std::array<std::uint64_t, data_anomaly_count>& counts() const noexcept { return counts_; }
  /// The first few anomalies with their offsets (bounded list).
  const std::vector<data_anomaly_record>& anomalies() const noexcept { return records_; }
  bool saw(data_anomaly a) const noexcept { return counts_[static_cast<std::size_t>(a)] != 0; }
  /// Ready for the next message; options are kept.
  void reset();

 private:
  data_decoder_options opt_;
  std::array<std::uint64_t, data_anomaly_count> counts_{};
  std::vector<data_anomaly_record> records_;
  // The implementation adds its own state here.
  std::uint64_t offset_ = 0;
  std::uint32_t state_ = 0;
  std::size_t line_length_ = 0;
};

}  // namespace smtpspec::reference
