// Grouping findings into distinct defects; see defects.hpp.
#include "smtpspec/results/defects.hpp"

#include <algorithm>
#include <map>

namespace smtpspec::results {
namespace {

/// "4.1.1" and "4.1.1.9": one section is the other or holds it.
bool related_section(const rfc_ref& a, const rfc_ref& b) {
  if (a.rfc != b.rfc) return false;
  const std::string& x = a.section.size() <= b.section.size() ? a.section : b.section;
  const std::string& y = a.section.size() <= b.section.size() ? b.section : a.section;
  return y.compare(0, x.size(), x) == 0 && (y.size() == x.size() || y[x.size()] == '.');
}

/// Lower is a better owner (see defects.hpp); 3 for any case that saw it.
int ownership(const case_result& c, const case_finding& f) {
  if (!c.rfc.empty() && related_section(c.rfc.front(), f.cite)) return 0;
  if (std::any_of(c.rfc.begin(), c.rfc.end(), [&](const rfc_ref& r) { return related_section(r, f.cite); })) return 1;
  if (f.security && std::find(c.tags.begin(), c.tags.end(), "security") != c.tags.end()) return 2;
  return 3;
}

}  // namespace

std::string defect_key(const case_finding& f) {
  std::string key = std::to_string(f.cite.rfc) + ' ' + f.cite.section + '\n';
  key += f.rule.empty() ? f.text : f.rule;
  key += '\n';
  key += f.observation;
  return key;
}

std::vector<defect> assign_defects(std::vector<case_result>& cases, bool strict) {
  struct group {
    defect d;
    int best = 4;
    std::size_t order = 0;  // first seen
  };
  std::map<std::string, group> groups;
  std::size_t seen = 0;
  for (auto& c : cases)
    for (auto& f : c.findings) {
      f.counted = true;
      f.owner.clear();
      if (f.strength == reference::level::may) continue;
      auto [it, fresh] = groups.try_emplace(defect_key(f));
      auto& g = it->second;
      if (fresh) {
        g.order = seen++;
        g.d.cite = f.cite;
        g.d.rule = f.rule.empty() ? f.text : f.rule;
        g.d.observation = f.observation;
        g.d.strength = f.strength;
      }
      g.d.strength = std::min(g.d.strength, f.strength);  // must < should < may
      g.d.security = g.d.security || f.security;
      if (g.d.cases.empty() || g.d.cases.back() != c.id) g.d.cases.push_back(c.id);
      if (const int o = ownership(c, f); o < g.best) {
        g.best = o;
        g.d.owner = c.id;
        g.d.text = f.text;
      }
    }
  for (auto& c : cases) {
    for (auto& f : c.findings) {
      if (f.strength == reference::level::may) continue;
      const auto& owner = groups.at(defect_key(f)).d.owner;
      if (owner != c.id) {
        f.counted = false;
        f.owner = owner;
      }
    }
    decide_verdict(c, strict);
  }
  std::vector<group*> ordered;
  for (auto& [key, g] : groups) ordered.push_back(&g);
  std::sort(ordered.begin(), ordered.end(), [](const group* a, const group* b) {
    if (a->d.strength != b->d.strength) return a->d.strength < b->d.strength;
    if (a->d.security != b->d.security) return a->d.security;
    return a->order < b->order;
  });
  std::vector<defect> out;
  out.reserve(ordered.size());
  for (auto* g : ordered) out.push_back(std::move(g->d));
  return out;
}

}  // namespace smtpspec::results
