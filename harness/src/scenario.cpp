// Small out-of-line helpers of the scenario data model (scenario.hpp).
#include "smtpspec/harness/scenario.hpp"

#include <algorithm>
#include <string>
#include <string_view>

namespace smtpspec::harness {

std::string source_position::to_string() const {
  if (line == 0) return file;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string_view to_string(client_profile p) noexcept {
  switch (p) {
    case client_profile::plain: return "plain";
    case client_profile::starttls: return "starttls";
    case client_profile::auth: return "auth";
  }
  return "?";
}

namespace {

void append_part(std::string& out, std::string_view part) {
  if (!out.empty()) out += '/';
  out += part;
}

}  // namespace

bool reply_expectation::lists(std::uint16_t code) const noexcept {
  if (std::find(codes.begin(), codes.end(), code) != codes.end()) return true;
  const int klass = code / 100;
  return klass < 8 && ((classes >> klass) & 1u) != 0;
}

std::string reply_expectation::to_string() const {
  std::string out;
  for (const auto code : codes) append_part(out, std::to_string(code));
  for (int klass = 0; klass < 8; ++klass) {
    if ((classes >> klass) & 1u) append_part(out, std::to_string(klass) + "yz");
  }
  if (close) append_part(out, "close");
  if (none) append_part(out, "none");
  return out;
}

}  // namespace smtpspec::harness
