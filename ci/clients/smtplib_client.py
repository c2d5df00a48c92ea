#!/usr/bin/env python3
"""A submission with Python's smtplib, for `smtpspec client --exec` (see docs/clients.md).

Usage: smtplib_client.py HOST PORT FROM MSGFILE TO [TO...] [--starttls] [--cafile F]
                         [--user U --password P]
--starttls makes TLS required (smtplib raises if STARTTLS is not offered or fails).
Exit status: 0 sent to at least one recipient, 1 refused, 2 other error."""
import argparse
import smtplib
import ssl
import sys

p = argparse.ArgumentParser()
p.add_argument("host")
p.add_argument("port", type=int)
p.add_argument("sender")
p.add_argument("msgfile")
p.add_argument("to", nargs="+")
p.add_argument("--starttls", action="store_true")
p.add_argument("--cafile")
p.add_argument("--user")
p.add_argument("--password")
a = p.parse_args()

message = open(a.msgfile, "rb").read()
try:
    with smtplib.SMTP(a.host, a.port, timeout=20) as s:
        # No explicit ehlo(): smtplib's own ehlo_or_helo_if_needed() (called by
        # starttls, login and sendmail) is the library's behaviour under test.
        if a.starttls:
            ctx = ssl.create_default_context(cafile=a.cafile) if a.cafile else ssl.create_default_context()
            ctx.check_hostname = False
            s.starttls(context=ctx)
        if a.user:
            s.login(a.user, a.password or "")
        refused = s.sendmail(a.sender, a.to, message)
        if refused:
            print("refused:", refused, file=sys.stderr)
except smtplib.SMTPException as e:
    print(type(e).__name__, e, file=sys.stderr)
    sys.exit(1)
except OSError as e:
    print("error:", e, file=sys.stderr)
    sys.exit(2)
