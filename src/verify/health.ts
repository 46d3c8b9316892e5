// What keepalived's checkers did to a service's real servers, read from the directors' live tables
// (ipvsadm -Ln): a server its health check took out (or to weight 0 with inhibit_on_failure) is
// named with the reason, and the balancing is judged among the others; a MISC_CHECK with
// misc_dynamic sets the weight itself, so the live weight is the one to judge by.
import { expectedWeight, type Drained } from '../desired/weight.js';
import { destinationKey } from '../identity/service.js';
import type { ResolvedService } from '../inventory/model.js';
import type { LiveList } from '../ipvs/list.js';
import { CHECK_KIND } from '../render/keepalived.js';
import { health } from '../desired/health.js';

export interface CheckerState {
  /** host -> why it is out of the pool: "removed by its health check (MISC_CHECK) on dir1" */
  out: Record<string, string>;
  /** host -> the weight a misc_dynamic check gave it */
  weights: Record<string, number>;
}

export const noCheckerState = (): CheckerState => ({ out: {}, weights: {} });

/** From the tables of the directors that have the service (one without it is stopped or not set
 * up: not a checker's doing). */
export function checkerState(
  s: ResolvedService,
  tables: { director: string; list: LiveList }[],
  drained: Drained,
): CheckerState {
  const state = noCheckerState();
  if (s.engine !== 'keepalived') return state;
  const record = { stopped: false, drained };
  for (const r of s.realServers) {
    if (!r.healthCheck || !expectedWeight(r, drained).inTable) continue;
    const removed: string[] = [];
    const zero: string[] = [];
    for (const { director, list } of tables) {
      const live = list.get(s.id);
      if (!live) continue;
      const d = live.get(destinationKey(r));
      const h = health(s, r, record, d);
      if (h === 'removed by health check') removed.push(director);
      if (h === 'weight 0 (health check failing)') zero.push(director);
      if (d && r.healthCheck.type === 'misc' && r.healthCheck.misc_dynamic) state.weights[r.host] ??= d.weight;
    }
    const kind = CHECK_KIND[r.healthCheck.type];
    if (removed.length) state.out[r.host] = `removed by its health check (${kind}) on ${removed.join(', ')}`;
    else if (zero.length)
      state.out[r.host] = `weight 0 by its health check (${kind}, inhibit_on_failure) on ${zero.join(', ')}`;
  }
  return state;
}
