// `lvsctl drain HOST` / `undrain HOST`: a real server's weight goes to 0 on every director that
// serves it (the rules file and live table for engine ipvsadm; keepalived.conf and a reload for
// keepalived: never an edit of a table keepalived owns), recorded in the directors' state so later
// runs keep it. drain then waits until the server's active connections end; --remove then takes
// it out of the services. undrain gives the inventory weight back.
import type { HostResult } from '../../engine/cluster.js';
import { waitDrained, type Waited } from '../../engine/drain.js';
import type { Intent } from '../../desired/intent.js';
import { ExitCode, UsageError } from '../../errors.js';
import type { Cluster } from '../../inventory/model.js';
import type { DrainOptions } from '../options.js';
import type { Output } from '../output.js';
import { changeRecords, hostRecord } from '../records.js';
import { withHosts } from '../shell.js';
import { plural } from '../table.js';

/** The directors drain works on: every director within --limit. */
function drainDirectors(cluster: Cluster, selected?: string[]): string[] {
  return cluster.directors.members.map((m) => m.host).filter((d) => !selected || selected.includes(d));
}

function checkDrain(cluster: Cluster, host: string, selected?: string[]): void {
  if (!cluster.hosts.get(host)?.roles.has('real_server')) {
    const rs = [...cluster.hosts.values()].filter((h) => h.roles.has('real_server')).map((h) => h.name);
    throw new UsageError(`"${host}" is not a real server of the inventory (its real servers: ${rs.join(', ')})`);
  }
  if (!drainDirectors(cluster, selected).length) throw new UsageError('--limit leaves no director to drain on');
}

export function runDrain(host: string, o: DrainOptions, out: Output, undrain: boolean): Promise<number> {
  const action = (): string => {
    if (undrain) return 'undrain';
    return o.remove ? 'drain --remove' : 'drain';
  };
  /** The JSON document's hosts (each with its last status and the changes of every run) and changes. */
  const record = (cluster: Cluster, runs: HostResult[][]) => {
    const last = runs.at(-1)!;
    const sum = (h: string) => runs.flat().reduce((n, r) => n + (r.host === h ? r.changes : 0), 0);
    out.set({
      hosts: last.map((r) => hostRecord(cluster, { ...r, changes: sum(r.host) })),
      changes: runs.flatMap((rs) => changeRecords(rs, true)),
      drain: { host, action: action() },
    });
  };
  const finish = (waited: Waited | undefined, code: number): number => {
    if (waited) out.set({ wait: waited });
    return code;
  };
  const failedAny = (results: HostResult[]): boolean => {
    const bad = results.filter((r) => r.status === 'failed' || r.status === 'unreachable');
    for (const r of bad) out.error(`lvsctl: ${r.host}: ${r.step ? `[${r.step}] ` : ''}${r.error ?? r.status}`);
    return bad.length > 0;
  };

  return withHosts(
    o,
    out,
    async ({ cluster, selected, conns, converge }) => {
      const directors = drainDirectors(cluster, selected);
      const on = directors.join(', ');
      const apply = (intent: Intent) => converge(true, intent, directors);
      const results = await apply(undrain ? { kind: 'undrain', host } : { kind: 'drain', host, remove: false });
      record(cluster, [results]);
      if (failedAny(results)) return finish(undefined, ExitCode.failed);
      if (undrain) {
        out.info(`${host}: inventory weight restored on ${on}`);
        return finish(undefined, ExitCode.ok);
      }
      const waited = await waitDrained(cluster, conns, directors, host, o.timeout, (l) => out.info(l));
      if (!waited.drained) {
        const left = Object.entries(waited.active).map(([d, n]) => `${plural(n, 'active connection')} on ${d}`);
        // A connection that died without a FIN (a client gone, a takeover) stays ESTABLISHED in the
        // table until its entry expires: say how long that can be at most.
        const expiry = Object.entries(waited.expiresWithin).map(([d, x]) => `${x} s on ${d}`);
        out.error(
          `lvsctl: ${host} still has ${left.join(', ')} after ${waited.seconds.toFixed(0)} s; it stays drained (weight 0). ` +
            (expiry.length ? `Without traffic their entries expire within ${expiry.join(', ')}. ` : '') +
            'Run drain again to keep waiting, or undrain.',
        );
        return finish(waited, ExitCode.failed);
      }
      out.info(`${host}: drained on ${on} in ${waited.seconds.toFixed(1)} s (no active connections, weight 0)`);
      for (const [d, n] of Object.entries(waited.stale ?? {}))
        out.info(
          `note: ${d} still lists ${plural(n, 'active connection')} to ${host}; it holds no VIP of the service (stale entries from before a failover, not waited on)`,
        );
      if (!o.remove) return finish(waited, ExitCode.ok);
      const removed = await apply({ kind: 'drain', host, remove: true });
      record(cluster, [results, removed]);
      if (failedAny(removed)) return finish(waited, ExitCode.failed);
      out.info(`${host}: removed from its services on ${on} (undrain puts it back)`);
      return finish(waited, ExitCode.ok);
    },
    { check: (cluster, selected) => checkDrain(cluster, host, selected) },
  );
}
