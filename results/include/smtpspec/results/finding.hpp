// One thing found wrong (or noted) during a case.
#pragma once

#include <string>
#include <utility>

#include "smtpspec/reference/session.hpp"
#include "smtpspec/results/rfc_ref.hpp"

namespace smtpspec::results {

struct case_finding {
  case_finding() = default;
  case_finding(reference::level l, rfc_ref c, std::string what, std::string want = {}, std::string seen = {},
               int at_step = -1, bool is_security = false)
      : strength(l), cite(std::move(c)), text(std::move(what)), expected(std::move(want)), observed(std::move(seen)),
        step(at_step), security(is_security) {}

  reference::level strength = reference::level::must;
  rfc_ref cite;
  std::string text;       ///< what happened and what the RFC says
  std::string expected;   ///< e.g. "503"
  std::string observed;   ///< e.g. "250 2.1.5 Recipient OK" (untrusted text)
  int step = -1;          ///< index of the step, -1 for setup/checks
  bool security = false;  ///< desynchronisation or injection
  /// The requirement broken, in words that do not depend on the case (the model's
  /// rule for that command in that state, a narrowed expectation's case id, ...).
  /// With `cite` and `observation` it names the distinct defect (defects.hpp);
  /// empty: `text` stands for it.
  std::string rule;
  /// What the server did, reduced to what tells one defect from another ("502 to
  /// VRFY", "close while DATA was owed", "reply after lf_dot_lf").
  std::string observation;
  /// The finding counts toward this case's verdict. False: it is a note here, and
  /// the defect counts in the case named by `owner` (one defect, one FAIL).
  bool counted = true;
  std::string owner;
};

}  // namespace smtpspec::results
