#!/bin/bash
# Fast tier: the same topology and host life cycle as the VM lab, directly on this machine (no VM).
# No IPVS and no ipip here (this kernel has neither and cannot load modules); everything else is
# real: per-host sshd, sysctls, addresses, iptables, keepalived VRRP. Hosts' root overlays this
# machine's /, so their packages are this machine's (ipvsadm/keepalived are installed here).
#   hostns.sh up | down | reboot HOST | ssh [USER@]HOST [CMD...] | state HOST [PATH...]
# Hosts answer at their management addresses: ssh root@10.99.255.X (key and known_hosts in
# $LVSCTL_LAB_DIR/hostns/).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${LVSCTL_LAB_DIR:-$(cd "$HERE/../.." && pwd)/.lab}
D=$LAB_DIR/hostns
export LAB_MODE=host LAB_HOSTS_DIR=$D/hosts LAB_RUNDIR=$D/run LAB_KEYS=$D/keys LAB_SCRIPTS=$HERE/guest
# shellcheck source=guest/topology.sh
. "$HERE/guest/topology.sh"
PKGS=(iproute2 iptables openssh-server openssh-client busybox socat curl netcat-openbsd procps kmod sudo keepalived ipvsadm iputils-arping)

keys() { # one client key and one host key per host, made once
  local h
  [ -f "$D/id_ed25519" ] && return
  install -d -m700 "$D" "$LAB_KEYS"
  ssh-keygen -q -t ed25519 -N '' -C lvsctl-hostns -f "$D/id_ed25519"
  install -m644 "$D/id_ed25519.pub" "$LAB_KEYS/authorized_keys"
  : >"$D/known_hosts"
  for h in $(topo_hosts); do
    topo_get "$h"
    ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$LAB_KEYS/$h"
    echo "$T_MGMT $(cut -d' ' -f1,2 "$LAB_KEYS/$h.pub")" >>"$D/known_hosts"
  done
}

case ${1:-} in
  up)
    if dpkg-query -W -f='${Status}\n' "${PKGS[@]}" 2>&1 | grep -qv 'ok installed'; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${PKGS[@]}" >/dev/null
    fi
    ip netns list | grep -q '^lab-sw' && { echo "hostns: already up" >&2; exit 0; }
    keys
    t0=$EPOCHREALTIME; topo_up
    echo "hostns: up in $(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 )) ms" >&2;;
  down) topo_down;;
  reboot) topo_get "${2:?usage: hostns.sh reboot HOST}"; topo_reboot "$2";;
  state) # same snapshot as lab.sh state
    h=${2:?usage: hostns.sh state HOST [PATH...]}; shift 2
    args=""; for p in "$@"; do args="$args $(printf %q "$p")"; done
    exec "$0" ssh "$h" "bash -s --$args" <"$HERE/state.sh";;
  ssh)
    target=${2:?usage: hostns.sh ssh [USER@]HOST [CMD...]}; shift 2
    user=root; host=${target#*@}; [ "$host" = "$target" ] || user=${target%@*}
    topo_get "$host"
    exec ssh -i "$D/id_ed25519" -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$D/known_hosts" \
      -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR "$user@$T_MGMT" "$@";;
  *) sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit 2;;
esac
