// A real server's health on one director, from the live table: what the recorded stop and drains
// ask (weight.ts), then what keepalived's checkers did. status shows it; verify names the servers a
// checker took out. keepalived's health-check removals are health, never drift.
import type { ResolvedRealServer, ResolvedService } from '../inventory/model.js';
import type { LiveDestination } from '../ipvs/list.js';
import { expectedWeight, type Drained } from './weight.js';

export type Health =
  | 'serving'
  | 'drained'
  | 'removed by drain'
  | 'removed by health check'
  | 'weight 0 (health check failing)'
  | 'missing'
  | 'stopped'
  | 'unknown';

/** A real server's health on one director: what the recorded stop and drains ask (expectedWeight),
 * then what keepalived's checkers did to a server the inventory wants serving. */
export function health(
  s: ResolvedService,
  r: ResolvedRealServer,
  record: { stopped: boolean; drained: Drained },
  live: LiveDestination | undefined,
): Health {
  if (record.stopped) return 'stopped';
  const want = expectedWeight(r, record.drained);
  if (!want.inTable) return 'removed by drain';
  if (want.why === 'drained') return 'drained';
  if (!live) return s.engine === 'keepalived' && r.healthCheck ? 'removed by health check' : 'missing';
  if (live.weight === 0 && want.weight > 0 && s.inhibitOnFailure) return 'weight 0 (health check failing)';
  return 'serving';
}
