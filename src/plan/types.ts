// A plan is data: per host, an ordered list of changes, each with a description and a diff. It can
// be printed, serialised with --json (secrets masked), and applied exactly. Each kind of change is
// its resource module's (resources/index.ts).
import { resourceOf } from '../resources/index.js';
import type { Change } from '../resources/types.js';

export { fmtAddr } from '../resources/addresses.js';
export type { DesiredFile } from '../resources/files.js';
export { isEngineChange } from '../resources/index.js';
export type { Change, CommandChange, EngineChange } from '../resources/types.js';

export interface HostPlan {
  host: string;
  changes: Change[];
}

/** One line for people. */
export const describe = (c: Change): string => resourceOf(c).describe(c);

/** The diff shown for a change (files: unified diff; others: their lines, or none where the
 * description says it all). */
export const changeDiff = (c: Change): string => resourceOf(c).diff?.(c) ?? '';
