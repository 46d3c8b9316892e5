// The operator's scripts on a director, as keepalived's script security sees them
// (keepalived/core/notify.c: check_script_secure): the script, every directory above it, and where
// a symlink points, each with its type, owner and mode; and whether the users the scripts run as
// exist. scriptProblems() says what keepalived would refuse to run, so that plan and up refuse it
// first (engine/cluster.ts), before any host changes.
import type { DirectorScript } from '../inventory/scripts.js';
import { formatPath } from '../inventory/locate.js';
import { fragment, type SectionReader } from '../resources/types.js';

/** One path as stat saw it (no symlink followed), or null: absent. */
export interface PathStat {
  type: string; // stat's %F: regular file, regular empty file, directory, symbolic link…
  uid: number;
  gid: number;
  mode: number;
}

export interface ScriptFacts {
  paths: Map<string, PathStat | null>;
  /** A symlinked script -> the path it resolves to (null: one lvsctl cannot check). */
  links: Map<string, string | null>;
  /** User name -> its uid and group ids, or null where getent passwd knows no such user. */
  users: Map<string, { uid: number; groups: number[] } | null>;
}

// $SCRIPTS and $SCRIPT_USERS: paths and user names the schema narrowed (no blanks or globs). Its
// variables start with s: the fragments share one shell.
export const scriptsFacts = fragment(
  ['scripts'],
  String.raw`s scripts
if [ -n "$SCRIPTS$SCRIPT_USERS" ]; then
sx=
scr_chk() { sc=$1; while [ -n "$sc" ]; do if [ -e "$sc" ] || [ -L "$sc" ]; then sx="$sx $sc"; else echo "absent $sc"; fi; sc=${'${sc%/*}'}; done; sx="$sx /"; }
for p in $SCRIPTS; do
  scr_chk "$p"
  [ -L "$p" ] || continue
  t=$(readlink -f -- "$p") || t=
  case $t in /*) case $t in *[!A-Za-z0-9_./+,=@%:-]*) echo "badlink $p" ;; *) echo "link $p $t"; scr_chk "$t" ;; esac ;; *) echo "badlink $p" ;; esac
done
[ -z "$sx" ] || stat -c '%F|%u|%g|%a|%n' $sx || :
for u in $SCRIPT_USERS; do if getent passwd "$u" >/dev/null; then echo "user $u $(id -u "$u") $(id -G "$u")"; else echo "nouser $u"; fi; done
fi
`,
);

export function parseScripts(get: SectionReader): { scripts: ScriptFacts } {
  const f: ScriptFacts = { paths: new Map(), links: new Map(), users: new Map() };
  for (const l of get('scripts')) {
    let m: RegExpExecArray | null;
    if ((m = /^absent (\/.*)$/.exec(l))) f.paths.set(m[1]!, null);
    else if ((m = /^link (\S+) (\/\S*)$/.exec(l))) f.links.set(m[1]!, m[2]!);
    else if ((m = /^badlink (\S+)$/.exec(l))) f.links.set(m[1]!, null);
    else if ((m = /^user (\S+) (\d+) ([\d ]*)$/.exec(l)))
      f.users.set(m[1]!, { uid: Number(m[2]), groups: m[3]!.trim().split(/\s+/).filter(Boolean).map(Number) });
    else if ((m = /^nouser (\S+)$/.exec(l))) f.users.set(m[1]!, null);
    else if ((m = /^([a-z ]+)\|(\d+)\|(\d+)\|([0-7]+)\|(\/.*)$/.exec(l)))
      f.paths.set(m[5]!, { type: m[1]!, uid: Number(m[2]), gid: Number(m[3]), mode: parseInt(m[4]!, 8) });
  }
  return { scripts: f };
}

/** "/a/b/c" -> ["/", "/a", "/a/b", "/a/b/c"] */
const prefixes = (p: string) => [
  '/',
  ...p
    .split('/')
    .slice(1)
    .map((_, i, a) => '/' + a.slice(0, i + 1).join('/')),
];

/** Why keepalived's script security would not run this path (check_security): every part owned by
 * root; no part a regular file or a directory without the sticky bit that a non-root group or
 * anyone may write to. */
function insecure(path: string, f: ScriptFacts): string | undefined {
  for (const p of prefixes(path)) {
    const s = f.paths.get(p);
    const last = p === path;
    if (!s) return `${p} does not exist`;
    if (!last && s.type !== 'directory') return `${p} is not a directory`;
    if (s.uid !== 0) return `${p} is owned by uid ${s.uid}, not root`;
    const writable = (s.gid !== 0 && s.mode & 0o020) || s.mode & 0o002;
    const sticky = s.type === 'directory' && s.mode & 0o1000;
    if (writable && !sticky && s.type !== 'symbolic link')
      return `${p} is writable by ${s.mode & 0o002 ? 'everyone' : `group ${s.gid}`} (mode ${(s.mode & 0o7777).toString(8)})`;
  }
  return undefined;
}

/** What would stop keepalived running each script on this host, as "field: reason" lines. */
export function scriptProblems(scripts: DirectorScript[], f: ScriptFacts): string[] {
  const out: string[] = [];
  const seenUsers = new Set<string>();
  for (const s of scripts) {
    const at = `${formatPath(s.field)} (${s.path})`;
    const users = f.users.get(s.user);
    if (users === null && !seenUsers.has(s.user))
      out.push(`${at}: the user ${s.user} it runs as does not exist here (getent passwd ${s.user})`);
    seenUsers.add(s.user);
    const st = f.paths.get(s.path);
    if (!st) {
      out.push(`${at}: the script does not exist here`);
      continue;
    }
    const why = insecure(s.path, f);
    if (why) {
      out.push(`${at}: keepalived's script security would not run it: ${why}`);
      continue;
    }
    const link = f.links.get(s.path);
    let real = s.path;
    if (st.type === 'symbolic link') {
      if (!link) {
        out.push(`${at}: a symlink to a path lvsctl cannot check (or one that does not resolve)`);
        continue;
      }
      const whyTarget = insecure(link, f);
      if (whyTarget) {
        out.push(`${at}: it links to ${link}, and keepalived's script security would not run that: ${whyTarget}`);
        continue;
      }
      real = link;
    }
    const target = f.paths.get(real)!;
    if (!target.type.startsWith('regular')) {
      out.push(`${at}: not a regular file (${target.type})`);
      continue;
    }
    if (users && !executableBy(target, users))
      out.push(`${at}: not executable by ${s.user} (mode ${(target.mode & 0o7777).toString(8)})`);
  }
  return out;
}

/** As execve decides it for this user (root: any x bit; the file is root's, checked above). */
function executableBy(s: PathStat, u: { uid: number; groups: number[] }): boolean {
  if (u.uid === 0) return (s.mode & 0o111) !== 0;
  return (s.mode & 0o001) !== 0 || ((s.mode & 0o010) !== 0 && u.groups.includes(s.gid));
}
