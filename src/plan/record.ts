// A change as a structured record for machines (--json): what kind, which action, on what target,
// from which value or state to which (null: absent or not known), with the line people read and
// the diff. The CLI's JSON contract (cli/contract.ts) takes this schema as its change record.
import * as z from 'zod';
import { resourceOf } from '../resources/index.js';
import { changeDiff, describe, type Change } from './types.js';

/** One change, planned (plan) or made (up, start, stop, down, drain). `from`/`to` are the target's
 * value or state before and after, null where it does not exist (or is not known). */
export const ChangeRecord = z.strictObject({
  host: z.string(),
  kind: z.string(),
  action: z.string(),
  target: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  description: z.string(),
  /** Unified diff of a file (secrets masked) or the lines sent (ipvsadm, iptables). */
  diff: z.string().optional(),
});
export type ChangeRecord = z.infer<typeof ChangeRecord>;

export function changeRecord(host: string, c: Change): ChangeRecord {
  const diff = changeDiff(c);
  return { host, kind: c.kind, ...resourceOf(c).record(c), description: describe(c), ...(diff ? { diff } : {}) };
}
