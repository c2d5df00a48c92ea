// The judged exchange (exchange.hpp) as the runner uses it, over real sockets
// against small scripted servers and the embedded reference server: each test
// pins one decision the exchange makes once for every user, and each failed before
// that decision was shared (issue 13; review A1.5, A1.6, A1.12, A1.14, A1.16, A1.17;
// docs/fuzzing-lab.md "Bugs in smtpspec" 6, 7, 8).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>

#include "script_server.hpp"
#include "smtpspec/harness/reference_server.hpp"
#include "smtpspec/harness/runner.hpp"
#include "smtpspec/harness/scenario_loader.hpp"

namespace smtpspec::harness {
namespace {

namespace ref = smtpspec::reference;
using namespace std::chrono_literals;
using test_support::line_handler;
using test_support::peer;
using test_support::plain_server;
using test_support::script_server;
using test_support::starts;

// --- cases ------------------------------------------------------------------------------------

step send(std::string line) {
  step st;
  st.what = step::kind::send;
  st.lines = {std::move(line)};
  return st;
}
step raw(std::string bytes) {
  step st;
  st.what = step::kind::raw;
  st.bytes = std::move(bytes);
  return st;
}
step pause(std::chrono::milliseconds d, step::kind k = step::kind::wait) {
  step st;
  st.what = k;
  st.duration = d;
  return st;
}

scenario_case make_case(std::vector<step> steps, std::vector<std::string> tags = {}) {
  scenario_case c;
  c.id = "test.exchange";
  c.suite = "test";
  c.title = "exchange test";
  c.requirement = "Every command MUST generate exactly one reply.";
  c.rfc = {{5321, "4.2"}};
  c.tags = std::move(tags);
  c.steps = std::move(steps);
  return c;
}

run_settings settings_for(const std::string& address, std::chrono::milliseconds reply_timeout = 2000ms) {
  run_settings s;
  std::string error;
  EXPECT_TRUE(endpoint_spec::parse(address, s.target, error)) << error;
  s.reply_timeout = reply_timeout;
  s.case_timeout = 20000ms;
  s.tls_options.insecure = true;
  return s;
}

std::string describe(const results::case_result& r) {
  std::string out = std::string(results::to_string(r.outcome)) + ": " + r.reason + "\n";
  for (const auto& f : r.findings)
    out += "  [" + std::string(ref::to_string(f.strength)) + " " + f.cite.to_string() + (f.security ? " security" : "") +
           "] " + f.text + " {" + f.rule + " | " + f.observation + "}\n";
  return out;
}

const std::vector<std::string> k_pipelining = {"PIPELINING", "8BITMIME"};

// --- malformed replies (fuzzing-lab bug 7; review A1.15) --------------------------------------

TEST(exchange, a_malformed_reply_is_one_finding_and_keeps_its_code) {
  // A control octet echoed in the text of a 250: the text is the finding, the code
  // is the server's (no derived "reply code 0" finding).
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (!starts(line, "NOOP")) return false;
      p.send("250 2.0.0 Ok \x01 echoed\r\n");
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("NOOP")}), settings_for(srv.address()), {});
  ASSERT_EQ(r.findings.size(), 1u) << describe(r);
  EXPECT_EQ(r.findings[0].rule, "reply syntax (4.2)") << describe(r);
  EXPECT_EQ(r.outcome, results::verdict::fail);
}

TEST(exchange, a_reply_without_a_code_is_one_finding) {
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (!starts(line, "NOOP")) return false;
      p.send("Ok, noted\r\n");
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("NOOP"), send("NOOP")}),
                    settings_for(srv.address()), {});
  // One for each NOOP; nothing about "code 0".
  ASSERT_EQ(r.findings.size(), 2u) << describe(r);
  for (const auto& f : r.findings) EXPECT_EQ(f.rule, "reply syntax (4.2)") << describe(r);
}

// --- closes -------------------------------------------------------------------------------

TEST(exchange, a_close_during_the_sync_probe_is_judged_like_any_close) {
  // The server answers every step and hangs up, without 421, on the probe that
  // follows the last one (fuzzing-lab bug 6: the runner used to PASS this).
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (!starts(line, "XSMTPSPEC")) return false;
      p.close();
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("NOOP")}), settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::fail) << describe(r);
  ASSERT_FALSE(r.findings.empty()) << describe(r);
  EXPECT_EQ(r.findings.back().cite.to_string(), "RFC 5321 3.8") << describe(r);
  EXPECT_EQ(r.findings.back().observation, "close while the sync probe was owed") << describe(r);
}

TEST(exchange, a_close_after_a_run_of_refusals_that_answered_nothing_is_a_defence) {
  // Exim splits a 100 kB command line and answers each piece 500, then "500 Too many
  // unrecognized commands" and closes: the extra replies are the one finding (a
  // desynchronisation); the close after the refusals is 7.8's defence, not a 3.8 MUST.
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (!starts(line, "NOOP A")) return false;
      p.send("500 unrecognized command\r\n500 unrecognized command\r\n500 Too many unrecognized commands\r\n");
      p.close();
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("NOOP " + std::string(2000, 'A'))}),
                    settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::fail) << describe(r);
  for (const auto& f : r.findings) {
    if (f.strength == ref::level::must) {
      EXPECT_NE(f.cite.to_string(), "RFC 5321 3.8") << describe(r);
    }
  }
}

TEST(exchange, a_close_after_a_desynchronisation_is_its_consequence) {
  // Exim ends the data at .<LF> as the first line, runs the smuggled MAIL and RCPT,
  // refuses the smuggled DATA with "554 SMTP synchronization error" and closes:
  // one defect (the early end of data), no second one for the close.
  script_server srv([] {
    auto in_data = std::make_shared<bool>(false);
    return plain_server(k_pipelining, [in_data](peer& p, const std::string& line, std::string& rest) {
      if (starts(line, "DATA") && !*in_data) {
        *in_data = true;
        p.send("354 go ahead\r\n");
        return true;
      }
      if (!*in_data) return false;
      if (line == ".") {
        // .<LF> first: the end of data, and the rest runs as commands.
        *in_data = false;
        p.send("250 OK id=1\r\n");
        if (!rest.empty()) p.send("250 OK\r\n250 Accepted\r\n554 SMTP synchronization error\r\n");
        rest.clear();
        p.close();
      }
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("MAIL FROM:<sender@client.smtpspec.test>"),
                               send("RCPT TO:<user@example.test>"), send("DATA"),
                               raw(".\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n")},
                              {"smuggling", "security"}),
                    settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::fail) << describe(r);
  bool early_end = false;
  for (const auto& f : r.findings) {
    early_end |= f.observation == "end of data at crlf_dot_lf";
    if (f.strength == ref::level::must) {
      EXPECT_NE(f.cite.to_string(), "RFC 5321 3.8") << describe(r);
    }
  }
  EXPECT_TRUE(early_end) << describe(r);
}

TEST(exchange, a_close_noticed_on_a_write_is_judged_as_on_a_read) {
  // The same server behaviour, a close without 421 after MAIL was sent, noticed
  // first by a write (the server reset the connection a while before) or by a
  // read (it closes when MAIL arrives): one verdict (review A1.14).
  auto behaviour = [](bool on_write) {
    return [on_write] {
      return plain_server(k_pipelining, [on_write](peer& p, const std::string& line, std::string&) {
        if (on_write && starts(line, "NOOP")) {
          p.send("250 2.0.0 OK\r\n");
          std::this_thread::sleep_for(100ms);
          p.reset();
          return true;
        }
        if (!on_write && starts(line, "MAIL")) {
          p.close();
          return true;
        }
        return false;
      });
    };
  };
  script_server on_write(behaviour(true)), on_read(behaviour(false));
  auto w = run_case(make_case({send("EHLO client.example"), send("NOOP"), pause(400ms), send("MAIL FROM:<a@b.example>")}),
                    settings_for(on_write.address()), {});
  auto r = run_case(make_case({send("EHLO client.example"), send("NOOP"), pause(400ms), send("MAIL FROM:<a@b.example>")}),
                    settings_for(on_read.address()), {});
  EXPECT_EQ(w.outcome, results::verdict::fail) << describe(w);
  EXPECT_EQ(w.outcome, r.outcome) << describe(w) << describe(r);
  ASSERT_FALSE(w.findings.empty());
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(w.findings.back().observation, "close while MAIL was owed") << describe(w);
  EXPECT_EQ(results::defect_key(w.findings.back()), results::defect_key(r.findings.back())) << describe(w) << describe(r);
}

// --- 421 (review A1.12) ---------------------------------------------------------------------

TEST(exchange, a_421_to_the_sync_probe_then_the_close_is_no_desynchronisation) {
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (!starts(line, "XSMTPSPEC")) return false;
      p.send("421 4.3.2 shutting down\r\n");
      p.close();
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("NOOP")}), settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::pass) << describe(r);
  for (const auto& f : r.findings) EXPECT_FALSE(f.security) << describe(r);
}

TEST(exchange, a_421_after_the_last_owed_reply_then_the_close_is_no_desynchronisation) {
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (!starts(line, "NOOP")) return false;
      p.send("250 2.0.0 OK\r\n421 4.4.2 idle too long, closing\r\n");
      p.close();
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("NOOP"), pause(200ms, step::kind::read)}),
                    settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::pass) << describe(r);
}

// --- lost input is not smuggling (review A1.16) ---------------------------------------------

TEST(exchange, pipelined_input_the_server_discards_is_lost_input_not_smuggling) {
  // The server ends the data at the real <CRLF>.<CRLF> and throws away what
  // followed in the same write: the NOOP never gets its reply.
  script_server srv([] {
    auto in_data = std::make_shared<bool>(false);
    auto inner = plain_server(k_pipelining);
    return line_handler([in_data, inner](peer& p, const std::string& line, std::string& rest) {
      if (*in_data) {
        if (line == ".") {
          *in_data = false;
          p.send("250 2.0.0 queued\r\n");
          rest.clear();  // the defect: the rest of the input is flushed
        }
        return;
      }
      if (starts(line, "DATA")) *in_data = true;
      if (starts(line, "DATA")) return p.send("354 go ahead\r\n");
      inner(p, line, rest);
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("MAIL FROM:<a@b.example>"),
                               send("RCPT TO:<c@d.example>"), send("DATA"),
                               raw("Subject: x\r\n\r\nbody\r\n.\r\nNOOP\r\n")},
                              {"smuggling", "security"}),
                    settings_for(srv.address(), 500ms), {});
  EXPECT_EQ(r.outcome, results::verdict::fail) << describe(r);
  bool lost = false;
  for (const auto& f : r.findings) {
    EXPECT_FALSE(f.security) << describe(r);
    lost = lost || f.observation == "pipelined input discarded";
  }
  EXPECT_TRUE(lost) << describe(r);
}

// --- early end of data (review A1.5) --------------------------------------------------------

class embedded_server {
 public:
  explicit embedded_server(ref::defect d = ref::defect::none, std::vector<ref::scripted_reply> script = {}) {
    reference_server_options opt;
    opt.session.defects = d;
    opt.session.script = std::move(script);
    server_ = std::make_unique<reference_server>(opt);
  }
  std::string address() const { return server_->address(); }

 private:
  std::unique_ptr<reference_server> server_;
};

std::vector<step> data_up_to_the_look_alike() {
  // Not pipelined: the data up to and including <LF>.<LF>, a pause in which only a
  // server that took it for the end of data can answer, then the real end.
  return {send("EHLO client.example"), send("MAIL FROM:<sender@client.smtpspec.test>"),
          send("RCPT TO:<user@example.test>"), send("DATA"), raw("Subject: early end\r\n\r\nfirst\n.\n"),
          pause(300ms, step::kind::read), raw("second\r\n.\r\n")};
}

TEST(exchange, a_reply_before_the_end_of_data_proves_an_early_end) {
  embedded_server broken(ref::defect::end_data_on_lf_dot_lf);
  auto r = run_case(make_case(data_up_to_the_look_alike(), {"smuggling", "security"}), settings_for(broken.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::fail) << describe(r);
  ASSERT_FALSE(r.findings.empty()) << describe(r);
  const auto& f = r.findings.front();
  EXPECT_EQ(f.rule, "mail data ends only at <CRLF>.<CRLF> (4.1.1.4)") << describe(r);
  EXPECT_EQ(f.observation, "end of data at lf_dot_lf") << describe(r);
  EXPECT_EQ(f.cite.to_string(), "RFC 5321 4.1.1.4");
  EXPECT_TRUE(f.security);

  embedded_server strict;
  auto ok = run_case(make_case(data_up_to_the_look_alike(), {"smuggling", "security"}), settings_for(strict.address()), {});
  EXPECT_EQ(ok.outcome, results::verdict::pass) << describe(ok);
}

// --- the client's own breaches: inconclusive, not FAIL (review A1.6; issue 13 item 13) -------

TEST(exchange, a_tls_handshake_that_fails_after_220_is_inconclusive_not_a_finding) {
  // OpenSMTPD 6.8 on Debian 12 answers 220 and then fails the handshake with an
  // internal error: RFC 3207 asks nothing of a failed handshake, and nothing inside
  // TLS can be checked (review A2, rfc2034 starttls-reply). The peer answers the
  // ClientHello with a TLS alert record (internal_error).
  test_support::loopback_server srv([](int fd, const std::atomic<bool>& stopping) {
    auto say = [fd](std::string_view s) { return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL); };
    say("220 tls.example.test ESMTP\r\n");
    std::string in;
    char buf[4096];
    while (!stopping) {
      pollfd pf{fd, POLLIN, 0};
      if (::poll(&pf, 1, 50) <= 0) continue;
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      if (in.find("STARTTLS\r\n") != std::string::npos) break;
      if (in.find("EHLO") != std::string::npos && in.find("\r\n") != std::string::npos && in.size() < 64) {
        say("250-tls.example.test\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
        in.clear();
      }
    }
    say("220 2.0.0 Ready to start TLS\r\n");
    pollfd pf{fd, POLLIN, 0};
    if (::poll(&pf, 1, 5000) > 0 && ::recv(fd, buf, sizeof buf, 0) > 0) say(std::string_view("\x15\x03\x03\x00\x02\x02\x50", 7));
  });
  step tls;
  tls.what = step::kind::starttls;
  auto r = run_case(make_case({send("EHLO client.example"), tls, send("EHLO client.example")}),
                    settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::skip) << describe(r);
  EXPECT_NE(r.reason.find("TLS handshake after 220 to STARTTLS failed"), std::string::npos) << describe(r);
}

TEST(exchange, bdat_to_a_server_without_chunking_is_inconclusive) {
  // The server offers PIPELINING but not CHUNKING: it reads the chunk as commands,
  // which is right; the case cannot judge it.
  script_server srv([] { return plain_server(k_pipelining); });
  step bdat;
  bdat.what = step::kind::bdat;
  bdat.bytes = "Subject: x\r\n\r\nNOOP\r\nbody\r\n";
  bdat.bdat_last = true;
  auto r = run_case(make_case({send("EHLO client.example"), send("MAIL FROM:<a@b.example>"),
                               send("RCPT TO:<c@d.example>"), bdat}),
                    settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::skip) << describe(r);
  EXPECT_EQ(r.reason, "the target does not offer CHUNKING, so it reads the chunk as commands") << describe(r);
  for (const auto& e : r.transcript)
    EXPECT_EQ(e.bytes.find("PIPELINING was not offered"), std::string::npos) << e.bytes;
}

TEST(exchange, no_reply_after_the_client_broke_pipelining_is_inconclusive) {
  // Mail data in the same write as DATA (RFC 2920 3.1: DATA ends a group): a server
  // that then waits for something else is not at fault. The runner waits its full
  // reply timeout and ends the case inconclusive, never FAIL.
  script_server srv([] {
    return plain_server(k_pipelining, [](peer&, const std::string& line, std::string& rest) {
      if (!starts(line, "DATA") || rest.empty()) return false;
      rest.clear();  // silently confused by what followed DATA
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), send("MAIL FROM:<a@b.example>"),
                               send("RCPT TO:<c@d.example>"), raw("DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n")}),
                    settings_for(srv.address(), 500ms), {});
  EXPECT_EQ(r.outcome, results::verdict::skip) << describe(r);
  EXPECT_NE(r.reason.find("RFC 2920 3.1"), std::string::npos) << describe(r);
}

TEST(exchange, replies_held_behind_a_partial_line_are_still_judged_by_the_runner) {
  // RFC 2920 3.2: "MUST send all pending responses immediately whenever the local
  // TCP input buffer is emptied". The fuzzer's short wait excuses this; the runner
  // waits its full timeout and judges (no verdict depends on a short wait).
  script_server srv([] {
    return plain_server(k_pipelining, [](peer&, const std::string& line, std::string& rest) {
      // Holds the MAIL reply while a partial line is pending.
      if (!starts(line, "MAIL") || rest.empty() || rest.find('\n') != std::string::npos) return false;
      return true;
    });
  });
  auto r = run_case(make_case({send("EHLO client.example"), raw("MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.e")}),
                    settings_for(srv.address(), 500ms), {});
  EXPECT_EQ(r.outcome, results::verdict::fail) << describe(r);
}

// --- STARTTLS --------------------------------------------------------------------------------

TEST(exchange, a_220_to_starttls_inside_tls_stops_the_judging_and_leaves_the_should_finding) {
  // aiosmtpd and Haraka answer 220 to a second STARTTLS (fuzzing-lab bug 8): the
  // model's SHOULD finding stays; no second handshake, no MUST finding after it.
  embedded_server srv(ref::defect::none, {{"STARTTLS", 2, "220 2.0.0 Ready to start TLS\r\n"}});
  step tls;
  tls.what = step::kind::starttls;
  auto r = run_case(make_case({send("EHLO client.example"), tls, send("EHLO client.example"), send("STARTTLS"),
                               send("NOOP")}),
                    settings_for(srv.address()), {});
  bool should = false;
  for (const auto& f : r.findings) {
    EXPECT_NE(f.strength, ref::level::must) << describe(r);
    should = should || (f.strength == ref::level::should && f.cite.rfc == 3207);
  }
  EXPECT_TRUE(should) << describe(r);
  EXPECT_NE(r.outcome, results::verdict::fail) << describe(r);
}

TEST(exchange, tls_starttls_runs_the_starttls_cases_from_plaintext) {
  // --tls starttls must not turn the STARTTLS cases into SKIPs (review A1.17): a
  // server that executes plaintext queued behind STARTTLS still fails them.
  const auto loaded = load_scenarios(std::string(SMTPSPEC_SOURCE_DIR) + "/scenarios");
  std::vector<const scenario_case*> cases;
  for (const auto& s : loaded.suites)
    for (const auto& c : s.cases)
      if (c.id == "rfc3207.starttls.injection-noop" || c.id == "rfc3207.starttls.injection-mail-from") cases.push_back(&c);
  ASSERT_EQ(cases.size(), 2u);
  embedded_server broken(ref::defect::execute_after_starttls);
  auto s = settings_for(broken.address());
  s.tls = results::tls_mode::starttls;
  const auto t = probe_target(s);
  ASSERT_TRUE(t.reachable) << t.problem;
  for (const auto& r : run_cases(cases, s, t)) {
    EXPECT_EQ(r.outcome, results::verdict::fail) << r.id << ": " << describe(r);
    EXPECT_EQ(r.tls, results::tls_mode::starttls) << r.id;
  }
}

}  // namespace
}  // namespace smtpspec::harness

// --- step options the runner applies (scenarios/FORMAT.md: fails_on, precondition) ------------

namespace smtpspec::harness {
namespace {

TEST(case_options, fails_on_makes_a_421_the_model_allows_a_finding_of_the_case) {
  // Review A1.4: 421 may answer any command (4.3.2), so a server that times a client
  // out after 2 s passed the timeout cases; fails_on says where it is a finding.
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (!starts(line, "NOOP")) return false;
      p.send("421 4.4.2 script.example.test timeout\r\n");
      p.close();
      return true;
    });
  });
  step noop = send("NOOP");
  noop.expect.codes = {250};
  auto plain = run_case(make_case({send("EHLO client.example"), noop}), settings_for(srv.address()), {});
  EXPECT_EQ(plain.outcome, results::verdict::pass) << describe(plain);
  noop.fails_on.codes = {421};
  noop.fails_on.close = true;
  auto c = make_case({send("EHLO client.example"), noop});
  c.level = ref::level::should;
  auto r = run_case(c, settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::warn) << describe(r);
  ASSERT_FALSE(r.findings.empty()) << describe(r);
  EXPECT_EQ(r.findings[0].rule, c.requirement);
  EXPECT_EQ(r.findings[0].observation, "421 to NOOP");
  EXPECT_EQ(r.findings[0].cite.to_string(), "RFC 5321 4.2");
}

TEST(case_options, fails_on_close_makes_the_close_a_finding_of_the_case) {
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (!starts(line, "NOOP")) return false;
      p.close();  // no reply at all
      return true;
    });
  });
  step noop = send("NOOP");
  noop.fails_on.close = true;
  auto r = run_case(make_case({send("EHLO client.example"), noop}), settings_for(srv.address()), {});
  EXPECT_TRUE(std::any_of(r.findings.begin(), r.findings.end(),
                          [](const results::case_finding& f) { return f.observation == "close at this point"; }))
      << describe(r);
}

TEST(case_options, a_failed_precondition_makes_the_case_inconclusive_and_stops_it) {
  // VRFY answered 550 conforms (4.3.2), but the case needs a 2yz to go on: SKIP, and
  // the step after it (whose narrowed expectation the server would fail) never runs.
  script_server srv([] {
    return plain_server(k_pipelining, [](peer& p, const std::string& line, std::string&) {
      if (starts(line, "VRFY")) {
        p.send("550 5.1.1 no such user\r\n");
        return true;
      }
      if (starts(line, "NOOP")) {
        p.send("502 5.5.1 no\r\n");
        return true;
      }
      return false;
    });
  });
  step vrfy = send("VRFY someone");
  vrfy.precondition.classes = 1u << 2;
  vrfy.expect.codes = {250};  // not judged once the precondition fails
  step noop = send("NOOP");
  noop.expect.codes = {250};
  auto r = run_case(make_case({send("EHLO client.example"), vrfy, noop}), settings_for(srv.address()), {});
  EXPECT_EQ(r.outcome, results::verdict::skip) << describe(r);
  EXPECT_NE(r.reason.find("550"), std::string::npos) << r.reason;
  EXPECT_NE(r.reason.find("2yz"), std::string::npos) << r.reason;
  EXPECT_TRUE(r.findings.empty()) << describe(r);
}

}  // namespace
}  // namespace smtpspec::harness
