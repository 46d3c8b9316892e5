// `lvsctl init --mode M`: a commented starter inventory, copied from templates/init/M.yaml, with a
// first line that points yaml-language-server (VS Code's YAML extension, Neovim…) at the inventory's
// JSON Schema, which init writes beside the file, so an editor completes and checks the keys.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { INVENTORY_SCHEMA_ID, inventoryJsonSchema } from '../../inventory/json-schema.js';
import { templatesDir } from '../../paths.js';
import { writeAtomic } from '../../util/write-local.js';
import { quoted } from '../../util/printable.js';
import type { InitOptions } from '../options.js';

/** The schema's file name, next to the inventory. */
export const SCHEMA_FILE = 'lvsctl.schema.json';
export const SCHEMA_LINE = `# yaml-language-server: $schema=${SCHEMA_FILE}`;

/** Whether `file` is a schema lvsctl wrote (any version): only such a file is replaced. */
function ourSchema(file: string): boolean {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { $id?: unknown }).$id === INVENTORY_SCHEMA_ID;
  } catch {
    return false;
  }
}

export async function runInit(o: InitOptions): Promise<number> {
  const template = readFileSync(join(templatesDir, 'init', `${o.mode}.yaml`), 'utf8');
  if (o.out === '-') {
    process.stdout.write(`${SCHEMA_LINE}\n# (\`lvsctl schema > ${SCHEMA_FILE}\` writes that file)\n${template}`);
    return ExitCode.ok;
  }
  if (existsSync(o.out)) {
    if (statSync(o.out).isDirectory()) throw new UsageError(`-o ${quoted(o.out)} is a directory; name a file`);
    if (!o.force) throw new UsageError(`${quoted(o.out)} exists; use --force to overwrite it`);
  }
  writeAtomic(o.out, `${SCHEMA_LINE}\n${template}`, '-o');
  const schemaFile = join(dirname(o.out), SCHEMA_FILE);
  let schemaNote = `, and ${schemaFile} (its JSON Schema, for editors)`;
  if (!existsSync(schemaFile) || ourSchema(schemaFile))
    writeAtomic(schemaFile, JSON.stringify(inventoryJsonSchema(), null, 2) + '\n', 'the schema');
  else schemaNote = `; ${schemaFile} is not lvsctl's and was left alone`;
  process.stderr.write(
    `wrote ${o.out}: a ${o.mode.toUpperCase()} starter inventory${schemaNote}; edit it, then run: lvsctl validate -i ${o.out}\n`,
  );
  return ExitCode.ok;
}
