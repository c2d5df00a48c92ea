// The RFC-strict sans-I/O server; see server_session.hpp for the RFC sections.
#include "smtpspec/reference/server_session.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <utility>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reference {
namespace {

struct defect_name {
  defect d;
  std::string_view name;
};
constexpr std::array<defect_name, 11> k_defects{{
    {defect::end_data_on_lf_dot_lf, "end_data_on_lf_dot_lf"},
    {defect::execute_after_starttls, "execute_after_starttls"},
    {defect::rcpt_without_mail, "rcpt_without_mail"},
    {defect::malformed_multiline, "malformed_multiline"},
    {defect::keep_stuffed_dot, "keep_stuffed_dot"},
    {defect::drop_second_pipelined, "drop_second_pipelined"},
    {defect::stay_open_after_quit, "stay_open_after_quit"},
    {defect::unbounded_command_line, "unbounded_command_line"},
    {defect::end_data_on_any_bare_dot, "end_data_on_any_bare_dot"},
    {defect::crash_on_data_after_bdat, "crash_on_data_after_bdat"},
    {defect::end_data_on_lf_dot_lf_discard_rest, "end_data_on_lf_dot_lf_discard_rest"},
}};

/// Complete replies in `out` (final lines: "NNN" or "NNN text"), i.e. replies the
/// client has not been sent yet when the I/O layer has not flushed them.
std::size_t count_replies(std::string_view out) {
  std::size_t n = 0;
  for (std::size_t pos = 0; pos < out.size();) {
    auto end = out.find("\r\n", pos);
    if (end == std::string_view::npos) break;
    auto line = out.substr(pos, end - pos);
    if (line.size() == 3 || (line.size() > 3 && line[3] == ' ')) ++n;
    pos = end + 2;
  }
  return n;
}

std::string shown_line(std::string_view line) {
  std::string out;
  for (char c : line.substr(0, 120)) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) out += c;
    else out += "\\x", out += "0123456789abcdef"[u >> 4], out += "0123456789abcdef"[u & 15];
  }
  if (line.size() > 120) out += "...";
  return out;
}

/// The reply a strict server gives when the model says the command is out of
/// sequence or not offered: the first code the model lists, with RFC 3463 detail.
struct canned {
  std::string_view status;
  std::string_view text;
};
canned canned_for(std::uint16_t code) {
  switch (code) {
    case 500: return {"5.5.2", "Command not recognized"};
    case 501: return {"5.5.4", "Syntax error in parameters or arguments"};
    case 502: return {"5.5.1", "Command not implemented"};
    case 503: return {"5.5.1", "Bad sequence of commands"};
    case 504: return {"5.5.4", "Command parameter not implemented"};
    case 530: return {"5.7.0", "Must issue a STARTTLS command first"};
    case 552: return {"5.3.4", "Message size exceeds fixed maximum message size"};
    case 554: return {"5.5.0", "No valid recipients"};
    case 555: return {"5.5.4", "MAIL FROM/RCPT TO parameters not recognized or not implemented"};
    default: return {code / 100 == 2 ? "2.0.0" : code / 100 == 4 ? "4.0.0" : "5.0.0", "Refused"};
  }
}

}  // namespace

std::string_view to_string(defect d) noexcept {
  for (const auto& k : k_defects)
    if (k.d == d) return k.name;
  return {};
}

defect defect_from_string(std::string_view name) noexcept {
  for (const auto& k : k_defects)
    if (k.name == name) return k.d;
  return defect::none;
}

std::vector<defect> all_defects() {
  std::vector<defect> out;
  for (const auto& k : k_defects) out.push_back(k.d);
  return out;
}

server_session::server_session(server_config config)
    : config_(std::move(config)),
      lines_(line_reader_options{has(config_.defects, defect::unbounded_command_line)
                                     ? std::numeric_limits<std::size_t>::max() / 2
                                     : max_command_line,
                                 config_.judge_client}) {
  data_decoder_options opt;
  if (has(config_.defects, defect::end_data_on_lf_dot_lf) || has(config_.defects, defect::end_data_on_lf_dot_lf_discard_rest))
    opt.also_end_on |= data_anomaly_bit(data_anomaly::lf_dot_lf);
  if (has(config_.defects, defect::end_data_on_any_bare_dot)) opt.also_end_on |= all_dot_sequences;
  opt.keep_stuffed_dot = has(config_.defects, defect::keep_stuffed_dot);
  // Judging a client, a non-standard end-of-data ends the data (and is reported),
  // so a client that sends <LF>.<LF> is judged rather than left waiting.
  if (config_.judge_client) opt.also_end_on |= all_dot_sequences;
  decoder_ = data_decoder(opt);
  if (config_.implicit_tls) model_.on_tls_established();
}

void server_session::start() {
  if (started_) return;
  started_ = true;
  const std::size_t before = out_.size();
  if (const auto* s = scripted("GREETING")) send_scripted(*s, before);
  else send_lines(220, {config_.domain + " ESMTP smtpspec reference server"});
  if (auto r = parse_reply(std::string_view(out_).substr(before))) {
    model_.on_greeting(*r);
    if (r->code == 421) closing_ = true;
  }
  previous_ = {owed_reply::kind::greeting};
  if (!early_.empty() && !closing_) feed(std::exchange(early_, {}));
}

arrival server_session::arrival_now() const { return {count_replies(out_), previous_}; }

void server_session::note_client(level l, citation cite, std::string text) {
  if (client_findings_.size() < 1000) client_findings_.push_back({l, cite, std::move(text)});
}

const scripted_reply* server_session::scripted(std::string_view on) {
  if (config_.script.empty()) return nullptr;
  auto it = std::find_if(occurrences_.begin(), occurrences_.end(), [&](const auto& o) { return iequals(o.first, on); });
  if (it == occurrences_.end()) it = occurrences_.insert(occurrences_.end(), {std::string(on), 0u});
  const unsigned seen = ++it->second;
  for (const auto& s : config_.script)
    if (iequals(s.on, on) && (s.nth == 0 || s.nth == seen)) return &s;
  return nullptr;
}

void server_session::send_scripted(const scripted_reply& s, std::size_t at) {
  out_.replace(at, out_.size() - at, s.wire);
  if (s.delay_ms > 0 && !pause_) pause_ = pause{at, s.delay_ms};
  if (s.close) {
    closing_ = true;
    model_.on_close();
  }
}

void server_session::record(server_event::kind k, std::string detail) {
  // Bounded: a hostile client cannot grow the event log without limit.
  if (events_.size() < 10000) events_.push_back({k, std::move(detail)});
}

std::size_t server_session::buffered() const noexcept { return lines_.buffered() + unbounded_line_.size(); }

void server_session::consume_output(std::size_t n) { out_.erase(0, std::min(n, out_.size())); }

std::vector<stored_message> server_session::take_messages() { return std::exchange(messages_, {}); }

std::vector<server_event> server_session::take_events() { return std::exchange(events_, {}); }

void server_session::send_lines(std::uint16_t code, const std::vector<std::string>& lines) {
  reply r;
  r.code = code;
  r.lines = lines;
  std::string wire = r.to_wire();
  if (has(config_.defects, defect::malformed_multiline) && lines.size() > 1) {
    // 4.2.1 violation: the last line carries a different code than the first.
    auto last = wire.rfind(std::to_string(code), wire.size() - 3);
    if (last != std::string::npos) wire[last + 2] = wire[last + 2] == '9' ? '8' : static_cast<char>(wire[last + 2] + 1);
  }
  out_ += wire;
}

void server_session::send_reply(std::uint16_t code, std::string_view status, std::string_view text) {
  std::string line;
  // RFC 2034 3: with ENHANCEDSTATUSCODES every reply but the greeting, the EHLO/HELO
  // reply and 3yz (RFC 3463 has no class 3) carries a status code.
  if (config_.enhanced_status_codes && !status.empty() && code / 100 != 3) {
    line += status;
    line += ' ';
  }
  line += text;
  send_lines(code, {line});
}

std::string server_session::advertised() const {
  std::string keywords;
  const auto& s = model_.state();
  auto add = [&](std::string_view k) {
    keywords += k;
    keywords += '\n';
  };
  if (config_.pipelining) add("PIPELINING");
  if (config_.size) add("SIZE " + std::to_string(config_.max_message_size));
  if (config_.eight_bit_mime) add("8BITMIME");
  if (config_.smtputf8) add("SMTPUTF8");
  if (config_.chunking) add("CHUNKING");
  if (config_.enhanced_status_codes) add("ENHANCEDSTATUSCODES");
  // RFC 3207 4.2: never offer STARTTLS inside TLS.
  if (config_.tls_available && !s.tls) add("STARTTLS");
  // RFC 4954 4 leaves it to policy; sending credentials in clear is refused here.
  if (s.tls || config_.auth_in_plaintext) add("AUTH PLAIN LOGIN");
  if (config_.help) add("HELP");
  if (const auto& scripted = s.tls ? config_.tls_keywords : config_.keywords) {
    keywords.clear();
    for (const auto& k : *scripted) add(k);
  }
  return keywords;
}

void server_session::send_ehlo_reply(const command& c) {
  std::vector<std::string> lines{config_.domain + " greets " + std::string(c.domain)};
  std::string kw = advertised();
  for (std::size_t pos = 0; pos < kw.size();) {
    auto nl = kw.find('\n', pos);
    lines.emplace_back(kw.substr(pos, nl - pos));
    pos = nl + 1;
  }
  send_lines(250, lines);
}

void server_session::send_invalid(verb v, const parse_error& e) {
  std::uint16_t code = reply_code_for(e.code);
  if (e.code == error::eight_bit_octet && (v == verb::mail || v == verb::rcpt) && config_.smtputf8)
    // RFC 6531 3.5: a non-ASCII address without the SMTPUTF8 parameter gets 550
    // (MAIL) or 553 (RCPT) with X.6.7.
    return v == verb::mail ? send_reply(550, "5.6.7", "Non-ASCII addresses need the SMTPUTF8 parameter")
                           : send_reply(553, "5.6.7", "Non-ASCII addresses need the SMTPUTF8 parameter");
  if (code == 500 && e.code == error::line_too_long) return send_reply(500, "5.5.6", "Line too long");
  auto msg = canned_for(code);
  send_reply(code, msg.status, std::string(msg.text) + " (" + std::string(describe(e.code)) + ")");
}

std::size_t server_session::feed(std::string_view bytes) {
  const std::size_t total = bytes.size();
  if (!started_ && config_.judge_client) {
    // 4.3.1: "The sender SHOULD wait for this greeting message before sending any
    // commands." Held (bounded) and processed once the greeting is out.
    if (early_.empty())
      note_client(level::should, {5321, "4.3.1"}, "the client sent \"" + shown_line(bytes) + "\" before the 220 greeting");
    early_.append(bytes.substr(0, std::min(bytes.size(), std::size_t{4096} - std::min<std::size_t>(early_.size(), 4096))));
    return total;
  }
  commands_this_feed_ = 0;
  std::string_view in = bytes;
  while (!in.empty() && !tls_wanted_ && !closing_ && !crashed_) {
    if (bdat_remaining_ > 0) {
      // RFC 3030 2: exactly chunk-size octets follow the BDAT line, binary-safe.
      auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bdat_remaining_, in.size()));
      if (!bdat_discarding_ && !content_too_big_) {
        if (content_.size() + n > config_.max_message_size) content_too_big_ = true;
        else content_.append(in.substr(0, n)), wire_.append(in.substr(0, n));
      }
      bdat_remaining_ -= n;
      in.remove_prefix(n);
      if (bdat_remaining_ == 0) finish_message(true);
      continue;
    }
    if (discarding_to_end_) {
      std::string ignored;
      auto r = discard_decoder_.feed(in, ignored);
      in.remove_prefix(r.consumed);
      if (r.end_of_data) discarding_to_end_ = false;
      continue;
    }
    if (in_data_) {
      if (!data_begun_) {
        data_begun_ = true;
        // 3.3: "message data MUST NOT be sent unless a 354 reply is received". The
        // data began to arrive while the 354 was still owed (not yet handed to the
        // I/O layer): the client did not wait for it, however its octets were split.
        if (config_.judge_client && count_replies(out_) > 0)
          note_client(level::must, {5321, "3.3"},
                      "the message data began to arrive before the 354 reply to DATA was sent: message data MUST NOT "
                      "be sent unless a 354 reply is received");
      }
      std::size_t before = content_.size();
      auto r = decoder_.feed(in, content_);
      if (content_.size() > config_.max_message_size) {
        content_too_big_ = true;
        content_.resize(before > config_.max_message_size ? config_.max_message_size : before);
      }
      // Bounded by the content limit, not by the wire's own size: stuffed dots make
      // the wire longer than content that fits, and a message stored with part of
      // its wire missing misleads relay checks (found by session_fuzzer).
      if (!content_too_big_) wire_.append(in.substr(0, r.consumed));
      in.remove_prefix(r.consumed);
      if (r.end_of_data) {
        in_data_ = false;
        for (const auto& a : decoder_.anomalies()) {
          record(server_event::kind::data_anomaly, std::string(to_string(a.kind)) + " at " + std::to_string(a.offset));
          if (config_.judge_client && client_findings_.size() < 50)
            note_client(level::must, a.kind == data_anomaly::overlong_line ? citation{5321, "4.5.3.1.6"} : citation{5321, "2.3.8"},
                        "the mail data holds " + std::string(to_string(a.kind)) + " at octet " + std::to_string(a.offset) +
                            (a.kind == data_anomaly::overlong_line
                                 ? ": a text line over 1000 octets"
                                 : ": CR and LF MUST only be sent together, as CRLF, and only CRLF.CRLF ends the data (4.1.1.4)"));
        }
        finish_message(false);
        if (r.ended_by != data_anomaly::count_ && has(config_.defects, defect::end_data_on_lf_dot_lf_discard_rest)) {
          discarding_to_end_ = true;
          discard_decoder_.reset();
        }
      }
      continue;
    }
    if (has(config_.defects, defect::unbounded_command_line)) {
      // The defect: the whole line is kept in memory, however long.
      if (unbounded_line_.empty()) line_arrival_ = arrival_now();
      auto nl = in.find("\r\n");
      if (nl == std::string_view::npos) {
        unbounded_line_.append(in);
        in = {};
        break;
      }
      unbounded_line_.append(in.substr(0, nl));
      in.remove_prefix(nl + 2);
      std::string line = std::exchange(unbounded_line_, {});
      process_line(line);
      continue;
    }
    if (!mid_line_) line_arrival_ = arrival_now();
    auto l = lines_.next(in);
    if (l.state == line::status::need_more) {
      mid_line_ = lines_.buffered() > 0;
      break;
    }
    mid_line_ = false;
    if (l.state == line::status::too_long) {
      // 4.3.2 / 4.5.3.1.4: "500 ... command line too long"; the rest of the line is
      // skipped by the reader with constant memory.
      record(server_event::kind::line_too_long, std::to_string(l.length));
      const std::size_t before = out_.size();
      send_reply(500, "5.5.6", "Line too long");
      previous_ = {owed_reply::kind::command, verb::unknown, true};
      // Inside a SASL exchange the 500 answers the client's response: like any reply
      // but 334 it ends the exchange (RFC 4954 4), so the next line is a command again.
      if (model_.state().where == phase::auth)
        if (auto r = parse_reply(std::string_view(out_).substr(before))) model_.on_auth_reply(*r);
      continue;
    }
    if (config_.judge_client && (l.bare_lf || l.has_bare_cr || l.has_bare_lf))
      // 2.3.8: "SMTP client implementations MUST NOT transmit these characters
      // except when they are intended as line terminators and then MUST transmit
      // them only as a <CRLF> sequence."
      note_client(level::must, {5321, "2.3.8"},
                  "the command line \"" + shown_line(l.text) + "\" " +
                      (l.bare_lf ? "ends in a bare LF" : "holds a bare CR or LF") + ": lines MUST end in CRLF");
    process_line(l.text);
  }
  if (tls_wanted_ && !in.empty()) {
    if (has(config_.defects, defect::execute_after_starttls)) {
      // The defect (CVE-2011-0411): the plaintext stays queued and is executed
      // once TLS is up, as if the TLS client had sent it.
      unbounded_line_.assign(in);
    } else {
      // RFC 3207 4: bytes queued behind STARTTLS are not commands; discard them.
      record(server_event::kind::discarded_after_starttls, std::to_string(in.size()) + " octets");
    }
    in = {};
  }
  if (closing_ || crashed_) in = {};
  return total - in.size();
}

void server_session::feed_eof() {
  // 4.1.1.10: a pending transaction is cancelled, completed ones stay.
  in_data_ = false;
  bdat_remaining_ = 0;
  content_.clear();
  forward_paths_.clear();
  model_.on_close();
  record(server_event::kind::closed, "client closed the connection");
}

void server_session::tls_established() {
  tls_wanted_ = false;
  model_.on_tls_established();
  reverse_path_.clear();
  forward_paths_.clear();
  content_.clear();
  lines_.reset();
  mid_line_ = false;
  if (has(config_.defects, defect::execute_after_starttls) && !unbounded_line_.empty()) {
    std::string queued = std::exchange(unbounded_line_, {});
    feed(queued);
  }
}

void server_session::timeout() {
  if (closing_) return;
  // 4.5.3.2.7 and 3.8: the server may close after a timeout, announcing it with 421.
  send_reply(421, "4.4.2", config_.domain + " Timeout, closing transmission channel");
  closing_ = true;
  model_.on_close();
}

void server_session::process_line(std::string_view line) {
  if (model_.state().where == phase::auth) {
    // RFC 4954 4: the exchange ends with the reply to this line; nothing may follow
    // it in a group (only AUTH with an initial response of PLAIN or EXTERNAL may be).
    previous_ = {owed_reply::kind::sasl_response, verb::auth, true};
    return process_auth_line(line);
  }
  ++commands_this_feed_;
  if (has(config_.defects, defect::drop_second_pipelined) && commands_this_feed_ == 2) {
    record(server_event::kind::command, "dropped (defect): " + std::string(line.substr(0, 64)));
    return;
  }
  command_options opt;
  // 4.1.1: "SMTP receivers SHOULD tolerate trailing white space before the
  // terminating <CRLF>".
  opt.lenient = leniency::trailing_whitespace;
  // Judging a client, HELO with an address literal is accepted and graded (the RFC
  // contradicts itself on it: see session::check_command) so the session goes on.
  if (config_.judge_client) opt.lenient = opt.lenient | leniency::helo_address_literal;
  // RFC 6531 3.4: UTF-8 addresses are allowed when the MAIL command carries SMTPUTF8.
  opt.smtputf8 = config_.smtputf8 && (model_.state().smtputf8 || (line.size() > 4 && iequals(line.substr(0, 4), "MAIL") &&
                                                                   line.find(" SMTPUTF8") != std::string_view::npos));
  auto parsed = parse_command(line, opt);
  // Mail data after a refused DATA is answered as the strict server would (500),
  // and reported (3.3).
  if (config_.judge_client) judge_line(line);
  if (!parsed) {
    verb v = verb_from_string(line.substr(0, std::min<std::size_t>(line.find(' '), line.size())));
    if (config_.judge_client && v != verb::unknown && !data_refused_)
      note_client(level::must, {5321, "4.1.2"},
                  "malformed " + std::string(to_string(v)) + " command \"" + shown_line(line) +
                      "\": " + std::string(describe(parsed.error().code)));
    record(server_event::kind::command, "invalid: " + std::string(to_string(parsed.error().code)));
    std::size_t before = out_.size();
    previous_ = {owed_reply::kind::command, v, ends_pipeline_group(v)};
    send_invalid(v, parsed.error());
    auto r = parse_reply(std::string_view(out_).substr(before));
    if (r) model_.on_invalid_reply(v, *r);
    return;
  }
  record(server_event::kind::command, std::string(line.substr(0, 80)));
  process_command(*parsed);
}

void server_session::judge_line(std::string_view line) {
  if (!data_refused_) return;
  verb v = verb_from_string(line.substr(0, std::min<std::size_t>(line.find(' '), line.size())));
  if (v != verb::unknown && line != ".") {
    data_refused_ = false;
    return;
  }
  // 3.3: "If one of those replies (or any other 5yz reply) is received, the client
  // MUST NOT send the message data; more generally, message data MUST NOT be sent
  // unless a 354 reply is received."
  if (client_findings_.size() < 50)
    note_client(level::must, {5321, "3.3"},
                "\"" + shown_line(line) + "\" looks like mail data sent although DATA was not answered 354");
}

bool server_session::recipient_allowed(const command& c, std::uint16_t& code, std::string& status,
                                       std::string& text) const {
  if (c.address.postmaster) return true;  // 4.5.1: postmaster is always accepted
  const auto& box = c.address.box;
  bool local = std::any_of(config_.local_domains.begin(), config_.local_domains.end(),
                           [&](const std::string& d) { return iequals(d, box.host); });
  if (!local) {
    code = 550, status = "5.7.1", text = "Relaying denied";
    return false;
  }
  // A local part starting with "reject" has no mailbox: scenarios use it for the
  // "one of several recipients rejected" cases (3.3).
  if (box.local_part.size() >= 6 && iequals(box.local_part.substr(0, 6), "reject")) {
    code = 550, status = "5.1.1", text = "No such user here";
    return false;
  }
  if (forward_paths_.size() >= config_.max_recipients) {
    code = 452, status = "4.5.3", text = "Too many recipients";  // 4.5.3.1.10
    return false;
  }
  return true;
}

void server_session::process_command(const command& c) {
  if (has(config_.defects, defect::crash_on_data_after_bdat) && c.kind == verb::data &&
      model_.state().where == phase::bdat) {
    record(server_event::kind::command, "crashed (defect): DATA after a BDAT chunk");
    crashed_ = true;
    return;
  }
  const std::size_t before = out_.size();
  if (config_.judge_client) {
    for (auto& f : model_.check_command(c, line_arrival_)) {
      f.text = "\"" + shown_line(c.line) + "\": " + f.text;
      note_client(f.strength, f.cite, std::move(f.text));
    }
    if (commands_.size() < 1000) commands_.push_back({c.kind, std::string(c.line.substr(0, 200)), model_.state().tls});
  }
  previous_ = {owed_reply::kind::command, c.kind, ends_pipeline_group(c)};
  if (const auto* s = scripted(to_string(c.kind).empty() ? std::string_view("UNKNOWN") : to_string(c.kind))) {
    const int klass = s->wire.empty() ? 0 : s->wire[0] - '0';
    if (klass == 4 || klass == 5 || c.kind == verb::quit) {
      // Refused: the command has no effect; the model follows the scripted reply.
      out_ += s->wire;
      if (c.kind == verb::bdat) bdat_remaining_ = c.chunk_size, bdat_discarding_ = true;
      if (c.kind == verb::data) data_refused_ = true;
      if (auto r = parse_reply(std::string_view(out_).substr(before))) {
        model_.on_reply(c, *r);
        if (r->code == 421 || c.kind == verb::quit) closing_ = true;
      }
      send_scripted(*s, before);
      return;
    }
    process_command_as_usual(c);
    send_scripted(*s, before);
    // The model follows what the client was told (e.g. a scripted EHLO keyword list).
    if (c.kind == verb::ehlo || c.kind == verb::helo)
      if (auto r = parse_reply(std::string_view(out_).substr(before))) model_.on_reply(c, *r);
    if (c.kind == verb::data) data_refused_ = s->wire.compare(0, 3, "354") != 0;
    return;
  }
  process_command_as_usual(c);
  if (c.kind == verb::data) data_refused_ = !(out_.size() > before + 3 && out_.compare(before, 3, "354") == 0);
}

void server_session::process_command_as_usual(const command& c) {
  const std::size_t before = out_.size();
  const expectation e = model_.expect(c);
  auto refuse = [&] {
    // The first refusal the model lists: before EHLO it lists 220 first for
    // STARTTLS, which a server without TLS must not send (RFC 3207 4: the client
    // would start the handshake). Found by fuzz/reference/session_fuzzer.
    const auto listed = std::find_if(e.codes.begin(), e.codes.end(), [](std::uint16_t x) { return x >= 400; });
    auto code = listed == e.codes.end() ? std::uint16_t(503) : *listed;
    if (c.kind == verb::auth && !model_.state().tls && code == 502) code = 530;  // RFC 3207 4
    auto msg = canned_for(code);
    send_reply(code, msg.status, msg.text);
  };

  switch (c.kind) {
    case verb::ehlo:
      send_ehlo_reply(c);
      reverse_path_.clear();
      forward_paths_.clear();
      break;
    case verb::helo:
      // 3.2: "Servers MUST NOT return the extended EHLO-style response to a HELO".
      send_lines(250, {config_.domain});
      reverse_path_.clear();
      forward_paths_.clear();
      break;
    case verb::mail:
      if (!e.lists(250)) {
        refuse();
        break;
      }
      reverse_path_ = c.address.text;
      forward_paths_.clear();
      content_.clear();
      wire_.clear();
      content_too_big_ = false;
      send_reply(250, "2.1.0", "Sender OK");
      break;
    case verb::rcpt: {
      if (!e.lists(250) && !has(config_.defects, defect::rcpt_without_mail)) {
        refuse();
        break;
      }
      std::uint16_t code = 250;
      std::string status, text;
      if (!recipient_allowed(c, code, status, text)) {
        send_reply(code, status, text);
        break;
      }
      forward_paths_.emplace_back(c.address.text);
      send_reply(250, "2.1.5", "Recipient OK");
      break;
    }
    case verb::data:
      if (!e.lists(354)) {
        refuse();
        break;
      }
      in_data_ = true;
      data_begun_ = false;
      content_.clear();
      wire_.clear();
      content_too_big_ = false;
      decoder_.reset();
      send_reply(354, "", "End data with <CR><LF>.<CR><LF>");
      break;
    case verb::rset:
      reverse_path_.clear();
      forward_paths_.clear();
      content_.clear();
      bdat_discarding_ = false;
      send_reply(250, "2.0.0", "OK");
      break;
    case verb::vrfy:
      // 3.5.3: 252 when the server will not verify but will accept mail.
      send_reply(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
      break;
    case verb::expn:
      send_reply(502, "5.5.1", "EXPN not implemented");
      break;
    case verb::help:
      send_lines(214, {config_.enhanced_status_codes ? "2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET VRFY NOOP" : "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET VRFY NOOP",
                        config_.enhanced_status_codes ? "2.0.0 QUIT HELP STARTTLS AUTH; see RFC 5321" : "QUIT HELP STARTTLS AUTH; see RFC 5321"});
      break;
    case verb::noop:
      send_reply(250, "2.0.0", "OK");
      break;
    case verb::quit:
      send_reply(221, "2.0.0", config_.domain + " Service closing transmission channel");
      if (!has(config_.defects, defect::stay_open_after_quit)) closing_ = true;
      break;
    case verb::starttls:
      if (!e.lists(220) || !config_.tls_available) {
        refuse();
        break;
      }
      send_reply(220, "2.0.0", "Ready to start TLS");
      tls_wanted_ = true;
      break;
    case verb::auth: {
      if (!e.lists(334)) {
        refuse();
        break;
      }
      const bool plain = iequals(c.mechanism, "PLAIN"), login = iequals(c.mechanism, "LOGIN");
      if (!plain && !login) {
        send_reply(504, "5.5.4", "Unrecognized authentication type");
        break;
      }
      auth_step_ = 0;
      auth_user_.clear();
      if (c.initial_response) {
        // The model moves to phase::auth only on 334; handle the response inline.
        std::string_view ir = *c.initial_response;
        if (plain) {
          auto decoded = ir == "=" ? std::optional<std::string>(std::string()) : base64_decode(ir);
          if (!decoded) {
            send_reply(501, "5.5.2", "Cannot decode response");
            break;
          }
          // RFC 4616 2: [authzid] NUL authcid NUL passwd
          auto first = decoded->find('\0');
          auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
          bool ok = second != std::string::npos && decoded->substr(first + 1, second - first - 1) == config_.auth_user &&
                    decoded->substr(second + 1) == config_.auth_password;
          if (ok) send_reply(235, "2.7.0", "Authentication successful");
          else send_reply(535, "5.7.8", "Authentication credentials invalid");
          break;
        }
        auto user = base64_decode(ir);
        if (!user) {
          send_reply(501, "5.5.2", "Cannot decode response");
          break;
        }
        auth_user_ = *user;
        auth_step_ = 1;
        send_reply(334, "", "UGFzc3dvcmQ6");  // "Password:"
        break;
      }
      if (plain) {
        auth_step_ = 2;  // the next line is the whole PLAIN response
        send_lines(334, {""});
      } else {
        send_reply(334, "", "VXNlcm5hbWU6");  // "Username:"
      }
      break;
    }
    case verb::bdat:
      if (!e.lists(250)) {
        // RFC 3030 2: the chunk's octets are read and discarded before the reply.
        refuse();
        bdat_remaining_ = c.chunk_size;
        bdat_discarding_ = true;
        if (bdat_remaining_ > 0) {
          // The refusal must follow the chunk: hold it until the octets are read.
          pending_bdat_reply_ = out_.substr(before);
          out_.resize(before);
        }
        break;
      }
      bdat_remaining_ = c.chunk_size;
      bdat_last_ = c.last;
      bdat_discarding_ = false;
      pending_bdat_command_ = std::string(c.line);
      if (bdat_remaining_ == 0) finish_message(true);
      return;  // the reply follows the chunk
    case verb::unknown:
      send_reply(500, "5.5.2", "Command not recognized");
      break;
  }
  if (out_.size() > before) {
    if (auto r = parse_reply(std::string_view(out_).substr(before))) model_.on_reply(c, *r);
  } else if (!pending_bdat_reply_.empty()) {
    if (auto r = parse_reply(pending_bdat_reply_)) model_.on_reply(c, *r);
  }
}

void server_session::process_auth_line(std::string_view line) {
  // RFC 4954 4: "*" cancels; anything not base64 is rejected with 501.
  auto finish = [&](std::uint16_t code, std::string_view status, std::string_view text) {
    std::size_t before = out_.size();
    send_reply(code, status, text);
    if (auto r = parse_reply(std::string_view(out_).substr(before))) model_.on_auth_reply(*r);
  };
  if (line == "*") return finish(501, "5.0.0", "Authentication cancelled");
  auto decoded = base64_decode(line);
  if (!decoded) return finish(501, "5.5.2", "Cannot decode response");
  if (auth_step_ == 2) {
    auto first = decoded->find('\0');
    auto second = first == std::string::npos ? first : decoded->find('\0', first + 1);
    bool ok = second != std::string::npos && decoded->substr(first + 1, second - first - 1) == config_.auth_user &&
              decoded->substr(second + 1) == config_.auth_password;
    return ok ? finish(235, "2.7.0", "Authentication successful")
              : finish(535, "5.7.8", "Authentication credentials invalid");
  }
  if (auth_step_ == 0) {
    auth_user_ = *decoded;
    auth_step_ = 1;
    return finish(334, "", "UGFzc3dvcmQ6");
  }
  bool ok = auth_user_ == config_.auth_user && *decoded == config_.auth_password;
  return ok ? finish(235, "2.7.0", "Authentication successful")
            : finish(535, "5.7.8", "Authentication credentials invalid");
}

void server_session::finish_message(bool via_bdat) {
  if (via_bdat) {
    if (bdat_discarding_) {
      out_ += std::exchange(pending_bdat_reply_, {});
      bdat_discarding_ = model_.state().where == phase::bdat_failed;
      return;
    }
    // Read as process_line() read it (4.1.1 trailing white space tolerated): a strict
    // re-parse failed on "BDAT 3 LAST " and left the model in the transaction
    // after the message was stored (found by session_fuzzer).
    command_options opt;
    opt.lenient = leniency::trailing_whitespace;
    auto parsed = parse_command(pending_bdat_command_, opt);
    std::size_t before = out_.size();
    if (content_too_big_) {
      send_reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    } else if (bdat_last_) {
      messages_.push_back({reverse_path_, forward_paths_, content_, std::exchange(wire_, {}), {}, true, model_.state().tls});
      record(server_event::kind::message_stored, std::to_string(content_.size()) + " octets via BDAT");
      send_reply(250, "2.0.0", "Message accepted for delivery");
    } else {
      send_reply(250, "2.0.0", std::to_string(parsed ? parsed->chunk_size : 0) + " octets received");
    }
    if (parsed)
      if (auto r = parse_reply(std::string_view(out_).substr(before))) model_.on_reply(*parsed, *r);
    if (bdat_last_ || content_too_big_) {
      if (content_too_big_) bdat_discarding_ = true;
      content_.clear();
      forward_paths_.clear();
    }
    return;
  }
  std::size_t before = out_.size();
  // RFC 2920 3.1: the message content "is explicitly allowed to be the first
  // "command" in a group", so the next transaction's commands may follow it.
  previous_ = {owed_reply::kind::message_content, verb::unknown, false};
  const scripted_reply* s = scripted("END-OF-DATA");
  if (s && !s->wire.empty() && (s->wire[0] == '4' || s->wire[0] == '5')) {
    out_ += s->wire;  // refused: the message is not stored
  } else if (content_too_big_) {
    send_reply(552, "5.3.4", "Message size exceeds fixed maximum message size");  // RFC 1870 4
  } else {
    messages_.push_back(
        {reverse_path_, forward_paths_, content_, std::exchange(wire_, {}), decoder_.anomalies(), false, model_.state().tls});
    record(server_event::kind::message_stored, std::to_string(content_.size()) + " octets");
    send_reply(250, "2.0.0", "Message accepted for delivery");
  }
  if (s) send_scripted(*s, before);
  if (auto r = parse_reply(std::string_view(out_).substr(before))) {
    model_.on_end_of_data(*r);
    if (r->code == 421) closing_ = true;
  }
  content_.clear();
  forward_paths_.clear();
  reverse_path_.clear();
}

}  // namespace smtpspec::reference
