# shellcheck shell=bash
# Haraka (npm package `Haraka`), 127.0.0.1:10031, installed into $LAB/node_modules (not
# globally) with its own configuration directory $LAB/haraka (made by `haraka -i`).
# Changes from the configuration `haraka -i` installs, and why:
#   config/smtp.ini   listen=127.0.0.1:10031 (the lab port; otherwise all defaults)
#   config/me         haraka.lab.test (a fixed name)
#   config/plugins    (ci/lab/haraka/plugins)
#     - mail_from.is_resolvable: removed, it checks the sender's domain in DNS
#     + tls: STARTTLS with the lab certificate (config/tls_key.pem, tls_cert.pem, the
#       names Haraka's tls plugin looks for; tls.ini untouched)
#     + lab (ci/lab/haraka/lab.js): recipient policy, no reverse DNS of clients,
#       queue hook storing messages as files (replaces queue/smtp_forward, which
#       forwards to another server)
#     rcpt_to.in_host_list kept, with config/host_list = example.test
#   config/log.ini    untouched (logs go to the lab log, $LAB/log/haraka.log)

haraka_install() {
  local dir="$LAB/haraka"
  command -v node >/dev/null || lab_die "node is missing (apt-get install nodejs npm)"
  lab_npm Haraka
  if [[ ! -f $dir/config/smtp.ini ]]; then
    rm -rf "$dir"
    node "$LAB/node_modules/Haraka/bin/haraka" -i "$dir" >/dev/null
  fi
  mkdir -p "$dir/plugins" "$LAB/mail/haraka"
  cp "$LAB_CI_DIR/haraka/lab.js" "$dir/plugins/lab.js"
  cp "$LAB_CI_DIR/haraka/plugins" "$dir/config/plugins"
  cp "$LAB_CI_DIR/haraka/smtp.ini" "$dir/config/smtp.ini"
  echo haraka.lab.test >"$dir/config/me"
  echo "$LAB_DOMAIN" >"$dir/config/host_list"
  lab_tls
  install -m 644 "$LAB/tls/cert.pem" "$dir/config/tls_cert.pem"
  install -m 600 "$LAB/tls/key.pem" "$dir/config/tls_key.pem"
}

haraka_start() {
  lab_listening 10031 && return 0
  lab_kill haraka >/dev/null 2>&1 || true
  SMTPSPEC_LAB_MAILDIR="$LAB/mail/haraka" NODE_PATH="$LAB/node_modules" lab_spawn haraka \
    node "$LAB/node_modules/Haraka/bin/haraka" -c "$LAB/haraka/"
  lab_wait_port 10031 30
}

haraka_stop() { lab_kill haraka; }

haraka_version() {
  local v
  v=$(lab_npm_version Haraka) && [[ -n $v ]] || return 1
  echo "Haraka $v (npm; node $(node --version))"
}
