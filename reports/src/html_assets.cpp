// The HTML report's stylesheet and its one inline script. They are constants:
// the page's Content-Security-Policy allows exactly this script by its SHA-256
// (html_page.cpp), so any other script text, injected or not, cannot run.
#include "html_parts.hpp"

namespace smtpspec::reports::html {
namespace {

// Verdict colours: PASS green, FAIL red, WARN amber, SKIP grey, ERROR purple.
// Client octets blue, server octets brown; smtpspec's own notation (control
// pictures, ⟨ff⟩ escapes) violet on a tint so it never passes for peer text.
// A note (a finding that counts in another case) is dashed and muted, so it never
// reads like one of the findings that set the case's verdict.
constexpr std::string_view css = R"CSS(
:root{--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;--skip:#6e7781;--error:#8250df;--ink:#1f2328;--muted:#656d76;
--line:#d0d7de;--soft:#f6f8fa;--client:#0550ae;--server:#8a4600;--mono:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0 auto;max-width:1280px;padding:16px 24px 48px;font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;color:var(--ink);background:#fff}
a{color:#0969da}
code,.mono{font-family:var(--mono);font-size:12.5px}
h1{font-size:22px;margin:8px 0 4px}
h2{font-size:17px;margin:28px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:16px 0 6px}
.sub{color:var(--muted);margin:0 0 12px}
.target{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0 16px;padding:10px 14px;background:var(--soft);border:1px solid var(--line);border-radius:6px}
.target dt{color:var(--muted)}
.target dd{margin:0;min-width:0;overflow-wrap:anywhere}
.ext{display:inline-block;margin:0 4px 2px 0;padding:0 6px;border:1px solid var(--line);border-radius:10px;background:#fff;font-family:var(--mono);font-size:12px}
.v{display:inline-block;min-width:4.6em;padding:1px 6px;border-radius:4px;color:#fff;font-weight:600;font-size:12px;text-align:center;letter-spacing:.02em}
.PASS{--c:var(--pass)}.FAIL{--c:var(--fail)}.WARN{--c:var(--warn)}.SKIP{--c:var(--skip)}.ERROR{--c:var(--error)}.MISSING{--c:#eaeef2}
.v{background:var(--c)}
.v.MISSING{color:#57606a}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0;padding:0;list-style:none}
.tiles li{flex:1 1 120px;border:1px solid var(--line);border-top:4px solid var(--c,var(--ink));border-radius:6px;background:#fff}
.tiles a,.tiles .box{display:block;padding:8px 12px;color:inherit;text-decoration:none}
.tiles .n{display:block;font-size:26px;font-weight:700;color:var(--c,var(--ink))}
.tiles .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.05em}
.tiles.defects{margin-top:4px}
.tiles .d-all{--c:var(--ink)}.tiles .d-sec{--c:#a40e26}.tiles .d-MUST{--c:var(--fail)}.tiles .d-SHOULD{--c:var(--warn)}.tiles .d-MAY{--c:var(--skip)}
.bar{display:flex;height:10px;border-radius:5px;overflow:hidden;background:#eaeef2;margin:4px 0 2px}
.bar span{display:block;background:var(--c)}
.rates{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
table.t{border-collapse:collapse;width:100%;font-size:13px}
table.t th,table.t td{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
table.t th{font-weight:600;color:var(--muted);font-size:12px;background:var(--soft)}
table.t td.num,table.t th.num{text-align:right;font-variant-numeric:tabular-nums}
td.rate{min-width:150px}
td.rate .bar{height:6px}
.zero{color:#afb8c1}
.callout{border:1px solid var(--line);border-left:4px solid var(--c,var(--fail));border-radius:6px;padding:8px 12px;margin:10px 0;background:#fff}
.callout.ok{--c:var(--pass)}
.callout h2{border:0;margin:4px 0 6px;padding:0}
.callout ul{margin:0;padding-left:18px}
.callout li{margin:3px 0}
.sec{display:inline-block;padding:0 6px;border-radius:10px;background:#ffebe9;color:#a40e26;border:1px solid #ffcecb;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.arrow{color:var(--muted);padding:0 4px}
#filters{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;align-items:center;gap:8px 14px;margin:18px -8px 8px;padding:8px;background:rgba(255,255,255,.96);border-bottom:1px solid var(--line)}
#filters label{white-space:nowrap}
#filters .chk{display:inline-flex;align-items:center;gap:3px;padding:1px 8px 1px 4px;border:1px solid var(--line);border-radius:12px}
#filters input[type=search]{width:16em;padding:3px 6px;border:1px solid var(--line);border-radius:4px}
#filters select{padding:2px 4px;border:1px solid var(--line);border-radius:4px;max-width:14em}
#filters button{padding:2px 8px;border:1px solid var(--line);border-radius:4px;background:var(--soft);cursor:pointer}
#f-shown{color:var(--muted);margin-left:auto}
.note{color:var(--muted);font-style:italic}
.suite h2 .cnt{font-weight:400;font-size:13px;color:var(--muted);margin-left:8px}
details.case{border:1px solid var(--line);border-left:4px solid var(--c);border-radius:6px;margin:6px 0;background:#fff}
details.case>summary{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 10px;padding:6px 10px;cursor:pointer;list-style-position:outside}
details.case>summary::-webkit-details-marker{color:var(--muted)}
details.case[open]>summary{border-bottom:1px solid var(--line);background:var(--soft)}
summary .id{color:var(--muted)}
summary .title{flex:1 1 300px;min-width:0}
summary .meta{color:var(--muted);font-size:12px;white-space:nowrap}
.body{padding:8px 14px 12px}
blockquote.req{margin:6px 0 10px;padding:6px 12px;border-left:4px solid #8c959f;background:var(--soft);font-family:Georgia,"DejaVu Serif",serif;font-size:14px;white-space:pre-wrap;overflow-wrap:anywhere}
blockquote.req footer{margin-top:4px;font-family:system-ui,sans-serif;font-size:12px;color:var(--muted);white-space:normal}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0 10px}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;min-width:0;overflow-wrap:anywhere;white-space:pre-wrap}
.tag{display:inline-block;margin-right:4px;padding:0 6px;border-radius:10px;background:#ddf4ff;color:#0a3069;font-size:12px}
.lvl{font-weight:600;font-size:12px}
.finding,.defect{border:1px solid var(--line);border-left:4px solid var(--fc,var(--fail));border-radius:4px;margin:6px 0;padding:6px 10px}
.finding.SHOULD,.defect.SHOULD{--fc:var(--warn)}.finding.MAY,.defect.MAY{--fc:var(--skip)}
.finding .fh,.defect .fh{display:flex;flex-wrap:wrap;gap:4px 10px;align-items:baseline;font-size:12px;color:var(--muted)}
.finding p,.defect p{margin:4px 0;white-space:pre-wrap;overflow-wrap:anywhere}
.finding.noted{border-style:dashed;border-left-style:dotted;background:var(--soft)}
.finding.noted>p{color:var(--muted)}
.nt{display:inline-block;padding:0 6px;border-radius:10px;background:#eaeef2;color:#57606a;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.04em}
.nts{color:var(--muted);font-size:12px;padding:0 6px;border:1px dashed var(--line);border-radius:10px;white-space:nowrap}
ol.defects{margin:6px 0;padding-left:30px}
.defect .obs,.defect .where{font-size:12.5px;color:var(--muted)}
.eo{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:4px 0 0}
.eo dt{color:var(--muted);font-size:12px}
.eo dd{margin:0;font-family:var(--mono);font-size:12.5px;white-space:pre-wrap;overflow-wrap:anywhere}
.tx{margin:6px 0 0;padding:6px 0;border:1px solid var(--line);border-radius:4px;background:#fcfcfd;font-family:var(--mono);font-size:12.5px;line-height:1.5;max-height:70vh;overflow:auto}
.tx .legend{padding:0 10px 4px;color:var(--muted);font-family:system-ui,sans-serif;font-size:12px}
.e{display:flex;padding:0 10px 0 0}
.e>b{flex:0 0 7.5em;padding-right:1ch;text-align:right;font-weight:400;color:#8c959f;user-select:none}
.e>u{flex:0 0 2.5ch;text-decoration:none;font-weight:700;user-select:none}
.e>span{flex:1 1 auto;min-width:0;white-space:pre-wrap;word-break:break-all}
.e.c{background:#f1f8ff}.e.c>u,.e.c>span{color:var(--client)}
.e.s{background:#fff8f0}.e.s>u,.e.s>span{color:var(--server)}
.e.tls>span{color:var(--pass);font-weight:600;border-top:2px dashed var(--pass);border-bottom:2px dashed var(--pass);padding:1px 0}
.e.end>span{color:var(--muted);border-top:1px solid var(--line)}
.e.n>span{color:var(--muted);font-style:italic}
.tx-key.c{color:var(--client);font-family:var(--mono)}.tx-key.s{color:var(--server);font-family:var(--mono)}
.tx i,.eo i,.target i,.keys i{font-style:normal;color:#8250df;background:#f3eefc;border-radius:2px}
i.cut,.tx .cut{display:block;margin:2px 0;padding:2px 6px;color:var(--fail);background:#fff1f0;font-style:italic}
table.matrix{border-collapse:separate;border-spacing:0;font-size:13px;width:100%}
table.matrix th,table.matrix td{padding:3px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
table.matrix thead th{position:sticky;top:0;background:var(--soft);text-align:left;font-weight:600;border-bottom:2px solid var(--line);max-width:260px;overflow-wrap:anywhere}
table.matrix thead .tgt{display:block;font-family:var(--mono)}
table.matrix thead .bn,table.matrix thead .tv,table.matrix thead .df{display:block;font-weight:400;color:var(--muted);font-size:12px}
table.matrix tbody th{text-align:left;font-weight:400}
table.matrix tr.grp th{background:#eaeef2;font-weight:600;padding-top:8px}
table.matrix td.cell{text-align:center;color:#fff;font-weight:600;font-size:12px;background:var(--c);border-left:2px solid #fff}
table.matrix td.cell.MISSING{color:#57606a}
table.matrix tr.differ>th:first-child{box-shadow:inset 4px 0 0 #bf8700;background:#fff8c5}
.differ .mark{color:#9a6700;font-weight:700}
.legend-row{display:flex;flex-wrap:wrap;gap:6px 14px;align-items:center;margin:8px 0}
@media print{
  body{max-width:none;padding:0;font-size:11pt}
  #filters,.noscript,.tools{display:none!important}
  a{color:inherit;text-decoration:none}
  details.case{break-inside:auto;border-left-width:3px}
  details.case>summary{background:none!important}
  .tx{max-height:none;overflow:visible;font-size:8.5pt}
  .v,.e.c,.e.s,.tiles li,td.cell,.bar span,.tx i{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  table.matrix thead th{position:static}
}
/* Its own rule: a browser that does not know ::details-content drops only this
   one. Where it is known, closed <details> print open even without script. */
@media print{details::details-content{content-visibility:visible;display:block}}
)CSS";

// The one script. Filters cases by verdict, tag, RFC and text; keeps the filter
// in the URL fragment (#verdict=FAIL&q=smuggling) so a view can be linked and is
// applied on load (open=1 also opens the cases shown); marks hidden items with
// the hidden attribute; opens a case linked as #case-ID; opens every case for
// printing. It never builds markup from
// strings (no innerHTML): text only reaches the page through textContent/Option.
constexpr std::string_view js = R"JS(
(function () {
  "use strict";
  var d = document;
  function $(id) { return d.getElementById(id); }
  d.documentElement.className += " js";
  var bar = $("filters");
  var items = [].slice.call(d.querySelectorAll(".item"));
  var groups = [].slice.call(d.querySelectorAll(".group"));
  var texts = items.map(function (e) { return (e.getAttribute("data-search") || "").toLowerCase(); });
  var boxes = bar ? [].slice.call(bar.querySelectorAll("input[name=verdict]")) : [];
  var tag = $("f-tag"), rfc = $("f-rfc"), q = $("f-q"), diff = $("f-diff"), shown = $("f-shown");

  function blank() { return { verdict: [], tag: "", rfc: "", q: "", diff: false, open: false }; }
  function fromHash() {
    var h = location.hash.replace(/^#/, ""), s = blank();
    if (h.indexOf("=") < 0) return null;
    h.split("&").forEach(function (kv) {
      var i = kv.indexOf("="), k, v;
      if (i < 0) return;
      try {
        k = decodeURIComponent(kv.slice(0, i));
        v = decodeURIComponent(kv.slice(i + 1).replace(/\+/g, " "));
      } catch (e) { return; }
      if (k === "verdict") s.verdict = v.toUpperCase().split(/[ ,]+/).filter(Boolean);
      else if (k === "tag" || k === "rfc" || k === "q") s[k] = v;
      else if (k === "diff" || k === "open") s[k] = v === "1" || v === "true";
    });
    return s;
  }
  function fromControls() {
    var s = blank();
    boxes.forEach(function (b) { if (b.checked) s.verdict.push(b.value); });
    if (tag) s.tag = tag.value;
    if (rfc) s.rfc = rfc.value;
    if (q) s.q = q.value;
    if (diff) s.diff = diff.checked;
    return s;
  }
  function choose(sel, v) {
    if (!sel) return;
    if (v && ![].some.call(sel.options, function (o) { return o.value === v; })) sel.add(new Option(v, v));
    sel.value = v;
  }
  function toControls(s) {
    boxes.forEach(function (b) { b.checked = s.verdict.indexOf(b.value) >= 0; });
    choose(tag, s.tag);
    choose(rfc, s.rfc);
    if (q) q.value = s.q;
    if (diff) diff.checked = s.diff;
  }
  function toHash(s) {
    var p = [];
    if (s.verdict.length) p.push("verdict=" + s.verdict.join(","));
    if (s.tag) p.push("tag=" + encodeURIComponent(s.tag));
    if (s.rfc) p.push("rfc=" + encodeURIComponent(s.rfc));
    if (s.q) p.push("q=" + encodeURIComponent(s.q));
    if (s.diff) p.push("diff=1");
    return p.join("&");
  }
  function has(e, attr, word) {
    return (" " + (e.getAttribute(attr) || "") + " ").indexOf(" " + word + " ") >= 0;
  }
  function apply(s) {
    var n = 0, needle = s.q.toLowerCase();
    items.forEach(function (e, i) {
      var ok = (!s.verdict.length || s.verdict.some(function (v) { return has(e, "data-verdict", v); })) &&
        (!s.tag || has(e, "data-tags", s.tag)) &&
        (!s.rfc || has(e, "data-rfc", s.rfc)) &&
        (!needle || texts[i].indexOf(needle) >= 0) &&
        (!s.diff || e.hasAttribute("data-diff"));
      e.hidden = !ok;
      if (ok) ++n;
    });
    groups.forEach(function (g) { g.hidden = !g.querySelector(".item:not([hidden])"); });
    if (s.open) items.forEach(function (e) { if (!e.hidden && e.tagName === "DETAILS") e.open = true; });
    if (shown) shown.textContent = n === items.length ? "all " + n + " shown" : n + " of " + items.length + " shown";
  }
  function openTarget() {
    var id = location.hash.replace(/^#/, ""), e;
    try { id = decodeURIComponent(id); } catch (x) { return; }
    e = id ? $(id) : null;
    if (e && e.tagName === "DETAILS") {
      e.open = true;
      e.scrollIntoView();
    }
  }
  function fromPage() {
    var s = fromHash();
    if (s) { toControls(s); apply(s); } else openTarget();
  }
  if (bar) {
    bar.hidden = false;
    bar.addEventListener("input", function () {
      var s = fromControls(), h = toHash(s);
      apply(s);
      history.replaceState(null, "", h ? "#" + h : location.pathname + location.search);
    });
    bar.addEventListener("click", function (ev) {
      var open = ev.target.getAttribute ? ev.target.getAttribute("data-open") : null;
      if (open === null) return;
      items.forEach(function (e) { if (!e.hidden && e.tagName === "DETAILS") e.open = open === "1"; });
    });
  }
  window.addEventListener("hashchange", fromPage);
  var reopen = [];
  window.addEventListener("beforeprint", function () {
    reopen = [].filter.call(d.querySelectorAll("details"), function (e) { return !e.open; });
    reopen.forEach(function (e) { e.open = true; });
  });
  window.addEventListener("afterprint", function () {
    reopen.forEach(function (e) { e.open = false; });
    reopen = [];
  });
  fromPage();
})();
)JS";

}  // namespace

std::string_view stylesheet() noexcept { return css; }

std::string_view script() noexcept { return js; }

}  // namespace smtpspec::reports::html
