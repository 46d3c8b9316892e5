// Waiting for a drain: poll the directors' live tables until every destination of the drained real
// server has the weight expectedWeight gives it (0, or gone) and no active connection is left.
import { expectedWeight, type Drained } from '../desired/weight.js';
import { destinationKey } from '../identity/service.js';
import type { Cluster } from '../inventory/model.js';
import { parseList } from '../ipvs/list.js';
import { checkInterrupt } from '../util/interrupt.js';
import { sh } from '../util/quote.js';
import type { Connections } from './connections.js';
import type { Say } from './progress.js';

export interface Waited {
  drained: boolean;
  seconds: number;
  active: Record<string, number>; // director -> active connections left
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
  // destination key -> the weight it should have once drained, per service
  const want = new Map(
    cluster.services.map((s) => [
      s.id,
      new Map(s.realServers.filter((r) => r.host === host).map((r) => [destinationKey(r), expectedWeight(r, drained)])),
    ]),
  );
  const t0 = Date.now();
  let last = '';
  for (;;) {
    checkInterrupt();
    const active: Record<string, number> = {};
    let weighted = 0;
    for (const d of directors) {
      const live = parseList((await (await conns.get(d)).exec(sh`ipvsadm -Ln`)).stdout);
      active[d] = 0;
      for (const [service, dests] of want)
        for (const [key, e] of dests) {
          const l = live.get(service)?.get(key);
          if (!l) continue;
          active[d] += l.active;
          if (e.inTable && l.weight !== e.weight) weighted++;
        }
    }
    const seconds = (Date.now() - t0) / 1000;
    const total = Object.values(active).reduce((a, b) => a + b, 0);
    if (total === 0 && weighted === 0) return { drained: true, seconds, active };
    const counts = Object.entries(active).map(([d, n]) => `${d} ${n} active`);
    const line = `waiting for ${host}: ${counts.join(', ')}${weighted ? ` (weight not yet 0 on ${weighted} destination${weighted > 1 ? 's' : ''})` : ''}`;
    if (line !== last) say(line);
    last = line;
    if (seconds >= timeoutSec) return { drained: false, seconds, active };
    await new Promise((r) => setTimeout(r, 1000));
  }
}
