// One apply command (one SSH session) from the plan's changes in order, as batch steps: pure.
//
// Where the host has tar, the session's files and boot links arrive as one tar archive on stdin,
// unpacked by one process at the start: files to temp names beside their targets (renamed in the
// plan's order later, each rename atomic), links at their own paths. That replaces a dd, a chmod,
// a chown and a stat per group and an ln per link: each process costs milliseconds on a busy host.
// tar reads stdin to its end, so it is the last step that reads stdin. A link is only made once the
// host's record names it: a state record written before the first link is written before the
// archive is unpacked, from the script itself or stdin (ssh/write-script.ts). Without tar, or
// when a path does not fit the archive, each group of writes is its own step (write-script.ts) and
// each link its ln.
import { posix } from 'node:path';
import { fitsUstar, ustar, type UstarEntry } from '../util/ustar.js';
import { INLINE_MAX, writeScript, type FileWrite } from '../ssh/write-script.js';
import { lines, sh, Shell, shq } from '../util/quote.js';
import type { BatchStep } from './commands.js';

export type Action =
  | { kind: 'command'; label: string; cmd: Shell; fail?: BatchStep['fail'] }
  /** A file; `state`: lvsctl's record of the host. `check`: installed only when this command,
   * given the new file's temp path, succeeds (it renames it into place itself). */
  | {
      kind: 'write';
      file: FileWrite;
      state?: boolean;
      check?: { label: string; cmd: (stage: Shell) => Shell; fail: BatchStep['fail'] };
    }
  /** A symlink; `cmd` makes it where there is no archive. */
  | { kind: 'link'; label: string; path: string; target: string; cmd: Shell };

type Write = Extract<Action, { kind: 'write' }>;

export interface SessionOptions {
  /** The host has tar (its facts). */
  tar: boolean;
  /** The host has util-linux's rename.ul: a group of files is renamed into place by one process. */
  renameUl?: boolean;
  /** Directories that new files need (made by tar itself when it unpacks). */
  dirs: string[];
  /** Names this session's temp files (random per session: no two sessions share one). */
  token: string;
}

const writeLabel = (files: FileWrite[]) => `write ${files.map((f) => f.path).join(', ')}`;
const parent = (p: string) => posix.dirname(p);

/** The steps, and a prologue to run first in the script's shell (its traps), if any. */
export function sessionSteps(
  actions: ReadonlyArray<Action>,
  o: SessionOptions,
): { steps: BatchStep[]; prologue?: Shell } {
  const writes = actions.filter((a): a is Write => a.kind === 'write');
  const links = actions.filter((a): a is Extract<Action, { kind: 'link' }> => a.kind === 'link');
  const firstLink = actions.findIndex((a) => a.kind === 'link');
  // written before the archive: the record, when links come after it
  const early =
    firstLink < 0 ? [] : actions.slice(0, firstLink).filter((a): a is Write => a.kind === 'write' && !!a.state);
  const archived = writes.filter((w) => !early.includes(w));
  const fits =
    archived.every((w) => fitsUstar(w.file.path.slice(1))) && links.every((l) => fitsUstar(l.path.slice(1), l.target));
  // one small file is cheaper from the script itself than through tar
  const worth =
    links.length > 0 ||
    archived.length > 1 ||
    archived.some((w) => Buffer.byteLength(w.file.content) > INLINE_MAX || w.check);
  return o.tar && fits && worth ? withArchive(actions, early, archived, o) : withoutArchive(actions, o);
}

function withoutArchive(actions: ReadonlyArray<Action>, o: SessionOptions): { steps: BatchStep[] } {
  const steps: BatchStep[] = [];
  if (o.dirs.length) steps.push({ label: 'create directories', cmd: sh`mkdir -p -- ${o.dirs}` });
  let group: FileWrite[] = [];
  const flush = () => {
    if (!group.length) return;
    const w = writeScript(group);
    steps.push({ label: writeLabel(group), cmd: w.script, ...(w.data.length && { stdin: w.data }) });
    group = [];
  };
  for (const a of actions) {
    if (a.kind === 'write' && !a.check) {
      group.push(a.file);
      continue;
    }
    flush();
    if (a.kind === 'command') steps.push({ label: a.label, cmd: a.cmd, ...(a.fail && { fail: a.fail }) });
    else if (a.kind === 'link') steps.push({ label: a.label, cmd: a.cmd });
    else if (a.check) {
      const stage = a.file.path.replace(/[^/]+$/, `.${posix.basename(a.file.path)}.lvsctl-check`);
      const w = writeScript([{ ...a.file, path: stage }]);
      steps.push({ label: a.check.label, cmd: w.script, ...(w.data.length && { stdin: w.data }) });
      steps.push({ label: a.check.label, cmd: a.check.cmd(sh`${stage}`), fail: a.check.fail });
    }
  }
  flush();
  return { steps };
}

function withArchive(
  actions: ReadonlyArray<Action>,
  early: Write[],
  archived: Write[],
  o: SessionOptions,
): { steps: BatchStep[]; prologue: Shell } {
  const steps: BatchStep[] = [];
  // .lvsctl-TOKEN-NAME beside NAME: rename.ul takes ".lvsctl-TOKEN-" out of several at once. A path
  // written twice in one session (the record before and after) has its index in the second name.
  const seen = new Set<string>();
  const temp = new Map(
    archived.map((w, i) => {
      const plain = !seen.has(w.file.path);
      seen.add(w.file.path);
      return [w, { i, plain, path: tempPath(w.file.path, plain ? o.token : `${o.token}.${i}`) }];
    }),
  );
  const v = (w: Write) => `"$LVSCTL_T${temp.get(w)!.i}"`;
  const vars = archived.map((w) => v(w)).join(' ');
  // Temp files not renamed into place when the script ends (a failed step, a hang-up) are removed:
  // [ -e ] first, so a script that renamed them all runs no rm.
  const prologue = lines([
    new Shell(archived.map((w) => `LVSCTL_T${temp.get(w)!.i}=${shq(temp.get(w)!.path)}`).join(' ') || ':'),
    new Shell(`trap 'for x in ${vars}; do [ -e "$x" ] && rm -f -- "$x"; done; :' EXIT`),
    new Shell(`trap 'exit 129' HUP INT TERM PIPE`),
  ]);
  if (early.length) {
    const dirs = [...new Set(early.map((w) => parent(w.file.path)))];
    steps.push({
      label: 'create directories',
      cmd: new Shell(dirs.map((d) => sh`{ [ -d ${d} ] || mkdir -p -- ${d}; }`.text).join(' && ')),
    });
    const w = writeScript(
      early.map((e) => e.file),
      { sync: false }, // flushed with the archive's files, one sync for all
    );
    steps.push({ label: writeLabel(early.map((e) => e.file)), cmd: w.script, ...(w.data.length && { stdin: w.data }) });
  }
  const entries: UstarEntry[] = [
    ...archived.map((w): UstarEntry => ({
      type: 'file',
      path: temp.get(w)!.path.slice(1),
      data: typeof w.file.content === 'string' ? Buffer.from(w.file.content, 'utf8') : w.file.content,
      mode: w.file.mode,
      uname: w.file.owner ?? 'root',
      gname: w.file.group ?? 'root',
    })),
    ...actions.flatMap((a): UstarEntry[] =>
      a.kind === 'link' ? [{ type: 'symlink', path: a.path.slice(1), target: a.target }] : [],
    ),
  ];
  const synced = [vars, ...early.map((w) => shq(w.file.path))].filter(Boolean).join(' ');
  // -p --same-owner: modes and owners as in the archive (the default for root, said aloud); -m: the
  // time of unpacking, not the controller's clock
  steps.push({
    label: archived.length ? writeLabel(archived.map((w) => w.file)) : 'boot links',
    cmd: new Shell(`tar -x -p --same-owner -m -f - -C /${synced ? ` && { sync -- ${synced} 2>/dev/null || :; }` : ''}`),
    stdin: ustar(entries),
  });
  let group: Write[] = [];
  const flush = () => {
    if (!group.length) return;
    // each rename is atomic; with rename.ul, one process for the group
    const together = o.renameUl ? group.filter((w) => temp.get(w)!.plain) : [];
    const moves = [
      ...(together.length > 1 ? [`rename.ul -- .lvsctl-${o.token}- '' ${together.map(v).join(' ')}`] : []),
      ...group
        .filter((w) => together.length < 2 || !together.includes(w))
        .map((w) => `mv -f -- ${v(w)} ${shq(w.file.path)}`),
    ];
    steps.push({ label: writeLabel(group.map((w) => w.file)), cmd: new Shell(moves.join(' && ')) });
    group = [];
  };
  for (const a of actions) {
    if (a.kind === 'link' || (a.kind === 'write' && early.includes(a))) continue; // made before
    if (a.kind === 'write' && !a.check) {
      group.push(a);
      continue;
    }
    flush();
    if (a.kind === 'command') steps.push({ label: a.label, cmd: a.cmd, ...(a.fail && { fail: a.fail }) });
    else if (a.kind === 'write' && a.check)
      steps.push({ label: a.check.label, cmd: a.check.cmd(new Shell(v(a))), fail: a.check.fail });
  }
  flush();
  return { steps, prologue };
}

/** Beside the target (the same file system: the rename is atomic), hidden, named by the session. */
function tempPath(path: string, token: string): string {
  const dir = parent(path);
  return `${dir === '/' ? '' : dir}/.lvsctl-${token}-${posix.basename(path)}`;
}
