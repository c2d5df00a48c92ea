// An RFC-strict SMTP server, sans-I/O: the brain of `smtpspec serve` and of the
// in-process fuzz targets. Bytes from the client go in through feed(); replies come
// out through output(); the I/O layer performs the TLS handshake when tls_wanted().
//
// It answers every command the way the session model (session.hpp) expects a
// strict server to: RFC 5321 3.3, 4.1.1, 4.1.4, 4.3.2, 4.5.2, 4.5.3.1; STARTTLS
// (RFC 3207 4, 4.2: plaintext queued behind STARTTLS is discarded, never executed),
// PIPELINING (RFC 2920 3.2: replies in order, nothing lost), SIZE (RFC 1870),
// 8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), CHUNKING (RFC 3030), ENHANCEDSTATUSCODES
// (RFC 2034, codes of RFC 3463) and AUTH PLAIN/LOGIN after TLS (RFC 4954, 4616).
//
// Defect switches break it in one chosen way each: the mutation tests use them to
// show that the conformance cases aimed at a defect catch it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "smtpspec/reference/command.hpp"
#include "smtpspec/reference/data_transparency.hpp"
#include "smtpspec/reference/line_reader.hpp"
#include "smtpspec/reference/session.hpp"

namespace smtpspec::reference {

/// One way of breaking the server (test-only).
enum class defect : std::uint32_t {
  none = 0,
  end_data_on_lf_dot_lf = 1u << 0,         ///< treats <LF>.<LF> as end-of-data (4.1.1.4)
  execute_after_starttls = 1u << 1,        ///< runs plaintext queued after STARTTLS (RFC 3207 4, CVE-2011-0411)
  rcpt_without_mail = 1u << 2,             ///< 250 to RCPT before MAIL (3.3)
  malformed_multiline = 1u << 3,           ///< changes the code inside a multi-line reply (4.2.1)
  keep_stuffed_dot = 1u << 4,              ///< keeps the leading dot of a stuffed line (4.5.2)
  drop_second_pipelined = 1u << 5,         ///< loses the second command of a pipelined group (RFC 2920 3.2)
  stay_open_after_quit = 1u << 6,          ///< does not close after 221 (4.1.1.10)
  unbounded_command_line = 1u << 7,        ///< buffers a command line of any length (4.5.3.1.4)
  end_data_on_any_bare_dot = 1u << 8,      ///< every non-standard dot sequence ends data (smuggling)
  /// Dies when DATA follows an accepted BDAT chunk in the same transaction (RFC
  /// 3030 2 wants 503 there): the planted bug the seeded fuzzing test must find,
  /// reachable only after EHLO, MAIL, an accepted RCPT and a BDAT chunk that is not
  /// LAST. The session stops answering and crashed() turns true; the I/O layer
  /// then kills the whole server, like a daemon that dereferenced a stale pointer.
  crash_on_data_after_bdat = 1u << 9,
  /// Ends mail data at <LF>.<LF> like end_data_on_lf_dot_lf, answers it, then
  /// silently discards everything up to the next <CRLF>.<CRLF>: a server that ends
  /// the data early but never runs the smuggled commands (it refuses pipelined
  /// input). Only the smuggling cases that wait after the look-alike (-waited)
  /// see it: the reply to the early end arrives before the real end was sent.
  end_data_on_lf_dot_lf_discard_rest = 1u << 10,
};
constexpr defect operator|(defect a, defect b) { return defect(std::uint32_t(a) | std::uint32_t(b)); }
constexpr bool has(defect set, defect bit) { return (std::uint32_t(set) & std::uint32_t(bit)) != 0; }
/// Name of a single defect ("end_data_on_lf_dot_lf"), or "" for none/unknown.
std::string_view to_string(defect d) noexcept;
/// Parses a defect name; defect::none if unknown.
defect defect_from_string(std::string_view name) noexcept;
/// All single defects, for listing.
std::vector<defect> all_defects();

/// A reply the script puts in place of the strict server's own: how `smtpspec
/// client` plays a server that refuses, fails or misbehaves in one chosen way.
struct scripted_reply {
  /// What it answers: a verb ("EHLO", "RCPT", ...), "END-OF-DATA" or "GREETING".
  std::string on;
  /// Which occurrence of it (1 = the first); 0: every one.
  unsigned nth = 0;
  /// The exact octets sent: one or more reply lines ending in CRLF. It may hold more
  /// than one reply (e.g. plaintext injected after a 220 to STARTTLS).
  std::string wire;
  /// Held back this long before it is sent; see server_session::take_pause().
  std::uint32_t delay_ms = 0;
  /// Close the connection once it is sent.
  bool close = false;
};

/// One command the client sent, for checks made after the session (client testing).
struct client_command {
  verb kind = verb::unknown;
  std::string line;  ///< the first 200 octets
  bool tls = false;  ///< sent inside TLS
};

struct server_config {
  std::string domain = "smtpspec.test";
  /// Recipient domains accepted for delivery; others get 550 relay denied (RFC 5321 3.6,
  /// 7.9). "<Postmaster>" is always accepted (4.5.1).
  std::vector<std::string> local_domains = {"example.test", "smtpspec.test"};
  std::uint64_t max_message_size = 10 * 1024 * 1024;  ///< advertised with SIZE (RFC 1870)
  std::size_t max_recipients = 100;                   ///< 4.5.3.1.8 minimum is 100
  bool pipelining = true, size = true, eight_bit_mime = true, smtputf8 = true, chunking = true,
       enhanced_status_codes = true, help = true;
  /// The I/O layer can do TLS (a certificate is loaded): STARTTLS is offered.
  bool tls_available = true;
  /// TLS is already active from the start (implicit TLS, RFC 8314).
  bool implicit_tls = false;
  /// AUTH PLAIN/LOGIN, offered only inside TLS; these credentials succeed.
  std::string auth_user = "smtpspec", auth_password = "smtpspec";
  defect defects = defect::none;

  // --- client testing (`smtpspec client`) ---------------------------------------
  /// Replies that replace the strict server's own. A 4yz/5yz scripted reply means the
  /// command was refused (it has no effect); a 2yz/3yz one lets the command take
  /// effect as usual with the scripted octets sent in place of the usual reply.
  std::vector<scripted_reply> script;
  /// EHLO keywords to advertise instead of those built from the flags above, in
  /// plaintext and inside TLS. The server still implements what the flags say.
  std::optional<std::vector<std::string>> keywords, tls_keywords;
  /// Offer AUTH in plaintext too (a server that invites credentials in clear).
  bool auth_in_plaintext = false;
  /// Judge the client: every command against the session model (check_command),
  /// line ends (2.3.8), mail data without 354 (3.3). Lines ending in a bare LF are
  /// accepted (and reported) so that the session can go on and be judged.
  bool judge_client = false;
};

/// A message the server accepted (end-of-data or BDAT LAST answered 250).
struct stored_message {
  std::string reverse_path;
  std::vector<std::string> forward_paths;
  std::string content;  ///< un-stuffed content (DATA) or the chunks (BDAT)
  /// The octets as the client sent them after 354, including the end-of-data line
  /// (DATA), or the chunks (BDAT): what a relay put on the wire, for relay testing.
  std::string wire;
  /// Non-standard sequences the strict decoder met in `wire` (DATA only).
  std::vector<data_anomaly_record> anomalies;
  bool via_bdat = false;
  bool tls = false;
};

/// What happened, for logs and tests.
struct server_event {
  enum class kind : std::uint8_t {
    command,             ///< a command line was processed
    discarded_after_starttls,  ///< plaintext queued behind STARTTLS was thrown away (RFC 3207 4)
    line_too_long,       ///< a command line over the limit was refused and skipped
    data_anomaly,        ///< a non-standard sequence in DATA (see data_transparency.hpp)
    message_stored,
    closed,
  };
  kind what = kind::command;
  std::string detail;
};

class server_session {
 public:
  explicit server_session(server_config config = {});

  /// Queues the greeting; call once when the connection is up (after the TLS
  /// handshake for implicit TLS).
  void start();

  /// Consumes client octets; replies accumulate in output(). Returns the number of
  /// octets consumed: fewer than given only when tls_wanted() became true (the rest
  /// is plaintext queued behind STARTTLS, discarded by the caller per RFC 3207 4)
  /// or the session closed.
  std::size_t feed(std::string_view bytes);
  /// The client closed its side (4.1.1.10: a transaction in progress is cancelled).
  void feed_eof();

  /// Bytes to send; the caller sends them and calls consume_output().
  std::string_view output() const noexcept { return out_; }
  void consume_output(std::size_t n);

  /// 220 to STARTTLS was queued: flush output(), then run the server side of the
  /// TLS handshake and call tls_established().
  bool tls_wanted() const noexcept { return tls_wanted_; }
  void tls_established();

  /// 221 or 421 was queued: flush output() and close.
  bool closing() const noexcept { return closing_; }
  /// An idle timeout fired (4.5.3.2.7): queue 421 and close.
  void timeout();
  /// The planted defect crash_on_data_after_bdat fired: nothing more is read or
  /// answered; the I/O layer drops the output and takes the whole server down.
  bool crashed() const noexcept { return crashed_; }

  const session_state& state() const noexcept { return model_.state(); }
  std::vector<stored_message> take_messages();
  const std::vector<stored_message>& messages() const noexcept { return messages_; }
  std::vector<server_event> take_events();

  /// What the client broke (judge_client only), in order; bounded.
  const std::vector<finding>& client_findings() const noexcept { return client_findings_; }
  /// Every command the client sent (judge_client only), bounded.
  const std::vector<client_command>& client_commands() const noexcept { return commands_; }
  /// A scripted reply with a delay is in output() at `offset`: the I/O layer sends
  /// the octets before it, waits `ms` (feeding what the client sends meanwhile),
  /// then sends the rest.
  struct pause {
    std::size_t offset = 0;
    std::uint32_t ms = 0;
  };
  std::optional<pause> take_pause() { return std::exchange(pause_, std::nullopt); }
  /// Octets currently held for an incomplete command line (bounded by 512 unless
  /// the unbounded_command_line defect is on).
  std::size_t buffered() const noexcept;

 private:
  void process_line(std::string_view line);
  void process_command(const command& c);
  void process_command_as_usual(const command& c);
  void process_auth_line(std::string_view line);
  void finish_message(bool via_bdat);
  void send_reply(std::uint16_t code, std::string_view status, std::string_view text);
  void send_lines(std::uint16_t code, const std::vector<std::string>& lines);
  void send_invalid(verb v, const parse_error& e);
  void send_ehlo_reply(const command& c);
  void record(server_event::kind k, std::string detail);
  void note_client(level l, citation cite, std::string text);
  const scripted_reply* scripted(std::string_view on);
  void send_scripted(const scripted_reply& s, std::size_t at);
  void judge_line(std::string_view line);
  bool recipient_allowed(const command& c, std::uint16_t& code, std::string& status, std::string& text) const;
  /// How a line that starts now arrives: the replies not yet handed to the I/O
  /// layer, and what the last of them answers.
  arrival arrival_now() const;
  std::string advertised() const;

  server_config config_;
  session model_;
  line_reader lines_;
  data_decoder decoder_;
  std::string out_;
  std::string unbounded_line_;  // only with defect::unbounded_command_line
  bool tls_wanted_ = false;
  bool closing_ = false;
  bool crashed_ = false;
  bool started_ = false;

  // The transaction being built (3.3).
  std::string reverse_path_;
  std::vector<std::string> forward_paths_;
  std::string content_;
  std::string wire_;                  // the raw octets of the current message
  std::uint64_t bdat_remaining_ = 0;  // chunk octets still to read
  bool bdat_last_ = false;
  bool bdat_discarding_ = false;      // RFC 3030 2: a failed BDAT's data is read and discarded
  std::string pending_bdat_command_;  // the BDAT line whose chunk is being read
  std::string pending_bdat_reply_;    // a refusal held until the refused chunk is read
  bool in_data_ = false;
  bool discarding_to_end_ = false;  // defect end_data_on_lf_dot_lf_discard_rest: after an early end
  data_decoder discard_decoder_;     // finds the <CRLF>.<CRLF> that ends what is discarded
  bool data_begun_ = false;  // an octet of the mail data after 354 has arrived
  bool content_too_big_ = false;

  // AUTH LOGIN takes two lines; PLAIN without initial response takes one.
  std::string auth_user_;
  int auth_step_ = 0;

  // defect::drop_second_pipelined: commands processed in the current feed() call.
  std::size_t commands_this_feed_ = 0;

  std::vector<stored_message> messages_;
  std::vector<server_event> events_;

  // Client testing.
  std::vector<finding> client_findings_;
  std::vector<client_command> commands_;
  std::vector<std::pair<std::string, unsigned>> occurrences_;  // scripted "on" -> times seen
  std::optional<pause> pause_;
  std::string early_;          // octets the client sent before the greeting
  bool data_refused_ = false;  // the last DATA got something other than 354 (3.3)
  // Pipelining (judge_client): what the client sent last (its reply is the last one
  // produced), and how the command line being read arrived. The arrival is taken
  // when the line's first octet is read, so that it does not depend on how the
  // client's octets were split into feed() calls; only the replies handed to the
  // I/O layer (consume_output) before that octet count as seen by the client.
  owed_reply previous_{owed_reply::kind::greeting};
  arrival line_arrival_;
  bool mid_line_ = false;  // the line reader holds the start of a line
};

}  // namespace smtpspec::reference
