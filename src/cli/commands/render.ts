// `lvsctl render -i FILE --out DIR`: every file lvsctl would put on each host, written to
// DIR/<host>/<absolute path> with its mode, for a person to read. Contacts no host.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { loadInventory } from '../../inventory/load.js';
import { renderCluster } from '../../render/host.js';
import type { RenderOptions } from '../options.js';
import { renderLines, type RenderedFile } from '../print/inventory.js';
import type { Output } from '../output.js';

export async function runRender(o: RenderOptions, out: Output): Promise<number> {
  const { cluster, secrets } = loadInventory(o.inventory);
  for (const h of o.limit ?? []) if (!cluster.hosts.has(h)) throw new UsageError(`--limit: unknown host "${h}"`);
  const written: RenderedFile[] = [];
  for (const [host, files] of renderCluster(cluster, secrets)) {
    if (o.limit && !o.limit.includes(host)) continue;
    for (const f of files) {
      const target = join(o.out, host, f.path);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, f.content, { mode: f.mode });
      chmodSync(target, f.mode); // writeFileSync keeps the mode of a file that already exists
      const mode = f.mode.toString(8).padStart(4, '0');
      written.push({ host, path: f.path, file: target, mode, secret: f.secret === true });
    }
  }
  out.json({ ok: true, out: o.out, files: written });
  for (const l of renderLines(written, o.out)) out.info(l);
  return ExitCode.ok;
}
