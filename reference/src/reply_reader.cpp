// Server octets to replies: RFC 5321 2.3.8 (line ends), 4.2 and 4.2.1 (replies,
// multi-line replies), 4.5.3.1.5 (reply line length). The rules for reading a
// malformed reply, where it ends, and what follows a line too long to frame are
// stated in reply_reader.hpp.
#include "smtpspec/reference/reply_reader.hpp"

#include <algorithm>
#include <utility>

#include "smtpspec/reference/address.hpp"

namespace smtpspec::reference {
namespace {

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// The line starts with three digits: a Reply-code, if it is anything (4.2).
bool starts_with_code(std::string_view l) noexcept {
  return l.size() >= 3 && is_digit(l[0]) && is_digit(l[1]) && is_digit(l[2]);
}

std::uint16_t code_of(std::string_view l) noexcept {
  return static_cast<std::uint16_t>((l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0'));
}

/// "NNN-": the line says more lines of its reply follow (4.2.1).
bool announces_continuation(std::string_view l) noexcept { return starts_with_code(l) && l.size() >= 4 && l[3] == '-'; }

/// "NNN" SP ... or "NNN" alone: the form of a reply's last line (4.2).
bool is_last_line(std::string_view l) noexcept { return starts_with_code(l) && (l.size() == 3 || l[3] == ' '); }

/// The text of a line as a reply keeps it: after "NNN-" / "NNN " when the line
/// has them, nothing for "NNN" alone, else the whole line (so nothing the server
/// sent is hidden from a report).
std::string_view text_of(std::string_view l) noexcept {
  if (!starts_with_code(l)) return l;
  if (l.size() == 3) return {};
  if (l[3] == ' ' || l[3] == '-') return l.substr(4);
  return l;
}

/// An unfinished line at the end of the stream, without the CR that may have
/// begun its CRLF.
std::string_view unfinished(std::string_view partial) noexcept {
  if (!partial.empty() && partial.back() == '\r') partial.remove_suffix(1);
  return partial;
}

}  // namespace

reply_reader::reply_reader(reply_reader_options opt)
    : opt_(opt), lines_(line_reader_options{opt.max_line, opt.lf_ends_line}), parser_([&] {
        reply_parser_options p;
        p.max_lines = opt.max_lines;
        p.max_line_length = opt.max_line;  // the frame bound comes first (line_reader)
        p.allow_any_code = opt.allow_any_code;
        p.allow_utf8 = opt.allow_utf8;
        return p;
      }()) {}

bool reply_reader::in_reply() const noexcept {
  switch (phase_) {
    case phase::multi:
    case phase::resync: return true;
    case phase::idle: return lines_.buffered() > 0;
    case phase::discard: return false;  // its item (frame_too_long) is out already
  }
  return false;
}

void reply_reader::reset(std::size_t skipped) {
  lines_.reset();
  parser_.reset();
  phase_ = phase::idle;
  ready_ = false;
  offset_ += skipped;
}

reply_item reply_reader::take() {
  ready_ = false;
  return std::move(item_);
}

void reply_reader::begin_item(std::size_t start) {
  item_.what = reply_item::kind::reply;
  item_.has_code = false;
  item_.error = {};
  item_.line.clear();
  item_.offset = start;
  item_.end = start;
  item_.notes.clear();
}

void reply_reader::finish(reply_item::kind k, std::size_t end) {
  item_.what = k;
  item_.end = end;
  if (k != reply_item::kind::reply && item_.has_code && !item_.reply.lines.empty()) {
    // The parser sets the RFC 3463 code only on a complete reply; a malformed
    // reply that kept its code gets it the same way (from its first line).
    if (auto s = parse_enhanced_status(item_.reply.lines.front())) item_.reply.status = *s;
  }
  ready_ = true;
  phase_ = phase::idle;
}

void reply_reader::add_notes(const line& l, std::size_t start) {
  if (item_.notes.size() + 2 > 2 * opt_.max_lines) return;  // bounded; a well-formed reply never gets here
  if (l.bare_lf) item_.notes.push_back({line_note::kind::bare_lf, start, l.length});
  if (l.length > max_reply_line) item_.notes.push_back({line_note::kind::long_line, start, l.length});
}

void reply_reader::add_text(std::string_view line_text) {
  auto& lines = item_.reply.lines;
  if (lines.size() < std::max<std::size_t>(opt_.max_lines, 1)) lines.emplace_back(line_text);
}

// The reading of a reply the parser did not take: its code from the first line's
// three digits if it has them, no lines yet.
void reply_reader::read_code(std::string_view first_line) {
  reply& r = item_.reply;
  item_.has_code = starts_with_code(first_line);
  r.code = item_.has_code ? code_of(first_line) : 0;
  r.lines.clear();
  r.status.reset();
  r.missing_sp = false;
  r.utf8 = false;
}

// A malformed line; `first` when it is the reply's first line (nothing of the
// reply is in the parser then).
void reply_reader::malformed_line(std::string_view text, parse_error e, std::size_t start, bool first) {
  item_.error = {e.code, start + e.offset};
  item_.line.assign(text);
  if (first) read_code(text);
  add_text(text_of(text));
}

void reply_reader::on_line(const line& l, std::size_t start, std::size_t end) {
  switch (phase_) {
    case phase::discard:
      // The rest of a reply abandoned at frame_too_long: no item, no notes.
      if (is_last_line(l.text)) phase_ = phase::idle;
      return;
    case phase::idle: {
      begin_item(start);
      add_notes(l, start);
      const parse_error e = parser_.feed_line(l.text);
      if (e.code == error::ok) {
        parser_.take(item_.reply);
        item_.has_code = true;
        finish(reply_item::kind::reply, end);
      } else if (e.code == error::need_more) {
        phase_ = phase::multi;
      } else {
        malformed_line(l.text, e, start, true);
        // Only "NNN-" announces more lines (4.2.1): one stray line answers one command.
        if (announces_continuation(l.text)) phase_ = phase::resync;
        else finish(reply_item::kind::malformed, end);
      }
      return;
    }
    case phase::multi: {
      add_notes(l, start);
      const parse_error e = parser_.feed_line(l.text);
      if (e.code == error::need_more) return;
      parser_.take(item_.reply);  // the reply, or the lines before the malformed one
      item_.has_code = true;
      if (e.code == error::ok) {
        finish(reply_item::kind::reply, end);
        return;
      }
      malformed_line(l.text, e, start, false);
      if (is_last_line(l.text)) finish(reply_item::kind::malformed, end);
      else phase_ = phase::resync;
      return;
    }
    case phase::resync:
      add_notes(l, start);
      add_text(text_of(l.text));
      if (is_last_line(l.text)) finish(reply_item::kind::malformed, end);
      return;
  }
}

// `head`: the first octets of the over-long line (line_reader keeps max_line of
// them), enough to tell "NNN-" from "NNN ".
void reply_reader::on_too_long(std::string_view head, std::size_t start, std::size_t end) {
  bool skip = false;  // lines of the abandoned reply follow the long one
  switch (phase_) {
    case phase::discard:
      if (is_last_line(head)) phase_ = phase::idle;
      return;
    case phase::idle: {
      begin_item(start);
      read_code(head);
      skip = announces_continuation(head);
      break;
    }
    case phase::multi:
      parser_.take(item_.reply);
      item_.has_code = true;
      skip = !is_last_line(head);
      break;
    case phase::resync:
      skip = !is_last_line(head);
      break;
  }
  item_.error = {error::line_too_long, start + opt_.max_line};
  item_.line.assign(head);
  finish(reply_item::kind::frame_too_long, end);
  if (skip) phase_ = phase::discard;
}

std::size_t reply_reader::put(std::string_view input) {
  ready_ = false;
  std::string_view rest = input;
  while (!rest.empty() && !ready_) {
    const line l = lines_.next(rest);
    const std::size_t end = offset_ + (input.size() - rest.size());
    if (l.state == line::status::need_more) break;
    const std::size_t start = end - l.length;
    if (l.state == line::status::too_long) on_too_long(l.text, start, end);  // text: the line's head
    else on_line(l, start, end);
  }
  const std::size_t consumed = input.size() - rest.size();
  offset_ += consumed;
  return consumed;
}

bool reply_reader::put_eof() {
  ready_ = false;
  const std::string_view held = lines_.partial();
  const std::string_view text = unfinished(held);
  switch (phase_) {
    case phase::idle:
      if (held.empty()) break;
      begin_item(offset_ - held.size());
      malformed_line(text, {error::truncated_reply, 0}, offset_ - held.size(), true);
      item_.error.offset = offset_;
      finish(reply_item::kind::malformed, offset_);
      break;
    case phase::multi:
      parser_.take(item_.reply);
      item_.has_code = true;
      if (!held.empty()) add_text(text_of(text));
      item_.line.assign(text);
      item_.error = {error::truncated_reply, offset_};
      finish(reply_item::kind::malformed, offset_);
      break;
    case phase::resync:
      // The malformed reply's last line never came: it keeps its first error.
      if (!held.empty()) add_text(text_of(text));
      finish(reply_item::kind::malformed, offset_);
      break;
    case phase::discard: break;
  }
  lines_.reset();
  parser_.reset();
  phase_ = phase::idle;
  return ready_;
}

}  // namespace smtpspec::reference
