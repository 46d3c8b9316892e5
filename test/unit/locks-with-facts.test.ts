// The run lock taken by the command that reads a host's facts (issue 26: one session per host, not
// two): RunLocks gives that command's prefix, reads its answer and decides all or none. Each "host"
// is a private directory standing for /run/lvsctl, and the commands run in a real sh with flock(1).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Connections } from '../../src/engine/connections.js';
import type { LeaseWithFacts } from '../../src/engine/host.js';
import { LOCK_DIR } from '../../src/lock/lease.js';
import { LockError, LockHeldError, RunLocks } from '../../src/lock/locks.js';
import { lines, sh as shell, type Shell } from '../../src/util/quote.js';

const root = mkdtempSync(path.join(tmpdir(), 'lvsctl-locks-'));
after(() => rmSync(root, { recursive: true, force: true }));

const HOSTS = ['web1', 'web2', 'web3'];
const dirOf = (h: string) => path.join(root, h);

const sh = (h: string, cmd: Shell) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile('sh', ['-c', cmd.text.split(LOCK_DIR).join(dirOf(h))], (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    ),
  );

const conns = {
  get: async (h: string) => ({ name: h, exec: (cmd: Shell) => sh(h, cmd) }),
  reconnect: async (h: string) => ({ name: h, exec: (cmd: Shell) => sh(h, cmd) }),
} as unknown as Connections;

/** Connections whose every command (on a new connection too) is counted in `asked`. */
const counting = (asked: string[]) => {
  const conn = async (h: string) => ({ name: h, exec: (cmd: Shell) => (asked.push(h), sh(h, cmd)) });
  return { get: conn, reconnect: conn } as unknown as Connections;
};

const holder = { user: 'ci', controller: 'runner', pid: 1, command: 'up', cluster: 'www', since: 'now' };

/** What converge's facts phase does for each wanted host: its lease, then (here) no facts. */
async function factsPhase(locks: RunLocks, hosts = HOSTS): Promise<string[]> {
  const sent: string[] = [];
  for (const h of hosts) {
    const lease = locks.leaseFor(h);
    if (!lease) continue;
    sent.push(h);
    const r = await sh(h, lease);
    locks.took(h, { stdout: r.stdout, stderr: r.stderr });
  }
  return sent;
}

const locked = (h: string) => existsSync(path.join(dirOf(h), 'lock')) && statSync(path.join(dirOf(h), 'lock')).size > 0;
/** Another run's live lease on `h` (written as that run's script would). */
const otherRun = (h: string) => {
  mkdirSync(dirOf(h), { recursive: true });
  writeFileSync(
    path.join(dirOf(h), 'lock'),
    `id other\nexpires ${Math.floor(Date.now() / 1000) + 300}\nuser alice\ncontroller ci-9\npid 7\ncommand up\ncluster www\nsince then\n`,
  );
};

describe('run locks taken with the facts', () => {
  it('all free: each wanted host gets the acquire once; settled, none is asked again; release lets all go', async () => {
    const locks = new RunLocks(conns, holder, { ttl: 30, wait: 0 }, () => undefined);
    locks.want(HOSTS);
    assert.deepEqual(await factsPhase(locks), HOSTS);
    assert.equal(await locks.settle(), true);
    assert.ok(HOSTS.every(locked));
    assert.deepEqual(await factsPhase(locks), [], 'held: no acquire goes with later facts');
    await locks.release();
    assert.ok(!HOSTS.some(locked));
  });

  it('one host locked by another run: refused naming it, and the hosts this run took are let go', async () => {
    otherRun('web2');
    const locks = new RunLocks(conns, holder, { ttl: 30, wait: 0 }, () => undefined);
    locks.want(HOSTS);
    await factsPhase(locks);
    await assert.rejects(locks.settle(), (e: unknown) => {
      assert.ok(e instanceof LockHeldError);
      assert.match(e.message, /locked by another run: web2 by alice on ci-9 \(pid 7, lvsctl up, cluster www\)/);
      return true;
    });
    assert.ok(!locked('web1') && !locked('web3'), 'web1 and web3 let go');
    assert.ok(locked('web2'), "the other run's lock is left alone");
    rmSync(path.join(dirOf('web2'), 'lock'));
  });

  it('--wait-lock: says it waits, reads again once the other run is gone, then holds all', async () => {
    otherRun('web3');
    const said: string[] = [];
    const locks = new RunLocks(conns, holder, { ttl: 30, wait: 20 }, (l) => said.push(l));
    locks.want(HOSTS);
    await factsPhase(locks);
    assert.equal(await locks.settle(), false, 'another try is due');
    assert.match(said.join('\n'), /waiting up to 20 s for the lock: web3 by alice/);
    assert.ok(!locked('web1'), 'nothing held while waiting');
    rmSync(path.join(dirOf('web3'), 'lock'));
    assert.deepEqual(await factsPhase(locks), HOSTS, 'every host is asked again');
    assert.equal(await locks.settle(), true);
    assert.ok(HOSTS.every(locked));
    await locks.release();
  });

  it('a host whose lease script cannot run: the run stops with what the host said', async () => {
    const locks = new RunLocks(conns, holder, { ttl: 30, wait: 0 }, () => undefined);
    locks.want(['web1', 'web2']);
    const l1 = locks.leaseFor('web1')!;
    locks.took('web1', await sh('web1', l1));
    locks.leaseFor('web2');
    locks.took('web2', {
      stdout: '',
      stderr: 'flock(1) is not installed (util-linux): lvsctl cannot lock this host\n',
    });
    await assert.rejects(locks.settle(), (e: unknown) => {
      assert.ok(e instanceof LockError);
      assert.match(e.message, /web2: cannot acquire the run lock: flock\(1\) is not installed/);
      return true;
    });
    assert.ok(!locked('web1'), 'web1 let go');
  });

  it("hosts locked on their own (drain's directors): the same all or none, refused naming the holder", async () => {
    otherRun('web3');
    const locks = new RunLocks(conns, holder, { ttl: 30, wait: 0 }, () => undefined);
    await assert.rejects(
      locks.acquire(HOSTS, 2),
      (e: unknown) => e instanceof LockHeldError && /web3 by alice/.test(e.message),
    );
    assert.ok(!locked('web1') && !locked('web2'));
    rmSync(path.join(dirOf('web3'), 'lock'));
    await locks.acquire(HOSTS, 2);
    assert.ok(HOSTS.every(locked));
    assert.deepEqual(await factsPhase(locks), [], 'held: the facts carry no acquire');
    await locks.release();
    assert.ok(!HOSTS.some(locked));
  });

  it("a host's lease let go with its last command: the run's end does not ask it again; unanswered, it does", async () => {
    const asked: string[] = [];
    const counted = counting(asked);
    const locks = new RunLocks(counted, holder, { ttl: 30, wait: 0 }, () => undefined);
    locks.want(HOSTS);
    await factsPhase(locks);
    assert.equal(await locks.settle(), true);
    // web1: the release ends a longer command (its apply), whose other output comes first
    const w1 = locks.releaseWith('web1')!;
    const r = await sh('web1', lines([shell`echo '@@step 0'; echo '@@done'`, w1.lease]));
    w1.done(r.stdout);
    assert.ok(!locked('web1'), 'web1 let go by its last command');
    // web2: the command broke before its release: still held, let go at the end
    locks.releaseWith('web2')!.done(undefined);
    assert.equal(locks.releaseWith('web1'), undefined, 'no second release for web1');
    assert.ok(locked('web2') && locked('web3'));
    await locks.release();
    assert.deepEqual(asked.sort(), ['web2', 'web3'], 'the end of the run asks only the hosts still held');
    assert.ok(!HOSTS.some(locked));
  });
  /** A facts command that took its lease and waits for the run's word (ssh/connection.ts Hold), in a
   * real sh with a pipe on stdin: `head` is what it printed up to the mark, `end` all it printed. */
  const heldFacts = (h: string, lock: LeaseWithFacts, facts = shell`echo '@@facts'`) => {
    const cmd = lines([lock.lease, lock.hold!.wrap(facts)])
      .text.split(LOCK_DIR)
      .join(dirOf(h));
    const child = spawn('sh', ['-c', cmd], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let reached = false;
    const head = new Promise<string>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!reached && out.endsWith(`\n${lock.hold!.mark}\n`)) {
          reached = true;
          resolve(out);
          void lock.hold!.word.then((w) => child.stdin.end(w === undefined ? '' : `${w}\n`));
        }
      }),
    );
    const end = new Promise<string>((resolve) => child.on('close', () => resolve(out)));
    void end.then((o) => lock.hold!.ended(o));
    return { head, end };
  };

  it('the facts command waits for the word: release lets go of its lease there, no session of its own; EOF keeps it', async () => {
    const asked: string[] = [];
    const counted = counting(asked);
    const locks = new RunLocks(counted, holder, { ttl: 30, wait: 0 }, () => undefined);
    locks.want(HOSTS);
    const runs = HOSTS.map((h) => {
      const lock = locks.withFacts(h)!;
      const r = heldFacts(h, lock);
      return r.head.then((out) => (lock.took({ stdout: out, stderr: '' }), { end: r.end }));
    });
    const ends = (await Promise.all(runs)).map((r) => r.end);
    assert.equal(await locks.settle(), true);
    assert.ok(HOSTS.every(locked), 'all held while the commands wait');
    locks.answer(new Set(['web1', 'web3']));
    const out = await Promise.all(ends);
    assert.match(out[0]!, /@@facts\n@@lvsctl hold\n@@released\n$/);
    assert.doesNotMatch(out[1]!, /@@released/, 'web2: told nothing, its command ended keeping the lease');
    assert.ok(!locked('web1') && locked('web2') && !locked('web3'));
    await locks.release();
    assert.deepEqual(asked, ['web2'], 'only web2 needed a release session');
    assert.ok(!HOSTS.some(locked));
  });

  it('refused (another run holds one): the waiting facts commands let go in place; a command that ended early gets a session', async () => {
    otherRun('web2');
    const asked: string[] = [];
    const counted = counting(asked);
    const locks = new RunLocks(counted, holder, { ttl: 30, wait: 0 }, () => undefined);
    locks.want(HOSTS);
    // web3's facts fail after its lease was taken: the command ends before the mark
    const ends = await Promise.all(
      HOSTS.map(async (h) => {
        const lock = locks.withFacts(h)!;
        const r = heldFacts(h, lock, h === 'web3' ? shell`exit 3` : undefined);
        const first = await Promise.race([r.head, r.end]);
        lock.took({ stdout: first, stderr: '' });
        return { end: r.end };
      }),
    );
    await assert.rejects(locks.settle(), (e: unknown) => e instanceof LockHeldError);
    await Promise.all(ends.map((r) => r.end));
    assert.ok(!locked('web1') && !locked('web3'), 'both let go');
    assert.ok(locked('web2'), "the other run's lock is left alone");
    assert.deepEqual(asked, ['web3'], 'web1 let go in its facts command; web3 (ended early) by a session');
    rmSync(path.join(dirOf('web2'), 'lock'));
  });
});
