# shellcheck shell=bash
# Postfix's smtp-sink benchmark server (Debian package `postfix`), 127.0.0.1:10032:
#   smtp-sink -c -u postfix -d TEMPLATE 127.0.0.1:10032 1000
# A test sink, not an MTA: it accepts every command and recipient (no recipient policy,
# no relaying decisions) and has NO TLS support at all (smtp-sink(1) has no STARTTLS),
# so it cannot meet the lab's STARTTLS requirement. -d stores each transaction as a
# file under $LAB/mail/smtp-sink/ (envelope summary + message) for a --maildir probe.
# Runs from its own extraction of the postfix package (root/smtp-sink).

smtp_sink_install() {
  # shellcheck disable=SC2046
  lab_download $(postfix_debs)
  # shellcheck disable=SC2046
  lab_extract smtp-sink $(postfix_debs)
  lab_user postfix postfix /var/spool/postfix
  mkdir -p "$LAB/mail/smtp-sink"
  chown postfix "$LAB/mail/smtp-sink"
}

smtp_sink_start() {
  lab_listening 10032 && return 0
  lab_kill smtp-sink >/dev/null 2>&1 || true
  LD_LIBRARY_PATH="$LAB/root/smtp-sink/usr/lib/postfix" lab_spawn smtp-sink \
    "$LAB/root/smtp-sink/usr/sbin/smtp-sink" -c -u postfix -d "$LAB/mail/smtp-sink/%Y%m%d%H/%M." \
    127.0.0.1:10032 1000
  lab_wait_port 10032 10
}

smtp_sink_stop() { lab_kill smtp-sink; }

smtp_sink_version() {
  [[ -x $LAB/root/smtp-sink/usr/sbin/smtp-sink ]] || return 1
  echo "smtp-sink (Postfix $(LD_LIBRARY_PATH="$LAB/root/smtp-sink/usr/lib/postfix" \
    "$LAB/root/smtp-sink/usr/sbin/postconf" -c "$LAB/root/smtp-sink/etc/postfix" -dh mail_version 2>/dev/null), Debian $(lab_deb_version postfix))"
}
