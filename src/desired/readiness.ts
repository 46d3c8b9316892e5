// The readiness gate: a director never sends new traffic to a real server that is not ready (its run
// failed, it is unreachable, or, outside --limit, it is not set up: no VIP on lo, no ARP settings, no
// route through the DIP). Such a server goes into the director's table at weight 0, or keeps the
// weight it has there now if it already serves; the next run, once it is ready, gives it its
// inventory weight. Pure.
import type { Cluster } from '../inventory/model.js';
import type { IpvsTable } from '../ipvs/table.js';
import { serviceKey } from '../identity/service.js';
import type { Change } from '../resources/types.js';

/** Real server host -> why it is not ready. */
export type Unready = Record<string, string>;

/** What a real server needs before it can take traffic: a pending change of one of these kinds
 * means it is not set up (files, packages and boot links alone do not stop it from serving). */
const SERVING: ReadonlySet<Change['kind']> = new Set(['address', 'link', 'sysctl', 'route', 'module']);

/** Why a real server is not ready from its own plan, or undefined when it is. */
export function notSetUp(changes: Change[], describe: (c: Change) => string): string | undefined {
  const pending = changes.filter((c) => SERVING.has(c.kind));
  if (!pending.length) return undefined;
  return `not set up (${pending.length} change${pending.length > 1 ? 's' : ''} pending, first: ${describe(pending[0]!)})`;
}

/** A gated server on one director: the weight it gets there, and why. */
export interface Gated {
  host: string;
  why: string;
  /** 0, or the weight it already serves with on this director. */
  weight: number;
}

/** The cluster as `live` (one director's table now) should serve it while `unready` are not ready. */
export function gatedCluster(c: Cluster, unready: Unready, live: IpvsTable): { cluster: Cluster; gated: Gated[] } {
  if (!Object.keys(unready).length) return { cluster: c, gated: [] };
  const liveByKey = new Map(live.services.map((s) => [serviceKey(s), s]));
  const gated = new Map<string, Gated>();
  const services = c.services.map((s) => ({
    ...s,
    realServers: s.realServers.map((r) => {
      if (!Object.hasOwn(unready, r.host)) return r;
      const now = liveByKey.get(serviceKey(s.ident))?.destinations.find((d) => d.address === r.address)?.weight ?? 0;
      gated.set(r.host, { host: r.host, why: unready[r.host]!, weight: Math.max(gated.get(r.host)?.weight ?? 0, now) });
      return { ...r, weight: now };
    }),
  }));
  return { cluster: { ...c, services }, gated: [...gated.values()] };
}

/** The real servers of the cluster's services, once each. */
export const realServerHosts = (c: Cluster): string[] => [
  ...new Set(c.services.flatMap((s) => s.realServers.map((r) => r.host))),
];
