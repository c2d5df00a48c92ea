// Structure-aware mutation of fuzzer sessions (session_input.hpp): insert, delete,
// duplicate, swap and move actions, change a verb, rewrite or byte-mutate one
// argument, add ESMTP parameters and odd paths, switch the end-of-data variant,
// change BDAT sizes, queue plaintext behind STARTTLS, join or split writes. Most
// results stay meaningful SMTP sessions, so the fuzzer spends its time on servers'
// protocol states rather than on the text format.
//
// The byte-level mutation of one payload is delegated to a callback (libFuzzer's
// LLVMFuzzerMutate in the fuzz target), so this file builds and is tested anywhere.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "session_input.hpp"

namespace smtpspec::fuzz {

/// Mutates data[0, size) in place, returns the new size (at most max). The
/// signature of LLVMFuzzerMutate.
using byte_mutator = std::function<std::size_t(std::uint8_t* data, std::size_t size, std::size_t max)>;

class session_mutator {
 public:
  /// Without a byte mutator, payloads are changed by a small built-in one.
  explicit session_mutator(byte_mutator bytes = {});

  /// Applies one to three mutations to `s` (then normalise()). Returns a short name
  /// of the last mutation applied, for statistics and tests.
  std::string mutate(session_input& s, std::minstd_rand& rng);
  /// A prefix of `a` and a suffix of `b`, or `a` with an action of `b` spliced in.
  session_input cross_over(const session_input& a, const session_input& b, std::minstd_rand& rng);

  /// The libFuzzer custom mutator contract on the text form: decode, mutate, encode,
  /// fit into `max` octets (dropping actions if needed). Returns the new size.
  std::size_t mutate_text(std::uint8_t* data, std::size_t size, std::size_t max, unsigned seed);
  std::size_t cross_over_text(const std::uint8_t* a, std::size_t a_size, const std::uint8_t* b, std::size_t b_size,
                              std::uint8_t* out, std::size_t max, unsigned seed);

  /// A random action from the templates (commands with typical arguments, mail data
  /// with any end sequence, BDAT, STARTTLS with injection, pauses, raw tokens).
  action random_action(std::minstd_rand& rng);

 private:
  std::string mutate_bytes(std::string text, std::minstd_rand& rng, std::size_t max);
  void mutate_action(action& a, std::minstd_rand& rng);
  std::string random_argument(std::string_view verb, std::minstd_rand& rng);

  byte_mutator bytes_;
};

}  // namespace smtpspec::fuzz
