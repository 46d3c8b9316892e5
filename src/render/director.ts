// The files of a director: its script, boot-time sysctls and modules, the IPVS rules file and the
// netfilter rules. keepalived.conf is built in keepalived.ts.
import { formatRules } from '../ipvs/format.js';
import { desiredTable } from '../ipvs/desired.js';
import type { Cluster } from '../inventory/model.js';
import { renderTemplate } from './engine.js';
import { jumpKey, netfilterFiles, restoreTables } from './netfilter.js';
import { bootFiles } from './boot.js';
import { MANAGED_PATHS, scriptIdentity } from './paths.js';
import { conf, type SysctlSetting } from './sysctl.js';
import type { BaseContext, HostFile } from './types.js';

/** keepalived runs on the directors: a VRRP group, engine keepalived, or any keepalived-owned service. */
export const runsKeepalived = (c: Cluster): boolean =>
  c.directors.engine === 'keepalived' ||
  c.directors.vrrp !== undefined ||
  c.services.some((s) => s.engine === 'keepalived');

/** With VRRP, keepalived moves the VIPs (and the DIP); otherwise the director script adds them. */
export const vrrpOwnsAddresses = (c: Cluster): boolean => c.directors.vrrp !== undefined;

export function directorModules(c: Cluster): string[] {
  return ['ip_vs', ...[...new Set(c.services.map((s) => `ip_vs_${s.scheduler}`))].sort()];
}

export function directorSysctls(c: Cluster): SysctlSetting[] {
  const out: SysctlSetting[] = [];
  if (c.mode === 'nat') {
    out.push({ path: 'net/ipv4/ip_forward', value: 1 });
    // The director routes between the real servers' subnet and the clients: no ICMP redirects
    // telling real servers to bypass it.
    for (const i of [...new Set(['all', 'default', c.directors.dip?.interface].filter((x): x is string => !!x))])
      out.push(conf(i, 'send_redirects', 0));
  }
  // Clients reach the VIP through a router; when the director's own route back to them leaves by
  // another interface (a director on both segments), strict reverse-path filtering drops every
  // packet before IPVS sees it. Loose mode (2) on the VIP interfaces keeps spoofed sources out; the
  // kernel uses the maximum of all and the interface, so all=1 stays as it is.
  for (const i of [...new Set(c.services.map((s) => s.vip.interface))].sort()) out.push(conf(i, 'rp_filter', 2));
  // net.ipv4.vs.* exist only once ip_vs is loaded: modules-load.d runs before sysctl.d at boot,
  // and the script loads the modules before setting them.
  const vs = c.ipvs.sysctl ?? {};
  for (const k of Object.keys(vs).sort()) out.push({ path: `net/ipv4/vs/${k}`, value: vs[k as keyof typeof vs]! });
  return out;
}

export interface AddressSpec {
  address: string;
  prefix: number;
  dev: string;
}

export function directorAddresses(c: Cluster): AddressSpec[] {
  if (vrrpOwnsAddresses(c)) return [];
  const seen = new Set<string>();
  const out: AddressSpec[] = [];
  for (const s of c.services) {
    if (seen.has(s.vip.address)) continue;
    seen.add(s.vip.address);
    out.push({ address: s.vip.address, prefix: s.vip.prefix, dev: s.vip.interface });
  }
  const dip = c.directors.dip;
  if (dip) out.push({ address: dip.address, prefix: dip.prefix, dev: dip.interface });
  return out;
}

/** The VIPs apart (start adds them; a stopped director boots without them) from the rest (the DIP). */
function splitAddresses(c: Cluster): { vipAddresses: AddressSpec[]; baseAddresses: AddressSpec[] } {
  const vips = new Set(c.services.map((s) => s.vip.address));
  const all = directorAddresses(c);
  return {
    vipAddresses: all.filter((a) => vips.has(a.address)),
    baseAddresses: all.filter((a) => !vips.has(a.address)),
  };
}

export function directorFiles(c: Cluster, host: string, base: BaseContext): HostFile[] {
  const files: HostFile[] = [];
  const rules = formatRules(desiredTable(c, host));
  const netfilter = netfilterFiles(c);
  const sysctls = directorSysctls(c);
  const sync = c.directors.engine === 'ipvsadm' ? c.directors.sync_daemon : undefined;
  files.push({
    path: MANAGED_PATHS.directorScript,
    mode: 0o755,
    kind: 'script',
    content: renderTemplate('director.sh', {
      ...base,
      ...scriptIdentity('lvsctl-director'),
      rulesPath: MANAGED_PATHS.ipvsRules,
      hasRules: rules !== '',
      modules: directorModules(c),
      sysctls,
      ...splitAddresses(c),
      netfilter: netfilter.map((n) => ({ cmd: n.cmd, file: n.file, hooks: n.chains.map(jumpKey) })),
      timeouts: c.ipvs.timeouts ?? false,
      syncDaemon: sync ? { interface: sync.interface, id: sync.id } : false,
    }),
  });
  if (rules !== '') files.push({ path: MANAGED_PATHS.ipvsRules, mode: 0o644, kind: 'rules', content: rules });
  for (const n of netfilter)
    files.push({
      path: n.file,
      mode: 0o644,
      kind: 'netfilter',
      content: renderTemplate('iptables.rules', { ...base, ...n, tables: restoreTables(n) }),
    });
  return [...files, ...bootFiles(base, 'director', sysctls, directorModules(c))];
}
