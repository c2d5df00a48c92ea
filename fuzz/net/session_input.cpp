// The network fuzzer's session format; see session_input.hpp.
#include "session_input.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "smtpspec/reference/data_transparency.hpp"

namespace smtpspec::fuzz {
namespace {

namespace ref = smtpspec::reference;

constexpr std::array<std::string_view, data_end_count> k_end_names{
    "crlf.crlf", "lf.lf", "cr.cr", "crlf.lf", "lf.crlf", "crlf.cr", "cr.crlf", "lf.cr", "cr.lf", "none"};
constexpr std::array<std::string_view, data_end_count> k_end_wire{"\r\n.\r\n", "\n.\n",   "\r.\r", "\r\n.\n", "\n.\r\n",
                                                                  "\r\n.\r",   "\r.\r\n", "\n.\r", "\r.\n",   ""};

/// Runs longer than this are written as one octet and \{N}.
constexpr std::size_t k_run = 12;

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

void escape_octet(char c, std::string& out) {
  static constexpr char k_hex[] = "0123456789abcdef";
  const auto u = static_cast<unsigned char>(c);
  switch (c) {
    case '\\': out += "\\\\"; return;
    case '\r': out += "\\r"; return;
    case '\n': out += "\\n"; return;
    case '\t': out += "\\t"; return;
    case '\0': out += "\\0"; return;
    default: break;
  }
  if (u < 0x20 || u >= 0x7f) {
    out += "\\x";
    out += k_hex[u >> 4];
    out += k_hex[u & 15];
    return;
  }
  out += c;
}

std::optional<line_end> parse_line_end(std::string_view v) {
  if (v == "crlf") return line_end::crlf;
  if (v == "lf") return line_end::lf;
  if (v == "cr") return line_end::cr;
  if (v == "none") return line_end::none;
  return std::nullopt;
}

std::optional<data_end> parse_data_end(std::string_view v) {
  for (std::size_t i = 0; i < k_end_names.size(); ++i)
    if (k_end_names[i] == v) return static_cast<data_end>(i);
  return std::nullopt;
}

std::optional<std::uint64_t> parse_number(std::string_view v) {
  std::uint64_t n = 0;
  if (v.empty() || v.size() > 19) return std::nullopt;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size()) return std::nullopt;
  return n;
}

/// One line of the text form, or nothing when it is not an action.
std::optional<action> parse_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  auto first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos || line[first] == '#') return std::nullopt;
  action a;
  if (line.front() == '+') {
    a.glued = true;
    line.remove_prefix(1);
  }
  std::size_t i = 0;
  while (i < line.size() && line[i] >= 'a' && line[i] <= 'z') ++i;
  const std::string_view op = line.substr(0, i);
  std::string_view opts;
  if (i < line.size() && line[i] == '[') {
    auto close = line.find(']', i);
    if (close == std::string_view::npos) return std::nullopt;
    opts = line.substr(i + 1, close - i - 1);
    i = close + 1;
  }
  std::string_view payload;
  if (i < line.size()) {
    if (line[i] != ' ') return std::nullopt;
    payload = line.substr(i + 1);
  }

  if (op == "cmd")
    a.kind = action_kind::command;
  else if (op == "raw")
    a.kind = action_kind::raw;
  else if (op == "data")
    a.kind = action_kind::data;
  else if (op == "bdat")
    a.kind = action_kind::bdat;
  else if (op == "starttls")
    a.kind = action_kind::starttls;
  else if (op == "pause")
    a.kind = action_kind::pause;
  else if (op == "close")
    a.kind = action_kind::close;
  else
    return std::nullopt;

  // Options: "key=value" or "flag", separated by ',' or ' '.
  while (!opts.empty()) {
    auto sep = opts.find_first_of(", ");
    std::string_view opt = opts.substr(0, sep);
    opts = sep == std::string_view::npos ? std::string_view() : opts.substr(sep + 1);
    auto eq = opt.find('=');
    std::string_view key = opt.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
    if (a.kind == action_kind::command && key == "eol") {
      if (auto e = parse_line_end(value)) a.eol = *e;
    } else if (a.kind == action_kind::data && key == "end") {
      if (auto e = parse_data_end(value)) a.end = *e;
    } else if (a.kind == action_kind::data && key == "nostuff") {
      a.stuff = false;
    } else if (a.kind == action_kind::bdat && key == "size") {
      if (auto n = parse_number(value)) a.bdat_size = *n;
    } else if (a.kind == action_kind::bdat && key == "last") {
      a.bdat_last = true;
    }
  }

  std::string text = unescape_payload(payload);
  switch (a.kind) {
    case action_kind::command: {
      auto sp = text.find(' ');
      a.verb = text.substr(0, sp);
      a.has_argument = sp != std::string::npos;
      if (a.has_argument) a.text = text.substr(sp + 1);
      break;
    }
    case action_kind::pause: {
      std::size_t digits = 0;
      while (digits < text.size() && digits < 9 && text[digits] >= '0' && text[digits] <= '9') ++digits;
      a.pause_ms = static_cast<std::uint32_t>(parse_number(std::string_view(text).substr(0, digits)).value_or(0));
      break;
    }
    case action_kind::close: break;
    default: a.text = std::move(text); break;
  }
  return a;
}

}  // namespace

std::string_view to_string(action_kind k) noexcept {
  switch (k) {
    case action_kind::command: return "cmd";
    case action_kind::raw: return "raw";
    case action_kind::data: return "data";
    case action_kind::bdat: return "bdat";
    case action_kind::starttls: return "starttls";
    case action_kind::pause: return "pause";
    case action_kind::close: return "close";
  }
  return "?";
}

std::string_view to_string(line_end e) noexcept {
  switch (e) {
    case line_end::crlf: return "crlf";
    case line_end::lf: return "lf";
    case line_end::cr: return "cr";
    case line_end::none: return "none";
  }
  return "?";
}

std::string_view to_string(data_end e) noexcept {
  auto i = static_cast<std::size_t>(e);
  return i < k_end_names.size() ? k_end_names[i] : "?";
}

std::string_view wire_of(data_end e) noexcept {
  auto i = static_cast<std::size_t>(e);
  return i < k_end_wire.size() ? k_end_wire[i] : "";
}

std::string action::line() const {
  std::string out = verb;
  if (has_argument) {
    out += ' ';
    out += text;
  }
  return out;
}

std::string action::wire() const {
  switch (kind) {
    case action_kind::command: {
      std::string out = line();
      switch (eol) {
        case line_end::crlf: out += "\r\n"; break;
        case line_end::lf: out += '\n'; break;
        case line_end::cr: out += '\r'; break;
        case line_end::none: break;
      }
      return out;
    }
    case action_kind::raw: return text;
    case action_kind::data: {
      std::string out;
      if (stuff) {
        // Stuff after CRLF only (the literal reading of 4.5.2): bare CR/LF and the
        // look-alikes they form reach the server as written.
        ref::data_encoder enc(ref::data_encoder_options{ref::bare_line_endings::verbatim});
        enc.encode(text, out);
        if (end == data_end::crlf_dot_crlf) {
          enc.finish(out);
          return out;
        }
      } else {
        out = text;
        if (end == data_end::crlf_dot_crlf && (out.empty() || out.ends_with("\r\n"))) {
          out += ".\r\n";
          return out;
        }
      }
      out += wire_of(end);
      return out;
    }
    case action_kind::bdat: {
      std::string out = "BDAT " + std::to_string(bdat_size.value_or(text.size()));
      if (bdat_last) out += " LAST";
      out += "\r\n";
      out += text;
      return out;
    }
    case action_kind::starttls: return "STARTTLS\r\n" + text;
    case action_kind::pause:
    case action_kind::close: return {};
  }
  return {};
}

std::string escape_payload(std::string_view octets) {
  std::string out;
  out.reserve(octets.size() + 8);
  for (std::size_t i = 0; i < octets.size();) {
    std::size_t run = 1;
    while (i + run < octets.size() && octets[i + run] == octets[i]) ++run;
    if (run > k_run) {
      escape_octet(octets[i], out);
      out += "\\{" + std::to_string(run - 1) + "}";
      i += run;
      continue;
    }
    escape_octet(octets[i], out);
    ++i;
  }
  // A trailing blank would not survive editors that strip them.
  if (!out.empty() && out.back() == ' ') {
    out.pop_back();
    out += "\\x20";
  }
  return out;
}

std::string unescape_payload(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size() && out.size() <= session_limits::max_payload; ++i) {
    char c = text[i];
    if (c != '\\' || i + 1 >= text.size()) {
      out += c;
      continue;
    }
    char n = text[i + 1];
    switch (n) {
      case '\\':
        out += '\\';
        ++i;
        continue;
      case 'r':
        out += '\r';
        ++i;
        continue;
      case 'n':
        out += '\n';
        ++i;
        continue;
      case 't':
        out += '\t';
        ++i;
        continue;
      case '0':
        out += '\0';
        ++i;
        continue;
      case 'x':
        if (i + 3 < text.size() && is_hex(text[i + 2]) && is_hex(text[i + 3])) {
          out += static_cast<char>(hex_value(text[i + 2]) * 16 + hex_value(text[i + 3]));
          i += 3;
          continue;
        }
        break;
      case '{': {
        auto close = text.find('}', i + 2);
        if (close != std::string_view::npos && !out.empty()) {
          if (auto count = parse_number(text.substr(i + 2, close - i - 2));
              count && *count <= session_limits::max_payload) {
            out.append(static_cast<std::size_t>(*count), out.back());
            i = close;
            continue;
          }
        }
        break;
      }
      default: break;
    }
    out += c;  // a backslash that starts no escape is literal
  }
  if (out.size() > session_limits::max_payload) out.resize(session_limits::max_payload);
  return out;
}

void normalise(session_input& s) {
  if (s.actions.size() > session_limits::max_actions) s.actions.resize(session_limits::max_actions);
  std::size_t wire = 0;
  std::uint32_t paused = 0;
  for (std::size_t i = 0; i < s.actions.size(); ++i) {
    auto& a = s.actions[i];
    if (i == 0) a.glued = false;
    if (a.text.size() > session_limits::max_payload) a.text.resize(session_limits::max_payload);
    if (a.kind == action_kind::command) {
      // The verb ends at the first SP: re-split a line whose verb gained one.
      if (auto sp = a.verb.find(' '); sp != std::string::npos) {
        std::string rest = a.verb.substr(sp + 1);
        a.verb.resize(sp);
        if (a.has_argument) rest += ' ' + a.text;
        a.text = std::move(rest);
        a.has_argument = true;
      }
      if (!a.has_argument) a.text.clear();
      if (a.verb.size() > session_limits::max_payload) a.verb.resize(session_limits::max_payload);
    } else {
      a.verb.clear();
      a.has_argument = false;
    }
    if (a.kind != action_kind::command) a.eol = line_end::crlf;
    if (a.kind != action_kind::data) {
      a.end = data_end::crlf_dot_crlf;
      a.stuff = true;
    }
    if (a.kind != action_kind::bdat) {
      a.bdat_size.reset();
      a.bdat_last = false;
    } else if (a.bdat_size) {
      a.bdat_size = std::min(*a.bdat_size, session_limits::max_bdat_size);
    }
    if (a.kind == action_kind::pause) {
      a.pause_ms = std::min({a.pause_ms, session_limits::max_pause_ms, session_limits::max_total_pause_ms - paused});
      paused += a.pause_ms;
    } else {
      a.pause_ms = 0;
    }
    if (a.kind == action_kind::pause || a.kind == action_kind::close) a.text.clear();
    wire += a.wire().size();
    if (wire > session_limits::max_wire) {
      s.actions.resize(i);
      break;
    }
  }
}

session_input decode(std::string_view text) {
  session_input s;
  while (!text.empty() && s.actions.size() < session_limits::max_actions) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (auto a = parse_line(line)) s.actions.push_back(std::move(*a));
  }
  normalise(s);
  return s;
}

std::string encode(const session_input& s) {
  std::string out;
  for (const auto& a : s.actions) {
    if (a.glued) out += '+';
    out += to_string(a.kind);
    std::string opts;
    auto add = [&](std::string_view o) {
      if (!opts.empty()) opts += ',';
      opts += o;
    };
    switch (a.kind) {
      case action_kind::command:
        if (a.eol != line_end::crlf) add("eol=" + std::string(to_string(a.eol)));
        break;
      case action_kind::data:
        if (a.end != data_end::crlf_dot_crlf) add("end=" + std::string(to_string(a.end)));
        if (!a.stuff) add("nostuff");
        break;
      case action_kind::bdat:
        if (a.bdat_size) add("size=" + std::to_string(*a.bdat_size));
        if (a.bdat_last) add("last");
        break;
      default: break;
    }
    if (!opts.empty()) out += "[" + opts + "]";
    std::string payload;
    switch (a.kind) {
      case action_kind::command: payload = escape_payload(a.line()); break;
      case action_kind::pause: payload = std::to_string(a.pause_ms); break;
      case action_kind::close: break;
      default: payload = escape_payload(a.text); break;
    }
    if (!payload.empty()) out += " " + payload;
    out += '\n';
  }
  return out;
}

action make_command(std::string_view line, line_end eol, bool glued) {
  action a;
  a.kind = action_kind::command;
  a.glued = glued;
  a.eol = eol;
  auto sp = line.find(' ');
  a.verb = std::string(line.substr(0, sp));
  a.has_argument = sp != std::string_view::npos;
  if (a.has_argument) a.text = std::string(line.substr(sp + 1));
  return a;
}

action make_raw(std::string_view octets, bool glued) {
  action a;
  a.kind = action_kind::raw;
  a.glued = glued;
  a.text = std::string(octets);
  return a;
}

action make_data(std::string_view content, data_end end, bool glued) {
  action a;
  a.kind = action_kind::data;
  a.glued = glued;
  a.text = std::string(content);
  a.end = end;
  return a;
}

action make_bdat(std::string_view chunk, bool last, std::optional<std::uint64_t> size) {
  action a;
  a.kind = action_kind::bdat;
  a.text = std::string(chunk);
  a.bdat_last = last;
  a.bdat_size = size;
  return a;
}

action make_starttls(std::string_view injected) {
  action a;
  a.kind = action_kind::starttls;
  a.text = std::string(injected);
  return a;
}

action make_pause(std::uint32_t ms) {
  action a;
  a.kind = action_kind::pause;
  a.pause_ms = ms;
  return a;
}

action make_close() {
  action a;
  a.kind = action_kind::close;
  return a;
}

}  // namespace smtpspec::fuzz
