// Structure-aware session mutations; see session_mutator.hpp.
#include "session_mutator.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>
#include <vector>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::fuzz {
namespace {

using namespace std::string_view_literals;  // "\0"sv keeps its NUL
using rng_t = std::minstd_rand;

std::size_t pick(rng_t& rng, std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); }
bool chance(rng_t& rng, unsigned one_in) { return one_in <= 1 || rng() % one_in == 0; }
template <class T, std::size_t N>
const T& any_of(const std::array<T, N>& a, rng_t& rng) {
  return a[pick(rng, N)];
}

constexpr std::array<std::string_view, 15> k_verbs{"EHLO", "HELO", "MAIL", "RCPT",     "DATA", "RSET", "NOOP", "VRFY",
                                                   "EXPN", "HELP", "QUIT", "STARTTLS", "AUTH", "BDAT", "TURN"};
constexpr std::array<std::string_view, 10> k_unknown_verbs{"XFOO", "ETRN", "ATRN", "XCLIENT", "XFORWARD",
                                                           "SEND", "SOML", "SAML", "MAIL.",   "X-SMTPSPEC"};
constexpr std::array<std::string_view, 18> k_paths{"<user@example.test>",
                                                   "<sender@client.smtpspec.test>",
                                                   "<>",
                                                   "<Postmaster>",
                                                   "<postmaster@example.test>",
                                                   "<@relay.example.test,@b.example.test:user@example.test>",
                                                   "<\"quoted local\"@example.test>",
                                                   "<user@[127.0.0.1]>",
                                                   "<user@[IPv6:::1]>",
                                                   "<\xc3\xbcser@example.test>",
                                                   "user@example.test",
                                                   "< user@example.test>",
                                                   "<user@example.test",
                                                   "<user@example..test>",
                                                   "<user@nosuchdomain.invalid>",
                                                   "<a.b+c@example.test>",
                                                   "<user@example.test> ",
                                                   "<\"a\\\"b\"@example.test>"};
constexpr std::array<std::string_view, 20> k_params{"SIZE=1000",
                                                    "SIZE=0",
                                                    "SIZE=99999999999999999999",
                                                    "SIZE=",
                                                    "SIZE=10485761",
                                                    "BODY=8BITMIME",
                                                    "BODY=7BIT",
                                                    "BODY=BINARYMIME",
                                                    "BODY=bogus",
                                                    "SMTPUTF8",
                                                    "AUTH=<>",
                                                    "RET=HDRS",
                                                    "ENVID=abc",
                                                    "NOTIFY=NEVER",
                                                    "ORCPT=rfc822;user@example.test",
                                                    "X=Y",
                                                    "SIZE=10 SIZE=20",
                                                    "SMTPUTF8=yes",
                                                    "=x",
                                                    "BODY=8BITMIME SMTPUTF8"};
constexpr std::array<std::string_view, 12> k_domains{"client.smtpspec.test",
                                                     "client.example.test",
                                                     "[127.0.0.1]",
                                                     "[IPv6:::1]",
                                                     "localhost",
                                                     "-bad-.example",
                                                     "a..b",
                                                     "",
                                                     "x.example.test extra",
                                                     "\xc3\xa9x.example",
                                                     "[300.1.1.1]",
                                                     "client.smtpspec.test."};
constexpr std::array<std::string_view, 14> k_odd{"\r",   "\n",   "\r\n",     "\0"sv, "\t", " ", "  ",
                                                 "\x80", "\xff", "\xc3\xa9", ":",    "<",  ">", "."};
constexpr std::array<std::string_view, 14> k_injections{
    "NOOP\r\n",
    "MAIL FROM:<sender@client.smtpspec.test>\r\n",
    "RSET\r\n",
    "EHLO injected.example.test\r\n",
    "QUIT\r\n",
    "RCPT TO:<user@example.test>\r\n",
    "MAIL FROM:<sender@client.smtpspec.test>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n",
    "NOO",
    "\r\n",
    "HELP\r\n",
    "STARTTLS\r\n",
    "AUTH PLAIN AHNtdHBzcGVjAHNtdHBzcGVj\r\n",
    "BDAT 4 LAST\r\nabcd",
    "VRFY user\r\n"};
constexpr std::array<std::string_view, 12> k_contents{"Subject: fuzz\r\n\r\nhello\r\n",
                                                      "Subject: fuzz\r\n\r\n.leading dot\r\n..two dots\r\n",
                                                      "",
                                                      "no header line",
                                                      "Subject: 8bit\r\n\r\n\xc3\xa9t\xc3\xa9\r\n",
                                                      "line\nwith bare LF\r\n",
                                                      "line\rwith bare CR\r\n",
                                                      "Subject: nul\r\n\r\na\0b\r\n"sv,
                                                      ".\r\n",
                                                      "Subject: x\r\n\r\n.\n.\r.\r\n",
                                                      "\r\n.\r\n",
                                                      "From: a@b\r\n\r\nbody\r\n"};
constexpr std::array<std::string_view, 9> k_smuggled{
    "MAIL FROM:<sender@client.smtpspec.test>\r\nRCPT TO:<user@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n",
    "MAIL FROM:<sender@client.smtpspec.test>\r\n",
    "RSET\r\n",
    "NOOP\r\n",
    "QUIT\r\n",
    "RCPT TO:<user@example.test>\r\n",
    "EHLO smuggled.example.test\r\n",
    "BDAT 3 LAST\r\nabc",
    "MAIL FROM:<sender@client.smtpspec.test>\r\nRCPT TO:<user@example.test>\r\nBDAT 5 LAST\r\nhello"};

/// A small stand-in for LLVMFuzzerMutate: flip, insert, erase or repeat octets.
std::size_t builtin_bytes(std::uint8_t* data, std::size_t size, std::size_t max, rng_t& rng) {
  switch (pick(rng, 5)) {
    case 0:
      if (size) data[pick(rng, size)] ^= static_cast<std::uint8_t>(1u << pick(rng, 8));
      return size;
    case 1:
      if (size < max) {
        auto at = pick(rng, size + 1);
        std::memmove(data + at + 1, data + at, size - at);
        data[at] = static_cast<std::uint8_t>(rng());
        return size + 1;
      }
      return size;
    case 2:
      if (size) {
        auto at = pick(rng, size);
        std::memmove(data + at, data + at + 1, size - at - 1);
        return size - 1;
      }
      return size;
    case 3:
      if (size && size < max) {
        auto at = pick(rng, size);
        auto n = std::min<std::size_t>(1 + pick(rng, 16), max - size);
        std::memmove(data + at + n, data + at, size - at);
        std::memset(data + at, data[at + n], n);
        return size + n;
      }
      return size;
    default: return pick(rng, size + 1);  // truncate
  }
}

void insert_at_random(std::string& text, std::string_view what, rng_t& rng) {
  text.insert(pick(rng, text.size() + 1), what);
}

}  // namespace

session_mutator::session_mutator(byte_mutator bytes) : bytes_(std::move(bytes)) {}

std::string session_mutator::mutate_bytes(std::string text, rng_t& rng, std::size_t max) {
  max = std::max(max, text.size());
  std::string buf(max, '\0');
  std::memcpy(buf.data(), text.data(), text.size());
  auto* p = reinterpret_cast<std::uint8_t*>(buf.data());
  std::size_t n = bytes_ ? bytes_(p, text.size(), max) : builtin_bytes(p, text.size(), max, rng);
  buf.resize(std::min(n, max));
  return buf;
}

std::string session_mutator::random_argument(std::string_view verb, rng_t& rng) {
  const std::string v = reference::to_upper(verb);
  auto params = [&] {
    std::string p;
    for (std::size_t n = pick(rng, 3); n > 0; --n) p += " " + std::string(any_of(k_params, rng));
    return p;
  };
  if (v == "EHLO" || v == "HELO") return std::string(any_of(k_domains, rng));
  if (v == "MAIL") return (chance(rng, 8) ? "FROM: " : "FROM:") + std::string(any_of(k_paths, rng)) + params();
  if (v == "RCPT") return (chance(rng, 8) ? "to:" : "TO:") + std::string(any_of(k_paths, rng)) + params();
  if (v == "VRFY" || v == "EXPN") {
    static constexpr std::array<std::string_view, 6> k{"user", "user@example.test",    "<user@example.test>",
                                                       "list", "\xc3\xbcser SMTPUTF8", "postmaster"};
    return std::string(any_of(k, rng));
  }
  if (v == "HELP") {
    static constexpr std::array<std::string_view, 4> k{"", "MAIL", "DATA", "\xff"};
    return std::string(any_of(k, rng));
  }
  if (v == "AUTH") {
    static constexpr std::array<std::string_view, 8> k{"PLAIN AHNtdHBzcGVjAHNtdHBzcGVj",
                                                       "PLAIN",
                                                       "LOGIN",
                                                       "LOGIN c210cHNwZWM=",
                                                       "PLAIN =",
                                                       "CRAM-MD5",
                                                       "PLAIN !!!notbase64",
                                                       "XOAUTH2 dXNlcj0="};
    return std::string(any_of(k, rng));
  }
  if (v == "BDAT") {
    static constexpr std::array<std::string_view, 6> k{"0 LAST", "5", "3 LAST", "18446744073709551616", "x", "1 last"};
    return std::string(any_of(k, rng));
  }
  if (v == "NOOP") return chance(rng, 2) ? "" : "anything";
  return std::string(any_of(k_odd, rng));
}

action session_mutator::random_action(rng_t& rng) {
  switch (pick(rng, 16)) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5: {
      std::string verb(any_of(k_verbs, rng));
      if (verb == "BDAT") return make_bdat(any_of(k_contents, rng), chance(rng, 2));
      if (verb == "STARTTLS") return make_starttls(chance(rng, 2) ? std::string_view() : any_of(k_injections, rng));
      std::string arg = random_argument(verb, rng);
      bool bare = verb == "DATA" || verb == "RSET" || verb == "QUIT" || verb == "NOOP" || verb == "TURN";
      return make_command(bare && (arg.empty() || chance(rng, 2)) ? verb : verb + " " + arg);
    }
    case 6: return make_command(std::string(any_of(k_unknown_verbs, rng)) + (chance(rng, 2) ? " x" : ""));
    case 7:
    case 8: {
      auto end = static_cast<data_end>(pick(rng, data_end_count));
      return make_data(any_of(k_contents, rng), end);
    }
    case 9: {
      // A look-alike end followed by a smuggled transaction, in one write.
      action a = make_data(any_of(k_contents, rng), static_cast<data_end>(1 + pick(rng, data_end_count - 2)));
      return a;
    }
    case 10: return make_raw(any_of(k_smuggled, rng), true);
    case 11:
      return make_bdat(any_of(k_contents, rng), chance(rng, 2),
                       chance(rng, 3) ? std::optional<std::uint64_t>(pick(rng, 40)) : std::nullopt);
    case 12: return make_starttls(any_of(k_injections, rng));
    case 13: return make_pause(static_cast<std::uint32_t>(chance(rng, 8) ? 1 + pick(rng, 30) : 1 + pick(rng, 2)));
    case 14: return make_raw(any_of(k_injections, rng));
    default: return make_command(std::string(any_of(k_verbs, rng)), static_cast<line_end>(pick(rng, 4)));
  }
}

void session_mutator::mutate_action(action& a, rng_t& rng) {
  switch (a.kind) {
    case action_kind::command:
      switch (pick(rng, 10)) {
        case 0: a.verb = std::string(any_of(k_verbs, rng)); break;
        case 1: a.verb = std::string(any_of(k_unknown_verbs, rng)); break;
        case 2:  // case change (2.4: verbs are case-insensitive)
          for (auto& c : a.verb)
            if (chance(rng, 2) && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) c = static_cast<char>(c ^ 0x20);
          break;
        case 3:
          a.text = random_argument(a.verb, rng);
          a.has_argument = true;
          break;
        case 4:
          a.text += " " + std::string(any_of(k_params, rng));
          a.has_argument = true;
          break;
        case 5:
          insert_at_random(a.text, any_of(k_odd, rng), rng);
          a.has_argument = true;
          break;
        case 6: a.eol = static_cast<line_end>(pick(rng, 4)); break;
        case 7:
          if (a.has_argument && a.text.empty())
            a.has_argument = false;
          else if (!a.has_argument)
            a.has_argument = true;
          else
            a.text.resize(pick(rng, a.text.size()));
          break;
        case 8: a.text.append(64 + pick(rng, 600), chance(rng, 2) ? 'a' : static_cast<char>(rng())); break;
        default:
          a.text = mutate_bytes(a.text, rng, a.text.size() + 64);
          a.has_argument = true;
          break;
      }
      break;
    case action_kind::data:
      switch (pick(rng, 6)) {
        case 0:
        case 1: a.end = static_cast<data_end>(pick(rng, data_end_count)); break;
        case 2: a.stuff = !a.stuff; break;
        case 3: insert_at_random(a.text, any_of(k_odd, rng), rng); break;
        case 4: a.text = std::string(any_of(k_contents, rng)); break;
        default: a.text = mutate_bytes(a.text, rng, a.text.size() + 128); break;
      }
      break;
    case action_kind::bdat:
      switch (pick(rng, 5)) {
        case 0: a.bdat_last = !a.bdat_last; break;
        case 1: a.bdat_size = a.text.size() + pick(rng, 5) - std::min<std::size_t>(a.text.size(), 2); break;
        case 2: a.bdat_size.reset(); break;
        case 3: a.text = std::string(any_of(k_contents, rng)); break;
        default: a.text = mutate_bytes(a.text, rng, a.text.size() + 64); break;
      }
      break;
    case action_kind::starttls:
      if (chance(rng, 2))
        a.text = std::string(any_of(k_injections, rng));
      else
        a.text = mutate_bytes(a.text, rng, a.text.size() + 64);
      break;
    case action_kind::raw:
      if (chance(rng, 3))
        insert_at_random(a.text, any_of(k_injections, rng), rng);
      else
        a.text = mutate_bytes(a.text, rng, a.text.size() + 64);
      break;
    case action_kind::pause:
      a.pause_ms = static_cast<std::uint32_t>(chance(rng, 8) ? pick(rng, 60) : pick(rng, 3));
      break;
    case action_kind::close: a.glued = !a.glued; break;
  }
}

namespace {

/// Where an inserted action most often meets a state the server rarely sees: right
/// after what opens or feeds a mail transaction (MAIL, RCPT, DATA, BDAT, mail data,
/// AUTH, STARTTLS). Half of the insertions go there; the other half anywhere.
std::size_t insertion_point(const std::vector<action>& acts, rng_t& rng) {
  if (chance(rng, 2)) return pick(rng, acts.size() + 1);
  std::vector<std::size_t> after;
  for (std::size_t i = 0; i < acts.size(); ++i) {
    const auto& a = acts[i];
    bool stateful = a.kind == action_kind::bdat || a.kind == action_kind::data || a.kind == action_kind::starttls;
    if (a.kind == action_kind::command && a.verb.size() == 4)
      for (std::string_view v : {"MAIL"sv, "RCPT"sv, "DATA"sv, "BDAT"sv, "AUTH"sv})
        stateful = stateful || reference::iequals(a.verb, v);
    if (stateful) after.push_back(i + 1);
  }
  return after.empty() ? pick(rng, acts.size() + 1) : after[pick(rng, after.size())];
}

}  // namespace

std::string session_mutator::mutate(session_input& s, rng_t& rng) {
  std::string last = "none";
  const std::size_t rounds = 1 + pick(rng, 3);
  for (std::size_t round = 0; round < rounds; ++round) {
    auto& acts = s.actions;
    const std::size_t n = acts.size();
    switch (n == 0 ? 0 : pick(rng, 20)) {
      case 0:
      case 1:
      case 2: {  // insert a template action
        auto a = random_action(rng);
        auto at = insertion_point(acts, rng);
        if (a.kind == action_kind::raw && at == 0) a.glued = false;
        acts.insert(acts.begin() + static_cast<std::ptrdiff_t>(at), std::move(a));
        last = "insert";
        break;
      }
      case 3: {  // delete
        acts.erase(acts.begin() + static_cast<std::ptrdiff_t>(pick(rng, n)));
        last = "delete";
        break;
      }
      case 4: {  // duplicate
        auto i = pick(rng, n);
        acts.insert(acts.begin() + static_cast<std::ptrdiff_t>(i), acts[i]);
        last = "duplicate";
        break;
      }
      case 5: {  // swap two
        std::swap(acts[pick(rng, n)], acts[pick(rng, n)]);
        last = "swap";
        break;
      }
      case 6: {  // join or split writes
        auto i = pick(rng, n);
        acts[i].glued = !acts[i].glued;
        last = "glue";
        break;
      }
      case 7: {  // split a write with a short pause
        auto i = 1 + pick(rng, n);
        // 1 ms is enough for the server to read the pieces apart on loopback;
        // every millisecond here is a millisecond of every run of this input.
        auto p = make_pause(1);
        p.glued = true;
        acts.insert(acts.begin() + static_cast<std::ptrdiff_t>(std::min(i, n)), p);
        last = "split";
        break;
      }
      case 8: {  // switch an end-of-data variant (or make a data action)
        std::vector<std::size_t> data;
        for (std::size_t i = 0; i < n; ++i)
          if (acts[i].kind == action_kind::data) data.push_back(i);
        if (data.empty()) {
          acts.insert(acts.begin() + static_cast<std::ptrdiff_t>(pick(rng, n + 1)),
                      make_data(any_of(k_contents, rng), static_cast<data_end>(pick(rng, data_end_count))));
        } else {
          acts[data[pick(rng, data.size())]].end = static_cast<data_end>(pick(rng, data_end_count));
        }
        last = "data-end";
        break;
      }
      case 9: {  // smuggle: glue commands behind a data action
        auto i = pick(rng, n);
        auto a = make_raw(any_of(k_smuggled, rng), true);
        acts.insert(acts.begin() + static_cast<std::ptrdiff_t>(i + 1), std::move(a));
        last = "smuggle";
        break;
      }
      case 10: {  // move one action elsewhere
        auto from = pick(rng, n);
        auto a = acts[from];
        acts.erase(acts.begin() + static_cast<std::ptrdiff_t>(from));
        acts.insert(acts.begin() + static_cast<std::ptrdiff_t>(pick(rng, acts.size() + 1)), std::move(a));
        last = "move";
        break;
      }
      case 11: {  // the whole text, byte-mutated (keeps the decoder honest)
        std::string text = encode(s);
        s = decode(mutate_bytes(text, rng, text.size() + 64));
        last = "text-bytes";
        break;
      }
      default: {
        mutate_action(acts[pick(rng, n)], rng);
        last = "action";
        break;
      }
    }
  }
  normalise(s);
  return last;
}

session_input session_mutator::cross_over(const session_input& a, const session_input& b, rng_t& rng) {
  session_input out;
  if (chance(rng, 2) || b.actions.empty()) {
    auto cut_a = pick(rng, a.actions.size() + 1);
    auto cut_b = pick(rng, b.actions.size() + 1);
    out.actions.assign(a.actions.begin(), a.actions.begin() + static_cast<std::ptrdiff_t>(cut_a));
    out.actions.insert(out.actions.end(), b.actions.begin() + static_cast<std::ptrdiff_t>(cut_b), b.actions.end());
  } else {
    out = a;
    out.actions.insert(out.actions.begin() + static_cast<std::ptrdiff_t>(pick(rng, out.actions.size() + 1)),
                       b.actions[pick(rng, b.actions.size())]);
  }
  normalise(out);
  return out;
}

namespace {

/// Drops actions (from the end first) until the text fits.
std::string fit(session_input s, std::size_t max) {
  std::string text = encode(s);
  while (text.size() > max && !s.actions.empty()) {
    s.actions.pop_back();
    text = encode(s);
  }
  return text;
}

}  // namespace

std::size_t session_mutator::mutate_text(std::uint8_t* data, std::size_t size, std::size_t max, unsigned seed) {
  rng_t rng(seed == 0 ? 1 : seed);
  auto s = decode(std::string_view(reinterpret_cast<const char*>(data), size));
  mutate(s, rng);
  const std::string text = fit(std::move(s), max);
  std::memcpy(data, text.data(), text.size());
  return text.size();
}

std::size_t session_mutator::cross_over_text(const std::uint8_t* a, std::size_t a_size, const std::uint8_t* b,
                                             std::size_t b_size, std::uint8_t* out, std::size_t max, unsigned seed) {
  rng_t rng(seed == 0 ? 1 : seed);
  auto sa = decode(std::string_view(reinterpret_cast<const char*>(a), a_size));
  auto sb = decode(std::string_view(reinterpret_cast<const char*>(b), b_size));
  const std::string text = fit(cross_over(sa, sb, rng), max);
  std::memcpy(out, text.data(), text.size());
  return text.size();
}

}  // namespace smtpspec::fuzz
