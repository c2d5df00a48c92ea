#!/usr/bin/env python3
"""The HTML report in a real browser (headless Chromium), through its DOM.

Checks, on reports made by the real program:
  * the summary counts and pass-rate tables in the DOM equal the JSON report of
    the same run (built-in suites against the embedded server, with defects so
    that there are failures and security findings), and so do the distinct
    defects (counts, the list with each defect's owner, the notes in each case);
  * the filter, driven by the URL fragment (#verdict=FAIL&q=smuggling ...),
    marks exactly the right cases hidden; a #case-ID link opens that case;
  * without JavaScript the summary and every case are there and the filter bar
    stays hidden;
  * a hostile server (markup, NUL, ESC, invalid UTF-8, a 1 MB line in its
    replies) cannot run script: the injected title change and onerror attribute
    are absent, the text is present escaped, the file stays small;
  * the matrix of two runs marks exactly the rows whose verdicts differ;
  * no request leaves any page: Chromium's proxy is a socket of this test
    (loopback included), which must see no connection; host resolution fails;
    and the console shows no CSP violation (nothing even tried) and no error.
Saves screenshots as artefacts and prints their paths.

Exit status: 0 pass, 1 fail, 77 skip (no Chromium: ctest SKIP_RETURN_CODE).
Standard library only.
"""

import argparse
import base64
import concurrent.futures
import hashlib
import html.parser
import json
import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

SKIP = 77
SERVICE_DOMAIN = "browser-services.smtpspec.invalid"
CHROMIUM_CANDIDATES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"]

failures = []


def check(ok, what):
    """Records a failed check (the test goes on, so one run shows every problem)."""
    if not ok:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return ok


# --- a minimal DOM from Chromium's --dump-dom output --------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def hidden(self):
        """Hidden by the attribute itself or by an ancestor."""
        n = self
        while n is not None:
            if "hidden" in n.attrs:
                return True
            n = n.parent
        return False


class DomBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        n = Node(tag, attrs, self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_dom(text):
    b = DomBuilder()
    b.feed(text)
    b.close()
    return b.root


def by_id(root, ident):
    for n in root.iter():
        if n.attrs.get("id") == ident:
            return n
    return None


# --- the proxy that must see nothing ------------------------------------------

class Tripwire:
    """A listening socket given to Chromium as its proxy for every URL, loopback
    included: any request a page makes arrives here."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.seen = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(1)
            try:
                first = conn.recv(512)
            except OSError:
                first = b""
            self.seen.append(first.split(b"\r\n")[0].decode("latin-1"))
            conn.close()


# --- the hostile SMTP server ----------------------------------------------------

SCRIPT_TITLE = b"<script>document.title='PWNED'</script>"
IMG_ONERROR = b"<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
MARKUP = b" " + SCRIPT_TITLE + b" " + IMG_ONERROR + b" <script>alert(1)</script> </system-out> ]]> & \" '"
# Octets no text may hold raw: NUL, ESC sequences (colour, window title), invalid
# UTF-8 (a lone 0xff, an encoded surrogate, a truncated sequence), DEL.
OCTETS = b" \x00 \x1b[31mred\x1b[0m \x1b]0;title\x07 \xff\xfe \xed\xa0\x80 \xc3\x28 \x7f"
NASTY = MARKUP + OCTETS
MEGABYTE = 1024 * 1024


class HostileHandler(socketserver.StreamRequestHandler):
    def handle(self):
        try:
            # The first connection (smtpspec's probe: the banner in the report's
            # header) gets every hostile octet; later ones markup only, since a
            # greeting smtpspec cannot parse ends a case before its steps, and the
            # steps are what bring the other replies into the report.
            first = self.server.connections == 0
            self.server.connections += 1
            self.wfile.write(b"220 evil.test ESMTP" + (NASTY if first else MARKUP) + b"\r\n")
            while True:
                line = self.rfile.readline(65536)
                if not line:
                    return
                verb = line.strip().split(b" ")[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    self.wfile.write(b"250-evil.test" + NASTY + b"\r\n250-" + IMG_ONERROR + b"\r\n250 8BITMIME\r\n")
                elif verb == b"NOOP":
                    self.wfile.write(b"250 " + b"A" * MEGABYTE + SCRIPT_TITLE + b"\r\n")
                elif verb == b"QUIT":
                    self.wfile.write(b"221 bye" + NASTY + b"\r\n")
                    return
                else:
                    self.wfile.write(b"500 unknown" + NASTY + b"\r\n")
        except OSError:
            pass


class HostileServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    connections = 0


# --- running things -------------------------------------------------------------

def find_chromium(explicit):
    for c in ([explicit] if explicit else []) + [os.environ.get("SMTPSPEC_CHROMIUM", "")] + CHROMIUM_CANDIDATES:
        if c and (os.path.isfile(c) and os.access(c, os.X_OK) or shutil.which(c)):
            return c if os.path.isfile(c) else shutil.which(c)
    return None


class Browser:
    def __init__(self, binary, tripwire):
        self.binary, self.tripwire = binary, tripwire

    def run(self, url, *extra, timeout=120, console_ok=False):
        profile = tempfile.mkdtemp(prefix="smtpspec-chromium-")
        cmd = [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
               "--disable-dev-shm-usage", "--user-data-dir=" + profile,
               # Every request, loopback included, goes to the tripwire...
               "--proxy-server=127.0.0.1:%d" % self.tripwire.port,
               # ...except the browser's own services, which Chromium 156 still calls
               # despite the flags above (component updater, account list): they are
               # sent to hosts under .invalid (RFC 6761) that no page of ours names,
               # bypass the proxy and fail to resolve. Nothing leaves the machine.
               "--component-updater=url-source=http://update.%s" % SERVICE_DOMAIN,
               "--gaia-url=http://gaia.%s" % SERVICE_DOMAIN,
               "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,OptimizationHintsFetching,"
               "OptimizationGuideModelDownloading,OptimizationTargetPrediction,MediaRouter,Translate,"
               "AutofillServerCommunication,CertificateTransparencyComponentUpdater",
               "--disable-client-side-phishing-detection", "--disable-domain-reliability", "--no-pings",
               "--disable-default-apps", "--disable-extensions", "--safebrowsing-disable-auto-update",
               "--proxy-bypass-list=<-loopback>;*.%s" % SERVICE_DOMAIN,
               # No name resolves (the proxy is an address, so it is still reached).
               "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
               "--enable-logging=stderr", "--v=0",
               "--virtual-time-budget=2000", *extra, url]
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        err = p.stderr.decode("utf-8", "replace")
        console = [l for l in err.splitlines() if "CONSOLE" in l or "Content Security Policy" in l
                   or "Uncaught" in l]
        check(console_ok or not console,
              "%s: the page logged to the console:\n  %s" % (url, "\n  ".join(console[:10])))
        check(p.returncode == 0, "%s: chromium exited with %d: %s" % (url, p.returncode, err[-2000:]))
        return p.stdout.decode("utf-8", "replace")

    def dom(self, path, fragment="", *extra, console_ok=False):
        url = "file://" + urllib.parse.quote(os.path.abspath(path)) + (("#" + fragment) if fragment else "")
        text = self.run(url, "--dump-dom", *extra, console_ok=console_ok)
        check("</html>" in text, "%s: --dump-dom gave no document" % url)
        return parse_dom(text), text

    def screenshot(self, path, png, fragment=""):
        url = "file://" + urllib.parse.quote(os.path.abspath(path)) + (("#" + fragment) if fragment else "")
        if os.path.exists(png):
            os.remove(png)
        self.run(url, "--screenshot=" + png, "--window-size=1280,2000")
        check(os.path.isfile(png) and os.path.getsize(png) > 1000, "no screenshot written at " + png)
        print("screenshot: " + png, flush=True)


def smtpspec_run(smtpspec, render, json_path, html_path, extra):
    """Runs `smtpspec server` writing JSON and, when the CLI has --html, the HTML
    too; otherwise renders the HTML from the JSON with render_report."""
    cmd = [smtpspec, "server", *extra, "--json", json_path]
    p = subprocess.run(cmd + ["--html", html_path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
    via = "smtpspec --html"
    if p.returncode == 2 and b"--html" in p.stderr:  # the CLI without --html yet
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=240)
        via = "render_report"
        if p.returncode in (0, 1):
            r = subprocess.run([render, html_path, json_path], stderr=subprocess.PIPE, timeout=120)
            check(r.returncode == 0, "render_report failed: " + r.stderr.decode("utf-8", "replace"))
    if not check(p.returncode in (0, 1) and os.path.isfile(json_path) and os.path.isfile(html_path),
                 "smtpspec server %s exited %d: %s" % (" ".join(extra), p.returncode,
                                                       p.stderr.decode("utf-8", "replace")[-3000:])):
        return None
    print("%s: %s (%d octets, via %s)" % (" ".join(extra) or "built-in suites", html_path,
                                          os.path.getsize(html_path), via), flush=True)
    with open(json_path, encoding="utf-8") as f:
        return json.load(f)


# --- what the page should show, computed from the JSON --------------------------

VERDICTS = ["PASS", "FAIL", "WARN", "SKIP", "ERROR"]


def search_text(c):
    """What the page's text search looks in (reports/src/html_case.cpp)."""
    reason = c["reason"].encode()[:1024].decode("utf-8", "ignore")  # the page keeps 1 KiB of it
    parts = [c["id"], c["title"], c["suite"]] + c["tags"] + [r["text"] for r in c["rfc"]] + [reason]
    return " ".join(parts).encode()[:2048].decode("utf-8", "ignore").lower()


def expected_visible(cases, verdicts=(), tag="", rfc="", q=""):
    out = set()
    for c in cases:
        if verdicts and c["verdict"] not in verdicts:
            continue
        if tag and tag not in c["tags"]:
            continue
        if rfc and int(rfc) not in {r["rfc"] for r in c["rfc"]}:
            continue
        if q and q.lower() not in search_text(c):
            continue
        out.add(c["id"])
    return out


def case_nodes(dom):
    return [n for n in dom.iter() if n.tag == "details" and "item" in n.classes()]


def case_id_of(node):
    code = next((n for n in node.iter() if n.tag == "code" and "id" in n.classes()), None)
    return code.text() if code else None


def check_summary(dom, report, label):
    counts = {v: sum(1 for c in report["cases"] if c["verdict"] == v) for v in VERDICTS}
    check(counts == {v: report["counts"][v] for v in VERDICTS}, label + ": JSON counts disagree with its cases")
    for v in VERDICTS:
        n = by_id(dom, "count-" + v)
        if check(n is not None, "%s: no #count-%s" % (label, v)):
            check(n.attrs.get("data-count") == str(counts[v]) and n.text().strip() == str(counts[v]),
                  "%s: #count-%s shows %r/%r, the JSON says %d" % (label, v, n.text(), n.attrs.get("data-count"),
                                                                  counts[v]))
    total = by_id(dom, "count-total")
    check(total is not None and total.text().strip() == str(len(report["cases"])), label + ": total count")
    # Pass rates: a case counts for every RFC it cites and every tag it has.
    for table, keys in (("rate-rfc", lambda c: {str(r["rfc"]) for r in c["rfc"]}),
                        ("rate-tag", lambda c: set(c["tags"]))):
        want = {}
        for c in report["cases"]:
            for k in keys(c):
                t = want.setdefault(k, [0, 0])
                t[0] += 1
                t[1] += c["verdict"] == "PASS"
        node = by_id(dom, table)
        if not check(node is not None, "%s: no #%s" % (label, table)):
            continue
        got = {tr.attrs["data-key"]: [int(tr.attrs["data-total"]), int(tr.attrs["data-pass"])]
               for tr in node.iter() if tr.tag == "tr" and "data-key" in tr.attrs}
        check(got == want, "%s: #%s %r differs from the JSON %r" % (label, table, got, want))
    # The security list: cases with a security finding they count (a note is listed
    # in its owner), or failed and tagged security.
    want_sec = {c["id"] for c in report["cases"]
                if any(f["security"] and f.get("counted", True) for f in c["findings"])
                or (c["verdict"] == "FAIL" and "security" in c["tags"])}
    sec = by_id(dom, "security")
    got_sec = {n.text() for n in sec.iter() if n.tag == "code"} if sec else set()
    check(got_sec == want_sec, "%s: security list %r, expected %r" % (label, sorted(got_sec), sorted(want_sec)))
    # Every case is on the page, once.
    ids = [case_id_of(n) for n in case_nodes(dom)]
    check(sorted(ids) == sorted(c["id"] for c in report["cases"]), label + ": the cases on the page differ")
    check_defects(dom, report, label)


def check_defects(dom, report, label):
    """The distinct defects: tiles, the list (security first, each with its owner)
    and the notes in each case, against the JSON."""
    defects = report.get("defects", [])
    want = {"count-defects": report.get("distinct_defects", 0),
            "count-defects-security": sum(1 for d in defects if d["security"])}
    for level in ("MUST", "SHOULD"):
        want["count-defects-" + level] = sum(1 for d in defects if d["level"] == level)
    check(want["count-defects"] == len(defects), label + ": JSON distinct_defects disagrees with its defects")
    for ident, n in want.items():
        node = by_id(dom, ident)
        if check(node is not None, "%s: no #%s" % (label, ident)):
            check(node.attrs.get("data-count") == str(n) and node.text().strip() == str(n),
                  "%s: #%s shows %r, the JSON says %d" % (label, ident, node.text(), n))
    section = by_id(dom, "defects")
    if not check(section is not None, label + ": no #defects section"):
        return
    entries = [n for n in section.iter() if n.tag == "li" and "defect" in n.classes()]
    owners = []
    for e in entries:
        where = next((n for n in e.iter() if n.tag == "p" and "where" in n.classes()), None)
        code = next((n for n in where.iter() if n.tag == "code"), None) if where else None
        owners.append(code.text() if code else None)
    ordered = [d for d in defects if d["security"]] + [d for d in defects if not d["security"]]
    check(owners == [d["owner"] for d in ordered][:500],
          "%s: the defect list names the owners %r, expected %r" % (label, owners[:5], [d["owner"] for d in ordered][:5]))
    # Each case shows as many notes as it has findings counted elsewhere (up to 30).
    nodes = {case_id_of(n): n for n in case_nodes(dom)}
    for c in report["cases"]:
        notes = sum(1 for f in c["findings"] if not f.get("counted", True))
        shown = sum(1 for n in nodes[c["id"]].iter() if n.tag == "div" and "noted" in n.classes()) \
            if c["id"] in nodes else -1
        check(shown == min(notes, 30), "%s: case %s shows %d notes, the JSON has %d" % (label, c["id"], shown, notes))
    print("%s: %d distinct defects listed, %d notes" % (label, len(entries), sum(
        1 for c in report["cases"] for f in c["findings"] if not f.get("counted", True))), flush=True)


def check_filter(browser, html_path, report, fragment, **want):
    dom, _ = browser.dom(html_path, fragment)
    expected = expected_visible(report["cases"], **want)
    shown = {case_id_of(n) for n in case_nodes(dom) if not n.hidden()}
    check(shown == expected, "#%s shows %d cases, expected %d: extra %r, missing %r" % (
        fragment, len(shown), len(expected), sorted(shown - expected)[:5], sorted(expected - shown)[:5]))
    counter = by_id(dom, "f-shown")
    check(counter is not None and counter.text().startswith(
        ("all %d" % len(expected)) if len(expected) == len(report["cases"]) else "%d of" % len(expected)),
        "#%s: the counter says %r" % (fragment, counter.text() if counter else None))
    # Suites left without a visible case are hidden too.
    for s in (n for n in dom.iter() if "group" in n.classes()):
        visible = any(not c.hidden() for c in s.iter() if c.tag == "details")
        check(visible != s.hidden(), "#%s: suite %s hidden=%s with visible cases=%s" % (
            fragment, s.attrs.get("id"), s.hidden(), visible))
    print("filter #%s: %d of %d cases shown" % (fragment, len(shown), len(report["cases"])), flush=True)
    return expected


def check_static_file(path, limit_octets):
    with open(path, "rb") as f:
        data = f.read()
    check(len(data) < limit_octets, "%s is %d octets, over %d" % (path, len(data), limit_octets))
    try:
        data.decode("utf-8", "strict")
    except UnicodeDecodeError as e:
        check(False, "%s is not valid UTF-8: %s" % (path, e))
    check(b"\x00" not in data and b"\x1b" not in data, path + ": raw NUL or ESC octets in the HTML")
    text = data.decode("utf-8", "replace")
    # One script, inline, allowed by the policy's hash of exactly its text.
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", text, re.S)
    check(len(scripts) == 1 and scripts[0][0] == "", path + ": expected exactly one inline <script>")
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', text)
    if check(csp is not None, path + ": no CSP meta tag") and scripts:
        policy = csp.group(1).replace("&#39;", "'")
        digest = "sha256-" + base64.b64encode(hashlib.sha256(scripts[0][1].encode()).digest()).decode()
        check("default-src 'none'" in policy and "script-src '%s'" % digest in policy,
              path + ": CSP %r does not allow exactly the page's script (%s)" % (policy, digest))
    for bad in (r"<link\b", r"<script[^>]+src", r"<img\b", r"@import", r"url\(", r"<iframe", r"<object", r"<embed"):
        check(re.search(bad, text, re.I) is None, "%s: external resource pattern %s found" % (path, bad))
    return text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smtpspec", required=True)
    ap.add_argument("--render", required=True)
    ap.add_argument("--scenario", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--screenshot", required=True)
    ap.add_argument("--chromium", default="")
    a = ap.parse_args()

    chromium = find_chromium(a.chromium)
    if not chromium:
        print("SKIP: no Chromium found (tried $SMTPSPEC_CHROMIUM, %s); install the Debian package 'chromium' "
              "(ci/install-deps.sh)" % ", ".join(CHROMIUM_CANDIDATES), flush=True)
        return SKIP
    print("browser: " + chromium, flush=True)
    os.makedirs(a.work, exist_ok=True)
    tripwire = Tripwire()
    browser = Browser(chromium, tripwire)
    w = lambda name: os.path.join(a.work, name)

    # 0. Controls: the checks below can see what they look for. A page with no
    #    policy and raw payloads must reach the tripwire and run the payloads.
    control = w("control.html")
    with open(control, "wb") as f:
        f.write(b"<!DOCTYPE html><html><head><meta charset=utf-8><title>control</title></head><body>"
                b"<img src='http://control.example/x.png'>" + SCRIPT_TITLE + IMG_ONERROR + b"</body></html>")
    dom, _ = browser.dom(control, console_ok=True)
    time.sleep(0.3)
    check(any("control.example" in r for r in tripwire.seen),
          "control: the tripwire proxy saw no request from a page that makes one (%r)" % tripwire.seen)
    title = next((n.text() for n in dom.iter() if n.tag == "title"), "")
    body = next(n for n in dom.iter() if n.tag == "body")
    check(title == "PWNED" and body.attrs.get("data-pwned") == "1",
          "control: the payloads did not run on an unprotected page (title %r)" % title)
    tripwire.seen.clear()

    # 1. The built-in suites against the embedded server, broken on purpose so
    #    that the report has failures and security findings.
    defects = ["--defect", "end_data_on_lf_dot_lf", "--defect", "rcpt_without_mail",
               "--defect", "execute_after_starttls"]
    builtin = smtpspec_run(a.smtpspec, a.render, w("builtin.json"), w("builtin.html"), defects)
    if builtin:
        page = w("builtin.html")
        check_static_file(page, 16 * MEGABYTE)
        check(any(c["verdict"] == "FAIL" for c in builtin["cases"]), "the defects made no case fail")

        def plain_load():
            dom, _ = browser.dom(page)
            check_summary(dom, builtin, "built-in")
            bar = by_id(dom, "filters")
            check(bar is not None and "hidden" not in bar.attrs, "the script did not show the filter bar")
            check(all(not n.hidden() for n in case_nodes(dom)), "with no fragment every case is shown")

        def case_link():
            # A link to one case opens it.
            target = next(c["id"] for c in builtin["cases"] if c["verdict"] == "FAIL")
            dom, _ = browser.dom(page, "case-" + target)
            node = next((n for n in case_nodes(dom) if case_id_of(n) == target), None)
            check(node is not None and "open" in node.attrs, "#case-%s did not open that case" % target)

        def open_shown():
            # open=1 opens the cases the filter shows, and only those.
            dom, _ = browser.dom(page, "verdict=FAIL&open=1")
            nodes = case_nodes(dom)
            check(all(("open" in n.attrs) == (not n.hidden()) for n in nodes) and any("open" in n.attrs for n in nodes),
                  "#verdict=FAIL&open=1 did not open exactly the FAIL cases")

        def no_javascript():
            # The summary is there, every case is there, no filter bar. (--dump-dom
            # itself needs script, so the page's script is cut out instead.)
            with open(page, encoding="utf-8") as f:
                without = re.sub(r"<script>.*?</script>", "", f.read(), flags=re.S)
            with open(w("builtin-nojs.html"), "w", encoding="utf-8") as f:
                f.write(without)
            dom, _ = browser.dom(w("builtin-nojs.html"), "verdict=FAIL")
            check_summary(dom, builtin, "built-in, no JavaScript")
            bar = by_id(dom, "filters")
            check(bar is not None and "hidden" in bar.attrs, "without JavaScript the filter bar must stay hidden")
            check(all(not n.hidden() for n in case_nodes(dom)), "without JavaScript every case is shown")

        # Independent page loads, each with its own profile: run side by side.
        jobs = [
            plain_load, case_link, open_shown, no_javascript,
            lambda: check_filter(browser, page, builtin, "verdict=FAIL&q=smuggling", verdicts=("FAIL",),
                                 q="smuggling"),
            lambda: check_filter(browser, page, builtin, "tag=starttls&rfc=3207", tag="starttls", rfc="3207"),
            lambda: check_filter(browser, page, builtin, "verdict=PASS,SKIP&q=Pipelin", verdicts=("PASS", "SKIP"),
                                 q="pipelin"),
            lambda: check_filter(browser, page, builtin, "q=%3Cnothing%20matches%3E", q="<nothing matches>"),
            lambda: browser.screenshot(page, a.screenshot),
        ]
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            for f in [pool.submit(j) for j in jobs]:
                f.result()

    # 2. The hostile server.
    server = HostileServer(("127.0.0.1", 0), HostileHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    hostile = smtpspec_run(a.smtpspec, a.render, w("hostile.json"), w("hostile.html"),
                           ["127.0.0.1:%d" % port, "--suite", a.scenario, "--timeout", "3", "--jobs", "2"])
    server.shutdown()
    pages = []
    if hostile:
        check(len(hostile["cases"]) == 4, "the hostile scenario should run 4 cases")
        pages.append(w("hostile.html"))
        # The same run rendered from its JSON, as `smtpspec report` would, with a
        # transcript limit below the long reply smtpspec recorded, so the cut shows.
        r = subprocess.run([a.render, "--transcript-limit", "32768", w("hostile-from-json.html"), w("hostile.json")],
                           stderr=subprocess.PIPE)
        check(r.returncode == 0, "render_report failed on the hostile JSON")
        pages.append(w("hostile-from-json.html"))
    for page in pages:
        text = check_static_file(page, 3 * MEGABYTE)
        print("hostile report: %s, %d octets" % (page, os.path.getsize(page)), flush=True)
        if page.endswith("from-json.html"):
            check("octets not shown" in text, page + ": the long reply line was not cut with a marker")
        dom, dumped = browser.dom(page)
        title = next((n.text() for n in dom.iter() if n.tag == "title"), "")
        check("PWNED" not in title and title.startswith("smtpspec"), "%s: the title became %r" % (page, title))
        body = next(n for n in dom.iter() if n.tag == "body")
        check("data-pwned" not in body.attrs, page + ": the onerror handler ran")
        check(not any(n.tag == "img" for n in dom.iter()), page + ": an <img> element exists")
        check(sum(1 for n in dom.iter() if n.tag == "script") == 1, page + ": a second <script> element exists")
        # The hostile text is on the page, as text.
        check("&lt;script&gt;document.title='PWNED'&lt;/script&gt;" in dumped,
              page + ": the injected script text is not shown escaped")
        check("&lt;img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"&gt;" in dumped,
              page + ": the injected <img> text is not shown escaped")
        check("\u2400" in dumped and "\u241b" in dumped, page + ": NUL/ESC are not shown as control pictures")
        check("\u27e8ff\u27e9" in dumped and "\u27e8ed\u27e9" in dumped,
              page + ": invalid UTF-8 octets are not shown as escapes")
        check_summary(dom, hostile, "hostile")
    if pages:
        # Every case open: the transcripts with the hostile octets in view.
        browser.screenshot(pages[0], w("report-hostile-screenshot.png"), "open=1")

    # 3. The matrix: the broken run against a clean run of two suites.
    if builtin:
        clean = smtpspec_run(a.smtpspec, a.render, w("clean.json"), w("clean.html"),
                             ["--suite", "rfc3207", "--suite", "rfc5321.data"])
        if clean:
            matrix = w("matrix.html")
            r = subprocess.run([a.render, "--matrix", matrix, w("builtin.json"), w("clean.json")],
                               stderr=subprocess.PIPE)
            check(r.returncode == 0, "render_report --matrix failed")
            check_static_file(matrix, 4 * MEGABYTE)
            a_, b_ = ({c["id"]: c["verdict"] for c in run["cases"]} for run in (builtin, clean))
            # Rows differ where both runs have the case and disagree (a case one
            # run lacks is shown as missing, not as a difference).
            differ = {i for i in set(a_) & set(b_) if a_[i] != b_[i]}
            dom, _ = browser.dom(matrix, "diff=1")
            rows = [n for n in dom.iter() if n.tag == "tr" and "item" in n.classes()]
            shown = {next(c for c in r.iter() if c.tag == "code").text() for r in rows if not r.hidden()}
            marked = {next(c for c in r.iter() if c.tag == "code").text() for r in rows if "differ" in r.classes()}
            check(len(rows) == len(set(a_) | set(b_)), "the matrix has %d rows" % len(rows))
            check(shown == differ and marked == differ,
                  "matrix #diff=1 shows %d rows, marks %d, expected %d" % (len(shown), len(marked), len(differ)))
            cnt = by_id(dom, "differing")
            check(cnt is not None and cnt.text() == str(len(differ)), "the matrix's count of differing rows")
            # Distinct defects per target, as each JSON counts them.
            table = by_id(dom, "matrix-defects")
            if check(table is not None, "the matrix has no #matrix-defects"):
                for i, run in enumerate((builtin, clean)):
                    tr = next((n for n in table.iter() if n.tag == "tr" and n.attrs.get("data-target") == str(i)), None)
                    cells = {n.attrs["data-defects"]: n.text() for n in tr.iter() if "data-defects" in n.attrs} \
                        if tr else {}
                    want = {"total": str(run["distinct_defects"]),
                            "security": str(sum(1 for d in run["defects"] if d["security"]))}
                    for level in ("MUST", "SHOULD"):
                        want[level] = str(sum(1 for d in run["defects"] if d["level"] == level))
                    check(cells == want, "matrix defects of target %d: %r, the JSON says %r" % (i, cells, want))
            print("matrix: %s, %d rows, %d differ" % (matrix, len(rows), len(differ)), flush=True)
            browser.screenshot(matrix, w("matrix-screenshot.png"))

    # 4. Nothing left the pages.
    time.sleep(0.3)
    tripwire.stop = True
    check(not tripwire.seen, "requests reached the proxy: %r" % tripwire.seen[:5])

    if failures:
        print("\n%d check(s) failed" % len(failures), flush=True)
        return 1
    print("all browser checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
