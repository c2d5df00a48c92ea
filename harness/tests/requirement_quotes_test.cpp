// Every case's `requirement` is the RFC's own words (issue 13), checked against the
// RFC texts kept in docs/rfc/ (docs/rfc/README.md names where each came from).
// The rule, as scenarios/FORMAT.md states it for case authors:
//   - white space does not count: line breaks, runs of spaces, the page-break footer
//     and header lines, and a line break after a hyphen ("forward-" / "path");
//   - a requirement is one fragment, or several joined by " ... ";
//   - each fragment (three words at least) occurs verbatim, the fragments in the
//     RFC's order, inside the section the case cites first (its subsections included).
// So the first citation is always where the quote stands; the others are context.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "smtpspec/harness/scenario_loader.hpp"
#include "smtpspec/reference/text.hpp"

namespace smtpspec::harness {
namespace {

using results::rfc_ref;

const std::string rfc_dir = std::string(SMTPSPEC_SOURCE_DIR) + "/docs/rfc";

bool is_blank(std::string_view line) {
  return line.find_first_not_of(" \t\r") == std::string_view::npos;
}

/// "Klensin                     Standards Track                   [Page 12]": the page number.
std::optional<unsigned> page_footer_number(std::string_view line) {
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
  const auto open = line.rfind("[Page ");
  if (open == std::string_view::npos || line.empty() || line.back() != ']' || line.front() == ' ') return std::nullopt;
  unsigned n = 0;
  for (char ch : line.substr(open + 6, line.size() - open - 7)) {
    if (!std::isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
    n = n * 10 + static_cast<unsigned>(ch - '0');
  }
  return n;
}

/// The section number of a heading line ("4.1.1.4.  DATA (DATA)", "4.2 Result of ...",
/// "Appendix D.  Scenarios", "D.1.  A Typical ..."), or nothing. Headings start in
/// column 0; body text, the table of contents and examples are indented.
std::optional<std::string> heading_number(std::string_view line) {
  const bool appendix = line.substr(0, 9) == "Appendix ";
  if (appendix) line.remove_prefix(9);
  std::size_t i = 0;
  if (!line.empty() && std::isupper(static_cast<unsigned char>(line[0])) && line.size() > 1 &&
      (line[1] == '.' || (appendix && line[1] == ' '))) {
    i = 1;  // an appendix letter
  } else {
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
    if (i == 0) return std::nullopt;
  }
  while (i + 1 < line.size() && line[i] == '.' && std::isdigit(static_cast<unsigned char>(line[i + 1]))) {
    ++i;
    while (i < line.size() && std::isdigit(static_cast<unsigned char>(line[i]))) ++i;
  }
  const std::size_t end = i;
  if (i < line.size() && line[i] == '.') ++i;
  if (i >= line.size() || line[i] != ' ' || is_blank(line.substr(i))) return std::nullopt;
  return std::string(line.substr(0, end));
}

/// Collapses every run of white space to one space and trims the ends.
std::string normalise_space(std::string_view s) {
  std::string out;
  bool space = false;
  for (char ch : s) {
    if (std::isspace(static_cast<unsigned char>(ch))) {
      space = !out.empty();
    } else {
      if (space) out += ' ';
      space = false;
      out += ch;
    }
  }
  return out;
}

struct span {
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// One RFC as running text: pages joined, footers and headers dropped, white space
/// normalised; with the offset of each section heading in that text.
class rfc_text {
 public:
  /// Reads docs/rfc/rfcN.txt; `problem` says why when it cannot be used.
  static std::optional<rfc_text> load(std::uint16_t number, std::string& problem) {
    const std::string path = rfc_dir + "/rfc" + std::to_string(number) + ".txt";
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      problem = "no text of RFC " + std::to_string(number) + " at " + path;
      return std::nullopt;
    }
    std::ostringstream all;
    all << in.rdbuf();
    rfc_text r;
    r.number_ = number;
    r.parse(all.str());
    return r;
  }

  std::uint16_t number() const noexcept { return number_; }
  const std::string& text() const noexcept { return text_; }
  /// Pages that end in a "[Page N]" footer numbered N (the RFC Editor's pagination).
  unsigned numbered_pages() const noexcept { return numbered_pages_; }
  unsigned pages() const noexcept { return pages_; }
  const std::string& first_page() const noexcept { return first_page_; }
  const std::vector<std::string>& page_headers() const noexcept { return page_headers_; }
  const std::vector<std::pair<std::string, std::size_t>>& headings() const noexcept { return headings_; }

  /// The text of a section with its subsections: from its heading to the next heading
  /// that is not inside it.
  std::optional<span> section(std::string_view number) const {
    for (std::size_t i = 0; i < headings_.size(); ++i) {
      if (headings_[i].first != number) continue;
      span s{headings_[i].second, text_.size()};
      for (std::size_t j = i + 1; j < headings_.size(); ++j) {
        const auto& other = headings_[j].first;
        const bool inside = other.size() > number.size() && other.compare(0, number.size(), number) == 0 &&
                            other[number.size()] == '.';
        if (!inside) {
          s.end = headings_[j].second;
          break;
        }
      }
      return s;
    }
    return std::nullopt;
  }

  /// The innermost section holding `offset` ("" before the first heading).
  std::string section_at(std::size_t offset) const {
    std::string found;
    for (const auto& [number, start] : headings_)
      if (start <= offset) found = number;
    return found;
  }

 private:
  void parse(const std::string& file) {
    std::size_t page_begin = 0;
    while (page_begin < file.size()) {
      std::size_t page_end = file.find('\f', page_begin);
      if (page_end == std::string::npos) page_end = file.size();
      add_page(std::string_view(file).substr(page_begin, page_end - page_begin));
      page_begin = page_end + 1;
    }
  }

  void add_page(std::string_view page) {
    std::vector<std::string_view> lines;
    for (std::size_t at = 0; at <= page.size();) {
      std::size_t nl = page.find('\n', at);
      if (nl == std::string_view::npos) nl = page.size();
      lines.push_back(page.substr(at, nl - at));
      at = nl + 1;
    }
    std::size_t first = 0;
    std::size_t last = lines.size();
    while (first < last && is_blank(lines[first])) ++first;
    while (last > first && is_blank(lines[last - 1])) --last;
    if (first == last) return;  // the empty tail after the last form feed
    ++pages_;
    if (pages_ == 1) {
      for (std::size_t i = first; i < last; ++i) (first_page_ += lines[i]) += '\n';
    } else if (lines[first].substr(0, 4) == "RFC ") {
      page_headers_.emplace_back(lines[first]);  // "RFC 5321   SMTP   October 2008"
      ++first;
    }
    if (const auto n = page_footer_number(lines[last - 1])) {
      if (*n == pages_) ++numbered_pages_;
      --last;
    }
    for (std::size_t i = first; i < last; ++i) add_line(lines[i]);
  }

  void add_line(std::string_view line) {
    const std::string words = normalise_space(line);
    if (words.empty()) return;
    // The RFC Editor breaks lines only at spaces and after hyphens, never inside a
    // word: a line that ends in "letter-" goes on without a space ("forward-path").
    const bool after_hyphen = text_.size() >= 2 && text_.back() == '-' &&
                              std::isalnum(static_cast<unsigned char>(text_[text_.size() - 2]));
    if (!text_.empty() && !after_hyphen) text_ += ' ';
    if (const auto h = heading_number(line)) headings_.emplace_back(*h, text_.size());
    text_ += words;
  }

  std::uint16_t number_ = 0;
  std::string text_;
  std::string first_page_;
  std::vector<std::string> page_headers_;
  std::vector<std::pair<std::string, std::size_t>> headings_;
  unsigned pages_ = 0;
  unsigned numbered_pages_ = 0;
};

/// docs/rfc/rfcN.txt, parsed once.
const rfc_text* rfc(std::uint16_t number, std::string& problem) {
  static std::map<std::uint16_t, std::optional<rfc_text>> cache;
  static std::map<std::uint16_t, std::string> problems;
  auto it = cache.find(number);
  if (it == cache.end()) it = cache.emplace(number, rfc_text::load(number, problems[number])).first;
  problem = problems[number];
  return it->second ? &*it->second : nullptr;
}

/// The fragments of a requirement: its text with white space normalised, cut at " ... ".
std::vector<std::string> fragments(std::string_view requirement) {
  const std::string text = normalise_space(requirement);
  static const std::string joint = " ... ";
  std::vector<std::string> out;
  std::size_t at = 0;
  for (std::size_t cut; (cut = text.find(joint, at)) != std::string::npos; at = cut + joint.size())
    out.push_back(text.substr(at, cut - at));
  out.push_back(text.substr(at));
  return out;
}

std::size_t word_count(const std::string& fragment) {
  return fragment.empty() ? 0 : static_cast<std::size_t>(std::count(fragment.begin(), fragment.end(), ' ')) + 1;
}

/// Where the fragments occur in order within `where`: the offset of the first one.
std::optional<std::size_t> find_in_order(const std::string& text, const std::vector<std::string>& parts, span where) {
  std::size_t at = where.begin;
  std::optional<std::size_t> first;
  for (const auto& part : parts) {
    const auto found = text.find(part, at);
    if (found == std::string::npos || found + part.size() > where.end) return std::nullopt;
    if (!first) first = found;
    at = found + part.size();
  }
  return first;
}

/// Checks one requirement against its citations; empty when it is the RFC's own words
/// in the section cited first, else what is wrong (and where the words stand instead).
std::string check_quote(std::string_view requirement, const std::vector<rfc_ref>& cited) {
  const auto parts = fragments(requirement);
  for (const auto& part : parts)
    if (word_count(part) < 3)
      return "fragment '" + part + "' is shorter than three words (join quoted passages with \" ... \" only)";
  if (cited.empty()) return "cites no RFC section";
  std::string problem;
  const rfc_text* main = rfc(cited.front().rfc, problem);
  if (!main) return problem;
  const auto section = main->section(cited.front().section);
  if (!section) return "RFC " + std::to_string(main->number()) + " has no section " + cited.front().section;
  if (find_in_order(main->text(), parts, *section)) return {};

  std::string out = "not the words of " + cited.front().to_string();
  // Say where the words do stand, so that the citation or the quote can be fixed.
  std::set<std::uint16_t> seen;
  for (const auto& ref : cited) {
    if (!seen.insert(ref.rfc).second) continue;
    const rfc_text* other = rfc(ref.rfc, problem);
    if (!other) continue;
    if (const auto at = find_in_order(other->text(), parts, span{0, other->text().size()})) {
      out += "; found in RFC " + std::to_string(other->number()) + " " + other->section_at(*at);
      return out;
    }
  }
  for (const auto& part : parts) {
    bool anywhere = false;
    for (const auto number : seen)
      if (const rfc_text* other = rfc(number, problem); other && other->text().find(part) != std::string::npos)
        anywhere = true;
    if (!anywhere) return out + "; no cited RFC has '" + part + "'";
  }
  return out + "; its fragments are not in the RFC's order";
}

const load_result& all_scenarios() {
  static const load_result loaded = load_scenarios(std::string(SMTPSPEC_SOURCE_DIR) + "/scenarios");
  return loaded;
}

void expect_quotes(bool client_role) {
  const auto& loaded = all_scenarios();
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().to_string();
  std::size_t checked = 0;
  for (const auto& s : loaded.suites) {
    if (s.client_role != client_role) continue;
    for (const auto& c : s.cases) {
      ++checked;
      const auto problem = check_quote(c.requirement, c.rfc);
      EXPECT_TRUE(problem.empty()) << c.where.to_string() << ": " << c.id << ": " << problem
                                   << "\n  requirement: " << normalise_space(c.requirement);
    }
  }
  EXPECT_GE(checked, client_role ? 30u : 200u);
}

TEST(RequirementQuotes, EveryTextIsTheRfcAsPaginatedByTheRfcEditor) {
  std::size_t texts = 0;
  for (const auto& entry : std::filesystem::directory_iterator(rfc_dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".txt") continue;
    ++texts;
    ASSERT_EQ(name.substr(0, 3), "rfc") << name;
    const auto number = static_cast<std::uint16_t>(std::stoul(name.substr(3)));
    std::string problem;
    const rfc_text* r = rfc(number, problem);
    ASSERT_NE(r, nullptr) << problem;
    // The first page names the RFC ("Request for Comments: 5321", "Request For
    // Comments: 1870", "Request for Comments: RFC 2034").
    const std::string first = smtpspec::reference::to_lower(r->first_page());
    const auto rfc_line = first.find("request for comments:");
    ASSERT_NE(rfc_line, std::string::npos) << name;
    EXPECT_NE(first.substr(rfc_line, first.find('\n', rfc_line) - rfc_line).find(std::to_string(number)),
              std::string::npos)
        << name;
    EXPECT_GE(r->pages(), 5u) << name;
    EXPECT_EQ(r->numbered_pages(), r->pages()) << name << ": every page ends with its [Page N] footer";
    EXPECT_EQ(r->page_headers().size(), r->pages() - 1) << name;
    for (const auto& h : r->page_headers())
      EXPECT_EQ(h.substr(0, 4 + std::to_string(number).size()), "RFC " + std::to_string(number)) << name << ": " << h;
    std::set<std::string> numbers;
    for (const auto& [n, at] : r->headings()) EXPECT_TRUE(numbers.insert(n).second) << name << ": heading " << n << " twice";
    EXPECT_TRUE(numbers.count("1")) << name;
  }
  EXPECT_GE(texts, 11u);
}

TEST(RequirementQuotes, EveryCitedSectionIsInTheRfcTexts) {
  const auto& loaded = all_scenarios();
  ASSERT_TRUE(loaded.ok());
  for (const auto& s : loaded.suites)
    for (const auto& c : s.cases)
      for (const auto& ref : c.rfc) {
        std::string problem;
        const rfc_text* r = rfc(ref.rfc, problem);
        if (!r) {
          ADD_FAILURE() << c.where.to_string() << ": " << c.id << ": " << problem;
          continue;
        }
        EXPECT_TRUE(r->section(ref.section)) << c.where.to_string() << ": " << c.id << ": RFC " << ref.rfc
                                             << " has no section " << ref.section;
      }
}

TEST(RequirementQuotes, ServerCasesQuoteTheSectionTheyCiteFirst) { expect_quotes(false); }

TEST(RequirementQuotes, ClientCasesQuoteTheSectionTheyCiteFirst) { expect_quotes(true); }

// The check itself, on RFC 5321's text: it must accept the RFC's words however the
// RFC Editor laid them out, and reject anything else.
rfc_ref ref(std::uint16_t number, std::string section) { return rfc_ref{number, std::move(section)}; }

TEST(RequirementQuotes, AcceptsTheWordsAcrossLineBreaksHyphensAndPageBreaks) {
  // 4.1.1.6: "the forward-" ends a line; the sentence goes on "path buffer".
  EXPECT_EQ(check_quote("This command has no effect on the reverse-path buffer, the forward-path buffer, or the mail data buffer.",
                        {ref(5321, "4.1.1.6")}),
            "");
  // 4.1.1.4: the sentence runs on over the footer of page 36 and the header of page 37.
  EXPECT_EQ(check_quote("The only exception to this rule would arise if the message body were passed to the originating "
                        "SMTP-sender with a final \"line\" that did not end in <CRLF>;",
                        {ref(5321, "4.1.1.4")}),
            "");
  std::string problem;
  const rfc_text* r = rfc(5321, problem);
  ASSERT_NE(r, nullptr) << problem;
  EXPECT_EQ(r->text().find("[Page "), std::string::npos);
  EXPECT_EQ(r->text().find("RFC 5321 SMTP October 2008"), std::string::npos);
  // A quote in a subsection counts for its parent section.
  EXPECT_EQ(check_quote("The QUIT command may be issued at any time.", {ref(5321, "4.1.1")}), "");
  // Two passages of 3.3 joined by " ... ", in the RFC's order.
  EXPECT_EQ(check_quote("If the verb is initially accepted and the 354 reply issued, the DATA command should fail only if "
                        "the mail transaction was incomplete ... or if the server determines that the message should be "
                        "rejected for policy or other reasons.",
                        {ref(5321, "3.3")}),
            "");
}

// RFC 5321 4.1.1.10, word for word.
const std::string quit_sentence =
    "This command specifies that the receiver MUST send a \"221 OK\" reply, and then close the transmission channel.";

TEST(RequirementQuotes, RejectsAParaphrase) {
  const std::vector<rfc_ref> quit{ref(5321, "4.1.1.10")};
  EXPECT_EQ(check_quote(quit_sentence, quit), "");
  const auto problem = check_quote("The receiver MUST send a 221 reply and then close the transmission channel.", quit);
  EXPECT_NE(problem.find("not the words of RFC 5321 4.1.1.10"), std::string::npos) << problem;
  // One word changed: "SHOULD" for "MUST".
  EXPECT_NE(check_quote("This command specifies that the receiver SHOULD send a \"221 OK\" reply, and then close the "
                        "transmission channel.",
                        quit),
            "");
  // A sentence of our own after the RFC's.
  EXPECT_NE(check_quote(quit_sentence + " It must not wait.", quit), "");
}

TEST(RequirementQuotes, RejectsSplicesOtherThanEllipsisFragmentsInOrder) {
  const std::vector<rfc_ref> quit{ref(5321, "4.1.1.10")};
  EXPECT_NE(check_quote("This command specifies that the receiver MUST send [...] reply, and then close the transmission "
                        "channel.",
                        quit),
            "");
  // Both fragments are the RFC's, but in the wrong order.
  const auto swapped = check_quote(
      "and then close the transmission channel ... This command specifies that the receiver MUST send a \"221 OK\" reply,",
      quit);
  EXPECT_NE(swapped.find("not in the RFC's order"), std::string::npos) << swapped;
  // Fragments of fewer than three words could make a sentence of our own.
  const auto short_fragment = check_quote("This command ... close the transmission channel.", quit);
  EXPECT_NE(short_fragment.find("shorter than three words"), std::string::npos) << short_fragment;
}

TEST(RequirementQuotes, RejectsAQuoteFromAnotherSectionThanTheFirstCited) {
  // The sentence is RFC 5321 3.1's (the server's duty after a 554 greeting), not 4.1.1.10's.
  const std::string greeting = "A server taking this approach MUST still wait for the client to send a QUIT";
  const auto problem = check_quote(greeting, {ref(5321, "4.1.1.10"), ref(5321, "3.1")});
  EXPECT_NE(problem.find("found in RFC 5321 3.1"), std::string::npos) << problem;
  EXPECT_EQ(check_quote(greeting, {ref(5321, "3.1"), ref(5321, "4.1.1.10")}), "");
  // Another RFC than the one cited first.
  EXPECT_NE(check_quote("The STARTTLS keyword is used to tell the SMTP client that the SMTP server is currently able to "
                        "negotiate the use of TLS.",
                        {ref(5321, "2.2.1"), ref(3207, "3")}),
            "");
  EXPECT_NE(check_quote("The QUIT command may be issued at any time.", {ref(5321, "4.1.1.9")}), "");
}

TEST(RequirementQuotes, FindsHeadingsAndSectionsOfEveryStyle) {
  EXPECT_EQ(heading_number("4.1.1.4.  DATA (DATA)"), "4.1.1.4");
  EXPECT_EQ(heading_number("4.2 Result of the STARTTLS Command"), "4.2");
  EXPECT_EQ(heading_number("3.  Framework for the Size Declaration Extension"), "3");
  EXPECT_EQ(heading_number("Appendix D.  Scenarios"), "D");
  EXPECT_EQ(heading_number("Appendix A - Changes from RFC 1830"), "A");
  EXPECT_EQ(heading_number("D.1.  A Typical SMTP Transaction Scenario"), "D.1");
  EXPECT_EQ(heading_number("   4.1.1.4.  DATA (DATA) ........................................  33"), std::nullopt);
  EXPECT_EQ(heading_number("Status of This Memo"), std::nullopt);
  EXPECT_EQ(heading_number("A SMTP client"), std::nullopt);
  EXPECT_EQ(heading_number("2011"), std::nullopt);
  EXPECT_EQ(page_footer_number("Klensin                     Standards Track                    [Page 34]"), 34u);
  EXPECT_EQ(page_footer_number("   see [Page 3]"), std::nullopt);
  std::string problem;
  const rfc_text* r = rfc(5321, problem);
  ASSERT_NE(r, nullptr) << problem;
  const auto data = r->section("4.1.1.4");
  const auto rset = r->section("4.1.1.5");
  const auto commands = r->section("4.1.1");
  ASSERT_TRUE(data && rset && commands);
  EXPECT_EQ(data->end, rset->begin);
  EXPECT_LT(commands->begin, data->begin);
  EXPECT_GT(commands->end, r->section("4.1.1.11")->begin);
  EXPECT_EQ(commands->end, r->section("4.1.2")->begin);
  EXPECT_EQ(r->text().substr(data->begin, 24), "4.1.1.4. DATA (DATA) The");
  EXPECT_FALSE(r->section("4.1.1.99"));
}

}  // namespace
}  // namespace smtpspec::harness
