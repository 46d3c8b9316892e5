// `ipvsadm -Ln`: the live table with weights and connection counts, which `-S` does not print.
// Keys are the ones table.ts uses (serviceKey, destinationKey), so status and drain can match the
// inventory's services and real servers. `-Ln --thresholds` gives the thresholds, which `-S` does not.
import { destinationKey, parseHostPort, serviceKey } from '../identity/service.js';
import { parseRules } from './parse.js';
import type { IpvsTable } from './table.js';

export interface LiveDestination {
  forward: string; // Masq, Route, Tunnel, Local
  weight: number;
  active: number;
  inactive: number;
}

/** serviceKey -> destinationKey -> counts. */
export type LiveList = Map<string, Map<string, LiveDestination>>;

const PROTO = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' } as const;

/** Walk `ipvsadm -Ln` text (plain or --thresholds: the same service lines, other destination
 * columns): each destination line's columns after the address go to `row`, grouped by service. */
function walk<T>(text: string, row: (cols: string[]) => T | undefined): Map<string, Map<string, T>> {
  const out = new Map<string, Map<string, T>>();
  let cur: Map<string, T> | undefined;
  for (const line of text.split('\n')) {
    const svc = /^(TCP|UDP|SCTP)\s+(\S+)\s/.exec(line + ' ');
    const vip = svc && parseHostPort(svc[2]!);
    const fwm = /^FWM\s+(\d+)\s+(IPv6\s+)?/.exec(line);
    const dest = /^\s+->\s+(\S+)\s+(.*\S)\s*$/.exec(line);
    const rip = dest && parseHostPort(dest[1]!);
    if (svc && vip) out.set(serviceKey({ protocol: PROTO[svc[1] as keyof typeof PROTO], ...vip }), (cur = new Map()));
    else if (svc)
      cur = undefined; // not an address (ipvsadm -L without -n): nothing to match
    else if (fwm)
      out.set(serviceKey({ protocol: 'fwmark', family: fwm[2] ? 6 : 4, fwmark: Number(fwm[1]) }), (cur = new Map()));
    else if (rip && cur) {
      const v = row(dest[2]!.split(/\s+/));
      if (v !== undefined) cur.set(destinationKey(rip), v);
    }
  }
  return out;
}

/** The columns as numbers when there are `n` of them and all are numbers (not a header line). */
const numbers = (cols: string[], n: number): number[] | undefined =>
  cols.length === n && cols.every((c) => /^\d+$/.test(c)) ? cols.map(Number) : undefined;

export function parseList(text: string): LiveList {
  return walk(text, ([forward, ...rest]) => {
    const n = numbers(rest, 3);
    return n && { forward: forward!, weight: n[0]!, active: n[1]!, inactive: n[2]! };
  });
}

/** `ipvsadm -Ln --thresholds`: serviceKey -> destinationKey -> [upper, lower] (0: none). */
export function parseThresholds(text: string): Map<string, Map<string, [number, number]>> {
  return walk(text, (cols) => numbers(cols, 4)?.slice(0, 2) as [number, number] | undefined);
}

/** Active connections to one destination across every service of a table. */
export function activeTo(list: LiveList, destination: string): number {
  let n = 0;
  for (const dests of list.values()) n += dests.get(destination)?.active ?? 0;
  return n;
}

/** The table with its destinations' thresholds as `-Ln --thresholds` read them (-S prints none). */
export function withThresholds(table: IpvsTable, text: string): IpvsTable {
  const thr = parseThresholds(text);
  return {
    services: table.services.map((s) => {
      const byDest = thr.get(serviceKey(s));
      return {
        ...s,
        destinations: s.destinations.map((d) => {
          const [u, l] = byDest?.get(destinationKey(d)) ?? [0, 0];
          return { ...d, ...(u ? { upperThreshold: u } : {}), ...(l ? { lowerThreshold: l } : {}) };
        }),
      };
    }),
  };
}

/** Does any destination of the table have a threshold? */
export const hasThresholds = (t: IpvsTable): boolean =>
  t.services.some((s) => s.destinations.some((d) => d.upperThreshold || d.lowerThreshold));

/** The table a host's facts show (`ipvsadm -Sn`), with the thresholds read beside it. */
export function liveTable(facts: { ipvs: string | null; ipvsThresholds: string | null }): IpvsTable {
  const t = facts.ipvs ? parseRules(facts.ipvs) : { services: [] };
  return facts.ipvsThresholds !== null ? withThresholds(t, facts.ipvsThresholds) : t;
}
