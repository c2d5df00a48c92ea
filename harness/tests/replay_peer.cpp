// The replay peer and its fixture reader; see replay_peer.hpp.
#include "replay_peer.hpp"

#include <openssl/ssl.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "smtpspec/harness/tls.hpp"

namespace smtpspec::harness::replay {
namespace {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t k_nonce_length = 12;  // harness::make_nonce
constexpr char k_mask = '#';                // what the recorder hashes in place of a nonce octet
/// One read or accept waits this long before looking at stop() again.
constexpr milliseconds k_poll{50};
/// No case runs longer (run_settings::case_timeout is 60 s): a peer whose client
/// went quiet gives up after this, so a broken test cannot hang.
constexpr milliseconds k_session_limit{180000};
constexpr milliseconds k_io_timeout{10000};

/// Octets the recorder wrote as a JSON string (UTF-8) or, when they are not UTF-8,
/// as a list of numbers.
std::string octets(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  const auto list = j.get<std::vector<std::uint8_t>>();
  return std::string(list.begin(), list.end());
}

action read_action(const nlohmann::json& j) {
  const auto what = j.at(0).get<std::string>();
  action a;
  if (what == "c") {
    a.what = action::kind::client;
    a.upto = j.at(1).get<std::uint64_t>();
    a.hash = std::stoull(j.at(2).get<std::string>(), nullptr, 16);
  } else if (what == "s") {
    a.what = action::kind::server;
    a.bytes = octets(j.at(1));
  } else if (what == "hold") {
    a.what = action::kind::hold;
  } else if (what == "tls") {
    a.what = action::kind::tls;
  } else if (what == "tls-fail") {
    a.what = action::kind::tls_fail;
  } else if (what == "close") {
    a.what = action::kind::close;
  } else if (what == "end") {
    a.what = action::kind::end;
  } else {
    throw std::runtime_error("unknown action '" + what + "'");
  }
  return a;
}

results::tls_mode read_tls(const std::string& s) {
  for (auto m : {results::tls_mode::none, results::tls_mode::starttls, results::tls_mode::implicit})
    if (results::to_string(m) == s) return m;
  throw std::runtime_error("unknown TLS mode '" + s + "'");
}

/// The peer's TLS: one self-signed certificate for every peer, and a context whose
/// certificate callback fails, so that the handshake ends in an internal_error
/// alert, which is what the lab's OpenSMTPD sends (its key engine fails with
/// OpenSSL 3, ci/lab/README.md).
struct peer_tls {
  boost::asio::ssl::context ok;
  boost::asio::ssl::context failing;
  peer_tls() : ok(make_server_context(identity())), failing(make_server_context(identity())) {
    SSL_CTX_set_cert_cb(failing.native_handle(), [](SSL*, void*) { return 0; }, nullptr);
  }
  static const pem_identity& identity() {
    static const pem_identity id = make_self_signed("replay.smtpspec.test");
    return id;
  }
  static peer_tls& shared() {
    static peer_tls t;
    return t;
  }
};

}  // namespace

std::uint64_t fnv1a64(std::uint64_t h, std::string_view bytes) {
  for (unsigned char b : bytes) {
    h ^= b;
    h *= 0x100000001b3ULL;
  }
  return h;
}

recorded_run read_recorded_run(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::stringstream text;
  text << in.rdbuf();
  try {
    const auto doc = nlohmann::json::parse(text.str());
    if (doc.at("format") != "smtpspec-replay" || doc.at("format_version") != 1)
      throw std::runtime_error("not a replay fixture of format version 1");
    recorded_run r;
    r.server = doc.at("server").get<std::string>();
    r.run = doc.at("run").get<int>();
    r.tool_version = doc.at("recorded").at("tool_version").get<std::string>();
    r.started_at = doc.at("recorded").at("started_at").get<std::string>();
    const auto& s = doc.at("settings");
    r.to = s.at("to").get<std::string>();
    r.to2 = s.at("to2").get<std::string>();
    r.strict = s.at("strict").get<bool>();
    r.tls = read_tls(s.at("tls").get<std::string>());
    const auto& t = doc.at("target");
    r.target.role = "server";
    r.target.address = "replay of " + doc.at("recorded").at("address").get<std::string>();
    r.target.tls = r.tls;
    r.target.banner = t.at("banner").get<std::string>();
    r.target.extensions = t.at("extensions").get<std::vector<std::string>>();
    r.target.tls_extensions = t.at("tls_extensions").get<std::vector<std::string>>();
    r.target.tls_description = t.at("tls_description").get<std::string>();
    r.target.tls_problem = t.at("tls_problem").get<std::string>();
    r.ehlo_readable = t.at("ehlo_readable").get<bool>();
    for (const auto& c : doc.at("cases")) {
      recorded_case rc;
      rc.id = c.at("id").get<std::string>();
      rc.recorded = c.at("recorded").get<std::string>();
      rc.refuse_after_close = c.value("refuse_after_close", false);
      rc.truncated = c.value("truncated", false);
      if (c.contains("delivered")) rc.delivered = octets(c.at("delivered"));
      for (const auto& conn : c.value("connections", nlohmann::json::array())) {
        recorded_connection k;
        for (const auto& a : conn.at("script")) k.script.push_back(read_action(a));
        k.nonce_at = conn.value("nonce_at", std::vector<std::uint64_t>{});
        rc.connections.push_back(std::move(k));
      }
      r.cases.push_back(std::move(rc));
    }
    return r;
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

// --- one connection ------------------------------------------------------------------

/// Plays one recorded connection (or, with no recording, a silent one).
class replay_session {
 public:
  replay_session(replay_peer& owner, int fd, const std::string& from, std::size_t index)
      : owner_(owner), log_(256 * 1024), conn_(log_, local_role::server), index_(index),
        recorded_(index < owner.case_.connections.size() ? &owner.case_.connections[index] : nullptr),
        until_(clock_type::now() + k_session_limit) {
    conn_.adopt(fd, from);
  }
  ~replay_session() { conn_.close(); }

  void run() {
    if (!recorded_ || diverged()) {
      silent();
      return;
    }
    const auto& script = recorded_->script;
    for (std::size_t i = 0; i < script.size(); ++i) {
      const auto& a = script[i];
      if (!play(a)) return;
    }
  }

 private:
  bool diverged() const { return !owner_.divergence().empty(); }
  std::string where() const { return "connection " + std::to_string(index_ + 1); }

  void leave(std::string why) {
    owner_.diverge(where() + ": " + why);
    conn_.close();
  }

  /// Reads what the client sends into `pending_`. False at end of stream (or a
  /// reset), when stopped, or past the session's deadline; `closed` says whether the
  /// client closed. At least one read is made, so a client that closed before the
  /// peer was stopped is always seen to have closed (the runner closes its
  /// connection before run_case returns): the remark does not depend on timing.
  bool read_more(bool* closed = nullptr) {
    do {
      auto r = conn_.read_some(pending_, 64 * 1024, k_poll);
      if (r) {
        received_ += r.bytes;
        return true;
      }
      if (r.status != io_status::timeout) {
        if (closed) *closed = true;
        return false;
      }
    } while (!owner_.stopping() && clock_type::now() < until_);
    return false;
  }

  /// The client's octets up to `a.upto`, compared with the recording's hash.
  bool client(const action& a) {
    while (received_ < a.upto) {
      bool closed = false;
      if (!read_more(&closed)) {
        if (closed || !owner_.stopping())
          leave("the client closed after " + std::to_string(received_) + " octets; the recording has " +
                std::to_string(a.upto));
        return false;
      }
    }
    const std::uint64_t from = checked_;
    std::uint64_t h = fnv1a64_basis;
    std::string nonce = nonce_;
    for (std::uint64_t at = from; at < a.upto; ++at) {
      const char octet = pending_[static_cast<std::size_t>(at - from)];
      bool masked = false;
      for (auto n : recorded_->nonce_at)
        if (at >= n && at < n + k_nonce_length) {
          masked = true;
          if (n == recorded_->nonce_at.front()) {
            if (nonce.size() < k_nonce_length) nonce.resize(k_nonce_length);
            nonce[static_cast<std::size_t>(at - n)] = octet;
          }
          break;
        }
      const char c = masked ? k_mask : octet;
      h = fnv1a64(h, std::string_view(&c, 1));
    }
    if (nonce != nonce_) {
      nonce_ = nonce;
      owner_.learn_nonce(nonce_);
    }
    pending_.erase(0, static_cast<std::size_t>(a.upto - from));
    checked_ = a.upto;
    if (h != a.hash) {
      leave("the client's octets " + std::to_string(from) + ".." + std::to_string(a.upto) +
            " differ from the recording (the case's steps changed since it was recorded)");
      return false;
    }
    return true;
  }

  /// The last recorded connection, after which the recording found the port closed.
  bool last_connection() const {
    return index_ + 1 == owner_.case_.connections.size() && owner_.case_.refuse_after_close;
  }

  bool play(const action& a) {
    switch (a.what) {
      case action::kind::client: return client(a);
      case action::kind::server:
        if (!conn_.write(a.bytes, k_io_timeout)) {
          // The client is gone; if the recording still expects octets from it, it left early.
          if (!owner_.stopping() && expects_more_octets()) leave("the client closed before the server's reply");
          return false;
        }
        return true;
      case action::kind::hold:
        // The client met silence here in the recording: answer only once it sends more.
        if (pending_.empty() && !read_more()) return false;
        return true;
      case action::kind::tls:
      case action::kind::tls_fail: {
        if (!pending_.empty()) {
          leave("the client sent octets after the 220 to STARTTLS that the recording does not have");
          return false;
        }
        auto& tls = a.what == action::kind::tls ? peer_tls::shared().ok : peer_tls::shared().failing;
        auto r = conn_.accept_tls(tls, k_io_timeout);
        if (a.what == action::kind::tls && !r) {
          if (!owner_.stopping()) leave("the TLS handshake the recording has did not happen: " + r.detail);
          return false;
        }
        return true;
      }
      case action::kind::close:
        if (last_connection()) owner_.listener_.reset();  // before the client can try again
        conn_.shutdown_send();
        while (read_more()) pending_.clear();  // until the client closes too
        return false;
      case action::kind::end:
        // The recording ends with the client closing: anything more leaves it.
        if (pending_.empty()) read_more();
        if (!pending_.empty())
          leave("the client sent octets past the end of the recording (after octet " + std::to_string(checked_) + ")");
        if (last_connection()) owner_.listener_.reset();
        return false;
    }
    return false;
  }

  bool expects_more_octets() const {
    for (const auto& a : recorded_->script)
      if (a.what == action::kind::client && a.upto > received_) return true;
    return false;
  }

  /// A connection the recording does not have: the liveness check connects and
  /// closes; a client that sends anything here has left the recording.
  void silent() {
    if (read_more() && !pending_.empty())
      leave("the client sent octets on a connection the recording does not have (it has " +
            std::to_string(owner_.case_.connections.size()) + ")");
  }

  replay_peer& owner_;
  results::transcript log_;
  connection conn_;
  std::size_t index_;
  const recorded_connection* recorded_;
  clock_type::time_point until_;
  std::string pending_;         // client octets read but not yet compared
  std::uint64_t received_ = 0;  // client octets read on this connection
  std::uint64_t checked_ = 0;   // client octets compared with the recording
  std::string nonce_;
};

// --- the peer ------------------------------------------------------------------------

replay_peer::replay_peer(const recorded_case& c)
    : case_(c), listener_(std::make_unique<listener>(endpoint_spec{"127.0.0.1", 0})),
      address_{"127.0.0.1", listener_->port()} {
  peer_tls::shared();  // made once, before any thread needs it
  thread_ = std::thread([this] { serve(); });
}

replay_peer::~replay_peer() { stop(); }

void replay_peer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void replay_peer::serve() {
  // One connection at a time: the runner opens the next only after the previous
  // one closed (the liveness check, the plaintext fallback).
  for (std::size_t index = 0; listener_ && !stopping();) {
    std::string from;
    const int fd = listener_->accept(k_poll, from);
    if (fd < 0) continue;
    replay_session(*this, fd, from, index++).run();
  }
}

void replay_peer::diverge(std::string why) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (divergence_.empty()) divergence_ = std::move(why);
}

void replay_peer::learn_nonce(std::string nonce) {
  std::lock_guard<std::mutex> lock(mutex_);
  nonce_ = std::move(nonce);
}

std::string replay_peer::divergence() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return divergence_;
}

std::string replay_peer::live_nonce() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return nonce_;
}

std::string replay_peer::divergence(const results::case_result& replayed) const {
  if (auto why = divergence(); !why.empty()) return why;
  // connection.cpp notes each connection the runner opens for the case; its
  // liveness check after a close keeps a transcript of its own.
  std::size_t opened = 0;
  for (const auto& e : replayed.transcript)
    opened += e.what == results::transcript_event::kind::note && e.bytes.rfind("connected to ", 0) == 0;
  if (opened == case_.connections.size()) return {};
  return "the client opened " + std::to_string(opened) + " connection" + (opened == 1 ? "" : "s") +
         "; the recording has " + std::to_string(case_.connections.size());
}

}  // namespace smtpspec::harness::replay
