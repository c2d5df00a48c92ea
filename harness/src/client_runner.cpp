// `smtpspec client`: see client_runner.hpp.
#include "smtpspec/harness/client_runner.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "smtpspec/harness/asio.hpp"
#include "smtpspec/harness/connection.hpp"
#include "smtpspec/harness/listener.hpp"
#include "smtpspec/harness/process.hpp"
#include "smtpspec/harness/runner.hpp"
#include "smtpspec/harness/tls.hpp"
#include "smtpspec/reference/server_session.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::harness {
namespace {

namespace ref = smtpspec::reference;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds k_tls_timeout{10000};
constexpr milliseconds k_write_timeout{10000};
/// After the session, the client gets this long to exit before it is killed.
constexpr milliseconds k_exit_grace{5000};
/// Pause between the pieces of a reply delivered line by line or octet by octet,
/// so that each piece travels in its own TCP segment (TCP_NODELAY is on).
constexpr milliseconds k_line_gap{20};
constexpr milliseconds k_octet_gap{1};

results::rfc_ref to_ref(const ref::citation& c) { return {c.rfc, std::string(c.section)}; }

milliseconds left_until(clock_type::time_point deadline) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - clock_type::now()));
}

std::string ms_text(milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s" : std::to_string(d.count()) + " ms";
}

/// Replaces {name} placeholders of an --exec command; values are shell-quoted.
std::string expand_command(const std::string& command, const std::vector<std::pair<std::string, std::string>>& values) {
  std::string out;
  for (std::size_t i = 0; i < command.size(); ++i) {
    if (command[i] == '{') {
      auto close = command.find('}', i);
      if (close != std::string::npos) {
        const std::string name = command.substr(i + 1, close - i - 1);
        auto it = std::find_if(values.begin(), values.end(), [&](const auto& v) { return v.first == name; });
        if (it != values.end()) {
          out += shell_quote(it->second);
          i = close;
          continue;
        }
      }
    }
    out += command[i];
  }
  return out;
}

/// The message file for {msgfile} and the content it must arrive as: a message
/// that does not end in CRLF gets one before the end-of-data line (4.1.1.4).
std::string expected_content(const std::string& message) {
  if (message.size() >= 2 && message.compare(message.size() - 2, 2, "\r\n") == 0) return message;
  return message.empty() ? message : message + "\r\n";
}

/// A submission client may add header fields (Date, Message-ID, Received: RFC 6409
/// 8, RFC 5321 4.4) but must carry every submitted header line and the body octet
/// for octet.
bool same_with_added_headers(const std::string& submitted, const std::string& stored) {
  const auto split = [](const std::string& m) -> std::pair<std::string_view, std::string_view> {
    const auto end = m.find("\r\n\r\n");
    if (end == std::string::npos) return {std::string_view(), std::string_view(m)};
    return {std::string_view(m).substr(0, end + 2), std::string_view(m).substr(end + 2)};
  };
  const auto [want_head, want_body] = split(submitted);
  const auto [got_head, got_body] = split(stored);
  if (want_head.empty() || want_body != got_body) return false;
  for (std::size_t pos = 0; pos < want_head.size();) {
    const auto end = want_head.find("\r\n", pos);
    const auto line = want_head.substr(pos, end + 2 - pos);
    if (got_head.find(line) == std::string_view::npos) return false;
    pos = end + 2;
  }
  return true;
}

class client_case_run {
 public:
  client_case_run(const scenario_case& c, const client_run_settings& s, listener& l, boost::asio::ssl::context& tls,
                  const std::string& cafile)
      : c_(c), part_(*c.client), s_(s), listener_(l), tls_(tls), cafile_(cafile), log_(s.transcript_limit),
        nonce_(make_nonce()) {}

  results::case_result run();

 private:
  void add(ref::level l, results::rfc_ref cite, std::string text, bool security = false, std::string rule = {},
           std::string observation = {}) {
    findings_.push_back({l, std::move(cite), std::move(text), {}, {}, -1, security});
    findings_.back().rule = std::move(rule);
    findings_.back().observation = std::move(observation);
  }
  /// A finding of the case's own requirement (its level and main citation).
  void add_case(std::string text) {
    const bool security = std::find(c_.tags.begin(), c_.tags.end(), "security") != c_.tags.end();
    add(c_.level, c_.rfc.empty() ? results::rfc_ref{} : c_.rfc.front(), std::move(text), security);
  }
  ref::server_config config() const;
  std::string command_line(const std::string& exec, const std::string& msgfile) const;
  void serve(connection& conn, ref::server_session& ss, clock_type::time_point deadline);
  bool flush(connection& conn, ref::server_session& ss, clock_type::time_point deadline);
  bool send_paced(connection& conn, std::string_view bytes);
  void hold(connection& conn, ref::server_session& ss, milliseconds how_long);
  void check(const ref::server_session& ss);
  /// The case sends more than one reply line with its 220 to STARTTLS.
  bool injected_after_starttls() const {
    return std::any_of(part_.server.replies.begin(), part_.server.replies.end(), [](const ref::scripted_reply& r) {
      return r.on == "STARTTLS" && r.wire.find("\r\n") + 2 < r.wire.size();
    });
  }

  const scenario_case& c_;
  const client_part& part_;
  const client_run_settings& s_;
  listener& listener_;
  boost::asio::ssl::context& tls_;
  const std::string& cafile_;
  results::transcript log_;
  std::string nonce_;
  std::vector<results::case_finding> findings_;
  std::string error_, skip_;
  bool peer_closed_ = false;
  bool tls_up_ = false;
};

ref::server_config client_case_run::config() const {
  ref::server_config cfg;
  cfg.domain = s_.domain;
  cfg.judge_client = true;
  cfg.script = part_.server.replies;
  cfg.keywords = part_.server.keywords;
  cfg.tls_keywords = part_.server.tls_keywords;
  cfg.auth_in_plaintext = part_.server.auth_in_plaintext;
  cfg.auth_user = s_.user;
  cfg.auth_password = s_.password;
  if (part_.server.max_size) cfg.max_message_size = *part_.server.max_size;
  // The recipients the client is given ({to}, {to2}) are local here.
  for (const auto* box : {&s_.to, &s_.to2}) {
    auto at = box->rfind('@');
    if (at != std::string::npos) cfg.local_domains.push_back(box->substr(at + 1));
  }
  return cfg;
}

std::string client_case_run::command_line(const std::string& exec, const std::string& msgfile) const {
  const auto at = listener_.address().rfind(':');
  return expand_command(exec, {{"host", listener_.host()},
                               {"port", std::to_string(listener_.port())},
                               {"addr", listener_.address().substr(0, at)},
                               {"from", s_.from},
                               {"to", s_.to},
                               {"to2", s_.to2},
                               {"msgfile", msgfile},
                               {"user", s_.user},
                               {"password", s_.password},
                               {"cafile", cafile_},
                               {"nonce", nonce_}});
}

bool client_case_run::send_paced(connection& conn, std::string_view bytes) {
  switch (part_.server.delivery) {
    case server_script::pacing::whole: return static_cast<bool>(conn.write(bytes, k_write_timeout));
    case server_script::pacing::lines:
      for (std::size_t pos = 0; pos < bytes.size();) {
        auto end = bytes.find("\r\n", pos);
        end = end == std::string_view::npos ? bytes.size() : end + 2;
        if (!conn.write(bytes.substr(pos, end - pos), k_write_timeout)) return false;
        pos = end;
        if (pos < bytes.size()) std::this_thread::sleep_for(k_line_gap);
      }
      return true;
    case server_script::pacing::bytewise:
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (!conn.write(bytes.substr(i, 1), k_write_timeout)) return false;
        std::this_thread::sleep_for(k_octet_gap);
      }
      return true;
  }
  return false;
}

void client_case_run::hold(connection& conn, ref::server_session& ss, milliseconds how_long) {
  // The reply is held back: a client that waits sends nothing now. Whatever it
  // sends is still served (fed to the session), after the held reply.
  log_.note("smtpspec holds its next reply back for " + ms_text(how_long));
  const auto until = clock_type::now() + how_long;
  bool reported = false;
  while (!peer_closed_ && clock_type::now() < until) {
    std::string got;
    auto r = conn.read_some(got, 64 * 1024, std::max(milliseconds(1), left_until(until)));
    if (!got.empty()) {
      // The model judges the octets first: where it already names the command sent
      // too early (pipelined without PIPELINING, RFC 5321 4.3.1) that is the one
      // defect, not a second one for the same octets.
      const auto before = ss.client_findings().size();
      ss.feed(got);
      const auto& now = ss.client_findings();
      const bool named = std::any_of(now.begin() + static_cast<std::ptrdiff_t>(before), now.end(),
                                     [](const ref::finding& f) { return f.strength == ref::level::must; });
      if (!reported && !named)
        add_case("the client sent \"" + results::visible(got.substr(0, 120)) + "\" while smtpspec held its reply back (" +
                 ms_text(how_long) + "): it did not wait for the reply");
      reported = true;
    } else if (r.status == io_status::closed || r.status == io_status::reset) {
      add_case("the client closed the connection while smtpspec held its reply back (" + ms_text(how_long) +
               "): it did not wait for the reply");
      peer_closed_ = true;
      ss.feed_eof();
    }
  }
}

bool client_case_run::flush(connection& conn, ref::server_session& ss, clock_type::time_point deadline) {
  while (!ss.output().empty() && clock_type::now() < deadline) {
    const std::string out(ss.output());
    const auto pause = ss.take_pause();
    const std::size_t upto = pause ? std::min(pause->offset, out.size()) : out.size();
    if (upto > 0) {
      if (!send_paced(conn, std::string_view(out).substr(0, upto))) return false;
      ss.consume_output(upto);
    }
    if (pause) hold(conn, ss, milliseconds(pause->ms));
    if (peer_closed_) return false;
  }
  return true;
}

void client_case_run::serve(connection& conn, ref::server_session& ss, clock_type::time_point deadline) {
  if (part_.server.greeting_delay.count() > 0) {
    // 4.3.1: the client SHOULD wait for the greeting; what it sends early is fed
    // to the session, which holds it until the greeting is out and reports it.
    const auto until = std::min(deadline, clock_type::now() + part_.server.greeting_delay);
    log_.note("smtpspec waits " + ms_text(part_.server.greeting_delay) + " before its greeting");
    while (clock_type::now() < until) {
      std::string got;
      auto r = conn.read_some(got, 64 * 1024, std::max(milliseconds(1), left_until(until)));
      if (!got.empty()) ss.feed(got);
      else if (r.status == io_status::closed || r.status == io_status::reset) return ss.feed_eof();
    }
  }
  ss.start();
  for (;;) {
    if (!flush(conn, ss, deadline)) return;
    if (ss.tls_wanted()) {
      auto r = conn.accept_tls(tls_, std::min(k_tls_timeout, left_until(deadline)));
      if (!r && r.status == io_status::closed && injected_after_starttls()) {
        // Refusing to go on after plaintext that arrived with the 220 is the defence
        // RFC 3207 4.2 calls for (curl, for one, does this since CVE-2021-22947).
        add(ref::level::may, {3207, "4.2"},
            "the client closed the connection instead of starting TLS after octets were injected behind the 220: "
            "it refuses to use them (a defence)");
        peer_closed_ = true;
        return;
      }
      if (!r) {
        error_ = "the client answered 220 to STARTTLS with no working TLS handshake (" + r.detail +
                 "); if it rejects smtpspec's self-signed certificate, give it {cafile} or turn verification off";
        conn.close();
        return;
      }
      tls_up_ = true;
      ss.tls_established();
      continue;
    }
    if (ss.closing()) {
      conn.close();
      return;
    }
    if (clock_type::now() >= deadline) {
      log_.note("case timeout: the session is cut short");
      error_ = "the client did not finish within the case timeout (" + ms_text(s_.case_timeout) + ")";
      conn.close();
      return;
    }
    std::string got;
    auto r = conn.read_some(got, 64 * 1024, std::min(s_.idle_timeout, left_until(deadline)));
    if (!got.empty()) {
      ss.feed(got);
      continue;
    }
    if (r.status == io_status::timeout) {
      if (clock_type::now() >= deadline) continue;
      // The client stopped acting on what it was sent: a reply it could not
      // read (split, multi-line) leaves it waiting forever.
      add_case("the client sent nothing for " + ms_text(s_.idle_timeout) + " after smtpspec's last reply");
      ss.timeout();
      flush(conn, ss, deadline);
      conn.close();
      return;
    }
    peer_closed_ = true;
    ss.feed_eof();
    return;
  }
}

void client_case_run::check(const ref::server_session& ss) {
  for (const auto& f : ss.client_findings()) add(f.strength, to_ref(f.cite), f.text, f.cite.rfc == 3207);
  const auto& commands = ss.client_commands();
  auto sent = [&](const std::string& verb, bool plaintext_only) {
    return std::find_if(commands.begin(), commands.end(), [&](const ref::client_command& c) {
      return (plaintext_only ? !c.tls : true) &&
             (verb == "UNKNOWN" ? c.kind == ref::verb::unknown : ref::to_string(c.kind) == verb);
    });
  };
  const auto& k = part_.checks;
  for (const auto& v : k.must_send)
    if (sent(v, false) == commands.end()) {
      if (v == "QUIT")
        add(ref::level::must, {5321, "4.1.1.10"},
            "the client closed the connection without QUIT: \"The sender MUST NOT intentionally close the "
            "transmission channel until it sends a QUIT command\"");
      else
        add_case("the client never sent " + v);
    }
  for (const auto& v : k.must_not_send)
    if (auto it = sent(v, false); it != commands.end()) add_case("the client sent \"" + results::visible(it->line) + "\"");
  for (const auto& v : k.plaintext_forbidden)
    if (auto it = sent(v, true); it != commands.end())
      add_case("the client sent \"" + results::visible(it->line) + "\" in plaintext, outside TLS");
  if (!k.first_command.empty()) {
    if (commands.empty())
      add_case("the client sent no command, not even " + k.first_command);
    else if (ref::to_string(commands.front().kind) != k.first_command)
      add_case("the client's first command was \"" + results::visible(commands.front().line) + "\", not " + k.first_command);
  }
  if (!k.first_after_tls.empty()) {
    auto first = std::find_if(commands.begin(), commands.end(), [](const ref::client_command& c) { return c.tls; });
    if (first != commands.end() && ref::to_string(first->kind) != k.first_after_tls)
      add_case("the first command inside TLS was \"" + results::visible(first->line) + "\", not " + k.first_after_tls);
  }
  const auto& stored = ss.messages();
  if (k.messages && static_cast<int>(stored.size()) != *k.messages)
    add_case("the server stored " + std::to_string(stored.size()) + " message(s) where " + std::to_string(*k.messages) +
             " was expected");
  if (k.message_equals_submitted) {
    const std::string want = expected_content(expand_variables(part_.message, [&] {
      run_settings rs;
      rs.from = s_.from, rs.to = s_.to, rs.to2 = s_.to2;
      return rs;
    }(), nonce_));
    if (stored.empty()) {
      add_case("no message was stored, so the submitted message could not be compared");
    } else if (stored.front().content != want && !same_with_added_headers(want, stored.front().content)) {
      const auto& got = stored.front().content;
      std::size_t at = 0;
      while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
      const std::size_t from = at > 20 ? at - 20 : 0;
      // The mail data is the message (4.1.1.4); only stuffing (4.5.2) may change it on the wire.
      add(ref::level::must, {5321, "4.1.1.4"},
          "the stored message differs from the submitted one at octet " + std::to_string(at) + ": submitted \"" +
              results::visible(want.substr(from, 60)) + "\", stored \"" + results::visible(got.substr(from, 60)) + "\"",
          false, "the mail data is the message (4.1.1.4)", "stored message differs from the submitted one");
    }
  }
}

results::case_result client_case_run::run() {
  const auto started = clock_type::now();
  results::case_result out = result_for(c_);
  const milliseconds timeout = c_.timeout.value_or(s_.case_timeout);
  const auto deadline = started + timeout;

  const std::string exec = [&] {
    auto it = s_.exec.find(part_.profile);
    return it == s_.exec.end() ? std::string() : it->second;
  }();
  if (exec.empty() && !s_.exec.empty()) {
    skip_ = std::string("the case needs a client configured for profile '") + std::string(to_string(part_.profile)) +
            "': give --exec-" + std::string(to_string(part_.profile)) + " (or --exec for plain)";
  } else {
    run_settings rs;
    rs.from = s_.from, rs.to = s_.to, rs.to2 = s_.to2;
    const std::string message = expand_variables(part_.message, rs, nonce_);
    const std::string msgfile = s_.work_dir + "/" + c_.id + ".eml";
    std::ofstream(msgfile, std::ios::binary) << message;
    listener_.drain();  // a late retry from the previous case's client is not this case's
    std::optional<child_process> child;
    if (!exec.empty()) {
      const std::string command = command_line(exec, msgfile);
      log_.note("starting the client: " + command);
      try {
        child.emplace(command, s_.work_dir + "/" + c_.id + ".out");
      } catch (const std::exception& e) {
        error_ = e.what();
      }
    } else if (s_.say) {
      s_.say("  " + c_.id + " (client profile '" + std::string(to_string(part_.profile)) + "'): waiting for a client on " +
             listener_.address() + ", message file " + msgfile);
    }
    if (error_.empty()) {
      std::string peer;
      int fd = -1;
      while (fd < 0 && clock_type::now() < deadline) {
        fd = listener_.accept(std::min(milliseconds(200), left_until(deadline)), peer);
        if (fd < 0 && child && child->wait(milliseconds(0))) {
          fd = listener_.accept(milliseconds(100), peer);  // it may have connected and gone
          break;
        }
      }
      if (fd < 0) {
        error_ = child ? "the client did not connect (" + child->status_text() + ")" : "no client connected within " + ms_text(timeout);
      } else {
        connection conn(log_, local_role::server);
        if (auto r = conn.adopt(fd, peer); !r) {
          error_ = r.detail;
        } else {
          ref::server_session ss(config());
          serve(conn, ss, deadline);
          conn.close();
          check(ss);
        }
      }
      if (child) {
        if (!child->wait(std::min(k_exit_grace, std::max(milliseconds(100), left_until(deadline + k_exit_grace))))) {
          log_.note("the client did not exit within " + ms_text(k_exit_grace) + " after the session: killed");
          child->kill();
        }
        log_.note("client " + child->status_text());
        if (auto tail = child->output_tail(); !tail.empty()) log_.note("client output: " + tail);
      }
    }
  }
  out.findings = findings_;
  out.transcript = log_.events();
  out.transcript_truncated = log_.truncated();
  out.tls = tls_up_ ? results::tls_mode::starttls : results::tls_mode::none;
  out.duration = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - started);
  results::decide_verdict(out, s_.strict, error_, skip_);
  return out;
}

}  // namespace

std::vector<results::case_result> run_client_cases(const std::vector<const scenario_case*>& cases, const client_run_settings& s,
                                          results::target_info& info, const client_progress_fn& progress) {
  endpoint_spec where;
  std::string problem;
  if (!endpoint_spec::parse(s.listen, where, problem)) throw std::runtime_error("--listen: " + problem);
  listener l(where);
  std::filesystem::create_directories(s.work_dir);
  const pem_identity id = make_self_signed("localhost");
  auto tls = make_server_context(id);
  const std::string cafile = s.work_dir + "/smtpspec-ca.pem";
  std::ofstream(cafile, std::ios::binary) << id.certificate;

  info.role = "client";
  info.address = l.address();
  for (const auto& [profile, command] : s.exec) {
    if (!info.banner.empty()) info.banner += "; ";
    info.banner += std::string(to_string(profile)) + ": " + command;
  }
  if (info.banner.empty()) info.banner = "clients started by hand";
  if (s.say) s.say("smtpspec plays the server on " + l.address() + " (certificate: " + cafile + ")");

  std::vector<results::case_result> out;
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (!cases[i]->client) continue;
    out.push_back(client_case_run(*cases[i], s, l, tls, cafile).run());
    if (progress) progress(out.back(), i + 1, cases.size());
  }
  return out;
}

}  // namespace smtpspec::harness
