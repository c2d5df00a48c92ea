#!/usr/bin/env python3
"""Writes docs/compliance.md from a lab run (ci/lab-matrix.sh OUT): per server its
version, its distinct defects (one per rule and observation, counted in the case
that owns it: docs/verdicts.md) and its case counts; then every defect, security
first, with the case that owns it and what the transcripts showed.
Usage: ci/compliance-page.py OUT_DIR > docs/compliance.md"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from markdown_text import md  # noqa: E402

out = sys.argv[1]
servers = ["postfix", "exim", "opensmtpd", "sendmail", "aiosmtpd", "smtp-server", "haraka", "smtp-sink"]
relays = ["postfix-relay", "exim-relay"]
versions = {}
if os.path.exists(f"{out}/versions.tsv"):
    for line in open(f"{out}/versions.tsv"):
        name, _, version = line.rstrip("\n").partition("\t")
        versions[name] = version


def load(name):
    path = f"{out}/{name}.json"
    return json.load(open(path)) if os.path.exists(path) else None


def tally(defects):
    must = sum(d["level"] == "MUST" for d in defects)
    should = sum(d["level"] == "SHOULD" for d in defects)
    sec = sum(bool(d.get("security")) for d in defects)
    return must, should, sec


print("# Compliance matrix of the lab\n")
print("Produced by `ci/targets.sh start && ci/lab-matrix.sh` (each server run twice: no ERROR, no verdict")
print("that differs between the runs) and `ci/compliance-page.py out/lab > docs/compliance.md`.")
print("Every server runs on 127.0.0.1 in the loopback-only namespace `smtpspec-lab`, with the")
print("configuration of `ci/lab/` (Debian or npm defaults, changed only for ports, TLS, the test")
print("domain, no DNS, no relay). The HTML matrices are `compliance-matrix.html` and")
print("`compliance-relay-matrix.html` beside this page. How verdicts and distinct defects are")
print("decided is in [verdicts.md](verdicts.md).\n")
print("A **distinct defect** is one rule broken in one way (\"502 to VRFY\", \"end of data at")
print("`<LF>.<LF>`\"). It counts in the one case that owns its requirement (FAIL for a MUST, WARN for a")
print("SHOULD) and shows as a note in every other case that saw it, so the defect column is what a")
print("maintainer has to fix; the case columns say how many cases ran and how they ended.\n")
print("## Servers\n")
print("| server | version | distinct defects: MUST | SHOULD | security | PASS | FAIL | WARN | SKIP | ERROR |")
print("|---|---|---|---|---|---|---|---|---|---|")
runs = {}
for n in servers:
    d = load(n)
    if not d:
        continue
    runs[n] = d
    k = d["counts"]
    must, should, sec = tally(d["defects"])
    print(f"| {n} | {md(versions.get(n, '?'))} | {must} | {should} | {sec} | {k['PASS']} | {k['FAIL']} | {k['WARN']} "
          f"| {k['SKIP']} | {k['ERROR']} |")
print()
print("SKIP means the server does not advertise an extension the case needs (e.g. AUTH without SASL")
print("configured), refused a step the case needs for a reason the RFC allows, or the case needs a")
print("delivery check the server's set-up cannot give. smtp-sink is Postfix's benchmark sink, not an")
print("MTA: it accepts everything and offers no STARTTLS, so its many findings are expected; it is in")
print("the lab for the benchmarks.\n")

print("## Relays (outbound: `smtpspec relay`)\n")
print("| relay | version | distinct defects: MUST | SHOULD | security | PASS | FAIL | WARN | SKIP | ERROR |")
print("|---|---|---|---|---|---|---|---|---|---|")
relay_runs = {}
for n in relays:
    d = load(n)
    if not d:
        continue
    relay_runs[n] = d
    k = d["counts"]
    must, should, sec = tally(d["defects"])
    print(f"| {n} | {md(versions.get(n, '?'))} | {must} | {should} | {sec} | {k['PASS']} | {k['FAIL']} | {k['WARN']} "
          f"| {k['SKIP']} | {k['ERROR']} |")
print()
print("A relay case is SKIP when the relay's own inbound side did not read the submission as RFC 5321")
print("4.1.1.4 frames it (Postfix with `smtpd_forbid_bare_newline = no` ends the data at the look-alike):")
print("that is the server run's defect, listed above, and the outbound hop could not be judged.\n")

# What a defect means, written after reading the transcripts of the runs above;
# keyed by the case that owns the defect, printed only where that case owns one.
EXPLAIN = {
    "rfc5321.smuggling.lf-dot-lf": "Postfix 3.7.11 ends DATA at `<LF>.<LF>` when `smtpd_forbid_bare_newline` is `no` (Debian 12's default), so a message relayed by a server that passes bare LF through (see the relay table) can carry a second, forged transaction: SMTP smuggling (CVE-2023-51764). Every Postfix smuggling case passes with `smtpd_forbid_bare_newline = yes`; `ci/lab/postfix.sh` keeps the default so the lab shows what a stock install does.",
    "rfc5321.smuggling.lf-dot-lf-waited": "OpenSMTPD 6.8.0p2 ends DATA at `<LF>.<LF>`, `<CRLF>.<LF>` and `<LF>.<CRLF>` too, but refuses the pipelined commands that follow (\"500 5.5.1 Invalid command: Pipelining not supported\"), so only the `-waited` cases, which send the data up to the look-alike and read, see its 250: the message is accepted before the real end of data. The review of December 2026 found it missing from this page.",
    "rfc5321.smuggling.crlf-dot-nul-crlf-waited": "OpenSMTPD 6.8.0p2 also ends DATA at `<CRLF>.<NUL><CRLF>`: the line `.` followed by a NUL octet reads as `.` to it (a C string ends at the NUL).",
    "rfc5321.smuggling.crlf-dot-lf-first-line": "Exim 4.96 as packaged in Debian 12 treats `.<LF>` as end-of-data when it is the first line after 354 (other positions are refused): the octets after it run as a second transaction (CVE-2023-51766 class).",
    "rfc5321.limits.command-line-100k": "Exim answers a 100 kB command line with several replies (it reads it in pieces and answers each), so the client and server disagree on how many commands were sent: a desynchronisation, not only a length violation. Its close after \"500 Too many unrecognized commands\" is a defence (RFC 5321 7.8), not a second defect.",
    "rfc5321.domain.underscore": "Widespread: most servers accept `_` in the EHLO domain although 4.1.2 forbids it (\"MUST reject ... 501\"); the case keeps MUST and its scenario file notes how common the deviation is.",
    "rfc5321.charset.control-character-in-mail": "Control characters in MAIL FROM are accepted; they then appear in Received headers and logs (log injection). Exim refuses them but echoes the octet in its reply text, which breaks the reply grammar (4.2).",
    "rfc5321.charset.octet-ff-in-mail": "Sendmail refuses the address but echoes the octet (here DEL) in its 550 reply, outside the reply grammar's textstring (4.2).",
    "rfc4954.auth.during-transaction": "The server authenticates in the middle of a transaction, so a transaction started unauthenticated can end authenticated (RFC 4954 4: \"The AUTH command is not permitted during a mail transaction\").",
    "rfc5321.vrfy.supported": "OpenSMTPD does not implement VRFY (\"500 5.5.1 Invalid command: Command unrecognized\"), which 4.5.1 puts in the minimum implementation; one defect, shown as a note in the five other cases that send VRFY.",
    "rfc1870.size.declared-over-limit": "OpenSMTPD accepts `MAIL ... SIZE=9999999999999999999` although it advertises `SIZE 36700160`; RFC 1870 6.1 and 7 ask for 552 at MAIL.",
    "rfc5321.limits.path-256": "smtp-server answers a valid 256-octet forward-path with \"501 Error: Bad recipient address syntax\": it cannot receive a path of the size 4.5.3.1.3 requires.",
    "rfc5321.limits.text-line-1000": "Haraka splits text lines longer than its `max_data_line_length` (992) and so changes a 998-octet line that RFC 5321 4.5.3.1.6 requires it to carry unchanged; the same cause fails `rfc5321.data.text-line-1000-octets-stuffed`, which checks the 1000-octet line that starts with a stuffed dot.",
}


def defect_line(d, servers_of=None):
    cite = d["rfc"]["text"]
    seen = len(d["cases"])
    where = f"owner `{d['owner']}`" + (f", seen in {seen} cases" if seen > 1 else "")
    lead = f"**{d['level']}** {cite}"
    if servers_of:
        lead += f" on {', '.join(servers_of)}"
    return f"- {lead}: {md(d['text'])} ({where})"


# Security first, across servers: one entry per defect (rule and observation), with
# every server that has it and the case that owns it there.
print("## Security-relevant defects\n")
sec = collections.OrderedDict()
for n, d in list(runs.items()) + list(relay_runs.items()):
    for x in d["defects"]:
        if not x.get("security"):
            continue
        key = (x["level"], x["rfc"]["text"], x.get("rule", ""), x.get("observation", ""))
        sec.setdefault(key, []).append((n, x))
if not sec:
    print("None.\n")
for (level, cite, rule, obs), found in sec.items():
    where = ", ".join(f"{n} (`{x['owner']}`)" for n, x in found)
    print(f"- **{level}** {cite}: {md(rule or found[0][1]['text'])}: {md(obs)}. On {where}.")
print()

explained = set()
print("## Distinct defects per server\n")
for n, d in list(runs.items()) + list(relay_runs.items()):
    must, should, _ = tally(d["defects"])
    print(f"### {n}\n")
    print(f"{md(versions.get(n, '?'))}: {must} MUST, {should} SHOULD.\n")
    if not d["defects"]:
        print("No defect found.\n")
        continue
    for x in d["defects"]:
        print(defect_line(x))
        if x["owner"] in EXPLAIN:
            explained.add(x["owner"])
    print()

if explained:
    print("## What the findings mean\n")
    for cid, text in EXPLAIN.items():
        if cid in explained:
            print(f"- **{cid}**: {text}")
    print()
