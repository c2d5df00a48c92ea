// The session text form: decode/encode round trips, escapes, limits, wire octets.
#include "session_input.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>

#include "session_mutator.hpp"

namespace smtpspec::fuzz {
namespace {

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::filesystem::path> seeds() {
  std::vector<std::filesystem::path> out;
  for (const auto& e : std::filesystem::directory_iterator(SMTPSPEC_FUZZ_NET_CORPUS))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(session_input, decodes_every_action_kind) {
  const auto s = decode(
      "# comment\n"
      "cmd EHLO client.example.test\n"
      "+cmd[eol=lf] NOOP\n"
      "raw MAIL FROM:<a@b>\\r\\n\n"
      "data[end=lf.lf,nostuff] Subject: x\\r\\n\\r\\nhi\n"
      "bdat[size=10,last] abc\n"
      "starttls NOOP\\r\\n\n"
      "pause 20\n"
      "close\n");
  ASSERT_EQ(s.actions.size(), 8u);
  EXPECT_EQ(s.actions[0].kind, action_kind::command);
  EXPECT_EQ(s.actions[0].verb, "EHLO");
  EXPECT_EQ(s.actions[0].text, "client.example.test");
  EXPECT_TRUE(s.actions[1].glued);
  EXPECT_EQ(s.actions[1].eol, line_end::lf);
  EXPECT_EQ(s.actions[1].wire(), "NOOP\n");
  EXPECT_EQ(s.actions[2].wire(), "MAIL FROM:<a@b>\r\n");
  EXPECT_EQ(s.actions[3].end, data_end::lf_dot_lf);
  EXPECT_FALSE(s.actions[3].stuff);
  EXPECT_EQ(s.actions[3].wire(), "Subject: x\r\n\r\nhi\n.\n");
  EXPECT_EQ(s.actions[4].wire(), "BDAT 10 LAST\r\nabc");
  EXPECT_EQ(s.actions[5].wire(), "STARTTLS\r\nNOOP\r\n");
  EXPECT_EQ(s.actions[6].pause_ms, 20u);
  EXPECT_EQ(s.actions[7].kind, action_kind::close);
}

TEST(session_input, data_is_dot_stuffed_after_crlf_only_and_ends_as_asked) {
  EXPECT_EQ(make_data(".a\r\n.b\n.c").wire(), "..a\r\n..b\n.c\r\n.\r\n");
  EXPECT_EQ(make_data("x\r\n").wire(), "x\r\n.\r\n");
  EXPECT_EQ(make_data("").wire(), ".\r\n");
  EXPECT_EQ(make_data("x", data_end::crlf_dot_lf).wire(), "x\r\n.\n");
  EXPECT_EQ(make_data("x", data_end::cr_dot_cr).wire(), "x\r.\r");
  EXPECT_EQ(make_data("x", data_end::none).wire(), "x");
  for (std::size_t i = 0; i < data_end_count; ++i) {
    auto e = static_cast<data_end>(i);
    auto back = decode("data[end=" + std::string(to_string(e)) + "] x\n");
    ASSERT_EQ(back.actions.size(), 1u);
    EXPECT_EQ(back.actions[0].end, e) << to_string(e);
  }
}

TEST(session_input, escapes_round_trip_every_octet) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  all += std::string(40, 'a') + "\\x41\\{3} ";
  const std::string text = escape_payload(all);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_NE(text.find("\\{39}"), std::string::npos) << "a run is compressed";
  EXPECT_EQ(text.substr(text.size() - 4), "\\x20") << "a trailing blank is escaped";
  EXPECT_EQ(unescape_payload(text), all);
}

TEST(session_input, repeat_escape_expands_and_is_bounded) {
  auto s = decode("cmd RCPT TO:<a\\{600}@example.test>\n");
  ASSERT_EQ(s.actions.size(), 1u);
  EXPECT_EQ(s.actions[0].text.size(), std::string("TO:<a@example.test>").size() + 600);
  auto big = decode("raw x\\{99999999}\n");
  ASSERT_EQ(big.actions.size(), 1u);
  EXPECT_LE(big.actions[0].text.size(), session_limits::max_payload);
}

TEST(session_input, decoding_is_total_and_applies_limits) {
  EXPECT_TRUE(decode("").actions.empty());
  EXPECT_TRUE(decode("nonsense\nCMD x\ncmdx\ncmd[eol=lf NOOP\n\n   \n").actions.empty());
  auto glued_first = decode("+cmd NOOP\n");
  ASSERT_EQ(glued_first.actions.size(), 1u);
  EXPECT_FALSE(glued_first.actions[0].glued);
  auto pauses = decode("pause 90\npause 90\npause 90\npause 90\npause 99999\n");
  std::uint32_t total = 0;
  for (const auto& a : pauses.actions) total += a.pause_ms;
  EXPECT_LE(total, session_limits::max_total_pause_ms);
  std::string many;
  for (int i = 0; i < 500; ++i) many += "cmd NOOP\n";
  EXPECT_EQ(decode(many).actions.size(), session_limits::max_actions);
  auto size = decode("bdat[size=99999999999] x\n");
  ASSERT_EQ(size.actions.size(), 1u);
  EXPECT_EQ(size.actions[0].bdat_size, session_limits::max_bdat_size);
}

TEST(session_input, crlf_text_files_decode_the_same) {
  EXPECT_EQ(decode("cmd EHLO x\r\ncmd NOOP\r\n"), decode("cmd EHLO x\ncmd NOOP\n"));
}

TEST(session_input, command_lines_keep_their_exact_form) {
  for (std::string line : {"NOOP", "NOOP ", "", " x", "MAIL FROM:<a@b> SIZE=1", "ehlo  two  spaces"}) {
    auto a = make_command(line);
    EXPECT_EQ(a.line(), line);
    session_input s;
    s.actions.push_back(a);
    auto back = decode(encode(s));
    ASSERT_EQ(back.actions.size(), 1u) << line;
    EXPECT_EQ(back.actions[0].line(), line);
  }
}

TEST(session_input, seeds_round_trip) {
  const auto files = seeds();
  ASSERT_GE(files.size(), 15u);
  for (const auto& f : files) {
    const auto s = decode(read_file(f));
    EXPECT_FALSE(s.actions.empty()) << f;
    EXPECT_EQ(decode(encode(s)), s) << f;
    EXPECT_EQ(encode(decode(encode(s))), encode(s)) << f << ": the encoding is canonical";
  }
}

TEST(session_input, mutated_sessions_round_trip) {
  // Whatever the mutator makes, the text form carries it exactly.
  session_mutator m;
  std::minstd_rand rng(7);
  const auto files = seeds();
  ASSERT_FALSE(files.empty());
  for (int i = 0; i < 3000; ++i) {
    auto s = decode(read_file(files[static_cast<std::size_t>(i) % files.size()]));
    for (int k = 0; k < 1 + i % 5; ++k) m.mutate(s, rng);
    const std::string text = encode(s);
    ASSERT_EQ(decode(text), s) << text;
  }
}

TEST(session_input, random_octets_decode_and_round_trip) {
  std::minstd_rand rng(11);
  for (int i = 0; i < 2000; ++i) {
    std::string junk(rng() % 200, '\0');
    for (auto& c : junk) {
      static constexpr char k_alphabet[] = "cmdrawdatabdatstarttlspauseclose[]=+ \n\\rx{}0123456789";
      c = rng() % 4 ? k_alphabet[rng() % (sizeof k_alphabet - 1)] : static_cast<char>(rng());
    }
    auto s = decode(junk);
    EXPECT_EQ(decode(encode(s)), s);
  }
}

}  // namespace
}  // namespace smtpspec::fuzz

namespace smtpspec::fuzz {
namespace {

TEST(session_mutator, text_mutations_fit_the_size_limit_and_stay_sessions) {
  session_mutator m;
  std::vector<std::string> texts;
  for (const auto& f : seeds()) texts.push_back(read_file(f));
  std::size_t empty = 0, changed = 0;
  const std::size_t rounds = 4000;
  for (std::size_t i = 0; i < rounds; ++i) {
    const std::string& in = texts[i % texts.size()];
    const std::size_t max = i % 3 == 0 ? in.size() / 2 + 1 : in.size() + 256;
    std::vector<std::uint8_t> buf(std::max(max, in.size()));
    std::copy(in.begin(), in.end(), buf.begin());
    const std::size_t n = m.mutate_text(buf.data(), in.size(), max, static_cast<unsigned>(i + 1));
    ASSERT_LE(n, max);
    const std::string out(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
    const auto s = decode(out);
    EXPECT_EQ(encode(s), out) << "the mutator writes the canonical form";
    empty += s.actions.empty();
    changed += out != encode(decode(in));
  }
  EXPECT_LT(empty, rounds / 20) << "mutations keep sessions";
  EXPECT_GT(changed, rounds * 9 / 10) << "mutations change something";
}

TEST(session_mutator, cross_over_combines_two_sessions) {
  session_mutator m;
  const auto a = read_file(seeds().front()), b = read_file(seeds().back());
  std::vector<std::uint8_t> out(a.size() + b.size());
  for (unsigned seed = 1; seed < 200; ++seed) {
    const std::size_t n = m.cross_over_text(reinterpret_cast<const std::uint8_t*>(a.data()), a.size(),
                                            reinterpret_cast<const std::uint8_t*>(b.data()), b.size(), out.data(),
                                            out.size(), seed);
    ASSERT_LE(n, out.size());
    const std::string text(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(encode(decode(text)), text);
  }
}

}  // namespace
}  // namespace smtpspec::fuzz
