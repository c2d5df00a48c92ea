// One thing found wrong (or noted) during a case.
#pragma once

#include <string>

#include "smtpspec/reference/session.hpp"
#include "smtpspec/results/rfc_ref.hpp"

namespace smtpspec::results {

struct case_finding {
  reference::level strength = reference::level::must;
  rfc_ref cite;
  std::string text;       ///< what happened and what the RFC says
  std::string expected;   ///< e.g. "503"
  std::string observed;   ///< e.g. "250 2.1.5 Recipient OK" (untrusted text)
  int step = -1;          ///< index of the step, -1 for setup/checks
  bool security = false;  ///< desynchronisation or injection
};

}  // namespace smtpspec::results
