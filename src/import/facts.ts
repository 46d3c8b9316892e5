// What `lvsctl import` reads on a running host, changing nothing: the facts every command reads
// (addresses, sysctls, IPVS with thresholds, keepalived), and what only import needs: the host's
// name, the whole mangle table (the operator's fwmark rules), the sync daemon, keepalived.conf and
// the boot-time scripts that program IPVS behind lvsctl's back.
import type { HostFacts } from '../facts/parse.js';
import { parseFacts } from '../facts/parse.js';
import { factsScript } from '../facts/script.js';
import { lines, sh, type Shell } from '../util/quote.js';

export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
const MARK = '@@import ';

/** A boot-time script or service that programs IPVS (and so would undo or fight lvsctl's rules). */
export interface BootFighter {
  /** The file, or `NAME.service` for a unit found through systemctl. */
  path: string;
  /** Whether the host's boot runs it now. */
  enabled: boolean;
  /** What it does to the IPVS table, from its text: clear (-C), restore (-R), add (-A/-a). */
  does: ('clear' | 'restore' | 'add')[];
}

export interface ImportFacts {
  facts: HostFacts;
  hostname: string;
  /** iptables-save -t mangle, IPv4 then IPv6 (each rule line as printed). */
  mangle: { 4: string[]; 6: string[] };
  /** iptables-save -t nat rules (IPv4): the operator's MASQUERADE. */
  nat: string[];
  /** `ipvsadm -Ln --daemon` lines ("master sync daemon (mcast=eth1, syncid=1)"). */
  syncDaemons: string[];
  keepalivedConf: string | null;
  bootFighters: BootFighter[];
}

// The places a hand-built cluster's boot runs its scripts from, as the seed tutorials put them.
// lvsctl's own files (lvsctl in the name) are left out.
const EXTRA = String.raw`
m() { printf '\n${MARK}%s\n' "$1"; }
m hostname; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
m mangle4; iptables-save -t mangle 2>/dev/null | grep '^-A' || :
m mangle6; ip6tables-save -t mangle 2>/dev/null | grep '^-A' || :
m nat4; iptables-save -t nat 2>/dev/null | grep '^-A' || :
m daemon; [ -e /proc/net/ip_vs ] && command -v ipvsadm >/dev/null 2>&1 && ipvsadm -Ln --daemon 2>/dev/null || :
m keepalived; [ -r ${KEEPALIVED_CONF} ] && base64 -w0 ${KEEPALIVED_CONF}; echo
m boot
sysd=; [ -d /run/systemd/system ] && sysd=1
on() { # is this boot file run at boot?
  case $1 in
  /etc/init.d/*) n=$${'{'}1##*/}; if [ -n "$sysd" ] && systemctl is-enabled "$n.service" >/dev/null 2>&1; then return 0; fi
    for l in /etc/rc[2345S].d/S[0-9][0-9]"$n" /etc/rc.d/rc[2345].d/S[0-9][0-9]"$n"; do [ -e "$l" ] && return 0; done; return 1 ;;
  /etc/systemd/system/*.service | /lib/systemd/system/*.service | /usr/lib/systemd/system/*.service)
    [ -n "$sysd" ] && systemctl is-enabled "$${'{'}1##*/}" >/dev/null 2>&1 ;;
  /etc/rc.local | /etc/rc.d/rc.local) [ -x "$1" ] ;;
  *) return 0 ;;
  esac
}
for f in /etc/rc.local /etc/rc.d/rc.local /etc/init.d/* /etc/systemd/system/*.service /lib/systemd/system/ipvsadm.service \
  /usr/lib/systemd/system/ipvsadm.service /etc/network/interfaces /etc/network/if-up.d/* /etc/NetworkManager/dispatcher.d/* \
  /etc/cron.d/* /var/spool/cron/crontabs/* /var/spool/cron/root; do
  [ -f "$f" ] || continue
  case $f in *lvsctl*) continue ;; esac
  # Debian's ipvsadm script acts only with AUTO=true in /etc/default/ipvsadm (it restores the rules)
  if [ "$f" = /etc/init.d/ipvsadm ]; then
    grep -qs '^AUTO="*true' /etc/default/ipvsadm || continue
    if on "$f"; then e=enabled; else e=disabled; fi; printf '%s %s restore\n' "$e" "$f"; continue
  fi
  d=; grep -Eqs 'ipvsadm[^#]*(-C|--clear)' "$f" && d="$d clear"
  grep -Eqs 'ipvsadm[^#]*(-R|--restore)|ipvsadm-restore' "$f" && d="$d restore"
  grep -Eqs 'ipvsadm[^#]*( -A | -a |--add-service|--add-server)' "$f" && d="$d add"
  [ -n "$d" ] || continue
  case $f in /etc/cron.d/* | /var/spool/cron/*) grep -qs '@reboot' "$f" || continue ;; esac
  if on "$f"; then e=enabled; else e=disabled; fi
  printf '%s %s%s\n' "$e" "$f" "$d"
done
`;

export function importScript(): Shell {
  return lines([factsScript({ packages: ['ipvsadm', 'keepalived'], files: [], thresholds: true }), sh`sh -c ${EXTRA}`]);
}

export function parseImportFacts(out: string): ImportFacts {
  const at = out.indexOf(`\n${MARK}`);
  if (at < 0) throw new Error('the import script did not finish');
  const sections = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const l of out.slice(at + 1).split('\n')) {
    if (l.startsWith(MARK)) sections.set(l.slice(MARK.length).trim(), (cur = []));
    else if (cur && l !== '') cur.push(l);
  }
  const get = (k: string) => sections.get(k) ?? [];
  const conf = get('keepalived')[0];
  return {
    facts: parseFacts(out.slice(0, at)),
    hostname: (get('hostname')[0] ?? '').trim(),
    mangle: { 4: get('mangle4'), 6: get('mangle6') },
    nat: get('nat4'),
    syncDaemons: get('daemon').filter((l) => /sync daemon/.test(l)),
    keepalivedConf: conf ? Buffer.from(conf, 'base64').toString('utf8') : null,
    bootFighters: get('boot').flatMap((l) => {
      const m = /^(enabled|disabled) (\S+)((?: (?:clear|restore|add))+)$/.exec(l);
      return m
        ? [{ path: m[2]!, enabled: m[1] === 'enabled', does: m[3]!.trim().split(' ') as BootFighter['does'] }]
        : [];
    }),
  };
}
