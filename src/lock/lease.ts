// The run lock on one host, as a lease: /run/lvsctl/lock names the run that holds it and when the
// lease ends on the host's own clock (so controllers' clocks never matter). The holder renews it
// while it runs; a holder killed with SIGKILL or cut off stops renewing and the lease ends by
// itself. Check-and-write happens under flock(1) on a guard file, so two runs never both take it.
// /run is a tmpfs: a reboot, which ends any run's work on the host, ends its lease too. Pure: the
// script text and the parse of what it prints.
import { sh, Shell } from '../util/quote.js';
import { printable } from '../util/printable.js';
import { fragment } from '../resources/types.js';

export const LOCK_DIR = '/run/lvsctl';
export const LOCK_FILE = `${LOCK_DIR}/lock`;
/** Seconds: a killed run holds others up at most this long (renewed every third of it). */
export const DEFAULT_LOCK_TTL = 30;
/** Seconds a lease must have left to be let go of without the guard (lease script). */
const RELEASE_MARGIN = 5;

/** Who holds a lease: shown to the run that is refused. */
export interface Holder {
  user: string;
  controller: string; // the host lvsctl runs on
  pid: number;
  command: string;
  cluster: string;
  since: string; // ISO time the run took the lock
}

export interface Lease extends Holder {
  id: string;
  /** Seconds until the lease ends (negative: ended that long ago), on the host's clock. */
  expiresIn: number;
}

export type LeaseOp = 'acquire' | 'renew' | 'release';

export type LeaseAnswer =
  | { kind: 'acquired'; expired?: Lease } // `expired`: a lease that had ended, now replaced
  | { kind: 'held'; by: Lease }
  | { kind: 'renewed' }
  | { kind: 'lost'; by?: Lease }
  | { kind: 'released' };

const FIELDS = ['user', 'controller', 'pid', 'command', 'cluster', 'since'] as const;

/** The holder lines as written in the lease file (one line each, nothing that breaks a line). */
export function holderLines(h: Holder): string {
  return FIELDS.map((k) => `${k} ${printable(String(h[k]), 200)}\n`).join('');
}

// Built-ins where they do (each process costs milliseconds on a busy host, and this runs on every
// host of every changing command): the file is read with `read`, the clock only when it is needed.
// The lease file: "id ID", "expires EPOCH", then the holder lines. It prints "@@<answer> <seconds>"
// and, where another run is involved, that run's lease file after it.
const SCRIPT = String.raw`
umask 077
d=${LOCK_DIR} f=${LOCK_FILE}
[ -d "$d" ] || mkdir -p "$d" || exit 1
rd() {
  hid= exp=0 body= raw=
  [ -r "$f" ] || return 0
  while IFS= read -r l || [ -n "$l" ]; do
    raw="$raw$l
"
    case $l in 'id '*) hid=${'$'}{l#id } ;; 'expires '*) exp=${'$'}{l#expires } ;; *) body="$body$l
" ;; esac
  done <"$f"
  case $exp in ''|*[!0-9]*) exp=0 ;; esac
}
# bash 5 has the clock built in (no date process where the login shell is bash)
clock() { now=${'$'}{EPOCHSECONDS:-$(date +%s)}; }
# Letting go of this run's own lease needs no guard (no flock process) while the lease has
# ${RELEASE_MARGIN} s left and no renewal of it is in flight (the run says so: FAST=1). No other run can
# take a live lease, so nothing writes the file between this read and the truncation.
if [ "$OP" = release ] && [ "$FAST" = 1 ]; then
  rd; clock
  [ "$hid" = "$ID" ] || { echo '@@released'; exit 0; }
  if [ "$exp" -gt "$((now + ${RELEASE_MARGIN}))" ]; then : >"$f"; echo '@@released'; exit 0; fi
fi
command -v flock >/dev/null 2>&1 || { echo 'flock(1) is not installed (util-linux): lvsctl cannot lock this host' >&2; exit 1; }
exec 9>>"$d/guard"
flock -w 15 9 || { echo 'the lock guard of this host stayed busy for 15 s' >&2; exit 1; }
rd
now=0; [ "$OP" = release ] || clock
# In place (no mv process): only runs holding the guard write it; plan and status read it to show it.
write() { printf 'id %s\nexpires %s\n%s' "$ID" "$((now + TTL))" "$1" >"$f"; }
case $OP in
acquire)
  if [ -n "$hid" ] && [ "$hid" != "$ID" ]; then
    if [ "$exp" -gt "$now" ]; then echo "@@held $((exp - now))"; printf '%s' "$raw"; exit 0; fi
    echo "@@expired $((exp - now))"; printf '%s' "$raw"
  fi
  write "$HOLDER" && echo '@@acquired' ;;
renew)
  if [ -n "$hid" ] && [ "$hid" = "$ID" ]; then write "$body" && echo '@@renewed'
  else echo "@@lost $((exp - now))"; printf '%s' "$raw"; fi ;;
release)
  [ -n "$hid" ] && [ "$hid" = "$ID" ] && : >"$f"; echo '@@released' ;;
esac
`;

/** The command for one operation on the host's lease. `fast`: a release may skip the guard (no
 * renewal of this run's is in flight on the host); unset, it inherits the calling script's $FAST. */
export function leaseCommand(op: LeaseOp, id: string, ttlSeconds: number, holder: Holder, fast?: boolean): Shell {
  const f = fast === undefined ? sh`` : sh` FAST=${fast ? '1' : '0'}`;
  // In a subshell of the command's own shell (a fork, no exec): it exits and takes a lock fd.
  return sh`(OP=${op} ID=${id} TTL=${ttlSeconds}${f} HOLDER=${holderLines(holder)}${new Shell(SCRIPT)})`;
}

/** Printed by a facts command that took the lease, before it waits for the run's word (HOLD). */
export const HOLD_MARK = '@@lvsctl hold';

/** The words a facts command that holds the lease waits for: let go of it (with the guard while a
 * renewal of the run's may be in flight on the host). */
export const RELEASE_WORD = { fast: 'release', guarded: 'release-guarded' } as const;

/** The end of a facts command that took the lease: it waits on its stdin for the run's word, and on
 * a RELEASE_WORD lets go of the lease there and then (no session of its own: lock/locks.ts).
 * Anything else, or stdin closed, keeps it. `facts` runs with stdin from /dev/null, so none of it
 * can eat the word. */
export function holdingFacts(facts: Shell, id: string, ttlSeconds: number, holder: Holder): Shell {
  return sh`{
${facts}
} </dev/null
echo ${HOLD_MARK}
IFS= read -r w || :
case $w in ${RELEASE_WORD.fast}) FAST=1 ;; ${RELEASE_WORD.guarded}) FAST=0 ;; *) w= ;; esac
[ -z "$w" ] || ${leaseCommand('release', id, ttlSeconds, holder)}`;
}

/** A lease file's text (and its seconds left) as a Lease; undefined when it is not one. */
export function parseLease(text: string, expiresIn: number): Lease | undefined {
  const kv = new Map<string, string>();
  for (const l of text.split('\n')) {
    const m = /^([a-z]+) (.*)$/.exec(l);
    if (m) kv.set(m[1]!, m[2]!);
  }
  const id = kv.get('id');
  if (!id) return undefined;
  return {
    id,
    expiresIn,
    user: kv.get('user') ?? '?',
    controller: kv.get('controller') ?? '?',
    pid: Number(kv.get('pid') ?? 0),
    command: kv.get('command') ?? '?',
    cluster: kv.get('cluster') ?? '?',
    since: kv.get('since') ?? '?',
  };
}

/** What the script printed, as an answer. */
export function parseAnswer(stdout: string): LeaseAnswer {
  const m = /^@@(acquired|held|expired|renewed|lost|released)(?: (-?\d+))?$/m.exec(stdout);
  if (!m) throw new Error(`the lock script printed no answer: ${stdout.trim().slice(0, 200)}`);
  const after = stdout.slice(m.index + m[0].length);
  const other = parseLease(after.split(/^@@/m)[0]!, Number(m[2] ?? 0));
  const kind = m[1] as 'acquired' | 'held' | 'expired' | 'renewed' | 'lost' | 'released';
  switch (kind) {
    case 'held':
      if (!other) throw new Error('the lock script reported a holder it did not print');
      return { kind: 'held', by: other };
    case 'expired':
      if (!/^@@acquired$/m.test(after))
        throw new Error(`taking over an ended lease failed: ${stdout.trim().slice(-200)}`);
      return { kind: 'acquired', ...(other ? { expired: other } : {}) };
    case 'lost':
      return { kind: 'lost', ...(other ? { by: other } : {}) };
    case 'acquired':
    case 'renewed':
    case 'released':
      return { kind };
  }
}

/** "alice on ci-3 (pid 4242, lvsctl up, cluster www) since 2026-12-03T10:00:00Z" */
export function describeHolder(l: Lease): string {
  return `${l.user} on ${l.controller} (pid ${l.pid}, lvsctl ${l.command}, cluster ${l.cluster}) since ${l.since}`;
}

/** The facts section that shows plan and status whether a run holds the host's lock (they take
 * none): the host's clock, then the lease file. Nothing when the lease is the reading run's own
 * ($RUN_ID: it took it with these facts), which saves a process on every host. */
export const lockFacts = fragment(
  ['lock'],
  String.raw`s lock; [ -s ${LOCK_FILE} ] && { l=; read -r l <${LOCK_FILE}; [ -n "$RUN_ID" ] && [ "$l" = "id $RUN_ID" ] || { echo "now $(date +%s)"; cat_ ${LOCK_FILE}; }; }
`,
);

/** A live lease on the host (one that has ended holds nobody up), from the lock section. */
export function parseLockFacts(get: (s: 'lock') => string[]): { lock: Lease | null } {
  const lines = get('lock');
  const now = Number(/^now (\d+)$/.exec(lines[0] ?? '')?.[1]);
  const expires = Number(lines.map((l) => /^expires (\d+)$/.exec(l)?.[1]).find((x) => x) ?? NaN);
  const lease =
    Number.isFinite(now) && Number.isFinite(expires) ? parseLease(lines.join('\n'), expires - now) : undefined;
  return { lock: lease && lease.expiresIn > 0 ? lease : null };
}
