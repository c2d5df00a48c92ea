# shellcheck shell=bash
# aiosmtpd (Debian package python3-aiosmtpd), 127.0.0.1:10029, run by aiosmtpd_target.py.
# python3-aiosmtpd is a Python library, not an MTA: it is installed system-wide with
# apt-get (it conflicts with nothing) and run with Debian's /usr/bin/python3.

aiosmtpd_install() {
  if [[ -z $(lab_not_installed python3-aiosmtpd) ]]; then :; else
    lab_apt_update_once
    apt-get install -y -qq --no-install-recommends python3-aiosmtpd </dev/null >/dev/null ||
      lab_die "apt-get install python3-aiosmtpd failed"
  fi
  mkdir -p "$LAB/aiosmtpd" "$LAB/mail/aiosmtpd"
  lab_tls_copy "$LAB/aiosmtpd" root:root 600
}

aiosmtpd_start() {
  lab_listening 10029 && return 0
  lab_kill aiosmtpd >/dev/null 2>&1 || true
  lab_spawn aiosmtpd /usr/bin/python3 "$LAB_CI_DIR/aiosmtpd_target.py" --port 10029 \
    --maildir "$LAB/mail/aiosmtpd" --cert "$LAB/aiosmtpd/cert.pem" --key "$LAB/aiosmtpd/key.pem"
  lab_wait_port 10029 20
}

aiosmtpd_stop() { lab_kill aiosmtpd; }

aiosmtpd_version() {
  local v
  v=$(/usr/bin/python3 -c 'import aiosmtpd; print(aiosmtpd.__version__)' 2>/dev/null) || return 1
  echo "aiosmtpd $v (Debian python3-aiosmtpd $(dpkg-query -W -f='${Version}' python3-aiosmtpd))"
}
