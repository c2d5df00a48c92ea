// A citation a result carries: which RFC section a case or finding rests on.
#pragma once

#include <cstdint>
#include <string>

#include "smtpspec/reference/session.hpp"

namespace smtpspec::results {

/// An RFC section reference with owned text ("5321#4.1.1.4"); reference::citation
/// is its non-owning form.
struct rfc_ref {
  std::uint16_t rfc = 5321;
  std::string section;
  reference::citation citation() const { return {rfc, section}; }
  std::string to_string() const;  ///< "RFC 5321 4.1.1.4"
  std::string url() const;
};

}  // namespace smtpspec::results
