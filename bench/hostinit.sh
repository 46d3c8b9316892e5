#!/bin/bash
# PID 1 of a bench host's PID namespace (started by hosts.sh inside the host's netns and a private
# mount namespace): overlay root (lower = this machine's /, upper = the host's own disk, so /etc,
# /usr/local/sbin, /var/lib ... are per host; /dev, /run and /tmp come from the disk's template,
# hosts.sh), its own /proc, /sys, /dev/pts, then sshd on the host's address
# as its init.
# usage: hostinit.sh HOST IP HOSTS_DIR
set -euo pipefail
h=$1; ip=$2; r=$3/$1/root
# its network (eth0, the far end of its veth, came from hosts.sh)
printf 'link set lo up\naddr add %s/16 dev eth0\nlink set eth0 up\n' "$ip" | ip -batch -
mount -t overlay overlay -o "lowerdir=/,upperdir=$3/$h/up,workdir=$3/$h/work" "$r"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$r/dev/pts"
hostname "$h"
# sshd is the host's init: it reaps every child that ends (waitpid(-1) on SIGCHLD), orphans included,
# and costs no shell and no `sleep` per host (a process is about 10 ms of CPU here, times 500 hosts)
exec chroot "$r" /usr/sbin/sshd -D -o ListenAddress="$ip:22" -o PidFile=/run/sshd.pid -h /etc/ssh/ssh_host_ed25519_key \
  -o PasswordAuthentication=no -o PermitRootLogin=prohibit-password -o UseDNS=no -o MaxStartups=100:30:200 </dev/null
