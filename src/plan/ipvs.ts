// The IPVS delta for one director: live table -> desired table as ipvsadm -R lines. Services are
// edited in place (-E/-e), never flushed; a live service is deleted only when lvsctl created it
// (its key is in the host's state file). Services keepalived owns are not in the desired table and
// not in the owned list, so they are never touched here.
import { formatRules } from '../ipvs/format.js';
import { destinationKey, serviceKey } from '../identity/service.js';
import type { IpvsDestination, IpvsService, IpvsTable } from '../ipvs/table.js';

const lineOf = (s: IpvsService, d?: IpvsDestination): string => {
  const [svc, dest] = formatRules({ services: [{ ...s, destinations: d ? [d] : [] }] }).split('\n');
  return (d ? dest : svc)!;
};

function sameService(a: IpvsService, b: IpvsService): boolean {
  return lineOf(a) === lineOf(b);
}

function sameDestination(
  s: IpvsService,
  live: IpvsDestination,
  want: IpvsDestination,
  thresholdsKnown: boolean,
): boolean {
  // -S does not print thresholds: they are compared only when `-Ln --thresholds` was read.
  const strip = ({ upperThreshold: _u, lowerThreshold: _l, ...d }: IpvsDestination): IpvsDestination => d;
  return thresholdsKnown ? lineOf(s, live) === lineOf(s, want) : lineOf(s, strip(live)) === lineOf(s, strip(want));
}

export interface IpvsDelta {
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
  const lines: string[] = [];
  const liveBy = new Map(live.services.map((s) => [serviceKey(s), s]));
  const wantKeys = new Set(desired.services.map(serviceKey));
  // Deletions of servers first, then edits and additions, so a weight-0 server never lingers as
  // the only destination while new ones are added.
  for (const want of desired.services) {
    const cur = liveBy.get(serviceKey(want));
    if (!cur) {
      lines.push(lineOf(want));
      for (const d of want.destinations) lines.push(lineOf(want, d));
      continue;
    }
    if (!sameService(cur, want)) lines.push(lineOf(want).replace(/^-A /, '-E '));
    const curDests = new Map(cur.destinations.map((d) => [destinationKey(d), d]));
    const wantDests = new Set(want.destinations.map(destinationKey));
    for (const d of cur.destinations)
      if (!wantDests.has(destinationKey(d)))
        lines.push(
          lineOf(want, d)
            .replace(/^-a /, '-d ')
            .replace(/ -[mgi] -w .*$/, ''),
        );
    for (const d of want.destinations) {
      const c = curDests.get(destinationKey(d));
      if (!c) lines.push(lineOf(want, d));
      else if (!sameDestination(want, c, d, thresholdsKnown)) lines.push(lineOf(want, d).replace(/^-a /, '-e '));
    }
  }
  for (const [key, s] of liveBy)
    if (!wantKeys.has(key) && owned.includes(key)) lines.push(lineOf(s).replace(/^-A (.*?) -s .*$/, '-D $1'));
  return { lines, owned: [...wantKeys] };
}
