"""Text from a peer (a server's reply, a client's command) made safe for the
Markdown pages that ci/compliance-page.py and ci/clients-page.py write: a peer's
octets are untrusted, so control octets are shown as \\xNN and markup is escaped."""
import re


def md(text, limit=300):
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", lambda m: "\\x%02X" % ord(m.group()), text.replace("\n", " "))
    text = text.replace("\r", "\\r")
    if len(text) > limit:
        text = text[:limit] + "…"
    for ch, rep in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("*", "\\*"), ("_", "\\_"), ("`", "\\`")):
        text = text.replace(ch, rep)
    return text
