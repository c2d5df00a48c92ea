// The SMTP session state machine: the oracle every reply and every command is
// judged by.
//
// Implements the session states and transitions of RFC 5321 sections 3.3 (mail
// transactions), 4.1.1 (command semantics), 4.1.4 (order of commands) and 4.3.2
// (command-reply sequences), extended by STARTTLS (RFC 3207 section 4 and 4.2:
// state reset, EHLO again, no second STARTTLS), PIPELINING (RFC 2920 section 3.1:
// which commands end a group), SIZE (RFC 1870 sections 4 and 6), 8BITMIME
// (RFC 6152 section 3), SMTPUTF8 (RFC 6531 section 3.4), CHUNKING/BDAT (RFC 3030
// section 2) and AUTH (RFC 4954 sections 4 and 6).
//
// One model, two directions:
//  - client side (judging a server): `expect(...)` gives the replies the RFCs allow
//    for the next command in the current state, `judge()` grades an actual reply
//    against that, and `on_reply(...)` advances the state the way the server's reply
//    says it went (a server that wrongly accepts a command is followed, so that
//    the rest of the session is still judged fairly);
//  - server side (judging a client): `check_command(...)` lists the requirements
//    the client breaks by sending this command now.
//
// The model is pure: no I/O, no clock, no allocation beyond small vectors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpspec/reference/command.hpp"
#include "smtpspec/reference/extensions.hpp"
#include "smtpspec/reference/reply.hpp"

namespace smtpspec::reference {

/// Requirement levels of RFC 2119 as the RFCs use them.
enum class level : std::uint8_t { must, should, may };
std::string_view to_string(level l) noexcept;

/// Where a requirement comes from, e.g. {5321, "4.1.4"}.
struct citation {
  std::uint16_t rfc = 5321;
  std::string_view section;
  /// "RFC 5321 4.1.4"
  std::string to_string() const;
  /// "https://www.rfc-editor.org/rfc/rfc5321#section-4.1.4"
  std::string url() const;
  friend bool operator==(const citation&, const citation&) = default;
};

enum class phase : std::uint8_t {
  connecting,     ///< connected, no greeting yet (3.1)
  greeted,        ///< 220 greeting seen, no EHLO/HELO accepted (4.1.4)
  ready,          ///< EHLO/HELO accepted, no transaction: the "initial state" of 4.1.1.1
  mail,           ///< MAIL accepted, no RCPT accepted yet (3.3)
  recipients,     ///< at least one RCPT accepted (3.3)
  data,           ///< 354 to DATA: mail data until end-of-data (4.1.1.4)
  bdat,           ///< BDAT chunks under way (RFC 3030 2)
  bdat_failed,    ///< a BDAT was refused: indeterminate until RSET (RFC 3030 2)
  auth,           ///< SASL exchange after 334 (RFC 4954 4)
  tls_handshake,  ///< 220 to STARTTLS: the next octets are TLS (RFC 3207 4)
  closed,         ///< 221 or 421 sent, or the connection ended (4.1.1.10, 3.8)
};
std::string_view to_string(phase p) noexcept;

/// Everything the model knows about one session.
struct session_state {
  phase where = phase::connecting;
  bool extended = false;       ///< the accepted hello was EHLO (extensions apply)
  bool tls = false;            ///< TLS is active (after STARTTLS or implicit TLS)
  bool authenticated = false;  ///< AUTH succeeded with 235 (RFC 4954 4)
  bool refused = false;        ///< the greeting was 554: only QUIT is useful (3.1)
  extension_list extensions;   ///< from the last accepted EHLO; cleared by STARTTLS and HELO

  // The open mail transaction (3.3); cleared by RSET, EHLO, HELO, end-of-data, STARTTLS.
  std::size_t recipients_accepted = 0;
  std::optional<std::uint64_t> declared_size;  ///< SIZE= on MAIL (RFC 1870 6)
  std::string body;                            ///< BODY= on MAIL, upper-cased (RFC 6152 3, RFC 3030 3)
  bool smtputf8 = false;                       ///< SMTPUTF8 on MAIL (RFC 6531 3.4)
  bool used_bdat = false;                      ///< a BDAT was accepted in this transaction
  std::uint64_t bdat_octets = 0;               ///< chunk octets accepted so far
  // What the client sent since the transaction began, accepted or not (server-side
  // judging): a pipelining client sends MAIL, its RCPTs and DATA in one group
  // before it sees any reply, and then "MUST check ALL statuses" (RFC 2920 3.1).
  bool mail_sent = false;           ///< a MAIL command was sent (refused ones too)
  std::size_t recipients_sent = 0;  ///< RCPT commands sent after it (refused ones too)

  std::string auth_mechanism;  ///< during phase::auth

  bool in_transaction() const noexcept {
    return where == phase::mail || where == phase::recipients || where == phase::data ||
           where == phase::bdat || where == phase::bdat_failed;
  }
  /// An extension is usable only after EHLO advertised it (2.2.1).
  bool offers(std::string_view keyword) const { return extended && extensions.has(keyword); }
};

/// A code that breaks a MUST here even though its class may be acceptable, e.g.
/// 500 to a command every server must implement (4.3.2, 4.5.1).
struct forbidden_code {
  std::uint16_t code = 0;
  citation cite;
  std::string_view why;
  /// 500 has two meanings (RFC 5321 4.2.2: "Syntax error, command unrecognized"):
  /// only "not recognized" is forbidden to the commands of 4.5.1 (4.3.2). The reply
  /// is read as a syntax complaint, and so not forbidden, when its enhanced status
  /// code says so (X.5.4 invalid command arguments; RFC 3463 3.6), or when the
  /// command carries an optional argument or parameter it could be complaining
  /// about (`argued`) and the status does not say X.5.1 (invalid command).
  bool syntax_reading = false;
  bool argued = false;
  /// How bad the code is: MUST, or SHOULD where the RFC also allows it elsewhere
  /// (graded at the lower level when the RFC contradicts itself).
  level strength = level::must;
};

/// The replies the RFCs allow for one step, and how strongly.
struct expectation {
  /// Codes the RFCs list for this command in this state: any of them conforms.
  std::vector<std::uint16_t> codes;
  /// Bit n set: a reply whose first digit is n is acceptable in kind; a code of
  /// such a class that is not in `codes` is "unlisted" (4.3.2: the lists SHOULD be
  /// adhered to; clients act on the first digit, 4.2.1).
  std::uint8_t classes = 0;
  /// What a reply of any other class breaks: MUST (fail), SHOULD (warn), MAY (note).
  level strength = level::must;
  citation cite;
  /// One sentence saying what is expected and why, for reports.
  std::string rule;
  /// Codes that are MUST violations whatever `classes` says.
  std::vector<forbidden_code> forbidden;

  bool lists(std::uint16_t code) const noexcept;
  bool accepts_class(int klass) const noexcept { return klass >= 0 && klass < 8 && (classes >> klass) & 1u; }
  /// "250 or 251; else 4yz/5yz" style summary for reports.
  std::string describe() const;
};

enum class outcome : std::uint8_t {
  conforming,     ///< listed code, or 421 (always allowed, 4.3.2)
  unlisted_code,  ///< acceptable class, code not listed (4.3.2 SHOULD)
  wrong_class,    ///< a class the RFCs do not allow here (strength says how bad)
  out_of_range,   ///< first digit not 2 to 5 (4.2, 4.3.2 MUST NOT)
};
std::string_view to_string(outcome o) noexcept;

struct judgement {
  outcome kind = outcome::conforming;
  /// The level of the requirement broken; meaningless when conforming.
  level strength = level::must;
  citation cite;
  std::string explanation;
  /// The rule broken, in words that do not depend on the command's arguments (the
  /// expectation's rule, or the forbidden code's): with the citation and what was
  /// observed it names a distinct defect (results/defects.hpp). Empty when conforming.
  std::string rule;
  bool conforming() const noexcept { return kind == outcome::conforming; }
};

/// Grades a reply against an expectation.
judgement judge(const expectation& e, const reply& r);

/// A requirement the client broke (server-side judging).
struct finding {
  level strength = level::must;
  citation cite;
  std::string text;
};

/// What the last reply still owed to the client answers (server-side judging of
/// pipelining): the item the client sent just before a command that did not wait.
struct owed_reply {
  enum class kind : std::uint8_t {
    greeting,         ///< the 220 greeting (4.3.1: the client SHOULD wait for it)
    command,          ///< a command line, well-formed or not
    message_content,  ///< the mail data up to its end (RFC 2920 3.1 calls it a "command")
    sasl_response,    ///< a line of an AUTH exchange after 334 (RFC 4954 4)
  };
  kind what = kind::command;
  verb v = verb::unknown;  ///< the command's verb (kind::command)
  /// Nothing may follow it in the same pipelined group: see ends_pipeline_group().
  bool ends_group = true;
  /// "DATA", "the message content", ... for findings.
  std::string describe() const;
};

/// What the server side knows about how a command arrived.
struct arrival {
  /// Replies still owed to the client for earlier commands when this command's
  /// first octet arrived (the client did not wait: pipelining, 4.3.1 / RFC 2920).
  /// Measured at the first octet, so a command split over several reads arrives
  /// when it began to arrive, whatever the reads.
  std::size_t replies_outstanding = 0;
  /// What the last of those replies answers (meaningful when replies_outstanding > 0).
  owed_reply previous;
};

/// RFC 2920 3.1: commands that may only be the last in a pipelined group
/// (EHLO, DATA, VRFY, EXPN, TURN, QUIT, NOOP, and extension commands unless
/// their RFC says otherwise: STARTTLS per RFC 3207 4, AUTH per RFC 4954 4; BDAT
/// may be pipelined per RFC 3030 2). HELO is treated like EHLO.
bool ends_pipeline_group(verb v) noexcept;
/// The same for one command: AUTH with an initial response for PLAIN or EXTERNAL
/// may be followed in its group (the exception of RFC 4954 4).
bool ends_pipeline_group(const command& c) noexcept;

class session {
 public:
  session() = default;
  explicit session(session_state initial) : state_(std::move(initial)) {}

  const session_state& state() const noexcept { return state_; }

  // --- client side: what may the server answer? -------------------------------------
  /// The connection greeting (3.1, 4.3.2 CONNECTION ESTABLISHMENT: 220 / 554).
  expectation expect_greeting() const;
  /// A well-formed command in the current state.
  expectation expect(const command& c) const;
  /// A line that parse_command() rejected with `e` (500/501 territory, 4.3.2).
  /// `v` is the recognised verb, if any (verb::unknown for an unknown one); `line`
  /// (without CRLF), when given, lets an unknown verb be matched against the EHLO
  /// keywords (an advertised extension verb is not "unrecognized", 4.2.4) and
  /// the verbs other specifications define.
  expectation expect_invalid(verb v, const parse_error& e, std::string_view line = {}) const;
  /// The reply to the end-of-data indication (4.1.1.4, 4.2.5, 4.3.2 DATA).
  expectation expect_end_of_data() const;
  /// The reply to a line of a SASL exchange, "*" cancelling it (RFC 4954 4).
  expectation expect_auth_response(std::string_view line) const;

  // --- advancing the state -----------------------------------------------------------
  void on_greeting(const reply& r);
  void on_reply(const command& c, const reply& r);
  /// A reply to a line that did not parse as a command (the server may still have
  /// acted on it; the model follows what the reply says).
  void on_invalid_reply(verb v, const reply& r);
  void on_end_of_data(const reply& r);
  void on_auth_reply(const reply& r);
  /// The TLS handshake after STARTTLS completed (RFC 3207 4.2: all knowledge from
  /// before is discarded) or implicit TLS is up before the greeting (RFC 8314).
  void on_tls_established();
  /// The connection ended (either side).
  void on_close() noexcept { state_.where = phase::closed; }

  // --- client side: is the content of a reply right? ----------------------------------
  /// Checks on a reply beyond its code, given the command it answers (verb::unknown
  /// for the greeting and end-of-data): the Greeting grammar (4.2), the EHLO reply
  /// grammar (4.1.1.1), no EHLO-style reply to HELO (3.2), no STARTTLS offered
  /// inside TLS (RFC 3207 4.2), enhanced status codes on every reply once
  /// ENHANCEDSTATUSCODES was advertised (RFC 2034 4), bare codes (4.2 SHOULD NOT).
  /// Call before on_reply()/on_greeting() so the state is the one the reply answers.
  std::vector<finding> check_reply(verb answering, const reply& r, bool greeting = false) const;

  // --- server side: is the client allowed to send this now? ---------------------------
  std::vector<finding> check_command(const command& c, const arrival& how = {}) const;

 private:
  void reset_transaction() noexcept;
  void apply(verb v, const command* c, const reply& r);
  expectation expect_command(const session_state& s, const command& c) const;
  /// A command line whose verb is not one of the model's (`line` from its verb on).
  expectation expect_unknown_verb(std::string_view line) const;

  session_state state_;
  phase before_auth_ = phase::ready;
};

}  // namespace smtpspec::reference
