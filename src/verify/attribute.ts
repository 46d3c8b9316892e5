// Which real server each probe reached, by the directors' connection entries: the entry of the
// probe's own client port (and source address, when verify chose one) to the VIP and port it asked.
// Pure: the probes' results and the directors' entries in, one outcome per probe out.
import { canonicalAddress, sameAddress } from '../identity/address.js';
import type { ResolvedService } from '../inventory/model.js';
import { destinationKey, parseHostPort } from '../identity/service.js';
import type { ConnEntry } from './conntable.js';
import type { ProbeResult } from './probe.js';

export interface Attributed extends ProbeResult {
  /** The real server's host; "unknown:ADDR:PORT" for a destination that is no real server of the
   * service; undefined when no entry (or more than one) matched. */
  host?: string;
}

const PROTO = { tcp: 'TCP', udp: 'UDP' } as const;

/** The probe's own entry among several of the same client port (an older connection of an earlier
 * run that used the port, still timing out): the one with the most time left, which the latest
 * packet refreshed. Two equally fresh ones are ambiguous. */
function newest(match: ConnEntry[]): ConnEntry | undefined {
  // One entry per real server (the watcher may have seen the same one several times), the freshest.
  const byDest = new Map<string, ConnEntry>();
  for (const e of match) if ((byDest.get(e.destination)?.expires ?? -1) < e.expires) byDest.set(e.destination, e);
  const sorted = [...byDest.values()].sort((a, b) => b.expires - a.expires);
  if (sorted.length > 1 && sorted[0]!.expires === sorted[1]!.expires) return undefined;
  return sorted[0];
}

/** The client address the director should see for a probe: curl's own report, else the source verify chose. */
const from = (p: ProbeResult): string | undefined => p.localAddress ?? (p.source === '-' ? undefined : p.source);

export function attribute(s: ResolvedService, probes: ProbeResult[], entries: ConnEntry[]): Attributed[] {
  const byDest = new Map(s.realServers.map((r) => [destinationKey(r), r.host]));
  // A real server without a port (fwmark services) takes each request on the port it was sent to.
  const byAddress = new Map(
    s.realServers.filter((r) => r.port === 0).map((r) => [canonicalAddress(r.address), r.host]),
  );
  const hostOf = (destination: string) =>
    byDest.get(destination) ?? byAddress.get(parseHostPort(destination)?.address ?? '') ?? `unknown:${destination}`;
  const local = entries.filter((e) => e.local && e.protocol === PROTO[s.protocol]);
  return probes.map((p) => {
    const client = from(p);
    const match = local.filter(
      (e) =>
        e.client.port === p.localPort &&
        e.virtual.port === p.vport &&
        sameAddress(e.virtual.address, s.vip.address) &&
        (client === undefined || sameAddress(e.client.address, client)),
    );
    const entry = newest(match);
    if (!entry) return { ...p };
    return { ...p, host: hostOf(entry.destination) };
  });
}
