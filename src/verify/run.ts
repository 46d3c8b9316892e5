// The verify step over a whole cluster: every service from every verify.from client, judged against
// the weights the directors should have now (drains included). Returns data; the CLI prints it.
import { mergeDrained, type Drained } from '../desired/weight.js';
import type { Connections } from '../engine/connections.js';
import { instanceMaster, instanceOfVip, type Cluster, type ResolvedService } from '../inventory/model.js';
import { parseState } from '../plan/state.js';
import { STATE_FILE } from '../render/paths.js';
import type { HostConnection } from '../ssh/connection.js';
import { checkInterrupt } from '../util/interrupt.js';
import { sh } from '../util/quote.js';
import { parseList } from '../ipvs/list.js';
import { failover, type FailoverResult } from './failover.js';
import { checkerState } from './health.js';
import { verifyService, type ServiceVerdict } from './verify.js';
import { SourcePorts } from './source-ports.js';
import { timed } from '../util/timings.js';

/** The verify.from clients within --limit (`local`, this machine, is no inventory host: always kept). */
export function verifyClients(cluster: Cluster, selected?: string[]): string[] {
  return (cluster.verify?.from ?? []).filter((c) => !selected || !cluster.hosts.has(c) || selected.includes(c));
}

export async function verifyCluster(
  cluster: Cluster,
  conns: Connections,
  drained: Drained,
  from: string[] = cluster.verify?.from ?? [],
): Promise<ServiceVerdict[]> {
  const verdicts: ServiceVerdict[] = [];
  // The directors' connection tables (counters for ops services) name who answered each probe.
  // A director that cannot be reached holds no VIP: the others' tables are read.
  const reached = cluster.services.some((s) => !s.verify.skip)
    ? await Promise.allSettled(cluster.directors.members.map((m) => conns.get(m.host)))
    : [];
  const directors = reached.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const tables = await checkerTables(cluster, directors);
  for (const name of from) {
    const conn = await conns.get(name);
    // Source ports the client holds are not probed from (one read per client).
    const ports = cluster.services.some((s) => !s.verify.skip) ? await SourcePorts.of(conn) : new SourcePorts();
    for (const s of cluster.services) {
      checkInterrupt();
      verdicts.push(
        await timed(name, 'verify', () =>
          verifyService(conn, cluster, s, directors, drained, checkerState(s, tables, drained), ports),
        ),
      );
    }
  }
  return verdicts;
}

/** The directors' live tables, read once, when keepalived health-checks a verified service: what
 * its checkers took out is reported as such (health.ts). */
async function checkerTables(cluster: Cluster, directors: HostConnection[]) {
  const checked = cluster.services.some(
    (s) => !s.verify.skip && s.engine === 'keepalived' && s.realServers.some((r) => r.healthCheck),
  );
  if (!checked) return [];
  return Promise.all(
    directors.map(async (d) => ({ director: d.name, list: parseList((await d.exec(sh`ipvsadm -Ln`)).stdout) })),
  );
}

/** The drains recorded in the directors' state files (verify on its own has read no facts). A
 * director that cannot be read adds none: verify then judges by what the others recorded. */
export async function recordedDrains(cluster: Cluster, conns: Connections): Promise<Drained> {
  const records = await Promise.allSettled(
    cluster.directors.members.map(async (m) => {
      const r = await (await conns.get(m.host)).exec(sh`cat ${STATE_FILE} 2>/dev/null || :`);
      return parseState(r.stdout).drained ?? {};
    }),
  );
  return mergeDrained(records.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : [])));
}

/** The services verify --failover polls: the first tcp port service (or the first service) of a
 * keepalived group; active-active, the same for each master in turn (the first instance it holds). */
export function failoverServices(cluster: Cluster): ResolvedService[] {
  const pick = (ss: ResolvedService[]) => ss.find((x) => x.protocol === 'tcp' && x.port !== undefined) ?? ss[0];
  const byMaster = new Map<string, ResolvedService[]>();
  for (const { name } of cluster.directors.vrrp?.instances ?? []) {
    const ss = cluster.services.filter((s) => instanceOfVip(cluster, s) === name);
    const master = instanceMaster(cluster, name);
    if (ss.length && !byMaster.has(master)) byMaster.set(master, ss);
  }
  if (byMaster.size < 2) return [pick(cluster.services)!];
  return [...byMaster.values()].map((ss) => pick(ss)!);
}

/** verify --failover: one result per service of failoverServices, one after the other. */
export async function failoverCluster(
  cluster: Cluster,
  conns: Connections,
  from: string = cluster.verify!.from[0]!,
): Promise<FailoverResult[]> {
  const client = await conns.get(from);
  const init = new Map<string, 'systemd' | 'sysv'>();
  // In inventory order (Promise.all keeps it).
  const dirs = new Map<string, HostConnection>(
    await Promise.all(
      cluster.directors.members.map(async (m) => {
        const c = await conns.get(m.host);
        const word = (await c.exec(sh`if [ -d /run/systemd/system ]; then echo systemd; else echo sysv; fi`)).stdout;
        init.set(m.host, word.trim() === 'systemd' ? 'systemd' : 'sysv');
        return [m.host, c] as const;
      }),
    ),
  );
  const out: FailoverResult[] = [];
  for (const s of failoverServices(cluster)) out.push(await failover(cluster, client, dirs, init, s));
  return out;
}
