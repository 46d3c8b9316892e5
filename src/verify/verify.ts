// Verify one service: requests through its VIP from a client host, one command per client source
// (probe.ts), then one read of each director's connection table for the probes' own source ports
// (conntable.ts), which names the real server of every probe, answered or not (attribute.ts): the
// servers need not say who they are. Success is the answer itself: an HTTP status (2xx and 3xx
// unless verify.status says otherwise), a TCP handshake, a UDP datagram back. verify.identify, when
// set, must agree with the table (and names the server where the table has no entry). One-packet
// scheduling (ops) keeps no entries: those services are counted by the directors' per-destination
// counters (counters.ts). The counts are judged in judge.ts.
import { randomBytes } from 'node:crypto';
import type { Drained } from '../desired/weight.js';
import { LOCAL, type Cluster, type ResolvedService } from '../inventory/model.js';
import type { HostConnection } from '../ssh/connection.js';
import { readBounded } from '../util/read-bounded.js';
import { attribute, type Attributed } from './attribute.js';
import { connWatchRead, connWatchStart, parseConnTable, type ConnEntry } from './conntable.js';
import { countByDirectors } from './counters.js';
import { noCheckerState, type CheckerState } from './health.js';
import { hasAffinity, judge, type Attribution, type Counts } from './judge.js';
import {
  parseProbes,
  plannedProbes,
  portsOf,
  probeKind,
  probeScript,
  type ProbeResult,
  type ProbeRun,
} from './probe.js';
import { SourcePorts } from './source-ports.js';

export interface ServiceVerdict {
  /** The service's key (ResolvedService.id). */
  id: string;
  /** The service as people read it: its key, with its name when it has one. */
  service: string;
  from: string;
  probe: string;
  /** How the answering servers were known (judge.ts). */
  attribution?: Attribution;
  hits: Record<string, number>;
  bySource?: Record<string, Record<string, number>>;
  /** UDP probes whose first datagram got no answer and that were sent again. */
  retried?: number;
  ok: boolean;
  problems: string[];
  /** What people should know that is no failure (how the servers were known, retries). */
  notes?: string[];
  skipped?: string;
}

/** Runs the probes while a watcher on each director keeps their entries (two commands per director:
 * start, read), and returns the entries seen. */
async function watchEntries(
  directors: HostConnection[],
  ports: number[],
  probe: () => Promise<void>,
): Promise<ConnEntry[]> {
  const id = randomBytes(8).toString('hex');
  const maxSeconds = 60 + Math.ceil(ports.length / 2) * 10; // a bound, should the read never come
  await Promise.all(directors.map((d) => d.exec(connWatchStart(id, ports, maxSeconds))));
  await probe();
  const all = await Promise.all(
    directors.map(async (d) => parseConnTable((await d.exec(connWatchRead(id, ports))).stdout)),
  );
  return all.flat();
}

/** Probes named by the table; where it named none, by their identity answer when verify.identify is set. */
function attributeAll(
  s: ResolvedService,
  results: ProbeResult[],
  entries: ConnEntry[],
  identify: boolean,
): { probes: Attributed[]; attribution: Attribution; mismatched: string[] } {
  const names = new Set(s.realServers.map((x) => x.host));
  const byTable = attribute(s, results, entries);
  const mismatched: string[] = [];
  if (byTable.some((p) => p.host !== undefined)) {
    if (identify)
      for (const p of byTable)
        if (p.ok && p.host && !p.host.startsWith('unknown:') && p.answer !== p.host)
          mismatched.push(
            `request from port ${p.localPort} went to ${p.host} but answered as ${JSON.stringify(p.answer.slice(0, 40))}`,
          );
    return { probes: byTable, attribution: 'table', mismatched };
  }
  if (!identify) return { probes: byTable, attribution: 'none', mismatched };
  const probes = byTable.map((p) => ({
    ...p,
    ...(p.ok ? { host: names.has(p.answer) ? p.answer : `unknown:${p.answer.slice(0, 40)}` } : {}),
  }));
  return { probes, attribution: 'identity', mismatched };
}

function tally(probes: Attributed[], attribution: Attribution): Counts {
  const counts: Counts = { hits: {}, bySource: {}, failedBy: {}, unattributed: 0, attribution, sent: probes.length };
  const bump = (rec: Record<string, number>, k: string) => (rec[k] = (rec[k] ?? 0) + 1);
  for (const p of probes) {
    const bySource = (counts.bySource![p.source] ??= {});
    if (!p.ok) {
      bump(counts.hits, 'failed');
      bump(bySource, 'failed');
      bump(counts.failedBy!, p.host ?? 'unattributed');
    } else if (p.host) {
      bump(counts.hits, p.host);
      bump(bySource, p.host);
    } else if (attribution !== 'none') counts.unattributed!++;
  }
  if (attribution === 'none') counts.failedBy = {};
  return counts;
}

const NOTES: Record<Attribution, string> = {
  table: '',
  counters: "one-packet scheduling keeps no connection entries: counted by the directors' per-server counters",
  identity: 'no director had an entry for the probes (NAT between client and VIP?): servers named by their answers',
  none: 'no director had an entry for the probes (NAT between client and VIP?): attribution unavailable, success judged only',
};

export async function verifyService(
  client: HostConnection,
  cluster: Cluster,
  s: ResolvedService,
  directors: HostConnection[],
  drained: Drained = {},
  checkers: CheckerState = noCheckerState(),
  sourcePorts: SourcePorts = new SourcePorts(),
): Promise<ServiceVerdict> {
  const kind = probeKind(s);
  const base = { id: s.id, service: s.name ? `${s.name} (${s.id})` : s.id, from: client.name, probe: kind };
  if (s.verify.skip) return { ...base, hits: {}, ok: true, problems: [], skipped: 'verify.skip in the inventory' };
  const n = s.verify.requests ?? cluster.verify?.requests ?? 60;
  const sources = hasAffinity(s) && cluster.verify?.sources?.length ? cluster.verify.sources : [undefined];
  const per = Math.max(3, Math.ceil(n / sources.length));
  const identify = cluster.verify?.identify;
  const header = identify?.by === 'header' ? identify.name : undefined;

  // An HTTPS CA bundle goes to the client on the probe command's stdin (never as an argument).
  const tls = s.verify.tls;
  const stdin = kind === 'https' && tls?.ca_file && !tls.insecure ? caBundle(tls.ca_file) : undefined;
  const results: ProbeResult[] = [];
  // One run of probes per client source, each from its own source ports (two per probe).
  const first = sourcePorts.take(2 * per * sources.length);
  const runs: ProbeRun[] = sources.map((_, i) => ({ firstPort: first + 2 * per * i, count: per }));
  const probeAll = async () => {
    for (const [i, src] of sources.entries()) {
      const script = probeScript(s, kind, src, runs[i]!, client.name === LOCAL ? s.verify.connect_to : undefined);
      const out = (await client.exec(script, stdin ? { stdin } : {})).stdout;
      results.push(...parseProbes(s, kind, out, header));
    }
  };

  if (s.ops) {
    // Failures from the probes themselves, answers per server from the counters.
    const byServer = await countByDirectors(directors, s, probeAll);
    const counts = { ...tally(results, 'none'), attribution: 'counters' as const };
    for (const [host, k] of Object.entries(byServer)) counts.hits[host] = (counts.hits[host] ?? 0) + k;
    return finish(counts);
  }
  const ports = runs.flatMap((r) => plannedProbes(s, r).flatMap(portsOf));
  const entries = await watchEntries(directors, ports, probeAll);
  // identify names servers in HTTP answers only (a TCP handshake or a UDP echo says nothing of it).
  const web = kind === 'http' || kind === 'https';
  const attributed = attributeAll(s, results, entries, web && identify !== undefined);
  return finish({ ...tally(attributed.probes, attributed.attribution), mismatched: attributed.mismatched });

  function finish(counts: Counts): ServiceVerdict {
    const problems = judge(s, counts, cluster.verify?.tolerance ?? 0.2, drained, checkers);
    const retried = results.filter((r) => r.retried).length;
    const notes = [NOTES[counts.attribution ?? 'table']].filter(Boolean);
    if (retried)
      notes.push(
        `${retried} UDP request${retried === 1 ? ' was' : 's were'} sent a second time (no answer to the first)`,
      );
    return {
      ...base,
      attribution: counts.attribution,
      hits: counts.hits,
      ...(sources.length > 1 ? { bySource: counts.bySource } : {}),
      ...(retried ? { retried } : {}),
      ok: !problems.length,
      problems,
      ...(notes.length ? { notes } : {}),
    };
  }
}

/** A CA bundle is at most a few hundred KiB; a device, FIFO or huge file named by mistake is not read. */
function caBundle(file: string): Buffer {
  const r = readBounded(file, 4 * 1024 * 1024);
  if (!r.ok) throw new Error(`verify.tls.ca_file ${file}: ${r.reason}`);
  return r.data;
}
