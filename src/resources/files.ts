// Files lvsctl writes (rules, scripts, keepalived.conf): owned, so a role change and `down` remove
// them, after the rest of the teardown (which may still run a script). The engine writes them
// atomically (an engine change: no command here).
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import type { FileFact, HostFacts } from '../facts/parse.js';
import { redact } from '../util/redact.js';
import { MANAGED_PATHS } from '../render/paths.js';
import { foundCopy } from './state.js';
import { fragment, type Resource } from './types.js';

export interface DesiredFile {
  path: string;
  content: string;
  mode: number;
  owner?: string;
  group?: string;
  /** Holds a secret: the diff masks it, the file is written 0600. */
  secret?: boolean;
  /** keepalived.conf is checked with `keepalived -t` on the host before it replaces the old one. */
  validate?: 'keepalived';
}

export type FileChange =
  | {
      kind: 'file';
      action: 'create' | 'update';
      file: DesiredFile;
      diff: string;
      /** A found file (not lvsctl's): its content is copied here first, unless already kept. */
      keep?: string;
    }
  | {
      kind: 'file';
      action: 'delete';
      path: string;
      diff: string;
      /** A found file: put back from this copy (when lvsctl changed it) instead of removed. */
      restore?: string;
    };

/** The paths lvsctl writes that may hold someone else's file first: keepalived.conf, where the
 * distribution's keepalived reads it (every other path carries lvsctl's name). */
export const FOUND_PATHS: ReadonlySet<string> = new Set([MANAGED_PATHS.keepalived]);

// The paths are in $FILES and $BOOTLINKS; $sums is read again by the contents fragment, $bl and
// $fst by the bootlinks fragment.
export const filesFacts = fragment(
  ['files'],
  String.raw`s files
# Few processes: under emulation (and on a busy host) each fork costs milliseconds. One find gives
# the files' modes and owners and the boot links' targets (it follows no link it is given).
ex=; for f in $FILES; do if [ -f "$f" ]; then ex="$ex $f"; else echo "absent - - - $f"; fi; done
bl=; for p in $BOOTLINKS; do if [ -e "$p" ] || [ -L "$p" ]; then bl="$bl $p"; fi; done
sums=; [ -z "$ex" ] || sums=$(sha256sum $ex)
fst=; [ -z "$ex$bl" ] || fst=$(find $ex $bl -maxdepth 0 -printf '%m %u %g %p %l\n' 2>/dev/null)
# checksums, then @@, then modes and owners: the parser joins them by path
[ -z "$ex" ] || { printf '%s\n' "$sums"; echo @@; while read -r m u g p l; do case " $ex " in *" $p "*) echo "$m $u $g $p" ;; esac; done <<EOF
$fst
EOF
}
`,
);

// Late in the script, from the files fragment's $sums; the checksums the engine knows are in $KNOWN.
export const contentsFacts = fragment(
  ['contents'],
  String.raw`s contents
# Current content of small managed files, for the plan's diffs (base64: any bytes survive); not
# of those whose checksum is in $KNOWN (the engine has their content already).
[ -z "$sums" ] || while read -r h f; do
  case " $KNOWN " in *" $h "*) continue ;; esac
  [ "$(wc -c <"$f")" -le 262144 ] && { printf '%s ' "$f"; base64 -w0 "$f"; echo; }
done <<EOF
$sums
EOF
`,
);

/** The files section: `absent - - - PATH`; sha256sum's `HASH  PATH` lines, `@@`, then stat's
 * `MODE OWNER GROUP PATH` (joined here by path). */
function parseFiles(lines: string[]): Map<string, FileFact | null> {
  const files = new Map<string, FileFact | null>();
  const hashes = new Map<string, string>();
  const stats: [string, string, string, string][] = [];
  for (const l of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^absent - - - (.+)$/.exec(l))) files.set(m[1]!, null);
    else if ((m = /^([0-9a-f]{64}) {2}(.+)$/.exec(l))) hashes.set(m[2]!, m[1]!);
    else if ((m = /^([0-7]+) (\S+) (\S+) (\/.*)$/.exec(l))) stats.push([m[1]!, m[2]!, m[3]!, m[4]!]);
  }
  for (const [mode, owner, group, path] of stats)
    files.set(path, { mode: parseInt(mode, 8), owner, group, sha256: hashes.get(path) ?? '' });
  return files;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function fileDiff(path: string, before: string | undefined, after: string | undefined, secrets: string[]): string {
  if (before === undefined && after !== undefined && !secrets.length)
    return createTwoFilesPatch('/dev/null', path, '', after, '', '', { context: 3 });
  return createTwoFilesPatch(
    before === undefined ? '/dev/null' : path,
    after === undefined ? '/dev/null' : path,
    redact(before ?? '', secrets),
    redact(after ?? '', secrets),
    '',
    '',
    { context: 3 },
  );
}

export const files = {
  parse: (get): Pick<HostFacts, 'files' | 'contents'> => ({
    files: parseFiles(get('files')),
    contents: new Map(
      get('contents')
        .map((l) => {
          const i = l.indexOf(' ');
          return [l.slice(0, i), Buffer.from(l.slice(i + 1), 'base64').toString('utf8')] as [string, string];
        })
        .filter(([k]) => k),
    ),
  }),
  plan(ctx) {
    const { facts: f, secrets, old, pre, next, adds, deletions } = ctx;
    const wanted = new Set(ctx.files.map((x) => x.path));
    // A file of someone else's where lvsctl writes its own (a hand-built keepalived pair's config):
    // recorded as found; its content is kept before lvsctl's first write, and `down` puts it back.
    const found = new Set(old.originals.files ?? []);
    for (const file of ctx.files)
      if (FOUND_PATHS.has(file.path) && f.files.get(file.path) && !old.owned.files.includes(file.path))
        found.add(file.path);
    if (found.size) for (const s of [pre, next]) s.originals.files = [...found];
    for (const file of ctx.files) {
      const cur = f.files.get(file.path);
      const mode = file.secret ? 0o600 : file.mode;
      const want = { ...file, mode, owner: file.owner ?? 'root', group: file.group ?? 'root' };
      if (
        cur &&
        cur.sha256 === sha256(file.content) &&
        cur.mode === mode &&
        cur.owner === want.owner &&
        cur.group === want.group
      )
        continue;
      const before = cur ? f.contents.get(file.path) : undefined;
      const diff =
        cur && cur.sha256 === sha256(file.content)
          ? `mode/owner: ${cur.mode.toString(8)} ${cur.owner}:${cur.group} -> ${mode.toString(8)} ${want.owner}:${want.group}`
          : fileDiff(file.path, before, file.content, file.secret ? secrets : []);
      adds.push({
        kind: 'file',
        action: cur ? 'update' : 'create',
        file: want,
        diff,
        ...(cur && found.has(file.path) && { keep: foundCopy(file.path) }),
      });
      ctx.changedFiles.add(file.path);
    }
    for (const p of old.owned.files)
      if (!wanted.has(p) && f.files.get(p)) {
        if (!found.has(p)) {
          deletions.push({
            kind: 'file',
            action: 'delete',
            path: p,
            diff: fileDiff(p, f.contents.get(p), undefined, secrets),
          });
          continue;
        }
        deletions.push({ kind: 'file', action: 'delete', path: p, diff: '', restore: foundCopy(p) });
        next.originals.files = next.originals.files?.filter((x) => x !== p);
      }
    next.owned.files = [...wanted];
    pre.owned.files = [...new Set([...pre.owned.files, ...wanted])];
  },
  record(c) {
    if (c.action !== 'delete')
      return {
        action: c.action,
        target: c.file.path,
        from: c.action === 'create' ? null : 'other content',
        to: `mode ${c.file.mode.toString(8).padStart(4, '0')}`,
      };
    if (c.restore) return { action: 'restore', target: c.path, from: 'present', to: 'as found' };
    return { action: 'delete', target: c.path, from: 'present', to: null };
  },
  describe(c) {
    if (c.action !== 'delete') return `${c.action} ${c.file.path} (mode ${c.file.mode.toString(8).padStart(4, '0')})`;
    return c.restore ? `put back ${c.path} as lvsctl found it` : `remove ${c.path}`;
  },
  diff: (c) => c.diff,
} satisfies Resource<FileChange>;
