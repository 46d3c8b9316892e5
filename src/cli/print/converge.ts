// What plan, up, start, stop and down print for people (the JSON document is built beside it).
import type { HostResult } from '../../engine/cluster.js';
import { changeDiff, describe } from '../../plan/types.js';
import { plural } from '../table.js';
import { describeHolder } from '../../lock/lease.js';

/** plan and status: hosts whose lock another run holds now (a changing command would wait or be refused). */
export function lockLines(results: HostResult[]): string[] {
  return results.flatMap((r) => {
    const l = r.run?.facts.lock;
    return l
      ? [`note: ${r.host} is locked by a run: ${describeHolder(l)}; its lease ends in ${l.expiresIn} s unless renewed`]
      : [];
  });
}

export function recapLines(results: HostResult[]): string[] {
  const lines = ['', 'RECAP'];
  for (const r of results) {
    const error = r.error ? `  ${r.step ? `[${r.step}] ` : ''}${r.error}` : '';
    lines.push(`  ${r.host.padEnd(16)} ${r.status.padEnd(11)} changes=${r.changes}${error}`);
  }
  return lines;
}

/** plan: per host its changes (with diffs when verbose), then the recap. */
export function planLines(results: HostResult[], verbose: boolean): string[] {
  const lines: string[] = [];
  for (const r of results) {
    if (r.error) continue;
    lines.push(`${r.host}: ${r.changes ? plural(r.changes, 'change') : 'no changes'}`);
    for (const c of r.plan?.changes ?? []) {
      lines.push(`  ~ ${describe(c)}`);
      const d = changeDiff(c);
      if (d && verbose) lines.push(d.replace(/^/gm, '      '));
    }
  }
  return [...lines, ...gatedLines(results), ...lockLines(results), ...recapLines(results)];
}

/** Drains are the operator's, recorded on the directors: say that they were kept. */
export function keptDrainLines(results: HostResult[]): string[] {
  return results.flatMap((r) =>
    Object.entries(r.run?.record.drained ?? {}).map(
      ([h, how]) =>
        `note: ${h} stays ${how === 'remove' ? 'removed' : 'drained (weight 0)'} on ${r.host} (lvsctl undrain ${h} gives it back)`,
    ),
  );
}

/** Real servers the directors hold back because they are not ready (desired/readiness.ts). */
export function gatedLines(results: HostResult[]): string[] {
  return results.flatMap((r) =>
    (r.run?.gated ?? []).map(
      (g) =>
        `note: ${g.host} is not ready (${g.why}): ${g.weight ? `keeps weight ${g.weight} (it already serves)` : 'at weight 0'} on ${r.host}; the next run gives it its inventory weight once it is ready`,
    ),
  );
}
