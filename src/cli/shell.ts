// The preamble and epilogue every host command shares: read the inventory (nothing is contacted
// when it is invalid), resolve --limit, run the command's own checks of its words, open one SSH
// connection per host on first use, choose the progress renderer, and close every connection
// whatever happens.
import { UsageError } from '../errors.js';
import type { Intent } from '../desired/intent.js';
import { converge, reachResult, type HostResult } from '../engine/cluster.js';
import { hostRecord } from './records.js';
import { resolveLimit } from '../inventory/limit.js';
import { Connections } from '../engine/connections.js';
import { renderedFiles } from '../engine/files.js';
import { PlainProgress } from '../engine/progress.js';
import { loadInventory } from '../inventory/load.js';
import type { Cluster } from '../inventory/model.js';
import type { HostOptions } from './options.js';
import type { Output } from './output.js';
import { progressFor } from './progress.js';
import { currentHolder, DEFAULT_LOCK_TTL, RunLocks } from '../lock/locks.js';
import { recordTimings, Timings } from '../util/timings.js';
import { timingsTable } from './print/timings.js';

export interface HostCommand {
  cluster: Cluster;
  /** The hosts --limit selects (undefined: every host). */
  selected?: string[];
  conns: Connections;
  /** The pipeline on the selected hosts (--limit, or `limit`) with the command's connections and
   * progress: facts and plan, then apply when `apply`. */
  converge(
    apply: boolean,
    intent?: Intent,
    limit?: string[],
    approve?: (results: HostResult[]) => Promise<void>,
  ): Promise<HostResult[]>;
}

export interface ShellOptions {
  /** Per-host progress only with --verbose, on stderr (status: its output is the table). */
  quietProgress?: boolean;
  /** Checks of the command's own words that need the inventory; run before any contact. */
  check?: (cluster: Cluster, selected?: string[]) => void;
  /** A command that changes hosts takes the run lock on them first (lock/locks.ts): its words in the
   * lock, and the hosts it changes (default: the selected ones). */
  lock?: { command: string; hosts?: (cluster: Cluster, selected?: string[]) => string[] };
}

export async function withHosts(
  o: HostOptions,
  out: Output,
  fn: (c: HostCommand) => Promise<number>,
  opts: ShellOptions = {},
): Promise<number> {
  if (o.disableBootScripts && !o.takeover)
    throw new UsageError(
      '--disable-boot-scripts goes with --takeover (it disables what would fight a takeover at boot)',
    );
  const { cluster, secrets, notes } = loadInventory(o.inventory);
  for (const n of notes) out.info(`note: ${n}`);
  const selected = resolveLimit(cluster, o.limit);
  opts.check?.(cluster, selected);
  const conns = new Connections(cluster, o.acceptNewHostKeys, process.env, o.sshConfig, (l) => out.info(l));
  const progress = opts.quietProgress
    ? new PlainProgress((l) => out.debug(l))
    : progressFor(o.json, (l) => out.info(l));
  const locks = opts.lock
    ? new RunLocks(
        conns,
        currentHolder(opts.lock.command, cluster.name),
        { ttl: o.lockTtl ?? DEFAULT_LOCK_TTL, wait: o.waitLock ?? 0 },
        (l) => out.info(l),
      )
    : undefined;
  const timings = o.timings ? new Timings() : undefined;
  const body = async () => {
    // The selected hosts are locked by the command that reads their facts (one session each);
    // hosts of the command's own choosing (drain's directors) are locked first, on their own.
    if (locks && opts.lock?.hosts) await locks.acquire(opts.lock.hosts(cluster, selected), o.forks);
    else if (locks) locks.want(selected ?? [...cluster.hosts.keys()]);
    return await fn({
      cluster,
      selected,
      conns,
      converge: (apply, intent, limit = selected, approve) =>
        converge(cluster, secrets, renderedFiles, {
          limit,
          forks: o.forks,
          apply,
          progress,
          conns,
          intent,
          locks,
          takeover: { takeover: o.takeover, disableBootScripts: o.disableBootScripts },
          approve,
        }),
    });
  };
  try {
    return await (timings ? recordTimings(timings, body) : body());
  } finally {
    if (timings) {
      const rows = timings.rows([...cluster.hosts.keys()]);
      out.set({ timings: rows });
      for (const l of timingsTable(rows)) out.info(l);
    }
    await locks?.release();
    // A command that reports no hosts of its own (verify) reports the ones it reached or could not.
    if (!out.has('hosts')) out.set({ hosts: conns.attempts().map((r) => hostRecord(cluster, reachResult(r))) });
    await conns.closeAll();
  }
}
