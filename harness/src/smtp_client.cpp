// The good client (smtp_client.hpp): one blocking session over `connection`,
// replies read through reference::reply_reader (so a reply split over many reads,
// or several replies in one read, frame the same),
// the body dot-stuffed by reference::data_encoder. Each MUST/SHOULD the code
// follows cites its RFC section; each defect switch is tested in exactly one
// place (grep "defect(").
#include "smtpspec/harness/smtp_client.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

#include "smtpspec/reference/data_transparency.hpp"
#include "smtpspec/reference/error.hpp"
#include "smtpspec/reference/reply_reader.hpp"
#include "smtpspec/reference/text.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::harness {
namespace ref = smtpspec::reference;

namespace {

struct defect_name {
  client_defect d;
  std::string_view name;
};
constexpr std::array<defect_name, 11> k_defects{{
    {client_defect::no_dot_stuffing, "no_dot_stuffing"},
    {client_defect::lf_line_endings, "lf_line_endings"},
    {client_defect::pipeline_without_pipelining, "pipeline_without_pipelining"},
    {client_defect::continue_after_failed_starttls, "continue_after_failed_starttls"},
    {client_defect::use_injected_reply, "use_injected_reply"},
    {client_defect::no_ehlo_after_starttls, "no_ehlo_after_starttls"},
    {client_defect::data_after_failed_recipients, "data_after_failed_recipients"},
    {client_defect::no_quit, "no_quit"},
    {client_defect::no_helo_fallback, "no_helo_fallback"},
    {client_defect::ignore_size, "ignore_size"},
    {client_defect::helo_before_ehlo, "helo_before_ehlo"},
}};

constexpr std::size_t k_read_chunk = 64 * 1024;
/// Longest reply line read, CRLF included. RFC 5321 4.5.3.1.5 says 512, but a
/// client is liberal in what it reads (servers with long texts exist); the bound
/// only keeps memory finite.
constexpr std::size_t k_max_reply_line = 8192;
/// A long body is given this much longer than a reply to go out: reply_timeout
/// for each MiB (a deadline must not cut a large message on a slow link).
constexpr std::size_t k_octets_per_timeout = 1024 * 1024;

bool has_8bit(std::string_view s) noexcept {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

bool has_octet_of(std::string_view s, std::string_view set) noexcept {
  return s.find_first_of(set) != std::string_view::npos;
}

std::string strip_angles(std::string_view a) {
  if (a.size() >= 2 && a.front() == '<' && a.back() == '>') a = a.substr(1, a.size() - 2);
  return std::string(a);
}

/// RFC 5321 2.3.8: a bare CR or a bare LF becomes CRLF; 4.1.1.4: content that
/// does not end in CRLF gets one (the CRLF before "." belongs to the content).
std::string normalise(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 2);
  std::size_t i = 0;
  while (i < in.size()) {
    const std::size_t j = in.find_first_of("\r\n", i);
    if (j == std::string_view::npos) {
      out.append(in.substr(i));
      break;
    }
    out.append(in.substr(i, j - i));
    out += "\r\n";
    i = (in[j] == '\r' && j + 1 < in.size() && in[j + 1] == '\n') ? j + 2 : j + 1;
  }
  if (!out.empty() && (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0)) out += "\r\n";
  return out;
}

/// The defect encodings of a normalised body (every line ends in CRLF): lines
/// end in `eol`, a leading "." is doubled only when `stuff`, then "." eol.
std::string encode_defective(std::string_view body, bool stuff, std::string_view eol, bool end_marker) {
  std::string out;
  out.reserve(body.size() + body.size() / 32 + 8);
  std::size_t i = 0;
  while (i < body.size()) {
    std::size_t j = body.find("\r\n", i);
    if (j == std::string_view::npos) j = body.size();  // cannot happen: normalised
    if (stuff && j > i && body[i] == '.') out += '.';
    out.append(body.substr(i, j - i));
    out.append(eol);
    i = j + 2;
  }
  if (end_marker) {
    out += '.';
    out.append(eol);
  }
  return out;
}

/// A reply in one line for messages: "550 5.1.1 No such user" (lines joined by " / ").
std::string describe(const ref::reply& r) {
  std::string out = std::to_string(r.code);
  for (std::size_t i = 0; i < r.lines.size(); ++i) {
    out += i == 0 ? " " : " / ";
    out += r.lines[i];
  }
  return out;
}

submission_status refusal_status(const ref::reply& r) {
  return r.klass() == 4 || r.klass() == 5 ? submission_status::refused : submission_status::protocol_error;
}

std::string ms_text(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

class client_session {
 public:
  client_session(const submission& s, results::transcript& log) : s_(s), log_(log), conn_(log) {}
  submission_result run();

 private:
  enum class outcome : std::uint8_t { proceed, done, retry_plain };

  bool defect(client_defect d) const { return has(s_.defects, d); }
  std::string cmd(std::string_view text) const {
    std::string out(text);
    out += eol_;
    return out;
  }
  ref::extension_list& ext() { return res_.extensions; }

  void prepare();
  outcome session(bool try_starttls);
  bool connect();
  bool greeting();
  bool hello();
  outcome starttls();
  bool authenticate();
  bool transaction();
  bool finish_transaction(bool bdat, std::size_t accepted, std::optional<ref::reply> data_reply);
  void quit();

  // Reading and writing. The *_raw forms only report; the others end the session
  // (res_ filled, connection closed) and return false on failure.
  bool read_reply_raw(ref::reply& out, std::string& why);
  bool read_reply(ref::reply& out, std::string_view answering);
  bool send_raw(std::string_view bytes, std::chrono::milliseconds timeout, std::string& why);
  bool send(std::string_view bytes, std::string_view what, std::chrono::milliseconds timeout);
  bool send(std::string_view bytes, std::string_view what) { return send(bytes, what, s_.reply_timeout); }
  std::size_t pending() const { return in_.size() - in_pos_ + reader_.buffered(); }
  void reset_reader();

  /// 421 (RFC 5321 3.8, 4.2.2 "Service not available, closing transmission
  /// channel"): the server is going away; the client closes without QUIT.
  bool closing_reply(const ref::reply& r, std::string_view what);
  void stop_close(submission_status st, std::string error, std::optional<ref::reply> r = std::nullopt);
  void stop_quit(submission_status st, std::string error, std::optional<ref::reply> r = std::nullopt);

  const submission& s_;
  results::transcript& log_;
  connection conn_;
  submission_result res_;

  // Prepared once for every transaction of the connection.
  std::string from_;      // reverse-path without <>
  std::string body_;      // normalised content (CRLF lines, final CRLF): what SIZE counts
  std::string data_wire_; // the octets after 354, end-of-data line included
  std::string bdat_body_; // the BDAT chunk (body_, or its LF form with lf_line_endings)
  std::string eol_ = "\r\n";
  bool eight_bit_ = false, utf8_addresses_ = false;
  bool greeted_ = false;  // an EHLO or HELO went out on this connection

  // Octets read but not yet given to the reader are in_[in_pos_..]. Strict framing
  // (CRLF only, RFC 5321 2.3.8), codes 2-5, UTF-8 text allowed.
  std::string in_;
  std::size_t in_pos_ = 0;
  ref::reply_reader reader_{ref::reply_reader_options{k_max_reply_line, 1000, false, true, false}};
};

void client_session::prepare() {
  from_ = strip_angles(s_.from);
  body_ = normalise(s_.message);
  eight_bit_ = has_8bit(body_);
  utf8_addresses_ = has_8bit(from_) || std::any_of(s_.to.begin(), s_.to.end(), [](const std::string& a) { return has_8bit(a); });
  const bool lf_only = defect(client_defect::lf_line_endings);
  const bool stuff = !defect(client_defect::no_dot_stuffing);
  // RFC 5321 2.3.8: commands end in CRLF, never a bare LF.
  eol_ = lf_only ? "\n" : "\r\n";
  if (!lf_only && stuff) {
    // RFC 5321 4.5.2: a line starting with "." gets another "."; 4.1.1.4: the
    // data ends with CRLF "." CRLF (body_ already ends in CRLF).
    data_wire_ = ref::encode_data(body_);
  } else {
    data_wire_ = encode_defective(body_, stuff, eol_, true);
  }
  bdat_body_ = lf_only ? encode_defective(body_, false, eol_, false) : body_;
}

submission_result client_session::run() {
  prepare();
  bool try_starttls = s_.tls == client_tls_mode::starttls_if_offered || s_.tls == client_tls_mode::starttls_required;
  for (;;) {
    res_ = submission_result{};
    reset_reader();
    greeted_ = false;
    const outcome o = session(try_starttls);
    if (o == outcome::retry_plain && try_starttls) {
      // Opportunistic TLS (RFC 3207 4.1 leaves the decision to local policy):
      // the connection is unusable after a failed STARTTLS; start again in plaintext.
      log_.note("STARTTLS failed and TLS is not required: connecting again without STARTTLS");
      conn_.close();
      try_starttls = false;
      continue;
    }
    break;
  }
  res_.delivered = res_.messages_accepted == s_.count;
  return std::move(res_);
}

client_session::outcome client_session::session(bool try_starttls) {
  if (!connect() || !greeting() || !hello()) return outcome::done;
  if (try_starttls) {
    if (const outcome o = starttls(); o != outcome::proceed) return o;
  }
  if (!authenticate()) return outcome::done;
  res_.tls = conn_.tls_active();
  for (std::size_t i = 0; i < s_.count; ++i)
    if (!transaction()) return outcome::done;
  res_.status = submission_status::delivered;
  quit();
  return outcome::done;
}

bool client_session::connect() {
  io_result r = conn_.connect(s_.server, s_.connect_timeout);
  if (!r) {
    res_.status = submission_status::unreachable;
    res_.error = r.detail;  // "connect HOST:PORT: reason" (per address tried)
    return false;
  }
  if (s_.tls == client_tls_mode::implicit) {
    // RFC 8314 3.3: the TLS handshake comes first, then the SMTP greeting inside TLS.
    r = conn_.start_tls(s_.tls_options, s_.server.host, s_.connect_timeout);
    if (!r) {
      stop_close(submission_status::tls_failed, "implicit TLS: " + r.detail);
      return false;
    }
  }
  return true;
}

bool client_session::greeting() {
  // RFC 5321 3.1, 4.3.2: the session starts with the server's 220 greeting; the
  // client sends nothing before it.
  ref::reply g;
  if (!read_reply(g, "the connection (greeting)")) return false;
  if (g.code == 220) return true;
  if (closing_reply(g, "greeting")) return false;
  // RFC 5321 3.1: with 554 instead of 220 the server "MUST wait for the client to
  // send a QUIT command before closing"; no transaction is attempted.
  stop_quit(refusal_status(g), "greeting: " + describe(g), g);
  return false;
}

bool client_session::hello() {
  if (defect(client_defect::helo_before_ehlo) && !greeted_) {
    // The defect: "HELO, then EHLO", as some write-ups teach the handshake.
    ref::reply h;
    if (!send(cmd("HELO " + s_.helo), "HELO") || !read_reply(h, "HELO") || closing_reply(h, "HELO")) return false;
  }
  greeted_ = true;
  // RFC 5321 4.1.1.1 / 3.2: EHLO first, to learn the service extensions.
  if (!send(cmd("EHLO " + s_.helo), "EHLO")) return false;
  ref::reply r;
  if (!read_reply(r, "EHLO")) return false;
  if (r.klass() == 2) {
    if (auto list = ref::parse_ehlo_reply(r)) {
      ext() = std::move(*list);
    } else {
      ext() = {};
      log_.note("the EHLO reply is not a list of service extensions (" +
                std::string(ref::describe(list.error().code)) + "): using none");
    }
    return true;
  }
  if (closing_reply(r, "EHLO")) return false;
  if (r.klass() == 5) {
    ext() = {};
    if (defect(client_defect::no_helo_fallback)) {
      log_.note("EHLO refused; defect no_helo_fallback: going on without HELO");
      return true;
    }
    // RFC 5321 3.2: a server that does not support extensions answers EHLO with
    // 500/502 (4.1.4 also lists 501, 550); the client then falls back to HELO.
    if (!send(cmd("HELO " + s_.helo), "HELO")) return false;
    if (!read_reply(r, "HELO")) return false;
    if (r.klass() == 2) {
      res_.helo_fallback = true;
      return true;
    }
    if (closing_reply(r, "HELO")) return false;
    stop_quit(refusal_status(r), "HELO: " + describe(r), r);
    return false;
  }
  stop_quit(refusal_status(r), "EHLO: " + describe(r), r);
  return false;
}

client_session::outcome client_session::starttls() {
  if (conn_.tls_active()) return outcome::proceed;
  const bool required = s_.tls == client_tls_mode::starttls_required;
  if (!ext().has("STARTTLS")) {
    if (!required) return outcome::proceed;
    stop_quit(submission_status::tls_failed, "the server does not offer STARTTLS (RFC 3207) and TLS is required");
    return outcome::done;
  }
  if (!send(cmd("STARTTLS"), "STARTTLS")) return outcome::done;
  ref::reply r;
  std::string why;
  if (!read_reply_raw(r, why)) {
    if (!required) return outcome::retry_plain;
    stop_close(submission_status::tls_failed, "STARTTLS: " + why);
    return outcome::done;
  }
  if (r.code == 220) {
    // RFC 3207 4.2: what the client learnt before TLS is void, and octets that
    // arrived in plaintext after the 220 line were not protected by TLS: they
    // are discarded, never read as replies (STARTTLS response injection,
    // CVE-2011-1575 class).
    if (const std::size_t queued = pending(); queued > 0) {
      if (defect(client_defect::use_injected_reply)) {
        log_.note("defect use_injected_reply: keeping " + std::to_string(queued) +
                  " octets received after the 220 to STARTTLS");
      } else {
        log_.note("discarded " + std::to_string(queued) +
                  " octets received after the 220 to STARTTLS, before TLS (RFC 3207 4.2)");
        reset_reader();
      }
    }
    if (io_result h = conn_.start_tls(s_.tls_options, s_.server.host, s_.connect_timeout); !h) {
      if (!required) return outcome::retry_plain;
      stop_close(submission_status::tls_failed, "TLS handshake after STARTTLS: " + h.detail, r);
      return outcome::done;
    }
    if (defect(client_defect::no_ehlo_after_starttls)) {
      log_.note("defect no_ehlo_after_starttls: no EHLO inside TLS, keeping the plaintext extension list");
      return outcome::proceed;
    }
    // RFC 3207 4.2: "The client MUST discard any knowledge obtained from the
    // server, such as the list of SMTP service extensions" and "SHOULD send an
    // EHLO command as the first command after a successful TLS negotiation".
    ext() = {};
    return hello() ? outcome::proceed : outcome::done;
  }
  if (closing_reply(r, "STARTTLS")) return outcome::done;
  // RFC 3207 4.1: after 454 (or another refusal) local policy decides; a client
  // that requires TLS must not go on in plaintext.
  if (required && !defect(client_defect::continue_after_failed_starttls)) {
    stop_quit(submission_status::tls_failed, "STARTTLS: " + describe(r) + " (TLS is required)", r);
    return outcome::done;
  }
  log_.note("STARTTLS refused: continuing in plaintext");
  return outcome::proceed;
}

bool client_session::authenticate() {
  if (s_.auth_user.empty()) return true;
  // RFC 4954 4 (and 14): credentials in clear only when explicitly allowed.
  if (!conn_.tls_active() && !s_.allow_plaintext_auth) {
    stop_quit(submission_status::protocol_error,
              "credentials are only sent inside TLS (RFC 4954 14): use STARTTLS or implicit TLS");
    return false;
  }
  const auto mechanisms = ext().auth_mechanisms();
  if (std::find(mechanisms.begin(), mechanisms.end(), "PLAIN") == mechanisms.end()) {
    std::string offered;
    for (const auto& m : mechanisms) offered += (offered.empty() ? "" : " ") + m;
    stop_quit(submission_status::protocol_error,
              "the server does not offer AUTH PLAIN (offered: " + (offered.empty() ? std::string("none") : offered) + ")");
    return false;
  }
  // RFC 4616 2: message = [authzid] NUL authcid NUL passwd; RFC 4954 4: sent as
  // the initial response, base64-encoded.
  std::string credentials;
  credentials += '\0';
  credentials += s_.auth_user;
  credentials += '\0';
  credentials += s_.auth_password;
  const std::string encoded = ref::base64_encode(credentials);  // RFC 4648 4
  if (!send(cmd("AUTH PLAIN " + encoded), "AUTH PLAIN")) return false;
  ref::reply r;
  if (!read_reply(r, "AUTH PLAIN")) return false;
  if (r.code == 334) {
    // RFC 4954 4: a server that wants the response after an empty challenge.
    if (!send(cmd(encoded), "the AUTH PLAIN response")) return false;
    if (!read_reply(r, "the AUTH PLAIN response")) return false;
  }
  if (r.code == 235) {
    res_.authenticated = true;
    return true;
  }
  if (closing_reply(r, "AUTH PLAIN")) return false;
  if (s_.auth_optional && r.klass() != 2 && r.klass() != 3) {
    log_.note("AUTH PLAIN refused (" + describe(r) + "): going on without authentication (RFC 4954 4)");
    return true;
  }
  stop_quit(refusal_status(r), "AUTH PLAIN: " + describe(r), r);
  return false;
}

bool client_session::transaction() {
  res_.recipients.clear();
  for (const auto& a : s_.to) res_.recipients.push_back({strip_angles(a), false, std::nullopt});

  // RFC 1870 6.1: a client must not send a message larger than the limit the
  // server advertised (0 means no fixed limit, RFC 1870 4).
  if (auto limit = ext().size_limit(); limit && *limit > 0 && body_.size() > *limit &&
                                       !defect(client_defect::ignore_size)) {
    stop_quit(submission_status::refused, "the message is " + std::to_string(body_.size()) +
                                              " octets, over the server's SIZE limit of " + std::to_string(*limit) +
                                              ": not sent (RFC 1870 6.1)");
    return false;
  }
  // RFC 6152 3: 8-bit content only to a server that offers 8BITMIME.
  if (eight_bit_ && !ext().has("8BITMIME")) {
    stop_quit(submission_status::refused, "the message has 8-bit octets and the server does not offer 8BITMIME: "
                                          "not sent (RFC 6152 3)");
    return false;
  }
  // RFC 6531 3.2, 3.4: UTF-8 addresses only with SMTPUTF8.
  if (utf8_addresses_ && !ext().has("SMTPUTF8")) {
    stop_quit(submission_status::refused, "UTF-8 addresses and the server does not offer SMTPUTF8: not sent (RFC 6531 3.4)");
    return false;
  }

  // RFC 5321 4.1.1.2 MAIL FROM:<reverse-path> [SP Mail-parameters].
  std::string mail = "MAIL FROM:<" + from_ + ">";
  if (ext().has("SIZE")) mail += " SIZE=" + std::to_string(body_.size());  // RFC 1870 6: the declared size
  if (eight_bit_) mail += " BODY=8BITMIME";                                   // RFC 6152 2
  if (utf8_addresses_) mail += " SMTPUTF8";                                   // RFC 6531 3.4
  const std::string mail_what = "MAIL FROM:<" + from_ + ">";
  // RFC 3030 2: BDAT only when CHUNKING is offered.
  const bool bdat = s_.use_bdat_if_offered && ext().has("CHUNKING");
  const bool pipelined = (s_.use_pipelining_if_offered && ext().has("PIPELINING")) ||
                         defect(client_defect::pipeline_without_pipelining);

  std::size_t accepted = 0;
  std::optional<ref::reply> data_reply;
  ref::reply r;
  if (pipelined) {
    // RFC 2920 3.1: MAIL and the RCPTs may go in one group; DATA "must be the
    // last command in a group". One write for the whole group. With BDAT the
    // group stops before it: the chunk goes only once a recipient is known to be
    // accepted (RFC 5321 3.3).
    std::string group = cmd(mail);
    for (const auto& rc : res_.recipients) group += cmd("RCPT TO:<" + rc.address + ">");
    if (!bdat) group += cmd("DATA");
    if (!send(group, bdat ? "MAIL and RCPT" : "MAIL, RCPT and DATA")) return false;
    // RFC 2920 3.1: "check all statuses associated with each command in a group".
    if (!read_reply(r, mail_what)) return false;
    if (closing_reply(r, mail_what)) return false;
    std::optional<ref::reply> mail_refusal;
    if (r.klass() != 2) mail_refusal = r;
    for (auto& rc : res_.recipients) {
      const std::string what = "RCPT TO:<" + rc.address + ">";
      if (!read_reply(r, what)) return false;
      rc.reply = r;
      if (closing_reply(r, what)) return false;
      rc.accepted = r.klass() == 2;
      accepted += rc.accepted ? 1 : 0;
    }
    if (!bdat) {
      if (!read_reply(r, "DATA")) return false;
      data_reply = r;
    }
    if (mail_refusal) {
      if (data_reply && data_reply->code == 354) {
        // A server that accepted DATA anyway: RFC 2920 3.1, "the client SMTP
        // should send a single dot" (no content).
        if (!send(cmd("."), "a lone dot")) return false;
        if (!read_reply(r, "the lone dot")) return false;
        if (closing_reply(r, "the lone dot")) return false;
      }
      stop_quit(refusal_status(*mail_refusal), mail_what + ": " + describe(*mail_refusal), mail_refusal);
      return false;
    }
  } else {
    // RFC 2920 3.1: commands are grouped only when the server offers PIPELINING;
    // otherwise each command waits for its reply (RFC 5321 4.3.1).
    if (!send(cmd(mail), "MAIL")) return false;
    if (!read_reply(r, mail_what)) return false;
    if (closing_reply(r, mail_what)) return false;
    if (r.klass() != 2) {
      stop_quit(refusal_status(r), mail_what + ": " + describe(r), r);
      return false;
    }
    for (auto& rc : res_.recipients) {
      const std::string what = "RCPT TO:<" + rc.address + ">";
      if (!send(cmd("RCPT TO:<" + rc.address + ">"), what)) return false;
      if (!read_reply(r, what)) return false;
      rc.reply = r;
      if (closing_reply(r, what)) return false;
      rc.accepted = r.klass() == 2;
      accepted += rc.accepted ? 1 : 0;
    }
    // RFC 5321 3.3: with no recipient accepted there is no mail data to send;
    // the server would answer DATA with 503 or 554. The client ends with QUIT.
    if (accepted == 0 && !defect(client_defect::data_after_failed_recipients)) {
      stop_quit(submission_status::refused, "every recipient was refused: no DATA (RFC 5321 3.3)",
                res_.recipients.back().reply);
      return false;
    }
    if (!bdat) {
      if (!send(cmd("DATA"), "DATA")) return false;
      if (!read_reply(r, "DATA")) return false;
      data_reply = r;
    }
  }
  return finish_transaction(bdat, accepted, std::move(data_reply));
}

bool client_session::finish_transaction(bool bdat, std::size_t accepted, std::optional<ref::reply> data_reply) {
  const bool send_anyway = defect(client_defect::data_after_failed_recipients);
  const std::size_t size = bdat ? bdat_body_.size() : data_wire_.size();
  const auto data_timeout = s_.reply_timeout * static_cast<long>(1 + size / k_octets_per_timeout);
  ref::reply r;
  if (bdat) {
    if (accepted == 0 && !send_anyway) {
      stop_quit(submission_status::refused, "every recipient was refused: no BDAT (RFC 5321 3.3)",
                res_.recipients.back().reply);
      return false;
    }
    // RFC 3030 2: "BDAT" SP chunk-size SP "LAST", then exactly chunk-size octets,
    // with no transparency. One write for the command and the chunk.
    std::string chunk = cmd("BDAT " + std::to_string(bdat_body_.size()) + " LAST");
    chunk += bdat_body_;
    if (!send(chunk, "BDAT LAST and the message", data_timeout)) return false;
    if (!read_reply(r, "BDAT LAST")) return false;
  } else {
    if (data_reply->code != 354 && !(send_anyway && accepted == 0)) {
      if (closing_reply(*data_reply, "DATA")) return false;
      if (accepted == 0)
        stop_quit(submission_status::refused, "every recipient was refused (DATA: " + describe(*data_reply) + ")",
                  data_reply);
      else
        stop_quit(refusal_status(*data_reply), "DATA: " + describe(*data_reply), data_reply);
      return false;
    }
    if (accepted == 0 && !send_anyway) {
      // RFC 2920 3.1: "if the DATA command was accepted the SMTP client should
      // send a single dot" when no recipient was.
      if (!send(cmd("."), "a lone dot")) return false;
      if (!read_reply(r, "the lone dot")) return false;
      if (closing_reply(r, "the lone dot")) return false;
      stop_quit(submission_status::refused,
                "every recipient was refused; DATA got 354 anyway, so only a lone dot was sent (RFC 2920 3.1)",
                res_.recipients.back().reply);
      return false;
    }
    // The content, stuffed, and the end-of-data line in one write (4.5.2, 4.1.1.4).
    if (!send(data_wire_, "the message", data_timeout)) return false;
    if (!read_reply(r, "the end of data")) return false;
  }
  res_.final_reply = r;
  if (closing_reply(r, bdat ? "BDAT LAST" : "the end of data")) return false;
  if (r.klass() != 2) {
    stop_quit(refusal_status(r), std::string(bdat ? "BDAT LAST: " : "end of data: ") + describe(r), r);
    return false;
  }
  ++res_.messages_accepted;
  if (accepted < res_.recipients.size()) {
    std::string refused;
    for (const auto& rc : res_.recipients) {
      if (rc.accepted) continue;
      if (!refused.empty()) refused += "; ";
      refused += "<" + rc.address + "> " + (rc.reply ? describe(*rc.reply) : std::string("no reply"));
    }
    stop_quit(submission_status::refused, "recipients refused: " + refused, r);
    return false;
  }
  return true;
}

void client_session::quit() {
  if (!conn_.is_open()) return;
  if (defect(client_defect::no_quit)) {
    log_.note("defect no_quit: closing without QUIT");
    conn_.close();
    return;
  }
  // RFC 5321 4.1.1.10: QUIT, then wait for 221 before closing.
  std::string why;
  if (send_raw(cmd("QUIT"), s_.reply_timeout, why)) {
    ref::reply r;
    if (!read_reply_raw(r, why)) log_.note("no reply to QUIT: " + why);
    else if (r.code != 221) log_.note("QUIT answered " + describe(r) + " instead of 221");
  }
  conn_.close();
}

bool client_session::read_reply_raw(ref::reply& out, std::string& why) {
  for (;;) {
    if (in_pos_ < in_.size()) {
      in_pos_ += reader_.put(std::string_view(in_).substr(in_pos_));
      if (reader_.ready()) {
        ref::reply_item item = reader_.take();
        switch (item.what) {
          case ref::reply_item::kind::reply: out = std::move(item.reply); return true;
          case ref::reply_item::kind::frame_too_long:
            why = "a reply line longer than " + std::to_string(k_max_reply_line) + " octets";
            return false;
          case ref::reply_item::kind::malformed:
            why = "a malformed reply (" + std::string(ref::describe(item.error.code)) + ")";
            return false;
        }
      }
    }
    in_.clear();
    in_pos_ = 0;
    io_result r = conn_.read_some(in_, k_read_chunk, s_.reply_timeout);
    if (!r) {
      why = r.status == io_status::timeout ? "no reply within " + ms_text(s_.reply_timeout)
            : r.status == io_status::closed ? std::string("the server closed the connection")
                                            : r.detail;
      return false;
    }
  }
}

bool client_session::read_reply(ref::reply& out, std::string_view answering) {
  std::string why;
  if (read_reply_raw(out, why)) return true;
  stop_close(submission_status::protocol_error, std::string(answering) + ": " + why);
  return false;
}

bool client_session::send_raw(std::string_view bytes, std::chrono::milliseconds timeout, std::string& why) {
  io_result r = conn_.write(bytes, timeout);
  if (r) return true;
  why = r.detail;
  return false;
}

bool client_session::send(std::string_view bytes, std::string_view what, std::chrono::milliseconds timeout) {
  std::string why;
  if (send_raw(bytes, timeout, why)) return true;
  stop_close(submission_status::protocol_error, "could not send " + std::string(what) + ": " + why);
  return false;
}

void client_session::reset_reader() {
  reader_.reset(in_.size() - in_pos_);
  in_.clear();
  in_pos_ = 0;
}

bool client_session::closing_reply(const ref::reply& r, std::string_view what) {
  if (r.code != 421) return false;
  stop_close(submission_status::refused, std::string(what) + ": " + describe(r) + " (the server is closing)", r);
  return true;
}

void client_session::stop_close(submission_status st, std::string error, std::optional<ref::reply> r) {
  res_.status = st;
  res_.error = std::move(error);
  if (r) res_.final_reply = std::move(r);
  conn_.close();
}

void client_session::stop_quit(submission_status st, std::string error, std::optional<ref::reply> r) {
  res_.status = st;
  res_.error = std::move(error);
  if (r) res_.final_reply = std::move(r);
  quit();
}

}  // namespace

std::string_view to_string(client_defect d) noexcept {
  for (const auto& k : k_defects)
    if (k.d == d) return k.name;
  return {};
}

client_defect client_defect_from_string(std::string_view name) noexcept {
  for (const auto& k : k_defects)
    if (k.name == name) return k.d;
  return client_defect::none;
}

std::vector<client_defect> all_client_defects() {
  std::vector<client_defect> out;
  for (const auto& k : k_defects) out.push_back(k.d);
  return out;
}

std::string_view to_string(client_tls_mode m) noexcept {
  switch (m) {
    case client_tls_mode::none: return "none";
    case client_tls_mode::starttls_if_offered: return "starttls";
    case client_tls_mode::starttls_required: return "require-starttls";
    case client_tls_mode::implicit: return "implicit";
  }
  return "?";
}

bool client_tls_mode_from_string(std::string_view name, client_tls_mode& out) noexcept {
  for (auto m : {client_tls_mode::none, client_tls_mode::starttls_if_offered, client_tls_mode::starttls_required,
                 client_tls_mode::implicit}) {
    if (to_string(m) == name) {
      out = m;
      return true;
    }
  }
  return false;
}

std::string_view to_string(submission_status s) noexcept {
  switch (s) {
    case submission_status::delivered: return "delivered";
    case submission_status::refused: return "refused";
    case submission_status::unreachable: return "unreachable";
    case submission_status::tls_failed: return "tls_failed";
    case submission_status::protocol_error: return "protocol_error";
  }
  return "?";
}

std::string check_submission(const submission& s) {
  // Octets that would end or split a command line (RFC 5321 2.3.8), or break the
  // angle brackets of a path (4.1.2), must not reach the wire from an address.
  constexpr std::string_view k_line_breakers("\r\n\0", 3);
  if (s.to.empty()) return "no recipient: give at least one";
  if (s.count == 0) return "count must be at least 1";
  if (s.helo.empty() || has_octet_of(s.helo, k_line_breakers) || s.helo.find(' ') != std::string::npos)
    return "bad HELO domain '" + results::visible(s.helo) + "'";
  auto check = [&](const std::string& raw, bool may_be_empty) -> std::string {
    std::string a = strip_angles(raw);
    if (a.empty() && !may_be_empty) return "empty recipient address";
    if (has_octet_of(a, k_line_breakers) || has_octet_of(a, "<>")) return "bad address '" + results::visible(raw) + "'";
    return {};
  };
  if (auto e = check(s.from, true); !e.empty()) return e;
  for (const auto& t : s.to)
    if (auto e = check(t, false); !e.empty()) return e;
  return {};
}

submission_result submit(const submission& s, results::transcript& log) {
  if (auto e = check_submission(s); !e.empty()) throw std::invalid_argument(e);
  client_session session(s, log);
  return session.run();
}

}  // namespace smtpspec::harness
