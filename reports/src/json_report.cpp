// The JSON report writer and reader; see json_report.hpp.
#include "smtpspec/reports/json_report.hpp"

#include <nlohmann/json.hpp>

#include "smtpspec/reference/text.hpp"

namespace smtpspec::reports {
namespace {

using nlohmann::json;
namespace ref = smtpspec::reference;

/// Untrusted text in a field that is not a transcript: invalid UTF-8 becomes U+FFFD.
std::string clean(std::string_view s) {
  if (ref::is_utf8(s)) return std::string(s);
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x80) out += static_cast<char>(c);
    else out += "\xEF\xBF\xBD";
  }
  return out;
}

json cite(const results::rfc_ref& r) {
  return {{"rfc", r.rfc}, {"section", r.section}, {"text", r.to_string()}, {"url", r.url()}};
}

const char* event_name(results::transcript_event::kind k) {
  switch (k) {
    case results::transcript_event::kind::client_bytes: return "client";
    case results::transcript_event::kind::server_bytes: return "server";
    case results::transcript_event::kind::tls_started: return "tls";
    case results::transcript_event::kind::closed: return "closed";
    case results::transcript_event::kind::note: return "note";
  }
  return "note";
}

json event(const results::transcript_event& e) {
  json j{{"kind", event_name(e.what)}, {"at_us", e.at.count()}};
  if (ref::is_utf8(e.bytes)) j["bytes"] = e.bytes;
  else j["base64"] = ref::base64_encode(e.bytes);
  return j;
}

json case_json(const results::case_result& c) {
  json rfc = json::array();
  for (const auto& r : c.rfc) rfc.push_back(cite(r));
  json findings = json::array();
  for (const auto& f : c.findings)
    findings.push_back({{"level", ref::to_string(f.strength)},
                        {"rfc", cite(f.cite)},
                        {"text", clean(f.text)},
                        {"expected", clean(f.expected)},
                        {"observed", clean(f.observed)},
                        {"step", f.step},
                        {"security", f.security},
                        {"rule", clean(f.rule)},
                        {"observation", clean(f.observation)},
                        {"counted", f.counted},
                        {"owner", f.owner}});
  json transcript = json::array();
  for (const auto& e : c.transcript) transcript.push_back(event(e));
  return {{"id", c.id},
          {"suite", c.suite},
          {"title", c.title},
          {"requirement", c.requirement},
          {"rfc", rfc},
          {"level", ref::to_string(c.level)},
          {"tags", c.tags},
          {"verdict", results::to_string(c.outcome)},
          {"reason", clean(c.reason)},
          {"error", clean(c.error)},
          {"inconclusive", clean(c.inconclusive)},
          {"findings", findings},
          {"duration_us", c.duration.count()},
          {"tls", results::to_string(c.tls)},
          {"source", c.source},
          {"transcript", transcript},
          {"transcript_truncated", c.transcript_truncated}};
}

std::vector<std::string> clean_all(const std::vector<std::string>& v) {
  std::vector<std::string> out;
  for (const auto& s : v) out.push_back(clean(s));
  return out;
}

}  // namespace

std::string to_json(const results::run_result& run, int indent) {
  json cases = json::array();
  for (const auto& c : run.cases) cases.push_back(case_json(c));
  json defects = json::array();
  for (const auto& d : run.defects)
    defects.push_back({{"level", ref::to_string(d.strength)},
                       {"rfc", cite(d.cite)},
                       {"rule", clean(d.rule)},
                       {"observation", clean(d.observation)},
                       {"text", clean(d.text)},
                       {"security", d.security},
                       {"owner", d.owner},
                       {"cases", d.cases}});
  json counts = json::object();
  for (auto v : {results::verdict::pass, results::verdict::fail, results::verdict::warn, results::verdict::skip, results::verdict::error})
    counts[std::string(results::to_string(v))] = run.count(v);
  json doc{
      {"format", "smtpspec-report"},
      {"format_version", json_format_version},
      {"tool", {{"name", "smtpspec"}, {"version", run.tool_version}}},
      {"target",
       {{"role", run.target.role},
        {"address", run.target.address},
        {"embedded", run.target.embedded},
        {"tls", results::to_string(run.target.tls)},
        {"banner", clean(run.target.banner)},
        {"extensions", clean_all(run.target.extensions)},
        {"tls_extensions", clean_all(run.target.tls_extensions)},
        {"tls_description", clean(run.target.tls_description)},
        {"tls_problem", clean(run.target.tls_problem)}}},
      {"options",
       {{"strict", run.options.strict},
        {"jobs", run.options.jobs},
        {"reply_timeout_ms", run.options.reply_timeout.count()},
        {"case_timeout_ms", run.options.case_timeout.count()},
        {"suites", run.options.suites},
        {"filters", run.options.filters}}},
      {"started_at", run.started_at},
      {"finished_at", run.finished_at},
      {"duration_us", run.duration.count()},
      {"counts", counts},
      {"distinct_defects", defects.size()},
      {"defects", defects},
      {"exit_code", run.exit_code()},
      {"cases", cases},
  };
  return doc.dump(indent, ' ', false, json::error_handler_t::replace);
}

namespace {

results::rfc_ref read_cite(const json& j) {
  return {j.at("rfc").get<std::uint16_t>(), j.at("section").get<std::string>()};
}

ref::level read_level(const std::string& s) {
  return s == "SHOULD" ? ref::level::should : s == "MAY" ? ref::level::may : ref::level::must;
}

results::verdict read_verdict(const std::string& s) {
  for (auto v : {results::verdict::pass, results::verdict::fail, results::verdict::warn, results::verdict::skip, results::verdict::error})
    if (results::to_string(v) == s) return v;
  throw std::runtime_error("unknown verdict '" + s + "'");
}

results::tls_mode read_tls(const std::string& s) {
  for (auto m : {results::tls_mode::none, results::tls_mode::starttls, results::tls_mode::implicit})
    if (results::to_string(m) == s) return m;
  return results::tls_mode::none;
}

results::transcript_event::kind read_kind(const std::string& s) {
  using k = results::transcript_event::kind;
  if (s == "client") return k::client_bytes;
  if (s == "server") return k::server_bytes;
  if (s == "tls") return k::tls_started;
  if (s == "closed") return k::closed;
  return k::note;
}

}  // namespace

bool from_json(const std::string& text, results::run_result& out, std::string& error) {
  try {
    auto doc = json::parse(text);
    if (doc.value("format", "") != "smtpspec-report") {
      error = "not an smtpspec JSON report (no \"format\": \"smtpspec-report\")";
      return false;
    }
    out = {};
    out.tool_version = doc.at("tool").at("version").get<std::string>();
    const auto& t = doc.at("target");
    out.target.address = t.at("address").get<std::string>();
    out.target.role = t.value("role", "server");
    out.target.embedded = t.value("embedded", false);
    out.target.tls = read_tls(t.value("tls", "none"));
    out.target.banner = t.value("banner", "");
    out.target.extensions = t.value("extensions", std::vector<std::string>{});
    out.target.tls_extensions = t.value("tls_extensions", std::vector<std::string>{});
    out.target.tls_description = t.value("tls_description", "");
    out.target.tls_problem = t.value("tls_problem", "");
    const auto& o = doc.at("options");
    out.options.strict = o.value("strict", false);
    out.options.jobs = o.value("jobs", 1u);
    out.options.reply_timeout = std::chrono::milliseconds(o.value("reply_timeout_ms", 0LL));
    out.options.case_timeout = std::chrono::milliseconds(o.value("case_timeout_ms", 0LL));
    out.options.suites = o.value("suites", std::vector<std::string>{});
    out.options.filters = o.value("filters", std::vector<std::string>{});
    out.started_at = doc.value("started_at", "");
    out.finished_at = doc.value("finished_at", "");
    out.duration = std::chrono::microseconds(doc.value("duration_us", 0LL));
    for (const auto& c : doc.at("cases")) {
      results::case_result r;
      r.id = c.at("id").get<std::string>();
      r.suite = c.value("suite", "");
      r.title = c.value("title", "");
      r.requirement = c.value("requirement", "");
      for (const auto& x : c.at("rfc")) r.rfc.push_back(read_cite(x));
      r.level = read_level(c.value("level", "MUST"));
      r.tags = c.value("tags", std::vector<std::string>{});
      r.outcome = read_verdict(c.at("verdict").get<std::string>());
      r.reason = c.value("reason", "");
      r.error = c.value("error", "");
      r.inconclusive = c.value("inconclusive", "");
      for (const auto& f : c.value("findings", json::array())) {
        results::case_finding x{read_level(f.value("level", "MUST")), read_cite(f.at("rfc")), f.value("text", ""),
                                f.value("expected", ""), f.value("observed", ""), f.value("step", -1),
                                f.value("security", false)};
        x.rule = f.value("rule", "");
        x.observation = f.value("observation", "");
        x.counted = f.value("counted", true);
        x.owner = f.value("owner", "");
        r.findings.push_back(std::move(x));
      }
      r.duration = std::chrono::microseconds(c.value("duration_us", 0LL));
      r.tls = read_tls(c.value("tls", "none"));
      r.source = c.value("source", "");
      for (const auto& e : c.value("transcript", json::array())) {
        results::transcript_event ev;
        ev.what = read_kind(e.value("kind", "note"));
        ev.at = std::chrono::microseconds(e.value("at_us", 0LL));
        if (e.contains("base64")) {
          auto bytes = ref::base64_decode(e.at("base64").get<std::string>());
          if (!bytes) throw std::runtime_error("bad base64 in transcript");
          ev.bytes = std::move(*bytes);
        } else {
          ev.bytes = e.value("bytes", "");
        }
        r.transcript.push_back(std::move(ev));
      }
      r.transcript_truncated = c.value("transcript_truncated", false);
      out.cases.push_back(std::move(r));
    }
    for (const auto& d : doc.value("defects", json::array())) {
      results::defect x;
      x.strength = read_level(d.value("level", "MUST"));
      x.cite = read_cite(d.at("rfc"));
      x.rule = d.value("rule", "");
      x.observation = d.value("observation", "");
      x.text = d.value("text", "");
      x.security = d.value("security", false);
      x.owner = d.value("owner", "");
      x.cases = d.value("cases", std::vector<std::string>{});
      out.defects.push_back(std::move(x));
    }
    return true;
  } catch (const std::exception& e) {
    error = std::string("malformed report: ") + e.what();
    return false;
  }
}

}  // namespace smtpspec::reports
