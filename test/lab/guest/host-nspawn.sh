#!/bin/bash
# A lab host that boots with systemd: the same root as host-init.sh's (overlay: lower = the guest's /,
# upper = the host's disk), booted by systemd-nspawn with systemd as its PID 1, inside the host's
# netns (already made by topology.sh, with its "hardware"). What a server has: CAP_NET_ADMIN and a
# writable /proc/sys/net (nspawn grants both with a network namespace of its own), CAP_SYS_MODULE so
# that systemd-modules-load.service runs as on a server (modules are global to the guest's kernel),
# the journal. Runs in a mount namespace of its own (topology.sh: unshare --mount).
# usage: host-nspawn.sh HOST HOSTS_DIR SCRIPTS_DIR
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
h=$1; hd=$2; sd=$3; r=$hd/$h/root
# A cgroup of its own (the guest has no systemd to give one): nspawn --keep-unit puts the container
# below it. What a killed container left behind goes first.
cg=/sys/fs/cgroup/lab-$h
if [ -d "$cg" ]; then find "$cg" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null || true; fi
mkdir -p "$cg"
echo $$ >"$cg/cgroup.procs"
mount -t overlay overlay -o "lowerdir=/,upperdir=$hd/$h/up,workdir=$hd/$h/work" "$r"
SYSTEMD_NSPAWN_API_VFS_WRITABLE=network exec systemd-nspawn --quiet --boot --directory="$r" --machine="$h" --uuid="$(cat "$r/etc/machine-id")" \
  --network-namespace-path="/run/netns/$h" --register=no --keep-unit --capability=CAP_NET_ADMIN,CAP_SYS_MODULE \
  --console=passive --link-journal=no --resolv-conf=off --timezone=off --bind-ro="$sd:/etc/lab"
