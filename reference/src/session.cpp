// The session state machine; see session.hpp for the RFC sections implemented.
#include "smtpspec/reference/session.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reference {
namespace {

constexpr std::uint8_t class_bit(int digit) { return static_cast<std::uint8_t>(1u << digit); }

/// Builds an expectation whose acceptable classes are those of its listed codes
/// plus `extra_classes`.
expectation make(std::initializer_list<std::uint16_t> codes, level strength, citation cite, std::string rule,
                 std::uint8_t extra_classes = 0) {
  expectation e;
  e.codes.assign(codes.begin(), codes.end());
  for (auto c : codes) e.classes |= class_bit(c / 100);
  e.classes |= extra_classes;
  e.strength = strength;
  e.cite = cite;
  e.rule = std::move(rule);
  return e;
}

/// The state expects nothing from the server: the expectation lists no code and
/// accepts no class, so any reply is a finding.
expectation nothing(citation cite, std::string rule) { return make({}, level::must, cite, std::move(rule)); }

/// The EHLO keyword that makes an esmtp-param legal on MAIL (RFC 1870 6, RFC 6152 3,
/// RFC 6531 3.4, RFC 3030 3 for BODY=BINARYMIME, RFC 4954 5 for AUTH=, RFC 3461 for
/// the DSN parameters).
std::string_view extension_for_mail_param(std::string_view keyword) {
  if (iequals(keyword, "SIZE")) return "SIZE";
  if (iequals(keyword, "BODY")) return "8BITMIME";
  if (iequals(keyword, "SMTPUTF8")) return "SMTPUTF8";
  if (iequals(keyword, "AUTH")) return "AUTH";
  if (iequals(keyword, "RET") || iequals(keyword, "ENVID")) return "DSN";
  if (iequals(keyword, "REQUIRETLS")) return "REQUIRETLS";     // RFC 8689 4.1
  if (iequals(keyword, "MT-PRIORITY")) return "MT-PRIORITY";   // RFC 6710 3
  if (iequals(keyword, "BY")) return "DELIVERBY";              // RFC 2852 4
  if (iequals(keyword, "HOLDFOR") || iequals(keyword, "HOLDUNTIL")) return "FUTURERELEASE";  // RFC 4865 3
  if (iequals(keyword, "MTRK")) return "MTRK";                 // RFC 3885 3
  if (iequals(keyword, "RRVS")) return "RRVS";                 // RFC 7293 3
  return {};
}

std::string_view extension_for_rcpt_param(std::string_view keyword) {
  if (iequals(keyword, "NOTIFY") || iequals(keyword, "ORCPT")) return "DSN";
  if (iequals(keyword, "RRVS")) return "RRVS";  // RFC 7293 3
  return {};
}

/// The first parameter the client may not use: not tied to an extension the server
/// advertised (4.1.1.3: "MUST NOT transmit parameters other than those associated
/// with a service extension offered by the server"). A parameter named like an
/// advertised keyword the model does not know (a private "XFOO" extension with an
/// "XFOO=" parameter) is taken to belong to it.
std::optional<std::string_view> unoffered_param(const session_state& s, const command& c) {
  for (const auto& p : c.params) {
    auto ext = c.kind == verb::mail ? extension_for_mail_param(p.keyword) : extension_for_rcpt_param(p.keyword);
    if (ext.empty() && extension_for_mail_param(p.keyword).empty() && extension_for_rcpt_param(p.keyword).empty())
      ext = p.keyword;
    if (!s.offers(ext)) return p.keyword;
    // BODY=BINARYMIME needs BINARYMIME (RFC 3030 3) on top of 8BITMIME.
    if (iequals(p.keyword, "BODY") && iequals(p.value, "BINARYMIME") && !s.offers("BINARYMIME")) return p.keyword;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> parse_u64(std::string_view s) {
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Codes of RFC 5321 4.3.2, with the extension codes that may be given to any
// command under a server's policy: 530 (RFC 3207 4 "Must issue a STARTTLS command
// first"; RFC 4954 6 "Authentication required").
constexpr citation k_sequences{5321, "4.3.2"};
constexpr citation k_order{5321, "4.1.4"};

expectation expect_hello(const session_state& s, verb v) {
  (void)s;
  if (v == verb::helo)
    // 4.1.1.1: "servers MUST support the HELO command and reply properly to it".
    return make({250, 504, 550}, level::must, k_sequences,
                "HELO: 250, or 504/550 (RFC 5321 4.3.2); servers MUST support HELO (4.1.1.1)", class_bit(4));
  // 4.1.4: "If the EHLO command is not acceptable to the SMTP server, 501, 500, 502,
  // or 550 failure replies MUST be returned as appropriate."
  return make({250, 504, 550, 502, 501, 500}, level::must, k_sequences,
              "EHLO: 250, or 504/550/502 (RFC 5321 4.3.2), 501/500 (4.1.4)", class_bit(4));
}

expectation expect_mail(const session_state& s, const command& c) {
  if (s.where == phase::greeted)
    return make({503, 530}, level::should, k_order,
                "MAIL before EHLO/HELO: 503 expected; the client broke 4.1.4 (\"MUST first be initialized by "
                "the use of the EHLO command\") and a server that tolerates it breaks no MUST");
  if (s.in_transaction())
    return make({503}, level::should, k_order,
                "MAIL inside an open transaction: 503 expected (RFC 5321 4.1.4: MAIL MUST NOT be sent while a "
                "transaction is open)");
  if (auto p = unoffered_param(s, c))
    return make({555, 501, 504}, level::should, {5321, "4.1.1.11"},
                "MAIL parameter " + std::string(*p) +
                    " was not advertised: 555 expected (RFC 5321 4.1.1.11); the client broke 4.1.1.3");
  if (auto utf8 = c.params.find("SMTPUTF8"); utf8 && utf8->has_value)
    // RFC 6531 3.1 (4): "The parameter does not accept a value." No requirement keyword
    // says what the server does with one (3.4's "MUST not accept a value" is about the
    // parameter the client supplies), so SHOULD, as for other malformed parameters.
    return make({501, 555}, level::should, {6531, "3.1"}, "SMTPUTF8 takes no value: 501/555 (RFC 6531 3.1)");
  if (auto size = c.params.find("SIZE"); size && s.offers("SIZE")) {
    auto declared = parse_u64(size->value);
    auto limit = s.extensions.size_limit();
    if (!declared) {
      // 20 digits or more cannot be read as a size: 552 (too big for this server)
      // is as fitting an answer as the syntax codes.
      const bool digits = !size->value.empty() && size->value.find_first_not_of("0123456789") == std::string_view::npos;
      if (digits)
        return make({501, 555, 552}, level::should, {1870, "6"},
                    "SIZE= with more digits than RFC 1870 6 allows: 501/555, or 552 as over the limit");
      return make({501, 555}, level::should, {1870, "6"}, "SIZE= must be a decimal number (RFC 1870 6)");
    }
    if (limit && *limit > 0 && *declared > *limit)
      // RFC 1870 7: a server "must ... return a 552 reply code if the client's
      // declared size exceeds its fixed size limit".
      return make({552}, level::must, {1870, "7"},
                  "MAIL SIZE=" + std::to_string(*declared) + " over the advertised limit " +
                      std::to_string(*limit) + ": 552 (RFC 1870 7)");
  }
  if (auto body = c.params.find("BODY")) {
    bool known = iequals(body->value, "7BIT") || iequals(body->value, "8BITMIME") ||
                 (iequals(body->value, "BINARYMIME") && s.offers("BINARYMIME"));
    if (!known)
      return make({501, 555}, level::should, {6152, "3"},
                  "BODY= takes 7BIT or 8BITMIME (RFC 6152 3), or BINARYMIME with that extension (RFC 3030 3)");
  }
  return make({250, 552, 451, 452, 550, 553, 503, 455, 555, 530}, level::must, k_sequences,
              "MAIL: 250, or 552/451/452/550/553/503/455/555 (RFC 5321 4.3.2)");
}

expectation expect_rcpt(const session_state& s, const command& c) {
  if (s.where == phase::bdat || s.where == phase::bdat_failed)
    return make({503}, level::should, {3030, "2"},
                "RCPT after BDAT: the recipients come before the chunks (RFC 3030 2): 503 expected");
  if (s.where != phase::mail && s.where != phase::recipients)
    // 3.3: "If a RCPT command appears without a previous MAIL command, the server
    // MUST return a 503".
    return make({503}, level::must, {5321, "3.3"},
                "RCPT without a previous MAIL: the server MUST return 503 (RFC 5321 3.3)");
  if (auto p = unoffered_param(s, c))
    return make({555, 501, 504}, level::should, {5321, "4.1.1.11"},
                "RCPT parameter " + std::string(*p) + " was not advertised: 555 expected (RFC 5321 4.1.1.11)");
  return make({250, 251, 550, 551, 552, 553, 450, 451, 452, 503, 455, 555, 530}, level::must, k_sequences,
              "RCPT: 250/251, or 550/551/552/553/450/451/452/503/455/555 (RFC 5321 4.3.2)");
}

expectation expect_data(const session_state& s) {
  if (s.where == phase::bdat || s.where == phase::bdat_failed || s.used_bdat)
    // RFC 3030 2: "If a DATA statement is issued after a BDAT for the current
    // transaction, a 503 "Bad sequence of commands" MUST be issued."
    return make({503}, level::must, {3030, "2"}, "DATA after BDAT in one transaction MUST get 503 (RFC 3030 2)");
  if (s.where == phase::mail)
    // MAIL was accepted but no RCPT: 5321 3.3 lets the server answer 503 or 554;
    // RFC 2920 3.2 says it SHOULD answer DATA positively only if a RCPT succeeded.
    return make({503, 554}, level::should, {2920, "3.2"},
                "DATA without an accepted RCPT: 503 or 554 (RFC 5321 3.3, RFC 2920 3.2)");
  if (s.where != phase::recipients)
    // 4.1.4: out of order "to the degree that they cannot be processed": 503 MUST.
    return make({503, 554}, level::must, {5321, "4.1.4"},
                "DATA without a MAIL transaction: 503 (RFC 5321 4.1.4; 554 per 3.3)");
  return make({354, 503, 554, 530}, level::must, k_sequences, "DATA: 354, or 503/554 (RFC 5321 4.3.2)",
              class_bit(4));
}

expectation expect_starttls(const session_state& s) {
  constexpr citation k_tls{3207, "4"};
  if (s.tls)
    return make({503, 502, 500, 454}, level::should, {3207, "4.2"},
                "STARTTLS inside TLS: refused (RFC 3207 4.2: STARTTLS is not offered once TLS is active)");
  if (s.where == phase::greeted)
    // Before EHLO the client cannot know whether STARTTLS is offered; RFC 3207 sets
    // no order and 4.1.4 asks servers to take non-transaction commands before EHLO.
    return make({220, 454, 503, 502, 500}, level::should, k_tls,
                "STARTTLS before EHLO: 220, or a refusal (RFC 3207 4, RFC 5321 4.1.4)");
  if (!s.offers("STARTTLS"))
    return make({502, 500, 503, 454}, level::should, k_tls,
                "STARTTLS was not advertised: refused with 502/500/503/454 expected");
  if (s.in_transaction())
    return make({220, 454, 503}, level::must, k_tls, "STARTTLS: 220 or 454 (RFC 3207 4)", class_bit(5));
  return make({220, 454}, level::must, k_tls, "STARTTLS: 220 or 454 (RFC 3207 4)", class_bit(5));
}

expectation expect_auth(const session_state& s, const command& c) {
  constexpr citation k_auth{4954, "4"};
  if (s.authenticated)
    return make({503}, level::must, k_auth,
                "AUTH after a successful AUTH: the server MUST reject it with 503 (RFC 4954 4)");
  if (s.in_transaction())
    return make({503}, level::must, k_auth,
                "AUTH during a mail transaction MUST be rejected with 503 (RFC 4954 4)");
  if (!s.offers("AUTH"))
    return make({502, 500, 503, 504, 530, 538}, level::should, k_auth,
                "AUTH was not advertised: refused expected (530 when TLS must come first, RFC 3207 4)");
  auto mechs = s.extensions.auth_mechanisms();
  bool offered = std::any_of(mechs.begin(), mechs.end(), [&](const std::string& m) { return iequals(m, c.mechanism); });
  if (!offered)
    return make({504}, level::should, k_auth,
                "AUTH with a mechanism that was not advertised: 504 expected (RFC 4954 4)", class_bit(5));
  return make({235, 334, 432, 454, 500, 501, 504, 530, 534, 535, 538}, level::must, {4954, "6"},
              "AUTH: 235 or 334, or 432/454/501/504/534/535/538 (RFC 4954 4 and 6)");
}

expectation expect_bdat(const session_state& s) {
  constexpr citation k_bdat{3030, "2"};
  if (!s.offers("CHUNKING"))
    return make({500, 502, 503}, level::should, k_bdat, "BDAT without CHUNKING advertised: refused expected");
  if (s.where == phase::bdat_failed)
    return make({503, 554, 451, 452, 552, 550}, level::should, k_bdat,
                "BDAT after a failed BDAT: discarded, a 4yz/5yz expected until RSET (RFC 3030 2)");
  if (s.where == phase::mail)
    return make({503, 554}, level::should, {2920, "3.2"},
                "BDAT without an accepted RCPT: 503 or 554 (RFC 3030 2, RFC 5321 3.3)");
  if (s.where != phase::recipients && s.where != phase::bdat)
    // RFC 3030 2: "Any BDAT command sent after the BDAT LAST is illegal and MUST be
    // replied to with a 503"; the same holds with no transaction at all (4.1.4).
    return make({503}, level::must, k_bdat, "BDAT outside a mail transaction MUST get 503 (RFC 3030 2)");
  return make({250, 450, 451, 452, 550, 552, 554, 503}, level::must, k_bdat,
              "BDAT: 250 for each chunk accepted (RFC 3030 2), or 4yz/5yz");
}

/// VRFY, EXPN, HELP, NOOP and RSET may come before EHLO: 4.1.4 says servers SHOULD
/// process them normally then, so a 503 at that point breaks only a SHOULD.
level before_hello(const session_state& s, level normal) {
  return s.where == phase::greeted ? level::should : normal;
}

/// The command carries an optional argument or parameter that a 500 may be
/// complaining about (see forbidden_code::argued).
bool argued(const command& c) {
  switch (c.kind) {
    case verb::noop:
    case verb::help:
      return !c.argument.empty();
    case verb::mail:
    case verb::rcpt:
      return !c.params.empty();
    case verb::vrfy:
      return c.smtputf8_param;
    default:
      return false;
  }
}

/// Codes no server may give to `v`, whatever the state. `c`: the command, when it
/// parsed (see forbidden_code::argued).
void add_forbidden(expectation& e, verb v, const command* c = nullptr) {
  switch (v) {
    // Not EHLO: 4.1.4 lists 500 among its refusals, and 3.2 expects old servers
    // to answer it with "command not recognized".
    case verb::helo:
    case verb::mail:
    case verb::rcpt:
    case verb::data:
    case verb::rset:
    case verb::noop:
    case verb::quit:
    case verb::vrfy:
      // 4.3.2: "producing a "command not recognized" error in response to the
      // required subset of these commands is a violation of this specification"
      // (the subset of 4.5.1).
      e.forbidden.push_back({500, k_sequences, "500 (not recognized) to a command every server implements (4.5.1)",
                             true, c != nullptr && argued(*c)});
      break;
    default:
      break;
  }
  if (v == verb::helo)
    e.forbidden.push_back({502, {5321, "4.1.1.1"}, "502 to HELO: \"servers MUST support the HELO command\""});
  if (v == verb::vrfy)
    // 4.5.1 lists VRFY in the minimum implementation; 7.3: "If a site disables
    // these commands for security reasons, the SMTP server MUST return a 252
    // response". 502 (not implemented) is neither, but 4.3.2 lists 502 among
    // VRFY's replies: the RFC disagrees with itself, so this is a SHOULD.
    e.forbidden.push_back({502, {5321, "7.3"},
                           "502 (not implemented) to VRFY: a site that disables VRFY MUST answer 252 (RFC 5321 "
                           "7.3) and 4.5.1 requires VRFY, though 4.3.2 lists 502 for it (graded at the lower level)",
                           false, false, level::should});
  if (v != verb::quit)
    // 3.8: the server closes only after QUIT, after 421, or on a timeout; 221
    // announces a close.
    e.forbidden.push_back({221, {5321, "3.8"}, "221 (closing) to a command other than QUIT"});
}

}  // namespace

std::string_view to_string(level l) noexcept {
  switch (l) {
    case level::must: return "MUST";
    case level::should: return "SHOULD";
    case level::may: return "MAY";
  }
  return "?";
}

std::string citation::to_string() const { return "RFC " + std::to_string(rfc) + " " + std::string(section); }

std::string citation::url() const {
  std::string u = "https://www.rfc-editor.org/rfc/rfc" + std::to_string(rfc);
  if (!section.empty()) u += "#section-" + std::string(section);
  return u;
}

std::string_view to_string(phase p) noexcept {
  switch (p) {
    case phase::connecting: return "connecting";
    case phase::greeted: return "greeted";
    case phase::ready: return "ready";
    case phase::mail: return "mail";
    case phase::recipients: return "recipients";
    case phase::data: return "data";
    case phase::bdat: return "bdat";
    case phase::bdat_failed: return "bdat_failed";
    case phase::auth: return "auth";
    case phase::tls_handshake: return "tls_handshake";
    case phase::closed: return "closed";
  }
  return "?";
}

std::string_view to_string(outcome o) noexcept {
  switch (o) {
    case outcome::conforming: return "conforming";
    case outcome::unlisted_code: return "unlisted_code";
    case outcome::wrong_class: return "wrong_class";
    case outcome::out_of_range: return "out_of_range";
  }
  return "?";
}

namespace {
/// forbidden_code::syntax_reading: does this 500 complain about an argument rather
/// than say "command not recognized"? RFC 3463 3.6: X.5.4 "Invalid command
/// arguments" says so; X.5.1 "Invalid command" says the opposite; X.5.2 "Syntax
/// error" covers both ("the syntax was wrong or the command is unrecognized"), so
/// then, as without a status, the command decides: only one that carries an
/// optional argument can have drawn a complaint about it.
bool read_as_syntax_complaint(const reply& r, bool argued) {
  if (r.status && r.status->subject == 5) {
    if (r.status->detail == 4) return true;
    if (r.status->detail == 1) return false;
  }
  return argued;
}
}  // namespace

bool expectation::lists(std::uint16_t code) const noexcept {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::string expectation::describe() const {
  if (codes.empty() && classes == 0) return "no reply";
  std::string out;
  for (std::size_t i = 0; i < codes.size(); ++i) {
    if (i) out += '/';
    out += std::to_string(codes[i]);
  }
  std::string extra;
  for (int d = 2; d <= 5; ++d) {
    bool listed = std::any_of(codes.begin(), codes.end(), [d](std::uint16_t c) { return c / 100 == d; });
    if (!accepts_class(d) || listed) continue;
    if (!extra.empty()) extra += '/';
    extra += std::to_string(d);
    extra += "yz";
  }
  if (extra.empty()) return out;
  if (out.empty()) return extra;
  out += " (or ";
  out += extra;
  out += ')';
  return out;
}

judgement judge(const expectation& e, const reply& r) {
  judgement j;
  j.cite = e.cite;
  j.strength = e.strength;
  const int klass = r.klass();
  for (const auto& f : e.forbidden)
    if (f.code == r.code && !(f.syntax_reading && read_as_syntax_complaint(r, f.argued))) {
      j.kind = outcome::wrong_class;
      j.strength = f.strength;
      j.cite = f.cite;
      j.explanation = std::string(f.why) + " (" + f.cite.to_string() + ")";
      j.rule = std::string(f.why);
      return j;
    }
  if (klass < 2 || klass > 5) {
    // 4.2 / 4.3.2: "SMTP servers MUST NOT transmit reply codes ... that do not
    // start in a digit between 2 and 5 inclusive".
    j.kind = outcome::out_of_range;
    j.strength = level::must;
    j.cite = k_sequences;
    j.explanation = "reply code " + std::to_string(r.code) + " does not start with 2 to 5 (RFC 5321 4.3.2)";
    j.rule = "reply codes start with 2 to 5 (RFC 5321 4.3.2)";
    return j;
  }
  if (r.code == 421 || e.lists(r.code)) {
    // 4.3.2: any command may get 421; the caller checks the connection closes (3.8).
    j.kind = outcome::conforming;
    j.explanation = std::to_string(r.code) + " is allowed here";
    return j;
  }
  if (e.accepts_class(klass)) {
    j.kind = outcome::unlisted_code;
    // 4.3.2's lists are a SHOULD; where the expectation itself is only a MAY
    // (limits a server may exceed), an unlisted code is no more than that.
    j.strength = e.strength == level::may ? level::may : level::should;
    j.rule = e.rule + " (a code of that class, not listed)";
    j.explanation = std::to_string(r.code) + " has an acceptable first digit but is not among " + e.describe() +
                    " (RFC 5321 4.3.2: the lists SHOULD be strictly adhered to)";
    return j;
  }
  j.kind = outcome::wrong_class;
  j.explanation = std::to_string(r.code) + " where " + e.describe() + " was expected: " + e.rule;
  j.rule = e.rule;
  return j;
}

bool ends_pipeline_group(verb v) noexcept {
  switch (v) {
    case verb::ehlo:
    case verb::helo:
    case verb::data:
    case verb::vrfy:
    case verb::expn:
    case verb::quit:
    case verb::noop:
    case verb::starttls:
    case verb::auth:
    case verb::help:  // an extension-free command not in 2920's "anywhere" list
    case verb::unknown:
      return true;
    case verb::mail:
    case verb::rcpt:
    case verb::rset:
    case verb::bdat:
      return false;
  }
  return true;
}

bool ends_pipeline_group(const command& c) noexcept {
  // RFC 4954 4: AUTH "MUST be the last command in a pipelined group of commands.
  // The only exception to this rule is when the AUTH command contains an initial
  // response for a SASL mechanism that allows the client to send data first, the
  // SASL mechanism is known to complete in one round-trip, and a security layer is
  // not negotiated by the client. Two examples of such SASL mechanisms are PLAIN
  // [PLAIN] and EXTERNAL [SASL]."
  if (c.kind == verb::auth && c.initial_response && (iequals(c.mechanism, "PLAIN") || iequals(c.mechanism, "EXTERNAL")))
    return false;
  return ends_pipeline_group(c.kind);
}

std::string owed_reply::describe() const {
  switch (what) {
    case kind::greeting: return "the greeting";
    case kind::message_content: return "the message content";
    case kind::sasl_response: return "an AUTH response line";
    case kind::command: break;
  }
  return v == verb::unknown ? std::string("an unrecognized command") : std::string(to_string(v));
}

// --- client side ------------------------------------------------------------------------

expectation session::expect_greeting() const {
  return make({220, 554}, level::must, k_sequences, "connection greeting: 220, or 554 (RFC 5321 3.1, 4.3.2)");
}

expectation session::expect(const command& c) const {
  const auto& s = state_;
  switch (s.where) {
    case phase::closed:
      return nothing({5321, "3.8"}, "the connection is closed: no reply can follow");
    case phase::connecting:
      return nothing({5321, "4.3.1"}, "no command may be answered before the greeting");
    case phase::tls_handshake:
      // RFC 3207 4 / CVE-2011-0411: plaintext after 220 to STARTTLS is not a command.
      return nothing({3207, "4"}, "after 220 to STARTTLS only the TLS handshake may follow; no plaintext reply");
    case phase::data:
      return nothing({5321, "4.1.1.4"}, "during DATA every line is mail data, not a command");
    case phase::auth:
      return expect_auth_response(c.line);
    default:
      break;
  }
  if (s.refused && c.kind != verb::quit)
    return make({503}, level::should, {5321, "3.1"},
                "after a 554 greeting the server SHOULD answer every command but QUIT with 503 (RFC 5321 3.1)");
  auto e = expect_command(s, c);
  add_forbidden(e, c.kind, &c);
  return e;
}

expectation session::expect_command(const session_state& s, const command& c) const {
  switch (c.kind) {
    case verb::ehlo:
    case verb::helo:
      return expect_hello(s, c.kind);
    case verb::mail:
      return expect_mail(s, c);
    case verb::rcpt:
      return expect_rcpt(s, c);
    case verb::data:
      return expect_data(s);
    case verb::rset:
      // 4.1.1.5: "The receiver MUST send a "250 OK" reply to a RSET command with no
      // arguments."
      return make({250}, before_hello(s, level::must), {5321, "4.1.1.5"}, "RSET: 250 (RFC 5321 4.1.1.5)");
    case verb::vrfy:
      // 502 is graded apart (add_forbidden): 4.5.1 and 7.3 against 4.3.2.
      return make({250, 251, 252, 550, 551, 553, 504, 530}, before_hello(s, level::must), k_sequences,
                  "VRFY: 250/251/252, or 550/551/553/504 (RFC 5321 4.3.2; a disabled VRFY gets 252, 7.3)",
                  class_bit(4));
    case verb::expn:
      return make({250, 252, 550, 500, 502, 504, 530}, before_hello(s, level::must), k_sequences,
                  "EXPN: 250/252, or 550/500/502/504 (RFC 5321 4.3.2)", class_bit(4));
    case verb::help:
      // HELP is not in the minimum implementation (4.5.1): a server that does not
      // recognize it answers 500 (4.2.4: "If the command is not recognized, code 500
      // SHOULD be returned").
      return make({211, 214, 502, 504, 500}, before_hello(s, level::must), k_sequences,
                  "HELP: 211/214, or 502/504 (RFC 5321 4.3.2), or 500 where HELP is not recognized (4.2.4)",
                  class_bit(4));
    case verb::noop:
      if (s.where == phase::bdat || s.where == phase::bdat_failed)
        // RFC 3030 2: a chunking transaction continues only with BDAT (or RSET); after
        // a failed one "A RSET command MUST be issued ... before additional commands".
        return make({250, 503}, level::should, {3030, "2"}, "NOOP inside a BDAT transaction: 250, or 503 until RSET");
      if (!c.argument.empty())
        // 4.1.1.9: "If a parameter string is specified, servers SHOULD ignore it."
        return make({250}, level::should, {5321, "4.1.1.9"},
                    "NOOP with a parameter string: 250 (RFC 5321 4.1.1.9: servers SHOULD ignore the parameter)");
      // 4.1.1.9: NOOP "specifies no action other than that the receiver send a 250 OK".
      return make({250}, before_hello(s, level::must), {5321, "4.1.1.9"}, "NOOP: 250 (RFC 5321 4.1.1.9)");
    case verb::quit:
      // 4.1.1.10: "the receiver MUST send a "221 OK" reply, and then close".
      return make({221}, level::must, {5321, "4.1.1.10"}, "QUIT: 221 and close (RFC 5321 4.1.1.10)");
    case verb::starttls:
      return expect_starttls(s);
    case verb::auth:
      return expect_auth(s, c);
    case verb::bdat:
      return expect_bdat(s);
    case verb::unknown:
      break;
  }
  return expect_unknown_verb(c.verb_text);
}

expectation session::expect_invalid(verb v, const parse_error& e, std::string_view line) const {
  switch (e.code) {
    case error::unknown_verb:
      return expect_unknown_verb(line);
    case error::line_too_long:
      // 4.5.3.1: the limits are minimums a receiver must accept; a server may
      // process a longer line, so only a 5yz other than 500 is remarkable.
      return make({500}, level::may, {5321, "4.5.3.1.4"},
                  "a command line over 512 octets: 500 \"line too long\" (RFC 5321 4.3.2), or processed normally",
                  class_bit(2) | class_bit(3) | class_bit(4));
    case error::local_part_too_long:
    case error::domain_too_long:
    case error::path_too_long:
      return make({501, 553, 500}, level::may, {5321, "4.5.3.1"},
                  "an address over the 4.5.3.1 limits: 501 \"path too long\", or accepted by a more generous server",
                  class_bit(2) | class_bit(4));
    case error::eight_bit_octet:
      if ((v == verb::mail || v == verb::rcpt || v == verb::vrfy || v == verb::expn) && state_.offers("SMTPUTF8"))
        // RFC 6531 3.2: a server offering SMTPUTF8 "MUST be prepared to accept a UTF-8
        // string in any position in which RFC 5321 specifies that a <mailbox> can
        // appear"; the MUST to send the parameter (3.4) is the client's.
        return make({550, 553, 501, 500}, level::should, {6531, "3.4"},
                    "a UTF-8 address without the SMTPUTF8 parameter: 550/553 X.6.7 (RFC 6531 3.5); accepting it "
                    "tolerates the client's breach of RFC 6531 3.4");
      // RFC 5321 contradicts itself on octets >= 0x80 in commands: 2.4 says
      // "Receiving systems SHOULD reject such commands, normally using "500 syntax
      // error - invalid character" replies", 4.1.2 that invalid character codes
      // MUST get 501. Graded at the lower level, citing both. (Invalid UTF-8 is
      // 8-bit octets too: the same rule, with or without SMTPUTF8.)
      return make({500, 501, 550, 553}, level::should, {5321, "2.4"},
                  "octets above 127 in a command: rejected with 500 (RFC 5321 2.4, SHOULD) or 501 (4.1.2, MUST); the "
                  "RFC disagrees with itself, so this is graded at the lower level");
    case error::control_character:
    case error::nul_octet:
      // 4.1.2: "SMTP servers that receive a command in which invalid character codes
      // have been employed ... MUST reject that command with a 501 response".
      // RFC 6531 3.5 answers non-ASCII addresses without SMTPUTF8 with 550/553 X.6.7.
      return make({501, 500, 550, 553}, level::must, {5321, "4.1.2"},
                  "invalid character codes in a command MUST be rejected with 501 (RFC 5321 4.1.2)");
    case error::unexpected_argument:
      if (v == verb::starttls)
        return make({501}, level::should, {3207, "4"}, "STARTTLS takes no parameters: 501 (RFC 3207 4)");
      // 4.3.2: DATA, RSET, QUIT "SHOULD return a 501 message if arguments are supplied".
      return make({501}, level::should, k_sequences,
                  "an argument to a command that takes none: 501 (RFC 5321 4.3.2)");
    default:
      break;
  }
  if ((v == verb::ehlo || v == verb::helo) && line.find('_') != std::string_view::npos)
    // 4.1.2: "In particular, the underscore character is not permitted. SMTP servers
    // that receive a command in which invalid character codes have been employed ...
    // MUST reject that command with a 501 response". The underscore is the one
    // domain character the RFC names there, so it keeps that MUST.
    return make({501, 500, 550}, level::must, {5321, "4.1.2"},
                "an underscore in the EHLO/HELO domain: invalid character codes MUST be rejected with 501 (RFC 5321 "
                "4.1.2)");
  if (v == verb::ehlo || v == verb::helo)
    // 4.1.4: a refused EHLO gets "501, 500, 502, or 550".
    return make({501, 500, 550, 502, 504}, level::should, k_order, "a malformed EHLO/HELO argument: 501 (RFC 5321 4.1.4)");
  if (v == verb::mail || v == verb::rcpt)
    // 4.1.4: a transaction command whose argument is not acceptable gets 501 and
    // leaves the state as it was; 553 is the mailbox-syntax code of 4.2.2. A server
    // that refuses the address as unknown (550) has refused it too.
    return make({501, 553, 555, 500, 550}, level::should, k_order,
                "a malformed MAIL/RCPT argument: 501 or 553 (RFC 5321 4.1.4, 4.3.2), or another refusal of the "
                "address");
  if (v == verb::bdat)
    // A BDAT line whose size cannot be read leaves the server unable to tell where
    // the chunk ends (RFC 3030 2): announcing the close (421, 3.8; 521, RFC 7504)
    // and closing is the only way it can keep its framing.
    return make({501, 500, 504, 421, 521}, level::should, k_sequences,
                "a malformed BDAT line: 501 (RFC 5321 4.3.2), or 421/521 and a close, since the chunk's end is lost");
  return make({501, 500, 504}, level::should, k_sequences, "a syntax error in arguments: 501 (RFC 5321 4.3.2)");
}

expectation session::expect_unknown_verb(std::string_view line) const {
  const std::string_view name = line.substr(0, std::min(line.find(' '), line.size()));
  if (name.find_first_not_of(" \t") == std::string_view::npos)
    // A line of blanks names no command: a syntax error (500 or 501, 4.3.2).
    return make({500, 501}, level::should, k_sequences, "a command line with no verb: 500 or 501 (RFC 5321 4.3.2)");
  // Most EHLO keywords announce parameters or behaviour, not a command (RFC 1870's
  // SIZE, RFC 2920's PIPELINING, ...); only a keyword that is not one of those can
  // name a verb the server advertised.
  static constexpr std::string_view k_not_commands[] = {
      "SIZE",  "PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES", "DSN",       "SMTPUTF8",      "CHUNKING",
      "BINARYMIME", "DELIVERBY", "REQUIRETLS", "MT-PRIORITY", "MTRK", "RRVS", "FUTURERELEASE", "NO-SOLICITING",
      "LIMITS", "CONPERM", "CONNEG", "UTF8SMTP"};
  const bool names_no_command =
      std::any_of(std::begin(k_not_commands), std::end(k_not_commands), [&](std::string_view k) { return iequals(k, name); });
  if (!names_no_command && state_.offers(name)) {
    // An extension verb the server advertised: its own RFC sets the replies. 4.2.4:
    // "Extended SMTP systems MUST NOT list capabilities in response to EHLO for
    // which they will return 502 (or 500) replies."
    auto e = make({}, level::may, {5321, "4.2.4"}, "an advertised extension command: the replies its extension defines",
                  class_bit(2) | class_bit(3) | class_bit(4) | class_bit(5));
    e.forbidden.push_back({500, {5321, "4.2.4"}, "500 to a command the server advertised in its EHLO reply"});
    e.forbidden.push_back({502, {5321, "4.2.4"}, "502 to a command the server advertised in its EHLO reply"});
    return e;
  }
  // Commands other specifications define (RFC 821's SEND, SOML, SAML and TURN;
  // ETRN, RFC 1985; ATRN, RFC 2645) and common private ones (Postfix's XCLIENT and
  // XFORWARD, Sendmail's VERB, ONEX and XUSR): a server may implement them without
  // advertising them, so any reply is acceptable; 500/502 is what 4.2.4 expects of
  // one that does not.
  static constexpr std::string_view k_elsewhere[] = {"SEND", "SOML", "SAML",     "TURN", "ETRN", "ATRN",
                                                     "XCLIENT", "XFORWARD", "VERB", "ONEX", "XUSR"};
  if (std::any_of(std::begin(k_elsewhere), std::end(k_elsewhere), [&](std::string_view k) { return iequals(k, name); }))
    return make({500, 502}, level::may, {5321, "4.2.4"},
                "a command another specification defines: 500 or 502 when not implemented (RFC 5321 4.2.4), or "
                "its own replies",
                class_bit(2) | class_bit(3) | class_bit(4));
  // 4.2.4: "If the command is not recognized, code 500 SHOULD be returned"; 4.3.2
  // names 500 "if the command name was not recognized"; 3.8: not a reason to close.
  return make({500}, level::should, {5321, "4.2.4"}, "an unrecognized command: 500 (RFC 5321 4.2.4, 4.3.2)");
}

expectation session::expect_end_of_data() const {
  if (state_.where != phase::data)
    return nothing({5321, "4.1.1.4"}, "no DATA command was accepted, so there is no end-of-data to answer");
  // 4.1.1.4: "If the processing is successful, the receiver MUST send an OK reply.
  // If the processing fails, the receiver MUST send a failure reply."
  auto e = make({250, 552, 554, 451, 452, 450, 550}, level::must, k_sequences,
                "end of data: 250, or 552/554/451/452/450/550 (RFC 5321 4.3.2, 4.1.1.4)");
  add_forbidden(e, verb::unknown);
  return e;
}

expectation session::expect_auth_response(std::string_view line) const {
  constexpr citation k_auth{4954, "4"};
  if (line == "*")
    return make({501}, level::must, k_auth, "a cancelled AUTH exchange MUST be rejected with 501 (RFC 4954 4)");
  if (!line.empty() && !is_base64(line))
    return make({501}, level::must, k_auth,
                "an AUTH response that does not decode as base64 MUST be rejected with 501 (RFC 4954 4)");
  return make({235, 334, 432, 454, 500, 501, 534, 535, 538}, level::must, {4954, "6"},
              "AUTH exchange: 235 or 334, or 432/454/500/501/534/535/538 (RFC 4954 4 and 6)");
}

// --- transitions --------------------------------------------------------------------------

void session::reset_transaction() noexcept {
  state_.recipients_accepted = 0;
  state_.declared_size.reset();
  state_.body.clear();
  state_.smtputf8 = false;
  state_.used_bdat = false;
  state_.bdat_octets = 0;
  state_.mail_sent = false;
  state_.recipients_sent = 0;
}

void session::on_greeting(const reply& r) {
  if (r.code == 421) {
    state_.where = phase::closed;
    return;
  }
  state_.where = phase::greeted;
  // 3.1: after 554 the session stays refused until QUIT.
  state_.refused = r.klass() != 2;
}

void session::apply(verb v, const command* c, const reply& r) {
  auto& s = state_;
  if (r.code == 421) {  // 3.8: the server closes after 421
    s.where = phase::closed;
    return;
  }
  if (s.where == phase::auth) {
    on_auth_reply(r);
    return;
  }
  const bool ok = r.klass() == 2;
  switch (v) {
    case verb::ehlo:
    case verb::helo:
      if (!ok) return;  // 4.1.4: a refused EHLO leaves the state as it was
      // 4.1.4: an accepted EHLO resets the state "exactly as if a RSET command had been issued".
      reset_transaction();
      s.where = phase::ready;
      s.extended = v == verb::ehlo;
      s.extensions = {};
      if (v == verb::ehlo)
        if (auto list = parse_ehlo_reply(r)) s.extensions = std::move(*list);
      return;
    case verb::mail:
      if (ok) {
        reset_transaction();  // 4.1.1.2: MAIL clears the buffers
        s.where = phase::mail;
        if (c) {
          if (auto p = c->params.find("SIZE")) s.declared_size = parse_u64(p->value);
          if (auto p = c->params.find("BODY")) s.body = to_upper(p->value);
          s.smtputf8 = c->params.find("SMTPUTF8").has_value();
        }
      }
      s.mail_sent = true;  // what the client sent, accepted or not
      s.recipients_sent = 0;
      return;
    case verb::rcpt:
      ++s.recipients_sent;
      if (!ok) return;
      ++s.recipients_accepted;
      if (s.where == phase::mail || s.where == phase::recipients || !s.in_transaction()) s.where = phase::recipients;
      return;
    case verb::data:
      if (r.code == 354) s.where = phase::data;
      return;
    case verb::rset:
      if (!ok) return;
      reset_transaction();
      if (s.where != phase::greeted && s.where != phase::connecting) s.where = phase::ready;
      return;
    case verb::quit:
      if (r.code == 221) s.where = phase::closed;
      return;
    case verb::starttls:
      if (r.code == 220) s.where = phase::tls_handshake;
      return;
    case verb::auth:
      if (r.code == 334) {
        before_auth_ = s.where;
        s.where = phase::auth;
        s.auth_mechanism = c ? to_upper(c->mechanism) : std::string();
      } else if (r.code == 235) {
        s.authenticated = true;
      }
      return;
    case verb::bdat:
      if (s.where != phase::recipients && s.where != phase::bdat && s.where != phase::bdat_failed) return;
      if (!ok) {
        // RFC 3030 2: "The resulting state from a failed BDAT command is indeterminate."
        s.where = phase::bdat_failed;
        return;
      }
      if (s.where == phase::bdat_failed) return;
      s.used_bdat = true;
      if (c) s.bdat_octets += c->chunk_size;
      if (c && c->last) {
        reset_transaction();  // the transaction is complete
        s.where = phase::ready;
      } else {
        s.where = phase::bdat;
      }
      return;
    case verb::vrfy:
    case verb::expn:
    case verb::help:
    case verb::noop:
    case verb::unknown:
      return;
  }
}

void session::on_reply(const command& c, const reply& r) { apply(c.kind, &c, r); }

void session::on_invalid_reply(verb v, const reply& r) { apply(v, nullptr, r); }

void session::on_end_of_data(const reply& r) {
  if (r.code == 421) {
    state_.where = phase::closed;
    return;
  }
  // 4.1.1.4: whatever the outcome, "on the completion of this command these
  // buffers are cleared".
  reset_transaction();
  state_.where = phase::ready;
}

void session::on_auth_reply(const reply& r) {
  auto& s = state_;
  if (r.code == 421) {
    s.where = phase::closed;
    return;
  }
  if (r.code == 334) return;  // the exchange continues
  if (r.code == 235) s.authenticated = true;
  s.where = before_auth_;
  s.auth_mechanism.clear();
}

void session::on_tls_established() {
  // RFC 3207 4.2: "the server MUST discard any knowledge obtained from the client,
  // such as the argument to the EHLO command, which was not obtained from the TLS
  // negotiation itself"; the client likewise discards what it knew of the server.
  auto& s = state_;
  const bool before_greeting = s.where == phase::connecting;
  reset_transaction();
  s.extended = false;
  s.extensions = {};
  s.authenticated = false;
  s.auth_mechanism.clear();
  s.tls = true;
  s.where = before_greeting ? phase::connecting : phase::greeted;
}

// --- reply content ----------------------------------------------------------------------

std::vector<finding> session::check_reply(verb answering, const reply& r, bool greeting) const {
  std::vector<finding> out;
  auto add = [&](level l, citation cite, std::string text) { out.push_back({l, cite, std::move(text)}); };
  const auto& s = state_;

  if (greeting && r.code == 220) {
    if (auto e = check_greeting(r); e.code != error::ok)
      add(level::must, {5321, "4.2"},
          "the 220 greeting does not start with the server's domain or address literal (RFC 5321 4.2 Greeting): " +
              std::string(describe(e.code)));
  }
  for (const auto& line : r.lines)
    // RFC 4954 4: "334 " with an empty challenge is the AUTH syntax, not a bare code.
    if (line.empty() && r.code != 334) {
      // 4.2: "senders SHOULD NOT send bare codes".
      add(level::should, {5321, "4.2"}, "a reply line carries a bare code without text");
      break;
    }
  if (!greeting && answering == verb::ehlo && r.code == 250) {
    if (auto list = parse_ehlo_reply(r); !list)
      add(level::must, {5321, "4.1.1.1"},
          "the EHLO reply does not match ehlo-ok-rsp: " + std::string(describe(list.error().code)));
    else if (s.tls && list->has("STARTTLS"))
      // RFC 3207 4.2: "A server MUST NOT return the STARTTLS extension in response to
      // an EHLO command received after a TLS handshake has completed."
      add(level::must, {3207, "4.2"}, "STARTTLS is advertised again inside TLS");
  }
  if (!greeting && answering == verb::helo && r.code == 250 && r.is_multiline()) {
    // 3.2: "Servers MUST NOT return the extended EHLO-style response to a HELO command."
    if (auto list = parse_ehlo_reply(r); list && !list->items.empty())
      add(level::must, {5321, "3.2"}, "HELO was answered with an EHLO-style list of extensions");
  }
  const bool hello = answering == verb::ehlo || answering == verb::helo;
  // RFC 2034 4: once ENHANCEDSTATUSCODES is advertised, every line of a 2yz/4yz/5yz
  // reply (not the greeting, not the EHLO/HELO reply; RFC 3463 has no class 3)
  // starts with a status code whose class matches the reply code.
  if (!greeting && !hello && s.offers("ENHANCEDSTATUSCODES")) {
    // RFC 2034 4: "the same status code must appear at the beginning of the text
    // in each line of a multiline response".
    if (auto e = check_enhanced_status(r, true); e.code == error::bad_enhanced_status)
      add(level::must, {2034, "4"}, "ENHANCEDSTATUSCODES was advertised but a " + std::to_string(r.code) +
                                       " reply line has no valid enhanced status code");
    else if (e.code == error::enhanced_status_class_mismatch)
      add(level::must, {2034, "4"},
          "the enhanced status code does not match the class of reply " + std::to_string(r.code));
  }
  return out;
}

// --- server side ------------------------------------------------------------------------

std::vector<finding> session::check_command(const command& c, const arrival& how) const {
  std::vector<finding> out;
  const auto& s = state_;
  auto add = [&](level l, citation cite, std::string text) { out.push_back({l, cite, std::move(text)}); };
  const std::string name(to_string(c.kind).empty() ? c.verb_text : to_string(c.kind));

  if (s.where == phase::connecting)
    add(level::should, {5321, "4.3.1"}, name + " sent before the greeting: the client SHOULD wait for the 220");
  if (s.where == phase::tls_handshake)
    add(level::must, {3207, "4"}, name + " sent in plaintext after 220 to STARTTLS: only the TLS handshake may follow");
  if (s.where == phase::closed) add(level::must, {5321, "4.1.1.10"}, name + " sent after QUIT: QUIT MUST be the last command");

  // A command sent before the greeting is the SHOULD of 4.3.1 above (or of the
  // I/O layer that held it until the greeting was out), not a pipelining matter.
  if (how.replies_outstanding > 0 && how.previous.what != owed_reply::kind::greeting) {
    if (!s.offers("PIPELINING"))
      // 4.3.1: "the sender MUST wait for this response before sending further commands".
      add(level::must, {5321, "4.3.1"},
          name + " sent before the reply to " + how.previous.describe() + ", and PIPELINING was not advertised");
    else if (how.previous.ends_group)
      // RFC 2920 3.1: those commands "can only appear as the last command in a
      // group"; RFC 4954 4 says so of AUTH (with its one exception). The message
      // content never ends a group: it "is explicitly allowed to be the first
      // "command" in a group" (RFC 2920 3.1), so the next MAIL may follow it.
      add(level::must, how.previous.v == verb::auth ? citation{4954, "4"} : citation{2920, "3.1"},
          name + " sent before the reply to " + how.previous.describe() +
              ", which may only be the last command of a pipelined group");
  }
  // RFC 2920 3.1: a pipelining client sends the commands of a group before it sees
  // their replies and then "MUST check ALL statuses". A refusal in the group is
  // therefore no reason to judge the commands sent after it in the same group; with
  // PIPELINING offered the server cannot tell whether the client had seen it (that
  // would depend on how the octets were split into reads).
  const bool group_may_go_on = s.offers("PIPELINING");
  const bool mail_refused_in_group =
      group_may_go_on && s.mail_sent && (s.where == phase::ready || s.where == phase::greeted);

  switch (c.kind) {
    case verb::mail:
      if (s.where == phase::greeted)
        add(level::must, {5321, "4.1.4"}, "MAIL before EHLO/HELO: a session MUST first be initialized by EHLO");
      else if (s.in_transaction())
        add(level::must, {5321, "4.1.4"}, "MAIL while a transaction is open: MAIL MUST NOT be sent then");
      if (s.where != phase::greeted)
        if (auto p = unoffered_param(s, c))
          add(level::must, {5321, "4.1.1.3"},
              "MAIL parameter " + std::string(*p) + " without the extension being advertised");
      if (auto size = c.params.find("SIZE"); size && s.offers("SIZE")) {
        auto declared = parse_u64(size->value);
        auto limit = s.extensions.size_limit();
        if (declared && limit && *limit > 0 && *declared > *limit)
          // Declaring it lets the server refuse MAIL with 552 (RFC 1870 6.2) before any
          // data is sent: allowed, noted; sending the data anyway is what 6.1 advises against.
          add(level::may, {1870, "6.1"},
              "MAIL declares SIZE=" + std::to_string(*declared) + " over the advertised limit " + std::to_string(*limit));
      }
      break;
    case verb::rcpt:
      if (s.where != phase::mail && s.where != phase::recipients && !mail_refused_in_group)
        add(level::must, {5321, "3.3"}, "RCPT without a MAIL accepted: mail transaction commands MUST be used in order");
      if (auto p = unoffered_param(s, c))
        add(level::must, {5321, "4.1.1.3"},
            "RCPT parameter " + std::string(*p) + " without the extension being advertised");
      break;
    case verb::data:
      // 3.3 foresees DATA after RCPTs that were all refused ("If there was no MAIL,
      // or no RCPT, command, or all such commands were rejected, the server MAY
      // return a "command out of sequence" (503) or "no valid recipients" (554)
      // reply in response to the DATA command"); what the client then MUST NOT do
      // is send the data, which is judged on the data. RFC 2920 3.1 has it send
      // DATA in the group and read its reply. Out of order is DATA with no RCPT at
      // all: a transaction is MAIL, "one or more RCPT commands, and a DATA command,
      // in that order" (4.1.4).
      if (s.where != phase::recipients &&
          !(s.recipients_sent > 0 && (s.where == phase::mail || mail_refused_in_group)))
        add(level::must, {5321, "3.3"},
            std::string(s.where == phase::mail ? "DATA without any RCPT" : "DATA without an accepted MAIL") +
                ": mail transaction commands MUST be used in the order discussed above");
      if (s.used_bdat) add(level::must, {3030, "2"}, "DATA after BDAT in the same transaction");
      break;
    case verb::bdat:
      if (!s.offers("CHUNKING"))
        add(level::must, {3030, "2"}, "BDAT sent although CHUNKING was not advertised");
      else if (s.where == phase::bdat_failed) {
        // RFC 3030 2: the MUST NOT is on chunks sent once the refusal "is received";
        // with PIPELINING the server "MUST be prepared to accept and discard
        // additional BDAT chunks already in the pipeline after the failed BDAT".
        if (!group_may_go_on)
          add(level::must, {3030, "2"}, "BDAT after a refused BDAT: the client MUST NOT send more chunks (RSET first)");
      }
      else if (s.where != phase::recipients && s.where != phase::bdat)
        add(level::must, {3030, "2"}, "BDAT without an accepted MAIL and RCPT");
      break;
    case verb::starttls:
      if (s.tls) add(level::must, {3207, "4.2"}, "STARTTLS while TLS is already active");
      else if (!s.offers("STARTTLS")) add(level::should, {3207, "4"}, "STARTTLS although it was not advertised");
      break;
    case verb::auth:
      if (s.authenticated) add(level::must, {4954, "4"}, "AUTH after a successful AUTH");
      if (s.in_transaction()) add(level::must, {4954, "4"}, "AUTH during a mail transaction");
      if (!s.offers("AUTH")) add(level::should, {4954, "4"}, "AUTH although it was not advertised");
      break;
    case verb::helo:
      // RFC 5321 contradicts itself here, so the lower level is the one that holds:
      // 4.1.1.1's prose says a client without a meaningful domain name "SHOULD send
      // an address literal" in "these commands" (EHLO and HELO), while its grammar
      // gives HELO a Domain only ("helo = "HELO" SP Domain CRLF"; EHLO takes
      // "Domain / address-literal").
      if (c.domain_kind != host_kind::domain)
        add(level::should, {5321, "4.1.1.1"},
            "HELO with an address literal: RFC 5321 4.1.1.1's grammar (helo = \"HELO\" SP Domain CRLF) allows a "
            "Domain only, though its prose asks a client without a domain name for an address literal (SHOULD, the "
            "lower level of the two)");
      break;
    case verb::ehlo:
    case verb::rset:
    case verb::vrfy:
    case verb::expn:
    case verb::help:
    case verb::noop:
    case verb::quit:
    case verb::unknown:
      break;
  }
  return out;
}

}  // namespace smtpspec::reference
