#!/usr/bin/env python3
"""Prints the results part of docs/clients.md from a client run
(ci/realclients.sh --out OUT ...): per client its case counts and its distinct
defects (one per rule and observation, counted in the case that owns it:
docs/verdicts.md).
Usage: ci/clients-page.py OUT_DIR [CLIENT...]   (default: curl smtplib msmtp swaks nodemailer)"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from markdown_text import md  # noqa: E402

out = sys.argv[1]
clients = sys.argv[2:] or ["curl", "smtplib", "msmtp", "swaks", "nodemailer"]


runs = {}
for c in clients:
    path = f"{out}/{c}.json"
    if os.path.exists(path):
        runs[c] = json.load(open(path))

cases = len(next(iter(runs.values()))["cases"]) if runs else 0
print(f"| client | distinct defects: MUST | SHOULD | PASS | FAIL | WARN | SKIP | ERROR |")
print("|---|---|---|---|---|---|---|---|")
for c, d in runs.items():
    k = d["counts"]
    must = sum(x["level"] == "MUST" for x in d["defects"])
    should = sum(x["level"] == "SHOULD" for x in d["defects"])
    print(f"| {c} | {must} | {should} | {k['PASS']} | {k['FAIL']} | {k['WARN']} | {k['SKIP']} | {k['ERROR']} |")
print()
print(f"({cases} cases per client.) Distinct defects per client:\n")
for c, d in runs.items():
    print(f"- **{c}**:" + (" none." if not d["defects"] else ""))
    for x in d["defects"]:
        seen = len(x["cases"])
        where = f"`{x['owner']}`" + (f", seen in {seen} cases" if seen > 1 else "")
        print(f"  - **{x['level']}** {x['rfc']['text']}: {md(x['text'])} ({where})")
print()
