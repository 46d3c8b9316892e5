// Sysctls: the original value is recorded before the first change; one no longer wanted is restored.
import type { HostFacts } from '../facts/parse.js';
import { sh } from '../util/quote.js';
import { fragment, type CommandResource } from './types.js';

export type SysctlChange = { kind: 'sysctl'; key: string; from?: string; to: string; restore: boolean };

export const sysctlFacts = fragment(
  ['sysctl'],
  String.raw`s sysctl
# (grep, not read: dash reads a byte at a time, and a sysctl read at an offset returns nothing)
cd /proc/sys && grep -r . net/ipv4/ip_forward net/ipv4/conf/*/arp_ignore net/ipv4/conf/*/arp_announce net/ipv4/conf/*/rp_filter net/ipv4/conf/*/send_redirects net/ipv4/vs 2>/dev/null; cd /
`,
);

/** Kernel defaults of the IPVS sysctls (Documentation/networking/ipvs-sysctl.rst): these keys do
 * not exist until ip_vs is loaded, so the value before lvsctl is the default. */
const IPVS_SYSCTL_DEFAULTS: Record<string, string> = {
  'net.ipv4.vs.expire_nodest_conn': '0',
  'net.ipv4.vs.expire_quiescent_template': '0',
  'net.ipv4.vs.conntrack': '0',
  'net.ipv4.vs.conn_reuse_mode': '1',
};

/** /proc/sys path of a dotted key. Interface names may hold dots (eth0.100), so the device is
 * everything between "conf." and the last dot. */
export function sysctlPath(key: string): string {
  const m = /^net\.ipv4\.conf\.(.+)\.([a-z_]+)$/.exec(key);
  if (m) return `/proc/sys/net/ipv4/conf/${m[1]}/${m[2]}`;
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

export const sysctl = {
  parse(get): Pick<HostFacts, 'sysctl'> {
    const sysctl = new Map<string, string>();
    for (const l of get('sysctl')) {
      const i = l.indexOf(':');
      if (i > 0) sysctl.set(l.slice(0, i).replaceAll('/', '.'), l.slice(i + 1).trim());
    }
    return { sysctl };
  },
  plan({ desired: d, facts: f, old, pre, next, adds, removals }) {
    // An unread IPVS sysctl has the kernel's default; tunl0 (not there yet) will start from "default".
    const current = (k: string) => {
      if (f.sysctl.has(k)) return f.sysctl.get(k);
      if (k.startsWith('net.ipv4.vs.')) return IPVS_SYSCTL_DEFAULTS[k];
      return k.startsWith('net.ipv4.conf.tunl0.') ? f.sysctl.get(k.replace('tunl0', 'default')) : undefined;
    };
    for (const [k, v] of Object.entries(d.sysctl)) {
      const cur = current(k);
      if (!(k in old.originals.sysctl) && cur !== undefined) {
        pre.originals.sysctl[k] = cur;
        next.originals.sysctl[k] = cur;
      }
      if (f.sysctl.get(k) !== v) adds.push({ kind: 'sysctl', key: k, from: f.sysctl.get(k), to: v, restore: false });
    }
    for (const [k, orig] of Object.entries(old.originals.sysctl)) {
      if (k in d.sysctl) continue;
      delete next.originals.sysctl[k];
      if (f.sysctl.has(k) && f.sysctl.get(k) !== orig)
        removals.push({ kind: 'sysctl', key: k, from: f.sysctl.get(k), to: orig, restore: true });
    }
  },
  record: (c) => ({ action: c.restore ? 'restore' : 'set', target: c.key, from: c.from ?? null, to: c.to }),
  describe: (c) => `${c.restore ? 'restore' : 'set'} ${c.key}: ${c.from ?? '(absent)'} -> ${c.to}`,
  command: (c) => sh`printf '%s\n' ${c.to} > ${sysctlPath(c.key)}`,
} satisfies CommandResource<SysctlChange>;
