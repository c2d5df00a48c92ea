// command_parser_fuzzer: parse_command() (RFC 5321 4.1.1, 4.1.2, 4.5.3.1; RFC 3207
// 4; RFC 4954 4; RFC 3030 2; RFC 6531 3.3) on arbitrary lines.
//
// The whole input is one command line without its CRLF, so seeds are plain text.
// Each line is parsed under several option sets, and the invariants tie them:
//  * an error names a real error value and an offset inside the line; a command's
//    views all point into the line (command.hpp: "views into the line");
//  * an accepted command written back in canonical form parses to the same
//    fields (no serialiser exists in reference/, so the canonical form is built
//    here from the grammar of 4.1.1);
//  * verbs are case-insensitive (2.4): changing the verb's case changes nothing;
//  * leniency only widens: what the strict parser accepts, each leniency bit,
//    SMTPUTF8 (RFC 6531 3.3) and a longer line limit (4.5.3.1.4: "SMTP extensions
//    may be used to increase this limit") accept too, with the same fields; and
//    on a pure-ASCII line, SMTPUTF8 and the eight_bit bit change nothing at all.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "smtpspec/reference/command.hpp"
#include "smtpspec/reference/text.hpp"

namespace {

using namespace smtpspec::reference;
using smtpspec::fuzz::within;

bool same_path(const path& a, const path& b) {
  return a.text == b.text && a.source_route == b.source_route && a.null == b.null && a.postmaster == b.postmaster &&
         a.box.text == b.box.text && a.box.local_part == b.box.local_part && a.box.host == b.box.host &&
         a.box.kind == b.box.kind && a.box.quoted == b.box.quoted && a.box.utf8 == b.box.utf8;
}

/// The meaning of a command: every field but the raw line and verb spelling.
bool same_fields(const command& a, const command& b) {
  return a.kind == b.kind && a.domain == b.domain && a.domain_kind == b.domain_kind && same_path(a.address, b.address) &&
         a.params.text() == b.params.text() && a.chunk_size == b.chunk_size && a.last == b.last &&
         a.mechanism == b.mechanism && a.initial_response == b.initial_response && a.string_arg == b.string_arg &&
         a.smtputf8_param == b.smtputf8_param;
}

bool same_outcome(const result<command>& a, const result<command>& b) {
  if (a.has_value() != b.has_value()) return false;
  return a ? same_fields(*a, *b) : a.error() == b.error();
}

void check_error(std::string_view line, const command_options& opt, const parse_error& e) {
  FUZZ_CHECK(e.code != error::ok && e.code != error::need_more, "a rejected line names a non-restartable error");
  if (e.code == error::line_too_long) {
    // 4.5.3.1.4: the limit counts the CRLF the input does not contain.
    FUZZ_CHECK(line.size() + 2 > opt.max_line, "line_too_long only past the limit");
    FUZZ_CHECK(e.offset == opt.max_line - 2, "line_too_long points at the first octet past the limit");
  } else {
    FUZZ_CHECK(line.size() + 2 <= opt.max_line, "an over-long line is line_too_long before anything else");
    FUZZ_CHECK(e.offset <= line.size(), "an error offset lies within the line");
  }
  // Properties of the error value alone: checked once per value, not on each of the
  // dozen parses of every input (about 5 % of the run time in perf).
  static bool checked[256] = {};
  const auto index = static_cast<std::size_t>(e.code);
  if (index < std::size(checked) && checked[index]) return;
  FUZZ_CHECK(!to_string(e.code).empty() && !describe(e.code).empty(), "every error has a name and a description");
  const auto code = reply_code_for(e.code);
  FUZZ_CHECK(code == 500 || code == 501, "a parse error is answered with 500 or 501 (4.3.2)");
  if (index < std::size(checked)) checked[index] = true;
}

std::uint64_t leading_number(std::string_view s) {
  std::uint64_t v = 0;
  for (const char c : s) {
    if (c < '0' || c > '9') break;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

void check_params(std::string_view line, const esmtp_params& params) {
  FUZZ_CHECK(within(line, params.text()), "parameters are a view into the line");
  std::size_t n = 0;
  std::string_view seen[64];
  for (const auto& p : params) {
    FUZZ_CHECK(!p.keyword.empty(), "esmtp-keyword is 1 or more octets (4.1.2)");
    FUZZ_CHECK(!p.has_value || !p.value.empty(), "esmtp-value is 1 or more octets (4.1.2)");
    FUZZ_CHECK(p.has_value || p.value.empty(), "no value without \"=\"");
    for (std::size_t i = 0; i < n && i < 64; ++i)
      FUZZ_CHECK(!iequals(seen[i], p.keyword), "duplicate esmtp-keywords are rejected");
    if (n < 64) seen[n] = p.keyword;
    const auto found = params.find(p.keyword);
    FUZZ_CHECK(found && found->keyword.data() == p.keyword.data(), "find() returns the parameter by keyword");
    ++n;
  }
  FUZZ_CHECK(n == params.size(), "size() counts what iteration yields");
  FUZZ_CHECK(params.empty() == (n == 0), "empty() agrees with iteration");
}

void check_command(std::string_view line, const command_options& opt, const command& c) {
  FUZZ_CHECK(c.kind != verb::unknown, "an accepted command has a known verb");
  FUZZ_CHECK(line.size() + 2 <= opt.max_line, "accepted lines respect the limit (4.5.3.1.4)");
  FUZZ_CHECK(c.line.data() == line.data() && c.line.size() == line.size(), "command::line is the whole line");
  for (const std::string_view v : {c.verb_text, c.argument, c.domain, c.address.text, c.address.source_route,
                                   c.address.box.text, c.address.box.local_part, c.address.box.host, c.mechanism,
                                   c.string_arg})
    FUZZ_CHECK(within(line, v), "every view points into the line");
  if (c.initial_response) FUZZ_CHECK(within(line, *c.initial_response), "the AUTH response points into the line");
  FUZZ_CHECK(iequals(c.verb_text, to_string(c.kind)), "the verb as sent spells the verb, in any case (2.4)");
  check_params(line, c.params);

  switch (c.kind) {
    case verb::ehlo:
    case verb::helo:
      FUZZ_CHECK(!c.domain.empty(), "EHLO/HELO carry a Domain or address literal (4.1.1.1)");
      FUZZ_CHECK(c.kind == verb::ehlo || c.domain_kind == host_kind::domain, "HELO takes a Domain only (4.1.1.1)");
      break;
    case verb::mail:
    case verb::rcpt: {
      const path& p = c.address;
      FUZZ_CHECK(!p.text.empty(), "MAIL/RCPT carry a path");
      FUZZ_CHECK(!p.null || c.kind == verb::mail, "only the Reverse-path may be <> (4.1.1.2, 4.1.1.3)");
      FUZZ_CHECK(!p.postmaster || c.kind == verb::rcpt, "<Postmaster> is a Forward-path only (4.1.1.3)");
      if (!has(opt.lenient, leniency::missing_angle_brackets))
        FUZZ_CHECK(p.text.front() == '<' && p.text.back() == '>', "a Path is enclosed in <> (4.1.2)");
      FUZZ_CHECK(p.text.size() <= max_path, "a path is at most 256 octets (4.5.3.1.3)");
      if (!p.null && !p.postmaster) {
        FUZZ_CHECK(!p.box.local_part.empty() && !p.box.host.empty(), "a Mailbox has a local part and a host");
        FUZZ_CHECK(p.box.local_part.size() <= max_local_part, "a local part is at most 64 octets (4.5.3.1.1)");
        if (p.box.kind == host_kind::domain)
          FUZZ_CHECK(p.box.host.size() <= max_domain, "a domain is at most 255 octets (4.5.3.1.2)");
        FUZZ_CHECK(!p.box.utf8 || opt.smtputf8 || has(opt.lenient, leniency::eight_bit),
                   "UTF-8 in a mailbox only with SMTPUTF8 (RFC 6531 3.3) or the eight_bit leniency");
      }
      break;
    }
    case verb::bdat:
      FUZZ_CHECK(c.chunk_size == leading_number(c.argument), "chunk-size is the decimal number sent (RFC 3030 2)");
      break;
    case verb::auth:
      FUZZ_CHECK(!c.mechanism.empty() && c.mechanism.size() <= 20, "sasl-mech is 1*20 mech-char (RFC 4422 3.1)");
      break;
    case verb::data:
    case verb::rset:
    case verb::quit:
    case verb::starttls:
      FUZZ_CHECK(c.argument.empty(), "DATA, RSET, QUIT and STARTTLS take no argument (4.1.1, RFC 3207 4)");
      break;
    default:
      break;
  }
}

/// The command written back from its fields, per the grammar of 4.1.1 and of the
/// extension RFCs: upper-case verb, one SP, no optional spaces.
std::string canonical(const command& c) {
  std::string out(to_string(c.kind));
  switch (c.kind) {
    case verb::ehlo:
    case verb::helo:
      out.append(" ").append(c.domain);
      break;
    case verb::mail:
    case verb::rcpt:
      out.append(c.kind == verb::mail ? " FROM:" : " TO:").append(c.address.text);
      if (!c.params.empty()) out.append(" ").append(c.params.text());
      break;
    case verb::vrfy:
    case verb::expn:
      out.append(" ").append(c.string_arg);
      if (c.smtputf8_param) out.append(" SMTPUTF8");
      break;
    case verb::help:
    case verb::noop:
      if (!c.string_arg.empty()) out.append(" ").append(c.string_arg);
      break;
    case verb::auth:
      out.append(" ").append(c.mechanism);
      if (c.initial_response) out.append(" ").append(*c.initial_response);
      break;
    case verb::bdat:
      out.append(" ").append(std::to_string(c.chunk_size));
      if (c.last) out.append(" LAST");
      break;
    default:
      break;
  }
  return out;
}

/// Parses `line` under `opt` and checks everything that holds for one parse.
result<command> parse_and_check(std::string_view line, const command_options& opt) {
  result<command> r = parse_command(line, opt);
  if (!r) {
    check_error(line, opt, r.error());
    return r;
  }
  check_command(line, opt, *r);
  const std::string again = canonical(*r);
  // parse_command is a pure function of (line, options): a line that is already in
  // canonical form would be parsed a second time for nothing.
  if (again == line) return r;
  const auto reparsed = parse_command(again, opt);
  FUZZ_CHECK(reparsed.has_value(), "the canonical form of an accepted command parses: " + again);
  FUZZ_CHECK(same_fields(*r, *reparsed), "the canonical form means the same: " + again);
  return r;
}

/// `line` with the verb (the octets up to the first SP or control) case-mapped.
std::string with_verb_case(std::string_view line, char (*map)(char)) {
  std::string out(line);
  for (auto& ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if (u == ' ' || u < 0x20 || u == 0x7f) break;
    ch = map(ch);
  }
  return out;
}

bool ascii_only(std::string_view s) noexcept {
  for (const char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  const command_options strict{};
  const auto base = parse_and_check(line, strict);

  // 2.4: verbs are not case sensitive.
  for (auto map : {ascii_lower, ascii_upper}) {
    const std::string variant = with_verb_case(line, map);
    if (variant == line) continue;  // the same input: parse_command is deterministic
    FUZZ_CHECK(same_outcome(base, parse_command(variant, strict)), "the verb's case changes nothing (2.4)");
  }

  constexpr leniency all_bits = leniency::space_after_colon | leniency::missing_angle_brackets |
                                leniency::trailing_whitespace | leniency::eight_bit;
  const command_options wider[] = {
      {false, leniency::space_after_colon, max_command_line},
      {false, leniency::missing_angle_brackets, max_command_line},
      {false, leniency::trailing_whitespace, max_command_line},
      {false, leniency::eight_bit, max_command_line},
      {false, all_bits, max_command_line},
      {true, leniency::none, max_command_line},
      {true, all_bits, max_command_line},
      // RFC 4954 5: AUTH= on MAIL may add 500 octets to the limit.
      {false, leniency::none, max_command_line + 500},
  };
  const bool ascii = ascii_only(line);
  for (const auto& opt : wider) {
    const auto r = parse_and_check(line, opt);
    if (base) {
      FUZZ_CHECK(r.has_value(), "leniency and SMTPUTF8 only widen what is accepted");
      FUZZ_CHECK(same_fields(*base, *r), "a line the strict parser accepts means the same when parsed leniently");
    }
    if (ascii && opt.lenient == leniency::none && opt.max_line == max_command_line)
      FUZZ_CHECK(same_outcome(base, r), "on an ASCII line SMTPUTF8 changes nothing (RFC 6531 3.3)");
    if (ascii && opt.lenient == leniency::eight_bit && !opt.smtputf8)
      FUZZ_CHECK(same_outcome(base, r), "on an ASCII line the eight_bit leniency changes nothing");
  }
  return 0;
}
