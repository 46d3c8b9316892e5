// `lvsctl drain HOST` / `undrain HOST`: a real server's weight goes to 0 on every director that
// serves it (the rules file and live table for engine ipvsadm; keepalived.conf and a reload for
// keepalived: never an edit of a table keepalived owns), recorded in the directors' state so later
// runs keep it. drain then waits until the server's active connections end; --remove then takes
// it out of the services. undrain gives the inventory weight back.
import { checkLimit, converge, type HostResult } from '../../engine/cluster.js';
import { Connections } from '../../engine/connections.js';
import type { FilesFor } from '../../engine/host.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { Cluster } from '../../inventory/model.js';
import { loadInventory } from '../../inventory/load.js';
import type { Secrets } from '../../inventory/secrets.js';
import { hostPort } from '../../ipvs/address.js';
import { parseList } from '../../ipvs/list.js';
import { sh } from '../../util/quote.js';
import { checkInterrupt } from '../../util/interrupt.js';
import type { Output } from '../output.js';
import { progressFor } from '../progress.js';
import type { ConvergeOptions } from './converge.js';

export interface DrainOptions extends ConvergeOptions {
  remove?: boolean;
  timeout?: number; // seconds
}

interface Waited {
  drained: boolean;
  seconds: number;
  active: Record<string, number>; // director -> active connections left
}

export async function runDrain(
  host: string,
  o: DrainOptions,
  out: Output,
  filesFor: FilesFor,
  undrain: boolean,
): Promise<number> {
  const { cluster, secrets } = loadInventory(o.inventory);
  checkLimit(cluster, o.limit);
  if (!cluster.hosts.get(host)?.roles.has('real_server')) {
    const rs = [...cluster.hosts.values()].filter((h) => h.roles.has('real_server')).map((h) => h.name);
    throw new UsageError(`"${host}" is not a real server of the inventory (its real servers: ${rs.join(', ')})`);
  }
  const directors = cluster.directors.members.map((m) => m.host).filter((d) => !o.limit || o.limit.includes(d));
  if (!directors.length) throw new UsageError('--limit leaves no director to drain on');
  const conns = new Connections(cluster, o.acceptNewHostKeys);
  try {
    const apply = (intent: Parameters<typeof converge>[3]['intent']) =>
      converge(cluster, secrets, filesFor, {
        limit: directors,
        forks: o.forks,
        apply: true,
        progress: progressFor(o.json, (l) => out.info(l)),
        conns,
        intent,
      });
    const results = await apply(undrain ? { kind: 'undrain', host } : { kind: 'drain', host, remove: false });
    if (failedAny(out, results)) return finish(out, results, undefined, ExitCode.failed);
    if (undrain) {
      out.info(`${host}: inventory weight restored on ${directors.join(', ')}`);
      return finish(out, results, undefined, ExitCode.ok);
    }
    const waited = await waitDrained(cluster, conns, directors, host, o.timeout ?? 300, (l) => out.info(l));
    if (!waited.drained) {
      out.error(
        `lvsctl: ${host} still has ${Object.entries(waited.active)
          .map(([d, n]) => `${n} active connection${n === 1 ? '' : 's'} on ${d}`)
          .join(
            ', ',
          )} after ${waited.seconds.toFixed(0)} s; it stays drained (weight 0). Run drain again to keep waiting, or undrain.`,
      );
      return finish(out, results, waited, ExitCode.failed);
    }
    out.info(
      `${host}: drained on ${directors.join(', ')} in ${waited.seconds.toFixed(1)} s (no active connections, weight 0)`,
    );
    if (o.remove) {
      const removed = await apply({ kind: 'drain', host, remove: true });
      if (failedAny(out, removed)) return finish(out, removed, waited, ExitCode.failed);
      out.info(`${host}: removed from its services on ${directors.join(', ')} (undrain puts it back)`);
      return finish(out, removed, waited, ExitCode.ok);
    }
    return finish(out, results, waited, ExitCode.ok);
  } finally {
    await conns.closeAll();
  }
  function finish(out: Output, results: HostResult[], waited: Waited | undefined, code: number): number {
    out.json({
      host,
      action: undrain ? 'undrain' : o.remove ? 'drain --remove' : 'drain',
      hosts: results.map((r) => ({ host: r.host, status: r.status, changes: r.changes, error: r.error, step: r.step })),
      ...(waited ? { wait: waited } : {}),
    });
    return code;
  }
}

function failedAny(out: Output, results: HostResult[]): boolean {
  const bad = results.filter((r) => r.status === 'failed' || r.status === 'unreachable');
  for (const r of bad) out.error(`lvsctl: ${r.host}: ${r.step ? `[${r.step}] ` : ''}${r.error}`);
  return bad.length > 0;
}

/** Polls the directors' tables until the server has weight 0 (or is gone) and no active
 * connection on any of them, or the timeout passes. */
async function waitDrained(
  cluster: Cluster,
  conns: Connections,
  directors: string[],
  host: string,
  timeoutSec: number,
  say: (line: string) => void,
): Promise<Waited> {
  const dests = new Set(
    cluster.services.flatMap((s) =>
      s.realServers.filter((r) => r.host === host).map((r) => hostPort(r.address, r.port)),
    ),
  );
  const t0 = Date.now();
  let last = '';
  for (;;) {
    checkInterrupt();
    const active: Record<string, number> = {};
    let weighted = 0;
    for (const d of directors) {
      const r = await (await conns.get(d)).exec(sh`ipvsadm -Ln`);
      active[d] = 0;
      for (const table of parseList(r.stdout).values())
        for (const [k, v] of table) {
          if (!dests.has(k)) continue;
          active[d] += v.active;
          if (v.weight > 0) weighted++;
        }
    }
    const seconds = (Date.now() - t0) / 1000;
    const total = Object.values(active).reduce((a, b) => a + b, 0);
    if (total === 0 && weighted === 0) return { drained: true, seconds, active };
    const line = `waiting for ${host}: ${Object.entries(active)
      .map(([d, n]) => `${d} ${n} active`)
      .join(', ')}${weighted ? ` (weight not yet 0 on ${weighted} destination${weighted > 1 ? 's' : ''})` : ''}`;
    if (line !== last) say(line);
    last = line;
    if (seconds >= timeoutSec) return { drained: false, seconds, active };
    await new Promise((r) => setTimeout(r, 1000));
  }
}
