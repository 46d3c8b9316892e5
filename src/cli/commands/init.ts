// `lvsctl init --mode M`: a commented starter inventory, copied from templates/init/M.yaml.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { templatesDir } from '../../paths.js';
import type { InitOptions } from '../options.js';

export async function runInit(o: InitOptions): Promise<number> {
  const text = readFileSync(join(templatesDir, 'init', `${o.mode}.yaml`), 'utf8');
  if (o.out === '-') {
    process.stdout.write(text);
    return ExitCode.ok;
  }
  if (existsSync(o.out) && !o.force) throw new UsageError(`${o.out} exists; use --force to overwrite it`);
  writeFileSync(o.out, text, { mode: 0o644 });
  process.stderr.write(
    `wrote ${o.out}: a ${o.mode.toUpperCase()} starter inventory; edit it, then run: lvsctl validate -i ${o.out}\n`,
  );
  return ExitCode.ok;
}
