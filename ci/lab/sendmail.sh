# shellcheck shell=bash
# Sendmail (Debian sendmail-bin, sendmail-base, sendmail-cf; m4 and the libraries
# from .debs too) from a private root, 127.0.0.1:10028.
#
# sendmail.cf is built with m4 from ci/lab/sendmail.mc.in, which is Debian's
# usr/share/sendmail/cf/debian/sendmail.mc (OSTYPE debian, DOMAIN debian-mta, the same
# FEATUREs and options: greet_pause 1 s, conncontrol, ratecontrol, delay_checks,
# privacy flags, bad-recipient throttle...) plus what the lab needs. Changes from the
# Debian default, and why:
#   MAIL_SETTINGS_DIR, QUEUE_DIR, STATUS_FILE, confPID_FILE, ...   into the instance dir
#   DAEMON_OPTIONS Port=10028 (Addr=127.0.0.1 as Debian); no MSP daemon on port 587
#   confDOMAIN_NAME      a fixed FQDN ($j): sendmail would otherwise resolve the host name
#   confSERVICE_SWITCH_FILE  hosts and aliases from files only: no DNS
#   FEATURE(accept_unresolvable_domains)   the sender-domain check needs DNS
#   confSERVER_CERT/KEY, confCACERT*   STARTTLS with the lab certificate (Debian's
#                        template has no TLS until sendmailconfig adds it)
#   FEATURE(virtusertable) + VIRTUSER_DOMAIN(example.test)   the three mailboxes, each to
#                        an alias that pipes the message to ci/lab/sendmail_deliver.sh
#                        (one file per message under LAB/mail/sendmail/<mailbox>/new);
#                        "@example.test error:5.1.1:550 User unknown" for the rest
#   an empty access database (Debian's access file lets localhost relay)
#   sendmail.cf, ruleset Relay_ok: the rules "client 127.0.0.1 / ::1 -> RELAY
#                        (originated locally)", "client address in class w -> RELAY" and
#                        "client name in class w -> RELAY" are removed: every lab client
#                        is on loopback (address 127.0.0.1, name localhost) and would be
#                        allowed to relay; sendmail has no option for it
# Not included: Debian's dialup.m4/provider.m4 (generated empty by sendmailconfig).

sendmail_debs() {
  echo sendmail-bin sendmail-base sendmail-cf
  lab_not_installed m4 liblockfile1 libwrap0 libdb5.3 libldap-2.5-0 libsasl2-2 libssl3 libnsl2
}

sendmail_install() {
  local root="$LAB/root/sendmail" dir="$LAB/sendmail" m
  # shellcheck disable=SC2046
  lab_download $(sendmail_debs)
  # shellcheck disable=SC2046
  lab_extract sendmail $(sendmail_debs)
  # Set-id bits off in the private copy: a set-id exec ignores LD_LIBRARY_PATH (libwrap0
  # and liblockfile1 live in the private root); root starts the daemon anyway.
  find "$root/usr/libexec/sendmail" "$root/usr/sbin" -type f -perm /6000 -exec chmod ug-s {} +
  lab_user smmta smmta /var/lib/sendmail
  lab_user smmsp smmsp /var/lib/sendmail
  rm -rf "$dir/cf"
  mkdir -p "$dir/etc" "$dir/lib/host_status" "$dir/run" "$dir/spool/mqueue" "$LAB/mail/sendmail"
  chmod 700 "$dir/spool/mqueue"
  chown mail:mail "$LAB/mail/sendmail"
  # The cf tree, with its absolute /usr/share/sendmail paths pointed at the copy.
  cp -r "$root/usr/share/sendmail/cf" "$dir/cf"
  grep -rl '/usr/share/sendmail' "$dir/cf" | xargs sed -i "s|/usr/share/sendmail/cf|$dir/cf|g"
  install -m 755 "$LAB_CI_DIR/sendmail_deliver.sh" "$dir/deliver"
  lab_tls_copy "$dir/etc/tls" root:root 600
  printf 'hosts\tfiles\naliases\tfiles\n' >"$dir/etc/service.switch"
  printf 'localhost\nsendmail.lab.test\n' >"$dir/etc/local-host-names"
  : >"$dir/etc/trusted-users"
  : >"$dir/etc/relay-domains"
  : >"$dir/etc/access"
  {
    for m in "${LAB_MAILBOXES[@]}"; do printf '%s@%s\tlab-%s\n' "$m" "$LAB_DOMAIN" "$m"; done
    printf '@%s\terror:5.1.1:550 User unknown\n' "$LAB_DOMAIN"
  } >"$dir/etc/virtusertable"
  {
    echo "# lab: the mailboxes of $LAB_DOMAIN (see ci/lab/sendmail.sh)"
    for m in "${LAB_MAILBOXES[@]}"; do printf 'lab-%s: "|%s %s"\n' "$m" "$dir/deliver" "$m"; done
    echo "postmaster: lab-postmaster"
    echo "MAILER-DAEMON: postmaster"
  } >"$dir/etc/aliases"
  # Debian's helpfile, where the generated sendmail.cf looks for it (HelpFile):
  # without it Sendmail advertises HELP and answers it 502.
  cp "$root/etc/mail/helpfile" "$dir/etc/helpfile"
  lab_render "$LAB_CI_DIR/sendmail.mc.in" "$dir/etc/sendmail.mc" "ROOT=$root" "DIR=$dir" "DOMAIN=$LAB_DOMAIN"
  (cd "$dir/cf/m4" && "$root/usr/bin/m4" "$dir/etc/sendmail.mc") >"$dir/etc/sendmail.cf.tmp"
  # Ruleset Relay_ok: drop the rules that let a loopback client relay (its address
  # 127.0.0.1/::1, the address or the name "localhost" being in class w).
  awk '/^SRelay_ok/ { inrs = 1; print; next }
       /^S/ { inrs = 0 }
       inrs && /^R(127\.0\.0\.1|IPv6:0:0:0:0:0:0:0:1|IPv6:::1)[ \t]+\$@ RELAY/ { next }
       inrs && /^R(<\?> )?\$=w[ \t]+\$@ RELAY/ { next }
       { print }' "$dir/etc/sendmail.cf.tmp" >"$dir/etc/sendmail.cf"
  rm -f "$dir/etc/sendmail.cf.tmp"
  local mm="$root/usr/libexec/sendmail/makemap"
  LD_LIBRARY_PATH="$(_sendmail_libs)" "$mm" -C "$dir/etc/sendmail.cf" hash "$dir/etc/access" <"$dir/etc/access"
  LD_LIBRARY_PATH="$(_sendmail_libs)" "$mm" -C "$dir/etc/sendmail.cf" hash "$dir/etc/virtusertable" <"$dir/etc/virtusertable"
  _sendmail -bi >/dev/null
}

_sendmail() {  # in the namespace: its hosts file qualifies the host name (see lab_netns)
  LD_LIBRARY_PATH="$(_sendmail_libs)" lab_in_ns \
    "$LAB/root/sendmail/usr/libexec/sendmail/sendmail" -C "$LAB/sendmail/etc/sendmail.cf" "$@"
}

sendmail_start() {
  lab_listening 10028 && return 0
  lab_kill sendmail >/dev/null 2>&1 || true
  # -bD: daemon in the foreground; -q30m: queue runs.
  LD_LIBRARY_PATH="$(_sendmail_libs)" lab_spawn sendmail \
    "$LAB/root/sendmail/usr/libexec/sendmail/sendmail" -C "$LAB/sendmail/etc/sendmail.cf" -bD -q30m
  lab_wait_port 10028 30
}

sendmail_stop() { lab_kill sendmail; }

sendmail_version() {
  local v
  v=$(_sendmail -d0.1 -bt </dev/null 2>/dev/null | sed -n 's/^Version \(.*\)/\1/p' | head -n1) && [[ -n $v ]] || return 1
  echo "Sendmail $v (Debian $(lab_deb_version sendmail-bin))"
}

_sendmail_libs() { echo "$LAB/root/sendmail/usr/lib/x86_64-linux-gnu:$LAB/root/sendmail/lib/x86_64-linux-gnu"; }
