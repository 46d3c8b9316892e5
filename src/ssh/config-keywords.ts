// The keywords an ssh_config sets, read the way ssh(1) finds its files: -F FILE alone, or
// ~/.ssh/config (the passwd home, as ssh) then /etc/ssh/ssh_config, each with its Include files
// (globs; a relative path is under ~/.ssh for a user file, /etc/ssh for the system one; 16 levels).
// ssh -G costs 13 ms of CPU per host; when no file sets a keyword lvsctl reads, one ssh -G answers
// for every host (resolve-config.ts). undefined: not sure (a file that cannot be read, an Include
// with %-tokens or ${VAR}, too deep): the caller asks ssh for each host.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { globRegExp } from '../util/glob.js';

const MAX_DEPTH = 16; // readconf.c READCONF_MAX_DEPTH

/** The keyword and arguments of one line (`Key value`, `Key=value`, quoted arguments). */
function line(text: string): { key: string; args: string[] } | undefined {
  const m = /^\s*([A-Za-z0-9]+)(?:\s*=\s*|\s+|$)(.*)$/.exec(text);
  if (!m || text.trimStart().startsWith('#')) return undefined;
  const args = [...m[2]!.matchAll(/"([^"]*)"|(\S+)/g)].map((a) => a[1] ?? a[2]!);
  return { key: m[1]!.toLowerCase(), args };
}

/** fnmatch(3) of one path component (ssh's glob(3)): an unclosed `[` is a literal. */
const componentRegex = (glob: string): RegExp =>
  globRegExp(glob, { star: '[^/]*', one: '[^/]', unclosed: () => '\\[' });

/** The files a glob names, sorted as glob(3) sorts them; none when nothing matches. */
function expandGlob(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  let found = ['/'];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of found) {
      if (!/[*?[]/.test(part)) {
        next.push(join(dir, part));
        continue;
      }
      const re = componentRegex(part);
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names.sort()) if (re.test(n) && (n[0] !== '.' || part[0] === '.')) next.push(join(dir, n));
    }
    found = next;
  }
  return found;
}

class Unsure extends Error {}

function scanFile(file: string, user: boolean, home: string, depth: number, keys: Set<string>, must: boolean): void {
  if (depth > MAX_DEPTH) throw new Unsure();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    // a missing file is skipped by ssh as here; one it cannot read is ssh's to report
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !must) return;
    throw new Unsure();
  }
  for (const l of text.split('\n')) {
    const p = line(l);
    if (!p) continue;
    keys.add(p.key);
    if (p.key !== 'include') continue;
    for (const arg of p.args) {
      if (/%|\$\{/.test(arg) || /^~[^/]/.test(arg)) throw new Unsure();
      let path = arg.startsWith('~/') ? join(home, arg.slice(2)) : arg;
      if (!path.startsWith('/')) path = user ? join(home, '.ssh', path) : join('/etc/ssh', path);
      for (const f of expandGlob(path)) scanFile(f, user, home, depth + 1, keys, false);
    }
  }
}

/** Every keyword (lower case) the files ssh would read set, Include files followed; undefined when
 * not sure. `configFile`: -F (none: no file at all). `home`: the passwd home directory. */
export function configKeywords(configFile: string | undefined, home: string): Set<string> | undefined {
  const keys = new Set<string>();
  try {
    if (configFile === 'none') return keys;
    // ssh -F FILE fails when FILE cannot be opened: a must; the default files may be absent
    if (configFile) scanFile(configFile, true, home, 0, keys, true);
    else {
      scanFile(join(home, '.ssh', 'config'), true, home, 0, keys, false);
      scanFile('/etc/ssh/ssh_config', false, home, 0, keys, false);
    }
    return keys;
  } catch (e) {
    if (e instanceof Unsure) return undefined;
    throw e;
  }
}
