#!/usr/bin/env bash
# The lab of real SMTP servers that smtpspec is run against.
#
# Usage: ci/targets.sh install|start|stop|restart|status|versions|list [NAME...]
#   install   fetch the packages (Debian .debs into private roots, npm into the lab),
#             create the users the MTAs need, write configurations and certificates
#   start     install if needed, then start each server in the network namespace
#             smtpspec-lab (loopback only); a running server is left alone
#   stop      stop each server and check that none of its processes is left
#   status    NAME PORT up/down VERSION per server (exit 3 if one is down)
#   versions  NAME<TAB>VERSION per server (for reports)
#   check     by-hand check of each running server (STARTTLS, recipients, storage,
#             relaying): ci/lab/check_target.py inside the namespace
#   list      NAME<TAB>PORT<TAB>DESCRIPTION per server
# With no NAME: every server. Lab directory: $SMTPSPEC_LAB (default /var/tmp/smtpspec-lab).
# Run the clients in the namespace too: ip netns exec smtpspec-lab smtpspec server 127.0.0.1:PORT ...
# Every server accepts mail for user@, user2@ and postmaster@example.test only (stored
# under $LAB/mail/NAME/), refuses other example.test recipients with 550 and relaying
# to other domains, and offers STARTTLS with the certificate in $LAB/tls/.
# The relay instances (postfix-relay, exim-relay) forward all mail for relay.test to
# 127.0.0.1:10040, where `smtpspec relay` listens.
set -euo pipefail

ci_dir=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lab/common.sh
source "$ci_dir/lab/common.sh"

# name  port  file  description
LAB_SERVERS=(
  "postfix       10025 postfix     Postfix (Debian), final destination"
  "exim          10026 exim        Exim 4 daemon-light (Debian), final destination"
  "opensmtpd     10027 opensmtpd   OpenSMTPD (Debian), final destination"
  "sendmail      10028 sendmail    Sendmail (Debian), final destination"
  "aiosmtpd      10029 aiosmtpd    Python aiosmtpd (Debian) controller script"
  "smtp-server   10030 smtp-server Node smtp-server (nodemailer, npm) script"
  "haraka        10031 haraka      Haraka (npm)"
  "smtp-sink     10032 smtp-sink   Postfix smtp-sink benchmark sink (accepts everything)"
  "postfix-relay 10045 postfix     Postfix relaying relay.test to 127.0.0.1:10040"
  "exim-relay    10046 exim        Exim relaying relay.test to 127.0.0.1:10040"
)

lab_field() {  # NAME FIELD(2=port,3=file,4=desc)
  local line n p f d
  for line in "${LAB_SERVERS[@]}"; do
    read -r n p f d <<<"$line"
    if [[ $n == "$1" ]]; then
      case $2 in 2) echo "$p" ;; 3) echo "$f" ;; 4) echo "$d" ;; esac
      return 0
    fi
  done
  return 1
}
lab_port() { lab_field "$1" 2; }
lab_names() { local line; for line in "${LAB_SERVERS[@]}"; do echo "${line%% *}"; done; }

for f in $(printf '%s\n' "${LAB_SERVERS[@]}" | awk '{print $3}' | sort -u); do
  # shellcheck disable=SC1090
  source "$ci_dir/lab/$f.sh"
done

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

cmd=${1:-}
[[ -n $cmd ]] || usage
shift
names=("$@")
((${#names[@]})) || mapfile -t names < <(lab_names)
for n in "${names[@]}"; do lab_port "$n" >/dev/null || lab_die "unknown server '$n' (known: $(lab_names | tr '\n' ' '))"; done

fn() { echo "${1//-/_}_$2"; }
has() { declare -F "$(fn "$1" "$2")" >/dev/null; }

# install when the lab scripts changed since the last install of NAME (start is quick then).
install_stamp() { cat "$ci_dir/targets.sh" "$ci_dir/lab/common.sh" "$ci_dir/lab/$(lab_field "$1" 3).sh" | md5sum | cut -d' ' -f1; }
install_if_needed() {
  local stamp; stamp=$(install_stamp "$1")
  [[ -f $LAB/run/$1.installed && $(cat "$LAB/run/$1.installed") == "$stamp" ]] && return 0
  do_install "$1"
}
do_install() {
  local t0=$SECONDS
  lab_log "install $1"
  "$(fn "$1" install)"
  mkdir -p "$LAB/run"
  install_stamp "$1" >"$LAB/run/$1.installed"
  lab_log "install $1: done in $((SECONDS - t0)) s"
}

version_of() {
  local v=""
  if has "$1" version; then v=$("$(fn "$1" version)" 2>/dev/null | head -n1) || true; fi
  echo "${v:-unknown (not installed)}"
}

case $cmd in
  install)
    [[ $(id -u) -eq 0 ]] || lab_die "run as root (users, namespaces, private roots)"
    mkdir -p "$LAB"
    lab_netns
    lab_tls
    for n in "${names[@]}"; do do_install "$n"; done
    ;;
  start)
    [[ $(id -u) -eq 0 ]] || lab_die "run as root"
    lab_netns
    rc=0
    for n in "${names[@]}"; do
      t0=$SECONDS
      install_if_needed "$n"
      if "$(fn "$n" start)" && lab_listening "$(lab_port "$n")"; then
        lab_log "start $n: up on 127.0.0.1:$(lab_port "$n") ($((SECONDS - t0)) s)"
      else
        lab_log "start $n: FAILED (see $LAB/log/$n.log)"
        rc=1
      fi
    done
    exit $rc
    ;;
  stop)
    rc=0
    for n in "${names[@]}"; do
      if "$(fn "$n" stop)" && ! lab_listening "$(lab_port "$n")" && [[ -z $(lab_pids "$n") ]]; then
        lab_log "stop $n: stopped"
      else
        lab_log "stop $n: processes left: $(lab_pids "$n" | tr '\n' ' ')"
        rc=1
      fi
    done
    lab_netns_release
    exit $rc
    ;;
  restart)
    "$0" stop "${names[@]}"
    exec "$0" start "${names[@]}"
    ;;
  status)
    rc=0
    for n in "${names[@]}"; do
      if lab_listening "$(lab_port "$n")"; then st=up; else st=down; rc=3; fi
      printf '%-14s %-6s %-5s %s\n' "$n" "$(lab_port "$n")" "$st" "$(version_of "$n")"
    done
    exit $rc
    ;;
  versions)
    for n in "${names[@]}"; do printf '%s\t%s\n' "$n" "$(version_of "$n")"; done
    ;;
  check)
    rc=0
    for n in "${names[@]}"; do
      case $n in smtp-sink) kind=sink ;; *-relay) kind=relay ;; *) kind=final ;; esac
      lab_in_ns /usr/bin/python3 "$ci_dir/lab/check_target.py" "$n" "$(lab_port "$n")" "$LAB/mail/$n" --kind "$kind" || rc=1
    done
    exit $rc
    ;;
  list)
    for n in "${names[@]}"; do printf '%s\t%s\t%s\n' "$n" "$(lab_port "$n")" "$(lab_field "$n" 4)"; done
    ;;
  -h | --help | help) usage 0 ;;
  *) usage ;;
esac
