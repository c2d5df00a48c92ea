// A strict server's reading of the octets a client sends, used to know which
// reply answers what. Sans-I/O: the caller reports what was sent and what came
// back; this class frames the sent octets exactly as RFC 5321 requires a server to
// (command lines end in CRLF, 2.3.8; mail data ends only at CRLF.CRLF, 4.1.1.4;
// BDAT chunks are counted octets, RFC 3030 2; nothing after 220 to STARTTLS is a
// command, RFC 3207 4) and keeps one reply slot per command, end of data or SASL
// line, in order (RFC 2920 3.2: replies come in the order of the commands).
//
// Each reply fills the oldest slot and is judged by the session model in the state
// the earlier replies led to. A reply when no slot is open is unexpected: the
// target read the octets differently from a strict server (smuggling, injection).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtpspec/reference/data_transparency.hpp"
#include "smtpspec/reference/line_reader.hpp"
#include "smtpspec/reference/session.hpp"

namespace smtpspec::reference {

struct reply_slot {
  enum class kind : std::uint8_t {
    command,       ///< a well-formed command line
    invalid_line,  ///< a line parse_command() rejects (or one over 512 octets)
    end_of_data,   ///< CRLF.CRLF after mail data
    sasl_line,     ///< a line of an AUTH exchange (RFC 4954 4)
  };
  kind what = kind::command;
  std::string line;              ///< the command / SASL line (without CRLF), bounded
  verb v = verb::unknown;        ///< the verb, also for invalid lines when recognisable
  parse_error error;             ///< for invalid lines
  int tag = 0;                   ///< the caller's tag of the write that completed it
  bool trailing_blanks = false;  ///< parses only when trailing white space is tolerated (4.1.1)
  std::vector<data_anomaly_record> anomalies;  ///< for end_of_data: what the data held
  std::string describe() const;  ///< "RCPT TO:<a@b>", "end of data", "SASL response"
};

/// The judged reply: which slot it answered, what was allowed, the grade, and the
/// content findings (session::check_reply) when asked for.
struct judged_reply {
  reply_slot slot;
  expectation expected;
  judgement grade;
  std::vector<finding> content;
  phase before = phase::connecting;  ///< the model's phase when the command was sent
};

/// Parse options a strict server applies to a line in this state: UTF-8 mailboxes
/// only when SMTPUTF8 is offered and the transaction (or this MAIL) declares it
/// (RFC 6531 3.4).
command_options parse_options_for(const session_state& s, std::string_view line);

class client_stream {
 public:
  client_stream() = default;
  explicit client_stream(session model) : model_(std::move(model)) {}

  /// Octets the client wrote, in order. `tag` marks the slots they complete.
  void sent(std::string_view bytes, int tag = 0);

  /// The greeting (judged against expect_greeting()).
  judged_reply on_greeting(const reply& r, bool check_content = false);
  /// A reply from the server. std::nullopt: no slot was open (unexpected reply).
  std::optional<judged_reply> on_reply(const reply& r, bool check_content = false);
  /// The TLS handshake completed: plaintext queued behind STARTTLS is dropped
  /// (it was never a command) and the model forgets the session (RFC 3207 4.2).
  void on_tls_established();
  void on_close() { model_.on_close(); }

  std::size_t open_slots() const noexcept { return slots_.size(); }
  const std::deque<reply_slot>& slots() const noexcept { return slots_; }
  /// The next slot cannot be known until the server answers an earlier one (DATA,
  /// STARTTLS, AUTH decide how the following octets are read).
  bool waiting_for_reply() const noexcept { return blocked_; }
  /// Plaintext sent after 220 to STARTTLS and before the handshake.
  std::uint64_t injected_octets() const noexcept { return injected_; }
  /// Octets sent after 221 to QUIT.
  std::uint64_t octets_after_quit() const noexcept { return after_quit_; }
  /// The framing is inside mail data (after 354, before <CRLF>.<CRLF>): a reply now
  /// answers nothing a strict server has read to its end (RFC 5321 4.1.1.4).
  bool in_mail_data() const noexcept { return mode_ == mode::data; }
  /// What the mail data sent so far holds (look-alikes of the end of data, bare CR
  /// or LF), while in_mail_data().
  const std::vector<data_anomaly_record>& data_anomalies() const noexcept { return decoder_.anomalies(); }
  /// Octets sent that have not yet become a slot, mail data or a counted drop: a
  /// partial line, or octets held until the reply to DATA, STARTTLS, AUTH or QUIT.
  std::size_t unread_octets() const noexcept { return pending_.size() + lines_.buffered(); }
  const session& model() const noexcept { return model_; }
  session& model() noexcept { return model_; }

 private:
  enum class mode : std::uint8_t { commands, data, bdat_chunk, sasl, injected, closed };
  void interpret();
  void push_line(std::string_view line, bool too_long, std::size_t length);

  session model_;
  std::string pending_;  // octets not yet interpreted
  std::deque<reply_slot> slots_;
  mode mode_ = mode::commands;
  bool blocked_ = false;
  int tag_ = 0;
  line_reader lines_{line_reader_options{max_command_line, false}};
  data_decoder decoder_;
  std::string scratch_;  // decoded data is not kept; the decoder needs an output
  std::uint64_t bdat_left_ = 0;
  std::uint64_t injected_ = 0;
  std::uint64_t after_quit_ = 0;
};

}  // namespace smtpspec::reference
