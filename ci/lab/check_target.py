#!/usr/bin/env python3
"""Checks one lab server by hand, the way the lab promises it works (smtplib only).

Usage (inside the namespace; ci/targets.sh check does this):
  check_target.py NAME PORT MAILDIR [--kind final|sink|relay] [--sink-port 10040]

final: EHLO offers STARTTLS, the TLS handshake completes, user@example.test is
       accepted and the message shows up as a file under MAILDIR, nobody@example.test
       gets 550, x@other.test (relaying) is refused.
sink:  STARTTLS (if offered: smtp-sink has none) and a message to user@example.test accepted (nothing is stored).
relay: STARTTLS; x@relay.test accepted and forwarded to a sink this script runs on
       127.0.0.1:SINK-PORT (skipped if that port is busy); x@other.test refused.
Exit status 0 when every check passed.
"""
import argparse
import os
import smtplib
import socket
import ssl
import sys
import threading
import time
import uuid

failures = []


def check(ok, what):
    print(("  ok    " if ok else "  FAIL  ") + what)
    if not ok:
        failures.append(what)


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def session(port, tls_optional=False):
    s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.lab.test", timeout=30)
    code, _ = s.ehlo()
    check(code == 250, f"EHLO answered {code}")
    if tls_optional and not s.has_extn("starttls"):
        print("  skip  no STARTTLS offered (this server has no TLS support)")
        return s
    check(s.has_extn("starttls"), "EHLO offers STARTTLS")
    try:
        code, _ = s.starttls(context=tls_context())
    except (ssl.SSLError, OSError) as e:
        check(False, f"TLS handshake completed ({type(e).__name__}: {e}); going on without TLS")
        s.close()
        s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.lab.test", timeout=30)
        s.ehlo()
        return s
    check(code == 220, f"STARTTLS answered {code}")
    check(isinstance(s.sock, ssl.SSLSocket), f"TLS handshake completed ({s.sock.version() if isinstance(s.sock, ssl.SSLSocket) else '-'})")
    code, _ = s.ehlo()
    check(code == 250, f"EHLO after TLS answered {code}")
    return s


def message(marker, to):
    return (f"From: lab-check <check@client.lab.test>\r\nTo: <{to}>\r\n"
            f"Subject: lab check {marker}\r\nMessage-ID: <{marker}@client.lab.test>\r\n\r\n"
            f"lab check body {marker}\r\n")


def find_marker(directory, marker, seconds):
    end = time.time() + seconds
    while time.time() < end:
        for root, _dirs, files in os.walk(directory):
            for f in files:
                try:
                    with open(os.path.join(root, f), "rb") as fh:
                        if marker.encode() in fh.read():
                            return os.path.join(root, f)
                except OSError:
                    pass
        time.sleep(0.2)
    return None


class Sink(threading.Thread):
    """A one-message SMTP sink for the relay check."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(5)
        self.sock.settimeout(60)
        self.data = b""

    def run(self):
        try:
            while True:
                conn, _ = self.sock.accept()
                f = conn.makefile("rb")
                conn.sendall(b"220 sink ESMTP\r\n")
                indata = False
                for line in f:
                    if indata:
                        self.data += line
                        if line == b".\r\n":
                            indata = False
                            conn.sendall(b"250 ok\r\n")
                        continue
                    verb = line[:4].upper()
                    if verb in (b"EHLO", b"HELO"):
                        conn.sendall(b"250 sink\r\n")
                    elif verb == b"DATA":
                        indata = True
                        conn.sendall(b"354 go\r\n")
                    elif verb == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        break
                    else:
                        conn.sendall(b"250 ok\r\n")
                conn.close()
        except OSError:
            pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("port", type=int)
    ap.add_argument("maildir")
    ap.add_argument("--kind", default="final", choices=["final", "sink", "relay"])
    ap.add_argument("--sink-port", type=int, default=10040)
    a = ap.parse_args()
    marker = "labcheck-" + uuid.uuid4().hex
    print(f"{a.name} (127.0.0.1:{a.port}, {a.kind})")
    try:
        if a.kind == "relay":
            try:
                sink = Sink(a.sink_port)
                sink.start()
            except OSError as e:
                sink = None
                print(f"  skip  forwarding check: 127.0.0.1:{a.sink_port} busy ({e})")
            s = session(a.port)
            s.mail("check@client.lab.test")
            code, _ = s.rcpt("x@relay.test")
            check(code == 250, f"RCPT x@relay.test answered {code}")
            s.rset()
            s.mail("check@client.lab.test")
            code, _ = s.rcpt("x@other.test")
            check(code >= 400, f"RCPT x@other.test (relay) refused with {code}")
            s.rset()
            s.sendmail("check@client.lab.test", ["x@relay.test"], message(marker, "x@relay.test"))
            s.quit()
            if sink:
                end = time.time() + 30
                while time.time() < end and marker.encode() not in sink.data:
                    time.sleep(0.2)
                check(marker.encode() in sink.data, f"message forwarded to 127.0.0.1:{a.sink_port}")
        else:
            s = session(a.port, tls_optional=a.kind == "sink")
            s.mail("check@client.lab.test")
            code, _ = s.rcpt("user@example.test")
            check(code == 250, f"RCPT user@example.test answered {code}")
            if a.kind == "final":
                s.rset()
                s.mail("check@client.lab.test")
                code, _ = s.rcpt("nobody@example.test")
                check(code == 550, f"RCPT nobody@example.test refused with {code} (want 550)")
                s.rset()
                s.mail("check@client.lab.test")
                code, _ = s.rcpt("x@other.test")
                check(code >= 400, f"RCPT x@other.test (relay) refused with {code}")
            s.rset()
            refused = s.sendmail("check@client.lab.test", ["user@example.test"], message(marker, "user@example.test"))
            check(not refused, "message to user@example.test accepted")
            s.quit()
            if a.kind == "final":
                path = find_marker(a.maildir, marker, 30)
                check(path is not None, f"message stored as a file ({path or 'not found under ' + a.maildir})")
    except (smtplib.SMTPException, OSError) as e:
        check(False, f"session failed: {type(e).__name__}: {e}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
