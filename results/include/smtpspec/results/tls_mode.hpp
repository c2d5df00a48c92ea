// How a session used TLS: named in scenarios, run settings and results alike.
#pragma once

#include <cstdint>
#include <string_view>

namespace smtpspec::results {

enum class tls_mode : std::uint8_t {
  none,      ///< plaintext
  starttls,  ///< upgrade with STARTTLS (RFC 3207) before the case's steps
  implicit,  ///< TLS from the first octet (RFC 8314)
};
std::string_view to_string(tls_mode m) noexcept;

}  // namespace smtpspec::results
