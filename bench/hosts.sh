#!/bin/bash
# Bench hosts: N sshd hosts in network namespaces on this machine, for `npm run bench` (issue 9).
#   hosts.sh up N     N hosts lvb1..lvbN (fresh disks), replacing any that are up
#   hosts.sh down     remove them all (hosts, bridge, disks; keys stay)
#   hosts.sh list     NAME ADDRESS of the hosts that are up
#   hosts.sh ssh HOST [CMD...]
# A host = netns lvbK + its own mount/UTS/IPC/PID namespaces + an overlay root whose upper layer is
# its own disk (tmpfs), so everything lvsctl or Ansible writes (/etc, /usr/local/sbin, /var/lib)
# lands per host; sshd listens on its eth0 address. Bridge br0 lives in netns lvb-sw; this machine
# reaches it through veth lvb-ctl (10.98.0.1/16). Host K is at 10.98.(1+(K-1)/200).(10+(K-1)%200).
# One client key, one host key (shared by all hosts) and known_hosts are in bench/.run/ (BENCH_RUN).
# Only 10.98.0.0/16 and the names lvb*, lvb-sw, lvb-ctl are used.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUN=${BENCH_RUN:-$HERE/.run}
HD=$RUN/hosts          # tmpfs: per-host up/work/root
PIDS=$RUN/pids
# shellcheck disable=SC2206
PKGS=(${BENCH_PKGS:-openssh-server openssh-client iproute2 util-linux procps coreutils python3 ansible time})

addr_of() { echo "10.98.$((1 + ($1 - 1) / 200)).$((10 + ($1 - 1) % 200))"; }

packages() {
  # One query per package: dpkg-query exits 1 for a package it does not know (ansible on a fresh
  # machine), which under pipefail hid the whole check before.
  local missing=() still=() p log=$RUN/apt.log apt=${BENCH_APT_GET:-apt-get}
  for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "hosts: installing ${missing[*]}" >&2
  mkdir -p "$RUN"
  # A failed install stops here with the package manager's own words (BENCH_APT_GET: the tests'
  # stand-in for apt-get).
  if ! { "$apt" update -q && DEBIAN_FRONTEND=noninteractive "$apt" install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    echo "hosts: installing ${missing[*]} failed; apt-get said (all of it in $log):" >&2
    grep -E '^(E|W|Err):' "$log" >&2 || tail -n 15 "$log" >&2
    exit 1
  fi
  for p in "${missing[@]}"; do installed "$p" || still+=("$p"); done
  if [ ${#still[@]} -gt 0 ]; then
    echo "hosts: apt-get ended well but ${still[*]} is still not installed; apt-get said (all of it in $log):" >&2
    tail -n 15 "$log" >&2
    exit 1
  fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

keys() {
  install -d -m700 "$RUN"
  [ -f "$RUN/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C lvsctl-bench -f "$RUN/id_ed25519"
  [ -f "$RUN/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C lvsctl-bench-host -f "$RUN/host_ed25519"
}

# New netns copy conf/all and conf/default from this machine's netns unless
# devconf_inherit_init_net=2 (kernel defaults): set only while the namespaces are created.
with_default_devconf() {
  local f=/proc/sys/net/core/devconf_inherit_init_net old rc=0
  old=$(cat $f); echo 2 >$f
  "$@" || rc=$?
  echo "$old" >$f
  return $rc
}

# At 500 hosts every process per host counts (~25 ms each here): links and namespaces are made by
# one `ip -batch` each, a host's disk is one copy of a template, its own addresses are set by its
# init (hostinit.sh), and no $(...) runs in the per-host loop.

# IP and MAC of host K (MAC fixed: the same link-local address on every run)
addr_vars() {
  local a=$((1 + ($1 - 1) / 200)) b=$((10 + ($1 - 1) % 200))
  IP=10.98.$a.$b
  printf -v MAC '02:00:%02x:%02x:%02x:%02x' 10 98 "$a" "$b"
}

mk_netns() { local k; for k in "$@"; do echo "netns add lvb$k"; done | ip -batch -; }

mk_links() { # the hosts' veths, their switch ends in br0
  local k
  for k in "$@"; do
    addr_vars "$k"
    echo "link add lvb$k type veth peer name eth0 netns lvb$k address $MAC"
    echo "link set lvb$k master br0 up"
  done | ip -n lvb-sw -batch -
}

template() { # what every host's disk starts with: up/ (its own files), work/, root/ (the mount point)
  local t=$HD/template up=$HD/template/up
  mkdir -p "$up/etc/ssh" "$up/root/.ssh" "$t/work" "$t/root"
  install -m600 "$RUN/host_ed25519" "$up/etc/ssh/ssh_host_ed25519_key"
  install -m644 "$RUN/host_ed25519.pub" "$up/etc/ssh/ssh_host_ed25519_key.pub"
  # root's home is the host's own, as on a fresh Debian host (base-files' dot files), not this
  # machine's /root: its .bashrc may run anything (here: pyenv init, ~0.2 s on every SSH command)
  # /dev, /run and /tmp are the host's own too, made here once rather than mounted by each host's
  # init (a process per mount or node costs seconds at 500 hosts): opaque, so that nothing of this
  # machine's directories below its own mounts shows through (its /run holds netns and systemd)
  mkdir -p "$up/dev/pts" "$up/dev/shm" "$up/run/sshd" "$up/tmp"
  mknod -m666 "$up/dev/null" c 1 3; mknod -m666 "$up/dev/zero" c 1 5; mknod -m666 "$up/dev/full" c 1 7
  mknod -m666 "$up/dev/random" c 1 8; mknod -m666 "$up/dev/urandom" c 1 9; mknod -m666 "$up/dev/tty" c 5 0
  ln -s pts/ptmx "$up/dev/ptmx"; ln -s /proc/self/fd "$up/dev/fd"
  ln -s /proc/self/fd/0 "$up/dev/stdin"; ln -s /proc/self/fd/1 "$up/dev/stdout"; ln -s /proc/self/fd/2 "$up/dev/stderr"
  chmod 1777 "$up/tmp" "$up/dev/shm"
  python3 -c 'import os, sys; [os.setxattr(d, "trusted.overlay.opaque", b"y") for d in sys.argv[1:]]' \
    "$up/root" "$up/dev" "$up/run" "$up/tmp"
  install -m644 /usr/share/base-files/dot.bashrc "$up/root/.bashrc"
  install -m644 /usr/share/base-files/dot.profile "$up/root/.profile"
  chmod 700 "$up/root" "$up/root/.ssh"
  install -m600 "$RUN/id_ed25519.pub" "$up/root/.ssh/authorized_keys"
}

host_up() { # K: disk, then init (its addresses, mounts, sshd)
  local k=$1 h=lvb$1 up=$HD/lvb$1/up
  addr_vars "$k"
  cp -a "$HD/template" "$HD/$h"   # -a: modes and root's opaque xattr too
  echo "$h" >"$up/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' "$h" >"$up/etc/hosts"
  # setsid: the host outlives this shell
  ip netns exec "$h" setsid unshare --mount --uts --ipc --pid --fork --propagation private \
    "$HERE/hostinit.sh" "$h" "$IP" "$HD" </dev/null >"$RUN/log/$h.log" 2>&1 &
  echo $! >"$PIDS/$h.pid"
}
wait_ssh() { # K...: each sshd accepts (a refused or unreachable connect ends at once)
  local k
  for k in "$@"; do
    addr_vars "$k"
    for _ in $(seq 1 200); do
      (exec 3<>"/dev/tcp/$IP/22") 2>/dev/null && continue 2
      sleep 0.1
    done
    echo "hosts: sshd of lvb$k ($IP) did not come up; see $RUN/log/lvb$k.log" >&2; return 1
  done
}

# The job of issue 9: the DR real-server role on lvb1..lvbN. lvsctl needs a director; "dir" is one
# that is never contacted (run with --limit lvb1,...,lvbN, as bench/run.ts does).
inventory() {
  local n=$1 k
  cat <<YAML
# generated by bench/hosts.sh up $n: DR real-server role on lvb1..lvb$n (run with --limit the lvb hosts;
# the director "dir" is never contacted)
cluster: bench-dr
mode: dr
vars:
  ssh: { user: root, identity_file: id_ed25519, known_hosts: known_hosts }
  interface: eth0
groups:
  rs:
    hosts: [$(seq -s, -f 'lvb%g' 1 "$n" | sed 's/,/, /g')]
hosts:
  dir: { address: 10.98.0.2 }
YAML
  for k in $(seq 1 "$n"); do addr_vars "$k"; echo "  lvb$k: { address: $IP }"; done
  cat <<YAML
directors:
  hosts: [dir]
vips:
  - address: 10.98.0.100
    interface: eth0
    services:
      - name: http
        port: 80
        scheduler: rr
        real_servers:
          - group: rs
YAML
}

down() {
  local f p kids=() cp
  # Ansible's ControlPersist masters to these hosts (bench/ansible/ansible.cfg puts them here)
  for cp in "$RUN"/cp/*; do
    if [ -S "$cp" ]; then ssh -o ControlPath="$cp" -O exit lvb-bench 2>/dev/null || true; fi
  done
  # power off: SIGKILL to each PID namespace's init kills every process of that host
  local pids=()
  for f in "$PIDS"/lvb*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f"); rm -f "$f"
    [ -e "/proc/$p" ] || continue
    pids+=("$p")
    read -ra kids <"/proc/$p/task/$p/children" || true
    for c in "${kids[@]}"; do kill -9 "$c" 2>/dev/null || true; done
  done
  for p in "${pids[@]}"; do # unshare exits once its child is gone (a zombie counts as gone)
    for _ in $(seq 1 50); do
      if [ ! -e "/proc/$p" ] || [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" = Z ]; then break; fi
      sleep 0.05
    done
    kill -9 "$p" 2>/dev/null || true
  done
  for h in $(ip netns list | awk '$1 ~ /^lvb[0-9]+$/ {print $1}'); do ip netns del "$h"; done
  ip netns list | grep -q '^lvb-sw\b' && ip netns del lvb-sw
  # the veth goes with lvb-sw, asynchronously: it may vanish between a look and a delete
  ip link del lvb-ctl 2>/dev/null || true
  if mountpoint -q "$HD"; then umount "$HD"; fi
  rm -f "$RUN/hosts.list"
  # netns teardown is asynchronous: wait until the names are free
  for _ in $(seq 1 100); do ip link show lvb-ctl >/dev/null 2>&1 || return 0; sleep 0.1; done
}

up() {
  local n=$1 k t0=$EPOCHREALTIME
  if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 1000 ]; then echo "hosts: N must be 1..1000" >&2; exit 2; fi
  packages
  keys
  down
  mkdir -p "$HD" "$PIDS" "$RUN/log" "$RUN/cp"
  mount -t tmpfs -o mode=700 tmpfs "$HD"
  ip netns add lvb-sw
  ip -n lvb-sw link set lo up
  ip -n lvb-sw link add br0 type bridge forward_delay 0 stp_state 0
  ip -n lvb-sw link set br0 up
  ip link add lvb-ctl type veth peer name ctl netns lvb-sw
  ip -n lvb-sw link set ctl master br0 up
  ip addr add 10.98.0.1/16 dev lvb-ctl
  ip link set lvb-ctl up
  # shellcheck disable=SC2046
  with_default_devconf mk_netns $(seq 1 "$n")
  # shellcheck disable=SC2046
  mk_links $(seq 1 "$n")
  template
  local key; key=$(cut -d' ' -f1,2 "$RUN/host_ed25519.pub")
  : >"$RUN/known_hosts.new"; : >"$RUN/hosts.list.new"
  for k in $(seq 1 "$n"); do
    host_up "$k"
    echo "$IP $key" >>"$RUN/known_hosts.new"
    echo "lvb$k $IP" >>"$RUN/hosts.list.new"
  done
  mv "$RUN/known_hosts.new" "$RUN/known_hosts"
  # shellcheck disable=SC2046
  wait_ssh $(seq 1 "$n")
  mv "$RUN/hosts.list.new" "$RUN/hosts.list"
  inventory "$n" >"$RUN/inventory.yaml"
  echo "hosts: $n up in $(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 )) ms" >&2
}

case ${1:-} in
  up) up "${2:?usage: hosts.sh up N}";;
  down) down; echo "hosts: down" >&2;;
  list) cat "$RUN/hosts.list";;
  ssh)
    h=${2:?usage: hosts.sh ssh HOST [CMD...]}; shift 2
    ip=$(addr_of "${h#lvb}")
    exec ssh -i "$RUN/id_ed25519" -o UserKnownHostsFile="$RUN/known_hosts" -o StrictHostKeyChecking=yes \
      -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR "root@$ip" "$@";;
  *) sed -n '2,6s/^# \{0,1\}//p' "$0" >&2; exit 2;;
esac
