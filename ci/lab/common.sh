# shellcheck shell=bash
# Shared helpers of the SMTP server lab (sourced by ci/targets.sh).
#
# Layout under $LAB (default /var/tmp/smtpspec-lab, override with SMTPSPEC_LAB):
#   debs/            .deb files fetched with `apt-get download`
#   root/<instance>/ private root of an MTA (dpkg -x), never installed system-wide
#   <instance>/      configuration, spool, logs of one server instance
#   mail/<instance>/ delivered messages (one file per message / Maildir)
#   tls/             the lab's self-signed certificate (openssl)
#   log/<instance>.log  stdout/stderr of the server process
#   run/<instance>.pid  pid (= session and process group id) of the started process
#   node_modules/    npm packages (smtp-server, Haraka), not global
#
# Every server runs inside the network namespace $LAB_NETNS, which has only the
# loopback interface: no DNS server is reachable, so nothing can leak out.

LAB=${SMTPSPEC_LAB:-/var/tmp/smtpspec-lab}
LAB_NETNS=${SMTPSPEC_NETNS:-smtpspec-lab}
LAB_CI_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export DEBIAN_FRONTEND=noninteractive

lab_log() { printf 'lab: %s\n' "$*" >&2; }
lab_die() { printf 'lab: error: %s\n' "$*" >&2; exit 1; }

# The namespace with only lo, up. Idempotent.
# `ip netns exec` bind-mounts /etc/netns/NAME/* over /etc/*: every lab process (servers
# and clients) sees this hosts file, where the host name is qualified (sendmail, for
# one, sleeps a minute at each start when it is not), and a resolv.conf whose only
# name server is 127.0.0.1:53, where nothing listens: no DNS at all, failing at once.
lab_netns() {
  ip netns list 2>/dev/null | grep -qw "^$LAB_NETNS" || ip netns add "$LAB_NETNS"
  ip netns exec "$LAB_NETNS" ip link set lo up
  local etc="/etc/netns/$LAB_NETNS" host
  host=$(hostname -s 2>/dev/null || hostname)
  mkdir -p "$etc"
  printf '%s\n' "# smtpspec lab (ci/lab/common.sh): hosts of the $LAB_NETNS namespace" \
    "127.0.0.1 localhost" "127.0.0.1 $host.lab.test $host" "::1 localhost ip6-localhost ip6-loopback" >"$etc/hosts.tmp"
  mv "$etc/hosts.tmp" "$etc/hosts"
  printf '%s\n' "# smtpspec lab (ci/lab/common.sh): no DNS in the $LAB_NETNS namespace" \
    "nameserver 127.0.0.1" "options timeout:1 attempts:1" >"$etc/resolv.conf.tmp"
  mv "$etc/resolv.conf.tmp" "$etc/resolv.conf"
}

# The namespace goes once nothing runs in it any more (ci/targets.sh stop): what the
# tests start, they remove. lab_netns makes it again at the next start.
lab_netns_release() {
  ip netns list 2>/dev/null | grep -qw "^$LAB_NETNS" || return 0
  [[ -z $(ip netns pids "$LAB_NETNS" 2>/dev/null) ]] || return 0
  ip netns del "$LAB_NETNS"
}

lab_in_ns() { ip netns exec "$LAB_NETNS" "$@"; }

# System users/groups an MTA needs, created only when missing.
lab_group() { getent group "$1" >/dev/null || groupadd --system "$1"; }
lab_user() {  # NAME GROUP HOME
  lab_group "$2"
  id -u "$1" >/dev/null 2>&1 || useradd --system -g "$2" -d "$3" -M -s /usr/sbin/nologin "$1"
}

# apt-get download PKG... into $LAB/debs (kept: a second install downloads nothing).
lab_apt_update_once() {
  [[ -n ${LAB_APT_UPDATED:-} ]] && return 0
  # An old or empty package list makes `apt-get download` fail: refresh once.
  apt-get update -qq >/dev/null 2>&1 || lab_log "apt-get update failed (offline?), trying the cached lists"
  LAB_APT_UPDATED=1
}
lab_deb_file() { ls "$LAB/debs/$1"_*.deb 2>/dev/null | head -n1; }
lab_download() {
  mkdir -p "$LAB/debs"
  local p missing=()
  for p in "$@"; do [[ -n $(lab_deb_file "$p") ]] || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  lab_apt_update_once
  # _apt must be able to write there, else apt warns and downloads unsandboxed.
  chown _apt "$LAB/debs" 2>/dev/null || true
  (cd "$LAB/debs" && apt-get download -q "${missing[@]}" 2>&1 | grep -v '^Get:' >&2) || true
  for p in "${missing[@]}"; do [[ -n $(lab_deb_file "$p") ]] || lab_die "apt-get download $p failed"; done
}
# Only the Debian packages among PKG... that are not installed on the host.
lab_not_installed() {
  local p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}
# dpkg -x PKG... into $LAB/root/INSTANCE (re-extracted only when the set of .debs changed).
lab_extract() {
  local inst=$1; shift
  local root="$LAB/root/$inst" stamp p files=()
  for p in "$@"; do files+=("$(lab_deb_file "$p")"); done
  stamp=$(printf '%s\n' "${files[@]##*/}")
  if [[ -f $root/.lab-debs && $(cat "$root/.lab-debs") == "$stamp" ]]; then return 0; fi
  rm -rf "$root"
  mkdir -p "$root"
  for p in "${files[@]}"; do dpkg -x "$p" "$root"; done
  printf '%s\n' "$stamp" >"$root/.lab-debs"
}
# Version of a downloaded .deb, e.g. 3.7.11-0+deb12u1.
lab_deb_version() { dpkg-deb -f "$(lab_deb_file "$1")" Version; }

# The lab's certificate: self-signed, CN/SAN for localhost and 127.0.0.1.
lab_tls() {
  mkdir -p "$LAB/tls"
  [[ -s $LAB/tls/cert.pem && -s $LAB/tls/key.pem ]] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -sha256 \
    -subj "/CN=lab.test" \
    -addext "subjectAltName=DNS:lab.test,DNS:*.lab.test,DNS:localhost,IP:127.0.0.1" \
    -keyout "$LAB/tls/key.pem.tmp" -out "$LAB/tls/cert.pem.tmp" 2>/dev/null
  chmod 600 "$LAB/tls/key.pem.tmp"
  mv "$LAB/tls/key.pem.tmp" "$LAB/tls/key.pem"
  mv "$LAB/tls/cert.pem.tmp" "$LAB/tls/cert.pem"
}
# Copy of the certificate and key to DIR, readable by OWNER (user:group), key MODE.
lab_tls_copy() {
  local dir=$1 owner=$2 mode=${3:-600}
  lab_tls
  mkdir -p "$dir"
  install -m 644 -o "${owner%%:*}" -g "${owner##*:}" "$LAB/tls/cert.pem" "$dir/cert.pem"
  install -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$LAB/tls/key.pem" "$dir/key.pem"
}

# The test domain's mailboxes (the only accepted recipients).
# shellcheck disable=SC2034  # used by the per-server files
LAB_MAILBOXES=(user user2 postmaster)
LAB_DOMAIN=example.test
LAB_RELAY_DOMAIN=relay.test
LAB_RELAY_SINK=127.0.0.1
LAB_RELAY_SINK_PORT=10040

# Replaces @LAB@, @NAME@, @PORT@ and the KEY=VALUE pairs given as @KEY@ in TEMPLATE, writes OUT.
lab_render() {
  local tmpl=$1 out=$2; shift 2
  local args=(-e "s|@LAB@|$LAB|g" -e "s|@CI@|$LAB_CI_DIR|g") kv
  for kv in "$@"; do args+=(-e "s|@${kv%%=*}@|${kv#*=}|g"); done
  sed "${args[@]}" "$tmpl" >"$out.tmp" && mv "$out.tmp" "$out"
}

# Is something listening on 127.0.0.1:PORT inside the namespace?
lab_listening() {
  ip netns list 2>/dev/null | grep -qw "^$LAB_NETNS" || return 1
  lab_in_ns ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}
lab_wait_port() {  # PORT SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do lab_listening "$1" && return 0; sleep 0.1; done
  return 1
}
lab_wait_no_port() {
  local i
  for ((i = 0; i < $2 * 10; i++)); do lab_listening "$1" || return 0; sleep 0.1; done
  return 1
}

# Starts CMD... in the namespace as a new session (its pid = its process group id),
# logging to $LAB/log/INSTANCE.log; records the pid in $LAB/run/INSTANCE.pid.
lab_spawn() {
  local inst=$1; shift
  mkdir -p "$LAB/log" "$LAB/run"
  # Background jobs of a non-interactive shell are not group leaders: setsid execs in place.
  setsid ip netns exec "$LAB_NETNS" "$@" >>"$LAB/log/$inst.log" 2>&1 </dev/null &
  echo $! >"$LAB/run/$inst.pid"
}

# Pids, inside the namespace, that belong to INSTANCE: executable under its private
# root, or a command line naming its instance directory ($LAB/INSTANCE/) or marker.
lab_pids() {
  local inst=$1 pid exe cmd
  ip netns list 2>/dev/null | grep -qw "^$LAB_NETNS" || return 0
  # One perl for all processes: forks are slow here, a loop of readlink/tr is not.
  # shellcheck disable=SC2046
  while IFS=$'\t' read -r pid exe cmd; do
    if [[ $exe == "$LAB/root/$inst/"* || " $cmd " == *" $LAB/$inst/"* || " $cmd " == *"=$LAB/$inst/"* ]]; then
      echo "$pid"
    fi
  done < <(perl -e 'for $p (@ARGV) { $e = readlink("/proc/$p/exe") // next; open(F, "<", "/proc/$p/cmdline") or next;
      local $/; $c = <F>; close F; $c =~ s/\0/ /g; $c =~ s/[\t\n]/ /g; print "$p\t$e\t$c\n" }' \
      $(ip netns pids "$LAB_NETNS" 2>/dev/null))
}

# Ends the recorded process group of INSTANCE, then any straggler (TERM, then KILL).
lab_kill() {
  local inst=$1 pidfile="$LAB/run/$1.pid" pid i left
  if [[ -f $pidfile ]]; then
    pid=$(cat "$pidfile")
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null; fi
  fi
  for ((i = 0; i < 50; i++)); do
    left=$(lab_pids "$inst")
    [[ -z $left ]] && break
    ((i == 10)) && kill -TERM $left 2>/dev/null
    ((i == 40)) && kill -KILL $left 2>/dev/null
    sleep 0.1
  done
  left=$(lab_pids "$inst")
  if [[ -n $left ]]; then
    kill -KILL $left 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$pidfile"
  [[ -z $(lab_pids "$inst") ]]
}

# Default start/stop for a server that runs in the foreground under lab_spawn.
lab_foreground_stop() { lab_kill "$1"; }

# npm packages into $LAB/node_modules (never global).
lab_npm() {
  mkdir -p "$LAB"
  [[ -f $LAB/package.json ]] || printf '{\n  "name": "smtpspec-lab",\n  "private": true\n}\n' >"$LAB/package.json"
  local p need=()
  for p in "$@"; do [[ -f $LAB/node_modules/${p%@*}/package.json ]] || need+=("$p"); done
  ((${#need[@]})) || return 0
  command -v npm >/dev/null || lab_die "npm is missing (apt-get install nodejs npm)"
  (cd "$LAB" && npm install --no-audit --no-fund --no-update-notifier --loglevel=error "${need[@]}" >&2)
}
lab_npm_version() { node -p "require('$LAB/node_modules/$1/package.json').version" 2>/dev/null; }
