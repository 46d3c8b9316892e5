// The facts script: one command per host that reports everything the planner needs, in sections.
// It changes nothing (in particular it never runs ipvsadm before ip_vs is loaded, because ipvsadm
// would load the module).
import { sh, Shell } from '../util/quote.js';

import { STATE_FILE } from '../render/paths.js';

export { STATE_FILE };
export const SECTION = '@@lvsctl ';

/** Sections, in order. The parser relies on these names. */
export const FACT_SECTIONS = ['os', 'kernel', 'init', 'pkgmgr', 'packages', 'modules_available', 'modules_loaded', 'sysctl', 'links', 'addr', 'route', 'files', 'ipvs', 'iptables', 'keepalived', 'bootlinks', 'contents', 'state'] as const;

export function factsScript(opts: { packages: string[]; files: string[]; bootLinks?: string[] }): Shell {
  const body = String.raw`
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
s() { printf '\n${SECTION}%s\n' "$1"; }
s os; cat /etc/os-release 2>/dev/null
s kernel; uname -r
s init; if [ -d /run/systemd/system ]; then echo systemd; else echo sysv; fi
s pkgmgr; for p in apt-get dnf yum; do if command -v "$p" >/dev/null 2>&1; then echo "$p"; break; fi; done
s packages
if command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W -f='${'${'}Package} ${'${'}db:Status-Abbrev}\n' "$@" 2>/dev/null | awk '$2 ~ /^ii/ {print $1}'
elif command -v rpm >/dev/null 2>&1; then rpm -q --qf '%{NAME}\n' "$@" 2>/dev/null | grep -v 'not installed'; fi
s modules_available
m=/lib/modules/$(uname -r)
find "$m/kernel/net/netfilter/ipvs" "$m/kernel/net/ipv4" -name '*.ko*' 2>/dev/null | sed 's#.*/##; s#\.ko.*##'
sed -n 's#.*/\(ip_vs[a-z_]*\|ipip\)\.ko$#\1#p' "$m/modules.builtin" 2>/dev/null
s modules_loaded; cut -d' ' -f1 /proc/modules 2>/dev/null | grep -E '^(ip_vs|ipip$)' || true
s sysctl
cd /proc/sys && grep -r . net/ipv4/ip_forward net/ipv4/conf/*/arp_ignore net/ipv4/conf/*/arp_announce net/ipv4/conf/*/rp_filter net/ipv4/conf/*/send_redirects net/ipv4/vs 2>/dev/null; cd /
s links; ip -o link show
s addr; ip -o addr show
s route; ip -4 route show default; ip -6 route show default 2>/dev/null
s files
for f in $FILES; do if [ -f "$f" ]; then printf '%s %s\n' "$(stat -c '%a %U %G' "$f")" "$(sha256sum "$f")"; else echo "absent - - - $f"; fi; done
s ipvs
if [ -e /proc/net/ip_vs ] && command -v ipvsadm >/dev/null 2>&1; then ipvsadm -Sn; ipvsadm -L --timeout | sed -n 's/^Timeout (tcp tcpfin udp): /@@timeouts /p'; ipvsadm -Ln | sed 's/^/@@list /'; else echo '@@none'; fi
s iptables
if command -v iptables-save >/dev/null 2>&1; then iptables-save 2>/dev/null | grep -E '^\*|LVSCTL' || true; fi
if command -v ip6tables-save >/dev/null 2>&1; then ip6tables-save 2>/dev/null | grep -E '^\*|LVSCTL' | sed 's/^/6 /' || true; fi
s keepalived; pidof keepalived || true
s bootlinks; for l in $BOOTLINKS; do printf '%s %s\n' "$l" "$(readlink "$l" 2>/dev/null || echo -)"; done
s contents
# Current content of small managed files, for the plan's diffs (base64: any bytes survive).
for f in $FILES; do if [ -f "$f" ] && [ "$(stat -c %s "$f")" -le 262144 ]; then printf '%s ' "$f"; base64 -w0 "$f"; echo; fi; done
s state; cat ${STATE_FILE} 2>/dev/null || true
`;
  // Values reach the script only as quoted positional arguments and one quoted variable.
  return sh`FILES=${opts.files.join(' ')} BOOTLINKS=${(opts.bootLinks ?? []).join(' ')} sh -c ${body} lvsctl-facts ${opts.packages}`;
}
