#!/usr/bin/env python3
"""Turns JSON reports of a lab run into verdict-snapshot fixtures (docs/verdict-snapshots.md).

A fixture keeps, for every case of one run against one server, what a replay peer
(harness/tests/replay_peer.hpp) needs to answer the runner the way the server did:

- the server's octets, each chunk tied to how many octets the client had sent on
  that connection before the chunk was read;
- where TLS started (or the handshake failed), and where the server closed;
- for the client's octets only their count and a 64-bit FNV-1a hash per stretch
  between two server events, with the case's nonce masked out (its positions are
  kept): a replay can then tell that the client sent something else than the
  recording, without the repository holding 100 kB command lines;
- "hold" where the client met silence at that count before the next chunk (the
  runner moved to a new step or a reply deadline passed): the peer then waits for
  more client octets instead of answering at once, so silence stays silence;
- the delivered message of cases whose scenario checks it (delivered_contains /
  delivered_lacks), found in the server's mail directory by the case's nonce, with
  the nonce written as {nonce}.

The format (JSON; one case per line, so that a re-recording diffs case by case):

  {"format": "smtpspec-replay", "format_version": 1, "server": NAME, "run": K,
   "recorded": {tool_version, started_at, address},
   "settings": {to, to2, strict, tls},            what the lab run used
   "target": {banner, extensions, tls_extensions, tls_description, tls_problem,
              ehlo_readable},                      the runner's target probe
   "cases": [{"id", "recorded": VERDICT, "connections": [{"script": [ACTION...],
              "nonce_at": [OFFSET...]}], "delivered": MESSAGE, "refuse_after_close",
              "truncated"}]}

  ACTION: ["s", OCTETS]        the server's octets (a string, or a list of numbers
                               when they are not UTF-8; so is MESSAGE)
          ["c", N, "HASH"]     the client has sent N octets on this connection; those
                               since the previous "c" hash to HASH (FNV-1a, 64 bits,
                               hex), with each octet of the nonce counted as "#"
          ["hold"]             the client met silence: answer after its next octets
          ["tls"] ["tls-fail"] a TLS handshake that succeeded / failed
          ["close"]            the server closed
          ["end"]              the client closed

Usage: snapshot_fixture.py --reports DIR --mail DIR --out DIR [--scenarios DIR] NAME...
reads DIR/NAME.run1.json, DIR/NAME.run2.json (more runs if present) and writes
OUT/NAME/runK.json. Run it through ci/snapshot-verdicts.sh record.
"""
import argparse
import base64
import glob
import json
import os
import re
import sys
import tomllib

FORMAT = "smtpspec-replay"
VERSION = 1

# A nonce (runner.cpp make_nonce): 12 lowercase hex digits; scenarios put it between
# characters that are not letters or digits ("-{nonce}\r\n", "<{reject}>").
NONCE = re.compile(rb"(?<![0-9A-Za-z])[0-9a-f]{12}(?![0-9A-Za-z])")
SYNC_PROBE = re.compile(rb"XSMTPSPEC-SYNC-([0-9a-f]{12})\r\n")
NONCE_LEN = 12
MASK = b"#"


def fnv1a64(data: bytes) -> str:
    """The hash the replay peer computes over a stretch of client octets (FNV-1a, 64 bits)."""
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def octets(event) -> bytes:
    if "base64" in event:
        return base64.b64decode(event["base64"])
    return event.get("bytes", "").encode("utf-8")


def text_or_octets(data: bytes):
    """The octets as a JSON string when they are UTF-8, else as a list of numbers."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return list(data)


def note(event) -> str:
    return event.get("bytes", "") if event["kind"] == "note" else ""


def waited(text: str) -> bool:
    """A runner note that says the client stopped waiting at the current count: a
    new step began without sending (read, expect_close, wait, or a send whose write
    failed) or a reply deadline passed (harness/src/runner.cpp)."""
    # A read step is not silence: what the server sends during it needs no more
    # client octets (the -waited smuggling cases read after the look-alike).
    if text.startswith("step ") and ": read for " in text:
        return False
    return text.startswith("step ") or text.startswith("deadline passed")


def split_connections(transcript):
    """The events of each connection: a connection starts at connection.cpp's
    "connected to" note. The liveness check after a close uses its own transcript."""
    out = []
    for e in transcript:
        if e["kind"] == "note" and note(e).startswith("connected to "):
            out.append([])
        elif out:
            out[-1].append(e)
    return out


def find_nonce(case) -> bytes | None:
    sent = b"".join(octets(e) for e in case["transcript"] if e["kind"] == "client")
    m = SYNC_PROBE.search(sent)
    if m:
        return m.group(1)
    counts = {}
    for m in NONCE.finditer(sent):
        counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    if not counts:
        return None
    return max(counts, key=lambda k: counts[k])  # first seen wins a tie (dicts keep order)


def record_connection(events, nonce: bytes | None):
    """One connection's replay script (see the module comment)."""
    sent = b"".join(octets(e) for e in events if e["kind"] == "client")
    nonce_at = []
    if nonce:
        pos = sent.find(nonce)
        while pos >= 0:
            nonce_at.append(pos)
            pos = sent.find(nonce, pos + NONCE_LEN)
    masked = bytearray(sent)
    for p in nonce_at:
        masked[p : p + NONCE_LEN] = MASK * NONCE_LEN

    script = []
    count = 0        # client octets so far
    hashed = 0       # client octets covered by "c" events
    idle = False     # the client met silence at this count (see waited())
    pending = b""    # server octets not yet written out (merged chunks)

    def flush_client():
        nonlocal hashed
        if count > hashed:
            flush_server()
            script.append(["c", count, fnv1a64(bytes(masked[hashed:count]))])
            hashed = count

    def flush_server():
        nonlocal pending
        if pending:
            script.append(["s", text_or_octets(pending)])
            pending = b""

    for e in events:
        kind = e["kind"]
        if kind == "client":
            count += len(octets(e))
            idle = False
        elif kind == "server":
            flush_client()
            if idle:
                flush_server()
                script.append(["hold"])
                idle = False
            pending += octets(e)
        elif kind == "tls":
            flush_client()
            flush_server()
            script.append(["tls"])
        elif kind == "note" and note(e).startswith("TLS handshake failed"):
            flush_client()
            flush_server()
            script.append(["tls-fail"])
        elif kind == "note" and waited(note(e)):
            idle = True
        elif kind == "closed":
            detail = e.get("bytes", "")
            if detail == "closed by smtpspec":
                flush_client()
                flush_server()
                script.append(["end"])
                return script, nonce_at
            flush_client()
            flush_server()
            # A close the client met on a write came before that write (the note of
            # its step is no silence); one met on a read after silence is held.
            if idle and not detail.startswith("write"):
                script.append(["hold"])
            script.append(["close"])
            # Octets the client wrote after this never reached the server.
            return script, nonce_at
    flush_client()
    flush_server()
    script.append(["end"])
    return script, nonce_at


def scenario_cases(scenarios: str):
    """Every case of the scenario files, by id."""
    cases = {}
    for path in sorted(glob.glob(os.path.join(scenarios, "**", "*.toml"), recursive=True)):
        with open(path, "rb") as f:
            try:
                doc = tomllib.load(f)
            except tomllib.TOMLDecodeError:
                continue
        for case in doc.get("case", []):
            cases[case.get("id")] = case
    return cases


def checks_delivery(case) -> bool:
    check = case.get("check", {})
    return bool(check.get("delivered_contains") or check.get("delivered_lacks"))


def ehlo_was_readable(report: dict, cases) -> bool:
    """The report does not say whether the runner could read the EHLO reply of its
    probe (runner.hpp target_probe::ehlo_readable). When it could not, the runner
    ran cases whose `needs` the target does not advertise instead of skipping them:
    such a case with a connection tells."""
    t = report["target"]
    offered = {e.split(" ")[0].upper() for e in t.get("extensions", []) + t.get("tls_extensions", [])}
    for c in report["cases"]:
        needs = cases.get(c["id"], {}).get("needs", [])
        ran = any(e["kind"] == "note" and note(e).startswith("connected to ") for e in c["transcript"])
        if ran and any(n.split(" ")[0].upper() not in offered for n in needs):
            return False
    return True


class mail_index:
    """Every message file under a mail directory, found by the nonces it holds."""

    def __init__(self, root: str):
        self.by_nonce = {}
        for dirpath, _, files in os.walk(root):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    with open(path, "rb") as f:
                        data = f.read(64 << 20)
                except OSError:
                    continue
                for m in set(NONCE.findall(data)):
                    self.by_nonce.setdefault(m, []).append(path)
        for paths in self.by_nonce.values():
            paths.sort()

    def find(self, nonce: bytes) -> bytes | None:
        paths = self.by_nonce.get(nonce)
        if not paths:
            return None
        with open(paths[0], "rb") as f:
            return f.read()


def record_run(report: dict, name: str, run: int, mail: mail_index, cases_by_id, settings):
    cases = []
    stats = {"cases": 0, "connections": 0, "server_octets": 0, "client_octets": 0, "holds": 0, "delivered": 0,
             "no_nonce": 0}
    for c in report["cases"]:
        out = {"id": c["id"], "recorded": c["verdict"]}
        stats["cases"] += 1
        if c.get("transcript_truncated"):
            out["truncated"] = True  # cannot be replayed: the test reports it
        nonce = find_nonce(c)
        conns = []
        for events in split_connections(c["transcript"]):
            script, nonce_at = record_connection(events, nonce)
            conn = {"script": script}
            if nonce_at:
                conn["nonce_at"] = nonce_at
            conns.append(conn)
            stats["connections"] += 1
            stats["holds"] += sum(1 for s in script if s[0] == "hold")
            stats["server_octets"] += sum(len(s[1]) for s in script if s[0] == "s")
            stats["client_octets"] += max([s[1] for s in script if s[0] == "c"], default=0)
        if conns:
            out["connections"] = conns
        if any(note(e).startswith("a new connection to ") and "was refused" in note(e) for e in c["transcript"]):
            out["refuse_after_close"] = True
        if nonce is None and conns:
            stats["no_nonce"] += 1
        if checks_delivery(cases_by_id.get(c["id"], {})) and nonce:
            message = mail.find(nonce)
            if message is not None:
                out["delivered"] = text_or_octets(message.replace(nonce, b"{nonce}"))
                stats["delivered"] += 1
        cases.append(out)

    t = report["target"]
    head = {
        "format": FORMAT,
        "format_version": VERSION,
        "server": name,
        "run": run,
        "recorded": {"tool_version": report["tool"]["version"], "started_at": report.get("started_at", ""),
                     "address": t.get("address", "")},
        # What the recording ran with: the replay uses the same, so the client's
        # octets (and their hashes) come out the same.
        "settings": dict(settings, strict=report["options"].get("strict", False), tls=t.get("tls", "none")),
        "target": dict({k: t.get(k, d) for k, d in (("banner", ""), ("extensions", []), ("tls_extensions", []),
                                                    ("tls_description", ""), ("tls_problem", ""))},
                       ehlo_readable=ehlo_was_readable(report, cases_by_id)),
    }
    # One case per line: a re-recording shows in a diff case by case.
    text = "{\n"
    for k, v in head.items():
        text += f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},\n"
    text += '  "cases": [\n'
    text += ",\n".join("    " + json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases)
    text += "\n  ]\n}\n"
    return text, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reports", required=True, help="directory with NAME.runK.json")
    ap.add_argument("--mail", required=True, help="the lab's mail directory ($LAB/mail), holding NAME/")
    ap.add_argument("--out", required=True, help="where NAME/runK.json go")
    ap.add_argument("--scenarios", default=os.path.join(os.path.dirname(__file__), "..", "scenarios"))
    ap.add_argument("--to", default="user@example.test")
    ap.add_argument("--to2", default="user2@example.test")
    ap.add_argument("names", nargs="+")
    args = ap.parse_args()

    cases_by_id = scenario_cases(args.scenarios)
    settings = {"to": args.to, "to2": args.to2}
    status = 0
    for name in args.names:
        runs = sorted(glob.glob(os.path.join(args.reports, f"{name}.run[0-9]*.json")))
        if not runs:
            print(f"snapshot: {name}: no reports {args.reports}/{name}.runK.json", file=sys.stderr)
            status = 1
            continue
        mail = mail_index(os.path.join(args.mail, name))
        os.makedirs(os.path.join(args.out, name), exist_ok=True)
        for old in glob.glob(os.path.join(args.out, name, "run[0-9]*.json")):
            os.remove(old)
        for path in runs:
            run = int(re.search(r"\.run([0-9]+)\.json$", path).group(1))
            with open(path, encoding="utf-8") as f:
                report = json.load(f)
            text, stats = record_run(report, name, run, mail, cases_by_id, settings)
            dest = os.path.join(args.out, name, f"run{run}.json")
            with open(dest, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"snapshot: {dest}: {len(text.encode())} octets; " +
                  ", ".join(f"{k} {v}" for k, v in stats.items()))
    return status


if __name__ == "__main__":
    sys.exit(main())
