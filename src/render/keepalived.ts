// keepalived.conf for a director: VRRP instances (a group of two or more directors), virtual servers
// with checkers for the services keepalived owns, sorry server, sync daemon. Every value goes
// through {{kq}}.
import { LvsctlError } from '../errors.js';
import { FORWARD_OF_MODE } from '../ipvs/desired.js';
import {
  type Cluster,
  instanceMembers,
  syncGroups,
  type ResolvedRealServer,
  type ResolvedService,
  vrrpAddresses,
} from '../inventory/model.js';
import { miscArgv } from '../inventory/misc-scripts.js';
import type { HealthCheck } from '../inventory/schema.js';
import { scriptCommand } from '../util/keepalived-script.js';
import { renderTemplate } from './engine.js';
import { instanceScripts, scriptsContext } from './keepalived-scripts.js';
import { MANAGED_PATHS } from './paths.js';
import type { BaseContext, HostFile, Secrets } from './types.js';

export class MissingSecretError extends LvsctlError {}

const METHOD = { masq: 'NAT', route: 'DR', tunnel: 'TUN' } as const;
export const CHECK_KIND = {
  tcp: 'TCP_CHECK',
  http: 'HTTP_GET',
  https: 'SSL_GET',
  udp: 'UDP_CHECK',
  misc: 'MISC_CHECK',
  dns: 'DNS_CHECK',
} as const;
const FLAG_ORDER = ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'];

function checkOf(h: HealthCheck | undefined, r: ResolvedRealServer) {
  if (!h) return false;
  const timing = (['connect_timeout', 'retry', 'delay_before_retry', 'delay_loop'] as const)
    .filter((k) => k in h && h[k as keyof typeof h] !== undefined)
    .map((k) => ({ key: k, value: h[k as keyof typeof h] as number }));
  const web = h.type === 'http' || h.type === 'https';
  return {
    kind: CHECK_KIND[h.type],
    url: web ? { path: h.path, status: h.status } : false,
    virtualhost: web && h.virtualhost !== undefined ? h.virtualhost : false,
    port: ('port' in h && h.port) || false,
    misc:
      h.type === 'misc'
        ? {
            path: scriptCommand(miscArgv(h, r)),
            timeout: h.misc_timeout ?? false,
            dynamic: h.misc_dynamic === true,
          }
        : false,
    dns: h.type === 'dns' ? { type: h.query_type ?? false, name: h.name ?? false } : false,
    timing,
  };
}

const realServer = (r: ResolvedRealServer) => ({
  address: r.address,
  port: r.port || false, // fwmark services: no port
  weight: r.weight,
  upperThreshold: r.upperThreshold ?? false,
  lowerThreshold: r.lowerThreshold ?? false,
  check: checkOf(r.healthCheck, r),
});

function virtualServer(c: Cluster, s: ResolvedService) {
  return {
    id: s.id,
    name: s.name ?? false,
    fwmark: s.fwmark ?? false,
    address: s.vip.address,
    port: s.port ?? false,
    scheduler: s.scheduler,
    schedFlags: FLAG_ORDER.filter((f) => s.schedulerFlags.includes(f as never)),
    ops: s.ops,
    method: METHOD[FORWARD_OF_MODE[c.mode]],
    protocol: s.fwmark === undefined ? s.protocol.toUpperCase() : false, // keepalived ignores it for fwmark, and warns
    ipFamily: s.fwmark !== undefined && s.family === 6 ? 'inet6' : false,
    persistence: s.persistence
      ? { timeout: s.persistence.timeout, granularity: s.persistence.netmask ?? false }
      : false,
    inhibitOnFailure: s.inhibitOnFailure,
    sorryServer: s.sorryServer ? { address: s.sorryServer.address, port: s.sorryServer.port ?? false } : false,
    realServers: s.realServers.map(realServer),
    raw: s.keepalivedRaw ?? false,
  };
}

function vrrpInstances(c: Cluster, host: string, secrets: Secrets) {
  const vrrp = c.directors.vrrp;
  if (!vrrp) return [];
  const entries = vrrpAddresses(c);
  const peers = c.directors.members.filter((m) => m.host !== host);
  if (vrrp.auth && secrets.vrrpPassword === undefined)
    throw new MissingSecretError('the VRRP password is needed to render keepalived.conf (directors.vrrp.auth)');
  return vrrp.instances.map((inst) => {
    const { all, family } = entries.get(inst.name)!;
    const addrOf = (h: string) => {
      const rh = c.hosts.get(h)!;
      return family === 6 ? (rh.address6 ?? rh.address) : rh.address;
    };
    const me = instanceMembers(c, inst.name).find((m) => m.host === host)!;
    return {
      name: inst.name,
      state: me.state,
      interface: inst.interface,
      virtualRouterId: inst.virtual_router_id,
      priority: me.priority,
      advertInt: inst.advert_int ?? vrrp.advert_int,
      nopreempt: vrrp.nopreempt,
      unicast: vrrp.unicast && peers.length ? { src: addrOf(host), peers: peers.map((p) => addrOf(p.host)) } : false,
      // VRRPv3 (an IPv6 instance) has no authentication: keepalived would ignore it, and warn.
      auth: vrrp.auth && family === 4 ? { type: vrrp.auth.type, pass: secrets.vrrpPassword! } : false,
      addresses: all.filter((e) => e.family === family),
      excluded: all.filter((e) => e.family !== family),
      ...instanceScripts(inst),
      raw: inst.raw ?? false,
    };
  });
}

/** Instances in one sync group change state together, so only instances with the same master are
 * grouped: one group per master of two or more instances (active-active: one per director). */
export function keepalivedFile(c: Cluster, host: string, base: BaseContext, secrets: Secrets): HostFile {
  const instances = vrrpInstances(c, host, secrets);
  const sync = c.directors.engine === 'keepalived' ? c.directors.sync_daemon : undefined;
  const secret = instances.some((i) => i.auth !== false);
  const content = renderTemplate('keepalived.conf', {
    ...base,
    secret,
    syncDaemon: sync
      ? { interface: sync.interface, instance: sync.vrrp_instance ?? instances[0]?.name ?? false, id: sync.id }
      : false,
    syncGroups: syncGroups(c),
    ...scriptsContext(c),
    instances,
    virtualServers: c.services.filter((s) => s.engine === 'keepalived').map((s) => virtualServer(c, s)),
  });
  return {
    path: MANAGED_PATHS.keepalived,
    mode: secret ? 0o600 : 0o644,
    kind: 'keepalived',
    content,
    ...(secret && { secret: true }),
  };
}
