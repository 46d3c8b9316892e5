// Verify: requests through each VIP from the client host(s), in one command per client source.
// HTTP: the answering real server is named by the answer (the body's last line, or a header named
// in the inventory). TCP and UDP services say nothing of who answered, so the directors' own IPVS
// counters name it (counters.ts). The counts are judged in judge.ts.
import type { Drained } from '../desired/weight.js';
import { urlHost } from '../identity/service.js';
import type { Cluster, ResolvedService } from '../inventory/model.js';
import type { HostConnection } from '../ssh/connection.js';
import { sh, type Shell } from '../util/quote.js';
import { countByDirectors } from './counters.js';
import { hasAffinity, judge, type Counts } from './judge.js';

export interface ServiceVerdict {
  /** The service's key (ResolvedService.id). */
  id: string;
  /** The service as people read it: its key, with its name when it has one. */
  service: string;
  from: string;
  probe: string;
  hits: Record<string, number>;
  bySource?: Record<string, Record<string, number>>;
  ok: boolean;
  problems: string[];
  skipped?: string;
}

/** One request from `src` (or the default address), printing the answer after a marker line. */
function probeCommand(s: ResolvedService, probe: 'http' | 'tcp' | 'udp', src: string | undefined): Shell {
  const port = s.port ?? s.ports?.[0] ?? 80;
  if (probe === 'http') {
    const url = `http://${urlHost(s.vip.address)}:${port}${s.verify.path ?? '/'}`;
    return src ? sh`curl -g -s -i -m 3 --interface ${src} ${url}` : sh`curl -g -s -i -m 3 ${url}`; // -g: [] and {} in a path are not curl globs
  }
  const from = src ? ['-s', src] : [];
  // TCP: a completed handshake is an answer. UDP: a datagram back is.
  if (probe === 'tcp') return sh`nc -z -w 2 ${from} ${s.vip.address} ${String(port)} && echo @@ok`;
  return sh`printf 'lvsctl-verify\n' | nc -u -w 2 ${from} ${s.vip.address} ${String(port)} | head -n 1`;
}

/** Splits `@@req SRC` blocks into [source, answer] pairs. */
export function answers(out: string, probe: 'http' | 'tcp' | 'udp', header?: string): [string, string][] {
  return out
    .split('@@req ')
    .slice(1)
    .map((block) => {
      const nl = block.indexOf('\n');
      const src = block.slice(0, nl).trim();
      const body = block.slice(nl + 1);
      if (probe !== 'http') return [src, body.trim().split('\n')[0]?.trim() ?? ''];
      const [head, ...rest] = body.split(/\r?\n\r?\n/);
      if (!head?.startsWith('HTTP/')) return [src, ''];
      if (header) return [src, new RegExp(`^${header}:\\s*(.*?)\\s*$`, 'im').exec(head)?.[1] ?? ''];
      return [src, rest.join('\n').trim().split('\n').at(-1)?.trim() ?? ''];
    });
}

/** The count an HTTP answer goes to: its real server, "failed" or "unknown:…". */
function answerKey(answer: string, names: Set<string>): string {
  if (answer === '') return 'failed';
  return names.has(answer) ? answer : `unknown:${answer.slice(0, 40)}`;
}

export async function verifyService(
  client: HostConnection,
  cluster: Cluster,
  s: ResolvedService,
  directors: HostConnection[],
  drained: Drained = {},
): Promise<ServiceVerdict> {
  const probe = s.verify.probe ?? (s.protocol === 'udp' ? 'udp' : 'http');
  const base = { id: s.id, service: s.name ? `${s.name} (${s.id})` : s.id, from: client.name, probe };
  if (s.verify.skip) return { ...base, hits: {}, ok: true, problems: [], skipped: 'verify.skip in the inventory' };
  const n = s.verify.requests ?? cluster.verify?.requests ?? 60;
  const sources = hasAffinity(s) && cluster.verify?.sources?.length ? cluster.verify.sources : [undefined];
  const per = Math.max(3, Math.ceil(n / sources.length));
  const header = cluster.verify?.identify.by === 'header' ? cluster.verify.identify.name : undefined;
  const names = new Set(s.realServers.map((x) => x.host));
  const counts: Counts = { hits: {}, bySource: {} };
  const add = (src: string, k: string, by = 1) => {
    counts.hits[k] = (counts.hits[k] ?? 0) + by;
    const bs = (counts.bySource![src] ??= {});
    bs[k] = (bs[k] ?? 0) + by;
  };
  for (const src of sources) {
    const loop = sh`i=0; while [ "$i" -lt ${per} ]; do i=$((i+1)); printf '@@req %s\n' ${src ?? '-'}; ${probeCommand(s, probe, src)} || true; done`;
    let out = '';
    const run = async () => void (out = (await client.exec(loop)).stdout);
    if (probe === 'http') {
      await run();
      for (const [from, a] of answers(out, probe, header)) add(from, answerKey(a, names));
    } else {
      const byServer = await countByDirectors(directors, s, run);
      for (const [host, k] of Object.entries(byServer)) add(src ?? '-', host, k);
      const failed = answers(out, probe).filter(([, a]) => a === '').length;
      if (failed) add(src ?? '-', 'failed', failed);
    }
  }
  const problems = judge(s, counts, cluster.verify?.tolerance ?? 0.2, drained);
  return {
    ...base,
    hits: counts.hits,
    ...(sources.length > 1 ? { bySource: counts.bySource } : {}),
    ok: !problems.length,
    problems,
  };
}
