// The whole cluster: connect to every host in parallel (up to --forks), plan everywhere, then apply
// real servers before directors (a director must not send traffic to a server that cannot take
// it yet). A failure on one host is reported for that host; the others go on.
import type { Cluster } from '../inventory/model.js';
import type { Secrets } from '../inventory/secrets.js';
import type { HostPlan } from '../plan/types.js';
import { connect, type HostConnection } from '../ssh/connection.js';
import { mapLimit } from '../ssh/pool.js';
import { applyOnHost, planOnHost, type FilesFor, type HostRun } from './host.js';

export type HostStatus = 'ok' | 'changed' | 'failed' | 'unreachable';

export interface HostResult {
  host: string;
  status: HostStatus;
  changes: number;
  plan?: HostPlan;
  error?: string;
  step?: string;
}

export interface RunOptions {
  limit?: string[];
  forks: number;
  acceptNewHostKeys: boolean;
  apply: boolean;
  log: (host: string, line: string) => void;
}

const order = (c: Cluster, h: string) => {
  const roles = c.hosts.get(h)!.roles;
  return roles.has('real_server') ? 0 : roles.has('director') ? 1 : 2;
};

export function selectHosts(c: Cluster, limit?: string[]): string[] {
  const all = [...c.hosts.keys()];
  return limit ? all.filter((h) => limit.includes(h)) : all;
}

function failure(host: string, e: unknown, fallback: HostStatus): HostResult {
  const err = e as Error & { step?: string; name?: string };
  const unreachable = /^(ConnectError|HostKey\w+Error)$/.test(err?.constructor?.name ?? '');
  return { host, status: unreachable ? 'unreachable' : fallback, changes: 0, error: err?.message ?? String(e), step: err?.step };
}

export async function converge(cluster: Cluster, secrets: Secrets, filesFor: FilesFor, o: RunOptions): Promise<HostResult[]> {
  const hosts = selectHosts(cluster, o.limit);
  const conns = new Map<string, HostConnection>();
  const results = new Map<string, HostResult>();
  const runs = new Map<string, HostRun>();
  try {
    await mapLimit(hosts, o.forks, async (h) => {
      try {
        const hh = cluster.hosts.get(h)!;
        const conn = await connect(h, hh.ssh, hh.become, { acceptNewHostKeys: o.acceptNewHostKeys });
        conns.set(h, conn);
        const run = await planOnHost(conn, cluster, secrets, filesFor);
        runs.set(h, run);
        results.set(h, { host: h, status: run.plan.changes.length ? 'changed' : 'ok', changes: run.plan.changes.length, plan: run.plan });
      } catch (e) {
        results.set(h, failure(h, e, 'failed'));
      }
    });
    if (o.apply) {
      for (const tier of [0, 1, 2]) {
        const batch = hosts.filter((h) => order(cluster, h) === tier && runs.has(h) && runs.get(h)!.plan.changes.length);
        await mapLimit(batch, o.forks, async (h) => {
          try {
            const n = await applyOnHost(conns.get(h)!, cluster, runs.get(h)!, (line) => o.log(h, line));
            results.set(h, { ...results.get(h)!, status: 'changed', changes: n });
          } catch (e) {
            results.set(h, { ...failure(h, e, 'failed'), plan: runs.get(h)!.plan });
          }
        });
      }
    }
  } finally {
    for (const c of conns.values()) c.close();
  }
  return hosts.map((h) => results.get(h)!);
}
