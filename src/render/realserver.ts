// The files of a real server. DR: VIP/32 on lo (label lo:0) and the ARP sysctls. TUN: ipip,
// tunl0 up, VIP/32 on tunl0, rp_filter 0 on tunl0/all/default (decapsulated packets arrive on
// tunl0 but the reply route is another interface) and the ARP sysctls. NAT: default route via the DIP.
import type { Cluster } from '../inventory/model.js';
import { bootFiles } from './boot.js';
import { renderTemplate } from './engine.js';
import { MANAGED_PATHS, scriptIdentity, TUNNEL_MODULES } from './paths.js';
import { arpSettings, conf, type SysctlSetting } from './sysctl.js';
import type { BaseContext, HostFile } from './types.js';

export interface RsAddress {
  address: string;
  prefix: number;
  dev: string;
  label: string | false;
}

/** The VIPs whose services this host serves, in inventory order. */
function vipsOf(c: Cluster, host: string): { address: string; family: 4 | 6 }[] {
  const seen = new Map<string, 4 | 6>();
  for (const s of c.services)
    if (s.realServers.some((r) => r.host === host) && !seen.has(s.vip.address)) seen.set(s.vip.address, s.family);
  return [...seen].map(([address, family]) => ({ address, family }));
}

export interface RealServerSettings {
  modules: string[];
  links: string[];
  sysctls: SysctlSetting[];
  addresses: RsAddress[];
  route: string | false; // NAT: default route via the DIP
}

/** What a real server needs, per mode: one source for its script, its boot files and the engine. */
export function realServerSettings(c: Cluster, host: string): RealServerSettings {
  const iface = c.hosts.get(host)!.interface;
  const vips = vipsOf(c, host);
  const has6 = vips.some((v) => v.family === 6);
  let modules: string[] = [];
  let links: string[] = [];
  let sysctls: SysctlSetting[] = [];
  let addresses: RsAddress[] = [];
  let route: string | false = false;
  if (c.mode === 'nat') {
    route = c.directors.dip!.address;
  } else if (c.mode === 'dr') {
    sysctls = arpSettings(iface!);
    addresses = vips.map((v) =>
      v.family === 4
        ? { address: v.address, prefix: 32, dev: 'lo', label: 'lo:0' }
        : { address: v.address, prefix: 128, dev: 'lo', label: false },
    );
  } else {
    modules = has6 ? [TUNNEL_MODULES[6], TUNNEL_MODULES[4]] : [TUNNEL_MODULES[4]];
    links = has6 ? ['tunl0', 'ip6tnl0'] : ['tunl0'];
    sysctls = [...arpSettings(iface!), ...['tunl0', 'all', 'default'].map((i) => conf(i, 'rp_filter', 0))];
    addresses = vips.map((v) =>
      v.family === 4
        ? { address: v.address, prefix: 32, dev: 'tunl0', label: false }
        : { address: v.address, prefix: 128, dev: 'ip6tnl0', label: false },
    );
  }
  return { modules, links, sysctls, addresses, route };
}

export function realServerFiles(c: Cluster, host: string, base: BaseContext): HostFile[] {
  const { modules, links, sysctls, addresses, route } = realServerSettings(c, host);
  const script: HostFile = {
    path: MANAGED_PATHS.realServerScript,
    mode: 0o755,
    kind: 'script',
    content: renderTemplate('realserver.sh', {
      ...base,
      ...scriptIdentity('lvsctl-realserver'),
      nat: c.mode === 'nat',
      tun: c.mode === 'tun',
      modules,
      links,
      sysctls,
      addresses,
      route,
    }),
  };
  return [script, ...bootFiles(base, 'realserver', sysctls, modules)];
}
