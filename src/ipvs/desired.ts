// The IPVS table a director should hold for the services lvsctl programs with ipvsadm.
// Services with engine: keepalived are left out: keepalived programs those itself, and two owners
// of one virtual service would undo each other's changes.
import { LvsctlError } from '../errors.js';
import type { Cluster, ResolvedService } from '../inventory/model.js';
import { sortTable, type Forward, type IpvsService, type IpvsTable } from './table.js';

export const FORWARD_OF_MODE: Record<Cluster['mode'], Forward> = { nat: 'masq', dr: 'route', tun: 'tunnel' };

// ipvsadm prints scheduler flags in this order whatever order they were given in.
const FLAG_ORDER = ['sh-fallback', 'sh-port', 'mh-fallback', 'mh-port'];

/** One inventory service as an IPVS virtual service with its destinations. */
export function ipvsService(cluster: Cluster, s: ResolvedService): IpvsService {
  const forward = FORWARD_OF_MODE[cluster.mode];
  const base = {
    family: s.family,
    scheduler: s.scheduler,
    schedFlags: FLAG_ORDER.filter((f) => s.schedulerFlags.includes(f as never)),
    ...(s.persistence && { persistence: { ...s.persistence } }),
    ops: s.ops,
    destinations: s.realServers.map((r) => ({
      address: r.address,
      port: r.port,
      forward,
      weight: r.weight,
      ...(r.upperThreshold !== undefined && { upperThreshold: r.upperThreshold }),
      ...(r.lowerThreshold !== undefined && { lowerThreshold: r.lowerThreshold }),
      ...(forward === 'tunnel' && { tunnel: { type: 'ipip' as const } }),
    })),
  };
  return { ...base, ...s.ident };
}

/** The services that go to the director's rules file (engine: ipvsadm), in ipvsadm's order. */
export function desiredTable(cluster: Cluster, directorHost: string): IpvsTable {
  if (!cluster.directors.members.some((m) => m.host === directorHost))
    throw new LvsctlError(`"${directorHost}" is not a director of cluster ${cluster.name}`);
  return sortTable({
    services: cluster.services.filter((s) => s.engine === 'ipvsadm').map((s) => ipvsService(cluster, s)),
  });
}
