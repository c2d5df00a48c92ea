// ehlo_extensions_fuzzer: parse_ehlo_reply() (RFC 5321 4.1.1.1 ehlo-ok-rsp; SIZE,
// RFC 1870 4; AUTH, RFC 4954 3 with RFC 4422 3.1 mechanism names; the historic
// "AUTH=" line) and the session model that keeps its result.
//
// Input: the octets of an EHLO reply ("250-mx.example Hello\r\n250 SIZE 1000\r\n").
// It is read two ways:
//  A. parse_reply() first, as a client does; a reply that parses is also given to
//     the session model after an EHLO, which must keep exactly the parsed list;
//  B. a reply built by hand from the input's lines (code 250, "NNN-" stripped),
//     so the extension parser also meets octets that 4.2 textstring would have
//     stopped: it must judge any reply value, not only well-formed wire text.
// Invariants: the list mirrors the reply line for line; keywords are upper-cased
// and case-insensitive (2.4) so lower-casing them in the input changes nothing;
// lookups, size_limit() and auth_mechanisms() agree with the items; the list
// written back as a reply parses to the same list; an error's offset falls in
// the text of one line of r.to_wire().
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "smtpspec/reference/command.hpp"
#include "smtpspec/reference/extensions.hpp"
#include "smtpspec/reference/reply.hpp"
#include "smtpspec/reference/session.hpp"
#include "smtpspec/reference/text.hpp"

namespace {

using namespace smtpspec::reference;

bool is_mech_char(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool same_list(const extension_list& a, const extension_list& b) {
  if (a.domain != b.domain || a.greeting != b.greeting || a.domain_is_literal != b.domain_is_literal ||
      a.items.size() != b.items.size())
    return false;
  for (std::size_t i = 0; i < a.items.size(); ++i)
    if (a.items[i].keyword != b.items[i].keyword || a.items[i].params != b.items[i].params ||
        a.items[i].legacy != b.items[i].legacy)
      return false;
  return true;
}

bool same_outcome(const result<extension_list>& a, const result<extension_list>& b) {
  if (a.has_value() != b.has_value()) return false;
  return a ? same_list(*a, *b) : a.error() == b.error();
}

/// The list written back as an EHLO reply (4.1.1.1).
reply written_back(const extension_list& l) {
  reply r;
  r.code = 250;
  r.lines.push_back(l.greeting.empty() ? l.domain : l.domain + " " + l.greeting);
  for (const auto& x : l.items) {
    std::string line = x.keyword;
    for (const auto& p : x.params) line.append(" ").append(p);
    r.lines.push_back(std::move(line));
  }
  return r;
}

void check_error(const reply& r, const parse_error& e) {
  FUZZ_CHECK(e.code == error::bad_ehlo_reply || e.code == error::bad_auth_mechanism,
             "an EHLO reply error is bad_ehlo_reply or bad_auth_mechanism");
  if (r.code != 250 || r.lines.empty()) {
    FUZZ_CHECK(e.code == error::bad_ehlo_reply && e.offset == 0, "a reply other than 250 fails at offset 0");
    return;
  }
  bool inside = false;
  for (std::size_t i = 0; i < r.lines.size() && !inside; ++i)
    inside = r.text_offset(i) <= e.offset && e.offset <= r.text_offset(i) + r.lines[i].size();
  FUZZ_CHECK(inside, "an error offset falls inside the text of one line of to_wire() (reply.hpp)");
}

void check_list(const reply& r, const extension_list& l) {
  FUZZ_CHECK(r.code == 250 && !r.lines.empty(), "only a 250 reply is an ehlo-ok-rsp (4.1.1.1)");
  FUZZ_CHECK(l.items.size() + 1 == r.lines.size(), "one extension per line after the first (4.1.1.1)");
  const std::string& first = r.lines.front();
  const std::string_view host = std::string_view(first).substr(0, first.find(' '));
  FUZZ_CHECK(l.domain == host, "domain is the first token of the first line");
  FUZZ_CHECK(l.domain_is_literal == (!host.empty() && host.front() == '['), "a literal is flagged");
  FUZZ_CHECK(l.greeting == (host.size() < first.size() ? first.substr(host.size() + 1) : std::string()),
             "greeting is the rest of the first line");

  bool any_legacy = false;
  for (std::size_t i = 0; i < l.items.size(); ++i) {
    const extension& x = l.items[i];
    const std::string& line = r.lines[i + 1];
    FUZZ_CHECK(!x.keyword.empty(), "an ehlo-keyword is not empty");
    for (const char c : x.keyword) FUZZ_CHECK(c == ascii_upper(c), "keywords are upper-cased");
    if (x.legacy) {
      any_legacy = true;
      FUZZ_CHECK(x.keyword.rfind("AUTH=", 0) == 0 && x.keyword.size() > 5, "a legacy line is \"AUTH=\" mech");
    } else {
      for (const char c : x.keyword)
        FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-',
                   "ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / \"-\") (4.1.1.1)");
      FUZZ_CHECK(x.keyword.front() != '-', "an ehlo-keyword starts with a letter or digit");
    }
    std::string rebuilt = x.keyword;
    for (const auto& p : x.params) {
      FUZZ_CHECK(!p.empty(), "an ehlo-param is 1 or more octets");
      for (const char c : p) FUZZ_CHECK(c >= 33 && c <= 126, "ehlo-param = 1*(%d33-126) (4.1.1.1)");
      rebuilt.append(" ").append(p);
    }
    FUZZ_CHECK(iequals(rebuilt, line) && line.compare(x.keyword.size(), std::string::npos, rebuilt, x.keyword.size()) == 0,
               "an item is its line: keyword in any case, parameters as sent");

    if (!x.legacy) {
      const extension* found = l.find(x.keyword);
      const std::string lowered = to_lower(x.keyword);
      FUZZ_CHECK(found && iequals(found->keyword, x.keyword) && !found->legacy, "find() finds every keyword");
      FUZZ_CHECK(found <= &x, "find() returns the first item with that keyword");
      FUZZ_CHECK(l.has(lowered), "lookups are case-insensitive (2.4)");
    } else {
      FUZZ_CHECK(l.find(x.keyword) != &x, "find() never returns a legacy AUTH= line");
    }
  }
  FUZZ_CHECK(l.has_legacy_auth() == any_legacy, "has_legacy_auth() says whether an AUTH= line was seen");

  const extension* size = l.find("SIZE");
  FUZZ_CHECK(l.size_limit().has_value() == (size != nullptr), "size_limit() is set iff SIZE is advertised");
  if (size) {
    FUZZ_CHECK(size->params.size() <= 1, "SIZE has at most one parameter (RFC 1870 4)");
    std::uint64_t v = 0;
    if (!size->params.empty())
      for (const char c : size->params.front()) {
        FUZZ_CHECK(c >= '0' && c <= '9', "the SIZE parameter is 1*DIGIT (RFC 1870 4)");
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      }
    FUZZ_CHECK(*l.size_limit() == v, "size_limit() is the advertised number, 0 for none");
  }

  const auto mechs = l.auth_mechanisms();
  const extension* auth = l.find("AUTH");
  FUZZ_CHECK(mechs.size() == (auth ? auth->params.size() : 0), "one mechanism per AUTH parameter");
  for (std::size_t i = 0; i < mechs.size(); ++i) {
    FUZZ_CHECK(iequals(mechs[i], auth->params[i]) && !mechs[i].empty() && mechs[i].size() <= 20,
               "sasl-mech = 1*20mech-char (RFC 4422 3.1)");
    for (const char c : mechs[i])
      FUZZ_CHECK(is_mech_char(c) && c == ascii_upper(c), "mechanisms are upper-cased mech-chars");
  }

  const auto again = parse_ehlo_reply(written_back(l));
  FUZZ_CHECK(again.has_value() && same_list(*again, l), "the list written back parses to the same list");
}

/// The same reply with the first token of every extension line lower-cased.
reply lowered_keywords(const reply& r) {
  reply out = r;
  for (std::size_t i = 1; i < out.lines.size(); ++i)
    for (auto& c : out.lines[i]) {
      if (c == ' ') break;
      c = ascii_lower(c);
    }
  return out;
}

result<extension_list> parse_and_check(const reply& r) {
  auto l = parse_ehlo_reply(r);
  if (l) check_list(r, *l);
  else check_error(r, l.error());
  FUZZ_CHECK(same_outcome(l, parse_ehlo_reply(lowered_keywords(r))), "keyword case changes nothing (2.4)");
  return l;
}

/// B: lines split at LF, one trailing CR and a "NNN-" / "NNN " prefix removed.
reply hand_built(std::string_view in) {
  reply r;
  r.code = 250;
  while (!in.empty() && r.lines.size() < 200) {
    std::string_view line = in.substr(0, in.find('\n'));
    in.remove_prefix(line.size() < in.size() ? line.size() + 1 : line.size());
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() >= 4 && line[0] >= '0' && line[0] <= '9' && line[1] >= '0' && line[1] <= '9' && line[2] >= '0' &&
        line[2] <= '9' && (line[3] == '-' || line[3] == ' '))
      line.remove_prefix(4);
    r.lines.emplace_back(line);
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  if (const auto wire = parse_reply(input)) {
    const auto list = parse_and_check(*wire);
    // The session model after EHLO keeps exactly what parse_ehlo_reply() found
    // (4.1.4: an accepted EHLO resets the state and the extensions it knew).
    session s;
    reply greeting;
    greeting.code = 220;
    greeting.lines = {"mx.example.test ESMTP"};
    s.on_greeting(greeting);
    const auto ehlo = parse_command("EHLO client.example.test");
    FUZZ_CHECK(ehlo.has_value(), "the fixed EHLO parses");
    (void)s.check_reply(verb::ehlo, *wire);
    s.on_reply(*ehlo, *wire);
    if (wire->klass() == 2) {
      FUZZ_CHECK(s.state().where == phase::ready && s.state().extended, "a 2xx to EHLO leaves the session ready");
      FUZZ_CHECK(same_list(s.state().extensions, list ? *list : extension_list{}),
                 "the session keeps the parsed extension list (or none)");
      if (list)
        for (const auto& x : list->items)
          if (!x.legacy) FUZZ_CHECK(s.state().offers(x.keyword), "an advertised keyword is offered (2.2.1)");
    } else if (wire->code == 421) {
      FUZZ_CHECK(s.state().where == phase::closed, "421 closes the session (3.8)");
    } else {
      FUZZ_CHECK(s.state().where == phase::greeted, "a refused EHLO leaves the state as it was (4.1.4)");
    }
  }

  (void)parse_and_check(hand_built(input));
  return 0;
}
