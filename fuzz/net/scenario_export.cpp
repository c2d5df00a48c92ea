// Session -> scenario TOML; see scenario_export.hpp and scenarios/FORMAT.md.
#include "scenario_export.hpp"

#include <algorithm>
#include <cstdio>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::fuzz {
namespace {

bool ascii(std::string_view octets) {
  return std::all_of(octets.begin(), octets.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string hex_pairs(std::string_view octets) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < octets.size(); ++i) {
    if (i) out += (i % 32 == 0) ? "\n  " : " ";
    auto u = static_cast<unsigned char>(octets[i]);
    out += k_hex[u >> 4];
    out += k_hex[u & 15];
  }
  return out;
}

std::string toml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + toml_string(items[i], false);
  return out + "]";
}

/// A simple command line: CRLF-ended, no CR/LF inside, 7-bit (a `send` line).
bool sendable(const action& a) {
  if (a.kind != action_kind::command || a.eol != line_end::crlf) return false;
  const std::string line = a.line();
  return line.find_first_of("\r\n") == std::string::npos && ascii(line);
}

/// A raw step for octets written in one group, cut where pauses were.
std::string raw_step(std::string_view octets, const std::vector<std::size_t>& cuts) {
  std::string out =
      ascii(octets) ? "{ raw = " + toml_string(octets, true)
      // hex_pairs() breaks lines every 32 octets, which only a multi-line string may
      // hold (TOML 1.0; the loader skips line breaks between pairs).
      : octets.size() > 32 ? "{ raw_hex = \"\"\"\n  " + hex_pairs(octets) + "\"\"\""
                           : "{ raw_hex = \"" + hex_pairs(octets) + "\"";
  std::vector<std::size_t> split;
  for (auto c : cuts)
    if (c > 0 && c < octets.size() && (split.empty() || c > split.back())) split.push_back(c);
  if (!split.empty()) {
    out += ", split = [";
    for (std::size_t i = 0; i < split.size(); ++i) out += (i ? ", " : "") + std::to_string(split[i]);
    out += "]";
  }
  return out + " }";
}

}  // namespace

std::string toml_string(std::string_view octets, bool templated) {
  std::string out = "\"";
  for (char c : octets) {
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\r': out += "\\r"; continue;
      case '\n': out += "\\n"; continue;
      case '\t': out += "\\t"; continue;
      case '{': out += templated ? "{{" : "{"; continue;
      case '}': out += templated ? "}}" : "}"; continue;
      default: break;
    }
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string case_id_for(std::string_view suite, std::string_view source) {
  auto slash = source.find_last_of('/');
  if (slash != std::string_view::npos) source.remove_prefix(slash + 1);
  std::string name;
  for (char c : source) {
    c = reference::ascii_lower(c);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    name += ok ? c : '-';
  }
  if (name.size() > 80) name.resize(80);
  if (name.empty()) name = "session";
  return std::string(suite) + "." + name;
}

std::string to_scenario(const session_input& s, const scenario_options& opt) {
  std::vector<std::string> steps;
  const auto& acts = s.actions;
  for (std::size_t i = 0; i < acts.size();) {
    std::size_t end = i + 1;
    while (end < acts.size() && acts[end].glued) ++end;
    // The runner waits for every reply after a step, so a BDAT chunk longer than
    // what its step carries (a declared size on purpose larger) must be completed
    // in the same step: take the following groups into it.
    std::uint64_t deficit = 0;
    for (std::size_t k = i; k < end; ++k) {
      const auto& b = acts[k];
      if (b.kind == action_kind::bdat && b.bdat_size && *b.bdat_size > b.text.size())
        deficit = *b.bdat_size - b.text.size();
      else if (deficit > 0)
        deficit -= std::min<std::uint64_t>(deficit, b.wire().size());
    }
    while (deficit > 0 && end < acts.size()) {
      deficit -= std::min<std::uint64_t>(deficit, acts[end].wire().size());
      ++end;
      while (end < acts.size() && acts[end].glued) ++end;
    }
    // One group: a single send, a batch, a starttls or bdat step, or raw octets.
    const bool all_send = std::all_of(acts.begin() + static_cast<std::ptrdiff_t>(i),
                                      acts.begin() + static_cast<std::ptrdiff_t>(end), sendable);
    const action& a = acts[i];
    if (all_send && end - i == 1) {
      steps.push_back("{ send = " + toml_string(a.line(), true) + " }");
    } else if (all_send) {
      std::vector<std::string> lines;
      for (std::size_t k = i; k < end; ++k) lines.push_back(toml_string(acts[k].line(), true));
      std::string batch = "{ batch = [";
      for (std::size_t k = 0; k < lines.size(); ++k) batch += (k ? ", " : "") + lines[k];
      steps.push_back(batch + "] }");
    } else if (end - i == 1 && a.kind == action_kind::starttls && ascii(a.text)) {
      steps.push_back(a.text.empty() ? "{ starttls = true }"
                                     : "{ starttls = { inject = " + toml_string(a.text, true) + " } }");
    } else if (end - i == 1 && a.kind == action_kind::bdat && ascii(a.text)) {
      std::string step = "{ bdat = " + toml_string(a.text, true);
      if (a.bdat_last) step += ", last = true";
      if (a.bdat_size) step += ", size = " + std::to_string(*a.bdat_size);
      steps.push_back(step + " }");
    } else {
      std::string octets;
      std::vector<std::size_t> cuts;
      for (std::size_t k = i; k < end; ++k) {
        const auto& b = acts[k];
        if (b.kind == action_kind::pause) {
          if (k == i) {
            if (b.pause_ms > 0) steps.push_back("{ wait = " + std::to_string(b.pause_ms / 1000.0).substr(0, 5) + " }");
          } else {
            cuts.push_back(octets.size());
          }
        } else if (b.kind == action_kind::close) {
          if (!octets.empty()) steps.push_back(raw_step(octets, cuts));
          octets.clear();
          cuts.clear();
          steps.push_back("{ close = true }");
          break;
        } else {
          octets += b.wire();
        }
      }
      if (!octets.empty()) steps.push_back(raw_step(octets, cuts));
      if (!steps.empty() && steps.back() == "{ close = true }") break;  // nothing after our close
    }
    i = end;
  }
  if (steps.empty()) steps.push_back("{ send = \"NOOP\" }");  // a case needs a step

  std::string out;
  if (opt.with_suite) {
    out += "[suite]\n";
    out += "name  = " + toml_string(opt.suite, false) + "\n";
    out += "title = " + toml_string(opt.suite_title, false) + "\n\n";
  }
  out += "# Generated by session_to_scenario";
  if (!opt.source.empty()) out += " from " + opt.source;
  out += ". The session (fuzz/net/session_input.hpp):\n";
  const std::string text = encode(s);
  std::size_t shown = 0;
  for (std::size_t pos = 0; pos < text.size() && shown < 200; ++shown) {
    auto nl = text.find('\n', pos);
    out += "#   " + text.substr(pos, std::min<std::size_t>(nl - pos, 300)) + "\n";
    pos = nl == std::string::npos ? text.size() : nl + 1;
  }
  out += "[[case]]\n";
  out += "id          = " + toml_string(opt.id.empty() ? case_id_for(opt.suite, opt.source) : opt.id, false) + "\n";
  std::string title = opt.title;
  if (title.empty())
    title = "Replays the fuzzer session " + (opt.source.empty() ? std::string("(stdin)") : opt.source) + " (" +
            std::to_string(s.actions.size()) + " actions)";
  out += "title       = " + toml_string(title, false) + "\n";
  out += "requirement = " + toml_string(opt.requirement, false) + "\n";
  out += "rfc         = " + toml_list(opt.rfc) + "\n";
  out += "level       = " + toml_string(opt.level, false) + "\n";
  if (!opt.tags.empty()) out += "tags        = " + toml_list(opt.tags) + "\n";
  if (opt.tls != "none") out += "tls         = " + toml_string(opt.tls, false) + "\n";
  out += "steps = [\n";
  for (const auto& st : steps) out += "  " + st + ",\n";
  out += "]\n";
  return out;
}

}  // namespace smtpspec::fuzz
