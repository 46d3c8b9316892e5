// `lvsctl render -i FILE --out DIR`: every file lvsctl would put on each host, written to
// DIR/<host>/<absolute path> with its mode, for a person to read. Contacts no host.
// DIR is replaced as a whole: the files are written into a new directory beside it, which then
// takes DIR's place, so DIR never holds a mix of two renders (a host left out by --limit, or gone
// from the inventory, leaves no old directory). Only a new or empty DIR, or with --force one laid
// out as a render (looksRendered), is used: nothing else is ever deleted.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ExitCode, UsageError } from '../../errors.js';
import { resolveLimit } from '../../inventory/limit.js';
import { loadInventory } from '../../inventory/load.js';
import { NAME_PATTERN } from '../../inventory/types.js';
import { renderCluster } from '../../render/host.js';
import { quoted } from '../../util/printable.js';
import { fsReason } from '../../util/fs-reason.js';
import type { RenderOptions } from '../options.js';
import { renderLines, type RenderedFile } from '../print/inventory.js';
import type { Output } from '../output.js';

/** The first directories of a rendered file's path (render/paths.ts: /etc/..., /usr/local/...). */
const RENDER_ROOTS = new Set(['etc', 'usr', 'var', 'lib']);
/** A render of 500 hosts holds about 5000 files; a larger tree is not one of ours. */
const MAX_RENDER_ENTRIES = 100_000;

/** A directory laid out as lvsctl renders: host directories (inventory names) holding only
 * etc/, usr/, var/, lib/ trees of directories and regular files, no symbolic link anywhere. A home
 * or project directory fails at once (dot files, other names, links). */
function looksRendered(dir: string): boolean {
  let seen = 0;
  const tree = (d: string): boolean =>
    readdirSync(d, { withFileTypes: true }).every((e) => {
      if (++seen > MAX_RENDER_ENTRIES) return false;
      if (e.isDirectory()) return tree(join(d, e.name));
      return e.isFile();
    });
  return readdirSync(dir, { withFileTypes: true }).every(
    (h) =>
      h.isDirectory() &&
      NAME_PATTERN.test(h.name) &&
      readdirSync(join(dir, h.name), { withFileTypes: true }).every(
        (r) => r.isDirectory() && RENDER_ROOTS.has(r.name) && tree(join(dir, h.name, r.name)),
      ),
  );
}

/** What --out holds now: nothing, an empty directory, a render of lvsctl's, or something else. */
function outState(dir: string): 'absent' | 'empty' | 'rendered' | 'other' {
  try {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--out ${quoted(dir)} is not a directory`);
    if (!readdirSync(dir).length) return 'empty';
    return looksRendered(dir) ? 'rendered' : 'other';
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
    throw fsUsage(e, dir);
  }
}

/** A file-system failure on --out as one line (exit 64: it is the option that is wrong). */
function fsUsage(e: unknown, dir: string): Error {
  return e instanceof UsageError ? e : new UsageError(`--out ${quoted(dir)}: cannot write there: ${fsReason(e)}`);
}

export async function runRender(o: RenderOptions, out: Output): Promise<number> {
  const { cluster, secrets } = loadInventory(o.inventory);
  const selected = resolveLimit(cluster, o.limit);
  const dir = resolve(o.out);
  const state = outState(dir);
  if (state === 'other')
    throw new UsageError(
      `--out ${quoted(o.out)} holds files that are not a render of lvsctl's; choose a new or empty directory`,
    );
  if (state === 'rendered' && !o.force)
    throw new UsageError(`--out ${quoted(o.out)} is not empty (an earlier render); --force replaces it`);

  const written: RenderedFile[] = [];
  let staging: string;
  try {
    mkdirSync(dirname(dir), { recursive: true });
    staging = mkdtempSync(join(dirname(dir), `.${basename(dir)}.lvsctl-`));
  } catch (e) {
    throw fsUsage(e, o.out);
  }
  try {
    for (const [host, files] of renderCluster(cluster, secrets)) {
      if (selected && !selected.includes(host)) continue;
      for (const f of files) {
        const target = join(staging, host, f.path);
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, f.content, { mode: f.mode });
        chmodSync(target, f.mode); // the umask narrows the mode given at creation
        const mode = f.mode.toString(8).padStart(4, '0');
        written.push({ host, path: f.path, file: join(o.out, host, f.path), mode, secret: f.secret === true });
      }
    }
    chmodSync(staging, 0o755); // mkdtemp makes it 0700
    const old = state === 'absent' ? undefined : `${staging}.old`;
    if (old) renameSync(dir, old);
    renameSync(staging, dir);
    if (old) rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw fsUsage(e, o.out);
  }
  out.set({ out: o.out, files: written });
  for (const l of renderLines(written, o.out)) out.info(l);
  return ExitCode.ok;
}
