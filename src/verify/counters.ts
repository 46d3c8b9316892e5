// Identifying the answering real server of a TCP or UDP service by the directors' own IPVS
// counters: connections per destination, read before and after the requests. The totals trail by
// up to ~2 s (the kernel folds per-CPU counters in its estimator timer), so the "after" read
// waits until two reads agree.
import type { ResolvedService } from '../inventory/model.js';
import type { HostConnection } from '../ssh/connection.js';
import { sh } from '../util/quote.js';

/** `ipvsadm -Ln --stats --exact` lines "  -> ADDR:PORT  Conns InPkts …" -> conns per destination. */
export function parseStats(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^\s+->\s+(\S+)\s+(\d+)\s+\d+/gm)) out.set(m[1]!, Number(m[2]));
  return out;
}

function serviceArg(s: ResolvedService): string[] {
  if (s.fwmark !== undefined) return ['-f', String(s.fwmark)];
  const hp = s.family === 6 ? `[${s.vip.address}]:${s.port}` : `${s.vip.address}:${s.port}`;
  return [s.protocol === 'udp' ? '-u' : '-t', hp];
}

async function readAll(dirs: HostConnection[], s: ResolvedService): Promise<Map<string, number>> {
  const sum = new Map<string, number>();
  for (const d of dirs) {
    const r = await d.exec(sh`ipvsadm -Ln --stats --exact ${serviceArg(s)} 2>/dev/null || true`);
    for (const [k, v] of parseStats(r.stdout)) sum.set(k, (sum.get(k) ?? 0) + v);
  }
  return sum;
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
    await new Promise((r) => setTimeout(r, 700));
    const again = await readAll(dirs, s);
    const same = [...again].every(([k, v]) => after.get(k) === v);
    after = again;
    if (same && i >= 2) break; // stable over more than one estimator period
  }
  const hits: Record<string, number> = {};
  for (const r of s.realServers) {
    const key = r.address.includes(':') ? `[${r.address}]:${r.port}` : `${r.address}:${r.port}`;
    const n = (after.get(key) ?? 0) - (before.get(key) ?? 0);
    if (n > 0) hits[r.host] = (hits[r.host] ?? 0) + n;
  }
  return hits;
}
