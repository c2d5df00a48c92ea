// The pieces the HTML report is assembled from (internal to reports/). Each
// html_*.cpp file renders one part; all text goes through html::escape().
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "html_escape.hpp"
#include "smtpspec/reports/html_report.hpp"
#include "smtpspec/results/run_result.hpp"

namespace smtpspec::reports::html {

// --- html_assets.cpp: the stylesheet and the one inline script -------------------
std::string_view stylesheet() noexcept;
std::string_view script() noexcept;

// --- html_page.cpp: the document shell --------------------------------------------
/// "sha256-<base64>" of script(), as the CSP script-src source expression wants it.
std::string script_hash();
/// The policy of the page's <meta http-equiv="Content-Security-Policy">.
std::string content_security_policy();
/// <!doctype html> … <body>: charset, CSP, referrer policy, title, stylesheet.
void page_begin(std::string& out, std::string_view title);
/// The inline script and the closing tags.
void page_end(std::string& out);

// --- html_format.cpp: small shared renderings -------------------------------------
/// Fragment id of a case's <details> ("case-" + id, characters outside
/// [A-Za-z0-9._-] replaced): stable across runs, usable as report.html#case-ID.
std::string case_anchor(std::string_view id);
/// <span class="v FAIL">FAIL</span>
void verdict_badge(std::string& out, results::verdict v);
/// <a href="https://www.rfc-editor.org/rfc/rfcNNNN#section-X.Y">RFC NNNN X.Y</a>
void cite_link(std::string& out, const results::rfc_ref& r);
/// <a href="#case-ID"><code>ID</code></a>, or only the <code> when the case is not
/// on the page (`linked` false): a link must not lead nowhere.
void case_link(std::string& out, std::string_view id, bool linked, const html_options& opt);
/// Microseconds as milliseconds with three decimals: "12.345".
std::string format_ms(std::chrono::microseconds us);
/// "97.3%" of num/den, "–" when den is 0.
std::string percent(std::size_t num, std::size_t den);
/// A case is listed among the security findings when a finding it counts says so,
/// or when it failed and is tagged "security" (design.md: security findings are
/// FAIL with tag security). A security defect noted in other cases is listed once,
/// in the case it counts in.
bool security_case(const results::case_result& c);
constexpr results::verdict all_verdicts[] = {results::verdict::pass, results::verdict::fail, results::verdict::warn,
                                             results::verdict::skip, results::verdict::error};

/// Verdict counts of a set of cases (one row of a pass-rate table).
struct tally {
  std::size_t by[5] = {};
  std::size_t total = 0;
  void add(results::verdict v) { ++by[static_cast<int>(v)], ++total; }
  std::size_t operator[](results::verdict v) const { return by[static_cast<int>(v)]; }
  /// Cases that ran to a verdict on the server (not SKIP): the pass-rate denominator.
  std::size_t ran() const { return total - (*this)[results::verdict::skip]; }
};

// --- html_filters.cpp: the filter bar (hidden until the script shows it) ----------
struct filter_choices {
  std::vector<std::string> tags;  ///< sorted, distinct
  std::vector<std::string> rfcs;  ///< RFC numbers, sorted numerically
  bool matrix = false;            ///< adds "only rows that differ"
};
void render_filter_bar(std::string& out, const filter_choices& f, std::size_t items);

// --- html_transcript.cpp -----------------------------------------------------------
/// How much transcript the page may still show: each case up to per_case octets,
/// while the report's total lasts; once it is spent each case still shows floor.
struct transcript_budget {
  std::size_t per_case = 256 * 1024;
  std::size_t total_left = 8 * 1024 * 1024;
  std::size_t floor = 4 * 1024;
  /// Octets this case may show now.
  std::size_t allowance() const { return std::max(std::min(per_case, total_left), std::min(per_case, floor)); }
  void spend(std::size_t n) { total_left -= std::min(total_left, n); }
};
/// Bookkeeping octets charged per event, so that a peer trickling one octet per
/// segment cannot make the page grow without bound.
inline constexpr std::size_t event_cost = 16;
void render_transcript(std::string& out, const results::case_result& c, transcript_budget& budget);

// --- html_case.cpp -----------------------------------------------------------------
void render_case(std::string& out, const results::case_result& c, const html_options& opt, transcript_budget& budget);

// --- html_summary.cpp: the static top of the single-run report ---------------------
void render_header(std::string& out, const results::run_result& run, const html_options& opt);
void render_counts(std::string& out, const results::run_result& run);
void render_security(std::string& out, const results::run_result& run, const html_options& opt);
void render_rates(std::string& out, const results::run_result& run);

// --- html_defects.cpp: the distinct defects (results/defects.hpp) -----------------
/// The defect tiles beside the verdict counts (inside the summary section).
void render_defect_counts(std::string& out, const results::run_result& run);
/// The "Distinct defects" section: each defect with its level, citation, example
/// text, the case it counts in and the other cases it was seen in.
void render_defects(std::string& out, const results::run_result& run, const html_options& opt);

// --- html_diff.cpp: the baseline comparison ----------------------------------------
void render_diff(std::string& out, const baseline_diff& diff, const results::run_result& run,
                 const html_options& opt);

}  // namespace smtpspec::reports::html
