#!/bin/bash
# Normalized, diff-friendly snapshot of one lab host's state (run inside the host, as root:
# `lab.sh state HOST [PATH...]` pipes it over ssh). Leaves out what is global to the shared kernel
# (loaded modules, ip_vs sysctls) and what changes on every boot (ifindexes, MACs, counters).
# Fallback tunnel devices that a module load creates in every netns (tunl0, gre0, ...) are shown
# only once someone touched them (up, an address, or conf values different from conf/default).
set -uo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C

conf_of() { # iface -> "key=value" lines of net.ipv4.conf.<iface> (one grep: forks are slow under TCG)
  grep -H . /proc/sys/net/ipv4/conf/"$1"/* 2>/dev/null | sed 's|^.*/||; s|:|=|'
}
pristine_fallback() { # iface: is it a fallback tunnel device nobody touched?
  case $1 in tunl0|gre0|gretap0|erspan0|ip_vti0|sit0|ip6tnl0|ip6gre0|ip6_vti0) ;; *) return 1;; esac
  ip -o link show dev "$1" | grep -q '[<,]UP[,>]' && return 1
  [ -z "$(ip -o addr show dev "$1")" ] || return 1
  [ ! -d "/proc/sys/net/ipv4/conf/$1" ] || [ "$(conf_of "$1")" = "$(conf_of default)" ]
}
skip=" "
for d in /sys/class/net/*; do n=${d##*/}; pristine_fallback "$n" && skip="$skip$n "; done
keep() { awk -v skip="$skip" '{ split($0, w, /[ @:]+/); if (index(skip, " " w[1] " ") == 0) print }'; }

echo "## links"
ip -o link show | sed -E 's/^[0-9]+: //; s/@[^:]*:/:/; s/ (qdisc|link\/|group|qlen|alias).*$//' | keep | sort
echo "## addresses"
ip -o addr show | sed -E 's/^[0-9]+: //; s/\\ +valid_lft.*$//; s/ +/ /g' | keep | sort
echo "## routes"
ip -4 route show table all | sed 's/ *$//' | sort
echo "## rules"
ip -4 rule show
echo "## sysctl"
echo "net.ipv4.ip_forward=$(cat /proc/sys/net/ipv4/ip_forward)"
for d in /proc/sys/net/ipv4/conf/*; do
  n=${d##*/}; case $skip in *" $n "*) continue;; esac
  conf_of "$n" | sed "s/^/net.ipv4.conf.$n./"
done
echo "## ipvsadm"
if ! command -v ipvsadm >/dev/null; then echo "ipvsadm: not installed"
elif [ -e /proc/net/ip_vs ]; then ipvsadm -Sn; ipvsadm -Ln --daemon
fi   # else: ip_vs not loaded, the table is empty (and reading it must not load the module)
echo "## iptables"
if command -v iptables-save >/dev/null; then
  # tables with nothing but empty built-in chains at policy ACCEPT are the same as no table
  iptables-save | sed -E '/^#/d; s/ \[[0-9]+:[0-9]+\]$//' | awk '
    /^\*/ { t = $0; body = ""; used = 0; next }
    /^COMMIT/ { if (used) printf "%s\n%sCOMMIT\n", t, body; next }
    { body = body $0 "\n"; if ($0 !~ /^:[A-Z]+ ACCEPT$/) used = 1 }'
else echo "iptables: not installed"; fi
echo "## daemons"
# Children of PID 1 but the reaper's sleep. One younger than 2 s may be a session's shell that is
# still going away (seen at load 30 in the bench): it counts only if it is still there 1 s later.
daemons=$(ps -eo pid=,ppid=,etimes=,comm= | awk '$2 == 1 && $4 != "sleep" { print $1, $3, $4 }')
if echo "$daemons" | awk '$2 < 2 { y = 1 } END { exit !y }'; then sleep 1; fi
echo "$daemons" | while read -r pid age comm; do
  [ -n "$pid" ] || continue
  [ "$age" -ge 2 ] || [ -d "/proc/$pid" ] && echo "$comm"
done | sort -u
echo "## files"
for p in "$@"; do
  if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo "absent $p"; continue; fi
  find "$p" \( -type f -o -type l \) -print0 | sort -z | while IFS= read -r -d '' f; do
    if [ -L "$f" ]; then echo "link $f -> $(readlink "$f")"; else sha256sum "$f"; fi
  done
done
