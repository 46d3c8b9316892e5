// --timings for people: one row per host, one column per step (in the order the steps first ran),
// seconds of wall time; then the median and the slowest host of each step.
import type { Timing } from '../../util/timings.js';
import { formatTable } from '../table.js';

const sec = (ms: number) => (ms / 1000).toFixed(3);

export function timingsTable(rows: Timing[]): string[] {
  if (!rows.length) return ['timings: no step ran on any host'];
  const steps = [...new Set([...rows].sort((a, b) => a.start_ms - b.start_ms).map((r) => r.step))];
  const hosts = [...new Set(rows.map((r) => r.host))];
  const cell = new Map(rows.map((r) => [`${r.host}\0${r.step}`, r]));
  const at = (h: string, s: string) => cell.get(`${h}\0${s}`);
  const body = hosts.map((h) => [
    h,
    ...steps.map((s) => {
      const r = at(h, s);
      if (!r) return '-';
      return r.count > 1 ? `${sec(r.ms)} (${r.count}×)` : sec(r.ms);
    }),
  ]);
  const of = (s: string) => rows.filter((r) => r.step === s).sort((a, b) => a.ms - b.ms);
  const median = steps.map((s) => {
    const v = of(s);
    const m = v.length >> 1;
    return sec(v.length % 2 ? v[m]!.ms : (v[m - 1]!.ms + v[m]!.ms) / 2);
  });
  const slowest = steps.map((s) => {
    const v = of(s).at(-1)!;
    return `${sec(v.ms)} ${v.host}`;
  });
  return [
    'timings (seconds of wall time per host and step; "n×": the step ran n times, their sum):',
    ...formatTable([['host', ...steps], ...body, ['median', ...median], ['slowest', ...slowest]]),
  ];
}
