#!/usr/bin/env python3
"""Writes docs/compliance.md from a lab run (ci/lab-matrix.sh OUT): per-server
counts, versions, and every FAIL with its citation, security findings first.
Usage: ci/compliance-page.py OUT_DIR > docs/compliance.md"""
import json, os, sys, collections

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

def fails(d):
    return [c for c in d["cases"] if c["verdict"] == "FAIL"]

print("# Compliance matrix of the lab\n")
print("Produced by `ci/targets.sh start && ci/lab-matrix.sh` (each server run twice: no ERROR, no verdict")
print("that differs between the runs) and `ci/compliance-page.py out/lab > docs/compliance.md`.")
print("Every server runs on 127.0.0.1 in the loopback-only namespace `smtpspec-lab`, with the")
print("configuration of `ci/lab/` (Debian or npm defaults, changed only for ports, TLS, the test")
print("domain, no DNS, no relay). The HTML matrices are `compliance-matrix.html` and")
print("`compliance-relay-matrix.html` beside this page.\n")
print("## Servers\n")
print("| server | version | PASS | FAIL | WARN | SKIP | ERROR |")
print("|---|---|---|---|---|---|---|")
runs = {}
for n in servers:
    d = load(n)
    if not d: continue
    runs[n] = d
    k = d["counts"]
    print(f"| {n} | {versions.get(n, '?')} | {k['PASS']} | {k['FAIL']} | {k['WARN']} | {k['SKIP']} | {k['ERROR']} |")
print()
print("SKIP means the server does not advertise an extension the case needs (e.g. AUTH without SASL")
print("configured), or refused a step for a reason the RFC allows. smtp-sink is Postfix's benchmark")
print("sink, not an MTA: it accepts everything and offers no STARTTLS, so its many findings are")
print("expected; it is in the lab for the benchmarks.\n")

print("## Relays (outbound: `smtpspec relay`)\n")
print("| relay | version | PASS | FAIL | WARN | ERROR |")
print("|---|---|---|---|---|---|")
for n in relays:
    d = load(n)
    if not d: continue
    k = d["counts"]
    print(f"| {n} | {versions.get(n, '?')} | {k['PASS']} | {k['FAIL']} | {k['WARN']} | {k['ERROR']} |")
print()

by_case_ids = {c["id"] for n, d in runs.items() for c in fails(d)}
relay_fails = []
for n in relays:
    d = load(n)
    if not d: continue
    for c in fails(d):
        relay_fails.append((n, c))
if relay_fails:
    print("Relay FAILs (the relay is half of a smuggling pair, RFC 5321 2.3.8 and 4.1.1.4):\n")
    for n, c in relay_fails:
        print(f"- {n}: **{c['id']}**: {c['title']}. {c['reason'][:300]}")
    print()

# What each kind of finding means, written after reading the transcripts of the runs
# above; printed only for cases that failed in this run.
EXPLAIN = {
    "rfc5321.smuggling.lf-dot-lf": "Postfix 3.7.11 ends DATA at <LF>.<LF> when `smtpd_forbid_bare_newline` is `no` (Debian 12's default), so a message relayed by a server that passes bare LF through (see the relay table) can carry a second, forged transaction: SMTP smuggling (CVE-2023-51764). Every Postfix smuggling case passes with `smtpd_forbid_bare_newline = yes`; `ci/lab/postfix.sh` keeps the default so the lab shows what a stock install does.",
    "rfc5321.smuggling.crlf-dot-lf-first-line": "Exim 4.96 as packaged in Debian 12 treats `.<LF>` as end-of-data when it is the first line after 354 (other positions are refused): the octets after it run as a second transaction (CVE-2023-51766 class).",
    "rfc5321.limits.command-line-100k": "Exim answers a 100 kB command line with several replies (it splits the line into chunks and answers each), so the client and server disagree on how many commands were sent: a desynchronisation, not only a length violation.",
    "rfc5321.domain.underscore": "Widespread: six of eight servers accept `_` in the EHLO domain although 4.1.2 forbids it; the case keeps MUST (4.1.2 says so in as many words) and its scenario file notes how common the deviation is.",
    "rfc5321.charset.control-character-in-mail": "Control characters in MAIL FROM are accepted by four servers; they then appear in Received headers and logs (log injection).",
    "rfc4954.auth.during-transaction": "aiosmtpd and smtp-server authenticate in the middle of a transaction, so a transaction started unauthenticated can end authenticated.",
    "rfc2034.enhanced-status.starttls-reply": "OpenSMTPD 6.8.0p2 from Debian 12 answers 220 to STARTTLS and then fails the handshake with OpenSSL 3 (a known Debian packaging bug); every STARTTLS case fails or skips for that reason, not for smtpspec's certificate.",
    "rfc5321.limits.text-line-1000": "Haraka splits text lines longer than its `max_data_line_length` (992) and so changes a 998-octet line that RFC 5321 4.5.3.1.6 requires it to carry unchanged.",
}
explained = False
for cid, text in EXPLAIN.items():
    if cid in by_case_ids:
        if not explained:
            print("## What the findings mean\n")
            explained = True
        print(f"- **{cid}**: {text}")
if explained: print()

by_case = collections.defaultdict(list)
for n, d in runs.items():
    if n == "smtp-sink": continue
    for c in fails(d):
        by_case[c["id"]].append((n, c))

def security(cases):
    return any("security" in c["tags"] or any(f.get("security") for f in c["findings"]) for _, c in cases)

print("## Security-relevant findings\n")
for cid, cases in sorted(by_case.items()):
    if not security(cases): continue
    c = cases[0][1]
    cite = ", ".join(r["text"] for r in c["rfc"])
    print(f"- **{cid}** ({cite}, {c['level']}): {c['title']}. FAIL on: {', '.join(n for n, _ in cases)}.")
    for n, cc in cases:
        print(f"  - {n}: {cc['reason'][:400]}")
print()
print("## Every other FAIL\n")
print("| case | RFC | servers | what happened (first server) |")
print("|---|---|---|---|")
for cid, cases in sorted(by_case.items(), key=lambda kv: (-len(kv[1]), kv[0])):
    if security(cases): continue
    c = cases[0][1]
    cite = ", ".join(r["text"] for r in c["rfc"][:2])
    reason = cases[0][1]["reason"].replace("|", "\\|").replace("\n", " ")[:220]
    print(f"| {cid} | {cite} | {', '.join(n for n, _ in cases)} | {reason} |")
