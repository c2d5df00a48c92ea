// session_fuzzer: the strict sans-I/O server (server_session.hpp) driven by what a
// client sends, judged by the strict client-side reading of the same octets
// (client_stream.hpp) and by bookkeeping kept here, independent of both.
//
// Input: [config 0] [config 1] [defect] then the client's octets; each 0xFF octet
// ends one write (one feed() call) and is not sent. After each write the I/O
// layer's part is played: output drained, the TLS handshake completed whenever
// the server asks for it (RFC 3207 4).
//   config 0 bits: PIPELINING, SIZE, 8BITMIME, SMTPUTF8, CHUNKING,
//                  ENHANCEDSTATUSCODES, TLS available, implicit TLS (RFC 8314).
//   config 1 bits: 0 HELP; 1-2 max message size 10 MiB / 1000 / 60 / 0;
//                  3-4 max recipients 100 / 1 / 2 / 0; 5 the client closes at
//                  the end; 6 an idle timeout fires at the end (4.5.3.2.7);
//                  7 break the server with defect number [defect] (only the
//                  safety invariants are checked then).
//   [defect] without bit 7: bit 0 judge_client (the server judges the client:
//                  bare LF ends lines, any dot sequence ends data, and the first
//                  write comes before the greeting; safety invariants only);
//                  bit 1 auth_in_plaintext.
// Invariants (for the defect-free server):
//  * the output is always whole, well-formed replies (4.2), nothing half-written;
//  * every reply answers exactly one command, end of data or SASL line, in order
//    (RFC 2920 3.2), and breaks no MUST of the model (4.3.2);
//  * RCPT is accepted only inside a transaction (3.3); 354 and a BDAT chunk are
//    accepted only after an accepted MAIL and at least one accepted RCPT (3.3,
//    RFC 2920 3.2, RFC 3030 2);
//  * a message is stored exactly when the end of data or BDAT LAST gets 250, with
//    the reverse path and the accepted forward paths of its transaction, and its
//    content is the strict decoder's reading of its wire octets (4.5.2);
//  * after 221 or 421 nothing more is read or answered (4.1.1.10, 3.8);
//  * the line buffer stays bounded (4.5.3.1.4) whatever the input.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "smtpspec/reference/client_stream.hpp"
#include "smtpspec/reference/server_session.hpp"

namespace {

using namespace smtpspec::reference;
using smtpspec::fuzz::fuzz_input;

constexpr char k_write_boundary = '\xff';

server_config make_config(std::uint8_t c0, std::uint8_t c1, std::uint8_t defect_sel) {
  server_config cfg;
  cfg.pipelining = c0 & 1u;
  cfg.size = c0 & 2u;
  cfg.eight_bit_mime = c0 & 4u;
  cfg.smtputf8 = c0 & 8u;
  cfg.chunking = c0 & 16u;
  cfg.enhanced_status_codes = c0 & 32u;
  cfg.tls_available = c0 & 64u;
  cfg.implicit_tls = c0 & 128u;
  cfg.help = c1 & 1u;
  static constexpr std::uint64_t k_sizes[] = {10 * 1024 * 1024, 1000, 60, 0};
  static constexpr std::size_t k_recipients[] = {100, 1, 2, 0};
  cfg.max_message_size = k_sizes[(c1 >> 1) & 3u];
  cfg.max_recipients = k_recipients[(c1 >> 3) & 3u];
  if (c1 & 128u) {
    const auto all = all_defects();
    cfg.defects = all[defect_sel % all.size()];
  } else {
    cfg.judge_client = defect_sel & 1u;
    cfg.auth_in_plaintext = defect_sel & 2u;
  }
  return cfg;
}

/// What the server must have stored when an end of data or BDAT LAST got 250.
struct expected_message {
  std::string reverse_path;
  std::vector<std::string> forward_paths;
  bool via_bdat = false;
};

/// The transaction as the replies describe it (3.3), kept apart from both models.
struct transaction {
  bool mail = false;
  std::string reverse_path;
  std::vector<std::string> forward_paths;
  void reset() { *this = {}; }
};

class driver {
 public:
  explicit driver(const server_config& cfg)
      : cfg_(cfg), server_(cfg), strict_(cfg.defects == defect::none && !cfg.judge_client) {}

  /// Octets the client sends before the greeting (judge_client holds them, 4.3.1).
  void write_early(std::string_view bytes) {
    stream_.sent(bytes);
    FUZZ_CHECK(server_.feed(bytes) == bytes.size() && server_.output().empty(),
               "what a client sends before the greeting is held, not answered (4.3.1)");
  }

  void open() {
    if (cfg_.implicit_tls) stream_.on_tls_established();
    server_.start();
    auto replies = drain();
    FUZZ_CHECK(!replies.empty() && replies[0].code == 220, "the session opens with a 220 greeting (3.1)");
    FUZZ_CHECK(!strict_ || replies.size() == 1, "the greeting is the only reply before the client speaks");
    FUZZ_CHECK(check_greeting(replies[0]).code == error::ok, "the greeting matches the Greeting grammar (4.2)");
    stream_.on_greeting(replies[0]);
    replies.erase(replies.begin());
    handle(replies);
  }

  void write(std::string_view bytes) {
    if (closed_) {
      // The octets are dropped (feed() counts them as consumed), never acted on.
      const std::size_t messages = server_.messages().size();
      (void)server_.feed(bytes);
      if (strict_ || !has(cfg_.defects, defect::stay_open_after_quit))
        FUZZ_CHECK(server_.output().empty() && server_.messages().size() == messages,
                   "after 221 or 421 nothing is read or answered (3.8)");
      return;
    }
    stream_.sent(bytes);
    const std::size_t used = server_.feed(bytes);
    FUZZ_CHECK(used <= bytes.size(), "feed() consumes at most what it is given");
    FUZZ_CHECK(used == bytes.size() || server_.tls_wanted() || server_.closing(),
               "octets are left only behind STARTTLS (RFC 3207 4) or after closing");
    // Two defects hold more on purpose: the whole line, or the plaintext queued
    // behind STARTTLS (CVE-2011-0411), which buffered() counts too.
    if (!has(cfg_.defects, defect::unbounded_command_line) && !has(cfg_.defects, defect::execute_after_starttls))
      FUZZ_CHECK(server_.buffered() <= max_command_line, "a partial command line is bounded (4.5.3.1.4)");
    handle(drain());
    if (server_.tls_wanted()) {
      // The I/O layer runs the handshake; both sides forget the session (RFC 3207 4.2).
      server_.tls_established();
      stream_.on_tls_established();
      txn_.reset();
      handle(drain());
    }
    check_events();
  }

  void client_closes() {
    if (closed_) return;
    server_.feed_eof();
    FUZZ_CHECK(server_.output().empty(), "the client's close is not answered");
    FUZZ_CHECK(server_.state().where == phase::closed, "the session is over once the client closed (4.1.1.10)");
    closed_ = true;
  }

  void idle_timeout() {
    if (closed_ && !server_.closing()) return;  // the client closed: no connection to time out
    const bool was_closing = server_.closing();
    server_.timeout();
    const auto replies = drain();
    if (was_closing) {
      FUZZ_CHECK(replies.empty(), "no 421 after the session closed");
      return;
    }
    // 4.5.3.2.7, 3.8: the server announces the close with 421.
    FUZZ_CHECK(replies.size() == 1 && replies[0].code == 421 && server_.closing(), "a timeout sends 421 and closes");
    closed_ = true;
  }

 private:
  /// Takes the server's output as replies; it must hold only whole replies.
  std::vector<reply> drain() {
    const std::string_view out = server_.output();
    std::vector<reply> replies;
    const bool well_formed = strict_ || !has(cfg_.defects, defect::malformed_multiline);
    FUZZ_CHECK(out.empty() || (out.size() >= 2 && out.substr(out.size() - 2) == "\r\n"),
               "the output ends at a line end: replies are written whole");
    reply_parser parser;
    std::size_t pos = 0;
    while (pos < out.size()) {
      const std::size_t crlf = out.find("\r\n", pos);
      const std::string_view line = out.substr(pos, crlf - pos);
      FUZZ_CHECK(line.find_first_of("\r\n") == std::string_view::npos, "reply lines end with CRLF only (2.3.8)");
      const parse_error e = parser.feed_line(line);
      if (well_formed)
        FUZZ_CHECK(e.code == error::ok || e.code == error::need_more,
                   "every line the server writes parses as a reply (4.2): " + std::string(line.substr(0, 80)));
      if (e.code == error::ok) replies.push_back(parser.take());
      pos = crlf + 2;
    }
    if (well_formed) FUZZ_CHECK(!parser.in_progress(), "no multi-line reply is left half-written");
    server_.consume_output(out.size());
    FUZZ_CHECK(server_.output().empty(), "consume_output() takes what was sent");
    return replies;
  }

  void handle(const std::vector<reply>& replies) {
    for (const auto& r : replies) {
      FUZZ_CHECK(!closed_ || !strict_, "no reply follows 221 or 421 (3.8)");
      auto judged = stream_.on_reply(r);
      if (r.code == 421 || (r.code == 221 && !has(cfg_.defects, defect::stay_open_after_quit))) {
        FUZZ_CHECK(server_.closing(), "221 and 421 close the session (4.1.1.10, 3.8)");
        closed_ = true;
      }
      if (!strict_) continue;
      FUZZ_CHECK(judged.has_value(), "every reply answers something the client sent, in order (RFC 2920 3.2)");
      const auto& g = judged->grade;
      FUZZ_CHECK(g.kind == outcome::conforming || g.kind == outcome::unlisted_code || g.strength != level::must,
                 "the strict server breaks no MUST of its own model: " + judged->slot.describe() + " -> " +
                     std::to_string(r.code) + " (" + g.explanation + ")");
      account(judged->slot, r);
    }
    if (!strict_) {
      (void)server_.take_messages();
      return;
    }
    auto stored = server_.take_messages();
    FUZZ_CHECK(stored.size() == expected_.size(), "a message is stored exactly when its end gets 250 (4.1.1.4)");
    for (std::size_t i = 0; i < stored.size(); ++i) check_message(stored[i], expected_[i]);
    expected_.clear();
  }

  /// The path of a MAIL or RCPT line, read as the server reads it.
  static std::string path_of(const reply_slot& slot) {
    command_options opt;
    opt.smtputf8 = true;
    opt.lenient = leniency::trailing_whitespace;
    const auto c = parse_command(slot.line, opt);
    return c ? std::string(c->address.text) : std::string();
  }

  void account(const reply_slot& slot, const reply& r) {
    const bool positive = r.klass() == 2 || r.klass() == 3;
    if (r.code == 421) {
      txn_.reset();
      return;
    }
    if (slot.what == reply_slot::kind::end_of_data) {
      if (r.code == 250) expected_.push_back({txn_.reverse_path, txn_.forward_paths, false});
      txn_.reset();  // 4.1.1.4: the buffers are cleared whatever the outcome
      return;
    }
    if (slot.what == reply_slot::kind::sasl_line) return;
    if (slot.what == reply_slot::kind::invalid_line) {
      if (!positive) return;
      // client_stream classifies a line when it is sent, in the state known then:
      // a MAIL with SMTPUTF8 pipelined behind EHLO (which RFC 2920 3.1 says ends a
      // group) is judged before SMTPUTF8 is known to be offered. The server may
      // accept such a line, but only one it can parse the way it reads commands.
      command_options server_reading;
      server_reading.smtputf8 = cfg_.smtputf8;
      server_reading.lenient = leniency::trailing_whitespace;
      FUZZ_CHECK(parse_command(slot.line, server_reading).has_value(),
                 "a line the server cannot parse is not accepted: " + slot.describe());
    }
    switch (slot.v) {
      case verb::ehlo:
      case verb::helo:
      case verb::rset:
        if (positive) txn_.reset();  // 4.1.4, 4.1.1.5
        break;
      case verb::mail:
        if (positive) {
          FUZZ_CHECK(!txn_.mail, "MAIL is not accepted inside a transaction (4.1.4)");
          txn_.reset();
          txn_.mail = true;
          txn_.reverse_path = path_of(slot);
        }
        break;
      case verb::rcpt:
        if (positive) {
          FUZZ_CHECK(txn_.mail, "RCPT is accepted only after MAIL (3.3)");
          txn_.forward_paths.push_back(path_of(slot));
        }
        break;
      case verb::data:
        if (positive)
          FUZZ_CHECK(r.code == 354 && txn_.mail && !txn_.forward_paths.empty(),
                     "354 only after an accepted MAIL and at least one accepted RCPT (3.3, RFC 2920 3.2)");
        break;
      case verb::bdat: {
        if (!positive) break;
        FUZZ_CHECK(txn_.mail && !txn_.forward_paths.empty(),
                   "a chunk is accepted only after MAIL and RCPT (RFC 3030 2, 3.3)");
        const auto c = parse_command(slot.line, {false, leniency::trailing_whitespace, max_command_line});
        if (c && c->last) {
          expected_.push_back({txn_.reverse_path, txn_.forward_paths, true});
          txn_.reset();
        }
        break;
      }
      default:
        break;
    }
  }

  void check_message(const stored_message& m, const expected_message& e) {
    FUZZ_CHECK(!m.forward_paths.empty(), "no message without an accepted recipient (3.3)");
    FUZZ_CHECK(m.reverse_path == e.reverse_path, "the message carries its transaction's reverse path");
    FUZZ_CHECK(m.forward_paths == e.forward_paths, "the message carries exactly the accepted forward paths");
    FUZZ_CHECK(m.via_bdat == e.via_bdat, "DATA and BDAT messages are told apart");
    FUZZ_CHECK(m.content.size() <= cfg_.max_message_size, "no stored message exceeds the SIZE limit (RFC 1870)");
    FUZZ_CHECK(m.tls == server_.state().tls, "the message records whether TLS was on");
    if (m.via_bdat) {
      FUZZ_CHECK(m.content == m.wire && m.anomalies.empty(), "BDAT content is the chunks' octets (RFC 3030 2)");
      return;
    }
    data_decoder d;
    std::string content;
    const auto r = d.feed(m.wire, content);
    FUZZ_CHECK(r.end_of_data && r.consumed == m.wire.size(), "the stored wire octets end at CRLF.CRLF (4.1.1.4)");
    FUZZ_CHECK(content == m.content, "stored content is the strict decoding of its wire octets (4.5.2)");
    FUZZ_CHECK(d.anomalies() == m.anomalies, "stored anomalies are those of the wire octets");
  }

  void check_events() {
    const auto events = server_.take_events();
    FUZZ_CHECK(events.size() <= 10000, "the event log is bounded");
    FUZZ_CHECK(server_.client_findings().size() <= 1000 && server_.client_commands().size() <= 1000,
               "what the server keeps about the client is bounded");
  }

  server_config cfg_;
  server_session server_;
  client_stream stream_;
  bool strict_;
  bool closed_ = false;
  transaction txn_;
  std::deque<expected_message> expected_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz_input in(data, size);
  const std::uint8_t c0 = in.byte(), c1 = in.byte(), defect_sel = in.byte();
  std::string_view octets = in.rest();

  const server_config cfg = make_config(c0, c1, defect_sel);
  driver d(cfg);
  if (cfg.judge_client) {
    const std::size_t cut = octets.find(k_write_boundary);
    d.write_early(octets.substr(0, cut));
    octets.remove_prefix(cut == std::string_view::npos ? octets.size() : cut + 1);
  }
  d.open();
  while (!octets.empty()) {
    const std::size_t cut = octets.find(k_write_boundary);
    d.write(octets.substr(0, cut));
    octets.remove_prefix(cut == std::string_view::npos ? octets.size() : cut + 1);
  }
  if (c1 & 32u) d.client_closes();
  if (c1 & 64u) d.idle_timeout();
  return 0;
}
