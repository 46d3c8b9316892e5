// verify --failover: stop keepalived on the director holding the VIP while a client polls the VIP
// every 0.2 s, time how long until the other director holds it, count the failed requests, start
// keepalived again and see where the VIP ends up (back on the MASTER with preemption, on the
// BACKUP with nopreempt).
import type { Cluster, ResolvedService } from '../inventory/model.js';
import type { HostConnection } from '../ssh/connection.js';
import { sh } from '../util/quote.js';
import { urlHost } from '../identity/service.js';
import { parseList } from '../ipvs/list.js';
import { keepalivedCommand } from '../apply/commands.js';
import { sameAddress } from '../identity/address.js';
import { connTableFilter, parseConnTable } from './conntable.js';
import { randomFirstPort } from './probe.js';
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
  /** seconds from the download's start until the other director held its entry (the sync
   * daemon's copy); null: it never did, within SYNC_WAIT_MS */
  syncedSeconds: number | null;
}

export interface FailoverResult {
  vip: string;
  stopped: string; // the director that held the VIP
  takeover: string | null; // the director that took it
  takeoverSeconds: number | null;
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
// the other director holds the download's entry.
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

async function holder(dirs: Map<string, HostConnection>, vip: string): Promise<string | null> {
  for (const [name, c] of dirs) if (await holds(c, vip)) return name;
  return null;
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

export async function failover(
  cluster: Cluster,
  client: HostConnection,
  dirs: Map<string, HostConnection>,
  init: Map<string, 'systemd' | 'sysv'>,
  s: ResolvedService,
): Promise<FailoverResult> {
  const vip = s.vip.address;
  const problems: string[] = [];
  const start = await waitFor(dirs, vip, (h) => h !== null, 10_000);
  if (!start) throw new Error(`no director holds the VIP ${vip}`);
  const other = [...dirs.keys()].find((d) => d !== start)!;
  const url = `http://${urlHost(vip)}:${s.port ?? 80}/`;
  // With the sync daemon, connections survive a takeover: one long download proves it, from a
  // source port chosen here (and the next one), so its entry is found on the other director.
  const long = cluster.directors.sync_daemon && cluster.verify?.failover;
  const longUrl = long ? `http://${urlHost(vip)}:${s.port ?? 80}${long.download}` : '';
  const longPorts = [randomFirstPort() & ~1].flatMap((p) => [p, p + 1]);
  let downloadEnded = 0;
  const downloadStarted = Date.now();
  const downloading = long
    ? client
        .exec(downloadCommand(longUrl, { rateKib: long.rate_kib, ports: longPorts }), { timeoutSec: 900 })
        .then((r) => ((downloadEnded = Date.now()), r))
    : undefined;
  const syncedSeconds = downloading ? await syncedTo(dirs.get(other)!, vip, longPorts, downloadStarted) : null;
  if (downloading && syncedSeconds === null)
    problems.push(`the sync daemon did not copy the download's connection to ${other} within ${SYNC_WAIT_MS / 1000} s`);
  // The client polls for about 8 s in the background, one line per request.
  const polling = client.exec(
    sh`i=0; while [ "$i" -lt 40 ]; do i=$((i+1)); if curl -g -s -m 1 -o /dev/null ${url}; then echo ok; else echo FAIL; fi; sleep 0.2; done`,
    { timeoutSec: 120 },
  );
  await sleep(1500);
  const t0 = Date.now();
  // Stopping keepalived is a change: a signal lets it finish, and keepalived is started again.
  const { took, takeoverSeconds, lines, restartedSeconds } = await whileChanging(async () => {
    try {
      await dirs.get(start)!.exec(keepalivedCommand(init.get(start)!, 'stop'));
      const took = await waitFor(dirs, vip, (h) => h === other, 10_000);
      const takeoverSeconds = took === other ? (Date.now() - t0) / 1000 : null;
      const lines = (await polling).stdout.trim().split('\n');
      return { took, takeoverSeconds, lines, restartedSeconds: (Date.now() - t0) / 1000 };
    } finally {
      await dirs.get(start)!.exec(keepalivedCommand(init.get(start)!, 'start'));
    }
  });
  const nopreempt = cluster.directors.vrrp?.nopreempt ?? false;
  const master = cluster.directors.members.reduce((a, b) => (b.priority > a.priority ? b : a)).host;
  const expectedEndHolder = nopreempt ? other : master;
  const endHolder = await waitFor(dirs, vip, (h) => h === expectedEndHolder, 15_000);
  const failed = lines.filter((l) => l === 'FAIL').length;
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
  if (takeoverSeconds === null) problems.push(`${other} never took the VIP over`);
  else if (takeoverSeconds > FAILOVER_LIMITS.seconds)
    problems.push(`takeover took ${takeoverSeconds.toFixed(1)} s (limit ${FAILOVER_LIMITS.seconds} s)`);
  if (failed > FAILOVER_LIMITS.failed)
    problems.push(`${failed} of ${lines.length} requests failed (limit ${FAILOVER_LIMITS.failed})`);
  if (endHolder !== expectedEndHolder)
    problems.push(
      `after ${start} came back the VIP is on ${endHolder ?? 'no director'}, expected ${expectedEndHolder}${nopreempt ? ' (nopreempt)' : ' (preemption)'}`,
    );
  return {
    vip,
    stopped: start,
    takeover: took,
    takeoverSeconds,
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
 * holds every VIP (VRRP) and the IPVS table holds a destination for every keepalived service. */
export async function settleKeepalived(
  cluster: Cluster,
  dirs: Map<string, HostConnection>,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  const vips = [...new Set(cluster.services.map((s) => s.vip.address))];
  const master = cluster.directors.members.reduce((a, b) => (b.priority > a.priority ? b : a)).host;
  // With nopreempt any director may keep a VIP; otherwise the highest priority takes it.
  const want = (h: string | null) => (cluster.directors.vrrp?.nopreempt ? h !== null : h === master);
  let holderName: string | null = cluster.directors.members[0]!.host;
  for (const vip of vips)
    if (cluster.directors.vrrp) holderName = await waitFor(dirs, vip, want, Math.max(0, end - Date.now()));
  const conn = holderName ? dirs.get(holderName) : undefined;
  const keys = cluster.services.filter((s) => s.engine === 'keepalived').map((s) => s.id);
  while (conn && keys.length && Date.now() < end) {
    const live = parseList((await conn.exec(sh`ipvsadm -Ln`)).stdout);
    if (keys.every((k) => (live.get(k)?.size ?? 0) > 0)) return;
    await sleep(300);
  }
}
