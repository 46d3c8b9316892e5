// The IPVS delta for one director: live table -> desired table as ipvsadm -R lines. Services are
// edited in place (-E/-e), never flushed; a live service is deleted only when lvsctl created it
// (its key is in the host's state file). Services keepalived owns are not in the desired table and
// not in the owned list, so they are never touched here.
import { formatOp, sameDestinationSettings, sameServiceSettings, type IpvsOp } from '../ipvs/format.js';
import { destinationKey, serviceKey } from '../identity/service.js';
import type { IpvsDestination, IpvsService, IpvsTable } from '../ipvs/table.js';

function sameDestination(
  s: IpvsService,
  live: IpvsDestination,
  want: IpvsDestination,
  thresholdsKnown: boolean,
): boolean {
  // -S does not print thresholds: they are compared only when `-Ln --thresholds` was read.
  const strip = ({ upperThreshold: _u, lowerThreshold: _l, ...d }: IpvsDestination): IpvsDestination => d;
  return thresholdsKnown
    ? sameDestinationSettings(s, live, want)
    : sameDestinationSettings(s, strip(live), strip(want));
}

export interface IpvsDelta {
  /** The operations, in the order they are sent. */
  ops: IpvsOp[];
  /** Their `ipvsadm -R` lines. */
  lines: string[];
  /** Keys of the services lvsctl owns after the change. */
  owned: string[];
}

/** `thresholdsKnown`: the live table's thresholds were read (`-Ln --thresholds`), so they count. */
export function ipvsDelta(
  live: IpvsTable,
  desired: IpvsTable,
  owned: ReadonlyArray<string>,
  thresholdsKnown = false,
): IpvsDelta {
  const ops: IpvsOp[] = [];
  const liveBy = new Map(live.services.map((s) => [serviceKey(s), s]));
  const wantKeys = new Set(desired.services.map(serviceKey));
  // Deletions of servers first, then edits and additions, so a weight-0 server never lingers as
  // the only destination while new ones are added.
  for (const want of desired.services) {
    const cur = liveBy.get(serviceKey(want));
    if (!cur) {
      ops.push({ op: 'add-service', service: want });
      for (const d of want.destinations) ops.push({ op: 'add-destination', service: want, destination: d });
      continue;
    }
    if (!sameServiceSettings(cur, want)) ops.push({ op: 'edit-service', service: want });
    const curDests = new Map(cur.destinations.map((d) => [destinationKey(d), d]));
    const wantDests = new Set(want.destinations.map(destinationKey));
    for (const d of cur.destinations)
      if (!wantDests.has(destinationKey(d))) ops.push({ op: 'delete-destination', service: want, destination: d });
    for (const d of want.destinations) {
      const c = curDests.get(destinationKey(d));
      if (!c) ops.push({ op: 'add-destination', service: want, destination: d });
      else if (!sameDestination(want, c, d, thresholdsKnown))
        ops.push({ op: 'edit-destination', service: want, destination: d });
    }
  }
  for (const [key, s] of liveBy)
    if (!wantKeys.has(key) && owned.includes(key)) ops.push({ op: 'delete-service', service: s });
  return { ops, lines: ops.map(formatOp), owned: [...wantKeys] };
}
