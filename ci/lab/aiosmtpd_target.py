#!/usr/bin/python3
"""aiosmtpd (Debian python3-aiosmtpd) as a lab target for smtpspec.

Runs aiosmtpd's documented Controller with its defaults, plus only what the lab needs:
  - bind 127.0.0.1:PORT (lab port)
  - tls_context: STARTTLS with the lab certificate (aiosmtpd offers STARTTLS only
    when given a context; require_starttls stays at its default, False)
  - server_hostname: a fixed name, so aiosmtpd does not call socket.getfqdn() (DNS)
  - a handler with the lab's recipient policy: user@, user2@, postmaster@example.test
    and the bare <Postmaster> (RFC 5321 4.5.1) accepted, local parts case-insensitive;
    other example.test addresses 550 5.1.1; other domains 550 5.7.1 (no relaying).
    aiosmtpd's own default would accept every recipient.
  - an authenticator that accepts the lab's test account smtpspec/smtpspec (smtpspec's
    default --auth-user/--auth-password). aiosmtpd always offers AUTH after STARTTLS;
    without an authenticator every AUTH would fail.
  - each accepted message is stored as one file per recipient in a Maildir
    MAILDIR/<mailbox>/new/ (the bytes received, dot-unstuffed, nothing added).
Kept at the Controller's defaults: enable_SMTPUTF8=True (the Controller's default),
data_size_limit (32 MiB), timeout, ident, decode_data=False.
Stops on SIGTERM/SIGINT.
"""
import argparse
import os
import signal
import ssl
import threading
import time
import uuid

import aiosmtpd
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

DOMAIN = "example.test"
MAILBOXES = {"user", "user2", "postmaster"}
AUTH_USER, AUTH_PASSWORD = b"smtpspec", b"smtpspec"


def lab_authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == AUTH_USER and auth_data.password == AUTH_PASSWORD
    # handled=False: aiosmtpd sends its own 235 or 535 reply (handled=True means "already replied")
    return AuthResult(success=ok, handled=False)


class LabHandler:
    def __init__(self, maildir):
        self.maildir = maildir

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local, at, domain = address.rpartition("@")
        if not at and domain.lower() == "postmaster":
            envelope.rcpt_tos.append(address)
            return "250 OK"
        if domain.lower() != DOMAIN:
            return "550 5.7.1 Relaying denied"
        if local.lower() not in MAILBOXES:
            return "550 5.1.1 User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content
        if content is None:
            content = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode("utf-8", "surrogateescape")
        for rcpt in envelope.rcpt_tos:
            box = (rcpt.rpartition("@")[0] or rcpt).lower()
            new = os.path.join(self.maildir, box, "new")
            tmp = os.path.join(self.maildir, box, "tmp")
            os.makedirs(new, exist_ok=True)
            os.makedirs(tmp, exist_ok=True)
            name = f"{time.time():.6f}.{uuid.uuid4().hex}.aiosmtpd"
            with open(os.path.join(tmp, name), "wb") as f:
                f.write(content)
            os.rename(os.path.join(tmp, name), os.path.join(new, name))
        return "250 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=10029)
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--hostname", default="aiosmtpd.lab.test")
    a = ap.parse_args()

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    os.makedirs(a.maildir, exist_ok=True)

    controller = Controller(LabHandler(a.maildir), hostname="127.0.0.1", port=a.port,
                            server_hostname=a.hostname, tls_context=ctx,
                            authenticator=lab_authenticator)
    controller.start()
    print(f"aiosmtpd {aiosmtpd.__version__} listening on 127.0.0.1:{a.port}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
