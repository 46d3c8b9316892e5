// Waiting for a drain: poll the directors until every destination of the drained real server has
// the weight expectedWeight gives it (0, or gone) and no active connection is left on a director
// that holds the service's VIP. A director that does not hold it (the old MASTER after a failover)
// keeps stale entries until they time out; they carry no traffic, so they are shown, not waited on.
import { expectedWeight, type Drained } from '../desired/weight.js';
import { parseAddr } from '../facts/parse.js';
import { sameAddress } from '../identity/address.js';
import { destinationKey } from '../identity/service.js';
import type { Cluster } from '../inventory/model.js';
import { parseList, type LiveList } from '../ipvs/list.js';
import { checkInterrupt } from '../util/interrupt.js';
import { sh } from '../util/quote.js';
import type { Connections } from './connections.js';
import type { Say } from './progress.js';

export interface Waited {
  drained: boolean;
  seconds: number;
  active: Record<string, number>; // director -> active connections left (on VIPs it holds)
  /** director -> active connections in entries for VIPs it does not hold (information) */
  stale?: Record<string, number>;
}

interface DirectorView {
  list: LiveList;
  holds: (vip: string) => boolean;
}

async function look(conns: Connections, director: string): Promise<DirectorView> {
  const out = (await (await conns.get(director)).exec(sh`ipvsadm -Ln; echo @@addr; ip -o addr show`)).stdout;
  const [list = '', addr = ''] = out.split('@@addr\n');
  const addresses = parseAddr(addr.split('\n'));
  return { list: parseList(list), holds: (vip) => addresses.some((a) => sameAddress(a.address, vip)) };
}

export async function waitDrained(
  cluster: Cluster,
  conns: Connections,
  directors: string[],
  host: string,
  timeoutSec: number,
  say: Say,
): Promise<Waited> {
  const drained: Drained = { [host]: 'quiesce' };
  const services = cluster.services
    .map((s) => ({
      s,
      dests: s.realServers
        .filter((r) => r.host === host)
        .map((r) => [destinationKey(r), expectedWeight(r, drained)] as const),
    }))
    .filter((x) => x.dests.length);
  const t0 = Date.now();
  let last = '';
  for (;;) {
    checkInterrupt();
    const active: Record<string, number> = {};
    const stale: Record<string, number> = {};
    let weighted = 0;
    for (const d of directors) {
      const view = await look(conns, d);
      active[d] = 0;
      for (const { s, dests } of services)
        for (const [key, want] of dests) {
          const l = view.list.get(s.id)?.get(key);
          if (!l) continue;
          if (view.holds(s.vip.address)) active[d] += l.active;
          else if (l.active) stale[d] = (stale[d] ?? 0) + l.active;
          if (want.inTable && l.weight !== want.weight) weighted++;
        }
    }
    const seconds = (Date.now() - t0) / 1000;
    const total = Object.values(active).reduce((a, b) => a + b, 0);
    const staleInfo = Object.keys(stale).length ? { stale } : {};
    if (total === 0 && weighted === 0) return { drained: true, seconds, active, ...staleInfo };
    const counts = Object.entries(active).map(([d, n]) => `${d} ${n} active`);
    const staleText = Object.entries(stale).map(([d, n]) => `${d} ${n} (stale: it holds no VIP of the service)`);
    const line =
      `waiting for ${host}: ${counts.join(', ')}` +
      (staleText.length ? `; not waited on: ${staleText.join(', ')}` : '') +
      (weighted ? ` (weight not yet 0 on ${weighted} destination${weighted > 1 ? 's' : ''})` : '');
    if (line !== last) say(line);
    last = line;
    if (seconds >= timeoutSec) return { drained: false, seconds, active, ...staleInfo };
    await new Promise((r) => setTimeout(r, 1000));
  }
}
