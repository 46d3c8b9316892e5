#!/bin/bash
# Builds the lab guest image into a cache directory keyed on the build inputs.
#   build-image.sh key     print the image key (hash of everything that goes into the image)
#   build-image.sh build   build (or reuse) the image; prints the image directory
# Two stages, each cached under $LVSCTL_LAB_CACHE:
#   base-<key>/  kernel + debootstrap rootfs + local apt repo (slow: network; changes rarely)
#   <key>/       base + lab scripts + per-build SSH keys, packed as an uncompressed initramfs
# The kernel is Debian's linux-image-amd64, unpacked only (never installed on this machine).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${LVSCTL_LAB_CACHE:-/var/tmp/lvsctl-lab}
SUITE=bookworm
# In the rootfs (systemd, systemd-container and dbus, which debootstrap does not pull in for it: the
# hosts that boot with systemd run under systemd-nspawn;
# ndisc6: neighbour solicitations by hand). No ipvsadm/keepalived here: installing them is lvsctl's job (see REPO_PKGS).
ROOTFS_PKGS=iproute2,iptables,openssh-server,openssh-client,curl,kmod,busybox,procps,iputils-ping,iputils-arping,netcat-openbsd,tcpdump,sudo,socat,ifupdown,systemd,systemd-container,dbus,ndisc6
# Served to the hosts from the guest's local repository, with whatever they need beyond the rootfs.
REPO_PKGS="ipvsadm keepalived"
HOST_PKGS="qemu-system-x86 debootstrap cpio kmod openssh-client zstd netcat-openbsd apt-utils openssl"

log() { echo "[build $(date +%T)] $*" >&2; }

host_packages() {
  local missing=() p
  for p in $HOST_PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
}

kernel_pkg() {
  local k
  k=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  if [ -z "$k" ]; then apt-get update -q >/dev/null; k=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}'); fi
  echo "$k"
}

# The mirror comes from this machine's apt configuration (CI can reach only that mirror).
mirror() {
  local m
  m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
  echo "$m"
}

build_base() { # $1 = output dir, $2 = kernel package
  local out=$1 kpkg=$2 kv r m md
  kv=${kpkg#linux-image-}; r=$out/rootfs
  mkdir -p "$out/debs"
  log "kernel $kpkg"
  # -o APT::Sandbox::User=root: the _apt user may not write to the cache directory
  (cd "$out/debs" && apt-get download -q -o APT::Sandbox::User=root "$kpkg" >/dev/null)
  dpkg-deb -x "$out"/debs/"${kpkg}"_*.deb "$out/kern"
  cp "$out/kern/boot/vmlinuz-$kv" "$out/vmlinuz"

  log "debootstrap $SUITE ($(mirror))"
  debootstrap --variant=minbase --include="$ROOTFS_PKGS" "$SUITE" "$r" "$(mirror)" >"$out/debootstrap.log" 2>&1 ||
    { tail -20 "$out/debootstrap.log" >&2; return 1; }

  # Local repository: exactly the packages (and dependencies) missing from the rootfs, resolved
  # by the rootfs' own apt, fetched with apt-get download, indexed with apt-ftparchive.
  log "local repo: $REPO_PKGS"
  cp /etc/resolv.conf "$r/etc/resolv.conf"
  chroot "$r" apt-get update -q >/dev/null
  local debs
  # shellcheck disable=SC2086 # one word per package
  debs=$(chroot "$r" apt-get install -s -y $REPO_PKGS | awk '/^Inst /{printf "%s ", $2}')
  mkdir -p "$r/srv/lab-repo"
  chroot "$r" sh -c "cd /srv/lab-repo && apt-get download -q -o APT::Sandbox::User=root $debs" >/dev/null
  (cd "$r/srv/lab-repo" && apt-ftparchive packages . >Packages && apt-ftparchive release . >Release)
  chmod -R a+rX "$r/srv/lab-repo"
  echo 'deb [trusted=yes] file:/srv/lab-repo ./' >"$r/etc/apt/sources.list"
  rm -f "$r"/etc/apt/sources.list.d/* "$r/etc/resolv.conf"

  log "trim + modules"
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/usr/share/doc/* \
         "$r"/usr/share/man/* "$r"/usr/share/locale/* "$r"/usr/share/info/*
  m=$out/kern/lib/modules/$kv; md=$r/lib/modules/$kv
  mkdir -p "$md/kernel/drivers/net" "$md/kernel/drivers/char/hw_random" "$md/kernel/fs"
  cp -a "$m/kernel/net" "$m/kernel/lib" "$m/kernel/crypto" "$md/kernel/"
  cp -a "$m/kernel/drivers/virtio" "$md/kernel/drivers/"
  cp -a "$m"/kernel/drivers/net/*.ko "$m/kernel/drivers/net/vxlan" "$md/kernel/drivers/net/"
  cp -a "$m/kernel/drivers/char/hw_random/virtio-rng.ko" "$md/kernel/drivers/char/hw_random/"
  cp -a "$m/kernel/fs/overlayfs" "$md/kernel/fs/"
  cp -a "$m"/modules.order "$m"/modules.builtin* "$md/"
  depmod -b "$r" "$kv"
  rm -rf "$out/kern" "$out/debs"
  echo "$kv" >"$out/kernel-version"
}

build_image() { # $1 = output dir, $2 = base dir
  local out=$1 base=$2 r=$1/rootfs h
  log "image from $base"
  cp -a "$base/rootfs" "$r"
  cp "$base/vmlinuz" "$out/vmlinuz"
  install -m755 "$HERE/guest/init" "$r/init"
  install -m644 "$HERE/guest/inittab" "$r/etc/inittab"
  mkdir -p "$r/etc/lab"
  install -m755 "$HERE"/guest/*.sh "$r/etc/lab/"
  install -m644 "$HERE"/guest/*.service "$r/etc/lab/"
  # Hosts that boot with systemd: no timer may start apt or dpkg behind a test's back (a real
  # server's daily apt run holds the dpkg lock at a random hour; a test must not meet it by chance).
  for u in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer; do ln -sf /dev/null "$r/etc/systemd/system/$u"; done

  # Keys are made per image and baked in; lab.sh copies the client side from here.
  ssh-keygen -q -t ed25519 -N '' -C lvsctl-lab -f "$out/id_ed25519"
  rm -f "$r"/etc/ssh/ssh_host_*
  ssh-keygen -q -t ed25519 -N '' -C guest -f "$r/etc/ssh/ssh_host_ed25519_key"
  echo "[127.0.0.1]:22000 $(cut -d' ' -f1,2 "$r/etc/ssh/ssh_host_ed25519_key.pub")" >"$out/known_hosts"
  install -d -m700 "$r/var/lib/lab-keys"
  # shellcheck source=guest/topology.sh
  . "$HERE/guest/topology.sh"
  for h in $(topo_hosts); do
    topo_get "$h"
    ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$r/var/lib/lab-keys/$h"
    echo "[127.0.0.1]:$T_PORT $(cut -d' ' -f1,2 "$r/var/lib/lab-keys/$h.pub")" >>"$out/known_hosts"
  done
  install -m644 "$out/id_ed25519.pub" "$r/var/lib/lab-keys/authorized_keys"
  # TLS for the HTTPS probe tests: a lab CA (made per image, like the keys) and one certificate for
  # www.lab.test that every real server presents, as behind a real load balancer.
  install -d -m755 "$r/etc/lab/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -subj /CN=lvsctl-lab-ca \
    -keyout "$out/ca.key" -out "$r/etc/lab/tls/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=www.lab.test \
    -addext subjectAltName=DNS:www.lab.test -keyout "$r/etc/lab/tls/server.key" -out "$out/server.csr" 2>/dev/null
  openssl x509 -req -in "$out/server.csr" -CA "$r/etc/lab/tls/ca.pem" -CAkey "$out/ca.key" -CAcreateserial \
    -days 3650 -copy_extensions copy -out "$r/etc/lab/tls/server.pem" 2>/dev/null
  rm -f "$out/ca.key" "$out/server.csr" "$r/etc/lab/tls/ca.srl"
  install -d -m700 "$r/root/.ssh"
  install -m600 "$out/id_ed25519.pub" "$r/root/.ssh/authorized_keys"
  # The non-root user of the issue: key login, passwordless sudo (on every host).
  chroot "$r" useradd -m -s /bin/bash -G sudo lvs
  install -d -m700 -o 1000 -g 1000 "$r/home/lvs/.ssh"
  install -m600 -o 1000 -g 1000 "$out/id_ed25519.pub" "$r/home/lvs/.ssh/authorized_keys"
  echo 'lvs ALL=(ALL) NOPASSWD:ALL' >"$r/etc/sudoers.d/lvs"; chmod 440 "$r/etc/sudoers.d/lvs"
  cat >"$r/etc/ssh/sshd_config.d/lab.conf" <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
PrintMotd no
CONF
  : >"$r/etc/motd"
  # pam_motd runs update-motd.d's scripts at every login: a few process starts under TCG, and the
  # tests log in over a thousand times.
  sed -i 's/^session *optional *pam_motd/#&/' "$r/etc/pam.d/sshd"
  echo lvs-guest >"$r/etc/hostname"
  # sshd of each host is started by the lab on its management address, not by an rc script;
  # hwclock would set the clock of the one kernel that all hosts share.
  rm -f "$r"/etc/rc?.d/[SK]??ssh "$r"/etc/rc?.d/[SK]??hwclock.sh
  log "pack cpio"
  (cd "$r" && find . -print0 | cpio --null -o -H newc --quiet) >"$out/rootfs.cpio"
  rm -rf "$r"
}

base_key() {
  { echo "$SUITE $ROOTFS_PKGS $REPO_PKGS $1"; declare -f build_base; } | sha256sum | cut -c1-16
}
image_key() { # $1 = base key
  { echo "$1"; declare -f build_image; cat "$HERE"/guest/*; } | sha256sum | cut -c1-16
}

main() {
  local cmd=${1:-build} kpkg bk ik out base t0
  kpkg=$(kernel_pkg); bk=$(base_key "$kpkg"); ik=$(image_key "$bk")
  case $cmd in
    key) echo "$ik"; return;;
    build) ;;
    *) echo "usage: $0 key|build" >&2; return 2;;
  esac
  out=$CACHE/$ik; base=$CACHE/base-$bk
  if [ -f "$out/rootfs.cpio" ]; then touch "$out" "$base" 2>/dev/null || true; echo "$out"; return; fi
  host_packages
  t0=$(date +%s)
  mkdir -p "$CACHE"
  if [ ! -f "$base/vmlinuz" ]; then
    rm -rf "$base.tmp"; build_base "$base.tmp" "$kpkg"; mv "$base.tmp" "$base"
  fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  build_image "$out.tmp" "$base"
  mv "$out.tmp" "$out"
  log "image $ik ready in $(( $(date +%s) - t0 )) s"
  # images (with their snapshots) and bases nobody used for a week go
  find "$CACHE" -mindepth 1 -maxdepth 1 -type d -mtime +7 ! -name "$ik" ! -name "base-$bk" -exec rm -rf {} +
  echo "$out"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
