// Judging verify counts against the inventory: pure, so each rule is unit-tested.
//  - every real server with weight > 0 answers; a weight-0 server gets nothing;
//  - rr/wrr: each server's share of the answers within `tolerance` (relative) of its weight share;
//  - affinity (sh, persistence): every client source sticks to one server, and with several
//    sources more than one server answers.
import { servingRealServers, type Drained } from '../desired/weight.js';
import type { ResolvedService } from '../inventory/model.js';
import { noCheckerState, type CheckerState } from './health.js';

/** How the answering real servers were known: the directors' connection entries of each probe, the
 * directors' per-destination counters (ops services), the answers' own identity (verify.identify,
 * when the table had no entry), or not at all (then only success is judged). */
export type Attribution = 'table' | 'counters' | 'identity' | 'none';

export interface Counts {
  /** answers per real server name, plus "failed" and "unknown:…" keys */
  hits: Record<string, number>;
  /** failed probes per real server the directors sent them to ("unattributed": no entry) */
  failedBy?: Record<string, number>;
  /** answered probes that no entry named, while others were named */
  unattributed?: number;
  /** answers whose identity (verify.identify) disagrees with the connection table */
  mismatched?: string[];
  attribution?: Attribution;
  /** the probes sent (answered, failed, attributed or not) */
  sent?: number;
  /** per client source address: answers per real server (affinity checks) */
  bySource?: Record<string, Record<string, number>>;
}

const pct = (x: number) => Math.round(x * 100);

export const hasAffinity = (s: ResolvedService) => s.scheduler === 'sh' || s.persistence !== undefined;

/** Judged against the weights the directors should have now (expectedWeight: the inventory's, 0
 * while drained, out of the table while removed by drain). */
export function judge(
  s: ResolvedService,
  c: Counts,
  tolerance: number,
  drained: Drained = {},
  checkers: CheckerState = noCheckerState(),
): string[] {
  const problems: string[] = [];
  // Out by keepalived's health check: named with the reason, and not judged as a balancing fault.
  for (const [host, why] of Object.entries(checkers.out)) problems.push(`${host} is out of the pool: ${why}`);
  // Answers nobody could attribute are in no count of hits: the probes sent are the total.
  const total = c.sent ?? Object.values(c.hits).reduce((a, b) => a + b, 0) + (c.unattributed ?? 0);
  if (c.hits.failed) {
    const by = Object.entries(c.failedBy ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([h, n]) => `${h} ${n}`);
    problems.push(`${c.hits.failed} of ${total} requests failed${by.length ? ` (sent to: ${by.join(', ')})` : ''}`);
  }
  if (c.unattributed)
    problems.push(
      `${c.unattributed} answered request${c.unattributed === 1 ? ' has' : 's have'} no connection entry on any director: ` +
        'attribution failed (IPVS timeouts shorter than the run?)',
    );
  for (const m of c.mismatched ?? []) problems.push(m);
  if (c.attribution === 'none') return problems; // who answered is unknown: success only
  const unknown = Object.keys(c.hits).filter((k) => k.startsWith('unknown:'));
  if (unknown.length) problems.push(`answers that name no real server: ${unknown.map((k) => k.slice(8)).join(', ')}`);
  const serving = servingRealServers(s.realServers, drained)
    .filter((r) => !Object.hasOwn(checkers.out, r.host))
    .map((r) => (Object.hasOwn(checkers.weights, r.host) ? { ...r, weight: checkers.weights[r.host]! } : r));
  const removed = s.realServers.filter(
    (r) => c.hits[r.host] && !Object.hasOwn(checkers.out, r.host) && !serving.some((x) => x.host === r.host),
  );
  if (removed.length)
    problems.push(`removed server answered: ${removed.map((r) => `${r.host} (${c.hits[r.host]})`).join(', ')}`);
  const live = serving.filter((r) => r.weight > 0);
  const zero = serving.filter((r) => r.weight === 0 && c.hits[r.host]);
  if (zero.length)
    problems.push(`weight-0 server answered: ${zero.map((r) => `${r.host} (${c.hits[r.host]})`).join(', ')}`);
  if (hasAffinity(s)) {
    for (const [src, per] of Object.entries(c.bySource ?? {})) {
      const servers = Object.keys(per).filter((k) => k !== 'failed');
      if (servers.length > 1)
        problems.push(`source ${src} was not sticky: ${servers.map((k) => `${k}=${per[k]}`).join(' ')}`);
    }
    const sources = Object.keys(c.bySource ?? {}).length;
    const answered = live.filter((r) => c.hits[r.host]).length;
    if (sources > 1 && live.length > 1 && answered < 2)
      problems.push(`all ${sources} client sources went to one server: affinity, but no spread`);
    return problems;
  }
  const silent = live.filter((r) => !c.hits[r.host]).map((r) => r.host);
  if (silent.length) problems.push(`no answer from ${silent.join(', ')}`);
  if (s.scheduler === 'rr' || s.scheduler === 'wrr') {
    const ok = live.reduce((a, r) => a + (c.hits[r.host] ?? 0), 0);
    const wsum = live.reduce((a, r) => a + (s.scheduler === 'rr' ? 1 : r.weight), 0);
    for (const r of live) {
      const want = (s.scheduler === 'rr' ? 1 : r.weight) / wsum;
      const got = ok ? (c.hits[r.host] ?? 0) / ok : 0;
      if (Math.abs(got - want) > tolerance * want)
        problems.push(
          `${r.host} got ${pct(got)}% of the answers, its weight share is ${pct(want)}% (tolerance ${pct(tolerance)}%)`,
        );
    }
  }
  return problems;
}
