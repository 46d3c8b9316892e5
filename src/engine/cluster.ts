// The whole cluster: connect to every host in parallel (up to --forks), plan everywhere, then apply
// real servers before directors (a director must not send traffic to a server that cannot take
// it yet). A failure on one host is reported for that host; the others go on.
import type { Cluster } from '../inventory/model.js';
import type { Secrets } from '../inventory/secrets.js';
import type { HostPlan } from '../plan/types.js';
import type { Intent } from '../desired/intent.js';
import { SshError } from '../ssh/errors.js';
import { ConnectError, HostKeyChangedError, HostKeyRevokedError, HostKeyUnknownError } from '../ssh/connection.js';
import type { Connections, Reached } from './connections.js';
import { checkInterrupt, whileChanging } from '../util/interrupt.js';
import type { Progress } from './progress.js';
import {
  ApplyError,
  applyOnHost,
  gatedPlan,
  HostCheckError,
  planOnHost,
  type FilesFor,
  type HostRun,
  type Takeover,
} from './host.js';
import { notSetUp, realServerHosts, type Unready } from '../desired/readiness.js';
import { describe } from '../plan/types.js';
import { RefusedError } from '../plan/host.js';
import type { RunLocks } from '../lock/locks.js';
import { rollingPlan } from '../plan/rolling.js';
import { putBack, SETTLE_STEP, settleDirector } from './settle.js';
import { timed } from '../util/timings.js';
import { Semaphore } from '../ssh/pool.js';

const ROLL_STEP = 'rolling keepalived change';

export type HostStatus = 'ok' | 'changed' | 'failed' | 'unreachable';

export interface HostResult {
  host: string;
  status: HostStatus;
  changes: number;
  plan?: HostPlan;
  /** Facts, plan and the host's view of the cluster (status reads these). */
  run?: HostRun;
  error?: string;
  step?: string;
  /** Refused by its facts: nothing is applied on any host. */
  refused?: boolean;
}

export interface RunOptions {
  limit?: string[];
  forks: number;
  apply: boolean;
  progress: Progress;
  /** The command's connections (the caller closes them, after verify). */
  conns: Connections;
  /** What the command asks beyond the inventory (stop, down, drain...); default: the inventory running. */
  intent?: Intent;
  /** --takeover, --disable-boot-scripts (engine/host.ts). */
  takeover?: Takeover;
  /** Called with every host's plan before anything is applied (a saved plan compared, a question
   * asked); throwing stops the run with nothing changed. */
  approve?: (results: HostResult[]) => Promise<void>;
  /** The run's locks (commands that change hosts): checked before each host's apply. */
  locks?: RunLocks;
}

const order = (c: Cluster, h: string) => {
  const roles = c.hosts.get(h)!.roles;
  if (roles.has('real_server')) return 0;
  return roles.has('director') ? 1 : 2;
};

export function selectHosts(c: Cluster, limit?: string[]): string[] {
  const all = [...c.hosts.keys()];
  return limit ? all.filter((h) => limit.includes(h)) : all;
}

function failure(host: string, e: unknown, fallback: HostStatus): HostResult {
  const err = e as Error & { step?: string };
  // A configuration problem (no authentication method, a key that cannot be used, ssh_config that
  // ssh refuses) is this side's to fix: failed, not unreachable.
  const unreachable =
    (e instanceof ConnectError && e.reason !== 'config') ||
    e instanceof HostKeyUnknownError ||
    e instanceof HostKeyChangedError ||
    e instanceof HostKeyRevokedError;
  return {
    host,
    status: unreachable ? 'unreachable' : fallback,
    changes: 0,
    error: e instanceof SshError ? e.detail : (err?.message ?? String(e)),
    step: err?.step,
    ...((e instanceof RefusedError || e instanceof HostCheckError) && { refused: true }),
  };
}

/** A host a command only connected to (verify): ok, or why it could not be reached. */
export function reachResult(r: Reached): HostResult {
  return r.ok ? { host: r.host, status: 'ok', changes: 0 } : failure(r.host, r.error, 'failed');
}

export async function converge(
  cluster: Cluster,
  secrets: Secrets,
  filesFor: FilesFor,
  o: RunOptions,
): Promise<HostResult[]> {
  const hosts = selectHosts(cluster, o.limit);
  const results = new Map<string, HostResult>();
  const runs = new Map<string, HostRun>();
  const locks = o.locks;
  // The readiness gate (desired/readiness.ts), where the inventory is to run (up, start, plan) with
  // directors among the hosts: the real servers outside --limit are read (facts only, nothing
  // changed) while the hosts' own facts are, not after them (an `up --limit dir1` waits for the
  // slower of the two reads, not their sum). The phase below reports what these reads found.
  const intentUp = (o.intent?.kind ?? 'up') === 'up';
  const outside =
    intentUp && hosts.some((h) => order(cluster, h) === 1)
      ? realServerHosts(cluster).filter((h) => !hosts.includes(h))
      : [];
  const readReadiness = () =>
    startReads(outside, o.forks, async (h) =>
      planOnHost(await o.conns.get(h), cluster, secrets, filesFor, { kind: 'up' }, o.takeover),
    );
  let readiness = readReadiness();
  // The facts of a host that the run is to lock are read by the command that takes its lock; when
  // another run holds one of them, every lease is let go and (with --wait-lock) the facts are read
  // again once they are free (locks.settle()).
  const factsPhase = () =>
    o.progress.phase('facts and plan', hosts, o.forks, async (h, say) => {
      try {
        checkInterrupt();
        say('connecting');
        const conn = await o.conns.get(h);
        say('gathering facts');
        const run = await planOnHost(conn, cluster, secrets, filesFor, o.intent, o.takeover, locks?.withFacts(h));
        runs.set(h, run);
        const n = run.plan.changes.length;
        results.set(h, { host: h, status: n ? 'changed' : 'ok', changes: n, plan: run.plan, run });
        return { summary: n ? `${n} change${n > 1 ? 's' : ''} planned` : 'no changes', failed: false };
      } catch (e) {
        const r = failure(h, e, 'failed');
        results.set(h, r);
        return { summary: `${r.status}: ${r.error}`, failed: true };
      }
    });
  let waited = false;
  for (;;) {
    results.clear();
    runs.clear();
    await factsPhase();
    if (!locks || (await locks.settle())) break;
    waited = true;
  }
  // After a wait for another run's lock the real servers may have changed: read them again.
  if (waited) readiness = readReadiness();
  // What runs on a host that lvsctl did not create (a cluster built by hand) is taken over only
  // with --takeover: plan says what it would record as found, up refuses without the word.
  if (o.apply && !o.takeover?.takeover)
    for (const h of hosts) {
      const found = runs.get(h)?.plan.changes.find((c) => c.kind === 'state' && c.found);
      if (found?.kind === 'state')
        results.set(h, {
          ...failure(
            h,
            new RefusedError(
              `this host runs ${found.found} that lvsctl did not create; --takeover takes them over (down leaves them as found)`,
            ),
            'failed',
          ),
        });
    }
  // A host refused by its facts (a script missing or unsafe, keepalived older than 2.0) stops the whole run before any change:
  // half a cluster with the new config would be worse than none.
  const refused = hosts.filter((h) => results.get(h)!.refused);
  if (o.apply && refused.length) {
    for (const h of hosts)
      if (!refused.includes(h) && runs.get(h)?.plan.changes.length)
        results.set(h, {
          ...results.get(h)!,
          status: 'failed',
          changes: 0,
          step: HostCheckError.STEP,
          error: `not changed: the checks before apply failed on ${refused.join(', ')}`,
        });
    return hosts.map((h) => results.get(h)!);
  }
  const directors = hosts.filter((h) => order(cluster, h) === 1 && runs.has(h));
  const gate = intentUp && directors.length > 0;
  const realServers = gate ? realServerHosts(cluster) : [];
  const unready: Unready = {};
  /** Selected real servers whose run failed (planning, or the apply tier) are not ready. */
  const markFailed = () => {
    for (const h of realServers.filter((x) => hosts.includes(x) && !unready[x])) {
      const r = results.get(h)!;
      if (r.status === 'failed' || r.status === 'unreachable') unready[h] = `${r.status}: ${r.error}`;
    }
  };
  const regate = () => {
    if (!Object.keys(unready).length) return;
    for (const d of directors) {
      const run = gatedPlan(runs.get(d)!, cluster, d, secrets, filesFor, unready, o.intent, o.takeover);
      runs.set(d, run);
      const n = run.plan.changes.length;
      results.set(d, { ...results.get(d)!, status: n ? 'changed' : 'ok', changes: n, plan: run.plan, run });
    }
  };
  if (gate) {
    markFailed();
    // Outside --limit: whether they could take traffic (read while the facts were).
    await o.progress.phase(
      'readiness of real servers outside --limit (read only)',
      outside,
      o.forks,
      async (h, say) => {
        try {
          say('gathering facts');
          const read = await readiness.get(h)!;
          if (!read.ok) throw read.error;
          const run = read.value;
          const why = notSetUp(run.plan.changes, describe);
          if (why) unready[h] = why;
          return { summary: why ?? 'ready', failed: false };
        } catch (e) {
          const f = failure(h, e, 'failed');
          unready[h] = `${f.status}: ${f.error}`;
          return { summary: `not ready: ${unready[h]}`, failed: false };
        }
      },
    );
    regate();
  }
  // A host that the command does not contact after its last change (no director: settle, verify
  // and drain read directors; no verify client) lets go of its lock with its last command: the facts
  // command itself, still waiting for that word, where nothing is to change; else its apply.
  const lastContact = (h: string) => !cluster.hosts.get(h)!.roles.has('director') && !cluster.verify?.from.includes(h);
  locks?.answer(new Set(hosts.filter((h) => lastContact(h) && !(o.apply && runs.get(h)?.plan.changes.length))));
  if (o.apply && o.approve) await o.approve(hosts.map((h) => results.get(h)!));
  if (o.apply) {
    const titles = ['apply: real servers', 'apply: directors', 'apply: other hosts'];
    // Taking a service down goes the other way: directors stop sending before real servers lose the VIP.
    const stopping = o.intent?.kind === 'stop' || o.intent?.kind === 'down';
    const tiers = stopping ? [1, 0, 2] : [0, 1, 2];
    const rolling = (batch: string[]) =>
      rollingPlan(
        cluster,
        batch.map((h) => ({ host: h, ...runs.get(h)! })),
      );
    const letGo = (h: string) => (lastContact(h) ? o.locks?.releaseWith(h) : undefined);
    for (const tier of tiers) {
      // Real servers that failed just now are gated too, before any director is changed.
      if (gate && tier === 1) {
        markFailed();
        regate();
      }
      const batch = hosts.filter((h) => order(cluster, h) === tier && runs.has(h) && runs.get(h)!.plan.changes.length);
      // A keepalived group's directors change one at a time, holders of the VIPs last (plan/rolling.ts).
      const roll = tier === 1 && !stopping ? rolling(batch) : undefined;
      let stoppedAt: string | undefined;
      const title = roll ? `${titles[tier]}, one at a time (rolling keepalived change)` : titles[tier]!;
      await o.progress.phase(title, roll?.order ?? batch, roll ? 1 : o.forks, async (h, say) => {
        if (stoppedAt) {
          const error = `not changed: the rolling keepalived change stopped at ${stoppedAt}`;
          results.set(h, { ...results.get(h)!, status: 'failed', changes: 0, step: ROLL_STEP, error });
          return { summary: error, failed: true };
        }
        let n = 0;
        try {
          checkInterrupt();
          o.locks?.check();
          const conn = await o.conns.get(h);
          n = await whileChanging(() => applyOnHost(conn, runs.get(h)!, say, letGo(h)));
          results.set(h, { ...results.get(h)!, status: 'changed', changes: n });
          const expect = roll?.settle.get(h);
          if (!expect) return { summary: `changed (${n})`, failed: false };
          say(
            `waiting for keepalived to settle (its ${expect.step}; VRRP state unchanged for ${expect.windowMs / 1000} s)`,
          );
          const s = await timed(h, 'keepalived settle', () => settleDirector(conn, expect, say)).catch(
            async (e: Error) => {
              throw new ApplyError(SETTLE_STEP, `${e.message}; ${await putBack(conn, runs.get(h)!)}`);
            },
          );
          return {
            summary: `changed (${n}); keepalived settled in ${s.seconds.toFixed(1)} s: ${s.holds}`,
            failed: false,
          };
        } catch (e) {
          if (roll) stoppedAt = h;
          results.set(h, { ...failure(h, e, 'failed'), changes: n, plan: runs.get(h)!.plan, run: runs.get(h) });
          return { summary: `failed: ${results.get(h)!.error}`, failed: true };
        }
      });
    }
  }
  return hosts.map((h) => results.get(h)!);
}

/** Reads started now, at most `forks` at once, each awaited later by its host; a failure is kept as
 * an outcome (nobody may be waiting on it yet: no unhandled rejection). */
function startReads<T>(hosts: string[], forks: number, read: (h: string) => Promise<T>) {
  const sem = new Semaphore(forks);
  return new Map(
    hosts.map((h) => [
      h,
      sem.acquire().then(async (release) => {
        try {
          return { ok: true as const, value: await read(h) };
        } catch (error) {
          return { ok: false as const, error };
        } finally {
          release();
        }
      }),
    ]),
  );
}
