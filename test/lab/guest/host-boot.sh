#!/bin/bash
# init (PID 1) of a lab host, inside its root. Emulates the boot of a Debian machine without
# systemd, in systemd's order: modules-load.d, then sysctl --system, then the SysV rc scripts
# (/etc/rcS.d/S* then /etc/rc2.d/S*, lexical order like run-parts, each with "start"); only then
# the lab's own daemons: sshd on the management address and, on real servers, the test services.
# Everything is logged to the host's /var/log/boot.log. Failures are logged, not fatal (like init).
# usage: host-boot.sh HOST MGMT_IP
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
h=$1; ip=$2
mkdir -p /var/log /run/sshd /run/lock
exec </dev/null >>/var/log/boot.log 2>&1
echo "=== boot $h $(date -u +%FT%TZ)"
busybox syslogd -O /var/log/messages

for f in /etc/modules-load.d/*.conf; do
  [ -e "$f" ] || continue
  sed 's/[#;].*//' "$f" | while read -r m args; do
    [ -n "$m" ] || continue
    # shellcheck disable=SC2086 # module parameters
    if modprobe "$m" $args; then echo "modules-load: $m"; else echo "modules-load: FAILED $m"; fi
  done
done
echo "sysctl --system"; sysctl --system || echo "sysctl --system: exit $?"
for s in /etc/rcS.d/S* /etc/rc2.d/S*; do
  [ -x "$s" ] || continue
  echo "rc: $s start"
  timeout 60 "$s" start || echo "rc: $s exit $?"
done

/usr/sbin/sshd -o ListenAddress="$ip:22" -o PidFile=/run/sshd.pid -h /etc/ssh/ssh_host_ed25519_key \
  -o PasswordAuthentication=no -o PermitRootLogin=prohibit-password -o UseDNS=no
case $h in rs*) /etc/lab/svc.sh start;; esac
echo "=== up $h $(date -u +%FT%TZ)"

# reap orphans forever; TERM/INT/HUP must not end the host
trap : TERM INT HUP
while :; do wait; sleep 1; done
