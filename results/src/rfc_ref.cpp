// Citation text and links; see rfc_ref.hpp.
#include "smtpspec/results/rfc_ref.hpp"

namespace smtpspec::results {

std::string rfc_ref::to_string() const { return citation().to_string(); }

std::string rfc_ref::url() const { return citation().url(); }

}  // namespace smtpspec::results
