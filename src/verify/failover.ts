// verify --failover: stop keepalived on the director holding the VIP while a client polls the VIP
// every 0.2 s, time how long until the next director (highest priority still running) holds it; in
// a group of more than two, stop that one too, until one is left. Count the failed requests, start
// keepalived again and see where the VIP ends up (back on the MASTER with preemption, on the last
// taker with nopreempt). Active-active (a master per VRRP instance): the VIP's instance decides who
// holds and takes it, and the VIPs the other directors hold must stay where they are.
import {
  instanceMaster,
  instanceMembers,
  instanceOfVip,
  type Cluster,
  type ResolvedService,
} from '../inventory/model.js';
import type { HostConnection } from '../ssh/connection.js';
import { sh } from '../util/quote.js';
import { destinationKey, urlHost } from '../identity/service.js';
import { parseList } from '../ipvs/list.js';
import { keepalivedCommand } from '../apply/commands.js';
import { sameAddress } from '../identity/address.js';
import { connTableFilter, parseConnTable } from './conntable.js';
import { SourcePorts } from './source-ports.js';
import { sleep, whileChanging } from '../util/interrupt.js';

/** The long download of verify.failover.download across the takeover (sync daemon only). */
export interface LongConnection {
  path: string;
  bytes: number;
  /** Content-Length, or null when the answer had none */
  expected: number | null;
  /** curl finished without error and got every byte announced */
  completed: boolean;
  /** and the bytes are the ones a download without failover gets (same sha256) */
  exact: boolean;
  /** when the download ended, in seconds after keepalived was stopped (takeover and restart times
   * are in the result beside it) */
  endedSeconds: number;
  /** seconds from the download's start until every other director held its entry (the sync
   * daemon's copy); null: it never did, within SYNC_WAIT_MS */
  syncedSeconds: number | null;
}

/** One takeover: keepalived stopped on the holder, and who held the VIP next. */
export interface TakeoverStep {
  stopped: string;
  /** the highest priority of the directors still running */
  expected: string;
  takeover: string | null;
  /** from the stop until `expected` held the VIP; null: it never did (within 10 s) */
  takeoverSeconds: number | null;
}

/** A VIP held by a director that was not stopped: it must not move. */
export interface UnmovedVip {
  vip: string;
  instance: string;
  holder: string;
  /** who held it after the takeover(s) */
  after: string | null;
}

export interface FailoverResult {
  vip: string;
  /** the VRRP instance that carries the VIP */
  instance?: string;
  /** the VIPs the other directors held, read again after the takeover(s) */
  others?: UnmovedVip[];
  stopped: string; // the director that held the VIP
  takeover: string | null; // the director that took it
  takeoverSeconds: number | null;
  /** every takeover in order: one for a pair, N - 1 for a group of N (the first is also above) */
  steps: TakeoverStep[];
  requests: number;
  failed: number;
  endHolder: string | null;
  expectedEndHolder: string;
  ok: boolean;
  problems: string[];
  longConnection?: LongConnection;
  /** seconds after the stop when keepalived was started again on the stopped director */
  restartedSeconds?: number;
}

export const FAILOVER_LIMITS = { seconds: 3, failed: 3 };

// The sync master sends a connection after its third packet, from a buffer flushed at least every
// 2 s; a takeover before the copy is on the other director breaks the connection (measured in the
// lab with a fixed 4 s head start: the new MASTER has no entry for it). So the takeover waits until
// the other directors hold the download's entry.
const SYNC_WAIT_MS = 15_000;

/** Until `dir`'s table holds an established entry from one of `ports` to the VIP: seconds, or null. */
async function syncedTo(dir: HostConnection, vip: string, ports: number[], t0: number): Promise<number | null> {
  while (Date.now() - t0 < SYNC_WAIT_MS) {
    const entries = parseConnTable((await dir.exec(connTableFilter(ports))).stdout);
    if (entries.some((e) => e.state === 'ESTABLISHED' && sameAddress(e.virtual.address, vip)))
      return (Date.now() - t0) / 1000;
    await sleep(250);
  }
  return null;
}

async function holds(conn: HostConnection, vip: string): Promise<boolean> {
  const r = await conn.exec(sh`ip -o addr show to ${vip}`);
  return r.stdout.trim() !== '';
}

// All directors at once: a takeover is timed to the poll, and a group has up to eight.
async function holder(dirs: Map<string, HostConnection>, vip: string): Promise<string | null> {
  const held = await Promise.all([...dirs].map(async ([name, c]) => ((await holds(c, vip)) ? name : null)));
  return held.find((h) => h !== null) ?? null;
}

export async function waitFor(
  dirs: Map<string, HostConnection>,
  vip: string,
  want: (h: string | null) => boolean,
  timeoutMs: number,
): Promise<string | null> {
  const end = Date.now() + timeoutMs;
  let h = await holder(dirs, vip);
  while (!want(h) && Date.now() < end) {
    await sleep(100);
    h = await holder(dirs, vip);
  }
  return h;
}

/** Who takes an instance's VIPs over when `stopped` go down: its highest priority still running. */
export function nextHolder(cluster: Cluster, stopped: ReadonlySet<string>, instance?: string): string | undefined {
  const running = instanceMembers(cluster, instance).filter((m) => !stopped.has(m.host));
  return running.length ? running.reduce((a, b) => (b.priority > a.priority ? b : a)).host : undefined;
}

export async function failover(
  cluster: Cluster,
  client: HostConnection,
  dirs: Map<string, HostConnection>,
  init: Map<string, 'systemd' | 'sysv'>,
  s: ResolvedService,
): Promise<FailoverResult> {
  const vip = s.vip.address;
  const instance = instanceOfVip(cluster, s);
  const problems: string[] = [];
  const start = await waitFor(dirs, vip, (h) => h !== null, 10_000);
  if (!start) throw new Error(`no director holds the VIP ${vip}`);
  const otherVips = vipInstances(cluster).filter((v) => v.vip !== vip);
  const before = await Promise.all(otherVips.map((v) => holder(dirs, v.vip)));
  // A group of N directors fails over N - 1 times: each holder is stopped in turn (the others still
  // running) until one director is left, so every backup shows it takes the VIP.
  const steps = dirs.size - 1;
  const firstTaker = nextHolder(cluster, new Set([start]), instance)!;
  const url = `http://${urlHost(vip)}:${s.port ?? 80}/`;
  // With the sync daemon, connections survive a takeover: one long download proves it, from a
  // source port chosen here (and the next one), so its entry is found on the other directors.
  const long = cluster.directors.sync_daemon && cluster.verify?.failover;
  const longUrl = long ? `http://${urlHost(vip)}:${s.port ?? 80}${long.download}` : '';
  const longPort = long ? (await SourcePorts.of(client)).take(2) : 0;
  const longPorts = long ? [longPort, longPort + 1] : [];
  let downloadEnded = 0;
  const downloadStarted = Date.now();
  const downloading = long
    ? client
        .exec(downloadCommand(longUrl, { rateKib: long.rate_kib, ports: longPorts }), { timeoutSec: 900 })
        .then((r) => ((downloadEnded = Date.now()), r))
    : undefined;
  const others = [...dirs.keys()].filter((d) => d !== start);
  const synced = downloading
    ? await Promise.all(others.map((d) => syncedTo(dirs.get(d)!, vip, longPorts, downloadStarted)))
    : [];
  const syncedSeconds = !downloading || synced.includes(null) ? null : Math.max(...(synced as number[]));
  if (downloading && syncedSeconds === null)
    problems.push(
      `the sync daemon did not copy the download's connection to ${others.filter((_, i) => synced[i] === null).join(', ')} within ${SYNC_WAIT_MS / 1000} s`,
    );
  // The client polls for about 8 s in the background (4 s more per further takeover), one line per request.
  const polls = 40 + 20 * (steps - 1);
  const polling = client.exec(
    sh`i=0; while [ "$i" -lt ${String(polls)} ]; do i=$((i+1)); if curl -g -s -m 1 -o /dev/null ${url}; then echo ok; else echo FAIL; fi; sleep 0.2; done`,
    { timeoutSec: 120 + 30 * steps },
  );
  await sleep(1500);
  const t0 = Date.now();
  const stopped = new Set<string>();
  // Stopping keepalived is a change: a signal lets it finish, and keepalived is started again.
  const {
    taken,
    lines,
    others: unmoved,
    restartedSeconds,
  } = await whileChanging(async () => {
    const taken: TakeoverStep[] = [];
    try {
      let holding = start;
      for (let i = 0; i < steps; i++) {
        if (i > 0) await sleep(1500); // traffic flows through the new holder before it goes too
        const tStop = Date.now();
        stopped.add(holding);
        await dirs.get(holding)!.exec(keepalivedCommand(init.get(holding)!, 'stop'));
        const expected = nextHolder(cluster, stopped, instance)!;
        const took = await waitFor(dirs, vip, (h) => h === expected, 10_000);
        taken.push({
          stopped: holding,
          expected,
          takeover: took,
          takeoverSeconds: took === expected ? (Date.now() - tStop) / 1000 : null,
        });
        if (took !== expected) break;
        holding = expected;
      }
      const lines = (await polling).stdout.trim().split('\n');
      // Read after the polling: a VIP that wrongly followed the stopped director has moved by then.
      const others = await Promise.all(
        otherVips.flatMap((v, i) => {
          const h = before[i];
          return h && !stopped.has(h) ? [holder(dirs, v.vip).then((after) => ({ ...v, holder: h, after }))] : [];
        }),
      );
      return { taken, lines, others, restartedSeconds: (Date.now() - t0) / 1000 };
    } finally {
      await Promise.all([...stopped].map((h) => dirs.get(h)!.exec(keepalivedCommand(init.get(h)!, 'start'))));
    }
  });
  const nopreempt = cluster.directors.vrrp?.nopreempt ?? false;
  // With nopreempt the last director to take the VIP keeps it; otherwise the highest priority takes it back.
  const expectedEndHolder = nopreempt
    ? (taken.at(-1)?.takeover ?? firstTaker)
    : nextHolder(cluster, new Set(), instance)!;
  const endHolder = await waitFor(dirs, vip, (h) => h === expectedEndHolder, 15_000);
  const failed = lines.filter((l) => l === 'FAIL').length;
  const failedLimit = FAILOVER_LIMITS.failed * steps;
  let longConnection: LongConnection | undefined;
  if (downloading) {
    const across = parseDownload((await downloading).stdout);
    const reference = parseDownload((await client.exec(downloadCommand(longUrl), { timeoutSec: 900 })).stdout);
    longConnection = {
      path: long ? long.download : '',
      bytes: across.bytes,
      expected: across.expected,
      completed: across.completed,
      exact: across.completed && reference.completed && across.sha === reference.sha,
      endedSeconds: (downloadEnded - t0) / 1000,
      syncedSeconds,
    };
    if (!longConnection.exact)
      problems.push(
        `the download of ${longConnection.path} across the takeover ${longConnection.completed ? 'differs from one without failover' : `broke off at ${across.bytes} of ${across.expected ?? '?'} bytes`}`,
      );
  }
  for (const t of taken)
    if (t.takeoverSeconds === null)
      problems.push(
        `${t.expected} never took the VIP over from ${t.stopped}${t.takeover ? ` (it is on ${t.takeover})` : ''}`,
      );
    else if (t.takeoverSeconds > FAILOVER_LIMITS.seconds)
      problems.push(
        `takeover ${taken.length > 1 ? `by ${t.expected} ` : ''}took ${t.takeoverSeconds.toFixed(1)} s (limit ${FAILOVER_LIMITS.seconds} s)`,
      );
  for (const o of unmoved)
    if (o.after !== o.holder)
      problems.push(
        `VIP ${o.vip} of instance ${o.instance} moved from ${o.holder} to ${o.after ?? 'no director'} although ${o.holder} kept running`,
      );
  if (failed > failedLimit) problems.push(`${failed} of ${lines.length} requests failed (limit ${failedLimit})`);
  if (endHolder !== expectedEndHolder)
    problems.push(
      `after ${[...stopped].join(' and ')} came back the VIP is on ${endHolder ?? 'no director'}, expected ${expectedEndHolder}${nopreempt ? ' (nopreempt)' : ' (preemption)'}`,
    );
  const first = taken[0];
  return {
    vip,
    ...(instance !== undefined && { instance, others: unmoved }),
    stopped: start,
    takeover: first?.takeover ?? null,
    takeoverSeconds: first?.takeoverSeconds ?? null,
    steps: taken,
    requests: lines.length,
    failed,
    endHolder,
    expectedEndHolder,
    ok: !problems.length,
    problems,
    ...(longConnection ? { longConnection, restartedSeconds } : {}),
  };
}

/** A download to a temp file on the client: curl's exit status, the bytes, Content-Length, sha256. */
function downloadCommand(url: string, o: { rateKib?: number; ports?: number[] } = {}) {
  const rate = o.rateKib ? ['--limit-rate', `${o.rateKib}k`] : [];
  const ports = o.ports?.length ? ['--local-port', `${Math.min(...o.ports)}-${Math.max(...o.ports)}`] : [];
  return sh`f=$(mktemp) || exit 1; rc=0; curl -g -s -m 600 ${rate} ${ports} -D "$f.h" -o "$f" ${url} || rc=$?; len=$(tr -d '\r' < "$f.h" | awk 'tolower($1) == "content-length:" { n = $2 } END { print n }'); [ -n "$len" ] || len=none; echo "@@download rc=$rc bytes=$(wc -c < "$f") length=$len sha=$(sha256sum < "$f" | cut -c1-64)"; rm -f "$f" "$f.h"`;
}

export function parseDownload(out: string): {
  completed: boolean;
  bytes: number;
  expected: number | null;
  sha: string;
} {
  const m = /@@download rc=(\d+) bytes=\s*(\d+) length=(\S+) sha=([0-9a-f]{64})/.exec(out);
  if (!m) return { completed: false, bytes: 0, expected: null, sha: '' };
  const expected = /^\d+$/.test(m[3]!) ? Number(m[3]) : null;
  const bytes = Number(m[2]);
  return { completed: m[1] === '0' && (expected === null || bytes === expected), bytes, expected, sha: m[4]! };
}

/** After keepalived (re)started, let it settle before anything is measured: the expected director
 * holds every VIP (VRRP) and the IPVS table holds every real server of every keepalived service.
 * Just after a start the checkers may still be taking servers out and back (a sorry server may stand
 * in for all of them), which verify would count against the balance. A server that stays down is
 * waited for until the timeout, then verify names it. */
export async function settleKeepalived(
  cluster: Cluster,
  dirs: Map<string, HostConnection>,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  // With nopreempt any director may keep a VIP; otherwise its instance's highest priority takes it.
  const nopreempt = cluster.directors.vrrp?.nopreempt;
  let holderName: string | null = cluster.directors.members[0]!.host;
  if (cluster.directors.vrrp)
    for (const v of vipInstances(cluster)) {
      const master = instanceMaster(cluster, v.instance);
      const want = (h: string | null) => (nopreempt ? h !== null : h === master);
      holderName = await waitFor(dirs, v.vip, want, Math.max(0, end - Date.now()));
    }
  const conn = holderName ? dirs.get(holderName) : undefined;
  const tables = cluster.services
    .filter((s) => s.engine === 'keepalived')
    .map((s) => ({ id: s.id, dests: s.realServers.map(destinationKey) }));
  while (conn && tables.length && Date.now() < end) {
    const live = parseList((await conn.exec(sh`ipvsadm -Ln`)).stdout);
    if (tables.every((w) => w.dests.every((d) => live.get(w.id)?.has(d)))) return;
    await sleep(300);
  }
}

/** Each VIP once, with the VRRP instance that carries it. */
export function vipInstances(cluster: Cluster): { vip: string; instance: string }[] {
  const out: { vip: string; instance: string }[] = [];
  for (const s of cluster.services)
    if (!out.some((v) => v.vip === s.vip.address))
      out.push({ vip: s.vip.address, instance: instanceOfVip(cluster, s) ?? '' });
  return out;
}
