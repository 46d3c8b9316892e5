// Files lvsctl writes on this machine (init's inventory, a saved plan): through a temporary file
// beside the target, so the target is replaced whole or not at all.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UsageError } from '../errors.js';
import { fsReason } from './fs-reason.js';
import { quoted } from './printable.js';

/** Writes `text` to `file` atomically; `what` names the option in the error (64) when it cannot. */
export function writeAtomic(file: string, text: string, what: string, mode = 0o644): void {
  const tmp = join(dirname(file), `.${basename(file)}.lvsctl-${process.pid}`);
  try {
    writeFileSync(tmp, text, { mode, flag: 'wx' });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UsageError(`${what} ${quoted(file)}: cannot write it: ${fsReason(e)}`);
  }
}
