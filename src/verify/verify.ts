// Verify: requests through each VIP from the client host(s), the answering real server identified
// from the response (body, or a header named in the inventory). This is the basic check (every
// real server with weight > 0 answers, weight 0 gets nothing); spread and affinity checks build on
// the same counts.
import type { Cluster, ResolvedService } from '../inventory/model.js';
import type { HostConnection } from '../ssh/connection.js';
import { sh } from '../util/quote.js';

export interface ServiceVerdict {
  service: string;
  from: string;
  hits: Record<string, number>; // real server host (or "unknown:<answer>", "failed") -> count
  ok: boolean;
  reason?: string;
  skipped?: string;
}

const url = (s: ResolvedService, path = '/') => `http://${s.family === 6 ? `[${s.vip.address}]` : s.vip.address}:${s.port}${path}`;

/** Parses `@@req` blocks of `curl -i` output into answers (header value or last body line). */
export function answers(out: string, header?: string): string[] {
  return out
    .split('@@req\n')
    .slice(1)
    .map((block) => {
      if (block.startsWith('@@fail')) return '';
      const [head, ...body] = block.split(/\r?\n\r?\n/);
      if (header) {
        const m = new RegExp(`^${header}:\\s*(.*?)\\s*$`, 'im').exec(head ?? '');
        return m?.[1] ?? '';
      }
      return body.join('\n').trim().split('\n').at(-1)?.trim() ?? '';
    });
}

export async function verifyService(client: HostConnection, cluster: Cluster, s: ResolvedService): Promise<ServiceVerdict> {
  const base = { service: s.name ? `${s.name} (${s.id})` : s.id, from: client.name };
  const probe = s.verify.probe ?? (s.protocol === 'udp' ? 'udp' : 'http');
  if (s.verify.skip || probe !== 'http' || s.fwmark !== undefined) return { ...base, hits: {}, ok: true, skipped: `${probe} probe not implemented yet` };
  const n = s.verify.requests ?? cluster.verify?.requests ?? 60;
  const header = cluster.verify?.identify.by === 'header' ? cluster.verify.identify.name : undefined;
  const r = await client.exec(sh`i=0; while [ "$i" -lt ${n} ]; do i=$((i+1)); printf '@@req\n'; curl -s -i -m 3 ${url(s, s.verify.path)} || printf '@@fail\n'; done`);
  const names = new Set(s.realServers.map((x) => x.host));
  const hits: Record<string, number> = {};
  for (const a of answers(r.stdout, header)) {
    const k = a === '' ? 'failed' : names.has(a) ? a : `unknown:${a.slice(0, 40)}`;
    hits[k] = (hits[k] ?? 0) + 1;
  }
  const silent = s.realServers.filter((x) => x.weight > 0 && !hits[x.host]).map((x) => x.host);
  const zeroHit = s.realServers.filter((x) => x.weight === 0 && hits[x.host]).map((x) => x.host);
  const reason = [
    hits.failed ? `${hits.failed} of ${n} requests failed` : '',
    silent.length ? `no answer from ${silent.join(', ')}` : '',
    zeroHit.length ? `weight-0 server answered: ${zeroHit.join(', ')}` : '',
    Object.keys(hits).some((k) => k.startsWith('unknown:')) ? 'answers that name no real server' : '',
  ].filter(Boolean).join('; ');
  return { ...base, hits, ok: !reason, ...(reason ? { reason } : {}) };
}
