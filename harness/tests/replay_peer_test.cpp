// The replay peer on hand-made recordings: it answers as recorded, holds where the
// client met silence, learns the nonce, and says so when the client leaves the
// recording (the properties docs/verdict-snapshots.md rests on).
#include "replay_peer.hpp"

#include <gtest/gtest.h>

#include "smtpspec/harness/runner.hpp"
#include "smtpspec/harness/scenario_loader.hpp"

namespace smtpspec::harness::replay {
namespace {

using std::chrono::milliseconds;

/// Writes a recorded connection the way ci/snapshot_fixture.py does.
class script_builder {
 public:
  script_builder& server(std::string bytes) {
    action a;
    a.what = action::kind::server;
    a.bytes = std::move(bytes);
    conn_.script.push_back(a);
    return *this;
  }
  /// Client octets; "{nonce}" stands for the case's nonce (masked in the hash).
  script_builder& client(const std::string& text) {
    std::string masked;
    for (std::size_t i = 0; i < text.size();) {
      if (text.compare(i, 7, "{nonce}") == 0) {
        conn_.nonce_at.push_back(sent_ + masked.size());
        masked += std::string(12, '#');
        i += 7;
      } else {
        masked += text[i++];
      }
    }
    sent_ += masked.size();
    action a;
    a.what = action::kind::client;
    a.upto = sent_;
    a.hash = fnv1a64(fnv1a64_basis, masked);
    conn_.script.push_back(a);
    return *this;
  }
  /// A NOOP answered 250, then the runner's sync probe answered 500.
  script_builder& noop_then_probe() {
    return client("NOOP\r\n").server("250 2.0.0 OK\r\n").client("XSMTPSPEC-SYNC-{nonce}\r\n").server("500 5.5.1 unknown\r\n");
  }
  /// The runner's polite end: QUIT, 221, the server closes.
  script_builder& quit() { return client("QUIT\r\n").server("221 2.0.0 bye\r\n").then(action::kind::close); }
  script_builder& then(action::kind k) {
    action a;
    a.what = k;
    conn_.script.push_back(a);
    return *this;
  }
  recorded_connection done() const { return conn_; }

 private:
  recorded_connection conn_;
  std::uint64_t sent_ = 0;
};

const scenario_case& only_case(const load_result& loaded) {
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front().to_string());
  return loaded.suites.at(0).cases.at(0);
}

load_result noop_case(const std::string& verb = "NOOP") {
  return load_scenario_text(R"([suite]
name = "t"
title = "t"
[[case]]
id = "t.noop"
title = "NOOP"
requirement = "The NOOP command does not affect any parameters or previously entered commands."
rfc = "5321#4.1.1.9"
level = "MUST"
steps = [ { send = ")" + verb + R"(", expect = 250 } ]
)",
                            "replay_peer_test.toml");
}

results::case_result replay_once(const scenario_case& c, replay_peer& peer, milliseconds reply_timeout = milliseconds(2000)) {
  run_settings s;
  s.target = peer.address();
  s.reply_timeout = reply_timeout;
  target_probe t;
  t.reachable = true;
  auto result = run_case(c, s, t);
  peer.stop();
  return result;
}

/// What the runner sends for the NOOP case, and a server that answers it well.
recorded_case answered_noop() {
  recorded_case rc;
  rc.id = "t.noop";
  rc.connections.push_back(script_builder().server("220 replay.test ESMTP\r\n").noop_then_probe().quit().done());
  return rc;
}

TEST(replay_peer, answers_as_recorded_and_learns_the_nonce) {
  const auto loaded = noop_case();
  const auto rc = answered_noop();
  replay_peer peer(rc);
  const auto r = replay_once(only_case(loaded), peer);
  EXPECT_EQ(r.outcome, results::verdict::pass) << r.reason;
  EXPECT_EQ(peer.divergence(r), "");
  EXPECT_EQ(peer.live_nonce().size(), 12u);
  bool probe_had_it = false;
  for (const auto& e : r.transcript)
    if (e.what == results::transcript_event::kind::client_bytes &&
        e.bytes.find("XSMTPSPEC-SYNC-" + peer.live_nonce()) != std::string::npos)
      probe_had_it = true;
  EXPECT_TRUE(probe_had_it) << "the nonce learnt is the one the client sent";
}

TEST(replay_peer, octets_the_recording_never_saw_end_the_replay_visibly) {
  const auto loaded = noop_case("RSET");  // the case changed since the recording: same length, other verb
  const auto rc = answered_noop();
  replay_peer peer(rc);
  const auto r = replay_once(only_case(loaded), peer);
  EXPECT_NE(r.outcome, results::verdict::pass);
  EXPECT_NE(peer.divergence().find("the client's octets 0..6 differ from the recording"), std::string::npos)
      << peer.divergence();
}

TEST(replay_peer, a_hold_keeps_the_silence_the_lab_met) {
  // The lab server did not answer NOOP before the client's deadline; its reply came
  // only after the client's next octets. The replay must not answer earlier.
  recorded_case rc;
  rc.id = "t.noop";
  rc.connections.push_back(script_builder()
                               .server("220 replay.test ESMTP\r\n")
                               .client("NOOP\r\n")
                               .then(action::kind::hold)
                               .server("250 2.0.0 OK\r\n")
                               .quit()
                               .done());
  const auto loaded = noop_case();
  for (auto deadline : {milliseconds(200), milliseconds(900)}) {
    replay_peer peer(rc);
    const auto r = replay_once(only_case(loaded), peer, deadline);
    EXPECT_EQ(r.outcome, results::verdict::fail) << "deadline " << deadline.count() << " ms: " << r.reason;
    EXPECT_NE(r.reason.find("no reply to NOOP"), std::string::npos) << r.reason;
    EXPECT_EQ(peer.divergence(r), "");
  }
}

TEST(replay_peer, a_connection_the_recording_lacks_is_reported) {
  recorded_case rc;  // the case was skipped in the lab: no connection recorded
  rc.id = "t.noop";
  const auto loaded = noop_case();
  replay_peer peer(rc);
  const auto r = replay_once(only_case(loaded), peer, milliseconds(300));
  EXPECT_NE(r.outcome, results::verdict::pass);
  EXPECT_EQ(peer.divergence(r), "the client opened 1 connection; the recording has 0");
}

TEST(replay_peer, starts_tls_where_the_recording_did) {
  const auto loaded = load_scenario_text(R"([suite]
name = "t"
title = "t"
[[case]]
id = "t.tls"
title = "STARTTLS"
requirement = "After receiving a 220 response to a STARTTLS command, the client MUST start the TLS negotiation."
rfc = "3207#4"
level = "MUST"
steps = [ { send = "EHLO {client}" }, { starttls = true }, { send = "NOOP", expect = 250 } ]
)",
                                         "replay_peer_test.toml");
  recorded_case rc;
  rc.id = "t.tls";
  rc.connections.push_back(script_builder()
                               .server("220 replay.test ESMTP\r\n")
                               .client("EHLO client.smtpspec.test\r\n")
                               .server("250-replay.test\r\n250 STARTTLS\r\n")
                               .client("STARTTLS\r\n")
                               .server("220 2.0.0 go ahead\r\n")
                               .then(action::kind::tls)
                               .noop_then_probe()  // the runner's sync probe inside TLS (RFC 3207 4)
                               .noop_then_probe()  // the case's NOOP, then its sync probe
                               .quit()
                               .done());
  replay_peer peer(rc);
  run_settings s;
  s.target = peer.address();
  s.tls_options.insecure = true;
  target_probe t;
  t.reachable = true;
  const auto r = run_case(only_case(loaded), s, t);
  peer.stop();
  EXPECT_EQ(peer.divergence(r), "");
  EXPECT_EQ(r.tls, results::tls_mode::starttls);
  EXPECT_EQ(r.outcome, results::verdict::pass) << r.reason;
}

}  // namespace
}  // namespace smtpspec::harness::replay
