// Desired live state per host, from the inventory alone. The settings themselves are computed once,
// in src/render (director.ts, realserver.ts), where they also feed the boot scripts: the engine and
// the scripts a host runs at boot cannot disagree.
import type { Cluster } from '../inventory/model.js';
import { directorAddresses, directorModules, directorSysctls, runsKeepalived } from '../render/director.js';
import { realServerSettings } from '../render/realserver.js';
import type { SysctlSetting } from '../render/sysctl.js';
import type { DesiredHost } from './types.js';

/** Dotted sysctl key (net.ipv4.conf.eth0.100.arp_ignore); resources/sysctl.ts maps it back to /proc. */
const sysctlMap = (settings: SysctlSetting[]) =>
  Object.fromEntries(settings.map((s) => [s.path.replaceAll('/', '.'), String(s.value)]));

export function desiredHost(c: Cluster, name: string): DesiredHost {
  const h = c.hosts.get(name);
  if (!h) throw new Error(`unknown host ${name}`);
  const roles = [...h.roles].sort();
  const none = { packages: [], modules: [], sysctl: {}, addresses: [], links: [], keepalived: false };
  if (h.roles.has('director')) {
    const keepalived = runsKeepalived(c);
    return {
      ...none,
      name,
      roles,
      packages: keepalived ? ['ipvsadm', 'keepalived'] : ['ipvsadm'],
      modules: directorModules(c),
      sysctl: sysctlMap(directorSysctls(c)),
      addresses: directorAddresses(c),
      keepalived,
      ...(keepalived ? { keepalivedBoot: true } : {}),
    };
  }
  if (h.roles.has('real_server')) {
    const s = realServerSettings(c, name);
    return {
      ...none,
      name,
      roles,
      modules: s.modules,
      sysctl: sysctlMap(s.sysctls),
      addresses: s.addresses.map((a) => ({
        address: a.address,
        prefix: a.prefix,
        dev: a.dev,
        ...(a.label ? { label: a.label } : {}),
      })),
      links: s.links,
      ...(s.route ? { route: { kind: 'default' as const, via: s.route } } : {}),
    };
  }
  return { ...none, name, roles, packages: h.roles.has('client') ? ['curl'] : [] };
}
