// `smtpspec list`: the cases with their RFC section and requirement level.
#include <iostream>

#include "commands.hpp"
#include "selection.hpp"

namespace smtpspec::cli {

namespace {
std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += c;
  }
  return out + "\"";
}
}  // namespace

int run_list(const list_command& cmd) {
  loaded_cases lc;
  if (!load_selection(cmd.select, lc)) return exit_code::usage;
  if (cmd.json) {
    std::cout << "[\n";
    for (std::size_t i = 0; i < lc.cases.size(); ++i) {
      const auto& c = *lc.cases[i];
      std::cout << "  {\"id\": " << json_string(c.id) << ", \"suite\": " << json_string(c.suite)
                << ", \"rfc\": " << json_string(c.rfc.empty() ? "" : c.rfc.front().to_string())
                << ", \"level\": " << json_string(std::string(reference::to_string(c.level)))
                << ", \"title\": " << json_string(c.title) << "}" << (i + 1 < lc.cases.size() ? ",\n" : "\n");
    }
    std::cout << "]\n";
    return exit_code::ok;
  }
  std::string suite;
  for (const auto* c : lc.cases) {
    if (c->suite != suite) {
      suite = c->suite;
      std::cout << "\n" << suite << "\n";
    }
    std::string cite = c->rfc.empty() ? "" : c->rfc.front().to_string();
    std::cout << "  " << c->id << "\n      " << reference::to_string(c->level) << "  " << cite << "  " << c->title
              << "\n";
  }
  std::cout << "\n" << lc.cases.size() << " cases\n";
  return exit_code::ok;
}

}  // namespace smtpspec::cli
