// The run lock's lease script, run by a real sh with a real flock(1) on a private directory (the
// script's /run/lvsctl replaced), and the parse of what it prints.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  describeHolder,
  LOCK_DIR,
  leaseCommand,
  parseAnswer,
  parseLockFacts,
  lockFacts,
  type Holder,
  type LeaseAnswer,
  type LeaseOp,
} from '../../src/lock/lease.js';

const holder = (user: string): Holder => ({
  user,
  controller: 'ci-runner',
  pid: 4242,
  command: 'up',
  cluster: 'www',
  since: '2026-12-03T10:00:00.000Z',
});

const which = (tool: string) => execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();

function lab(shell = 'sh') {
  const dir = mkdtempSync(path.join(tmpdir(), 'lvsctl-lease-'));
  const run = (op: LeaseOp, id: string, ttl = 30, h = holder('alice')) =>
    new Promise<LeaseAnswer>((resolve, reject) => {
      const cmd = leaseCommand(op, id, ttl, h).text.split(LOCK_DIR).join(dir);
      execFile(shell, ['-c', cmd], (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(parseAnswer(stdout)),
      );
    });
  return { dir, run, file: path.join(dir, 'lock'), done: () => rmSync(dir, { recursive: true }) };
}

describe('run lock lease', () => {
  for (const shell of ['sh', 'bash'])
    it(`${shell}: one holder at a time: taken, refused to another run with who holds it, renewed, released`, async () => {
      await oneHolder(lab(shell));
    });
  const oneHolder = async (l: ReturnType<typeof lab>) => {
    try {
      assert.deepEqual(await l.run('acquire', 'A'), { kind: 'acquired' });
      const b = await l.run('acquire', 'B', 30, holder('bob'));
      assert.equal(b.kind, 'held');
      if (b.kind !== 'held') return;
      assert.equal(b.by.id, 'A');
      assert.equal(b.by.user, 'alice');
      assert.ok(b.by.expiresIn > 25 && b.by.expiresIn <= 30, `${b.by.expiresIn}`);
      assert.match(describeHolder(b.by), /^alice on ci-runner \(pid 4242, lvsctl up, cluster www\) since 2026-12-03/);
      assert.deepEqual(await l.run('acquire', 'A'), { kind: 'acquired' }, 'the holder again: its own lock');
      assert.deepEqual(await l.run('renew', 'A'), { kind: 'renewed' });
      assert.match(readFileSync(l.file, 'utf8'), /^id A\nexpires \d+\nuser alice\ncontroller ci-runner\n/);
      assert.equal((await l.run('renew', 'B')).kind, 'lost', 'a run that does not hold it cannot renew it');
      assert.deepEqual(await l.run('release', 'B'), { kind: 'released' });
      assert.equal((await l.run('acquire', 'B')).kind, 'held', "another run's release leaves the lock alone");
      assert.deepEqual(await l.run('release', 'A'), { kind: 'released' });
      assert.deepEqual(await l.run('acquire', 'B'), { kind: 'acquired' });
    } finally {
      l.done();
    }
  };

  // Without flock(1) on the PATH, a release that took the guard fails: that shows which way it went.
  for (const shell of ['sh', 'bash'])
    it(`${shell}: a release with time to spare and no renewal in flight takes no guard (no flock process); otherwise it does`, async () => {
      const l = lab(shell);
      const nobin = mkdtempSync(path.join(tmpdir(), 'lvsctl-noflock-'));
      for (const tool of ['mkdir', 'date']) symlinkSync(which(tool), path.join(nobin, tool));
      const release = (id: string, fast: boolean) =>
        new Promise<{ code: number; out: string; err: string }>((resolve) => {
          const cmd = leaseCommand('release', id, 30, holder('alice'), fast).text.split(LOCK_DIR).join(l.dir);
          execFile(which(shell), ['-c', cmd], { env: { PATH: nobin } }, (err, out, e) =>
            resolve({ code: err ? Number(err.code ?? 1) : 0, out, err: e }),
          );
        });
      try {
        await l.run('acquire', 'A');
        const noFlock = /flock\(1\) is not installed/;
        const inFlight = await release('A', false);
        assert.match(inFlight.err, noFlock, 'a renewal in flight: the guard');
        assert.match(readFileSync(l.file, 'utf8'), /^id A\n/, 'still held');
        const other = await release('B', true);
        assert.deepEqual([other.code, other.out], [0, '@@released\n'], "another run's release: nothing to do");
        assert.match(readFileSync(l.file, 'utf8'), /^id A\n/, "A's lease left alone");
        const fast = await release('A', true);
        assert.deepEqual([fast.code, fast.out], [0, '@@released\n'], fast.err);
        assert.doesNotMatch(fast.err, noFlock);
        assert.equal(readFileSync(l.file, 'utf8'), '', 'let go');
        assert.deepEqual(await l.run('acquire', 'B'), { kind: 'acquired' });
        // B's lease with 4 s left (under the 5 s margin): the guard, lest it end while being let go
        await l.run('release', 'B');
        await l.run('acquire', 'B', 4);
        assert.match((await release('B', true)).err, noFlock);
      } finally {
        rmSync(nobin, { recursive: true });
        l.done();
      }
    });

  it('an ended lease (its run killed) is taken over and named; its old holder has lost it', async () => {
    const l = lab();
    try {
      // a lease that ended 5 s ago, as a run killed with SIGKILL leaves it
      const now = Math.floor(Date.now() / 1000);
      writeFileSync(
        l.file,
        `id K\nexpires ${now - 5}\nuser kim\ncontroller old\npid 1\ncommand down\ncluster www\nsince x\n`,
      );
      const a = await l.run('acquire', 'A');
      assert.equal(a.kind, 'acquired');
      if (a.kind !== 'acquired') return;
      assert.equal(a.expired?.user, 'kim');
      assert.ok(a.expired!.expiresIn <= -5, `${a.expired!.expiresIn}`);
      const k = await l.run('renew', 'K');
      assert.equal(k.kind, 'lost');
      if (k.kind === 'lost') assert.equal(k.by?.user, 'alice');
    } finally {
      l.done();
    }
  });

  it('twenty runs at once: exactly one gets the lock', async () => {
    const l = lab();
    try {
      const got = await Promise.all(Array.from({ length: 20 }, (_, i) => l.run('acquire', `R${i}`)));
      assert.equal(got.filter((a) => a.kind === 'acquired').length, 1);
      assert.equal(got.filter((a) => a.kind === 'held').length, 19);
    } finally {
      l.done();
    }
  });

  it('holder values cannot break the file: one line each, printable', async () => {
    const l = lab();
    try {
      await l.run('acquire', 'A', 30, { ...holder('eve\nexpires 9999999999'), command: "up'; rm -rf /" });
      const b = await l.run('acquire', 'B');
      assert.equal(b.kind, 'held');
      if (b.kind === 'held') {
        assert.ok(b.by.expiresIn <= 30, 'the injected expires line did not win');
        assert.equal(b.by.user, 'eve\\u000aexpires 9999999999');
        assert.equal(b.by.command, "up'; rm -rf /");
      }
    } finally {
      l.done();
    }
  });

  it('plan and status read a live lease from the facts; an ended one holds nobody up', () => {
    const file = [
      'id A',
      'expires 1000',
      'user alice',
      'controller c',
      'pid 7',
      'command up',
      'cluster www',
      'since s',
    ];
    assert.equal(parseLockFacts(() => ['now 990', ...file]).lock?.expiresIn, 10);
    assert.equal(parseLockFacts(() => ['now 1001', ...file]).lock, null);
    assert.equal(parseLockFacts(() => []).lock, null);
  });

  it("the facts' lock section: another run's lease with the host's clock; the reading run's own lease not at all", async () => {
    const l = lab();
    try {
      await l.run('acquire', 'A');
      const section = (runId: string) =>
        new Promise<string>((resolve, reject) =>
          execFile(
            'sh',
            ['-c', `cat_() { cat "$1"; }; s() { :; }; ${lockFacts.script.split(LOCK_DIR).join(l.dir)}`],
            { env: { ...process.env, RUN_ID: runId } },
            (err, stdout) => (err ? reject(err) : resolve(stdout)),
          ),
        );
      assert.match(await section('B'), /^now \d+\nid A\nexpires \d+\nuser alice\n/);
      assert.match(await section(''), /^now \d+\nid A\n/);
      assert.equal(await section('A'), '', 'its own lease: nothing to say');
    } finally {
      l.done();
    }
  });

  it('an answer the script did not print is an error, not a lock', () => {
    assert.throws(() => parseAnswer('sh: flock: not found\n'), /printed no answer/);
    assert.throws(() => parseAnswer('@@expired -3\nid K\nexpires 1\n'), /taking over an ended lease failed/);
  });
});
