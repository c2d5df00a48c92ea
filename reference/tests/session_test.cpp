// Tests of the session state machine: RFC 5321 Appendix D walked through line by
// line, the command-reply table of 4.3.2, the ordering rules of 3.3 and 4.1.4,
// and the extensions' state rules (RFC 3207, 2920, 1870, 3030, 4954, 2034).
#include "smtpspec/reference/session.hpp"

#include "smtpspec/reference/client_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>

namespace smtpspec::reference {
namespace {

/// Parsed commands hold views into their line: keep every line alive for the test.
class fixture_lines {
 public:
  const command& parse(std::string line, command_options opt = {}) {
    lines_.push_back(std::move(line));
    auto r = parse_command(lines_.back(), opt);
    EXPECT_TRUE(r.has_value()) << "parse failed for '" << lines_.back() << "': " << to_string(r ? error::ok : r.error().code);
    commands_.push_back(r ? *r : command{});
    return commands_.back();
  }

 private:
  std::deque<std::string> lines_;
  std::deque<command> commands_;
};

reply make_reply(std::string_view wire_without_last_crlf) {
  std::string wire(wire_without_last_crlf);
  std::string normalised;
  // Accept "\n" as line separator in test literals; the wire form uses CRLF.
  std::istringstream in(wire);
  for (std::string line; std::getline(in, line);) normalised += line + "\r\n";
  reply_parser_options opt;
  opt.allow_any_code = true;  // the judge must see out-of-range codes to grade them
  auto r = parse_reply(normalised, opt);
  EXPECT_TRUE(r.has_value()) << "bad reply literal: " << wire;
  return r ? *r : reply{};
}

/// A session that has seen the greeting and an EHLO advertising `keywords`.
session after_ehlo(fixture_lines& lines, const std::string& keywords = "PIPELINING\nSIZE 1000\n8BITMIME") {
  session s;
  s.on_greeting(make_reply("220 mx.example ESMTP"));
  std::string wire = "250-mx.example";
  std::istringstream in(keywords);
  std::vector<std::string> kw;
  for (std::string k; std::getline(in, k);) kw.push_back(k);
  if (kw.empty()) wire = "250 mx.example";
  for (std::size_t i = 0; i < kw.size(); ++i) wire += "\n250" + std::string(i + 1 == kw.size() ? " " : "-") + kw[i];
  s.on_reply(lines.parse("EHLO client.example"), make_reply(wire));
  return s;
}

/// After EHLO (advertising `keywords`), an accepted MAIL and an accepted RCPT.
session with_a_recipient(fixture_lines& lines, const std::string& keywords) {
  session s = after_ehlo(lines, keywords);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("250 OK"));
  return s;
}

/// How a command arrives that was sent before the reply to `c`'s verb (pipelined).
arrival pipelined_after(verb v) { return {1, {owed_reply::kind::command, v, ends_pipeline_group(v)}}; }

outcome grade(const session& s, const command& c, std::string_view reply_text) {
  return judge(s.expect(c), make_reply(reply_text)).kind;
}

// --- Appendix D: the RFC's own example sessions judge as conforming ----------------------

struct walk_result {
  int replies_judged = 0;
  std::vector<std::string> problems;
  phase final_phase = phase::connecting;
};

/// Walks an "S:"/"C:" transcript: every server reply is judged against what the
/// model expects for the command before it, and the state follows the reply.
walk_result walk_transcript(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::vector<std::pair<char, std::string>> events;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::string text = line.size() > 3 ? line.substr(3) : std::string();
    // The transcripts indent some lines; "C:" / "S:" follow optional blanks.
    auto pos = line.find_first_not_of(' ');
    char who = line[pos];
    text = line.size() > pos + 3 ? line.substr(pos + 3) : std::string();
    events.emplace_back(who, text);
  }

  walk_result out;
  session s;
  fixture_lines lines;
  reply_parser parser;
  enum class pending { greeting, command, end_of_data } waiting = pending::greeting;
  const command* last = nullptr;
  bool in_data = false;
  for (const auto& [who, text] : events) {
    if (who == 'C') {
      if (in_data) {
        if (text == ".") {
          in_data = false;
          waiting = pending::end_of_data;
        }
        continue;
      }
      last = &lines.parse(text);
      waiting = pending::command;
      continue;
    }
    auto status = parser.feed_line(text);
    if (status.code == error::need_more) continue;
    EXPECT_EQ(status.code, error::ok) << text;
    reply r = parser.take();
    expectation e;
    switch (waiting) {
      case pending::greeting: e = s.expect_greeting(); break;
      case pending::command: e = s.expect(*last); break;
      case pending::end_of_data: e = s.expect_end_of_data(); break;
    }
    auto j = judge(e, r);
    ++out.replies_judged;
    if (!j.conforming()) out.problems.push_back(r.to_wire() + ": " + j.explanation);
    auto findings = s.check_reply(waiting == pending::command ? last->kind : verb::unknown, r,
                                  waiting == pending::greeting);
    for (const auto& f : findings)
      if (f.strength == level::must) out.problems.push_back(r.to_wire() + ": " + f.text);
    switch (waiting) {
      case pending::greeting: s.on_greeting(r); break;
      case pending::command:
        s.on_reply(*last, r);
        if (s.state().where == phase::data) in_data = true;
        break;
      case pending::end_of_data: s.on_end_of_data(r); break;
    }
  }
  out.final_phase = s.state().where;
  return out;
}

class appendix_d : public ::testing::TestWithParam<std::tuple<const char*, int>> {};

TEST_P(appendix_d, every_reply_conforms_and_the_session_ends_closed) {
  auto [file, replies] = GetParam();
  auto result = walk_transcript(std::string(SMTPSPEC_REFERENCE_TEST_DATA) + "/" + file);
  EXPECT_EQ(result.replies_judged, replies);
  EXPECT_TRUE(result.problems.empty()) << ::testing::PrintToString(result.problems);
  EXPECT_EQ(result.final_phase, phase::closed);
}

INSTANTIATE_TEST_SUITE_P(rfc5321, appendix_d,
                         ::testing::Values(std::make_tuple("appendix_d1.txt", 9),
                                           std::make_tuple("appendix_d2.txt", 7),
                                           std::make_tuple("appendix_d3_step1.txt", 7),
                                           std::make_tuple("appendix_d3_step2.txt", 7),
                                           std::make_tuple("appendix_d4.txt", 8)));

TEST(appendix_d_walk, a_server_that_accepts_rcpt_green_out_of_order_is_caught) {
  // The same walk must fail when a reply is wrong: a 354 answered to RCPT.
  session s;
  fixture_lines lines;
  s.on_greeting(make_reply("220 foo.com ready"));
  s.on_reply(lines.parse("EHLO bar.com"), make_reply("250 foo.com"));
  EXPECT_EQ(grade(s, lines.parse("RCPT TO:<Green@foo.com>"), "250 OK"), outcome::wrong_class);
}

// --- 4.3.2: the command-reply table ---------------------------------------------------------

struct table_row {
  const char* command;
  std::vector<std::uint16_t> listed;
};

class command_reply_table : public ::testing::TestWithParam<table_row> {};

TEST_P(command_reply_table, listed_codes_conform_and_other_classes_do_not) {
  const auto& row = GetParam();
  fixture_lines lines;
  session s = after_ehlo(lines, "8BITMIME\nSIZE\nDSN\nHELP");
  const std::string text(row.command);
  // Put the session in the state where the command is in sequence (4.1.4).
  if (text.rfind("RCPT", 0) == 0 || text == "DATA") {
    s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
    if (text == "DATA") s.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("250 OK"));
  }
  const command& c = lines.parse(text);
  for (auto code : row.listed)
    EXPECT_EQ(grade(s, c, std::to_string(code) + " text"), outcome::conforming) << text << " -> " << code;
  // 421 is allowed for any command (4.3.2).
  EXPECT_EQ(grade(s, c, "421 closing"), outcome::conforming);
  // A code outside 2-5 is never allowed (4.3.2).
  EXPECT_EQ(grade(s, c, "199 huh"), outcome::out_of_range);
  EXPECT_EQ(grade(s, c, "600 huh"), outcome::out_of_range);
  // A 3yz where none is listed (only DATA has 354) breaks the meaning of the code.
  bool lists_3 = std::any_of(row.listed.begin(), row.listed.end(), [](auto c3) { return c3 / 100 == 3; });
  if (!lists_3) {
    EXPECT_EQ(grade(s, c, "354 go on"), outcome::wrong_class) << text;
  }
}

INSTANTIATE_TEST_SUITE_P(
    rfc5321_4_3_2, command_reply_table,
    ::testing::Values(table_row{"EHLO bar.com", {250, 504, 550, 502}}, table_row{"HELO bar.com", {250, 504, 550}},
                      table_row{"MAIL FROM:<a@bar.com>", {250, 552, 451, 452, 550, 553, 503, 455, 555}},
                      table_row{"RCPT TO:<b@foo.com>", {250, 251, 550, 551, 552, 553, 450, 451, 452, 503, 455, 555}},
                      table_row{"DATA", {354, 503, 554}}, table_row{"RSET", {250}},
                      // 4.3.2 also lists 502; 4.5.1 and 7.3 make it a SHOULD finding (test vrfy.*).
                      table_row{"VRFY Crispin", {250, 251, 252, 550, 551, 553, 504}},
                      table_row{"EXPN staff", {250, 252, 550, 500, 502, 504}}, table_row{"HELP", {211, 214, 502, 504}},
                      table_row{"NOOP", {250}}, table_row{"QUIT", {221}}));

TEST(command_reply_table, end_of_data_codes) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("DATA"), make_reply("354 go ahead"));
  ASSERT_EQ(s.state().where, phase::data);
  for (std::uint16_t code : {250, 552, 554, 451, 452, 450, 550})
    EXPECT_EQ(judge(s.expect_end_of_data(), make_reply(std::to_string(code) + " x")).kind, outcome::conforming) << code;
  EXPECT_EQ(judge(s.expect_end_of_data(), make_reply("354 again")).kind, outcome::wrong_class);
  // 4.1.1.4: the buffers are cleared whatever the outcome.
  s.on_end_of_data(make_reply("554 no"));
  EXPECT_EQ(s.state().where, phase::ready);
  EXPECT_EQ(s.state().recipients_accepted, 0u);
}

TEST(command_reply_table, unlisted_code_of_right_class_is_a_should_finding) {
  // The design's example: "554 Relay access denied" to RCPT is class 5 but not listed.
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  auto j = judge(s.expect(lines.parse("RCPT TO:<x@elsewhere.example>")), make_reply("554 5.7.1 Relay access denied"));
  EXPECT_EQ(j.kind, outcome::unlisted_code);
  EXPECT_EQ(j.strength, level::should);
}

TEST(command_reply_table, greeting_allows_220_and_554_only) {
  session s;
  EXPECT_EQ(judge(s.expect_greeting(), make_reply("220 foo.com ready")).kind, outcome::conforming);
  EXPECT_EQ(judge(s.expect_greeting(), make_reply("554 no service")).kind, outcome::conforming);
  // 250 has the right first digit but is not the Greeting of 4.2: a SHOULD finding.
  EXPECT_EQ(judge(s.expect_greeting(), make_reply("250 hello")).kind, outcome::unlisted_code);
  EXPECT_EQ(judge(s.expect_greeting(), make_reply("354 hello")).kind, outcome::wrong_class);
}

// --- ordering: 3.3 and 4.1.4 ------------------------------------------------------------------

TEST(order_of_commands, rcpt_without_mail_must_get_503) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  auto e = s.expect(lines.parse("RCPT TO:<b@foo.com>"));
  EXPECT_EQ(e.codes, std::vector<std::uint16_t>{503});
  EXPECT_EQ(e.strength, level::must);
  EXPECT_EQ(e.cite, (citation{5321, "3.3"}));
  EXPECT_EQ(grade(s, lines.parse("RCPT TO:<b@foo.com>"), "250 OK"), outcome::wrong_class);
}

TEST(order_of_commands, data_without_recipients_gets_503_or_554) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("RCPT TO:<nobody@foo.com>"), make_reply("550 no such user"));
  const auto& data = lines.parse("DATA");
  EXPECT_EQ(grade(s, data, "503 need RCPT"), outcome::conforming);
  EXPECT_EQ(grade(s, data, "554 no valid recipients"), outcome::conforming);
  // RFC 2920 3.2: DATA is answered positively only if a RCPT succeeded (SHOULD).
  auto j = judge(s.expect(data), make_reply("354 go ahead"));
  EXPECT_EQ(j.kind, outcome::wrong_class);
  EXPECT_EQ(j.strength, level::should);
}

TEST(order_of_commands, data_without_mail_must_get_503) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  auto j = judge(s.expect(lines.parse("DATA")), make_reply("354 go ahead"));
  EXPECT_EQ(j.kind, outcome::wrong_class);
  EXPECT_EQ(j.strength, level::must);
  EXPECT_EQ(j.cite, (citation{5321, "4.1.4"}));
}

TEST(extension_rules, smtputf8_takes_no_value) {
  fixture_lines lines;
  session s = after_ehlo(lines, "SMTPUTF8");
  auto e = s.expect(lines.parse("MAIL FROM:<a@bar.com> SMTPUTF8=YES"));
  EXPECT_EQ(e.strength, level::should);
  EXPECT_EQ(e.cite, (citation{6531, "3.1"}));
  EXPECT_FALSE(e.lists(250));
}

TEST(extension_rules, trailing_white_space_is_tolerated_as_a_should) {
  // 4.1.1: receivers SHOULD tolerate trailing white space.
  client_stream cs;
  cs.on_greeting(*parse_reply("220 x.example\r\n"));
  cs.sent("RSET \r\n");
  ASSERT_EQ(cs.open_slots(), 1u);
  EXPECT_EQ(cs.slots().front().what, reply_slot::kind::command);
  auto j = cs.on_reply(*parse_reply("501 syntax\r\n"));
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->grade.strength, level::should);
  EXPECT_EQ(j->grade.cite, (citation{5321, "4.1.1"}));
}

TEST(order_of_commands, mail_before_ehlo_tolerated_is_only_a_should_finding) {
  // 4.1.4 puts the MUST on the client; the design says a tolerant server is WARN.
  fixture_lines lines;
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  auto j = judge(s.expect(lines.parse("MAIL FROM:<a@bar.com>")), make_reply("250 OK"));
  EXPECT_EQ(j.kind, outcome::wrong_class);
  EXPECT_EQ(j.strength, level::should);
}

TEST(order_of_commands, noop_before_ehlo_should_not_get_503) {
  fixture_lines lines;
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  auto j = judge(s.expect(lines.parse("NOOP")), make_reply("503 say hello first"));
  EXPECT_EQ(j.kind, outcome::wrong_class);
  EXPECT_EQ(j.strength, level::should);
}

TEST(order_of_commands, nested_mail_is_out_of_sequence) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  EXPECT_EQ(grade(s, lines.parse("MAIL FROM:<c@bar.com>"), "503 nested MAIL"), outcome::conforming);
}

TEST(order_of_commands, ehlo_resets_the_transaction) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("EHLO bar.com"), make_reply("250 foo.com"));
  EXPECT_EQ(s.state().where, phase::ready);
  EXPECT_EQ(s.state().recipients_accepted, 0u);
  EXPECT_EQ(grade(s, lines.parse("DATA"), "354 go"), outcome::wrong_class);
}

TEST(order_of_commands, refused_ehlo_leaves_the_state) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("EHLO bar.com"), make_reply("550 go away"));
  EXPECT_EQ(s.state().where, phase::mail);  // 4.1.4: "MUST stay in the same state"
}

TEST(order_of_commands, rset_returns_to_ready_and_must_get_250) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  const auto& rset = lines.parse("RSET");
  EXPECT_EQ(grade(s, rset, "500 what"), outcome::wrong_class);
  s.on_reply(rset, make_reply("250 OK"));
  EXPECT_EQ(s.state().where, phase::ready);
}

TEST(order_of_commands, quit_closes_and_nothing_is_expected_after) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("QUIT"), make_reply("221 bye"));
  EXPECT_EQ(s.state().where, phase::closed);
  auto e = s.expect(lines.parse("NOOP"));
  EXPECT_TRUE(e.codes.empty());
  EXPECT_EQ(judge(e, make_reply("250 OK")).kind, outcome::wrong_class);
}

TEST(order_of_commands, reply_421_closes_from_any_state) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("421 shutting down"));
  EXPECT_EQ(s.state().where, phase::closed);
}

TEST(order_of_commands, greeting_554_refuses_everything_but_quit) {
  fixture_lines lines;
  session s;
  s.on_greeting(make_reply("554 no SMTP service here"));
  EXPECT_TRUE(s.state().refused);
  EXPECT_EQ(grade(s, lines.parse("EHLO bar.com"), "503 bad sequence"), outcome::conforming);
  EXPECT_EQ(grade(s, lines.parse("QUIT"), "221 bye"), outcome::conforming);
}

// --- syntax errors --------------------------------------------------------------------------

TEST(invalid_commands, unknown_verb_should_get_500) {
  // 4.2.4: "If the command is not recognized, code 500 SHOULD be returned."
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  auto e = s.expect_invalid(verb::unknown, {error::unknown_verb, 0}, "XYZZY plugh");
  EXPECT_EQ(judge(e, make_reply("500 unrecognized")).kind, outcome::conforming);
  EXPECT_EQ(judge(e, make_reply("502 not implemented")).kind, outcome::unlisted_code);
  EXPECT_EQ(judge(e, make_reply("250 OK")).kind, outcome::wrong_class);
  EXPECT_EQ(judge(e, make_reply("250 OK")).strength, level::should);
  EXPECT_EQ(e.cite, (citation{5321, "4.2.4"}));
}

TEST(invalid_commands, advertised_extension_verb_is_not_unrecognized) {
  // docs/fuzzing-lab.md bug 4: Postfix advertises ETRN and answers it 459; 4.2.4 only
  // forbids 500/502 to what was advertised.
  fixture_lines lines;
  session s = after_ehlo(lines, "PIPELINING\nETRN");
  auto e = s.expect_invalid(verb::unknown, {error::unknown_verb, 0}, "ETRN example.test");
  EXPECT_EQ(judge(e, make_reply("459 4.3.0 <example.test>: Logging queue flush disabled")).kind, outcome::unlisted_code);
  EXPECT_EQ(judge(e, make_reply("459 4.3.0 no")).strength, level::may);
  auto refused = judge(e, make_reply("502 5.5.1 not implemented"));
  EXPECT_EQ(refused.kind, outcome::wrong_class);
  EXPECT_EQ(refused.strength, level::must);
  EXPECT_EQ(refused.cite, (citation{5321, "4.2.4"}));
}

TEST(invalid_commands, keywords_that_name_no_command_are_unrecognized_verbs) {
  // session_fuzzer: "SIZE TO:<...>" after an EHLO that lists SIZE is no command;
  // SIZE (RFC 1870) announces a MAIL parameter, so 500 is what 4.2.4 asks for.
  fixture_lines lines;
  session s = after_ehlo(lines, "PIPELINING\nSIZE 1000\n8BITMIME");
  for (std::string_view line : {"SIZE TO:<x@example.test>", "PIPELINING", "8BITMIME"}) {
    auto e = s.expect_invalid(verb::unknown, {error::unknown_verb, 0}, line);
    EXPECT_EQ(judge(e, make_reply("500 5.5.2 unrecognized")).kind, outcome::conforming) << line;
  }
}

TEST(invalid_commands, verbs_other_specifications_define_may_get_any_reply) {
  fixture_lines lines;
  session s = after_ehlo(lines, "PIPELINING");
  auto e = s.expect_invalid(verb::unknown, {error::unknown_verb, 0}, "XCLIENT NAME=spike.porcupine.org");
  EXPECT_NE(judge(e, make_reply("250 Ok")).strength, level::must);
  EXPECT_NE(judge(e, make_reply("250 Ok")).strength, level::should);
  EXPECT_EQ(judge(e, make_reply("502 5.5.1 no")).kind, outcome::conforming);
}

TEST(invalid_commands, an_underscore_in_the_ehlo_domain_is_a_must_of_4_1_2) {
  // 4.1.2 names the underscore and asks for 501 at MUST; other malformed EHLO
  // domains stay at the SHOULD of 4.1.4 (the lab's "one defect" grouping relies on it).
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  auto e = s.expect_invalid(verb::ehlo, {error::bad_domain, 5}, "EHLO smtpspec_client.example.test");
  auto accepted = judge(e, make_reply("250 ok"));
  EXPECT_EQ(accepted.strength, level::must);
  EXPECT_EQ(accepted.cite, (citation{5321, "4.1.2"}));
  EXPECT_EQ(judge(e, make_reply("501 5.5.4 bad domain")).kind, outcome::conforming);
  auto hyphen = s.expect_invalid(verb::ehlo, {error::bad_domain, 5}, "EHLO -smtpspec.example.test");
  EXPECT_EQ(judge(hyphen, make_reply("250 ok")).strength, level::should);
}

TEST(invalid_commands, a_line_of_blanks_may_get_500_or_501) {
  // docs/fuzzing-lab.md bug 2: "  " is a syntax error; 501 is as right as 500.
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  auto e = s.expect_invalid(verb::unknown, {error::unknown_verb, 0}, "  ");
  EXPECT_EQ(judge(e, make_reply("501 5.5.4 empty command line")).kind, outcome::conforming);
  EXPECT_EQ(judge(e, make_reply("500 5.5.2 syntax error")).kind, outcome::conforming);
}

TEST(invalid_commands, eight_bit_octets_are_graded_at_the_lower_of_two_levels) {
  // 2.4 ("SHOULD reject ... 500") and 4.1.2 ("MUST reject ... 501") disagree.
  session s;
  auto e = s.expect_invalid(verb::mail, {error::eight_bit_octet, 14});
  EXPECT_EQ(e.strength, level::should);
  EXPECT_EQ(e.cite, (citation{5321, "2.4"}));
  EXPECT_NE(e.rule.find("4.1.2"), std::string::npos);
  EXPECT_EQ(judge(e, make_reply("501 bad character")).kind, outcome::conforming);
  EXPECT_EQ(judge(e, make_reply("500 syntax error - invalid character")).kind, outcome::conforming);
  EXPECT_EQ(judge(e, make_reply("250 OK")).strength, level::should);
}

TEST(invalid_commands, control_characters_must_get_501) {
  session s;
  for (auto code : {error::control_character, error::nul_octet}) {
    auto e = s.expect_invalid(verb::mail, {code, 14});
    EXPECT_EQ(e.strength, level::must);
    EXPECT_EQ(e.cite, (citation{5321, "4.1.2"}));
    EXPECT_EQ(judge(e, make_reply("501 bad character")).kind, outcome::conforming);
    EXPECT_EQ(judge(e, make_reply("250 OK")).kind, outcome::wrong_class);
  }
}

TEST(reply_500, not_recognized_to_a_required_command_is_a_must_finding) {
  fixture_lines lines;
  session s = after_ehlo(lines);
  auto j = judge(s.expect(lines.parse("NOOP")), make_reply("500 5.5.1 command unrecognized"));
  EXPECT_EQ(j.kind, outcome::wrong_class);
  EXPECT_EQ(j.strength, level::must);
  EXPECT_EQ(j.cite, (citation{5321, "4.3.2"}));
  // Without an enhanced code, a 500 to a bare required command can only mean "not recognized".
  EXPECT_EQ(judge(s.expect(lines.parse("RSET")), make_reply("500 what?")).strength, level::must);
  // X.5.2 "Syntax error" also covers "the command is unrecognized" (RFC 3463 3.6).
  EXPECT_EQ(judge(s.expect(lines.parse("NOOP")), make_reply("500 5.5.2 Syntax error, command unrecognized")).strength,
            level::must);
}

TEST(reply_500, a_syntax_complaint_about_an_argument_is_not_not_recognized) {
  // OpenSMTPD: "500 5.5.4 Invalid command arguments" to "NOOP hello". 4.1.1.9 only
  // says servers SHOULD ignore the parameter.
  fixture_lines lines;
  session s = after_ehlo(lines);
  auto noop = judge(s.expect(lines.parse("NOOP hello")), make_reply("500 5.5.4 Invalid command arguments"));
  EXPECT_EQ(noop.strength, level::should);
  EXPECT_EQ(noop.cite, (citation{5321, "4.1.1.9"}));
  // No enhanced code: an argued command's 500 is still read as a syntax complaint...
  EXPECT_EQ(judge(s.expect(lines.parse("NOOP hello")), make_reply("500 huh")).strength, level::should);
  // ...unless the status says "invalid command" (RFC 3463 X.5.1).
  EXPECT_EQ(judge(s.expect(lines.parse("NOOP hello")), make_reply("500 5.5.1 unknown command")).strength, level::must);
  // A MAIL parameter refused with 500 is a syntax complaint: a SHOULD (4.3.2 lists), never a MUST.
  session big = after_ehlo(lines, "SIZE 1000");
  auto size = judge(big.expect(lines.parse("MAIL FROM:<a@b.example> SIZE=99999")), make_reply("500 5.5.2 bad size"));
  EXPECT_NE(size.kind, outcome::conforming);
  EXPECT_EQ(size.strength, level::should);
}

TEST(vrfy, not_implemented_is_a_should_finding_and_252_conforms) {
  // 4.5.1 lists VRFY in the minimum implementation, 7.3 wants 252 from a disabled
  // VRFY, 4.3.2 lists 502: graded at the lower level.
  fixture_lines lines;
  session s = after_ehlo(lines);
  auto j = judge(s.expect(lines.parse("VRFY postmaster")), make_reply("502 5.5.1 VRFY command is disabled"));
  EXPECT_EQ(j.kind, outcome::wrong_class);
  EXPECT_EQ(j.strength, level::should);
  EXPECT_EQ(j.cite, (citation{5321, "7.3"}));
  EXPECT_EQ(grade(s, lines.parse("VRFY postmaster"), "252 2.0.0 postmaster"), outcome::conforming);
  EXPECT_EQ(grade(s, lines.parse("VRFY nobody"), "550 5.1.1 no such user"), outcome::conforming);
}

TEST(extension_rules, parameters_of_advertised_extensions_are_not_unoffered) {
  // Review A1.8: REQUIRETLS, MT-PRIORITY, BY, HOLDFOR were treated as unadvertised.
  fixture_lines lines;
  session s = after_ehlo(lines, "REQUIRETLS\nMT-PRIORITY\nDELIVERBY\nFUTURERELEASE 604800 2012-10-23T01:57:43Z\nXFOO");
  for (const char* mail : {"MAIL FROM:<a@b.example> REQUIRETLS", "MAIL FROM:<a@b.example> MT-PRIORITY=3",
                           "MAIL FROM:<a@b.example> BY=120;R", "MAIL FROM:<a@b.example> HOLDFOR=600",
                           "MAIL FROM:<a@b.example> XFOO=1"})
    EXPECT_EQ(grade(s, lines.parse(mail), "250 OK"), outcome::conforming) << mail;
  session plain = after_ehlo(lines, "PIPELINING");
  EXPECT_NE(grade(plain, lines.parse("MAIL FROM:<a@b.example> REQUIRETLS"), "250 OK"), outcome::conforming);
}

TEST(invalid_commands, over_long_line_may_be_processed) {
  // 4.5.3.1: limits are minimums; processing a longer line is not a violation.
  session s;
  auto e = s.expect_invalid(verb::noop, {error::line_too_long, 512});
  EXPECT_EQ(judge(e, make_reply("500 line too long")).kind, outcome::conforming);
  auto processed = judge(e, make_reply("250 OK"));
  EXPECT_NE(processed.kind, outcome::wrong_class);
  EXPECT_EQ(processed.strength, level::may);  // a note, not a warning
}

TEST(invalid_commands, refused_ehlo_may_get_501_500_502_or_550) {
  // 4.1.4: "501, 500, 502, or 550 failure replies MUST be returned as appropriate".
  fixture_lines lines;
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  for (const char* r : {"501 no", "500 no", "502 no", "550 no"})
    EXPECT_EQ(grade(s, lines.parse("EHLO bar.com"), r), outcome::conforming) << r;
  EXPECT_EQ(judge(s.expect_invalid(verb::ehlo, {error::bad_domain, 5}), make_reply("550 bad helo")).kind,
            outcome::conforming);
}

TEST(invalid_commands, utf8_address_tolerated_when_smtputf8_is_offered_is_a_should) {
  fixture_lines lines;
  session plain = after_ehlo(lines, "PIPELINING");
  EXPECT_EQ(plain.expect_invalid(verb::mail, {error::eight_bit_octet, 12}).strength, level::should);
  session utf8 = after_ehlo(lines, "SMTPUTF8");
  auto e = utf8.expect_invalid(verb::mail, {error::eight_bit_octet, 12});
  EXPECT_EQ(e.strength, level::should);
  EXPECT_EQ(e.cite.rfc, 6531);
}

TEST(invalid_commands, arguments_to_data_should_get_501) {
  session s;
  auto e = s.expect_invalid(verb::data, {error::unexpected_argument, 4});
  EXPECT_EQ(e.codes, std::vector<std::uint16_t>{501});
  EXPECT_EQ(e.strength, level::should);
}

// --- STARTTLS (RFC 3207) ----------------------------------------------------------------------

TEST(starttls, handshake_resets_everything_learnt_before) {
  fixture_lines lines;
  session s = after_ehlo(lines, "STARTTLS\nPIPELINING");
  const auto& starttls = lines.parse("STARTTLS");
  EXPECT_EQ(grade(s, starttls, "220 ready"), outcome::conforming);
  EXPECT_EQ(grade(s, starttls, "454 TLS not available"), outcome::conforming);
  s.on_reply(starttls, make_reply("220 ready"));
  EXPECT_EQ(s.state().where, phase::tls_handshake);
  // Plaintext after 220 to STARTTLS must get no reply (CVE-2011-0411).
  auto injected = s.expect(lines.parse("NOOP"));
  EXPECT_TRUE(injected.codes.empty());
  EXPECT_EQ(injected.cite, (citation{3207, "4"}));
  s.on_tls_established();
  EXPECT_TRUE(s.state().tls);
  EXPECT_EQ(s.state().where, phase::greeted);
  EXPECT_FALSE(s.state().extended);
  EXPECT_FALSE(s.state().offers("PIPELINING"));
}

TEST(starttls, transaction_opened_before_tls_is_gone_after) {
  fixture_lines lines;
  session s = after_ehlo(lines, "STARTTLS");
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("STARTTLS"), make_reply("220 go"));
  s.on_tls_established();
  s.on_reply(lines.parse("EHLO bar.com"), make_reply("250 foo.com"));
  auto e = s.expect(lines.parse("RCPT TO:<b@foo.com>"));
  EXPECT_EQ(e.codes, std::vector<std::uint16_t>{503});
  EXPECT_EQ(e.strength, level::must);
}

TEST(starttls, second_starttls_is_refused) {
  fixture_lines lines;
  session s = after_ehlo(lines, "STARTTLS");
  s.on_reply(lines.parse("STARTTLS"), make_reply("220 go"));
  s.on_tls_established();
  s.on_reply(lines.parse("EHLO bar.com"), make_reply("250 foo.com"));
  const auto& again = lines.parse("STARTTLS");
  EXPECT_EQ(grade(s, again, "503 already in TLS"), outcome::conforming);
  EXPECT_EQ(grade(s, again, "220 go"), outcome::wrong_class);
  auto findings = s.check_command(again);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].cite, (citation{3207, "4.2"}));
}

TEST(starttls, advertising_starttls_inside_tls_is_a_must_finding) {
  fixture_lines lines;
  session s = after_ehlo(lines, "STARTTLS");
  s.on_reply(lines.parse("STARTTLS"), make_reply("220 go"));
  s.on_tls_established();
  auto findings = s.check_reply(verb::ehlo, make_reply("250-foo.com\n250 STARTTLS"));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].cite, (citation{3207, "4.2"}));
}

// --- PIPELINING (RFC 2920) and waiting (4.3.1) ---------------------------------------------

TEST(pipelining, commands_sent_without_waiting_need_pipelining) {
  fixture_lines lines;
  session s = after_ehlo(lines, "SIZE");
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  auto findings = s.check_command(lines.parse("RCPT TO:<b@foo.com>"), pipelined_after(verb::mail));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].cite, (citation{5321, "4.3.1"}));
}

TEST(pipelining, mail_rcpt_may_be_grouped_but_not_after_data) {
  fixture_lines lines;
  session s = after_ehlo(lines, "PIPELINING");
  EXPECT_TRUE(s.check_command(lines.parse("RCPT TO:<b@foo.com>"), pipelined_after(verb::mail)).size() == 1)
      << "RCPT before any MAIL was sent is out of order";
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  EXPECT_TRUE(s.check_command(lines.parse("RCPT TO:<b@foo.com>"), pipelined_after(verb::mail)).empty());
  auto after_data = s.check_command(lines.parse("RCPT TO:<b@foo.com>"), pipelined_after(verb::data));
  ASSERT_EQ(after_data.size(), 1u);
  EXPECT_EQ(after_data[0].cite, (citation{2920, "3.1"}));
}

TEST(pipelining, group_enders) {
  for (verb v : {verb::ehlo, verb::data, verb::vrfy, verb::expn, verb::quit, verb::noop, verb::starttls, verb::auth})
    EXPECT_TRUE(ends_pipeline_group(v)) << to_string(v);
  for (verb v : {verb::mail, verb::rcpt, verb::rset, verb::bdat}) EXPECT_FALSE(ends_pipeline_group(v)) << to_string(v);
}

// RFC 2920 3.1: "The actual transfer of message content is explicitly allowed to be
// the first "command" in a group. That is, a RSET/MAIL FROM sequence used to
// initiate a new message transaction can be placed in the same group as the final
// transfer of the headers and body of the previous message."
TEST(pipelining, the_next_transaction_may_follow_the_message_content_in_its_group) {
  fixture_lines lines;
  session s = with_a_recipient(lines, "PIPELINING");
  s.on_reply(lines.parse("DATA"), make_reply("354 go"));
  s.on_end_of_data(make_reply("250 OK"));
  const arrival after_content{1, {owed_reply::kind::message_content, verb::unknown, false}};
  EXPECT_TRUE(s.check_command(lines.parse("MAIL FROM:<a@bar.com>"), after_content).empty());
  EXPECT_TRUE(s.check_command(lines.parse("RSET"), after_content).empty());
  // Without PIPELINING the client waits for the reply to the end of data (4.3.1).
  session plain = after_ehlo(lines, "SIZE");
  auto findings = plain.check_command(lines.parse("MAIL FROM:<a@bar.com>"), after_content);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].cite, (citation{5321, "4.3.1"}));
  EXPECT_NE(findings[0].text.find("the message content"), std::string::npos) << findings[0].text;
}

// RFC 4954 4: AUTH "MUST be the last command in a pipelined group of commands. The
// only exception to this rule is when the AUTH command contains an initial response
// for a SASL mechanism that allows the client to send data first, the SASL mechanism
// is known to complete in one round-trip, and a security layer is not negotiated by
// the client. Two examples of such SASL mechanisms are PLAIN [PLAIN] and EXTERNAL".
TEST(pipelining, auth_with_an_initial_response_of_plain_or_external_may_be_followed) {
  fixture_lines lines;
  EXPECT_FALSE(ends_pipeline_group(lines.parse("AUTH PLAIN AGEAYg==")));
  EXPECT_FALSE(ends_pipeline_group(lines.parse("auth plain AGEAYg==")));
  EXPECT_FALSE(ends_pipeline_group(lines.parse("AUTH EXTERNAL =")));
  EXPECT_TRUE(ends_pipeline_group(lines.parse("AUTH PLAIN")));            // the response waits for 334
  EXPECT_TRUE(ends_pipeline_group(lines.parse("AUTH LOGIN dXNlcg==")));  // two round trips
  EXPECT_TRUE(ends_pipeline_group(lines.parse("AUTH CRAM-MD5")));
  EXPECT_FALSE(ends_pipeline_group(lines.parse("MAIL FROM:<a@bar.com>")));

  session s = after_ehlo(lines, "PIPELINING\nAUTH PLAIN LOGIN");
  s.on_reply(lines.parse("AUTH PLAIN AGEAYg=="), make_reply("235 OK"));
  const auto& mail = lines.parse("MAIL FROM:<a@bar.com>");
  EXPECT_TRUE(
      s.check_command(mail, {1, {owed_reply::kind::command, verb::auth, ends_pipeline_group(lines.parse("AUTH PLAIN AGEAYg=="))}})
          .empty());
  auto after_login =
      s.check_command(mail, {1, {owed_reply::kind::command, verb::auth, ends_pipeline_group(lines.parse("AUTH LOGIN dXNlcg=="))}});
  ASSERT_EQ(after_login.size(), 1u);
  EXPECT_EQ(after_login[0].cite, (citation{4954, "4"}));
  auto after_sasl = s.check_command(mail, {1, {owed_reply::kind::sasl_response, verb::auth, true}});
  ASSERT_EQ(after_sasl.size(), 1u);
  EXPECT_EQ(after_sasl[0].cite, (citation{4954, "4"}));
}

// A command the client sent before the greeting is a SHOULD of 4.3.1, reported by
// whoever held it until the greeting was out; the greeting is not a command whose
// reply it failed to wait for.
TEST(pipelining, a_command_sent_before_the_greeting_is_not_a_pipelining_finding) {
  fixture_lines lines;
  session s;
  s.on_greeting(make_reply("220 mx.example ESMTP"));
  EXPECT_TRUE(s.check_command(lines.parse("EHLO client.example"), {1, {owed_reply::kind::greeting}}).empty());
}

// --- the client's order of transaction commands (3.3, 4.1.4, RFC 2920 3.1) ------------------------

/// check_command() findings cited to `cite`.
std::size_t cited(const std::vector<finding>& findings, citation cite) {
  return static_cast<std::size_t>(
      std::count_if(findings.begin(), findings.end(), [&](const finding& f) { return f.cite == cite; }));
}

// RFC 2920 3.1: "if none of the RCPT TO recipient addresses were accepted the client
// must then check the response to the DATA command". 5321 3.3 gives the server 503
// or 554 for that DATA; the client's MUST NOT is about the data.
TEST(transaction_order, data_after_every_recipient_was_refused_is_no_finding) {
  fixture_lines lines;
  for (const char* keywords : {"PIPELINING", "SIZE"}) {
    session s = after_ehlo(lines, keywords);
    s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
    s.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("550 no such user"));
    s.on_reply(lines.parse("RCPT TO:<c@foo.com>"), make_reply("550 no such user"));
    const arrival how = std::string_view(keywords) == "PIPELINING" ? pipelined_after(verb::rcpt) : arrival{};
    EXPECT_TRUE(s.check_command(lines.parse("DATA"), how).empty()) << keywords;
    EXPECT_EQ(grade(s, lines.parse("DATA"), "554 no valid recipients"), outcome::conforming);
  }
}

TEST(transaction_order, data_without_any_rcpt_is_out_of_order) {
  fixture_lines lines;
  session s = after_ehlo(lines, "PIPELINING");
  auto before_mail = s.check_command(lines.parse("DATA"));
  EXPECT_EQ(cited(before_mail, {5321, "3.3"}), 1u);
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  auto no_rcpt = s.check_command(lines.parse("DATA"), pipelined_after(verb::mail));
  ASSERT_EQ(no_rcpt.size(), 1u);
  EXPECT_EQ(no_rcpt[0].cite, (citation{5321, "3.3"}));
  EXPECT_EQ(no_rcpt[0].strength, level::must);
}

// A refused MAIL in a pipelined group: the RCPTs and DATA behind it were sent before
// its reply could be read (RFC 2920 3.1). Without PIPELINING the client had the
// refusal before it sent them (4.3.1) and they are out of order (3.3).
TEST(transaction_order, commands_behind_a_refused_mail_in_a_group) {
  fixture_lines lines;
  session s = after_ehlo(lines, "PIPELINING");
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("550 sender refused"));
  EXPECT_TRUE(s.check_command(lines.parse("RCPT TO:<b@foo.com>"), pipelined_after(verb::mail)).empty());
  s.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("503 need MAIL"));
  EXPECT_TRUE(s.check_command(lines.parse("DATA"), pipelined_after(verb::rcpt)).empty());
  // RSET ends it; a new RCPT needs a new MAIL.
  s.on_reply(lines.parse("RSET"), make_reply("250 OK"));
  EXPECT_EQ(cited(s.check_command(lines.parse("RCPT TO:<b@foo.com>")), {5321, "3.3"}), 1u);

  session plain = after_ehlo(lines, "SIZE");
  plain.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("550 sender refused"));
  EXPECT_EQ(cited(plain.check_command(lines.parse("RCPT TO:<b@foo.com>")), {5321, "3.3"}), 1u);
  plain.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("503 need MAIL"));
  EXPECT_EQ(cited(plain.check_command(lines.parse("DATA")), {5321, "3.3"}), 1u);
}

// RFC 3030 2: "If the receiver-SMTP has declared support for command pipelining
// [PIPE], the receiver SMTP MUST be prepared to accept and discard additional BDAT
// chunks already in the pipeline after the failed BDAT."
TEST(transaction_order, chunks_already_in_the_pipeline_after_a_failed_bdat) {
  fixture_lines lines;
  session s = with_a_recipient(lines, "CHUNKING\nPIPELINING");
  s.on_reply(lines.parse("BDAT 100"), make_reply("452 no space"));
  EXPECT_TRUE(s.check_command(lines.parse("BDAT 10 LAST"), pipelined_after(verb::bdat)).empty());
}

// RFC 5321 4.1.1.1: the prose ("the client SHOULD send an address literal") and the
// grammar ("helo = "HELO" SP Domain CRLF") disagree: graded at the lower level, once.
TEST(transaction_order, helo_with_an_address_literal_is_a_should_finding) {
  fixture_lines lines;
  session s;
  s.on_greeting(make_reply("220 mx.example ESMTP"));
  s.on_reply(lines.parse("EHLO [192.0.2.1]"), make_reply("502 not implemented"));
  EXPECT_TRUE(s.check_command(lines.parse("EHLO [192.0.2.1]")).empty());
  command_options literal;
  literal.lenient = leniency::helo_address_literal;
  for (const char* helo : {"HELO [192.0.2.1]", "HELO [IPv6:2001:db8::1]"}) {
    auto findings = s.check_command(lines.parse(helo, literal));
    ASSERT_EQ(findings.size(), 1u) << helo;
    EXPECT_EQ(findings[0].strength, level::should);
    EXPECT_EQ(findings[0].cite, (citation{5321, "4.1.1.1"}));
    EXPECT_NE(findings[0].text.find("grammar"), std::string::npos);
    EXPECT_NE(findings[0].text.find("prose"), std::string::npos);
  }
  EXPECT_TRUE(s.check_command(lines.parse("HELO client.example")).empty());
}

// --- SIZE (RFC 1870) ----------------------------------------------------------------------------

TEST(size, declared_size_over_the_limit_expects_552) {
  fixture_lines lines;
  session s = after_ehlo(lines, "SIZE 1000");
  auto e = s.expect(lines.parse("MAIL FROM:<a@bar.com> SIZE=5000"));
  EXPECT_EQ(e.codes, std::vector<std::uint16_t>{552});
  EXPECT_EQ(e.cite.rfc, 1870);
  EXPECT_EQ(grade(s, lines.parse("MAIL FROM:<a@bar.com> SIZE=999"), "250 OK"), outcome::conforming);
}

TEST(size, parameter_without_the_extension_expects_555) {
  fixture_lines lines;
  session s = after_ehlo(lines, "PIPELINING");
  const auto& mail = lines.parse("MAIL FROM:<a@bar.com> SIZE=10");
  EXPECT_EQ(grade(s, mail, "555 unknown parameter"), outcome::conforming);
  auto findings = s.check_command(mail);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].cite, (citation{5321, "4.1.1.3"}));
}

// --- CHUNKING (RFC 3030) ------------------------------------------------------------------------

TEST(chunking, bdat_chunks_then_last_completes_the_transaction) {
  fixture_lines lines;
  session s = after_ehlo(lines, "CHUNKING\nPIPELINING");
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("250 OK"));
  const auto& chunk = lines.parse("BDAT 100");
  EXPECT_EQ(grade(s, chunk, "250 100 octets"), outcome::conforming);
  s.on_reply(chunk, make_reply("250 100 octets"));
  EXPECT_EQ(s.state().where, phase::bdat);
  // DATA cannot join a BDAT transaction.
  EXPECT_EQ(s.expect(lines.parse("DATA")).codes, std::vector<std::uint16_t>{503});
  s.on_reply(lines.parse("BDAT 0 LAST"), make_reply("250 message accepted"));
  EXPECT_EQ(s.state().where, phase::ready);
}

TEST(chunking, failed_bdat_is_indeterminate_until_rset) {
  fixture_lines lines;
  session s = after_ehlo(lines, "CHUNKING");
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("RCPT TO:<b@foo.com>"), make_reply("250 OK"));
  s.on_reply(lines.parse("BDAT 100"), make_reply("452 no space"));
  EXPECT_EQ(s.state().where, phase::bdat_failed);
  EXPECT_EQ(grade(s, lines.parse("BDAT 10 LAST"), "250 OK"), outcome::wrong_class);
  EXPECT_FALSE(s.check_command(lines.parse("BDAT 10 LAST")).empty());
  s.on_reply(lines.parse("RSET"), make_reply("250 OK"));
  EXPECT_EQ(s.state().where, phase::ready);
}

TEST(chunking, bdat_before_rcpt_gets_503) {
  fixture_lines lines;
  session s = after_ehlo(lines, "CHUNKING");
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  EXPECT_EQ(grade(s, lines.parse("BDAT 5 LAST"), "250 OK"), outcome::wrong_class);
}

// --- AUTH (RFC 4954) ----------------------------------------------------------------------------

TEST(auth, exchange_then_second_auth_must_get_503) {
  fixture_lines lines;
  session s = after_ehlo(lines, "AUTH PLAIN LOGIN");
  const auto& auth = lines.parse("AUTH LOGIN");
  EXPECT_EQ(grade(s, auth, "334 VXNlcm5hbWU6"), outcome::conforming);
  s.on_reply(auth, make_reply("334 VXNlcm5hbWU6"));
  EXPECT_EQ(s.state().where, phase::auth);
  EXPECT_EQ(judge(s.expect_auth_response("dXNlcg=="), make_reply("334 UGFzc3dvcmQ6")).kind, outcome::conforming);
  s.on_auth_reply(make_reply("334 UGFzc3dvcmQ6"));
  s.on_auth_reply(make_reply("235 2.7.0 Authentication successful"));
  EXPECT_TRUE(s.state().authenticated);
  EXPECT_EQ(s.state().where, phase::ready);
  auto again = s.expect(lines.parse("AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q="));
  EXPECT_EQ(again.codes, std::vector<std::uint16_t>{503});
  EXPECT_EQ(again.strength, level::must);
}

TEST(auth, cancel_must_get_501) {
  session s;
  auto e = s.expect_auth_response("*");
  EXPECT_EQ(e.codes, std::vector<std::uint16_t>{501});
  EXPECT_EQ(e.strength, level::must);
  EXPECT_EQ(judge(e, make_reply("235 ok")).kind, outcome::wrong_class);
  EXPECT_EQ(s.expect_auth_response("not base64!").codes, std::vector<std::uint16_t>{501});
}

TEST(auth, during_a_transaction_must_get_503) {
  fixture_lines lines;
  session s = after_ehlo(lines, "AUTH PLAIN");
  s.on_reply(lines.parse("MAIL FROM:<a@bar.com>"), make_reply("250 OK"));
  EXPECT_EQ(s.expect(lines.parse("AUTH PLAIN")).codes, std::vector<std::uint16_t>{503});
}

// --- reply content -------------------------------------------------------------------------------

TEST(reply_content, helo_must_not_get_an_ehlo_style_reply) {
  fixture_lines lines;
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  auto findings = s.check_reply(verb::helo, make_reply("250-foo.com\n250-PIPELINING\n250 SIZE 100"));
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].cite, (citation{5321, "3.2"}));
  EXPECT_TRUE(s.check_reply(verb::helo, make_reply("250 foo.com")).empty());
}

TEST(reply_content, enhanced_status_codes_once_advertised) {
  fixture_lines lines;
  session s = after_ehlo(lines, "ENHANCEDSTATUSCODES");
  EXPECT_TRUE(s.check_reply(verb::noop, make_reply("250 2.0.0 OK")).empty());
  auto missing = s.check_reply(verb::noop, make_reply("250 OK"));
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].cite, (citation{2034, "4"}));
  auto mismatch = s.check_reply(verb::noop, make_reply("250 5.0.0 OK"));
  ASSERT_EQ(mismatch.size(), 1u);
  // The EHLO reply itself carries no enhanced status codes.
  EXPECT_TRUE(s.check_reply(verb::ehlo, make_reply("250-foo.com\n250 ENHANCEDSTATUSCODES")).empty());
}

TEST(reply_content, greeting_needs_a_domain) {
  session s;
  EXPECT_TRUE(s.check_reply(verb::unknown, make_reply("220 foo.com ESMTP"), true).empty());
  EXPECT_FALSE(s.check_reply(verb::unknown, make_reply("220 ***"), true).empty());
}

TEST(citations, render_as_text_and_link) {
  citation c{5321, "4.1.1.4"};
  EXPECT_EQ(c.to_string(), "RFC 5321 4.1.1.4");
  EXPECT_EQ(c.url(), "https://www.rfc-editor.org/rfc/rfc5321#section-4.1.1.4");
}

}  // namespace
}  // namespace smtpspec::reference

namespace smtpspec::reference {
namespace {

// docs/fuzzing-lab.md bugs 3 and 11: a command line over 512 octets that a server
// processes normally is still read as its verb.
TEST(over_long_lines, a_long_ehlo_processed_normally_is_exempt_from_rfc2034) {
  client_stream cs;
  cs.on_greeting(*parse_reply("220 x.example\r\n"));
  cs.sent("EHLO client.example\r\n");
  ASSERT_TRUE(cs.on_reply(*parse_reply("250-x.example\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"), true));
  cs.sent("EHLO client.example" + std::string(600, 'u') + "\r\n");
  auto j = cs.on_reply(*parse_reply("250-x.example\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n"), true);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->slot.v, verb::ehlo);
  EXPECT_TRUE(j->content.empty()) << j->content.front().text;
  EXPECT_NE(j->grade.strength, level::must);
}

TEST(over_long_lines, a_long_quit_answered_221_closes_the_session) {
  client_stream cs;
  cs.on_greeting(*parse_reply("220 x.example\r\n"));
  cs.sent("QUIT " + std::string(600, 'x') + "\r\nQUIT\r\n");
  auto j = cs.on_reply(*parse_reply("221 2.0.0 Bye\r\n"));
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->slot.v, verb::quit);
  EXPECT_EQ(cs.model().state().where, phase::closed);
}

}  // namespace
}  // namespace smtpspec::reference

namespace smtpspec::reference {
namespace {

// Replies the lab showed legitimate, which the model used to grade as unlisted.
TEST(legitimate_replies, help_not_recognized_gets_500) {
  // HELP is not in the minimum implementation (4.5.1); 4.2.4: 500 for an unrecognized command.
  fixture_lines lines;
  session s = after_ehlo(lines);
  EXPECT_EQ(grade(s, lines.parse("HELP MAIL"), "500 5.5.2 Error: command not recognized"), outcome::conforming);
}

TEST(legitimate_replies, a_size_too_long_to_read_may_get_552) {
  fixture_lines lines;
  session s = after_ehlo(lines, "SIZE 10240000");
  EXPECT_EQ(grade(s, lines.parse("MAIL FROM:<a@b.example> SIZE=999999999999999999999999"), "552 5.3.4 too big"),
            outcome::conforming);
  EXPECT_NE(grade(s, lines.parse("MAIL FROM:<a@b.example> SIZE=ten"), "552 5.3.4 too big"), outcome::conforming);
}

TEST(legitimate_replies, a_malformed_address_refused_as_unknown_conforms) {
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  EXPECT_EQ(judge(s.expect_invalid(verb::rcpt, {error::bad_local_part, 9}), make_reply("550 5.1.1 unknown")).kind,
            outcome::conforming);
}

TEST(legitimate_replies, a_bdat_line_whose_size_cannot_be_read_may_be_answered_by_closing) {
  session s;
  s.on_greeting(make_reply("220 foo.com"));
  for (const char* r : {"501 5.5.4 Syntax: BDAT count [LAST]", "521 5.5.4 Syntax: BDAT count [LAST]", "421 bye"})
    EXPECT_EQ(judge(s.expect_invalid(verb::bdat, {error::bad_chunk_size, 5}), make_reply(r)).kind, outcome::conforming)
        << r;
}

}  // namespace
}  // namespace smtpspec::reference
