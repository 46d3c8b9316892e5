// The shell side of writing files on a host, as a pure function: a script that receives whole
// files on its stdin and renames them into place, and the bytes to send it. The SSH layer runs it
// on its own (HostConnection.writeFiles) or as one step of a longer script (apply/commands.ts).
import { posix } from 'node:path';
import { lines, Shell, sh, shq } from '../util/quote.js';

export interface WriteFileOptions {
  mode: number;
  owner?: string;
  group?: string;
}

export interface FileWrite extends WriteFileOptions {
  path: string;
  content: string | Buffer;
}

export interface WriteScript {
  /** Reads exactly `data.length` bytes from stdin; exits non-zero (nothing installed) on failure. */
  script: Shell;
  data: Buffer;
}

function octal(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new RangeError(`file mode out of range: ${mode}`);
  return mode.toString(8).padStart(4, '0');
}

/** Contents up to this size that are text without NUL go in the script itself (printf, a shell
 * built-in) instead of stdin (dd): no process, and no size check needed (a script runs whole or
 * not at all). Small, so the command line stays far below the kernel's 128 KiB per argument. */
export const INLINE_MAX = 4096;

/** The umask that creates a file with `mode` (no chmod), when the mode has no bits beyond rw. */
const umaskFor = (mode: number) => ((mode & ~0o666) === 0 ? (0o777 & ~mode).toString(8).padStart(3, '0') : undefined);

const inlineText = (data: Buffer): string | undefined => {
  if (data.length > INLINE_MAX || data.includes(0)) return undefined;
  const text = data.toString('utf8');
  return Buffer.from(text, 'utf8').equals(data) ? text : undefined;
};

/**
 * Each file goes to a temp file beside its target (same file system, so mv is a rename): small text
 * files from the script itself, the others from stdin, one after the other, each read to its exact
 * length (dd fullblock never reads into the next file). Only when every temp file read from stdin
 * has its full length (a cut stream must not install a truncated file) are owners set (before
 * modes: chown clears set-id bits), the data flushed and the files renamed over their targets. The
 * trap removes temp files on any failure.
 *
 * Temp files are created by the shell (set -C: O_EXCL, as mktemp does) under the umask that gives
 * their mode; chmod runs only for modes a umask cannot give, chown once per owner: each process
 * costs milliseconds on a busy host. Every command checks its own status (`|| exit`): inside a
 * longer script the step runs where `set -e` is ignored. `sync: false`: the caller flushes them
 * (a later sync of the same files: one process for several steps).
 */
export function writeScript(files: ReadonlyArray<FileWrite>, o: { sync?: boolean } = {}): WriteScript {
  const parts = files.map((f) => {
    if (!posix.isAbsolute(f.path) || f.path.endsWith('/'))
      throw new RangeError(`writeFile needs an absolute file path, got ${JSON.stringify(f.path)}`);
    const dir = posix.dirname(f.path);
    // chown's OWNER[:GROUP] or :GROUP
    const owner =
      f.owner === undefined && f.group === undefined
        ? undefined
        : `${f.owner ?? ''}${f.group !== undefined ? `:${f.group}` : ''}`;
    const data = typeof f.content === 'string' ? Buffer.from(f.content, 'utf8') : f.content;
    return {
      path: f.path,
      data,
      text: inlineText(data),
      // beside the target, named by the shell's pid (unique among live processes) and the index
      temp: `${dir === '/' ? '' : dir}/.${posix.basename(f.path)}.lvsctl-`,
      owner,
      mode: octal(f.mode),
      umask: umaskFor(f.mode),
    };
  });
  const t = (i: number) => `"$t${i}"`;
  const temps = parts.map((_, i) => t(i)).join(' ');
  const fed = parts.flatMap((p, i) => (p.text === undefined ? [{ p, i }] : []));
  const each = (pick: (p: (typeof parts)[number]) => string | undefined, cmd: string) =>
    [...new Set(parts.flatMap((p) => pick(p) ?? []))].map(
      (v) =>
        new Shell(`${cmd} -- ${shq(v)} ${parts.flatMap((p, i) => (pick(p) === v ? [t(i)] : [])).join(' ')} || exit`),
    );
  const script = lines([
    sh`set -uC`,
    new Shell(parts.map((_, i) => `t${i}=`).join('; ')),
    new Shell(`trap 'for x in ${temps}; do [ -z "$x" ] || rm -f -- "$x"; done' EXIT`),
    new Shell(`trap 'exit 129' HUP INT TERM PIPE`),
    ...parts.flatMap((p, i) => [
      new Shell(
        `${p.umask ? `umask ${p.umask}; ` : ''}t${i}=${shq(p.temp)}"$$.${i}"; ` +
          (p.text !== undefined ? `printf '%s' ${shq(p.text)} >${t(i)} || exit` : `: >${t(i)} || exit`),
      ),
      ...(p.text === undefined && p.data.length
        ? [new Shell(`dd of=${t(i)} bs=${p.data.length} count=1 iflag=fullblock 2>/dev/null || exit`)]
        : []),
    ]),
    ...(fed.length
      ? [
          new Shell(
            `got=$(stat -c %s -- ${fed.map((f) => t(f.i)).join(' ')}) || exit; want='${fed.map((f) => f.p.data.length).join('\n')}'`,
          ),
          new Shell(
            `[ "$got" = "$want" ] || { echo "lvsctl: short write (sizes $(echo $got) of $(echo $want) bytes)" >&2; exit 1; }`,
          ),
        ]
      : []),
    ...each((p) => p.owner, 'chown'),
    ...each((p) => (p.umask ? undefined : p.mode), 'chmod'),
    ...(o.sync === false ? [] : [new Shell(`sync -- ${temps} 2>/dev/null || :`)]),
    ...parts.flatMap((p, i) => [new Shell(`mv -f -- ${t(i)} ${shq(p.path)} || exit`), new Shell(`t${i}=`)]),
  ]);
  return { script, data: Buffer.concat(fed.map((f) => f.p.data)) };
}
