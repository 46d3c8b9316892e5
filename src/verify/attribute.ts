// Which real server each probe reached, by the directors' connection entries: the entry of the
// probe's own client port (and source address, when verify chose one) to the VIP and port it asked.
// Pure: the probes' results and the directors' entries in, one outcome per probe out.
import { sameAddress } from '../identity/address.js';
import type { ResolvedService } from '../inventory/model.js';
import { destinationKey } from '../identity/service.js';
import type { ConnEntry } from './conntable.js';
import type { ProbeResult } from './probe.js';

export interface Attributed extends ProbeResult {
  /** The real server's host; "unknown:ADDR:PORT" for a destination that is no real server of the
   * service; undefined when no entry (or more than one) matched. */
  host?: string;
}

const PROTO = { tcp: 'TCP', udp: 'UDP' } as const;

export function attribute(s: ResolvedService, probes: ProbeResult[], entries: ConnEntry[]): Attributed[] {
  const byDest = new Map(s.realServers.map((r) => [destinationKey(r), r.host]));
  const local = entries.filter((e) => e.local && e.protocol === PROTO[s.protocol]);
  return probes.map((p) => {
    const match = local.filter(
      (e) =>
        e.client.port === p.localPort &&
        e.virtual.port === p.vport &&
        sameAddress(e.virtual.address, s.vip.address) &&
        (p.source === '-' || sameAddress(e.client.address, p.source)),
    );
    if (match.length !== 1) return { ...p };
    return { ...p, host: byDest.get(match[0]!.destination) ?? `unknown:${match[0]!.destination}` };
  });
}
