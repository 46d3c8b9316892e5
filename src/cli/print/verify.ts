// verify's table and verify --failover's lines.
import type { Cluster } from '../../inventory/model.js';
import type { FailoverResult, TakeoverStep } from '../../verify/failover.js';
import type { ServiceVerdict } from '../../verify/verify.js';
import { formatTable } from '../table.js';

export function verifyLines(cluster: Cluster, verdicts: ServiceVerdict[]): string[] {
  const rows: string[][] = [['', 'service', 'from', 'probe', 'answers per real server (share, weight)']];
  for (const v of verdicts) {
    const s = cluster.services.find((x) => x.id === v.id)!;
    const total = Object.values(v.hits).reduce((a, b) => a + b, 0) || 1;
    const share = (n: number) => Math.round((n / total) * 100);
    const cells = s.realServers.map(
      (r) => `${r.host} ${v.hits[r.host] ?? 0} (${share(v.hits[r.host] ?? 0)}%, w${r.weight})`,
    );
    const extra = Object.entries(v.hits)
      .filter(([k]) => !s.realServers.some((r) => r.host === k))
      .map(([k, n]) => `${k} ${n}`);
    const answers = v.skipped ? `skipped: ${v.skipped}` : [...cells, ...extra].join('   ');
    rows.push([v.ok ? 'PASS' : 'FAIL', v.service, v.from, v.probe, answers]);
    for (const [src, per] of Object.entries(v.bySource ?? {}))
      rows.push([
        '',
        '',
        '',
        '',
        `  from ${src}: ${Object.entries(per)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
      ]);
    for (const n of v.notes ?? []) rows.push(['', '', '', '', `  - ${n}`]);
    for (const p of v.problems) rows.push(['', '', '', '', `  ! ${p}`]);
  }
  return ['', 'VERIFY', ...formatTable(rows)];
}

/** One FAILOVER block; active-active, a line per instance tested, naming it and the VIPs that stayed. */
export function failoverLines(rs: FailoverResult | FailoverResult[]): string[] {
  const all = [rs].flat();
  return ['', 'FAILOVER', ...all.flatMap((r) => failoverResultLines(r, all.length > 1))];
}

function failoverResultLines(r: FailoverResult, perInstance: boolean): string[] {
  const took = (t: TakeoverStep) =>
    t.takeoverSeconds === null
      ? `${t.expected} did not take over`
      : `${t.expected} took over in ${t.takeoverSeconds.toFixed(2)} s`;
  // A pair: one takeover; a group: each holder stopped in turn.
  const chain = r.steps
    .map((t, i) => `${i ? 'then on ' : 'keepalived stopped on '}${t.stopped}; ${took(t)}`)
    .join('; ');
  const failed = `${r.failed} of ${r.requests} requests (every 0.2 s) failed`;
  const end = `after restart the VIP is on ${r.endHolder ?? 'no director'} (expected ${r.expectedEndHolder})`;
  const stayed = perInstance
    ? (r.others ?? [])
        .filter((o) => o.after === o.holder)
        .map((o) => `        VIP ${o.vip} (instance ${o.instance}) stayed on ${o.holder}`)
    : [];
  return [
    `  ${r.ok ? 'PASS' : 'FAIL'}  ${perInstance && r.instance ? `instance ${r.instance}, ` : ''}VIP ${r.vip}: ${chain || `keepalived stopped on ${r.stopped}`}; ${failed}; ${end}`,
    ...(r.longConnection
      ? [
          `        download of ${r.longConnection.path} across it: ${r.longConnection.bytes} of ${r.longConnection.expected ?? '?'} bytes, ${r.longConnection.exact ? 'complete and byte-exact' : 'NOT intact'}` +
            (r.longConnection.syncedSeconds === null
              ? ''
              : ` (on ${r.takeover ?? 'the other director'} by the sync daemon ${r.longConnection.syncedSeconds.toFixed(1)} s after it started)`),
        ]
      : []),
    ...stayed,
    ...r.problems.map((p) => `        ! ${p}`),
  ];
}
