// The benchmark's 5-host smoke run (issue 9): `npm run bench`'s host part, one round after the
// warm-up, as a fresh machine would run it (bench/hosts.sh installs Ansible and sshd itself). It
// checks that the bench works, not the figures (this machine is shared): both tools converge the
// five hosts, re-runs change nothing, the hosts end in the same state, and the table and
// results.json carry every target with a verdict.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import type { Round } from '../../bench/run.js';

const ROOT = resolve(import.meta.dirname, '../../..');

describe('npm run bench, 5-host smoke', () => {
  it(
    'lvsctl and Ansible converge 5 namespace hosts to the same state; every target is in the table',
    { timeout: 15 * 60_000 },
    async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'lvsctl-bench-')), 'results.json');
      const r = await new Promise<{ code: number; stdout: string; stderr: string }>((res) =>
        execFile(
          process.execPath,
          [join(ROOT, 'dist/bench/run.js'), '--n', '5', '--runs', '1', '--parts', 'hosts', '--out', out],
          { cwd: ROOT, maxBuffer: 16 << 20, timeout: 14 * 60_000 },
          (e, stdout, stderr) => {
            let code = 0;
            if (e) code = typeof e.code === 'number' ? e.code : 1;
            res({ code, stdout, stderr });
          },
        ),
      );
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      const doc = JSON.parse(readFileSync(out, 'utf8')) as {
        perN: Record<
          string,
          {
            rounds: Round[];
            stateDiffs: string[];
          }
        >;
        targets: { id: string; verdict: string; measured: string }[];
      };
      const p = doc.perN['5']!;
      assert.equal(p.rounds.length, 1);
      assert.deepEqual(p.stateDiffs, []);
      assert.ok(p.rounds[0]!.stateEqual);
      const r0 = p.rounds[0]!;
      assert.ok(r0.lvsctlNoopMs > 0 && r0.ansibleNoopMs! > 0 && r0.lvsctlRssKB > 0 && r0.lvsctlNoopCpuMs > 0);
      // lvsctl --timings on the real hosts: every step of a first run and of a no-op, per host
      for (const step of ['connect', 'facts', 'plan', 'apply'])
        assert.ok(r0.firstSteps[step]! > 0, `first run: no ${step} in ${JSON.stringify(r0.firstSteps)}`);
      for (const step of ['connect', 'facts', 'plan'])
        assert.ok(r0.noopSteps[step]! > 0, `no-op: no ${step} in ${JSON.stringify(r0.noopSteps)}`);
      assert.equal(r0.noopSteps['apply'], undefined, 'a no-op applies nothing');
      const ids = doc.targets.map((t) => t.id);
      for (const id of [
        'noop-vs-ansible-5',
        'noop-vs-ansible-100',
        'noop-vs-ssh-100',
        'first-vs-ansible-100',
        'sublinear',
        'rss-100',
        'rules-weight',
        'rules-noop',
        'rules-first',
        'rss-rules',
        'state-5',
        'noop-vs-ssh-500',
        'first-vs-ssh-500',
        'cpu-per-host-100',
        'cpu-per-host-500',
        'rss-500',
        'startup-validate',
      ])
        assert.ok(ids.includes(id), `target ${id} missing`);
      const t5 = doc.targets.find((t) => t.id === 'noop-vs-ansible-5')!;
      assert.match(t5.verdict, /^(PASS|FAIL)$/);
      assert.equal(doc.targets.find((t) => t.id === 'state-5')!.verdict, 'PASS');
      assert.equal(
        doc.targets.find((t) => t.id === 'rules-first')!.verdict,
        'SKIP',
        'the rules part was not asked for',
      );
      assert.match(r.stdout, /TARGETS \(issues 9 and 26\)/);
      assert.match(r.stdout, /lvsctl --timings, median per host \(s\): first run: .*connect \d/);
      assert.match(r.stdout, /no-op re-run ≥ 10× faster than Ansible's no-op at N=5 +\S/);
    },
  );
});

describe('the bench on a machine where the package install fails', () => {
  // apt-get's stand-in (BENCH_APT_GET): it fails as apt-get does for an unknown package, or ends
  // well without installing anything; the bench must stop with its words, before any host exists.
  const dir = mkdtempSync(join(tmpdir(), 'lvsctl-bench-apt-'));
  const fake = (name: string, body: string) => {
    const f = join(dir, name);
    writeFileSync(f, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return f;
  };
  const bench = (apt: string) =>
    spawnSync(process.execPath, [join(ROOT, 'dist/bench/run.js'), '--n', '1', '--runs', '1', '--parts', 'hosts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: {
        ...process.env,
        BENCH_RUN: join(dir, 'run'),
        BENCH_OUT: join(dir, 'results.json'),
        BENCH_PKGS: 'lvsctl-no-such-package',
        BENCH_APT_GET: apt,
      },
    });
  it("a failed install stops the bench with apt-get's message", () => {
    const apt = fake(
      'apt-fails',
      '[ "$1" = update ] && exit 0\necho "E: Unable to locate package lvsctl-no-such-package" >&2\nexit 100',
    );
    const r = bench(apt);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /installing lvsctl-no-such-package failed; apt-get said/);
    assert.match(r.stderr, /E: Unable to locate package lvsctl-no-such-package/);
    assert.ok(!existsSync(join(dir, 'results.json')), 'no results written');
  });
  it('an install that ends well without the package stops it too', () => {
    const r = bench(fake('apt-lies', 'echo "0 upgraded, 0 newly installed"'));
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /lvsctl-no-such-package is still not installed/);
    assert.match(r.stderr, /0 newly installed/);
  });
});
