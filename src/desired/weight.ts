// The one definition of the weight a real server should have on the directors at a moment: the
// inventory's weight, 0 while it is drained ("quiesce": established connections go on, no new ones),
// and no place in the table while drain --remove took it out. plan (through drainedCluster), status,
// drain and verify all ask here. keepalived's health checks may take a server out or set it to 0 at
// any time: that is keepalived's decision, reported as health, never decided here.
import type { Cluster, ResolvedRealServer } from '../inventory/model.js';

/** Real server host -> drained to weight 0 ("quiesce") or taken out of the services ("remove"). */
export type Drained = Record<string, 'quiesce' | 'remove'>;

export type ExpectedWeight =
  { inTable: true; weight: number; why: 'inventory' | 'drained' } | { inTable: false; why: 'removed by drain' };

export function expectedWeight(r: Pick<ResolvedRealServer, 'host' | 'weight'>, drained: Drained): ExpectedWeight {
  switch (Object.hasOwn(drained, r.host) ? drained[r.host] : undefined) {
    case 'remove':
      return { inTable: false, why: 'removed by drain' };
    case 'quiesce':
      return { inTable: true, weight: 0, why: 'drained' };
    case undefined:
      return { inTable: true, weight: r.weight, why: 'inventory' };
  }
}

/** Whether keepalived owns a service the server is in (its weight is keepalived's to program). */
export const keepalivedServes = (cluster: Pick<Cluster, 'services'>, host: string): boolean =>
  cluster.services.some((s) => s.engine === 'keepalived' && s.realServers.some((r) => r.host === host));

/** The real servers a service has in the directors' tables with these drains, each with its
 * expected weight (a removed one is left out). */
export function servingRealServers<R extends Pick<ResolvedRealServer, 'host' | 'weight'>>(
  servers: R[],
  drained: Drained,
): R[] {
  return servers.flatMap((r) => {
    const e = expectedWeight(r, drained);
    return e.inTable ? [{ ...r, weight: e.weight }] : [];
  });
}

/** The drains recorded on several directors as one: a server drained on any of them counts as
 * drained, removed only where every director that drained it removed it. */
export function mergeDrained(records: Drained[]): Drained {
  const out: Drained = {};
  for (const d of records)
    for (const [host, how] of Object.entries(d))
      out[host] = out[host] === 'quiesce' || how === 'quiesce' ? 'quiesce' : 'remove';
  return out;
}
