// Tests of the sans-I/O strict server: whole sessions fed as octets, every reply
// judged by the same session model a client-side run uses, and each defect switch
// shown to change exactly the behaviour it names.
#include "smtpspec/reference/server_session.hpp"

#include <gtest/gtest.h>

#include "smtpspec/reference/client_stream.hpp"

namespace smtpspec::reference {
namespace {

/// Drives a server_session and a client_stream side by side: everything sent is
/// interpreted by the strict client-side view, every reply is judged.
class harness {
 public:
  explicit harness(server_config cfg = {}) : server_(std::move(cfg)) {
    server_.start();
    auto replies = drain();
    EXPECT_EQ(replies.size(), 1u);
    if (!replies.empty()) greeting_ = stream_.on_greeting(replies[0]);
  }

  /// Sends octets; returns the replies the server produced, each judged.
  std::vector<judged_reply> send(std::string_view bytes) {
    stream_.sent(bytes);
    server_.feed(bytes);
    std::vector<judged_reply> out;
    for (auto& r : drain()) {
      auto j = stream_.on_reply(r, true);
      if (!j) {
        unexpected_.push_back(r);
        continue;
      }
      out.push_back(std::move(*j));
    }
    if (server_.tls_wanted()) {
      server_.tls_established();
      stream_.on_tls_established();
      for (auto& r : drain()) {
        auto j = stream_.on_reply(r, true);
        if (!j) unexpected_.push_back(r);
        else out.push_back(std::move(*j));
      }
    }
    return out;
  }

  /// The single reply to a single command.
  judged_reply one(std::string_view line) {
    auto replies = send(std::string(line) + "\r\n");
    EXPECT_EQ(replies.size(), 1u) << line;
    return replies.empty() ? judged_reply{} : replies.front();
  }

  server_session& server() { return server_; }
  client_stream& stream() { return stream_; }
  const std::vector<reply>& unexpected() const { return unexpected_; }
  const judged_reply& greeting() const { return greeting_; }

 private:
  std::vector<reply> drain() {
    std::vector<reply> out;
    std::string_view wire = server_.output();
    reply_parser parser;
    std::size_t used = 0;
    while (true) {
      auto eol = wire.find("\r\n", used);
      if (eol == std::string_view::npos) break;
      auto status = parser.feed_line(wire.substr(used, eol - used));
      used = eol + 2;
      if (status.code == error::ok) out.push_back(parser.take());
      else if (status.code != error::need_more) ADD_FAILURE() << "server sent a malformed reply: " << to_string(status.code);
    }
    server_.consume_output(used);
    return out;
  }

  server_session server_;
  client_stream stream_;
  std::vector<reply> unexpected_;
  judged_reply greeting_;
};

void expect_conforming(const judged_reply& j) {
  EXPECT_EQ(j.grade.kind, outcome::conforming) << j.slot.describe() << ": " << j.grade.explanation;
  for (const auto& f : j.content) ADD_FAILURE() << j.slot.describe() << ": " << f.text;
}

TEST(server_session, full_transaction_is_conforming_and_stored) {
  harness h;
  expect_conforming(h.greeting());
  expect_conforming(h.one("EHLO client.example"));
  EXPECT_TRUE(h.stream().model().state().offers("PIPELINING"));
  EXPECT_TRUE(h.stream().model().state().offers("STARTTLS"));
  EXPECT_FALSE(h.stream().model().state().offers("AUTH"));  // only inside TLS
  expect_conforming(h.one("MAIL FROM:<a@client.example>"));
  expect_conforming(h.one("RCPT TO:<user@example.test>"));
  expect_conforming(h.one("DATA"));
  auto eod = h.send("Subject: hi\r\n\r\n..leading dot\r\n.\r\n");
  ASSERT_EQ(eod.size(), 1u);
  expect_conforming(eod[0]);
  EXPECT_EQ(eod[0].slot.what, reply_slot::kind::end_of_data);
  ASSERT_EQ(h.server().messages().size(), 1u);
  // 4.5.2: the stuffed dot is removed.
  EXPECT_EQ(h.server().messages()[0].content, "Subject: hi\r\n\r\n.leading dot\r\n");
  auto quit = h.one("QUIT");
  expect_conforming(quit);
  EXPECT_TRUE(h.server().closing());
  EXPECT_TRUE(h.unexpected().empty());
}

TEST(server_session, out_of_order_commands_get_503) {
  harness h;
  h.one("EHLO client.example");
  auto rcpt = h.one("RCPT TO:<user@example.test>");
  expect_conforming(rcpt);
  EXPECT_EQ(rcpt.grade.kind, outcome::conforming);
  auto data = h.one("DATA");
  expect_conforming(data);
}

TEST(server_session, syntax_errors_and_unknown_commands) {
  harness h;
  h.one("EHLO client.example");
  for (const char* line : {"TEST", "MAIL FROM:<a b@c>", "DATA now", "RCPT", "XYZZY 1 2 3", "MAIL FROM: <a@b.example>"})
    expect_conforming(h.one(line));
  EXPECT_EQ(h.one("TEST").grade.kind, outcome::conforming);
}

TEST(server_session, pipelined_group_gets_replies_in_order) {
  harness h;
  h.one("EHLO client.example");
  auto replies = h.send("MAIL FROM:<a@client.example>\r\nRCPT TO:<user@example.test>\r\nRCPT TO:<reject-me@example.test>\r\nDATA\r\n");
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[2].grade.kind, outcome::conforming);
  EXPECT_EQ(h.stream().model().state().where, phase::data);
  auto eod = h.send("body\r\n.\r\nNOOP\r\n");
  ASSERT_EQ(eod.size(), 2u);
  expect_conforming(eod[0]);
  expect_conforming(eod[1]);
  ASSERT_EQ(h.server().messages().size(), 1u);
  EXPECT_EQ(h.server().messages()[0].forward_paths.size(), 1u);
}

TEST(server_session, lf_dot_lf_is_content_not_end_of_data) {
  harness h;
  h.send("EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n");
  auto replies = h.send("x\n.\nMAIL FROM:<evil@c.example>\r\nRCPT TO:<user@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(h.unexpected().empty());
  ASSERT_EQ(h.server().messages().size(), 1u);
  EXPECT_NE(h.server().messages()[0].content.find("smuggled"), std::string::npos);
}

TEST(server_session, defect_end_data_on_lf_dot_lf_desynchronises) {
  server_config cfg;
  cfg.defects = defect::end_data_on_lf_dot_lf;
  harness h(cfg);
  h.send("EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n");
  h.send("x\n.\nMAIL FROM:<evil@c.example>\r\nRCPT TO:<user@example.test>\r\nDATA\r\nsmuggled\r\n.\r\n");
  // The strict reading expects one reply; the defective server sent five.
  EXPECT_EQ(h.unexpected().size(), 4u);
  EXPECT_EQ(h.server().messages().size(), 2u);
}

TEST(server_session, plaintext_queued_behind_starttls_is_discarded) {
  harness h;
  h.one("EHLO c.example");
  auto replies = h.send("STARTTLS\r\nNOOP\r\n");
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].expected.cite.rfc, 3207);
  EXPECT_TRUE(h.unexpected().empty());
  EXPECT_TRUE(h.stream().model().state().tls);
  auto events = h.server().take_events();
  EXPECT_TRUE(std::any_of(events.begin(), events.end(),
                          [](const server_event& e) { return e.what == server_event::kind::discarded_after_starttls; }));
  // After TLS, EHLO offers AUTH and no STARTTLS (RFC 3207 4.2).
  auto ehlo = h.one("EHLO c.example");
  expect_conforming(ehlo);
  EXPECT_TRUE(h.stream().model().state().offers("AUTH"));
  EXPECT_FALSE(h.stream().model().state().offers("STARTTLS"));
}

TEST(server_session, defect_execute_after_starttls_answers_inside_tls) {
  server_config cfg;
  cfg.defects = defect::execute_after_starttls;
  harness h(cfg);
  h.one("EHLO c.example");
  h.send("STARTTLS\r\nNOOP\r\n");
  EXPECT_EQ(h.unexpected().size(), 1u);  // the NOOP's 250 arrives with no command
}

TEST(server_session, auth_plain_and_login_inside_tls) {
  harness h;
  h.one("EHLO c.example");
  auto before = h.one("AUTH PLAIN AHNtdHBzcGVjAHNtdHBzcGVj");
  EXPECT_EQ(before.grade.kind, outcome::conforming);  // 530 must-STARTTLS first
  h.send("STARTTLS\r\n");
  h.one("EHLO c.example");
  auto ok = h.one("AUTH PLAIN AHNtdHBzcGVjAHNtdHBzcGVj");  // \0smtpspec\0smtpspec
  expect_conforming(ok);
  EXPECT_TRUE(h.stream().model().state().authenticated);
  auto again = h.one("AUTH LOGIN");
  expect_conforming(again);  // 503 (RFC 4954 4)
}

TEST(server_session, auth_login_exchange_and_cancel) {
  harness h;
  h.send("EHLO c.example\r\nSTARTTLS\r\n");
  h.one("EHLO c.example");
  expect_conforming(h.one("AUTH LOGIN"));
  expect_conforming(h.one("c210cHNwZWM="));  // "smtpspec"
  expect_conforming(h.one("d3Jvbmc="));      // "wrong" -> 535
  EXPECT_FALSE(h.stream().model().state().authenticated);
  expect_conforming(h.one("AUTH LOGIN"));
  auto cancel = h.one("*");
  expect_conforming(cancel);
  EXPECT_EQ(cancel.expected.codes, std::vector<std::uint16_t>{501});
}

TEST(server_session, bdat_chunks_and_last) {
  harness h;
  h.send("EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<user@example.test>\r\n");
  auto r1 = h.send("BDAT 5\r\nhello");
  ASSERT_EQ(r1.size(), 1u);
  expect_conforming(r1[0]);
  auto r2 = h.send("BDAT 8 LAST\r\n world\r\n");
  ASSERT_EQ(r2.size(), 1u);
  expect_conforming(r2[0]);
  ASSERT_EQ(h.server().messages().size(), 1u);
  EXPECT_EQ(h.server().messages()[0].content, "hello world\r\n");
  EXPECT_TRUE(h.server().messages()[0].via_bdat);
}

TEST(server_session, size_over_limit_gets_552) {
  server_config cfg;
  cfg.max_message_size = 100;
  harness h(cfg);
  h.one("EHLO c.example");
  auto r = h.one("MAIL FROM:<a@c.example> SIZE=1000");
  expect_conforming(r);
  EXPECT_EQ(r.expected.codes, std::vector<std::uint16_t>{552});
}

TEST(server_session, over_long_command_line_is_bounded) {
  harness h;
  h.one("EHLO c.example");
  std::string huge(100 * 1024, 'A');
  h.server().feed("NOOP ");
  for (int i = 0; i < 10; ++i) h.server().feed(huge);
  // Bounded: never more than a command line is kept (4.5.3.1.4).
  EXPECT_LE(h.server().buffered(), max_command_line);
  h.server().feed("\r\nNOOP\r\n");
  std::string out(h.server().output());
  EXPECT_NE(out.find("500 5.5.6"), std::string::npos);
  EXPECT_NE(out.find("250 2.0.0 OK"), std::string::npos);
}

TEST(server_session, defect_unbounded_command_line_buffers_everything) {
  server_config cfg;
  cfg.defects = defect::unbounded_command_line;
  server_session s(cfg);
  s.start();
  std::string huge(100 * 1024, 'A');
  s.feed("NOOP " + huge);
  EXPECT_GT(s.buffered(), 100u * 1024);
}

TEST(server_session, defect_stay_open_after_quit) {
  server_config cfg;
  cfg.defects = defect::stay_open_after_quit;
  harness h(cfg);
  h.one("QUIT");
  EXPECT_FALSE(h.server().closing());
}

TEST(server_session, defect_rcpt_without_mail_is_caught) {
  server_config cfg;
  cfg.defects = defect::rcpt_without_mail;
  harness h(cfg);
  h.one("EHLO c.example");
  auto r = h.one("RCPT TO:<user@example.test>");
  EXPECT_EQ(r.grade.kind, outcome::wrong_class);
  EXPECT_EQ(r.grade.strength, level::must);
}

TEST(server_session, defect_keep_stuffed_dot) {
  server_config cfg;
  cfg.defects = defect::keep_stuffed_dot;
  harness h(cfg);
  h.send("EHLO c.example\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<user@example.test>\r\nDATA\r\n");
  h.send("..x\r\n.\r\n");
  ASSERT_EQ(h.server().messages().size(), 1u);
  EXPECT_EQ(h.server().messages()[0].content, "..x\r\n");
}

TEST(server_session, defect_drop_second_pipelined_leaves_a_slot_unanswered) {
  server_config cfg;
  cfg.defects = defect::drop_second_pipelined;
  harness h(cfg);
  h.one("EHLO c.example");
  auto replies = h.send("MAIL FROM:<a@c.example>\r\nRCPT TO:<user@example.test>\r\nNOOP\r\n");
  EXPECT_EQ(replies.size(), 2u);
  EXPECT_EQ(h.stream().open_slots(), 1u);
}

TEST(server_session, defect_malformed_multiline_changes_the_code) {
  server_config cfg;
  cfg.defects = defect::malformed_multiline;
  server_session s(cfg);
  s.start();
  s.consume_output(s.output().size());
  s.feed("EHLO c.example\r\n");
  auto r = parse_reply(s.output());
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, error::reply_code_changed);
}

TEST(server_session, defect_crash_on_data_after_bdat_needs_the_whole_sequence) {
  server_config cfg;
  cfg.defects = defect::crash_on_data_after_bdat;
  {
    // DATA alone, DATA after BDAT LAST, DATA after a refused RCPT: the strict answers.
    harness h(cfg);
    h.one("EHLO c.example");
    expect_conforming(h.one("DATA"));
    h.one("MAIL FROM:<a@c.example>");
    EXPECT_EQ(h.send("BDAT 3\r\nabc").size(), 1u);  // 503: no recipient yet, chunk discarded
    expect_conforming(h.one("DATA"));
    h.one("RSET");
    h.one("MAIL FROM:<a@c.example>");
    h.one("RCPT TO:<user@example.test>");
    EXPECT_EQ(h.send("BDAT 3 LAST\r\nabc").size(), 1u);
    expect_conforming(h.one("DATA"));
    EXPECT_FALSE(h.server().crashed());
  }
  // EHLO, MAIL, an accepted RCPT, a BDAT chunk that is not LAST, then DATA: dead.
  harness h(cfg);
  h.one("EHLO c.example");
  h.one("MAIL FROM:<a@c.example>");
  h.one("RCPT TO:<user@example.test>");
  EXPECT_EQ(h.send("BDAT 3\r\nabc").size(), 1u);
  EXPECT_TRUE(h.send("DATA\r\nNOOP\r\n").empty());
  EXPECT_TRUE(h.server().crashed());
  EXPECT_TRUE(h.server().output().empty());
  EXPECT_TRUE(h.send("NOOP\r\n").empty());
}

// Found by the network fuzzer: a SASL response over the line limit got 500, but the
// server stayed in the exchange and read QUIT as the next response (535, not 221).
TEST(server_session, an_overlong_sasl_response_ends_the_exchange) {
  server_config cfg;
  cfg.auth_in_plaintext = true;
  harness h(cfg);
  h.one("EHLO c.example");
  expect_conforming(h.one("AUTH LOGIN"));
  expect_conforming(h.one(std::string(3000, 'A')));
  EXPECT_NE(h.server().state().where, phase::auth);
  expect_conforming(h.one("QUIT"));
  EXPECT_TRUE(h.server().closing());
}

TEST(server_session, defect_names_round_trip) {
  for (auto d : all_defects()) {
    EXPECT_FALSE(to_string(d).empty());
    EXPECT_EQ(defect_from_string(to_string(d)), d);
  }
  EXPECT_EQ(defect_from_string("no-such-defect"), defect::none);
}

TEST(server_session, idle_timeout_sends_421_and_closes) {
  harness h;
  h.server().timeout();
  EXPECT_TRUE(h.server().closing());
  EXPECT_NE(std::string(h.server().output()).find("421 4.4.2"), std::string::npos);
}

// --- judging a client (judge_client) ---------------------------------------------------------

/// Where one of the client's writes is cut into two reads.
struct read_split {
  std::size_t write = std::string::npos;  ///< which write; npos: none
  std::size_t at = 0;                     ///< octets in the first read
  bool flush_between = true;              ///< the replies so far go out between the two reads
};

/// A client that waits for its replies between writes: each write is fed once the
/// replies to the earlier ones were handed to the I/O layer. Returns what the
/// server found wrong with the client ("LEVEL RFC n s.s: text"), in order.
std::vector<std::string> judge_client_writes(server_config cfg, const std::vector<std::string>& writes,
                                             read_split split = {}, std::size_t* stored = nullptr) {
  cfg.judge_client = true;
  server_session s(std::move(cfg));
  s.start();
  s.consume_output(s.output().size());
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const std::string_view w = writes[i];
    if (i == split.write) {
      s.feed(w.substr(0, split.at));
      if (split.flush_between) s.consume_output(s.output().size());
      s.feed(w.substr(split.at));
    } else {
      s.feed(w);
    }
    s.consume_output(s.output().size());
  }
  if (stored) *stored = s.messages().size();
  std::vector<std::string> out;
  for (const auto& f : s.client_findings())
    out.push_back(std::string(to_string(f.strength)) + " " + f.cite.to_string() + ": " + f.text);
  return out;
}

/// Cuts write `w` at every offset: without replies sent between the two reads the
/// findings are always `whole`; with them, too, except for a cut at `boundary`, where
/// the reply to what came before went out before the rest arrived (the client may
/// have waited for it).
void expect_the_same_findings_at_every_split_but_one(const std::vector<std::string>& writes, std::size_t w,
                                                      std::size_t boundary, const std::vector<std::string>& whole) {
  for (std::size_t at = 0; at <= writes[w].size(); ++at) {
    EXPECT_EQ(judge_client_writes({}, writes, {w, at, false}), whole) << "no flush, split after " << at;
    const auto flushed = judge_client_writes({}, writes, {w, at, true});
    if (at == boundary) EXPECT_TRUE(flushed.empty()) << ::testing::PrintToString(flushed);
    else EXPECT_EQ(flushed, whole) << "split after " << at;
  }
}

server_config pipelining_with_plaintext_auth() {
  server_config cfg;
  cfg.auth_in_plaintext = true;
  return cfg;
}

// A client that uses PIPELINING as RFC 2920 3.1 and RFC 4954 4 allow: AUTH PLAIN
// with an initial response followed by MAIL (the exception of 4954 4), DATA after
// RCPTs that the server refuses in the same group ("the client must then check the
// response to the DATA command"), and the message content as the first "command"
// of a group that starts the next transaction. No finding, however TCP splits its
// writes into reads: every write is cut at every offset.
TEST(judge_client, a_pipelining_client_gets_the_same_findings_at_every_read_split) {
  const std::vector<std::string> writes = {
      "EHLO client.example\r\n",
      "AUTH PLAIN AHNtdHBzcGVjAHNtdHBzcGVj\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n"
      "RCPT TO:<reject@example.test>\r\nDATA\r\n",
      "Subject: one\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<reject@example.test>\r\nDATA\r\n",
      "RSET\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n",
      "Subject: two\r\n\r\nbody\r\n.\r\nQUIT\r\n",
  };
  std::size_t stored = 0;
  const auto whole = judge_client_writes(pipelining_with_plaintext_auth(), writes, {}, &stored);
  EXPECT_TRUE(whole.empty()) << ::testing::PrintToString(whole);
  EXPECT_EQ(stored, 2u);
  for (std::size_t w = 0; w < writes.size(); ++w)
    for (std::size_t at = 0; at <= writes[w].size(); ++at) {
      const auto split = judge_client_writes(pipelining_with_plaintext_auth(), writes, {w, at}, &stored);
      ASSERT_EQ(split, whole) << "write " << w << " split after " << at << " octets";
      ASSERT_EQ(stored, 2u) << "write " << w << " split after " << at << " octets";
    }
}

// NOOP ends a group (RFC 2920 3.1). A command arrives when its first octet does:
// however the rest of it is split, MAIL was sent before NOOP's reply went out. Only
// a read that ends exactly after NOOP, with its reply sent before MAIL arrived,
// shows nothing wrong (the client may have waited); without a reply sent between
// the reads, every split is the same.
TEST(judge_client, a_command_arrives_with_its_first_octet) {
  const std::vector<std::string> writes = {"EHLO client.example\r\n", "NOOP\r\nMAIL FROM:<a@example.test>\r\n", "QUIT\r\n"};
  const auto whole = judge_client_writes({}, writes);
  ASSERT_EQ(whole.size(), 1u) << ::testing::PrintToString(whole);
  EXPECT_NE(whole[0].find("MUST RFC 2920 3.1"), std::string::npos) << whole[0];
  expect_the_same_findings_at_every_split_but_one(writes, 1, std::string_view("NOOP\r\n").size(), whole);
}

// 3.3: "message data MUST NOT be sent unless a 354 reply is received". Data that
// starts to arrive before the 354 went out is found whatever the reads, except when
// a read ends exactly after DATA and the 354 goes out before the data arrives.
TEST(judge_client, message_data_before_the_354_is_found_at_every_read_split) {
  const std::vector<std::string> writes = {"EHLO client.example\r\n",
                                           "MAIL FROM:<a@example.test>\r\nRCPT TO:<b@example.test>\r\n",
                                           "DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n", "QUIT\r\n"};
  std::size_t stored = 0;
  const auto whole = judge_client_writes({}, writes, {}, &stored);
  ASSERT_EQ(whole.size(), 1u) << ::testing::PrintToString(whole);
  EXPECT_EQ(whole[0].rfind("MUST RFC 5321 3.3:", 0), 0u) << whole[0];
  EXPECT_EQ(stored, 1u);
  expect_the_same_findings_at_every_split_but_one(writes, 2, std::string_view("DATA\r\n").size(), whole);
}

// 4.3.1: "The sender SHOULD wait for this greeting message before sending any
// commands." One SHOULD finding, not also a MUST for not waiting for a "reply".
TEST(judge_client, a_command_before_the_greeting_is_one_should_finding) {
  server_config cfg;
  cfg.judge_client = true;
  server_session s(cfg);
  s.feed("EHLO client.example\r\n");
  s.start();
  EXPECT_NE(std::string(s.output()).find("250-"), std::string::npos) << "the early EHLO is answered after the greeting";
  ASSERT_EQ(s.client_findings().size(), 1u) << s.client_findings().back().text;
  EXPECT_EQ(s.client_findings()[0].strength, level::should);
  EXPECT_EQ(s.client_findings()[0].cite, (citation{5321, "4.3.1"}));
}

// RFC 5321 4.1.1.1: prose and grammar disagree on HELO [literal]; judging a client,
// the server takes it (so the session goes on) and grades it once, as a SHOULD.
TEST(judge_client, helo_with_an_address_literal_is_accepted_and_graded_once) {
  server_config cfg;
  cfg.script = {{"EHLO", 0, "502 5.5.1 EHLO not implemented\r\n", 0, false}};
  const std::vector<std::string> writes = {"EHLO [192.0.2.1]\r\n", "HELO [192.0.2.1]\r\n", "MAIL FROM:<a@example.test>\r\n",
                                           "RCPT TO:<b@example.test>\r\n", "DATA\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n",
                                           "QUIT\r\n"};
  std::size_t stored = 0;
  const auto findings = judge_client_writes(cfg, writes, {}, &stored);
  ASSERT_EQ(findings.size(), 1u) << ::testing::PrintToString(findings);
  EXPECT_EQ(findings[0].rfind("SHOULD RFC 5321 4.1.1.1: \"HELO [192.0.2.1]\"", 0), 0u) << findings[0];
  EXPECT_EQ(stored, 1u);
  // A server that is not judging a client keeps to the grammar.
  harness h;
  EXPECT_EQ(h.one("HELO [192.0.2.1]").grade.kind, outcome::conforming);
  EXPECT_EQ(h.send("HELO [192.0.2.1]\r\n").front().slot.what, reply_slot::kind::invalid_line);
}

// 3.3: after every RCPT was refused, DATA may still be sent (the server answers
// 503/554); the message data MUST NOT follow a reply other than 354.
TEST(judge_client, data_after_refused_recipients_is_fine_but_the_data_is_not) {
  server_config cfg;
  cfg.pipelining = false;
  const std::vector<std::string> writes = {"EHLO client.example\r\n", "MAIL FROM:<a@example.test>\r\n",
                                           "RCPT TO:<reject@example.test>\r\n", "DATA\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n",
                                           "QUIT\r\n"};
  std::size_t stored = 0;
  auto findings = judge_client_writes(cfg, writes, {}, &stored);
  EXPECT_EQ(stored, 0u);
  ASSERT_FALSE(findings.empty());
  for (const auto& f : findings) {
    EXPECT_EQ(f.find("\"DATA\""), std::string::npos) << f;
    EXPECT_EQ(f.rfind("MUST RFC 5321 3.3:", 0), 0u) << f;
    EXPECT_NE(f.find("mail data"), std::string::npos) << f;
  }
  // Without the data, nothing is wrong.
  findings = judge_client_writes(cfg, {writes[0], writes[1], writes[2], writes[3], "RSET\r\n", "QUIT\r\n"});
  EXPECT_TRUE(findings.empty()) << ::testing::PrintToString(findings);
}

TEST(client_stream, data_pipelined_after_354_is_framed_by_the_strict_decoder) {
  client_stream cs;
  reply_parser_options opt;
  auto r = [&](const char* wire) { return *parse_reply(wire, opt); };
  cs.on_greeting(r("220 x.example\r\n"));
  cs.sent("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
  EXPECT_EQ(cs.open_slots(), 4u);
  EXPECT_TRUE(cs.waiting_for_reply());
  cs.on_reply(r("250 x.example\r\n"));
  cs.on_reply(r("250 ok\r\n"));
  cs.on_reply(r("250 ok\r\n"));
  cs.sent("line\r\n.\r\n");  // sent before 354 arrived: held until DATA's reply
  EXPECT_EQ(cs.open_slots(), 1u);
  cs.on_reply(r("354 go\r\n"));
  ASSERT_EQ(cs.open_slots(), 1u);
  EXPECT_EQ(cs.slots().front().what, reply_slot::kind::end_of_data);
}

TEST(client_stream, anomalies_are_attached_to_end_of_data) {
  client_stream cs;
  auto r = [](const char* wire) { return *parse_reply(wire); };
  cs.on_greeting(r("220 x.example\r\n"));
  cs.sent("EHLO c\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n");
  for (const char* w : {"250 x\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n"}) cs.on_reply(r(w));
  cs.sent("a\n.\nb\r\n.\r\n");
  ASSERT_EQ(cs.open_slots(), 1u);
  const auto& slot = cs.slots().front();
  EXPECT_TRUE(std::any_of(slot.anomalies.begin(), slot.anomalies.end(),
                          [](const data_anomaly_record& a) { return a.kind == data_anomaly::lf_dot_lf; }));
}

}  // namespace
}  // namespace smtpspec::reference
