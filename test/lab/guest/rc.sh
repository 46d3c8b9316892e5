#!/bin/bash
# Guest boot: the modules the lab itself needs, the slirp uplink (only for the hostfwd SSH ports),
# the control sshd, then every host (topology.sh up). Prints LAB-READY on the console when done.
# ip_vs*/ipip are NOT loaded here: lvsctl has to load them (modprobe works inside every host).
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
exec >/dev/console 2>&1
t() { echo "LAB: $* (uptime $(cut -d' ' -f1 /proc/uptime))"; }
mkdir -p /dev/pts /dev/shm /run /tmp /run/netns /var/log
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
# systemd-nspawn (the hosts that boot with systemd) needs the unified cgroup hierarchy
mount -t cgroup2 cgroup2 /sys/fs/cgroup
hostname lvs-guest
t "rc start"
# crc32c_generic: busybox-style loaders miss libcrc32c's softdep; kmod handles it, load it anyway.
for m in virtio_pci virtio_net virtio_rng overlay veth bridge crc32c_generic nf_conntrack \
         nf_tables nft_chain_nat nft_compat xt_nat xt_MASQUERADE xt_conntrack xt_tcpudp; do
  modprobe "$m" || echo "LAB: modprobe $m failed"
done
t "modules loaded"
ip link set lo up
# slirp with restrict=on: only the hostfwd ports from the machine's 127.0.0.1. No default route.
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
mkdir -p /run/sshd
/usr/sbin/sshd -o ListenAddress=10.0.2.15:22
t "control sshd up"
if LAB_MODE=guest /etc/lab/topology.sh up; then t "topology up"; echo "LAB-READY"; else echo "LAB-FAILED"; fi
