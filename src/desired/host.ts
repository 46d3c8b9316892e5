// Desired state per host, from the inventory alone. The settings follow ../shared/lvs-facts.md §2:
// the kernel uses the maximum of conf/all and conf/<if> for arp_ignore, arp_announce and rp_filter,
// so "all" is always set together with the interface.
import type { Cluster, ResolvedHost } from '../inventory/model.js';
import type { DesiredAddress, DesiredHost } from './types.js';

const conf = (dev: string, key: string) => `net.ipv4.conf.${dev}.${key}`;

/** Scheduler modules are named ip_vs_<scheduler> (all of them, in every kernel that has them). */
export const schedulerModule = (s: string) => `ip_vs_${s}`;

/** keepalived runs on a director when any of its services is keepalived's, or VRRP is on. */
export function directorRunsKeepalived(c: Cluster): boolean {
  return c.directors.engine === 'keepalived' || c.services.some((s) => s.engine === 'keepalived');
}

function directorDesired(c: Cluster, h: ResolvedHost): Omit<DesiredHost, 'name' | 'roles'> {
  const keepalived = directorRunsKeepalived(c);
  const vrrp = c.directors.vrrp !== undefined;
  const sysctl: Record<string, string> = {};
  const addresses: DesiredAddress[] = [];
  // With VRRP, keepalived adds and removes the VIPs and the DIP; lvsctl must not fight it.
  if (!vrrp) {
    const seen = new Set<string>();
    for (const s of c.services)
      if (!seen.has(s.vip.address)) {
        seen.add(s.vip.address);
        addresses.push({ address: s.vip.address, prefix: s.vip.prefix, dev: s.vip.interface });
      }
    if (c.mode === 'nat' && c.directors.dip) addresses.push({ address: c.directors.dip.address, prefix: c.directors.dip.prefix, dev: c.directors.dip.interface });
  }
  if (c.mode === 'nat') {
    sysctl['net.ipv4.ip_forward'] = '1';
    // A NAT director routes replies back out of the interface they came in on: without this it
    // sends ICMP redirects telling real servers to bypass it.
    const devs = new Set(['all', 'default', ...(c.directors.dip ? [c.directors.dip.interface] : [])]);
    for (const d of devs) sysctl[conf(d, 'send_redirects')] = '0';
  }
  for (const [k, v] of Object.entries(c.ipvs.sysctl ?? {})) if (v !== undefined) sysctl[`net.ipv4.vs.${k}`] = String(v);
  const modules = ['ip_vs', ...new Set(c.services.map((s) => schedulerModule(s.scheduler)))];
  return {
    packages: keepalived ? ['ipvsadm', 'keepalived'] : ['ipvsadm'],
    modules,
    sysctl,
    addresses,
    links: [],
    iptables: { mangle: [], nat: [] },
    keepalived,
  };
  void h;
}

function realServerDesired(c: Cluster, h: ResolvedHost): Omit<DesiredHost, 'name' | 'roles'> {
  const sysctl: Record<string, string> = {};
  const addresses: DesiredAddress[] = [];
  const vips = [...new Set(c.services.filter((s) => s.realServers.some((r) => r.host === h.name)).map((s) => s.vip.address))];
  let route: DesiredHost['route'];
  const modules: string[] = [];
  const links: string[] = [];
  if (c.mode === 'nat') {
    route = { kind: 'default', via: c.directors.dip!.address };
  } else {
    const dev = c.mode === 'dr' ? 'lo' : 'tunl0';
    vips.forEach((v, i) => addresses.push({ address: v, prefix: v.includes(':') ? 128 : 32, dev, label: c.mode === 'dr' && !v.includes(':') ? `lo:${i}` : undefined }));
    for (const d of ['all', h.interface!]) {
      sysctl[conf(d, 'arp_ignore')] = '1';
      sysctl[conf(d, 'arp_announce')] = '2';
    }
    if (c.mode === 'tun') {
      modules.push('ipip');
      links.push('tunl0');
      // Decapsulated packets arrive on tunl0 with the client's source: strict or loose reverse-path
      // filtering drops them. The kernel takes the max of all and the device, and new devices
      // start from default.
      for (const d of ['all', 'default', 'tunl0']) sysctl[conf(d, 'rp_filter')] = '0';
    }
  }
  return { packages: [], modules, sysctl, addresses, links, route, iptables: { mangle: [], nat: [] }, keepalived: false };
}

export function desiredHost(c: Cluster, name: string): DesiredHost {
  const h = c.hosts.get(name);
  if (!h) throw new Error(`unknown host ${name}`);
  const roles = [...h.roles].sort();
  const base: Omit<DesiredHost, 'name' | 'roles'> = h.roles.has('director')
    ? directorDesired(c, h)
    : h.roles.has('real_server')
      ? realServerDesired(c, h)
      : { packages: h.roles.has('client') ? ['curl'] : [], modules: [], sysctl: {}, addresses: [], links: [], iptables: { mangle: [], nat: [] }, keepalived: false };
  return { name, roles, ...base };
}
