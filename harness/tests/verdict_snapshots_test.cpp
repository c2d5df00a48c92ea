// Verdict snapshots (docs/verdict-snapshots.md): every recorded case of every lab
// server, both runs, is replayed through the current runner and model against a
// replay peer (replay_peer.hpp), the run's distinct defects are assigned, and the
// verdicts and defects are compared with the committed table
// harness/tests/data/snapshots/<server>/{verdicts,defects}.tsv. A change of
// verdict on a real server then shows in the diff of the commit that caused it.
// No lab, network namespace or root is needed: only loopback.
//
// SMTPSPEC_UPDATE_SNAPSHOTS=1 writes the tables instead of comparing
// (ci/snapshot-verdicts.sh update-table).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "replay_peer.hpp"
#include "smtpspec/harness/runner.hpp"
#include "smtpspec/harness/scenario_loader.hpp"
#include "smtpspec/results/defects.hpp"
#include "smtpspec/results/visible.hpp"

namespace smtpspec::harness::replay {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

const fs::path k_snapshots = fs::path(SMTPSPEC_SOURCE_DIR) / "harness/tests/data/snapshots";
/// The replay answers at once; this deadline only runs out where the recording
/// shows silence (the peer holds), so its length never decides a verdict. It does
/// appear in the text of a "no reply within" finding, hence fixed here.
constexpr milliseconds k_reply_timeout{2000};
/// Cases replayed at once: they mostly wait (settle, expect-none and wait steps).
constexpr unsigned k_threads = 24;

const load_result& builtin() {
  static const load_result loaded = load_scenarios(std::string(SMTPSPEC_SOURCE_DIR) + "/scenarios");
  return loaded;
}

std::string replace_all(std::string text, const std::string& what, const std::string& with) {
  if (what.empty()) return text;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + with.size()))
    text.replace(pos, what.size(), with);
  return text;
}

/// The recorded message, as the lab's mail directory held it, under the live nonce.
class recorded_delivery final : public delivery_probe {
 public:
  recorded_delivery(const recorded_case& c, const replay_peer& p) : case_(c), peer_(p) {}
  std::optional<std::string> find(const std::string& marker) const override {
    if (!case_.delivered || marker.empty() || marker != peer_.live_nonce()) return std::nullopt;
    return replace_all(*case_.delivered, "{nonce}", marker);
  }
  std::string describe() const override { return "the recorded mail directory"; }
  bool normalises_line_endings() const override { return true; }  // the lab ran with --maildir

 private:
  const recorded_case& case_;
  const replay_peer& peer_;
};

struct outcome {
  std::string id;
  std::optional<results::case_result> result;
  std::string remark;  ///< why the case was not replayed, or how the replay left the recording
  std::string nonce;   ///< the live nonce, written "{nonce}" in the table
  bool same_as_recorded = true;
};

outcome replay_case(const recorded_run& run, const recorded_case& rc, const scenario_case& c, const target_probe& t) {
  outcome o{rc.id, std::nullopt, {}, {}, true};
  replay_peer peer(rc);
  recorded_delivery delivery(rc, peer);
  run_settings s;
  s.target = peer.address();
  s.tls = run.tls;
  s.tls_options.insecure = true;
  s.strict = run.strict;
  s.to = run.to;
  s.to2 = run.to2;
  s.reply_timeout = k_reply_timeout;
  s.delivery_wait = milliseconds(0);  // the recorded message is there or not at once
  s.probe = &delivery;
  o.result = run_cases({&c}, s, t).front();
  peer.stop();
  o.nonce = peer.live_nonce();
  o.remark = peer.divergence(*o.result);
  if (!o.remark.empty()) o.remark = "replay left the recording: " + o.remark;
  return o;
}

struct replayed_run {
  std::vector<outcome> cases;
  std::vector<results::defect> defects;
  std::map<std::string, std::string> nonce_of;
};

replayed_run replay(const recorded_run& run) {
  std::map<std::string, const scenario_case*> by_id;
  for (const auto& suite : builtin().suites)
    for (const auto& c : suite.cases) by_id[c.id] = &c;

  target_probe t;
  t.reachable = true;
  t.info = run.target;
  t.ehlo_readable = run.ehlo_readable;

  replayed_run out;
  out.cases.resize(run.cases.size());
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < run.cases.size();) {
      const auto& rc = run.cases[i];
      auto it = by_id.find(rc.id);
      if (it == by_id.end()) out.cases[i] = {rc.id, std::nullopt, "no longer in the suite", {}, true};
      else if (rc.truncated) out.cases[i] = {rc.id, std::nullopt, "not replayable: the report cut its transcript", {}, true};
      else out.cases[i] = replay_case(run, rc, *it->second, t);
    }
  };
  std::vector<std::thread> threads;
  for (unsigned k = 0; k < k_threads; ++k) threads.emplace_back(worker);
  for (auto& th : threads) th.join();

  // Cases the suite has now and the recording lacks.
  std::set<std::string> recorded;
  for (const auto& rc : run.cases) recorded.insert(rc.id);
  for (const auto& [id, c] : by_id)
    if (!c->client && !recorded.count(id)) out.cases.push_back({id, std::nullopt, "not recorded", {}, true});

  // The distinct defects, over the replayed cases in the recorded (run) order.
  std::vector<results::case_result> results;
  for (const auto& o : out.cases)
    if (o.result) results.push_back(*o.result);
  out.defects = results::assign_defects(results, run.strict);
  std::size_t k = 0;
  for (std::size_t i = 0; i < out.cases.size(); ++i) {
    auto& o = out.cases[i];
    if (!o.result) continue;
    o.result = std::move(results[k++]);
    o.same_as_recorded = i < run.cases.size() && run.cases[i].recorded == results::to_string(o.result->outcome);
  }
  for (const auto& o : out.cases) out.nonce_of[o.id] = o.nonce;
  return out;
}

/// One line, no tabs, no nonce: what the tables show of a text.
std::string cell(const std::string& text, const std::string& nonce) {
  return results::visible(nonce.empty() ? text : replace_all(text, nonce, "{nonce}"));
}

std::string defect_label(const results::case_finding& f, const std::string& nonce) {
  std::string s = std::string(reference::to_string(f.strength)) + " " + f.cite.to_string() + ": " +
                  cell(f.rule.empty() ? f.text : f.rule, nonce);
  if (!f.observation.empty()) s += " [" + cell(f.observation, nonce) + "]";
  return s;
}

/// The row of one case: id, verdict, then each defect that counts in it (one per
/// column, sorted: which of two replies a replay reads first may change the order in
/// which findings are made, never the verdict or the set), then the replay's remark.
std::string row_body(const outcome& o) {
  std::string s = o.result ? std::string(results::to_string(o.result->outcome)) : std::string("-");
  if (o.result) {
    std::vector<std::string> labels;
    for (const auto& f : o.result->findings)
      if (f.counted && f.strength != reference::level::may) labels.push_back(defect_label(f, o.nonce));
    std::sort(labels.begin(), labels.end());
    for (const auto& l : labels) s += "\t" + l;
  }
  if (!o.remark.empty()) s += "\t" + cell(o.remark, o.nonce);
  return s;
}

struct tables {
  std::string verdicts, defects;
  std::vector<std::string> unlike_recorded;  ///< cases whose replay differs from the lab's verdict
  std::size_t diverged = 0, cases = 0;
};

tables make_tables(const std::string& server, const std::vector<recorded_run>& runs, const std::vector<replayed_run>& replays) {
  tables t;
  std::ostringstream v, d;
  v << "# Verdict snapshot of " << server << ": the recorded lab runs";
  for (const auto& r : runs) v << " " << r.run << " (" << r.started_at << ", smtpspec " << r.tool_version << ")";
  v << " replayed through the current model.\n"
    << "# case, verdict, the defects that count in it; a row \"(run N)\" where run N differs from run "
    << runs.front().run << ".\n"
    << "# Update: ci/snapshot-verdicts.sh update-table " << server << " (docs/verdict-snapshots.md)\n";
  d << "# Distinct defects of " << server << " (results/defects.hpp), strongest first: level, citation, rule, "
       "observation, owner, cases seen in, security, runs.\n";

  // id -> the row of the first run, then the rows of later runs that differ from it.
  std::map<std::string, std::vector<std::string>> rows;
  std::vector<std::string> order;
  std::map<std::string, std::vector<int>> defects;  // line -> the runs it is in
  std::vector<std::string> defect_order;
  for (std::size_t k = 0; k < replays.size(); ++k) {
    const int run = runs[k].run;
    for (const auto& o : replays[k].cases) {
      ++t.cases;
      if (o.remark.rfind("replay left", 0) == 0) ++t.diverged;
      if (o.result && !o.same_as_recorded) t.unlike_recorded.push_back("run " + std::to_string(run) + " " + o.id);
      const std::string body = row_body(o);
      auto [it, fresh] = rows.try_emplace(o.id);
      if (fresh) order.push_back(o.id);
      if (k == 0 || fresh) it->second.push_back(o.id + (k == 0 ? "" : " (run " + std::to_string(run) + ")") + "\t" + body);
      else if (it->second.front() != o.id + "\t" + body)
        it->second.push_back(o.id + " (run " + std::to_string(run) + ")\t" + body);
    }
    for (const auto& def : replays[k].defects) {
      auto nonce = [&](const std::string& id) {
        auto it = replays[k].nonce_of.find(id);
        return it == replays[k].nonce_of.end() ? std::string() : it->second;
      };
      std::string line = std::string(reference::to_string(def.strength)) + "\t" + def.cite.to_string() + "\t" +
                         cell(def.rule, nonce(def.cases.empty() ? def.owner : def.cases.front())) + "\t" +
                         (def.observation.empty() ? "-" : cell(def.observation, nonce(def.owner))) + "\t" + def.owner +
                         "\t" + std::to_string(def.cases.size()) + (def.cases.size() == 1 ? " case" : " cases") + "\t" +
                         (def.security ? "security" : "-");
      auto [it, fresh] = defects.try_emplace(line);
      if (fresh) defect_order.push_back(line);
      it->second.push_back(run);
    }
  }
  for (const auto& id : order)
    for (const auto& line : rows[id]) v << line << "\n";
  for (const auto& line : defect_order) {
    std::string runs_text;
    for (int r : defects[line]) runs_text += (runs_text.empty() ? "run " : ",") + std::to_string(r);
    d << line << "\t" << runs_text << "\n";
  }
  t.verdicts = v.str();
  t.defects = d.str();
  return t;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool write_text(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary);
  out << text;
  return static_cast<bool>(out);
}

/// A readable difference of two tables, row by row: rows are matched by their
/// first column (`by_first_column`, the verdicts: one row per case) or whole.
std::string table_diff(const std::string& before, const std::string& after, bool by_first_column) {
  auto rows = [&](const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      out.emplace_back(by_first_column ? line.substr(0, line.find('\t')) : line, line);
    return out;
  };
  const auto a = rows(before), b = rows(after);
  std::map<std::string, std::string> in_a(a.begin(), a.end()), in_b(b.begin(), b.end());
  std::string out;
  for (const auto& [key, line] : b) {
    auto it = in_a.find(key);
    if (it == in_a.end()) out += "+ " + line + "\n";
    else if (it->second != line) out += "- " + it->second + "\n+ " + line + "\n";
  }
  for (const auto& [key, line] : a)
    if (!in_b.count(key)) out += "- " + line + "\n";
  return out;
}

std::vector<std::string> recorded_servers() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(k_snapshots, ec))
    if (e.is_directory() && fs::exists(e.path() / "run1.json")) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

class verdict_snapshot : public ::testing::Test {
 public:
  explicit verdict_snapshot(std::string server) : server_(std::move(server)) {}

  void TestBody() override {
    ASSERT_TRUE(builtin().ok()) << builtin().errors.front().to_string();
    const fs::path dir = k_snapshots / server_;
    std::vector<recorded_run> runs;
    for (int k = 1; fs::exists(dir / ("run" + std::to_string(k) + ".json")); ++k)
      runs.push_back(read_recorded_run((dir / ("run" + std::to_string(k) + ".json")).string()));
    ASSERT_FALSE(runs.empty());

    const auto started = std::chrono::steady_clock::now();
    std::vector<replayed_run> replays;
    for (const auto& r : runs) replays.push_back(replay(r));
    const auto t = make_tables(server_, runs, replays);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << server_ << ": " << t.cases << " recorded cases replayed in " << secs << " s; " << t.diverged
              << " left the recording; " << t.unlike_recorded.size() << " differ from the verdict recorded in the lab\n";

    const fs::path verdicts = dir / "verdicts.tsv", defects = dir / "defects.tsv";
    if (const char* update = std::getenv("SMTPSPEC_UPDATE_SNAPSHOTS"); update && std::string(update) == "1") {
      for (const auto& id : t.unlike_recorded) std::cout << "  unlike the lab's verdict: " << id << "\n";
      const std::string diff = table_diff(read_text(verdicts), t.verdicts, true) + table_diff(read_text(defects), t.defects, false);
      std::cout << (diff.empty() ? "  tables unchanged\n" : "  tables updated:\n" + diff);
      ASSERT_TRUE(write_text(verdicts, t.verdicts) && write_text(defects, t.defects)) << "cannot write " << dir;
      return;
    }
    // The replayed tables, for a look or a diff by hand.
    const fs::path actual = fs::path(SMTPSPEC_HARNESS_BUILD_DIR) / "snapshots" / server_;
    write_text(actual / "verdicts.tsv", t.verdicts);
    write_text(actual / "defects.tsv", t.defects);
    const std::string diff_v = table_diff(read_text(verdicts), t.verdicts, true);
    const std::string diff_d = table_diff(read_text(defects), t.defects, false);
    if (!diff_v.empty() || !diff_d.empty())
      ADD_FAILURE() << "the verdicts replayed from the recorded " << server_ << " runs differ from the committed table\n"
                    << (diff_v.empty() ? "" : "--- " + verdicts.string() + "\n" + diff_v)
                    << (diff_d.empty() ? "" : "--- " + defects.string() + "\n" + diff_d)
                    << "(the replayed tables: " << actual.string() << ")\n"
                    << "If the change is intended, update the table and commit it with the change:\n"
                    << "  ci/snapshot-verdicts.sh update-table " << server_ << "\n"
                    << (t.diverged ? "Cases that left the recording ran other steps than the lab did: re-record them "
                                     "after a lab run (ci/snapshot-verdicts.sh record " +
                                         server_ + ").\n"
                                   : "");
  }

 private:
  std::string server_;
};

/// One test per recorded server: harness.verdict_snapshots.<server> ('-' is '_':
/// gtest filters read '-' as "except").
[[maybe_unused]] const bool registered = [] {
  for (const auto& server : recorded_servers()) {
    std::string name = server;
    std::replace(name.begin(), name.end(), '-', '_');
    ::testing::RegisterTest("verdict_snapshots", name.c_str(), nullptr, nullptr, __FILE__, __LINE__,
                            [server]() -> ::testing::Test* { return new verdict_snapshot(server); });
  }
  return true;
}();

}  // namespace
}  // namespace smtpspec::harness::replay
