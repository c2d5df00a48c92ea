# shellcheck shell=bash
# Exim 4 (Debian exim4-daemon-light, exim4-base, exim4-config) from a private root,
# two instances:
#   exim        127.0.0.1:10026  final destination for example.test (Maildir per mailbox)
#   exim-relay  127.0.0.1:10046  relays relay.test to the sink at 127.0.0.1:10040
#
# The configuration is Debian's own: update-exim4.conf (from the private root) builds it
# from the package's split conf.d/ with an update-exim4.conf.conf of the kind debconf
# writes ("internet site"), plus Debian's documented hooks (conf.d/main/000_localmacros
# and extra conf.d/router, conf.d/transport files) for the lab. Changes from the
# Debian default, and why:
#   dc_eximconfig_configtype=internet   Debian's default is "local" (no mail from the
#                        network at all); an internet site is the MX configuration
#   dc_local_interfaces=127.0.0.1.PORT   the lab port
#   MAIN_RELAY_NETS      empty: Debian lets 127.0.0.1 relay, which would make every lab
#                        client a trusted relay client
#   MAIN_HOST_LOOKUP     empty: Debian looks up every client's PTR (no DNS here)
#   MAIN_TLS_ENABLE + certificate: Debian's default daemon offers no STARTTLS
#   MAIN_HARDCODE_PRIMARY_HOSTNAME, MAIN_QUALIFY_DOMAIN: fixed names, no /etc/mailname
#   MAIN_KEEP_ENVIRONMENT=LD_LIBRARY_PATH: libidn12 lives in the private root
#   CONFDIR, SPOOLDIR, exim_path, log_file_path: into the instance dir / private root
#   exim: example.test is a local domain whose only recipients are the three mailboxes
#     (router lab_mailbox, appendfile Maildir under LAB/mail/exim); other local parts
#     fail routing (lab_unknown: 550), so host users and /etc/aliases play no part
#   exim-relay: dc_relay_domains=relay.test; router lab_relay sends relay.test to
#     127.0.0.1 port 10040 through Debian's remote_smtp transport
# The private exim4 binary loses its setuid bit: the daemon is started by root; the
# processes that re-execute exim (delivery) then run as Debian-exim, which is all the
# lab needs (deliveries go to Debian-exim-owned Maildirs), and LD_LIBRARY_PATH works
# (a setuid exec would ignore it).

exim_debs() {
  echo exim4-daemon-light exim4-base exim4-config
  lab_not_installed libidn12 libgnutls30 libgnutls-dane0 libidn2-0 libnsl2 libpcre2-8-0 libdb5.3 libcrypt1
}

_exim_env() { echo "LD_LIBRARY_PATH=$LAB/root/$1/usr/lib/x86_64-linux-gnu"; }
_exim_bin() { echo "$LAB/root/$1/usr/sbin/exim4"; }

_exim_install() {  # INSTANCE
  local inst=$1 root="$LAB/root/$1" dir="$LAB/$1" port
  port=$(lab_port "$inst")
  # shellcheck disable=SC2046
  lab_download $(exim_debs)
  # shellcheck disable=SC2046
  lab_extract "$inst" $(exim_debs)
  chmod u-s "$root/usr/sbin/exim4"
  lab_user Debian-exim Debian-exim /var/spool/exim4
  mkdir -p "$dir/spool" "$dir/log" "$LAB/mail/$inst"
  chown Debian-exim:Debian-exim "$dir/spool" "$dir/log" "$LAB/mail/$inst"
  chmod 750 "$dir/spool"
  # Debian's configuration sources, then the lab's files beside them.
  rm -rf "${dir:?}/etc"
  mkdir -p "$dir/etc"
  cp -r "$root/etc/exim4/conf.d" "$root/etc/exim4/exim4.conf.template" "$dir/etc/"
  lab_tls_copy "$dir/etc/tls" root:Debian-exim 640
  ln -sf tls/cert.pem "$dir/etc/exim.crt"
  ln -sf tls/key.pem "$dir/etc/exim.key"
  local relay_domains=""
  [[ $inst == exim-relay ]] && relay_domains=$LAB_RELAY_DOMAIN
  cat >"$dir/etc/update-exim4.conf.conf" <<EOF
# lab: as debconf writes it for an "internet site", on the lab port
dc_eximconfig_configtype='internet'
dc_other_hostnames='$([[ $inst == exim ]] && echo "$LAB_DOMAIN")'
dc_local_interfaces='127.0.0.1.$port'
dc_readhost=''
dc_relay_domains='$relay_domains'
dc_minimaldns='false'
dc_relay_nets=''
dc_smarthost=''
CFILEMODE='644'
dc_use_split_config='true'
dc_hide_mailname=''
dc_mailname_in_oh='true'
dc_localdelivery='mail_spool'
EOF
  cat >"$dir/etc/conf.d/main/000_localmacros" <<EOF
# lab (see ci/lab/exim.sh for why each one)
CONFDIR = $dir/etc
SPOOLDIR = $dir/spool
MAIN_HARDCODE_PRIMARY_HOSTNAME = $inst.lab.test
MAIN_QUALIFY_DOMAIN = $([[ $inst == exim ]] && echo "$LAB_DOMAIN" || echo "$inst.lab.test")
MAIN_RELAY_NETS =
MAIN_HOST_LOOKUP =
MAIN_TLS_ENABLE = yes
MAIN_KEEP_ENVIRONMENT = LD_LIBRARY_PATH
EOF
  if [[ $inst == exim ]]; then
    local m
    for m in "${LAB_MAILBOXES[@]}"; do echo "$m: $m"; done >"$dir/etc/lab_mailboxes"
    cat >"$dir/etc/conf.d/router/120_exim4-config_lab" <<EOF
# lab: the test domain's mailboxes; every other local part of it fails routing (550)
lab_mailbox:
  driver = accept
  domains = $LAB_DOMAIN
  local_parts = lsearch;CONFDIR/lab_mailboxes
  transport = lab_maildir

lab_unknown:
  driver = redirect
  domains = $LAB_DOMAIN
  allow_fail
  data = :fail: Unrouteable address
EOF
    cat >"$dir/etc/conf.d/transport/30_exim4-config_lab_maildir" <<EOF
# lab: one Maildir per mailbox under $LAB/mail/$inst (like Debian's maildir_home)
lab_maildir:
  driver = appendfile
  directory = $LAB/mail/$inst/\$local_part_data
  create_directory
  delivery_date_add
  envelope_to_add
  return_path_add
  maildir_format
  directory_mode = 0750
  mode = 0640
  mode_fail_narrower = false
  user = Debian-exim
  group = Debian-exim
EOF
  else
    cat >"$dir/etc/conf.d/router/120_exim4-config_lab" <<EOF
# lab: relay.test goes to the smtpspec relay sink, through Debian's remote_smtp
lab_relay:
  driver = manualroute
  domains = +relay_to_domains
  route_list = * $LAB_RELAY_SINK::$LAB_RELAY_SINK_PORT
  self = send
  transport = remote_smtp
  no_more
EOF
  fi
  bash "$root/usr/sbin/update-exim4.conf" -d "$dir/etc" -o "$dir/exim4.conf.tmp" 2> >(grep -v '/etc/mailname' >&2)
  # exim_path (re-executions for delivery) and the log files: into the lab.
  sed -e "s|^exim_path = .*|exim_path = $root/usr/sbin/exim4|" \
    -e "0,/^UPEX4CmacrosUPEX4C/s|^UPEX4CmacrosUPEX4C = 1|&\nlog_file_path = $dir/log/%slog|" \
    "$dir/exim4.conf.tmp" >"$dir/exim4.conf"
  rm -f "$dir/exim4.conf.tmp"
  env "$(_exim_env "$inst")" "$(_exim_bin "$inst")" -C "$dir/exim4.conf" -bV >/dev/null 2>"$dir/log/check.err" ||
    { cat "$dir/log/check.err" >&2; lab_die "$inst: the generated configuration does not load"; }
}

_exim_start() {
  local inst=$1 port; port=$(lab_port "$inst")
  lab_listening "$port" && return 0
  lab_kill "$inst" >/dev/null 2>&1 || true
  # The relay instance starts with an empty queue and no retry data: a message left
  # deferred by an earlier run (sink not listening) must not reach the next run's sink,
  # and a failed attempt must not hold back the next one (Debian's first retry is 15m).
  [[ $inst == exim-relay ]] && rm -rf "$LAB/$inst/spool"/{input,msglog,db}
  # -bdf: daemon in the foreground (lab_spawn tracks it); -q1m: queue runs.
  LD_LIBRARY_PATH="$LAB/root/$inst/usr/lib/x86_64-linux-gnu" lab_spawn "$inst" "$(_exim_bin "$inst")" -C "$LAB/$inst/exim4.conf" \
    -bdf -q1m -oP "$LAB/$inst/exim.pid"
  lab_wait_port "$port" 20
}

_exim_version() {
  local v
  v=$(env "$(_exim_env "$1")" "$(_exim_bin "$1")" -C "$LAB/$1/exim4.conf" -bV 2>/dev/null |
    sed -n 's/^Exim version \([^ ]*\).*/\1/p') && [[ -n $v ]] || return 1
  echo "Exim $v (Debian $(lab_deb_version exim4-daemon-light), exim4-daemon-light)"
}

exim_install() { _exim_install exim; }
exim_start() { _exim_start exim; }
exim_stop() { lab_kill exim; }
exim_version() { _exim_version exim; }

exim_relay_install() { _exim_install exim-relay; }
exim_relay_start() { _exim_start exim-relay; }
exim_relay_stop() { lab_kill exim-relay; }
exim_relay_version() { _exim_version exim-relay; }
