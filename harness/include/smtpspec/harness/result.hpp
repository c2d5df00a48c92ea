// The result of a scenario case before it runs: named by the case. The result
// model itself (verdicts, findings, run results) is results/.
#pragma once

#include "smtpspec/harness/scenario.hpp"
#include "smtpspec/results/case_result.hpp"

namespace smtpspec::harness {

/// A result that names the case (id, suite, title, requirement, citations, level,
/// tags, source); verdict, findings and transcript are the caller's to fill.
results::case_result result_for(const scenario_case& c);

}  // namespace smtpspec::harness
