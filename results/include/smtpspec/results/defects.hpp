// Distinct defects: one defect is one FAIL (or WARN), in the case that owns it.
//
// A server without VRFY shows the same 502 in every case that sends VRFY. Readers
// count defects, not cases, so the findings of a run are grouped by what they say
// about the server: the citation, the requirement broken (case_finding::rule) and
// what was observed (case_finding::observation). Each group is one defect. It
// counts toward exactly one case, its owner; in every other case it stays visible
// as a note (case_finding::counted false, with the owner's id).
//
// The owner is, in this order of preference and then in run order:
//   1. a case whose main (first) citation is the defect's citation, or a section
//      above or below it;
//   2. a case that cites it among its other citations;
//   3. for a desynchronisation or injection, a case tagged "security";
//   4. the first case in which the defect was seen.
// A narrowed expectation of a case names the case in its rule, so such a finding
// is always its own case's.
#pragma once

#include <string>
#include <vector>

#include "smtpspec/reference/session.hpp"
#include "smtpspec/results/case_result.hpp"
#include "smtpspec/results/rfc_ref.hpp"

namespace smtpspec::results {

struct defect {
  reference::level strength = reference::level::must;  ///< the strongest finding of the group
  rfc_ref cite;
  std::string rule;
  std::string observation;
  std::string text;                ///< the owner's finding text (an example)
  bool security = false;
  std::string owner;               ///< the case whose verdict it sets
  std::vector<std::string> cases;  ///< every case it was seen in, in run order
};

/// Groups the findings of `cases` (MAY-level findings are notes and make no
/// defect), marks each finding counted or not, decides every case's verdict again
/// (decide_verdict) and returns the defects, strongest first, then in run order.
std::vector<defect> assign_defects(std::vector<case_result>& cases, bool strict);

/// The identity of a finding's defect (citation, rule, observation).
std::string defect_key(const case_finding& f);

}  // namespace smtpspec::results
