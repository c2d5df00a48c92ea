// A strict server's framing of the client's octets; see client_stream.hpp.
// RFC 5321 2.3.8, 4.1.1.4, 4.2, 4.5.2; RFC 2920 3.2; RFC 3030 2; RFC 3207 4;
// RFC 4954 4.
#include "smtpspec/reference/client_stream.hpp"

#include <algorithm>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reference {
namespace {

/// A slot's line is kept for reports and for judging; bound it so a 100 MB line
/// costs nothing.
constexpr std::size_t k_kept_line = 1024;

}  // namespace

command_options parse_options_for(const session_state& s, std::string_view line) {
  command_options opt;
  const bool mail = line.size() >= 4 && icontains(line.substr(0, 4), "MAIL");
  opt.smtputf8 = s.offers("SMTPUTF8") && (s.smtputf8 || (mail && icontains(line, " SMTPUTF8")));
  return opt;
}

std::string reply_slot::describe() const {
  switch (what) {
    case kind::command:
    case kind::invalid_line: return line;
    case kind::end_of_data: return "<CRLF>.<CRLF> (end of data)";
    case kind::sasl_line: return "SASL response \"" + line + "\"";
  }
  return line;
}

void client_stream::sent(std::string_view bytes, int tag) {
  tag_ = tag;
  pending_.append(bytes);
  interpret();
}

void client_stream::push_line(std::string_view line, bool too_long, std::size_t length) {
  reply_slot slot;
  slot.tag = tag_;
  slot.line.assign(line.substr(0, k_kept_line));
  if (mode_ == mode::sasl) {
    // A SASL response, however long: whatever the reply (500 "line too long" too),
    // anything but 334 ends the exchange (RFC 4954 4), so the client must wait for it.
    // The kept prefix is judged like the whole response (base64 or not, RFC 4954 4).
    if (too_long) slot.error = {error::line_too_long, max_command_line};
    slot.what = reply_slot::kind::sasl_line;
    slots_.push_back(std::move(slot));
    blocked_ = true;  // the reply says whether the exchange continues
    return;
  }
  if (too_long) {
    slot.what = reply_slot::kind::invalid_line;
    slot.error = {error::line_too_long, max_command_line};
    slot.line += "... (" + std::to_string(length) + " octets)";
    slot.v = verb_from_string(line.substr(0, std::min<std::size_t>(line.find(' '), line.size())));
    slots_.push_back(std::move(slot));
    return;
  }
  auto opt = parse_options_for(model_.state(), line);
  auto parsed = parse_command(line, opt);
  if (!parsed && !line.empty() && (line.back() == ' ' || line.back() == '\t')) {
    // 4.1.1: "SMTP receivers SHOULD tolerate trailing white space before the
    // terminating <CRLF>": judge the command as if the blanks were not there.
    opt.lenient = opt.lenient | leniency::trailing_whitespace;
    if (auto tolerant = parse_command(line, opt)) {
      parsed = std::move(tolerant);
      slot.trailing_blanks = true;
    }
  }
  if (!parsed) {
    slot.what = reply_slot::kind::invalid_line;
    slot.error = parsed.error();
    slot.v = verb_from_string(line.substr(0, std::min<std::size_t>(line.find(' '), line.size())));
    // A lenient server may still act on it ("STARTTLS NOW" answered 220): until
    // the reply says, the octets after it cannot be read.
    if (slot.v == verb::data || slot.v == verb::starttls || slot.v == verb::auth || slot.v == verb::quit)
      blocked_ = true;
    slots_.push_back(std::move(slot));
    return;
  }
  slot.what = reply_slot::kind::command;
  slot.v = parsed->kind;
  switch (parsed->kind) {
    case verb::data:
    case verb::starttls:
    case verb::auth:
    case verb::quit:
      // Their replies decide how the next octets are read (data, TLS, SASL, none).
      blocked_ = true;
      break;
    case verb::bdat:
      // RFC 3030 2: the chunk follows the line at once, without waiting.
      bdat_left_ = parsed->chunk_size;
      if (bdat_left_ > 0) mode_ = mode::bdat_chunk;
      break;
    default:
      break;
  }
  slots_.push_back(std::move(slot));
}

void client_stream::interpret() {
  std::string_view in = pending_;
  while (!in.empty() && !blocked_) {
    switch (mode_) {
      case mode::closed:
        after_quit_ += in.size();
        in = {};
        break;
      case mode::injected:
        // RFC 3207 4: octets after 220 to STARTTLS are not commands.
        injected_ += in.size();
        in = {};
        break;
      case mode::bdat_chunk: {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bdat_left_, in.size()));
        in.remove_prefix(n);
        bdat_left_ -= n;
        if (bdat_left_ == 0) mode_ = mode::commands;
        break;
      }
      case mode::data: {
        scratch_.clear();
        auto r = decoder_.feed(in, scratch_);
        in.remove_prefix(r.consumed);
        if (r.end_of_data) {
          reply_slot slot;
          slot.what = reply_slot::kind::end_of_data;
          slot.tag = tag_;
          slot.anomalies = decoder_.anomalies();
          slots_.push_back(std::move(slot));
          decoder_.reset();
          mode_ = mode::commands;
        }
        break;
      }
      case mode::commands:
      case mode::sasl: {
        auto l = lines_.next(in);
        if (l.state == line::status::need_more) {
          in = {};  // the reader keeps the partial line
          break;
        }
        push_line(l.text, l.state == line::status::too_long, l.length);
        break;
      }
    }
  }
  pending_.erase(0, pending_.size() - in.size());
}

judged_reply client_stream::on_greeting(const reply& r, bool check_content) {
  judged_reply out;
  out.expected = model_.expect_greeting();
  out.grade = judge(out.expected, r);
  out.before = model_.state().where;
  if (check_content) out.content = model_.check_reply(verb::unknown, r, true);
  out.slot.what = reply_slot::kind::command;
  out.slot.line = "(connection opened)";
  model_.on_greeting(r);
  return out;
}

std::optional<judged_reply> client_stream::on_reply(const reply& r, bool check_content) {
  if (slots_.empty()) return std::nullopt;
  judged_reply out;
  out.slot = std::move(slots_.front());
  slots_.pop_front();
  out.before = model_.state().where;
  const bool was_blocking = blocked_ && slots_.empty();

  switch (out.slot.what) {
    case reply_slot::kind::command: {
      auto opt = parse_options_for(model_.state(), out.slot.line);
      if (out.slot.trailing_blanks) opt.lenient = opt.lenient | leniency::trailing_whitespace;
      auto parsed = parse_command(out.slot.line, opt);
      if (!parsed) {  // cannot happen: the line parsed when it was queued
        out.expected = model_.expect_invalid(out.slot.v, parsed.error(), out.slot.line);
        out.grade = judge(out.expected, r);
        model_.on_invalid_reply(out.slot.v, r);
        break;
      }
      out.expected = model_.expect(*parsed);
      out.grade = judge(out.expected, r);
      if (out.slot.trailing_blanks && out.grade.kind == outcome::wrong_class && (r.code == 500 || r.code == 501)) {
        // Refusing the line for its trailing blanks breaks a SHOULD, not the MUST
        // the command itself carries.
        out.grade.strength = level::should;
        out.grade.cite = {5321, "4.1.1"};
        out.grade.explanation = std::to_string(r.code) +
                                " to a command with trailing white space, which receivers SHOULD tolerate "
                                "(RFC 5321 4.1.1)";
      }
      if (check_content) out.content = model_.check_reply(parsed->kind, r);
      model_.on_reply(*parsed, r);
      break;
    }
    case reply_slot::kind::invalid_line:
      out.expected = model_.expect_invalid(out.slot.v, out.slot.error, out.slot.line);
      out.grade = judge(out.expected, r);
      if (check_content) out.content = model_.check_reply(out.slot.v, r);
      model_.on_invalid_reply(out.slot.v, r);
      break;
    case reply_slot::kind::end_of_data:
      out.expected = model_.expect_end_of_data();
      out.grade = judge(out.expected, r);
      if (check_content) out.content = model_.check_reply(verb::unknown, r);
      model_.on_end_of_data(r);
      break;
    case reply_slot::kind::sasl_line:
      out.expected = model_.expect_auth_response(out.slot.line);
      out.grade = judge(out.expected, r);
      model_.on_auth_reply(r);
      break;
  }

  if (was_blocking) {
    blocked_ = false;
    // The answered command decides how the octets after it are read.
    switch (model_.state().where) {
      case phase::data: mode_ = mode::data; decoder_.reset(); break;
      case phase::tls_handshake: mode_ = mode::injected; break;
      case phase::auth: mode_ = mode::sasl; break;
      case phase::closed: mode_ = mode::closed; break;
      default: mode_ = mode::commands; break;
    }
    interpret();
  }
  return out;
}

void client_stream::on_tls_established() {
  model_.on_tls_established();
  // Anything still queued was plaintext from before the handshake.
  injected_ += pending_.size();
  pending_.clear();
  lines_.reset();
  slots_.clear();
  blocked_ = false;
  mode_ = mode::commands;
}

}  // namespace smtpspec::reference
