// A small reader that turns a fuzzer's input into the choices a target needs
// (options, split points, the payload). Clang ships <fuzzer/FuzzedDataProvider.h>,
// but g++ does not find it, and every target must also build as a replay test
// under g++ (fuzz/CMakeLists.txt); this is the part of it the targets use.
//
// Unlike FuzzedDataProvider, everything is taken from the FRONT of the input: a
// target reads a short fixed header and treats the rest as the payload, so seed
// files are a few header bytes followed by readable SMTP text. Reading past the
// end yields zeros and empty views, never an error: every input is valid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace smtpspec::fuzz {

class fuzz_input {
 public:
  fuzz_input(const std::uint8_t* data, std::size_t size) noexcept
      : rest_(reinterpret_cast<const char*>(data), size) {}

  /// The next octet, or 0 once the input is used up.
  std::uint8_t byte() noexcept {
    if (rest_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }

  /// The next two octets, big-endian (0 past the end).
  std::uint16_t u16() noexcept {
    const std::uint16_t hi = byte();
    return static_cast<std::uint16_t>(hi << 8 | byte());
  }

  /// Up to `n` octets.
  std::string_view bytes(std::size_t n) noexcept {
    const std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(out.size());
    return out;
  }

  /// Everything not read yet.
  std::string_view rest() noexcept {
    const std::string_view out = rest_;
    rest_ = {};
    return out;
  }

  std::size_t remaining() const noexcept { return rest_.size(); }

 private:
  std::string_view rest_;
};

/// A position in [0, size] chosen by one selector octet, spread evenly so that
/// the ends and the middle are all reachable whatever the payload's length.
constexpr std::size_t pick_position(std::uint8_t selector, std::size_t size) noexcept {
  return size * selector / 255;
}

/// Splits `whole` at the given positions (any order, any value: clamped and
/// sorted) into consecutive pieces whose concatenation is `whole`.
inline std::vector<std::string_view> split_at(std::string_view whole, std::vector<std::size_t> cuts) {
  for (auto& c : cuts)
    if (c > whole.size()) c = whole.size();
  // Insertion sort: a handful of cuts.
  for (std::size_t i = 1; i < cuts.size(); ++i)
    for (std::size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; --j) std::swap(cuts[j - 1], cuts[j]);
  std::vector<std::string_view> pieces;
  std::size_t from = 0;
  for (const std::size_t c : cuts) {
    pieces.push_back(whole.substr(from, c - from));
    from = c;
  }
  pieces.push_back(whole.substr(from));
  return pieces;
}

/// `whole` in three pieces, cut at the positions two selector octets pick.
inline std::vector<std::string_view> split_by(std::string_view whole, std::uint8_t cut1, std::uint8_t cut2) {
  return split_at(whole, {pick_position(cut1, whole.size()), pick_position(cut2, whole.size())});
}

/// `whole` one octet at a time.
inline std::vector<std::string_view> octets_of(std::string_view whole) {
  std::vector<std::string_view> pieces;
  pieces.reserve(whole.size());
  for (std::size_t i = 0; i < whole.size(); ++i) pieces.push_back(whole.substr(i, 1));
  return pieces;
}

}  // namespace smtpspec::fuzz
