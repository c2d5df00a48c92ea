#!/usr/bin/env python3
"""Writes the seed corpora of the reference fuzz targets (NAME_corpus/ beside this
file): small, realistic inputs, one file per case, named for what they hold.

Each target's input layout is described at the top of its .cpp file; the header
octets are spelled out here. Re-running rewrites the same files; inputs libFuzzer
found and someone chose to keep are left alone.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, target + "_corpus")
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- command_parser_fuzzer: one command line, no CRLF ------------------------------------
COMMANDS = {
    "ehlo_domain": "EHLO mx.example.com",
    "helo_domain": "HELO client.example.org",
    "ehlo_ipv4_literal": "EHLO [192.0.2.1]",
    "ehlo_ipv6_literal": "EHLO [IPv6:2001:db8::1]",
    "ehlo_bad_label": "EHLO -bad-.example",
    "mail_simple": "MAIL FROM:<alice@example.com>",
    "mail_null_path": "MAIL FROM:<>",
    "mail_params": "MAIL FROM:<alice@example.com> SIZE=12345 BODY=8BITMIME",
    "mail_source_route": "MAIL FROM:<@relay.example,@b.example:alice@example.com>",
    "mail_quoted_local": 'MAIL FROM:<"john \\"jd\\" doe"@example.com>',
    "mail_utf8": "MAIL FROM:<j\u00fcrgen@b\u00fccher.example> SMTPUTF8",
    "mail_space_after_colon": "mail from: <a@b.example>",
    "mail_missing_brackets": "MAIL FROM:alice@example.com",
    "mail_bad_literal": "MAIL FROM:<a@[192.0.2.300]>",
    "mail_duplicate_param": "MAIL FROM:<a@b.example> SIZE=1 size=2",
    "mail_auth_param": "MAIL FROM:<a@b.example> AUTH=<>",
    "rcpt_simple": "RCPT TO:<bob@example.org>",
    "rcpt_postmaster": "RCPT TO:<Postmaster>",
    "rcpt_dsn": "RCPT TO:<postmaster@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob@example.org",
    "data": "DATA",
    "data_argument": "DATA now",
    "rset": "RSET",
    "vrfy_user": "VRFY alice",
    "vrfy_mailbox_smtputf8": "VRFY alice@example.com SMTPUTF8",
    "expn_list": "EXPN staff",
    "help_topic": "HELP MAIL",
    "noop_quoted": 'NOOP "hello world"',
    "noop_trailing_space": "NOOP   ",
    "quit": "QUIT",
    "starttls": "STARTTLS",
    "starttls_tab": "STARTTLS\t",
    "auth_plain_ir": "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
    "auth_login": "auth login",
    "auth_empty_response": "AUTH PLAIN =",
    "bdat_chunk": "BDAT 1000",
    "bdat_last": "BDAT 0 LAST",
    "bdat_overflow": "BDAT 99999999999999999999 LAST",
    "over_long": "MAIL FROM:<" + "a" * 60 + "@" + ("b" * 60 + ".") * 8 + "example>",
    "unknown_verb": "XCLIENT ADDR=192.0.2.1",
}

# ---- reply_parser_fuzzer: [flags] [cut 1] [cut 2] + server octets ------------------------
# flags: 1 allow_any_code, 2 allow_utf8, 4 max_lines 3, 8 max_line_length 40, 16 LF ends lines
REPLIES = {
    "greeting": (0, 128, 200, "220 mx.example.com ESMTP Postfix\r\n"),
    "ehlo_multiline": (0, 30, 60, "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n"),
    "enhanced_ok": (0, 0, 255, "250 2.1.0 Ok\r\n"),
    "start_mail_input": (0, 100, 101, "354 End data with <CR><LF>.<CR><LF>\r\n"),
    "relay_denied": (0, 250, 251, "550 5.7.1 <x@elsewhere.example>: Relay access denied\r\n"),
    "timeout_421": (0, 10, 20, "421 4.4.2 mx.example.com Error: timeout exceeded\r\n"),
    "bare_code": (0, 85, 170, "250\r\n"),
    "code_changes": (0, 120, 130, "250-first line\r\n251 second line\r\n"),
    "pipelined_replies": (0, 64, 191, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n"),
    "greeting_multiline": (0, 40, 180, "220-mx.example.com ESMTP\r\n220-no UCE\r\n220 ready\r\n"),
    "bare_lf_lines": (16, 50, 150, "220 mx.example.com\n250-a\n250 b\r\n"),
    "utf8_text": (2, 90, 160, "250 2.0.0 Gr\u00fc\u00dfe aus M\u00fcnchen\r\n"),
    "utf8_not_allowed": (0, 90, 160, "250 2.0.0 Gr\u00fc\u00dfe\r\n"),
    "any_code": (1, 77, 99, "600 unusual\r\n099 odd\r\n"),
    "help_reply": (0, 60, 200, "214-2.0.0 Commands: HELO EHLO MAIL\r\n214 2.0.0 RCPT DATA QUIT\r\n"),
    "status_leading_zero": (0, 5, 250, "250 2.01.0 leading zero\r\n"),
    "status_class_mismatch": (0, 5, 250, "550 2.1.0 mismatch\r\n"),
    "truncated": (0, 128, 255, "250-a\r\n250-b"),
    "line_too_long": (0, 128, 255, "250 " + "x" * 600 + "\r\n250 ok\r\n"),
    "auth_challenge": (0, 7, 8, "334 VXNlcm5hbWU6\r\n"),
    "too_many_lines": (4, 100, 200, "250-a\r\n250-b\r\n250-c\r\n250-d\r\n250 e\r\n"),
    "short_line_limit": (8, 100, 200, "250 this line is longer than forty octets, surely\r\n"),
    "split_crlf": (0, 66, 67, "500 5.5.2 Error: bad syntax\r\n221 2.0.0 Bye\r\n"),
    "tab_and_cr": (0, 1, 254, "250 a\tb\r\n250 c\rd\r\n"),
}

# ---- ehlo_extensions_fuzzer: an EHLO reply ------------------------------------------------
EHLOS = {
    "postfix": "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n"
               "250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n",
    "exim": "250-mx.example.org Hello client.example [192.0.2.7]\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
            "250-PIPELINING\r\n250-AUTH PLAIN LOGIN\r\n250-CHUNKING\r\n250-STARTTLS\r\n250 HELP\r\n",
    "opensmtpd": "250-mx.example.net Hello client [192.0.2.9], pleased to meet you\r\n250-8BITMIME\r\n"
                 "250-ENHANCEDSTATUSCODES\r\n250-SIZE 36700160\r\n250-DSN\r\n250 HELP\r\n",
    "submission_auth": "250-smtp.example.com at your service\r\n250-SIZE 35882577\r\n250-8BITMIME\r\n"
                       "250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n250-ENHANCEDSTATUSCODES\r\n"
                       "250-PIPELINING\r\n250-CHUNKING\r\n250 SMTPUTF8\r\n",
    "legacy_auth": "250-mail.example.com\r\n250-AUTH LOGIN PLAIN\r\n250-AUTH=LOGIN PLAIN\r\n250 HELP\r\n",
    "size_no_limit": "250-mx.example.com\r\n250 SIZE\r\n",
    "size_overflow": "250-mx.example.com\r\n250 SIZE 99999999999999999999999\r\n",
    "size_two_params": "250-mx.example.com\r\n250 SIZE 10 20\r\n",
    "lower_case": "250-mx.example.com\r\n250-pipelining\r\n250-size 1000\r\n250 auth plain login\r\n",
    "literal_domain": "250-[192.0.2.1] hi\r\n250 PIPELINING\r\n",
    "single_line": "250 mx.example.com\r\n",
    "trailing_space": "250-mx.example.com \r\n250 8BITMIME \r\n",
    "double_space": "250-mx.example.com\r\n250 AUTH  PLAIN\r\n",
    "long_mechanism": "250-mx.example.com\r\n250 AUTH ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n",
    "bad_mechanism": "250-mx.example.com\r\n250 AUTH PL@IN\r\n",
    "not_250": "502 5.5.1 EHLO not implemented\r\n",
    "no_domain": "250- \r\n250 PIPELINING\r\n",
    "keyword_dash": "250-mx.example.com\r\n250--PIPELINING\r\n",
    "hand_built_lf": "mx.example.com greets you\nPIPELINING\nSIZE 100\nAUTH CRAM-MD5 DIGEST-MD5\n",
    "control_in_param": "250-mx.example.com\r\n250 XFOO a\x01b\r\n",
    "duplicate_keyword": "250-mx.example.com\r\n250-SIZE 100\r\n250 SIZE 200\r\n",
}

# ---- data_decoder_fuzzer: [mode] [max_line] [cut 1] [cut 2] + octets after 354 ----------------
# mode: 1 keep_stuffed_dot, 2 all dot sequences end, 4 LF.LF + CRLF.LF end, 8 octet by octet,
#       16 max_records 4. max_line & 3: 1000, 78, 10, 2.
MAIL = "From: a@example.com\r\nTo: b@example.org\r\nSubject: test\r\n\r\n"
DATA = {
    "simple": (0, 0, 60, 120, MAIL + "Hello\r\n.\r\n"),
    "stuffed": (0, 0, 30, 31, MAIL + "..leading dot\r\n...two\r\n.\r\n"),
    "empty": (0, 0, 1, 2, ".\r\n"),
    "unstuffed_dot": (0, 0, 5, 10, ".abc\r\n.\r\n"),
    "smuggle_lf_dot_lf": (0, 0, 40, 80, MAIL + "x\n.\nMAIL FROM:<evil@example.com>\r\n.\r\n"),
    "smuggle_crlf_dot_lf": (4, 0, 40, 80, MAIL + "x\r\n.\nRCPT TO:<v@example.org>\r\n.\r\n"),
    "smuggle_lf_dot_crlf": (2, 0, 40, 80, MAIL + "x\n.\r\nDATA\r\n.\r\n"),
    "smuggle_cr_dot_cr": (2, 0, 40, 80, MAIL + "x\r.\rQUIT\r\n.\r\n"),
    "smuggle_crlf_dot_cr": (0, 0, 90, 91, MAIL + "x\r\n.\rNOOP\r\n.\r\n"),
    "smuggle_cr_dot_lf": (2, 0, 10, 200, "a\r.\nb\r\n.\r\n"),
    "nul_octets": (0, 0, 3, 7, "a\x00b\r\n\x00\r\n.\r\n"),
    "overlong_line": (0, 2, 9, 11, "0123456789abcdef\r\n.short\r\n.\r\n"),
    "tiny_line_limit": (0, 3, 1, 4, "ab\r\n.\r\n"),
    "unterminated": (0, 0, 10, 20, MAIL + "no end yet\r\n."),
    "held_dot_cr": (0, 0, 2, 3, "a\r\n.\r"),
    "keep_stuffed_dot": (1, 0, 4, 8, "..x\r\n.y\r\n.\r\n"),
    "bytewise": (8, 0, 0, 0, "a\r\r\n.\n.\r\n..\r\n.\r\n"),
    "many_anomalies": (16, 1, 20, 40, "\n\n\n\r\r\r\n.\n.\r.\r\n.\r\n"),
    "pipelined_after_end": (0, 0, 20, 21, "body\r\n.\r\nQUIT\r\n"),
    "binary_8bit": (0, 0, 7, 9, "caf\u00e9 \u00fc\xff\r\n.\r\n"),
    "crlf_split": (0, 0, 127, 128, "line one\r\nline two\r\n.\r\n"),
}

# ---- session_fuzzer: [config 0] [config 1] [defect] + client octets, 0xFF ends a write ---------
# config 0: 1 PIPELINING, 2 SIZE, 4 8BITMIME, 8 SMTPUTF8, 16 CHUNKING, 32 ENHANCEDSTATUSCODES,
#           64 TLS available, 128 implicit TLS. config 1: 1 HELP, 2-4 size limit, 8-16 recipient
#           limit, 32 client closes, 64 timeout, 128 defect.
ALL = 0x7F
B = b"\xff"


def lines(*ls):
    return "".join(l + "\r\n" for l in ls)


TXN = lines("EHLO client.example.test", "MAIL FROM:<alice@example.test>", "RCPT TO:<bob@example.test>", "DATA")
BODY = "Subject: hi\r\n\r\nHello\r\n..dot\r\n.\r\n"
SESSIONS = {
    "plain_mail": (ALL, 1, 0, [TXN, BODY, lines("QUIT")]),
    "pipelined": (ALL, 1, 0, [TXN + BODY + lines("QUIT")]),
    "helo_session": (ALL, 1, 0, [lines("HELO client.example.test", "MAIL FROM:<>", "RCPT TO:<Postmaster>", "DATA"),
                                 "x\r\n.\r\n", lines("QUIT")]),
    "bdat": (ALL, 1, 0, [lines("EHLO c.example.test", "MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>",
                               "BDAT 7") + "Hello\r\n" + lines("BDAT 0 LAST", "QUIT")]),
    "bdat_without_rcpt": (ALL, 1, 0, [lines("EHLO c.example.test", "MAIL FROM:<a@example.test>", "BDAT 5") +
                                      "12345" + lines("RSET", "QUIT")]),
    "starttls_injection": (ALL, 1, 0, [lines("EHLO c.example.test", "STARTTLS", "MAIL FROM:<evil@example.test>"),
                                       lines("EHLO c.example.test", "QUIT")]),
    "auth_plain": (ALL, 1, 0, [lines("EHLO c.example.test", "STARTTLS"),
                               lines("EHLO c.example.test", "AUTH PLAIN AHNtdHBzcGVjAHNtdHBzcGVj", "QUIT")]),
    "auth_login": (ALL, 1, 0, [lines("EHLO c.example.test", "STARTTLS"),
                               lines("EHLO c.example.test", "AUTH LOGIN"), lines("c210cHNwZWM="),
                               lines("c210cHNwZWM="), lines("AUTH PLAIN", "*", "QUIT")]),
    "auth_in_clear": (ALL, 1, 0, [lines("EHLO c.example.test", "AUTH PLAIN AHUAcA==", "QUIT")]),
    "smuggling_lf_dot_lf": (ALL, 1, 0, [TXN, "x\n.\nMAIL FROM:<evil@example.test>\r\n.\r\n", lines("QUIT")]),
    "smuggling_defect": (ALL, 129, 0, [TXN, "x\n.\nMAIL FROM:<evil@example.test>\r\n.\r\n", lines("QUIT")]),
    "overlong_command": (ALL, 1, 0, ["NOOP " + "x" * 600 + "\r\n", lines("EHLO c.example.test", "QUIT")]),
    "misc_commands": (ALL, 1, 0, [lines("HELP", "VRFY alice", "EXPN staff", "NOOP", "RSET", "EHLO c.example.test",
                                        "HELP DATA", "VRFY <bob@example.test>", "NOOP \"x\"", "QUIT")]),
    "size_exceeded": (ALL, 1 | (2 << 1), 0, [TXN, "A" * 80 + "\r\n.\r\n", lines("QUIT")]),
    "size_declared": (ALL, 1 | (1 << 1), 0, [lines("EHLO c.example.test", "MAIL FROM:<a@example.test> SIZE=5000",
                                                   "MAIL FROM:<a@example.test> SIZE=500", "QUIT")]),
    "relay_and_reject": (ALL, 1, 0, [lines("EHLO c.example.test", "MAIL FROM:<a@example.test>",
                                           "RCPT TO:<x@elsewhere.example>", "RCPT TO:<reject-me@example.test>",
                                           "DATA", "RCPT TO:<ok@example.test>", "DATA"), ".\r\n", lines("QUIT")]),
    "too_many_recipients": (ALL, 1 | (1 << 3), 0, [lines("EHLO c.example.test", "MAIL FROM:<a@example.test>",
                                                         "RCPT TO:<b@example.test>", "RCPT TO:<c@example.test>",
                                                         "DATA"), "hi\r\n.\r\n", lines("QUIT")]),
    "before_ehlo": (ALL, 1, 0, [lines("MAIL FROM:<a@example.test>", "RCPT TO:<b@example.test>", "DATA", "STARTTLS",
                                      "BDAT 3") + "abc" + lines("QUIT")]),
    "split_writes": (ALL, 1, 0, ["EH", "LO c.exa", "mple.test\r", "\nMAIL FROM:<a@example.test>\r\nRC",
                                 "PT TO:<b@example.test>\r\nDATA\r\n", "x\r\n.", "\r\nQUIT\r\n"]),
    "smtputf8": (ALL, 1, 0, [lines("EHLO c.example.test", "MAIL FROM:<j\u00fcrgen@example.test> SMTPUTF8",
                                   "RCPT TO:<gr\u00fc\u00dfe@example.test>", "DATA"), "caf\u00e9\r\n.\r\n",
                             lines("MAIL FROM:<j\u00fcrgen@example.test>", "QUIT")]),
    "no_extensions": (0, 0, 0, [lines("EHLO c.example.test", "STARTTLS", "BDAT 1 LAST") + "x" +
                                lines("MAIL FROM:<a@example.test> BODY=8BITMIME", "HELP", "QUIT")]),
    "implicit_tls": (0xFF, 1, 0, [lines("EHLO c.example.test", "STARTTLS", "AUTH LOGIN c210cHNwZWM="),
                                  lines("c210cHNwZWM="), lines("QUIT")]),
    "client_closes_mid_data": (ALL, 1 | 32, 0, [TXN, "partial body\r\n"]),
    "idle_timeout": (ALL, 1 | 64, 0, [lines("EHLO c.example.test", "MAIL FROM:<a@example.test>")]),
    "after_quit": (ALL, 1, 0, [lines("QUIT", "NOOP"), lines("NOOP")]),
    "trailing_blanks": (ALL, 1, 0, [lines("EHLO c.example.test ", "MAIL FROM:<a@example.test>  ",
                                          "RCPT TO:<b@example.test>\t", "DATA "), "x\r\n.\r\n", lines("QUIT ")]),
    "judge_client_bare_lf": (ALL, 1, 1, [lines("EHLO early.example.test"),
                                          "MAIL FROM:<a@example.test>\nRCPT TO:<b@example.test>\r\nDATA\r\n",
                                          "x\n.\n", lines("QUIT")]),
    "auth_in_plaintext": (ALL, 1, 2, [lines("EHLO c.example.test", "AUTH PLAIN AHNtdHBzcGVjAHNtdHBzcGVj",
                                            "AUTH LOGIN", "MAIL FROM:<a@example.test>", "QUIT")]),
    "defect_starttls": (ALL, 129, 1, [lines("EHLO c.example.test", "STARTTLS", "MAIL FROM:<evil@example.test>")]),
    "defect_multiline": (ALL, 129, 3, [lines("EHLO c.example.test", "HELP", "QUIT")]),
    "defect_unbounded": (ALL, 129, 7, ["NOOP " + "y" * 2000, "\r\n" + lines("QUIT")]),
}


def main():
    for name, line in COMMANDS.items():
        write("command_parser_fuzzer", name, line)
    for name, (flags, c1, c2, text) in REPLIES.items():
        write("reply_parser_fuzzer", name, bytes([flags, c1, c2]) + text.encode("utf-8"))
    for name, text in EHLOS.items():
        write("ehlo_extensions_fuzzer", name, text)
    for name, (mode, line, c1, c2, text) in DATA.items():
        payload = text.encode("latin-1") if name == "binary_8bit" else text.encode("utf-8")
        write("data_decoder_fuzzer", name, bytes([mode, line, c1, c2]) + payload)
    for name, (c0, c1, defect, writes) in SESSIONS.items():
        body = B.join(w.encode("utf-8") for w in writes)
        write("session_fuzzer", name, bytes([c0, c1, defect]) + body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
