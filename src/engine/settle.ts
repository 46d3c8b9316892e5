// After a director's keepalived was reloaded or started (a rolling change, plan/rolling.ts): wait
// until keepalived has taken the new config, its VRRP state has stayed the same for the window and
// its virtual services are complete. Only reads the director (and asks keepalived for a data dump).
import { MANAGED_PATHS } from '../render/paths.js';
import type { HostConnection } from '../ssh/connection.js';
import { parseList } from '../ipvs/list.js';
import { parseAddr } from '../resources/addresses.js';
import { judgeSettle, type SettleExpect } from '../plan/rolling.js';
import { sleep } from '../util/interrupt.js';
import { sh } from '../util/quote.js';
import { ApplyError, type HostRun } from './host.js';
import { commandFor } from '../apply/commands.js';

const KEEPALIVED_CONF = MANAGED_PATHS.keepalived;

export const SETTLE_STEP = 'keepalived settle';

/** Beyond the window: how long a director may take to settle before the roll stops. A test may
 * shorten it (LVSCTL_TEST_SETTLE_TIMEOUT_MS, 1000 to 30000): the lab's failing roll waits less. */
export const SETTLE_TIMEOUT_MS = testTimeout(process.env.LVSCTL_TEST_SETTLE_TIMEOUT_MS) ?? 30_000;

function testTimeout(v: string | undefined): number | undefined {
  const n = Number(v);
  return v && Number.isInteger(n) && n >= 1000 && n <= 30_000 ? n : undefined;
}

// keepalived's processes handle signals in order, one event at a time: a data dump asked for (SIGUSR1)
// after the reload's SIGHUP is written once each child has processed the reload. The parent is the
// keepalived whose parent is no keepalived; each child (VRRP, checkers, BFD) writes one file to
// $TMPDIR or /tmp as keepalived sees it (/proc/PID/root: also a service's private /tmp).
const RELOADED = sh`all=" $(pidof keepalived) "; p=; n=0
for x in $all; do
  pp=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$x/status" 2>/dev/null)
  case "$all" in *" $pp "*) n=$((n + 1)) ;; *) p=$x ;; esac
done
[ -n "$p" ] || { echo '@@not-running'; exit 0; }
t=$(tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | sed -n 's|^TMPDIR=\(/.*\)|\1|p'); [ -n "$t" ] || t=/tmp
d=/proc/$p/root$t; set -- "$d/keepalived.data" "$d/keepalived_check.data" "$d/keepalived_bfd.data"
rm -f "$@"; kill -USR1 "$p"; i=0
while :; do
  k=0; for f in "$@"; do [ -s "$f" ] && k=$((k + 1)); done
  [ "$k" -ge "$n" ] && break
  i=$((i + 1)); [ "$i" -le 100 ] || { echo "@@no-dump $k of $n"; rm -f "$@"; exit 0; }
  sleep 0.1
done
rm -f "$@"; echo '@@reloaded'`;

const SAMPLE = sh`ip -o addr show; echo @@ipvs; ipvsadm -Ln 2>/dev/null`;
// The first sample rides on the reload check: one round trip fewer per director.
const RELOADED_THEN_SAMPLE = sh`${RELOADED}
echo @@sample; ${SAMPLE}`;

export interface Settled {
  /** "MASTER of VI_1", "BACKUP of VI_1" */
  holds: string;
  seconds: number;
  /** false: keepalived wrote no data dump within 10 s, so its reload is known only from the window */
  confirmed: boolean;
}

export async function settleDirector(
  conn: HostConnection,
  e: SettleExpect,
  say: (line: string) => void,
  timeoutMs = SETTLE_TIMEOUT_MS,
): Promise<Settled> {
  const t0 = Date.now();
  let confirmed = true;
  let first: string | undefined;
  if (e.step === 'reload') {
    const [out = '', sample] = (await conn.exec(RELOADED_THEN_SAMPLE)).stdout.split('@@sample\n');
    first = sample;
    if (out.includes('@@not-running'))
      throw new ApplyError(SETTLE_STEP, 'keepalived is not running after its reload (its log says why)');
    confirmed = out.includes('@@reloaded');
    if (!confirmed) say(`keepalived wrote no data dump (${out.trim()}): waiting for the VRRP window instead`);
  }
  const end = Date.now() + e.windowMs + timeoutMs;
  const look = async (text?: string) => {
    const [addr = '', ipvs = ''] = (text ?? (await conn.exec(SAMPLE)).stdout).split('@@ipvs\n');
    return judgeSettle(e, { addresses: parseAddr(addr.split('\n')).map((a) => a.address), list: parseList(ipvs) });
  };
  let { holds, problems } = await look(first);
  let last = `${holds}; ${problems.join('; ')}`;
  let since = Date.now();
  while (problems.length || Date.now() - since < e.windowMs) {
    if (Date.now() > end) break;
    await sleep(250);
    ({ holds, problems } = await look());
    const state = `${holds}; ${problems.join('; ')}`;
    if (state === last) continue;
    say(`VRRP/table now: ${state.replace(/; $/, '')}`);
    last = state;
    since = Date.now();
  }
  if (!problems.length && Date.now() - since >= e.windowMs)
    return { holds, seconds: (Date.now() - t0) / 1000, confirmed };
  throw new ApplyError(
    SETTLE_STEP,
    problems.length
      ? `not settled ${Math.round((Date.now() - t0) / 1000)} s after keepalived's ${e.step}: ${problems.join('; ')}`
      : `its VRRP state kept changing for ${Math.round((Date.now() - t0) / 1000)} s after keepalived's ${e.step} (now ${holds})`,
  );
}

/** A director that did not settle gets its previous keepalived.conf back (written atomically, then
 * reloaded), so a standby holds no config that failed: what happened is returned for the report. */
export async function putBack(conn: HostConnection, run: HostRun): Promise<string> {
  const old = run.facts.contents.get(KEEPALIVED_CONF);
  const was = run.facts.files.get(KEEPALIVED_CONF);
  if (old === undefined || !was) return 'its previous keepalived.conf is not known, so it keeps the new one';
  try {
    await conn.writeFile(KEEPALIVED_CONF, old, { mode: was.mode, owner: was.owner, group: was.group });
    const r = await conn.exec(commandFor({ kind: 'keepalived', action: 'reload' }, run.facts));
    if (r.code !== 0) return `its previous keepalived.conf was put back, but the reload failed (exit ${r.code})`;
    return 'its previous keepalived.conf was put back and keepalived reloaded';
  } catch (e) {
    return `putting its previous keepalived.conf back failed: ${(e as Error).message}`;
  }
}
