// `lvsctl init --mode M`: a commented starter inventory, copied from templates/init/M.yaml.
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { templatesDir } from '../../paths.js';
import { fsReason } from '../../util/fs-reason.js';
import { quoted } from '../../util/printable.js';
import type { InitOptions } from '../options.js';

export async function runInit(o: InitOptions): Promise<number> {
  const text = readFileSync(join(templatesDir, 'init', `${o.mode}.yaml`), 'utf8');
  if (o.out === '-') {
    process.stdout.write(text);
    return ExitCode.ok;
  }
  if (existsSync(o.out)) {
    if (statSync(o.out).isDirectory()) throw new UsageError(`-o ${quoted(o.out)} is a directory; name a file`);
    if (!o.force) throw new UsageError(`${quoted(o.out)} exists; use --force to overwrite it`);
  }
  // Written beside it, then renamed: an existing file is replaced whole or not at all.
  const tmp = join(dirname(o.out), `.${basename(o.out)}.lvsctl-${process.pid}`);
  try {
    writeFileSync(tmp, text, { mode: 0o644, flag: 'wx' });
    renameSync(tmp, o.out);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new UsageError(`-o ${quoted(o.out)}: cannot write it: ${fsReason(e)}`);
  }
  process.stderr.write(
    `wrote ${o.out}: a ${o.mode.toUpperCase()} starter inventory; edit it, then run: lvsctl validate -i ${o.out}\n`,
  );
  return ExitCode.ok;
}
