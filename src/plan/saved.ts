// Saved plans: `plan --out FILE` writes what each host would change and a digest of it; `up --plan
// FILE` plans again and applies only if the new plan has the same digest, else it refuses with the
// differences. The file holds what `plan --json` shows (secrets masked in every diff), never a secret:
// the digest is taken over that masked text, plus the state file's content (which holds no secret).
// Pure.
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { ChangeRecord, changeRecord } from './record.js';
import type { Change } from './types.js';

export const SAVED_PLAN_VERSION = 1;

export const SavedPlan = z.strictObject({
  lvsctl_plan: z.literal(SAVED_PLAN_VERSION),
  cluster: z.string(),
  created: z.string(),
  /** The hosts planned (--limit), in inventory order. */
  hosts: z.array(z.strictObject({ host: z.string(), status: z.string(), changes: z.int().min(0) })),
  changes: z.array(ChangeRecord),
  digest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
});
export type SavedPlan = z.infer<typeof SavedPlan>;

export interface PlannedHost {
  host: string;
  status: string;
  changes: Change[];
}

/** Each change as the plan shows it, and as the digest sees it (the state file's content too). */
const entries = (hosts: PlannedHost[]) =>
  hosts.map((h) => ({
    host: h.host,
    status: h.status,
    changes: h.changes.map((c) => ({
      ...changeRecord(h.host, c),
      ...(c.kind === 'state' ? { content: c.content } : {}),
    })),
  }));

export function planDigest(hosts: PlannedHost[]): string {
  return `sha256:${createHash('sha256')
    .update(JSON.stringify(entries(hosts)))
    .digest('hex')}`;
}

export function savedPlan(cluster: string, hosts: PlannedHost[], now = new Date()): SavedPlan {
  return {
    lvsctl_plan: SAVED_PLAN_VERSION,
    cluster,
    created: now.toISOString(),
    hosts: hosts.map((h) => ({ host: h.host, status: h.status, changes: h.changes.length })),
    changes: hosts.flatMap((h) => h.changes.map((c) => changeRecord(h.host, c))),
    digest: planDigest(hosts),
  };
}

/** What differs between the saved plan and the plan now, one line each ("- " only in the saved one,
 * "+ " only now); empty when the digests agree. */
export function planDifferences(saved: SavedPlan, hosts: PlannedHost[]): string[] {
  if (saved.digest === planDigest(hosts)) return [];
  const key = (r: ChangeRecord) => `${r.host}: ${r.description}${r.diff ? `\n${r.diff}` : ''}`;
  const then = saved.changes.map(key);
  const now = hosts.flatMap((h) => h.changes.map((c) => key(changeRecord(h.host, c))));
  const first = (k: string) => k.split('\n')[0]!;
  const gone = then.filter((k) => !now.includes(k)).map(first);
  const added = now.filter((k) => !then.includes(k)).map(first);
  const lines = [
    ...gone.filter((l) => !added.includes(l)).map((l) => `- ${l}`),
    ...added.filter((l) => !gone.includes(l)).map((l) => `+ ${l}`),
    ...gone.filter((l) => added.includes(l)).map((l) => `~ ${l} (with other content)`),
  ];
  const statusThen = new Map(saved.hosts.map((h) => [h.host, h.status]));
  for (const h of hosts)
    if (statusThen.get(h.host) !== h.status)
      lines.push(`~ ${h.host}: ${statusThen.get(h.host) ?? 'not planned'} then, ${h.status} now`);
  for (const h of saved.hosts)
    if (!hosts.some((x) => x.host === h.host)) lines.push(`~ ${h.host}: planned then, not now`);
  // the same lines, but a state file's bookkeeping differs
  return lines.length ? lines : ['~ the state files lvsctl would write differ (the same changes otherwise)'];
}
