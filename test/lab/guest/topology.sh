#!/bin/bash
# The one definition of the lab topology and of a host's life cycle (create, boot, reboot, destroy).
# Used by the guest at boot and for `reboot` (LAB_MODE=guest, scripts in /etc/lab), by hostns.sh on
# this machine (LAB_MODE=host) and, sourced, by build-image.sh and lab.sh (for names and ports).
#   topology.sh up | down | reboot HOST [--hold] | boot HOST | hosts
# `reboot HOST --hold` stops after the power cycle (new empty netns with the host's "hardware",
# nothing of its disk applied, no sshd) so a test can look at that state; `boot HOST` then runs
# the boot path. `reboot HOST` alone does both.
# A host = its own netns + mount/UTS/IPC/PID namespaces + an overlay root whose upper layer is the
# host's "disk" (kept across reboots) + the boot path of host-boot.sh. Bridges live in netns lab-sw.
#
#   br-lan  10.99.1.0/24   client .10 (+ .20-.29), dir1 .2, dir2 .3, router .254
#   br-srv  10.99.2.0/24   dir1 .2, dir2 .3, rs1 .11, rs2 .12, router .254
#   br-mgmt 10.99.255.0/24 controller .1 (veth lab-mgmt) + mgmt0 of every host (sshd listens only there)
# IPv6 on the two data segments: br-lan fd99:1::/64, br-srv fd99:2::/64 (ULA). A host's address there
# is 10.99.X.Y -> fd99:X::Y (rs1 fd99:2::11, router fd99:1::254 and fd99:2::254), the same for its
# default route; the management segment is IPv4 only.

# init: how the host boots. systemd = systemd as PID 1 under systemd-nspawn --boot (its units,
# systemd-modules-load, systemd-sysctl, the journal); sysv = host-boot.sh (modules-load.d, sysctl
# --system, the rc scripts). Both boot paths stay proven. The fast tier (LAB_MODE=host) is all sysv.
# name   mgmt-ip        ssh-port role        init    eth0 (bridge:cidr) eth1 (bridge:cidr)  default-gw
LAB_TOPOLOGY="
client 10.99.255.10  22001 client      sysv    lan:10.99.1.10/24  -                   10.99.1.254
dir1   10.99.255.2   22002 director    systemd lan:10.99.1.2/24   srv:10.99.2.2/24    10.99.1.254
dir2   10.99.255.3   22003 director    systemd lan:10.99.1.3/24   srv:10.99.2.3/24    10.99.1.254
rs1    10.99.255.11  22004 realserver  systemd srv:10.99.2.11/24  -                   10.99.2.254
rs2    10.99.255.12  22005 realserver  sysv    srv:10.99.2.12/24  -                   10.99.2.254
router 10.99.255.254 22006 router      sysv    lan:10.99.1.254/24 srv:10.99.2.254/24  -"
# shellcheck disable=SC2034 # used by lab.sh and build-image.sh
LAB_GUEST_PORT=22000
LAB_MGMT_CIDR=10.99.255.1/24
LAB_CLIENT_EXTRA="10.99.1.20 10.99.1.21 10.99.1.22 10.99.1.23 10.99.1.24 10.99.1.25 10.99.1.26 10.99.1.27 10.99.1.28 10.99.1.29"

MODE=${LAB_MODE:-guest}
HD=${LAB_HOSTS_DIR:-/hosts}                                    # per-host upper/work/root (tmpfs)
SD=${LAB_SCRIPTS:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)} # this directory
RUNDIR=${LAB_RUNDIR:-/run/lab}                                 # pid files, per-host logs
KEYS=${LAB_KEYS:-/var/lib/lab-keys}                            # <host>, <host>.pub, authorized_keys

topo_hosts() { echo "$LAB_TOPOLOGY" | awk 'NF{print $1}'; }

topo_get() { # sets T_MGMT T_PORT T_ROLE T_INIT T_ETH0 T_ETH1 T_GW
  local line
  line=$(echo "$LAB_TOPOLOGY" | awk -v h="$1" '$1==h')
  [ -n "$line" ] || { echo "unknown host: $1" >&2; return 2; }
  read -r _ T_MGMT T_PORT T_ROLE T_INIT T_ETH0 T_ETH1 T_GW <<<"$line"
  [ "$MODE" = guest ] || T_INIT=sysv
}

# New netns copy conf/all and conf/default from the root netns unless devconf_inherit_init_net=2
# ("use kernel defaults"). The guest keeps 2 for good (its root ns forwards for the SSH DNAT); on this
# machine it is set only while a netns is created, then put back.
with_default_devconf() {
  local f=/proc/sys/net/core/devconf_inherit_init_net old rc=0
  old=$(cat $f)
  echo 2 >$f
  "$@" || rc=$?
  [ "$MODE" = guest ] || echo "$old" >$f
  return $rc
}

topo_switch_up() {
  mkdir -p "$HD" "$RUNDIR"
  mountpoint -q "$HD" || mount -t tmpfs -o size=1g,mode=700 tmpfs "$HD"
  [ "$MODE" = guest ] && echo 2 >/proc/sys/net/core/devconf_inherit_init_net
  ip netns add lab-sw
  ip -n lab-sw link set lo up
  local br
  for br in br-lan br-srv br-mgmt; do
    ip -n lab-sw link add $br type bridge forward_delay 0 stp_state 0
    ip -n lab-sw link set $br up
  done
  ip link add lab-mgmt type veth peer name up-mgmt netns lab-sw
  ip -n lab-sw link set up-mgmt master br-mgmt up
  ip addr add "$LAB_MGMT_CIDR" dev lab-mgmt
  ip link set lab-mgmt up
  if [ "$MODE" = guest ]; then # 127.0.0.1:PORT (qemu hostfwd) -> 10.0.2.15:PORT -> DNAT mgmt-ip:22
    sysctl -qw net.ipv4.ip_forward=1
    iptables -P FORWARD DROP
    iptables -A FORWARD -i eth0 -o lab-mgmt -p tcp --dport 22 -j ACCEPT
    iptables -A FORWARD -i lab-mgmt -o eth0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    # hosts see the controller as 10.99.255.1 and answer over mgmt0, not their default route
    iptables -t nat -A POSTROUTING -o lab-mgmt -j MASQUERADE
    local h
    for h in $(topo_hosts); do
      topo_get "$h"
      iptables -t nat -A PREROUTING -i eth0 -p tcp --dport "$T_PORT" -j DNAT --to-destination "$T_MGMT:22"
    done
  fi
}

v6_of() { # 10.99.X.Y -> fd99:X::Y (data segments only)
  local o; IFS=. read -ra o <<<"$1"; echo "fd99:${o[2]}::${o[3]}"
}

# A host's NIC keeps its MAC across reboots (02:00 + its IPv4 address), as real hardware does, so
# neighbours' ARP caches stay valid and a rebooted host answers at once.
attach() { # netns ifname bridge cidr
  local ns=$1 ifn=$2 br=$3 cidr=$4 peer="$1-${2: -3}" mac o
  IFS=. read -ra o <<<"${cidr%/*}"
  mac=$(printf '02:00:%02x:%02x:%02x:%02x' "${o[@]}")
  ip -n lab-sw link add "$peer" type veth peer name "$ifn" netns "$ns" address "$mac"
  ip -n lab-sw link set "$peer" master "$br" up
  ip -n "$ns" addr add "$cidr" dev "$ifn"
  # nodad: the "hardware" addresses answer at once after a power-on, as the IPv4 ones do
  [ "$br" = br-mgmt ] || ip -n "$ns" addr add "$(v6_of "${cidr%/*}")/64" dev "$ifn" nodad
  ip -n "$ns" link set "$ifn" up
}

# The "hardware" of a host as it powers on: links, addresses, default route and the factory sysctls.
topo_net_up() {
  local h=$1 a
  topo_get "$h"
  with_default_devconf ip netns add "$h"
  ip -n "$h" link set lo up
  attach "$h" mgmt0 br-mgmt "${T_MGMT}/24"
  [ "$T_ETH0" = - ] || attach "$h" eth0 "br-${T_ETH0%%:*}" "${T_ETH0#*:}"
  [ "$T_ETH1" = - ] || attach "$h" eth1 "br-${T_ETH1%%:*}" "${T_ETH1#*:}"
  [ "$T_GW" = - ] || { ip -n "$h" route add default via "$T_GW"; ip -n "$h" -6 route add default via "$(v6_of "$T_GW")"; }
  case $T_ROLE in
    router) ip netns exec "$h" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1;;
    # strict reverse-path filtering, as a hardened distribution ships it: TUN must lower it itself
    director|realserver) ip netns exec "$h" sh -c "for f in /proc/sys/net/ipv4/conf/*/rp_filter; do echo 1 >\$f; done";;
    client) for a in $LAB_CLIENT_EXTRA; do
        ip -n "$h" addr add "$a/24" dev eth0; ip -n "$h" addr add "$(v6_of "$a")/64" dev eth0 nodad
      done;;
  esac
}

# First power-on only: the host's disk (overlay upper) gets its identity.
topo_provision() {
  local h=$1 up=$HD/$1/up f
  [ -d "$up" ] && return
  mkdir -p "$up/etc/ssh" "$HD/$h/work" "$HD/$h/root"
  echo "$h" >"$up/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$h" >"$up/etc/hosts"
  install -m600 "$KEYS/$h" "$up/etc/ssh/ssh_host_ed25519_key"
  install -m644 "$KEYS/$h.pub" "$up/etc/ssh/ssh_host_ed25519_key.pub"
  if [ "$T_INIT" = systemd ]; then
    # a server's own identity and services, as units: Debian's ssh.service (on the management
    # address only) and, on real servers, the test services
    printf '%s' "lab-$h" | md5sum | cut -c1-32 >"$up/etc/machine-id"
    mkdir -p "$up/etc/ssh/sshd_config.d" "$up/etc/systemd/system/multi-user.target.wants"
    echo "ListenAddress $T_MGMT:22" >"$up/etc/ssh/sshd_config.d/listen.conf"
    ln -sf /lib/systemd/system/ssh.service "$up/etc/systemd/system/multi-user.target.wants/ssh.service"
    if [ "$T_ROLE" = realserver ]; then
      ln -sf /etc/lab/lab-svc.service "$up/etc/systemd/system/lab-svc.service"
      ln -sf /etc/lab/lab-svc.service "$up/etc/systemd/system/multi-user.target.wants/lab-svc.service"
    fi
  fi
  if [ "$MODE" = host ]; then
    # The lower layer is this machine's /: hide its init scripts (whiteouts) and give root the lab key.
    for f in /etc/rcS.d/S* /etc/rc2.d/S*; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      mkdir -p "$up$(dirname "$f")"; mknod "$up$f" c 0 0
    done
    install -d -m700 "$up/root/.ssh"
    install -m600 "$KEYS/authorized_keys" "$up/root/.ssh/authorized_keys"
    # the non-root user (baked into the guest image) exists only on this host's disk
    if ! getent passwd lvs >/dev/null; then
      { cat /etc/passwd; echo "lvs:x:1990:1990::/home/lvs:/bin/bash"; } >"$up/etc/passwd"
      { cat /etc/group; echo "lvs:x:1990:"; } >"$up/etc/group"
      { cat /etc/shadow; echo "lvs:*:19000:0:99999:7:::"; } >"$up/etc/shadow"; chmod 640 "$up/etc/shadow"
      mkdir -p "$up/etc/sudoers.d"; echo 'lvs ALL=(ALL) NOPASSWD:ALL' >"$up/etc/sudoers.d/lvs"; chmod 440 "$up/etc/sudoers.d/lvs"
      install -d -m700 -o 1990 -g 1990 "$up/home/lvs" "$up/home/lvs/.ssh"
      install -m600 -o 1990 -g 1990 "$KEYS/authorized_keys" "$up/home/lvs/.ssh/authorized_keys"
    fi
  fi
}

topo_host_start() {
  local h=$1
  topo_get "$h"
  topo_provision "$h"
  # setsid: the host must outlive the shell (or ssh session) that (re)started it
  if [ "$T_INIT" = systemd ]; then
    setsid unshare --mount --propagation private \
      "$SD/host-nspawn.sh" "$h" "$HD" "$SD" </dev/null >"$RUNDIR/$h.log" 2>&1 &
  else
    ip netns exec "$h" setsid unshare --mount --uts --ipc --pid --fork --propagation private \
      "$SD/host-init.sh" "$h" "$T_MGMT" "$HD" "$SD" </dev/null >"$RUNDIR/$h.log" 2>&1 &
  fi
  echo $! >"$RUNDIR/$h.unshare.pid"
}

# Power off: SIGKILL to every process in the host's netns. That takes the PID namespace's init
# (host-init.sh's chroot, or systemd under nspawn), so every process of the host; the mount namespace
# (and with it the overlay) goes with them, and nspawn, its container gone, exits. Then the netns
# and its veths are destroyed.
topo_host_stop() {
  local h=$1 u p
  u=$(cat "$RUNDIR/$h.unshare.pid" 2>/dev/null || true)
  if [ -n "$u" ] && [ -e "/proc/$u" ]; then
    for p in $(ip netns pids "$h" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    for _ in $(seq 1 100); do [ -e "/proc/$u" ] || break; sleep 0.1; done
    kill -9 "$u" 2>/dev/null || true
  fi
  rm -f "$RUNDIR/$h.unshare.pid"
  ip netns del "$h" 2>/dev/null || true
  # netns teardown is asynchronous; the bridge-side veth names must be free before re-creation
  for _ in $(seq 1 100); do
    ip -n lab-sw -o link show | grep -q " $h-" || return 0
    sleep 0.1
  done
  echo "topology: veths of $h still present" >&2; return 1
}

topo_wait_ssh() { # hosts...
  local h ok
  for _ in $(seq 1 240); do
    ok=1
    for h in "$@"; do topo_get "$h"; nc -z -w1 "$T_MGMT" 22 2>/dev/null || { ok=0; break; }; done
    [ $ok = 1 ] && return 0
    sleep 0.5
  done
  echo "topology: sshd did not come up on: $*" >&2; return 1
}

topo_up() {
  local h hosts
  hosts=$(topo_hosts)
  topo_switch_up
  for h in $hosts; do topo_net_up "$h"; topo_host_start "$h"; done
  # shellcheck disable=SC2086 # list of names
  topo_wait_ssh $hosts
}

# Power cycle up to the boot path: the host's processes gone, its netns recreated as at power-on.
topo_reboot_hold() {
  topo_host_stop "$1"
  topo_net_up "$1"
}

# The boot path of a held host (powered on by topo_reboot_hold), up to its sshd answering.
topo_boot() {
  local u
  ip netns pids "$1" >/dev/null 2>&1 || { echo "topology: $1 has no netns (not held)" >&2; return 1; }
  u=$(cat "$RUNDIR/$1.unshare.pid" 2>/dev/null || true)
  [ -z "$u" ] || [ ! -e "/proc/$u" ] || { echo "topology: $1 is running (not held)" >&2; return 1; }
  topo_host_start "$1"
  topo_wait_ssh "$1"
}

topo_reboot() {
  topo_reboot_hold "$1"
  topo_boot "$1"
}

topo_down() {
  local h
  for h in $(topo_hosts); do topo_host_stop "$h" || true; done
  ip netns del lab-sw 2>/dev/null || true
  ip link del lab-mgmt 2>/dev/null || true
  if mountpoint -q "$HD"; then umount "$HD"; fi
  rm -rf "$RUNDIR"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  export PATH=/usr/sbin:/usr/bin:/sbin:/bin
  case ${1:-} in
    up) topo_up;;
    down) topo_down;;
    reboot)
      case $#:${3:-} in 2:|3:--hold) ;; *) echo "usage: $0 reboot HOST [--hold]" >&2; exit 2;; esac
      topo_get "$2"
      if [ $# -eq 3 ]; then topo_reboot_hold "$2"; else topo_reboot "$2"; fi;;
    boot) [ -n "${2:-}" ] || { echo "usage: $0 boot HOST" >&2; exit 2; }; topo_get "$2"; topo_boot "$2";;
    hosts) topo_hosts;;
    *) echo "usage: $0 up|down|reboot HOST [--hold]|boot HOST|hosts" >&2; exit 2;;
  esac
fi
