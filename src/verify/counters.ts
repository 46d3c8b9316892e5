// Identifying the answering real server of a TCP or UDP service by the directors' own IPVS
// counters: connections per destination, read before and after the requests. The totals trail by
// up to ~2 s (the kernel folds per-CPU counters in its estimator timer), so the "after" read
// waits until two reads agree.
import { destinationKey, parseHostPort, serviceArgs } from '../identity/service.js';
import type { ResolvedService } from '../inventory/model.js';
import type { HostConnection } from '../ssh/connection.js';
import { sh } from '../util/quote.js';
import { sleep } from '../util/interrupt.js';

/** `ipvsadm -Ln --stats --exact` lines "  -> ADDR:PORT  Conns InPkts …" -> conns per destination,
 * keyed by destinationKey (so any spelling of an address in the inventory matches). */
export function parseStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^\s+->\s+(\S+)\s+(\d+)\s+\d+/gm)) {
    const d = parseHostPort(m[1]!);
    if (d) out.set(destinationKey(d), Number(m[2]));
  }
  return out;
}

async function readAll(dirs: HostConnection[], s: ResolvedService): Promise<Map<string, number>> {
  const sum = new Map<string, number>();
  for (const d of dirs) {
    const r = await d.exec(sh`ipvsadm -Ln --stats --exact ${serviceArgs(s.ident)} 2>/dev/null || true`);
    for (const [k, v] of parseStats(r.stdout)) sum.set(k, (sum.get(k) ?? 0) + v);
  }
  return sum;
}

/** New connections per real server host between two counter reads. */
export function hitsBetween(
  s: ResolvedService,
  before: Map<string, number>,
  after: Map<string, number>,
): Record<string, number> {
  const hits: Record<string, number> = {};
  for (const r of s.realServers) {
    const key = destinationKey(r);
    const n = (after.get(key) ?? 0) - (before.get(key) ?? 0);
    if (n > 0) hits[r.host] = (hits[r.host] ?? 0) + n;
  }
  return hits;
}

/** Runs `requests` and returns new connections per real server host, by the directors' counters. */
export async function countByDirectors(
  dirs: HostConnection[],
  s: ResolvedService,
  requests: () => Promise<void>,
): Promise<Record<string, number>> {
  const before = await readAll(dirs, s);
  await requests();
  let after = await readAll(dirs, s);
  for (let i = 0; i < 10; i++) {
    await sleep(700);
    const again = await readAll(dirs, s);
    const same = [...again].every(([k, v]) => after.get(k) === v);
    after = again;
    if (same && i >= 2) break; // stable over more than one estimator period
  }
  return hitsBetween(s, before, after);
}
