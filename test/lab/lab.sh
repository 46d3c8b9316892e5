#!/bin/bash
# The lvsctl test lab: one QEMU guest (TCG) holding every lab host (see README.md).
#   lab.sh build              build the guest image, or find it in the cache
#   lab.sh up                 start the lab: resume the RAM snapshot of a ready lab if one matches the
#                             image and qemu command line, else boot and make that snapshot
#   lab.sh up --packages      start the lab in the packaged state (below): one resume when it can
#   lab.sh down               stop the qemu that the lab started (pid file only)
#   lab.sh snapshot           boot a fresh lab and save it as the ready snapshot (stays running)
#   lab.sh restore            throw the running lab away and resume the ready snapshot (~seconds)
#   lab.sh restore --packages the same with ipvsadm and keepalived installed on dir1, dir2 and the
#                             router, as lvsctl's install step leaves them (made once per image)
#   lab.sh save NAME          save the running lab as NAME in $LVSCTL_LAB_DIR (a state tests reuse
#                             within one test run, e.g. a cluster already up)
#   lab.sh restore --saved NAME   resume it; exit 3 when there is none
#   lab.sh reboot HOST        reboot one host (new empty netns, same disk, boot path, sshd)
#   lab.sh reboot HOST --hold stop after the new netns: nothing of the disk applied, no sshd
#   lab.sh boot HOST          run the boot path of a held host (up to sshd)
#   lab.sh netns HOST CMD...  sh -c CMD in the host's netns, from the guest (works while held)
#   lab.sh ssh [USER@]HOST [CMD...]   ssh with strict host-key checking (HOST: guest or a lab host)
#   lab.sh state HOST [PATH...]       normalized state snapshot of a host (state.sh)
#   lab.sh forward PORT ADDR APORT    this machine's 127.0.0.1:PORT reaches ADDR:APORT (TCP) from the
#                             router's LAN address: a port forward with NAT on the way (until restore)
#   lab.sh status
# Run-time state: $LVSCTL_LAB_DIR (default <repo>/.lab). Images: $LVSCTL_LAB_CACHE/<key>/.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DIR=${LVSCTL_LAB_DIR:-$(cd "$HERE/../.." && pwd)/.lab}
MEM=${LVSCTL_LAB_MEM:-2048}
# Host-side SSH ports are PORT_BASE + 0..6 (default 22000..22006, as the inventories expect); another
# base lets a second lab run next to the first (with its own LVSCTL_LAB_DIR).
PORT_BASE=${LVSCTL_LAB_PORT_BASE:-22000}
# shellcheck source=guest/topology.sh
. "$HERE/guest/topology.sh"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f s", b - a}'; }
say() { echo "lab: $*" >&2; }
die() { say "$*"; exit 1; }

port_of() { # host -> port on 127.0.0.1
  if [ "$1" = guest ]; then echo "$PORT_BASE"; else topo_get "$1" && echo $((PORT_BASE + T_PORT - LAB_GUEST_PORT)); fi
}

lab_ssh() { # [user@]host cmd...
  local target=$1 user=root host port; shift
  host=${target#*@}; [ "$host" = "$target" ] || user=${target%@*}
  port=$(port_of "$host")
  ssh -i "$LAB_DIR/id_ed25519" -p "$port" -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$LAB_DIR/known_hosts" -o BatchMode=yes -o ConnectTimeout=30 \
    -o LogLevel=ERROR -o ControlMaster=auto -o ControlPath="$LAB_DIR/cm-%r-%p" -o ControlPersist=60 \
    -o ServerAliveInterval=5 -o ServerAliveCountMax=3 "$user@127.0.0.1" "$@" 9>&-
}

# An existing multiplexed connection to a host that is going away would hang the next command.
drop_master() {
  local port s; port=$(port_of "$1")
  for s in "$LAB_DIR"/cm-*-"$port"; do
    [ -S "$s" ] || continue
    ssh -o ControlPath="$s" -O exit lab 2>/dev/null || true
    rm -f "$s"
  done
}

# $LVSCTL_LAB_IMAGE: the image directory a caller found already (test/lab/lab.ts asks once per
# file), which spares the build script's cache check (apt-cache and hashing, ~1.3 s) on every call.
image_dir() {
  if [ -n "${LVSCTL_LAB_IMAGE:-}" ] && [ -f "$LVSCTL_LAB_IMAGE/rootfs.cpio" ]; then echo "$LVSCTL_LAB_IMAGE"; return; fi
  "$HERE/build-image.sh" build
}

# Everything that defines the virtual machine (and so whether a RAM snapshot fits it).
machine_args() { # image dir
  local fwd="hostfwd=tcp:127.0.0.1:$PORT_BASE-:22" h
  for h in $(topo_hosts); do topo_get "$h"; fwd="$fwd,hostfwd=tcp:127.0.0.1:$(port_of "$h")-:$T_PORT"; done
  # shellcheck disable=SC2054 # commas belong to qemu's option syntax
  MACHINE=(-accel tcg,thread=multi -cpu max -smp 2 -m "$MEM" -nodefaults -no-user-config
    -display none -no-reboot -kernel "$1/vmlinuz" -initrd "$1/rootfs.cpio"
    -append "console=ttyS0 quiet panic=-1"
    -nic "user,model=virtio-net-pci,restrict=on,$fwd" -device virtio-rng-pci)
}
snapshot_file() { # image dir [variant]; a saved-NAME variant (lab.sh save) is this lab dir's own
  machine_args "$1"
  local h; h=$({ qemu-system-x86_64 --version; echo "${MACHINE[*]}"; } | sha256sum | cut -c1-16)
  case ${2:-} in
    saved-*) echo "$LAB_DIR/$2-$(basename "$1")-$h.zst";;
    *) echo "$1/vmstate-$h${2:+-$2}.zst";;
  esac
}

qemu_pid() {
  local p
  p=$(cat "$LAB_DIR/qemu.pid" 2>/dev/null) || return 1
  [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = qemu-system-x86 ] && echo "$p"
}

mon() { echo "$1" | nc -N -U "$LAB_DIR/monitor.sock" 2>/dev/null | tr -d '\r'; }

qemu_start() { # image dir [extra qemu args...]
  local img=$1 h p; shift
  for h in guest $(topo_hosts); do
    p=$(port_of "$h")
    [ -z "$(ss -Hltn "sport = :$p")" ] ||
      die "127.0.0.1:$p is taken (another lab? see LVSCTL_LAB_PORT_BASE): $(ss -Hltnp "sport = :$p" | grep -o 'users:.*')"
  done
  machine_args "$img"
  rm -f "$LAB_DIR/console.log" "$LAB_DIR/monitor.sock"
  qemu-system-x86_64 "${MACHINE[@]}" -monitor "unix:$LAB_DIR/monitor.sock,server,nowait" \
    -serial "file:$LAB_DIR/console.log" -daemonize -pidfile "$LAB_DIR/qemu.pid" "$@" 9>&-
  echo "$img" >"$LAB_DIR/image"
}

stop_qemu() {
  local p
  if p=$(qemu_pid); then
    kill "$p"
    for _ in $(seq 1 100); do [ -e "/proc/$p" ] || break; sleep 0.1; done
    say "stopped qemu $p"
  fi
  rm -f "$LAB_DIR/qemu.pid" "$LAB_DIR/monitor.sock" "$LAB_DIR"/cm-*
}

install_keys() { # image dir: the client side of the keys baked into that image
  mkdir -p "$LAB_DIR"
  install -m600 "$1/id_ed25519" "$LAB_DIR/id_ed25519"
  install -m644 "$1/id_ed25519.pub" "$LAB_DIR/id_ed25519.pub"
  # the image knows the default ports; shift them to PORT_BASE
  awk -v d=$((PORT_BASE - LAB_GUEST_PORT)) '{ split($1, a, /[]:]+/); $1 = "[127.0.0.1]:" (a[2] + d); print }' \
    "$1/known_hosts" >"$LAB_DIR/known_hosts"
}

cold_boot() { # image dir
  local t0; t0=$(now)
  qemu_start "$1"
  for _ in $(seq 1 1200); do
    grep -q 'LAB-READY\|LAB-FAILED' "$LAB_DIR/console.log" 2>/dev/null && break
    qemu_pid >/dev/null || break
    sleep 0.5
  done
  grep -q LAB-READY "$LAB_DIR/console.log" 2>/dev/null ||
    { tail -30 "$LAB_DIR/console.log" >&2 || true; stop_qemu; die "boot failed"; }
  say "booted in $(since "$t0")"
}

save_snapshot() { # image dir [variant]: save the running (ready) guest, then let it run on
  local f t0 s=""; f=$(snapshot_file "$1" "${2:-}"); t0=$(now)
  mon stop >/dev/null
  mon "migrate \"exec:zstd -T2 -3 -q >$f.tmp\"" >/dev/null
  for _ in $(seq 1 1500); do
    s=$(mon "info migrate" | grep -o 'Migration status: [a-z-]*' | head -1 || true)
    case $s in *completed|*failed|*cancelled) break;; esac
    sleep 0.2
  done
  [ "$s" = "Migration status: completed" ] || { mon cont >/dev/null; die "snapshot failed: $s"; }
  mv "$f.tmp" "$f"
  mon cont >/dev/null
  say "snapshot saved in $(since "$t0"): $f ($(du -m "$f" | cut -f1) MB)"
}

resume() { # image dir [variant]
  local f t0 st=""; f=$(snapshot_file "$1" "${2:-}"); t0=$(now)
  qemu_start "$1" -incoming "exec:zstd -dc $f"
  for _ in $(seq 1 1200); do
    st=$(mon "info status" | grep -o 'VM status: .*' | head -1 || true)
    case $st in "VM status: paused"|"VM status: running") break;; esac   # not "paused (inmigrate)"
    qemu_pid >/dev/null || break
    sleep 0.1
  done
  case $st in "VM status: paused"|"VM status: running") ;; *) stop_qemu; return 1;; esac
  mon cont >/dev/null
  # the guest's clock stopped when the snapshot was taken
  lab_ssh guest "date -s @$(date +%s) >/dev/null" || { stop_qemu; return 1; }
  say "restored in $(since "$t0")"
}

cmd_up() { # [--packages]
  if [ "${1:-}" = --packages ]; then
    # not running, snapshot there: straight to the packaged one (not the clean one, then it)
    qemu_pid >/dev/null || [ ! -f "$(snapshot_file "$(image_dir)")" ] || { cmd_restore --packages; return; }
    cmd_up; cmd_restore --packages; return
  fi
  local img; img=$(image_dir)
  install_keys "$img"
  if qemu_pid >/dev/null; then
    [ "$(cat "$LAB_DIR/image" 2>/dev/null)" = "$img" ] && { say "already up"; return; }
    stop_qemu
  fi
  if [ -f "$(snapshot_file "$img")" ]; then
    resume "$img" && return
    say "snapshot did not resume; booting"; rm -f "$(snapshot_file "$img")"
  fi
  cold_boot "$img"
  save_snapshot "$img"
}

cmd_snapshot() {
  local img; img=$(image_dir)
  install_keys "$img"; stop_qemu
  cold_boot "$img"; save_snapshot "$img"
}

# The hosts that can be directors (lab inventories), with the packages lvsctl installs there.
PKG_HOSTS="dir1 dir2 router"
PKGS="ipvsadm keepalived"

# What lvsctl's install step does (src/os/debian.ts): policy-rc.d 101, so that the postinst does not
# start keepalived with no config; the lists first (the image has none).
install_packages() {
  local h pids=() t0; t0=$(now)
  for h in $PKG_HOSTS; do
    lab_ssh "$h" "printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d &&
      export DEBIAN_FRONTEND=noninteractive && apt-get update -q >/dev/null &&
      apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold $PKGS >/dev/null;
      rc=\$?; rm -f /usr/sbin/policy-rc.d; exit \$rc" &
    pids+=($!)
  done
  for h in "${pids[@]}"; do wait "$h" || die "installing $PKGS failed"; done
  say "$PKGS installed on $PKG_HOSTS in $(since "$t0")"
}

cmd_save() { # NAME
  [[ ${1:-} =~ ^[a-z0-9-]+$ ]] || die "usage: lab.sh save NAME (a-z, 0-9, -)"
  qemu_pid >/dev/null || die "the lab is not running"
  local img; img=$(image_dir)
  save_snapshot "$img" "saved-$1"
  # the guest's clock stood still while it was saved
  lab_ssh guest "date -s @$(date +%s) >/dev/null"
}

cmd_restore() {
  local img variant=; img=$(image_dir)
  if [ "${1:-}" = --saved ]; then
    [[ ${2:-} =~ ^[a-z0-9-]+$ ]] || die "usage: lab.sh restore --saved NAME"
    [ -f "$(snapshot_file "$img" "saved-$2")" ] || { say "no saved lab state $2"; exit 3; }
    install_keys "$img"; stop_qemu
    resume "$img" "saved-$2" || die "restore of the saved state $2 failed"
    return
  fi
  case ${1:-} in "") ;; --packages) variant=packages;; *) die "usage: lab.sh restore [--packages | --saved NAME]";; esac
  [ -f "$(snapshot_file "$img")" ] || die "no snapshot for this image: run lab.sh up"
  install_keys "$img"; stop_qemu
  if [ -n "$variant" ] && [ -f "$(snapshot_file "$img" "$variant")" ]; then
    resume "$img" "$variant" && return
    say "the $variant snapshot did not resume; making it again"; stop_qemu; rm -f "$(snapshot_file "$img" "$variant")"
  fi
  resume "$img" || die "restore failed"
  [ -z "$variant" ] || { install_packages; save_snapshot "$img" "$variant"; }
}

cmd_reboot() {
  local h=${1:-} hold=${2:-} t0; t0=$(now)
  case $#:$hold in 1:|2:--hold) ;; *) die "usage: lab.sh reboot HOST [--hold]";; esac
  topo_get "$h"
  drop_master "$h"
  if [ -n "$hold" ]; then
    lab_ssh guest "/etc/lab/topology.sh reboot $h --hold"
    say "$h powered on and held before its boot path in $(since "$t0") (lab.sh boot $h)"
  else
    lab_ssh guest "/etc/lab/topology.sh reboot $h"
    say "rebooted $h in $(since "$t0")"
  fi
}

cmd_boot() {
  local h=${1:?usage: lab.sh boot HOST} t0; t0=$(now)
  topo_get "$h"
  drop_master "$h"
  lab_ssh guest "/etc/lab/topology.sh boot $h"
  say "booted $h in $(since "$t0")"
}

# The host's netns as the guest sees it: no sshd needed (a held host has none). The process sees
# that netns's /proc/net (e.g. /proc/net/ip_vs) and /proc/sys/net, but the guest's files.
cmd_netns() {
  local h=${1:-}; [ $# -ge 2 ] || die "usage: lab.sh netns HOST CMD..."
  shift
  topo_get "$h"
  lab_ssh guest "ip netns exec $h sh -c $(printf %q "$*")"
}

cmd_state() {
  local h=${1:?usage: lab.sh state HOST [PATH...]}; shift
  local args="" p
  for p in "$@"; do args="$args $(printf %q "$p")"; done
  lab_ssh "$h" "bash -s --$args" <"$HERE/state.sh"
}

# qemu's hostfwd (added at run time through the monitor) to the guest, DNAT there to the router's
# management address, DNAT in the router to ADDR:APORT, and SNAT to the router's own address on the
# way out: what a CI runner behind a port forward or NAT looks like to the directors.
cmd_forward() {
  local port=${1:-} addr=${2:-} aport=${3:-}
  [[ $port =~ ^[0-9]+$ && $aport =~ ^[0-9]+$ && $addr =~ ^10\.99\.[12]\.[0-9]+$ ]] ||
    die "usage: lab.sh forward PORT ADDR APORT (ADDR on 10.99.1.0/24 or 10.99.2.0/24)"
  topo_get router
  local r=$T_MGMT
  # again after the same call is a no-op (qemu refuses a second forward of one port)
  if ! mon "info usernet" | grep -q "HOST_FORWARD.*127\.0\.0\.1 *$port "; then
    if mon "hostfwd_add tcp:127.0.0.1:$port-:$port" | grep -qi 'could not\|error\|invalid'; then die "hostfwd_add failed"; fi
  fi
  lab_ssh guest "set -e
    rule() { local ns=\$1 t=\$2 c=\$3; shift 3; \$ns iptables -t \$t -C \$c \"\$@\" 2>/dev/null || \$ns iptables -t \$t -A \$c \"\$@\"; }
    rule '' nat PREROUTING -i eth0 -p tcp --dport $port -j DNAT --to-destination $r:$port
    rule '' filter FORWARD -i eth0 -o lab-mgmt -p tcp -d $r --dport $port -j ACCEPT
    rule 'ip netns exec router' nat PREROUTING -i mgmt0 -p tcp --dport $port -j DNAT --to-destination $addr:$aport
    rule 'ip netns exec router' nat POSTROUTING -p tcp -d $addr --dport $aport -j MASQUERADE"
  say "127.0.0.1:$port -> $addr:$aport (through the router, from its address)"
}

cmd_status() {
  local p h
  if p=$(qemu_pid); then echo "qemu: running (pid $p), image $(cat "$LAB_DIR/image" 2>/dev/null)"
  else echo "qemu: not running"; return 3; fi
  for h in guest $(topo_hosts); do
    if lab_ssh "$h" true 2>/dev/null; then echo "$h: ok"; else echo "$h: unreachable"; fi
  done
}

# One life-cycle command at a time per lab directory. Daemons started under the lock (qemu, ssh
# control masters) must not inherit fd 9, or they would hold the lock for their whole life.
lock() { mkdir -p "$LAB_DIR"; exec 9>"$LAB_DIR/lock"; flock 9; }

main() {
  local cmd=${1:-}; [ $# -eq 0 ] || shift
  case $cmd in build|up|down|snapshot|save|restore|reboot|boot) lock;; esac
  case $cmd in
    build) image_dir;;
    up) cmd_up "$@";;
    down) stop_qemu;;
    snapshot) cmd_snapshot;;
    save) cmd_save "$@";;
    restore) cmd_restore "$@";;
    reboot) cmd_reboot "$@";;
    boot) cmd_boot "$@";;
    netns) cmd_netns "$@";;
    ssh) [ $# -gt 0 ] || die "usage: lab.sh ssh [USER@]HOST [CMD...]"; lab_ssh "$@";;
    state) cmd_state "$@";;
    forward) cmd_forward "$@";;
    status) cmd_status;;
    *) sed -n '2,18s/^# \{0,1\}//p' "$0" >&2; exit 2;;
  esac
}
main "$@"
