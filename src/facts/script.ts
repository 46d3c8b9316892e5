// The facts script: one command per host that reports everything the planner needs, in sections.
// It changes nothing (in particular it never runs ipvsadm before ip_vs is loaded, because ipvsadm
// would load the module).
import { sh, Shell } from '../util/quote.js';

import { MANAGED_PATHS, STATE_FILE } from '../render/paths.js';

export { STATE_FILE };
export const SECTION = '@@lvsctl ';

/** Sections, in order. The parser relies on these names. */
export const FACT_SECTIONS = [
  'os',
  'kernel',
  'init',
  'pkgmgr',
  'packages',
  'modules_available',
  'modules_loaded',
  'sysctl',
  'links',
  'addr',
  'route',
  'files',
  'ipvs',
  'iptables',
  'keepalived',
  'keepalived_boot',
  'bootlinks',
  'contents',
  'state',
] as const;

export function factsScript(opts: {
  packages: string[];
  files: string[];
  bootLinks?: string[];
  known?: string[];
  list?: boolean;
  thresholds?: boolean;
}): Shell {
  const body = String.raw`
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
s() { printf '\n${SECTION}%s\n' "$1"; }
# Shell built-ins where they do: every process costs milliseconds on a busy or emulated host.
cat_() { [ -r "$1" ] && while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done <"$1"; :; }
s os; cat_ /etc/os-release
s kernel; read -r _ _ k _ </proc/version; echo "$k"
s init; if [ -d /run/systemd/system ]; then echo systemd; else echo sysv; fi
s pkgmgr; for p in apt-get dnf yum; do if command -v "$p" >/dev/null 2>&1; then echo "$p"; break; fi; done
s packages
# Debian: the status file's paragraphs of these packages (grep: a fifth of dpkg-query's time on a
# host with many packages), unless dpkg has pending updates to merge; the parser reads Status.
# No package asked (real servers): nothing to run (dpkg-query with no name lists every package).
u=; for f in /var/lib/dpkg/updates/[0-9]*; do [ -e "$f" ] && u=1; break; done
if [ $# -eq 0 ]; then :
elif [ -r /var/lib/dpkg/status ] && [ -z "$u" ]; then
  for p in "$@"; do set -- "$@" -e "Package: $p"; shift; done
  grep -x -F -A3 "$@" /var/lib/dpkg/status || :
elif command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W -f='${'${'}db:Status-Abbrev} ${'${'}Package}\n' "$@" 2>/dev/null | while read -r st p; do case $st in ii*) echo "$p" ;; esac; done
elif command -v rpm >/dev/null 2>&1; then rpm -q --qf '%{NAME}\n' "$@" 2>/dev/null | grep -v 'not installed'; fi
s modules_available
m=/lib/modules/$k
for f in "$m"/kernel/net/netfilter/ipvs/*.ko* "$m"/kernel/net/ipv4/*.ko*; do [ -e "$f" ] || continue; f=${'${'}f##*/}; echo "${'${'}f%%.ko*}"; done
[ -r "$m/modules.builtin" ] && while read -r f; do case $f in */ip_vs*.ko | */ipip.ko) f=${'${'}f##*/}; echo "${'${'}f%.ko}" ;; esac; done <"$m/modules.builtin"
s modules_loaded; [ -r /proc/modules ] && while read -r n _; do case $n in ip_vs* | ipip) echo "$n" ;; esac; done </proc/modules
s sysctl
# (grep, not read: dash reads a byte at a time, and a sysctl read at an offset returns nothing)
cd /proc/sys && grep -r . net/ipv4/ip_forward net/ipv4/conf/*/arp_ignore net/ipv4/conf/*/arp_announce net/ipv4/conf/*/rp_filter net/ipv4/conf/*/send_redirects net/ipv4/vs 2>/dev/null; cd /
# One ip process for links, addresses and the default route (ip route is IPv4 unless told),
# told apart by their shape: "N: dev: <FLAGS>", "default ...", and the address lines.
s links; printf 'link show\naddr show\nroute show default\n' | ip -o -force -batch - 2>/dev/null | {
  a=; r=; while IFS= read -r l; do case $l in *': <'*) printf '%s\n' "$l" ;; default*) r="$r$l
" ;; *) a="$a$l
" ;; esac; done; s addr; printf '%s' "$a"; s route; printf '%s' "$r"; }
s files
# Few processes: under emulation (and on a busy host) each fork costs milliseconds.
ex=; for f in $FILES; do if [ -f "$f" ]; then ex="$ex $f"; else echo "absent - - - $f"; fi; done
sums=; [ -z "$ex" ] || sums=$(sha256sum $ex)
# checksums, then @@, then modes and owners: the parser joins them by path
[ -z "$ex" ] || { printf '%s\n' "$sums"; echo @@; stat -c '%a %U %G %n' $ex; }
s ipvs
# The counters (ipvsadm -Ln) only when asked ($LIST: status); no shell read loop over a table of
# 10,000 lines (dash reads a pipe a byte at a time).
if [ -e /proc/net/ip_vs ] && command -v ipvsadm >/dev/null 2>&1; then
  ipvsadm -Sn; t=$(ipvsadm -L --timeout); case $t in 'Timeout (tcp tcpfin udp): '*) echo "@@timeouts ${'${'}t#*: }" ;; esac
  [ -z "$LIST" ] || ipvsadm -Ln | sed 's/^/@@list /'
  # Thresholds, which -S does not print: where the inventory sets some, or the rules file had some
  if [ -n "$THRESH" ] || grep -qs -e ' -[xy] ' ${MANAGED_PATHS.ipvsRules}; then ipvsadm -Ln --thresholds | sed 's/^/@@thr /'; fi
else echo '@@none'; fi
s iptables
p=; if command -v iptables-save >/dev/null 2>&1; then { iptables-save 2>/dev/null; echo '@@6'; ip6tables-save 2>/dev/null; } | while IFS= read -r l; do
  case $l in '@@6') p='6 ' ;; '*'* | *LVSCTL*) echo "$p$l" ;; esac
done; fi
# keepalived's processes and whether its service starts at boot, where it is installed
ka=; command -v keepalived >/dev/null 2>&1 && ka=1
s keepalived; [ -z "$ka" ] || pidof keepalived || :
s keepalived_boot; if [ -n "$ka" ]; then
  if [ -d /run/systemd/system ]; then systemctl is-enabled keepalived.service 2>/dev/null || :
  else b=disabled; for f in /etc/rc[2345].d/S[0-9][0-9]keepalived; do [ -e "$f" ] && b=enabled; done; echo "$b"; fi
fi
s bootlinks; [ -z "$BOOTLINKS" ] || find $BOOTLINKS -maxdepth 0 -printf '%p %l\n' 2>/dev/null || true
s contents
# Current content of small managed files, for the plan's diffs (base64: any bytes survive); not
# of those whose checksum is in $KNOWN (the engine has their content already).
[ -z "$sums" ] || printf '%s\n' "$sums" | while read -r h f; do
  case " $KNOWN " in *" $h "*) continue ;; esac
  [ "$(wc -c <"$f")" -le 262144 ] && { printf '%s ' "$f"; base64 -w0 "$f"; echo; }
done
s state; cat_ ${STATE_FILE}
`;
  // Values reach the script only as quoted positional arguments and one quoted variable.
  return sh`FILES=${opts.files.join(' ')} BOOTLINKS=${(opts.bootLinks ?? []).join(' ')} KNOWN=${(opts.known ?? []).join(' ')} LIST=${opts.list ? '1' : ''} THRESH=${opts.thresholds ? '1' : ''} sh -c ${body} lvsctl-facts ${opts.packages}`;
}
