// The one escaping helper of the HTML report. Every string that goes into the page
// (element text or attribute value, trusted or not) passes through escape(): a
// server's banner and replies are attacker-controlled, and a report that can be
// made to run script, fetch anything, or hide a smuggled CR LF is worse than none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace smtpspec::reports::html {

enum class escape_mode {
  /// Element text or a quoted attribute value; emits no markup. TAB and LF stay as
  /// they are (prose such as a multi-line requirement); CR, every other C0 control
  /// and DEL become their control pictures (U+2400..U+2421), C1 controls, bidi
  /// overrides and noncharacters a "⟨U+XXXX⟩" escape, and octets that are not
  /// valid UTF-8 (also encoded surrogates) "⟨ff⟩".
  text,
  /// Element text only (emits <i> elements): wire octets exactly readable. Like
  /// text, but TAB and LF become pictures too (a real line break follows every LF
  /// so lines still break after the visible ␍␊), the notation smtpspec adds is
  /// wrapped in <i> so it is styled apart from what the peer sent, and characters
  /// the peer sent that look like that notation (U+2400..U+2426, ⟨ ⟩, …) are
  /// escaped themselves: a peer cannot fake a CR LF by sending "␍␊".
  octets,
};

/// Appends `s` to `out`, escaped for `mode`. At most `limit` octets of `s` are
/// shown; beyond it (cut at a UTF-8 character boundary) the marker
/// "… N octets not shown" says how many were left out.
void escape(std::string& out, std::string_view s, escape_mode mode = escape_mode::text,
            std::size_t limit = std::numeric_limits<std::size_t>::max());

/// The same, returning the result.
std::string escaped(std::string_view s, escape_mode mode = escape_mode::text,
                    std::size_t limit = std::numeric_limits<std::size_t>::max());

/// Length of the longest prefix of `s` no longer than `n` octets that does not end
/// inside a UTF-8 sequence (so a cut does not turn a valid character into escapes).
std::size_t utf8_cut(std::string_view s, std::size_t n) noexcept;

/// "… N octets not shown" (N with thousands separators for readability).
std::string omitted_marker(std::uint64_t octets);

}  // namespace smtpspec::reports::html
