#!/bin/bash
# PID 1 of a new PID namespace, already inside the host's netns and a private mount namespace
# (started by topology.sh). Mounts the host's root -- overlay: lower = the controller's / (read-only
# in effect), upper = the host's disk -- plus its own /proc, /sys (this netns only), /dev, /run, /tmp,
# sets the hostname, then becomes the host's init (host-boot.sh) inside that root.
# usage: host-init.sh HOST MGMT_IP HOSTS_DIR SCRIPTS_DIR
set -euo pipefail
h=$1; ip=$2; hd=$3; sd=$4; r=$hd/$h/root
mount -t overlay overlay -o "lowerdir=/,upperdir=$hd/$h/up,workdir=$hd/$h/work" "$r"
mount -t proc proc "$r/proc"
mount -t sysfs sysfs "$r/sys"
mount -t tmpfs -o mode=755,size=16m tmpfs "$r/dev"
for d in null zero full random urandom tty console; do touch "$r/dev/$d"; mount --bind "/dev/$d" "$r/dev/$d"; done
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620,gid=5 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"; ln -s /proc/self/fd "$r/dev/fd"
ln -s /proc/self/fd/0 "$r/dev/stdin"; ln -s /proc/self/fd/1 "$r/dev/stdout"; ln -s /proc/self/fd/2 "$r/dev/stderr"
mount -t tmpfs tmpfs "$r/dev/shm"
mount -t tmpfs -o mode=755 tmpfs "$r/run"
mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
# the lab's own scripts, read-only, whatever the host does to its /etc
[ -d "$r/etc/lab" ] || mkdir -p "$r/etc/lab"
mount --bind "$sd" "$r/etc/lab"
mount -o remount,bind,ro "$r/etc/lab"
hostname "$h"
exec chroot "$r" /etc/lab/host-boot.sh "$h" "$ip"
