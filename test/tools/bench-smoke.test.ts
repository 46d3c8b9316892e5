// The benchmark's 5-host smoke run (issue 9): `npm run bench`'s host part, one round after the
// warm-up, as a fresh machine would run it (bench/hosts.sh installs Ansible and sshd itself). It
// checks that the bench works, not the figures (this machine is shared): both tools converge the
// five hosts, re-runs change nothing, the hosts end in the same state, and the table and
// results.json carry every target with a verdict.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

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
            rounds: { lvsctlNoopMs: number; ansibleNoopMs: number; lvsctlRssKB: number; stateEqual: boolean }[];
            stateDiffs: string[];
          }
        >;
        targets: { id: string; verdict: string; measured: string }[];
      };
      const p = doc.perN['5']!;
      assert.equal(p.rounds.length, 1);
      assert.deepEqual(p.stateDiffs, []);
      assert.ok(p.rounds[0]!.stateEqual);
      assert.ok(p.rounds[0]!.lvsctlNoopMs > 0 && p.rounds[0]!.ansibleNoopMs > 0 && p.rounds[0]!.lvsctlRssKB > 0);
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
      assert.match(r.stdout, /TARGETS \(issue 9\)/);
      assert.match(r.stdout, /no-op re-run ≥ 10× faster than Ansible's no-op at N=5 +\S/);
    },
  );
});
