// A case's result, named by the case; see result.hpp.
#include "smtpspec/harness/result.hpp"

namespace smtpspec::harness {

results::case_result result_for(const scenario_case& c) {
  results::case_result out;
  out.id = c.id;
  out.suite = c.suite;
  out.title = c.title;
  out.requirement = c.requirement;
  out.rfc = c.rfc;
  out.level = c.level;
  out.tags = c.tags;
  out.source = c.where.to_string();
  return out;
}

}  // namespace smtpspec::harness
