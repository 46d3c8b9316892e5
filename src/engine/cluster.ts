// The whole cluster: connect to every host in parallel (up to --forks), plan everywhere, then apply
// real servers before directors (a director must not send traffic to a server that cannot take
// it yet). A failure on one host is reported for that host; the others go on.
import type { Cluster } from '../inventory/model.js';
import type { Secrets } from '../inventory/secrets.js';
import type { HostPlan } from '../plan/types.js';
import type { Intent } from '../desired/intent.js';
import { ConnectError, HostKeyChangedError, HostKeyRevokedError, HostKeyUnknownError } from '../ssh/connection.js';
import type { Connections } from './connections.js';
import { UsageError } from '../errors.js';
import { checkInterrupt } from '../util/interrupt.js';
import type { Progress } from './progress.js';
import { applyOnHost, planOnHost, type FilesFor, type HostRun } from './host.js';
import { quoted } from '../util/printable.js';

export type HostStatus = 'ok' | 'changed' | 'failed' | 'unreachable';

export interface HostResult {
  host: string;
  status: HostStatus;
  changes: number;
  plan?: HostPlan;
  /** Facts, plan and the host's view of the cluster (status reads these). */
  run?: HostRun;
  error?: string;
  step?: string;
}

export interface RunOptions {
  limit?: string[];
  forks: number;
  apply: boolean;
  progress: Progress;
  /** The command's connections (the caller closes them, after verify). */
  conns: Connections;
  /** What the command asks beyond the inventory (stop, down, drain...); default: the inventory running. */
  intent?: Intent;
}

const order = (c: Cluster, h: string) => {
  const roles = c.hosts.get(h)!.roles;
  if (roles.has('real_server')) return 0;
  return roles.has('director') ? 1 : 2;
};

export function selectHosts(c: Cluster, limit?: string[]): string[] {
  const all = [...c.hosts.keys()];
  return limit ? all.filter((h) => limit.includes(h)) : all;
}

function failure(host: string, e: unknown, fallback: HostStatus): HostResult {
  const err = e as Error & { step?: string };
  const unreachable =
    e instanceof ConnectError ||
    e instanceof HostKeyUnknownError ||
    e instanceof HostKeyChangedError ||
    e instanceof HostKeyRevokedError;
  return {
    host,
    status: unreachable ? 'unreachable' : fallback,
    changes: 0,
    error: err?.message ?? String(e),
    step: err?.step,
  };
}

/** --limit names hosts of the inventory; anything else is a usage error (before any connection). */
export function checkLimit(c: Cluster, limit?: string[]): void {
  const unknown = (limit ?? []).filter((h) => !c.hosts.has(h));
  if (unknown.length)
    throw new UsageError(
      `--limit: no host ${unknown.map((h) => quoted(h)).join(', ')} in the inventory (it has: ${[...c.hosts.keys()].join(', ')})`,
    );
}

export async function converge(
  cluster: Cluster,
  secrets: Secrets,
  filesFor: FilesFor,
  o: RunOptions,
): Promise<HostResult[]> {
  const hosts = selectHosts(cluster, o.limit);
  const results = new Map<string, HostResult>();
  const runs = new Map<string, HostRun>();
  await o.progress.phase('facts and plan', hosts, o.forks, async (h, say) => {
    try {
      checkInterrupt();
      say('connecting');
      const conn = await o.conns.get(h);
      say('gathering facts');
      const run = await planOnHost(conn, cluster, secrets, filesFor, o.intent);
      runs.set(h, run);
      const n = run.plan.changes.length;
      results.set(h, { host: h, status: n ? 'changed' : 'ok', changes: n, plan: run.plan, run });
      return n ? `${n} change${n > 1 ? 's' : ''} planned` : 'no changes';
    } catch (e) {
      results.set(h, failure(h, e, 'failed'));
      return `${results.get(h)!.status}: ${results.get(h)!.error}`;
    }
  });
  if (o.apply) {
    const titles = ['apply: real servers', 'apply: directors', 'apply: other hosts'];
    // Taking a service down goes the other way: directors stop sending before real servers lose the VIP.
    const tiers = o.intent?.kind === 'stop' || o.intent?.kind === 'down' ? [1, 0, 2] : [0, 1, 2];
    for (const tier of tiers) {
      const batch = hosts.filter((h) => order(cluster, h) === tier && runs.has(h) && runs.get(h)!.plan.changes.length);
      await o.progress.phase(titles[tier]!, batch, o.forks, async (h, say) => {
        try {
          checkInterrupt();
          const n = await applyOnHost(await o.conns.get(h), runs.get(h)!, say);
          results.set(h, { ...results.get(h)!, status: 'changed', changes: n });
          return `changed (${n})`;
        } catch (e) {
          results.set(h, { ...failure(h, e, 'failed'), plan: runs.get(h)!.plan, run: runs.get(h) });
          return `failed: ${results.get(h)!.error}`;
        }
      });
    }
  }
  return hosts.map((h) => results.get(h)!);
}
