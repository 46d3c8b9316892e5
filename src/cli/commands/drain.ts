// `lvsctl drain HOST` / `undrain HOST`: a real server's weight goes to 0 on every director that
// serves it (the rules file and live table for engine ipvsadm; keepalived.conf and a reload for
// keepalived: never an edit of a table keepalived owns), recorded in the directors' state so later
// runs keep it. drain then waits until the server's active connections end; --remove then takes
// it out of the services. undrain gives the inventory weight back.
import type { HostResult } from '../../engine/cluster.js';
import type { Connections } from '../../engine/connections.js';
import { readBackWeights, waitDrained, type Waited } from '../../engine/drain.js';
import { keepalivedServes } from '../../desired/weight.js';
import { weightZeroHint } from '../../facts/keepalived-version.js';
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

/** Seconds a director's kernel table gets to show weight 0 after keepalived's reload. */
const READBACK_SEC = 10;
const CUT =
  'IPVS drops the packets of a removed server, so its established connections there are cut; undrain puts it back';

/**
 * In keepalived mode the drain is not trusted to have reached the kernel: where keepalived is known
 * to refuse weight 0 (2.0.0-2.0.15: the plan took the server out instead) that is said, and every
 * other director's table is read back. Where the weight is not 0 (2.1.0-2.1.5 program it as 1;
 * the version is only a hint, as distributions backport fixes) the server is taken out of its
 * services there instead, and read back again. Returns the directors it was taken out on, or
 * undefined when the kernel still sends it new connections somewhere (the error says where).
 */
export async function checkQuiesced(
  cluster: Cluster,
  conns: Connections,
  directors: string[],
  host: string,
  results: HostResult[],
  apply: (intent: Intent, on: string[]) => Promise<HostResult[]>,
  out: Pick<Output, 'info' | 'error'>,
  settleSec = READBACK_SEC,
): Promise<Set<string> | undefined> {
  const removedOn = new Set<string>();
  if (!keepalivedServes(cluster, host)) return removedOn;
  const version = (d: string) => results.find((r) => r.host === d)?.run?.facts.keepalivedVersion ?? null;
  for (const r of results)
    if (r.run?.record.drained[host] === 'remove') {
      removedOn.add(r.host);
      out.info(
        `${r.host}: keepalived ${version(r.host)?.text} rejects weight 0 (2.0.0-2.0.15 do): ${host} was taken out of its services there instead (${CUT})`,
      );
    }
  const quiesced = directors.filter((d) => !removedOn.has(d));
  const stuck = await readBackWeights(cluster, conns, quiesced, host, settleSec);
  const zero = quiesced.filter((d) => !stuck.has(d));
  if (zero.length) out.info(`${host}: weight 0 read back from the kernel table on ${zero.join(', ')}`);
  for (const [d, left] of stuck) {
    const v = version(d);
    const why =
      v && weightZeroHint(v) === 'programmed as 1'
        ? `keepalived ${v.text} programs weight 0 as 1 (2.1.0-2.1.5 do; fixed in 2.2.0)`
        : `keepalived ${v?.text ?? '(version unknown)'} did not program weight 0`;
    out.info(
      `${d}: the kernel still weights ${host} ${left.map((x) => `${x.weight} in ${x.service}`).join(', ')} (${why}): taking it out of its services there instead (${CUT})`,
    );
  }
  if (stuck.size) {
    const fallback = await apply({ kind: 'drain', host, remove: true }, [...stuck.keys()]);
    for (const r of fallback)
      if (r.status === 'failed' || r.status === 'unreachable')
        out.error(`lvsctl: ${r.host}: ${r.step ? `[${r.step}] ` : ''}${r.error ?? r.status}`);
    for (const d of stuck.keys()) removedOn.add(d);
  }
  // The removal is keepalived's to carry out too: read back that the server is gone.
  const still = removedOn.size ? await readBackWeights(cluster, conns, [...removedOn], host, settleSec) : new Map();
  if (!still.size) return removedOn;
  out.error(
    `lvsctl: ${host} is not drained: the kernel still sends it new connections through ${[...still.keys()].join(', ')}`,
  );
  return undefined;
}

export function runDrain(host: string, o: DrainOptions, out: Output, undrain: boolean): Promise<number> {
  const action = (): string => {
    if (undrain) return 'undrain';
    return o.remove ? 'drain --remove' : 'drain';
  };
  /** The JSON document's hosts (each with its last status and the changes of every run) and changes. */
  const record = (cluster: Cluster, runs: HostResult[][]) => {
    // every host of the first run, with its last status (a fallback runs on some directors only)
    const latest = (h: string) =>
      runs
        .flat()
        .filter((r) => r.host === h)
        .at(-1)!;
    const sum = (h: string) => runs.flat().reduce((n, r) => n + (r.host === h ? r.changes : 0), 0);
    out.set({
      hosts: runs[0]!.map((r) => hostRecord(cluster, { ...latest(r.host), changes: sum(r.host) })),
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
      const runs: HostResult[][] = [];
      const apply = async (intent: Intent, on = directors) => {
        const r = await converge(true, intent, on);
        runs.push(r);
        record(cluster, runs);
        return r;
      };
      const results = await apply(undrain ? { kind: 'undrain', host } : { kind: 'drain', host, remove: false });
      if (failedAny(results)) return finish(undefined, ExitCode.failed);
      if (undrain) {
        out.info(`${host}: inventory weight restored on ${on}`);
        return finish(undefined, ExitCode.ok);
      }
      const removedOn = await checkQuiesced(cluster, conns, directors, host, results, apply, out);
      if (!removedOn) return finish(undefined, ExitCode.failed);
      const waited = await waitDrained(cluster, conns, directors, host, o.timeout, (l) => out.info(l), removedOn);
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
      const how = removedOn.size ? `; taken out of its services on ${[...removedOn].join(', ')}` : '';
      out.info(`${host}: drained on ${on} in ${waited.seconds.toFixed(1)} s (no active connections, weight 0${how})`);
      for (const [d, n] of Object.entries(waited.stale ?? {}))
        out.info(
          `note: ${d} still lists ${plural(n, 'active connection')} to ${host}; it holds no VIP of the service (stale entries from before a failover, not waited on)`,
        );
      if (!o.remove) return finish(waited, ExitCode.ok);
      const removed = await apply({ kind: 'drain', host, remove: true });
      if (failedAny(removed)) return finish(waited, ExitCode.failed);
      out.info(`${host}: removed from its services on ${on} (undrain puts it back)`);
      return finish(waited, ExitCode.ok);
    },
    {
      check: (cluster, selected) => checkDrain(cluster, host, selected),
      lock: { command: `${undrain ? 'undrain' : 'drain'} ${host}`, hosts: drainDirectors },
    },
  );
}
