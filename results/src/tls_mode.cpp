// TLS mode names, as scenarios and reports spell them; see tls_mode.hpp.
#include "smtpspec/results/tls_mode.hpp"

namespace smtpspec::results {

std::string_view to_string(tls_mode m) noexcept {
  switch (m) {
    case tls_mode::none:
      return "none";
    case tls_mode::starttls:
      return "starttls";
    case tls_mode::implicit:
      return "implicit";
  }
  return "?";
}

}  // namespace smtpspec::results
