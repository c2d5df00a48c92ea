# shellcheck shell=bash
# smtp-server (nodemailer, npm package `smtp-server`), 127.0.0.1:10030, run by
# smtp_server_target.js with Node. Installed into $LAB/node_modules, never globally.

smtp_server_install() {
  command -v node >/dev/null || lab_die "node is missing (apt-get install nodejs npm)"
  lab_npm smtp-server
  mkdir -p "$LAB/smtp-server" "$LAB/mail/smtp-server"
  lab_tls_copy "$LAB/smtp-server" root:root 600
}

smtp_server_start() {
  lab_listening 10030 && return 0
  lab_kill smtp-server >/dev/null 2>&1 || true
  NODE_PATH="$LAB/node_modules" lab_spawn smtp-server node "$LAB_CI_DIR/smtp_server_target.js" 10030 \
    "$LAB/mail/smtp-server" "$LAB/smtp-server/cert.pem" "$LAB/smtp-server/key.pem"
  lab_wait_port 10030 20
}

smtp_server_stop() { lab_kill smtp-server; }

smtp_server_version() {
  local v
  v=$(lab_npm_version smtp-server) && [[ -n $v ]] || return 1
  echo "smtp-server $v (npm; node $(node --version))"
}
