#!/bin/bash
# PID 1 of a bench host's PID namespace (started by hosts.sh inside the host's netns and a private
# mount namespace): overlay root (lower = this machine's /, upper = the host's own disk, so /etc,
# /usr/local/sbin, /var/lib ... are per host), its own /proc, /sys, /dev, /run, /tmp, then sshd on
# the host's address and an orphan reaper as init.
# usage: hostinit.sh HOST IP HOSTS_DIR
set -euo pipefail
h=$1; ip=$2; r=$3/$1/root
# its network (eth0, the far end of its veth, came from hosts.sh)
printf 'link set lo up\naddr add %s/16 dev eth0\nlink set eth0 up\n' "$ip" | ip -batch -
mount -t overlay overlay -o "lowerdir=/,upperdir=$3/$h/up,workdir=$3/$h/work" "$r"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount -t tmpfs -o mode=755,size=16m tmpfs "$r/dev"
touch "$r"/dev/{null,zero,full,random,urandom,tty}
for d in null zero full random urandom tty; do mount --bind "/dev/$d" "$r/dev/$d"; done
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"; ln -s /proc/self/fd "$r/dev/fd"
ln -s /proc/self/fd/0 "$r/dev/stdin"; ln -s /proc/self/fd/1 "$r/dev/stdout"; ln -s /proc/self/fd/2 "$r/dev/stderr"
mount -t tmpfs tmpfs "$r/dev/shm"
mount -t tmpfs -o mode=755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
hostname "$h"
# shellcheck disable=SC2016 # expanded by the host's shell
exec chroot "$r" /bin/bash -c '
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mkdir -p /run/sshd
/usr/sbin/sshd -o ListenAddress="$1:22" -o PidFile=/run/sshd.pid -h /etc/ssh/ssh_host_ed25519_key \
  -o PasswordAuthentication=no -o PermitRootLogin=prohibit-password -o UseDNS=no -o MaxStartups=100:30:200
trap : TERM INT HUP
# the reaper: bash reaps every child that ends (orphans included) while `wait` blocks on a child
# that never ends; no process per second (500 hosts polling with `sleep 1` took both CPUs)
sleep infinity &
while :; do wait; done' lvb-init "$ip" </dev/null
