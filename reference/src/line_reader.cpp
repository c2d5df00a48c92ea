// Line framing: RFC 5321 section 2.3.8 (a line ends with CRLF, and only with CRLF;
// bare CR and bare LF are flagged) and the line length limits of 4.5.3.1.4
// (command line, 512 octets with CRLF) and 4.5.3.1.5 (reply line, 512 octets).
// The exact framing rules are in line_reader.hpp.
#include "smtpspec/reference/line_reader.hpp"

#include <cstring>

namespace smtpspec::reference {

void line_reader::reset() {
  partial_.clear();
  release_partial_ = false;
  discarding_ = false;
  pending_cr_ = false;
  clear_line();
}

void line_reader::clear_line() {
  has_bare_cr_ = false;
  has_bare_lf_ = false;
  has_nul_ = false;
}

// Skips the rest of an over-long line, from input[i] on. Returns true when the
// line's terminator was consumed (i is then just past it), false when the input
// ran out first. Uses memchr so that an endless line costs little CPU and no
// memory: only whether the last octet was a CR is remembered (a CR split from
// its LF must frame the same as CRLF, 2.3.8).
bool line_reader::skip_discarded(std::string_view input, std::size_t& i) {
  const char* const p = input.data();
  const std::size_t n = input.size();
  while (i < n) {
    const void* hit = std::memchr(p + i, '\n', n - i);
    if (hit == nullptr) {
      pending_cr_ = p[n - 1] == '\r';
      i = n;
      return false;
    }
    const auto j = static_cast<std::size_t>(static_cast<const char*>(hit) - p);
    const bool prev_cr = j > i ? p[j - 1] == '\r' : pending_cr_;
    i = j + 1;
    pending_cr_ = false;
    if (prev_cr || opt_.lf_ends_line) {
      discarding_ = false;
      return true;
    }
  }
  return false;
}

// The line reached max_line + 1 octets (4.5.3.1.4/4.5.3.1.5 count the CRLF). It is
// not delivered: the caller answers it as a whole (e.g. 500 "line too long"), but
// its head (partial_ then `head`, at most max_line octets) names the verb or the
// reply code the peer meant.
line line_reader::report_too_long(std::string_view head, std::size_t length) {
  partial_.append(head.substr(0, opt_.max_line - std::min(opt_.max_line, partial_.size())));
  clear_line();
  line l;
  l.state = line::status::too_long;
  l.length = length;
  l.text = partial_;
  release_partial_ = true;
  return l;
}

// A terminator ends at input[i]; the line's octets are partial_ followed by
// input[begin, i). `crlf` tells whether the terminator is CRLF (its CR is the last
// of those octets) or a bare LF (lf_ends_line).
line line_reader::end_line(std::string_view input, std::size_t begin, std::size_t i, bool crlf) {
  line l;
  l.state = line::status::complete;
  l.bare_lf = !crlf;
  l.has_bare_cr = has_bare_cr_;
  l.has_bare_lf = has_bare_lf_;
  l.has_nul = has_nul_;
  l.length = partial_.size() + (i - begin) + 1;
  const std::size_t strip = crlf ? 1 : 0;
  if (partial_.empty()) {
    // The whole line is in this input: hand out a view of it, no copy.
    l.text = input.substr(begin, i - begin - strip);
  } else {
    partial_.append(input.data() + begin, i - begin);
    partial_.resize(partial_.size() - strip);
    l.text = partial_;
    release_partial_ = true;
  }
  pending_cr_ = false;
  clear_line();
  return l;
}

line line_reader::next(std::string_view& input) {
  if (release_partial_) {
    partial_.clear();
    release_partial_ = false;
  }
  std::size_t i = 0;
  if (discarding_ && !skip_discarded(input, i)) {
    input = {};
    return {};
  }
  const std::size_t begin = i;
  const char* const p = input.data();
  for (; i < input.size(); ++i) {
    const char c = p[i];
    const bool prev_cr = i > begin ? p[i - 1] == '\r' : pending_cr_;
    const std::size_t length = partial_.size() + (i - begin) + 1;  // counting c
    if (c == '\n' && (prev_cr || opt_.lf_ends_line)) {
      // 2.3.8: CRLF ends the line; a bare LF only when the caller asked for it.
      input.remove_prefix(i + 1);
      if (length > opt_.max_line) {
        pending_cr_ = false;
        std::string_view head(p + begin, i - begin);
        if (prev_cr && !head.empty()) head.remove_suffix(1);  // the CR of the CRLF
        else if (prev_cr && !partial_.empty()) partial_.pop_back();
        return report_too_long(head, length);
      }
      return end_line(std::string_view(p, i + 1), begin, i, prev_cr);
    }
    // c is an octet of the line.
    if (prev_cr) has_bare_cr_ = true;  // the CR before c was not followed by LF
    if (c == '\n') has_bare_lf_ = true;
    if (c == '\0') has_nul_ = true;
    if (length > opt_.max_line) {
      // Octet max_line + 1 and still no terminator: report now, skip the rest.
      discarding_ = true;
      pending_cr_ = c == '\r';
      input.remove_prefix(i + 1);
      return report_too_long(std::string_view(p + begin, i + 1 - begin), length);
    }
  }
  if (i > begin) {
    partial_.append(p + begin, i - begin);
    pending_cr_ = p[i - 1] == '\r';
  }
  input = {};
  return {};
}

}  // namespace smtpspec::reference
