// One run's locks: every host a changing command selects is locked before any is read for the
// plan or changed, all or none. A run never waits while it holds a lock (a refused run lets go of
// every lease it took, then waits and tries again), so two runs cannot deadlock whatever order
// they take hosts in; the random pause between tries keeps two waiting runs from colliding forever.
// While the run goes on, its leases are renewed every third of their time; a lease found taken by
// another run (this controller stalled past its end) stops the run before its next change.
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { LvsctlError } from '../errors.js';
import type { Connections } from '../engine/connections.js';
import type { LeaseWithFacts, ReleaseWithApply } from '../engine/host.js';
import { mapLimit } from '../ssh/pool.js';
import { checkInterrupt, sleep } from '../util/interrupt.js';
import { timed } from '../util/timings.js';
import type { Shell } from '../util/quote.js';
import {
  DEFAULT_LOCK_TTL,
  describeHolder,
  HOLD_MARK,
  holdingFacts,
  leaseCommand,
  parseAnswer,
  RELEASE_WORD,
  type Holder,
  type Lease,
  type LeaseAnswer,
  type LeaseOp,
} from './lease.js';

export { DEFAULT_LOCK_TTL };

export interface LockOptions {
  /** Seconds a lease lasts unless renewed (a killed run's lock ends this long after its last renewal). */
  ttl: number;
  /** Seconds to wait for runs that hold a lock; 0: refuse at once. */
  wait: number;
}

/** Another run holds the lock of some selected hosts. */
export class LockHeldError extends LvsctlError {
  constructor(
    readonly held: { host: string; by: Lease }[],
    waited: number,
  ) {
    super(
      `${waited ? `still locked after waiting ${waited} s` : 'locked by another run'}: ` +
        held
          .map(({ host, by }) => `${host} by ${describeHolder(by)}, its lease ends in ${by.expiresIn} s unless renewed`)
          .join('; ') +
        (waited ? '' : ' (--wait-lock SECONDS waits for it; nothing was changed)'),
    );
  }
}

/** A host's lock could not be taken or kept for another reason than another run. */
export class LockError extends LvsctlError {}

export function currentHolder(command: string, cluster: string): Holder {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    user = process.env.USER ?? String(process.getuid?.() ?? '?'); // no passwd entry (a container's uid)
  }
  return { user, controller: hostname(), pid: process.pid, command, cluster, since: new Date().toISOString() };
}

/** What a host answered to an acquire that went with its facts (RunLocks.leaseFor). */
type Took = { host: string; answer: LeaseAnswer } | { host: string; error: unknown };

export class RunLocks {
  readonly id = randomUUID();
  private readonly held = new Set<string>();
  /** Hosts whose release went with their last command (releaseWith): no renewal, no second release. */
  private readonly releasing = new Set<string>();
  /** Hosts whose renewal command is in flight now: a release there takes the guard (lease.ts). */
  private readonly renewing = new Set<string>();
  private readonly lost: string[] = [];
  /** Facts commands that took a lease and wait for this run's word (answer()), by host. */
  private readonly waiting = new Map<
    string,
    { say(word: string | undefined): void; end: Promise<string | undefined> }
  >();
  /** Releases said on those commands, until their answers are in. */
  private letting: Promise<void>[] = [];
  private timer?: NodeJS.Timeout;
  /** Hosts to lock together with their facts (want()), the answers of the current try, its deadline. */
  private wanted = new Set<string>();
  private answers: Took[] = [];
  private deadline?: number;
  private said = false;

  constructor(
    private readonly conns: Connections,
    private readonly holder: Holder,
    private readonly o: LockOptions,
    private readonly say: (line: string) => void,
  ) {}

  /** Lock `hosts` with the first command that reads each (the facts), not a session of its own:
   * leaseFor() gives that command's prefix, took() its answer, settle() decides all or none. */
  want(hosts: string[]): void {
    this.wanted = new Set(hosts);
    this.deadline = Date.now() + this.o.wait * 1000;
  }

  /** The acquire to run before `host`'s facts, in the same command (undefined: not wanted, or held). */
  leaseFor(host: string): Shell | undefined {
    if (!this.wanted.has(host) || this.held.has(host)) return undefined;
    return leaseCommand('acquire', this.id, this.o.ttl, this.holder);
  }

  /** What converge gives planOnHost for `host` (engine/host.ts LeaseWithFacts), or undefined. The
   * facts command then waits at its end for this run's word: answer() lets go of the lease there. */
  withFacts(host: string): LeaseWithFacts | undefined {
    const lease = this.leaseFor(host);
    if (!lease) return undefined;
    let say!: (word: string | undefined) => void;
    let ended!: (stdout: string | undefined) => void;
    const word = new Promise<string | undefined>((r) => (say = r));
    const end = new Promise<string | undefined>((r) => (ended = r));
    this.waiting.get(host)?.say(undefined);
    this.waiting.set(host, { say, end });
    return {
      id: this.id,
      lease,
      hold: { wrap: (facts) => holdingFacts(facts, this.id, this.o.ttl, this.holder), mark: HOLD_MARK, word, ended },
      took: (out) => this.took(host, out),
    };
  }

  /** The word for every facts command still waiting: `release` lets go of its lease in that
   * command (hosts held by this run); every other one is told nothing and keeps its lease. */
  answer(release: ReadonlySet<string>): void {
    for (const [h, w] of this.waiting) {
      this.waiting.delete(h);
      if (!release.has(h) || !this.held.has(h)) {
        w.say(undefined);
        continue;
      }
      this.held.delete(h);
      this.releasing.add(h);
      this.letting.push(
        w.end.then((stdout) => {
          this.releasing.delete(h);
          if (stdout === undefined || !/^@@released$/m.test(stdout)) this.held.add(h); // release() tries again
        }),
      );
      w.say(this.renewing.has(h) ? RELEASE_WORD.guarded : RELEASE_WORD.fast);
    }
  }

  /** The lease part of that command's output (or why the command did not answer: the lease may be
   * held then, so release() tries it). */
  took(host: string, out: { stdout: string; stderr: string } | { error: unknown }): void {
    if ('error' in out) {
      this.held.add(host);
      return void this.answers.push({ host, error: out.error });
    }
    try {
      if (!/^@@(acquired|held|expired)/m.test(out.stdout))
        throw new LockError(`${host}: cannot acquire the run lock: ${out.stderr.trim() || 'no answer'}`);
      const answer = parseAnswer(out.stdout);
      if (answer.kind === 'acquired') {
        this.held.add(host);
        if (answer.expired)
          this.say(
            `${host}: the lock of ${describeHolder(answer.expired)} had ended ${-answer.expired.expiresIn} s before (that run stopped renewing it): taken over`,
          );
      }
      this.answers.push({ host, answer });
    } catch (error) {
      this.answers.push({ host, error });
    }
  }

  /** After the facts of every wanted host: true when every one that answered is locked (the renewal
   * starts); false when another run holds some and --wait-lock leaves time (every lease of this run
   * is let go, and after a pause the facts are to be read again); throws otherwise. */
  async settle(): Promise<boolean> {
    const took = this.answers.splice(0);
    const held = took.flatMap((t) =>
      'answer' in t && t.answer.kind === 'held' ? [{ host: t.host, by: t.answer.by }] : [],
    );
    const errors = took.flatMap((t) => ('error' in t ? [t.error] : []));
    // A command that failed for another reason than the lock is the host's failure (converge reports it).
    const lockErrors = errors.filter((e) => !(e instanceof LvsctlError) || e instanceof LockError);
    if (!held.length && !lockErrors.length) {
      this.wanted.clear();
      this.startRenewal();
      return true;
    }
    await this.release();
    if (lockErrors.length) throw lockErrors[0];
    const deadline = this.deadline ?? Date.now();
    if (Date.now() >= deadline) throw new LockHeldError(held, this.o.wait);
    if (!this.said)
      this.say(
        `waiting up to ${this.o.wait} s for the lock: ${held.map((x) => `${x.host} by ${describeHolder(x.by)}`).join('; ')}`,
      );
    this.said = true;
    await sleep(Math.min(deadline - Date.now(), 500 + Math.random() * 1500));
    checkInterrupt();
    return false;
  }

  /** The release to run at the end of `host`'s last command of this run (one session, not two), or
   * undefined when this run does not hold it. Its renewal stops now; `done` gets the command's
   * output, and a host whose release did not answer is let go again at the end (release()). */
  releaseWith(host: string): ReleaseWithApply | undefined {
    if (!this.held.has(host)) return undefined;
    this.held.delete(host);
    this.releasing.add(host);
    return {
      // no renewal starts once the host is out of `held`; one in flight now makes it guarded
      lease: leaseCommand('release', this.id, this.o.ttl, this.holder, !this.renewing.has(host)),
      done: (stdout) => {
        this.releasing.delete(host);
        if (stdout === undefined || !/^@@released$/m.test(stdout)) this.held.add(host);
      },
    };
  }

  private startRenewal(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew(), (this.o.ttl * 1000) / 3);
    this.timer.unref();
  }

  private async run(host: string, op: LeaseOp) {
    const conn = await this.conns.get(host);
    const fast = op === 'release' ? !this.renewing.has(host) : undefined;
    const r = await conn.exec(leaseCommand(op, this.id, this.o.ttl, this.holder, fast));
    if (r.code !== 0) throw new LockError(`${host}: cannot ${op} the run lock (exit ${r.code}): ${r.stderr.trim()}`);
    return parseAnswer(r.stdout);
  }

  /** Locks every reachable host of `hosts` (an unreachable one is the command's to report: nothing
   * can change it), or none: throws LockHeldError once `wait` has passed. For hosts locked on their
   * own, before any facts (drain's directors); the same answers and decision as with the facts. */
  async acquire(hosts: string[], forks: number): Promise<void> {
    this.want(hosts);
    for (;;) {
      const failed: unknown[] = [];
      await mapLimit(hosts, forks, async (h) => {
        let conn;
        try {
          conn = await this.conns.get(h);
        } catch {
          return; // unreachable: converge reports it
        }
        try {
          this.took(h, await timed(h, 'lock', () => conn.exec(this.leaseFor(h)!)));
        } catch (e) {
          this.held.add(h); // no answer: it may hold the lease, so release() tries it
          failed.push(e);
        }
      });
      if (failed.length) {
        this.answers = [];
        await this.release();
        throw failed[0];
      }
      if (await this.settle()) return;
    }
  }

  private async renew(): Promise<void> {
    await Promise.all(
      [...this.held].map(async (h) => {
        this.renewing.add(h);
        try {
          const a = await this.run(h, 'renew');
          // answered: nothing of it runs on the host any more (a command cut off may still run
          // there: its host stays in renewing, and its release takes the guard)
          this.renewing.delete(h);
          // a host let go meanwhile (releaseWith) answers "lost": that is this run's own release
          if (a.kind === 'lost' && this.held.has(h)) {
            this.held.delete(h);
            this.lost.push(`${h}${a.by ? ` (now held by ${describeHolder(a.by)})` : ''}`);
          }
        } catch {
          // the connection is gone: the command's own next step on this host fails and says so
        }
      }),
    );
  }

  /** Before a change: throws if a lease ended and another run took it (this run stalled past its end). */
  check(): void {
    if (this.lost.length)
      throw new LockError(
        `the run lock was lost on ${this.lost.join(', ')}: its lease ended before it was renewed; stopped before the next change`,
      );
  }

  /** Lets go of every lease this run holds (the end of the command, or a refused try). */
  async release(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // Facts commands still waiting let go in place; a host whose word went unanswered gets a session.
    this.answer(new Set(this.held));
    await Promise.all(this.letting.splice(0));
    const hosts = [...this.held, ...this.releasing];
    this.held.clear();
    this.releasing.clear();
    await Promise.all(
      hosts.map(async (h) => {
        try {
          await this.run(h, 'release');
        } catch {
          // the connection broke during the run: a new one lets go of the lease now rather than
          // holding the next run up until it ends (which it does anyway if the host stays out of reach)
          try {
            await this.conns.reconnect(h);
            await this.run(h, 'release');
          } catch {
            // out of reach: the lease ends by itself
          }
        }
      }),
    );
  }
}
