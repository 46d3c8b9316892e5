// One apply session (apply/session.ts) run in a real sh and bash with GNU tar: files arrive whole, in
// the plan's order, links only after the record, nothing half-written after a failure or a cut
// stream. Paths are under a temp directory (tar unpacks at /, as on a host).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { batch } from '../../src/apply/commands.js';
import { sessionSteps, type Action } from '../../src/apply/session.js';
import { INLINE_MAX } from '../../src/ssh/write-script.js';
import { fitsUstar, ustar } from '../../src/util/ustar.js';
import { sh, Shell } from '../../src/util/quote.js';

const hasTar = spawnSync('tar', ['--version']).stdout?.toString().includes('GNU tar');
const hasRenameUl = spawnSync('rename.ul', ['--version']).status === 0;
const root = process.getuid?.() === 0;
const skip = (!hasTar && 'GNU tar is not installed') || (!root && 'tar --same-owner needs root');
const shells = ['sh', 'bash'];

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'lvsctl-session-'));
/** Every file under d whose name says it is a temp file of lvsctl's. */
const temps = (d: string): string[] =>
  readdirSync(d, { recursive: true, encoding: 'utf8' }).filter((n) => path.basename(n).includes('.lvsctl-'));
const run = (shell: string, actions: Action[], tar = true, cut?: number, dirs: string[] = [], renameUl = false) => {
  const { steps, prologue } = sessionSteps(actions, { tar, renameUl, dirs, token: 'tok' });
  const b = batch(steps, prologue);
  const r = spawnSync(shell, ['-c', b.script.text], {
    input: cut === undefined ? b.stdin : b.stdin.subarray(0, cut),
    encoding: 'utf8',
  });
  return { ...r, steps, stdin: b.stdin };
};
const write = (p: string, content: string | Buffer, mode = 0o644, state = false): Action => ({
  kind: 'write',
  file: { path: p, content, mode },
  ...(state && { state: true }),
});
const link = (p: string, target: string): Action => ({
  kind: 'link',
  label: `boot: link ${p}`,
  path: p,
  target,
  cmd: sh`mkdir -p ${path.dirname(p)} && ln -sfn ${target} ${p}`,
});
const command = (label: string, cmd: Shell): Action => ({ kind: 'command', label, cmd });

describe('ustar', { skip: !hasTar && 'GNU tar is not installed' }, () => {
  it('GNU tar reads it back: names (a long one through the prefix field), sizes, modes, owners, link targets', () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(90)}`;
    const bin = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
    const a = ustar([
      { type: 'file', path: 'etc/x.conf', data: Buffer.from("a 'b' $(c)\n"), mode: 0o644 },
      { type: 'file', path: long, data: bin, mode: 0o4755 },
      { type: 'file', path: 'etc/empty', data: Buffer.alloc(0), mode: 0o600, uname: 'daemon', gname: 'adm' },
      { type: 'symlink', path: 'etc/rc2.d/S01lvsctl', target: '../init.d/lvsctl' },
    ]);
    assert.equal(a.length % 10240, 0, 'padded to a whole record');
    const r = spawnSync('tar', ['-tvf', '-', '--numeric-owner'], { input: a, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.match(rows[0]!, /^-rw-r--r-- 0\/0 +11 .* etc\/x\.conf$/);
    assert.match(rows[1]!, new RegExp(`^-rwsr-xr-x 0/0 +3000 .* ${long}$`));
    assert.match(rows[2]!, /^-rw------- 0\/0 +0 .* etc\/empty$/);
    assert.match(rows[3]!, /^lrwxrwxrwx 0\/0 +0 .* etc\/rc2\.d\/S01lvsctl -> \.\.\/init\.d\/lvsctl$/);
    const names = spawnSync('tar', ['-tvf', '-'], { input: a, encoding: 'utf8' }).stdout;
    assert.match(names, /daemon\/adm/);
    const d = tmp();
    const x = spawnSync('tar', ['-x', '-f', '-', '-C', d], { input: a });
    assert.equal(x.status, 0, String(x.stderr));
    assert.deepEqual(readFileSync(path.join(d, long)), bin);
    assert.equal(readFileSync(path.join(d, 'etc/x.conf'), 'utf8'), "a 'b' $(c)\n");
  });
  it('says which paths do not fit (then the session writes without an archive)', () => {
    assert.equal(fitsUstar('etc/x'), true);
    assert.equal(fitsUstar('x'.repeat(101)), false, 'a long name without a slash');
    assert.equal(fitsUstar(`${'p'.repeat(156)}/x`), false, 'a prefix over 155 bytes');
    assert.equal(fitsUstar('etc/l', 't'.repeat(101)), false, 'a link target over 100 bytes');
    assert.equal(fitsUstar('/etc/x'), false, 'absolute');
  });
});

describe('an apply session with tar', { skip }, () => {
  for (const shell of shells) {
    it(`${shell}: the record first, then one archive: files renamed in the plan's order, links made, modes exact, no temp file`, () => {
      const d = tmp();
      const big = Buffer.from(Array.from({ length: INLINE_MAX * 3 }, (_, i) => (i * 13) % 256));
      const r = run(shell, [
        write(`${d}/var/state.json`, '{"v":1}\n', 0o600, true),
        write(`${d}/etc/init.d/lvsctl`, '#!/bin/sh\necho "$1"\n', 0o755),
        // between the writes: the first is in place, the second not yet
        command('between', sh`[ -x ${d}/etc/init.d/lvsctl ] && [ ! -e ${d}/etc/sysctl.d/90.conf ]`),
        write(`${d}/etc/sysctl.d/90.conf`, big, 0o644),
        link(`${d}/etc/rc2.d/S01lvsctl`, '../init.d/lvsctl'),
        link(`${d}/etc/rc0.d/K01lvsctl`, '../init.d/lvsctl'),
        command('last', sh`[ -L ${d}/etc/rc2.d/S01lvsctl ]`),
      ]);
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /@@done\n$/);
      assert.equal(readFileSync(`${d}/var/state.json`, 'utf8'), '{"v":1}\n');
      assert.equal(statSync(`${d}/var/state.json`).mode & 0o7777, 0o600);
      assert.equal(statSync(`${d}/etc/init.d/lvsctl`).mode & 0o7777, 0o755);
      assert.deepEqual(readFileSync(`${d}/etc/sysctl.d/90.conf`), big);
      assert.equal(readlinkSync(`${d}/etc/rc2.d/S01lvsctl`), '../init.d/lvsctl');
      assert.equal(readlinkSync(`${d}/etc/rc0.d/K01lvsctl`), '../init.d/lvsctl');
      assert.deepEqual(temps(d), []);
      // one archive, after the record (the links must not exist before the record names them)
      assert.deepEqual(
        r.steps.map((s) => s.label.replaceAll(d, 'D')),
        [
          'create directories',
          'write D/var/state.json',
          'write D/etc/init.d/lvsctl, D/etc/sysctl.d/90.conf',
          'write D/etc/init.d/lvsctl',
          'between',
          'write D/etc/sysctl.d/90.conf',
          'last',
        ],
      );
      assert.equal(r.steps.filter((s) => s.stdin).length, 1, 'the small record is written from the script itself');
      assert.equal(
        r.steps.filter((s) => s.cmd.text.includes('sync --')).length,
        1,
        'one sync for the record and the files',
      );
    });

    it(`${shell}: an existing link, file or link target is replaced; a record larger than the script's share comes from stdin before the archive`, () => {
      const d = tmp();
      const first = run(shell, [
        write(`${d}/etc/a`, 'old\n'),
        link(`${d}/etc/rc2.d/S01lvsctl`, 'old-target'),
        link(`${d}/etc/rc3.d/S01lvsctl`, 'x'),
      ]);
      assert.equal(first.status, 0, first.stderr);
      const state = `{"owned":"${'x'.repeat(INLINE_MAX * 2)}"}\n`;
      const r = run(shell, [
        write(`${d}/var/lib/state.json`, state, 0o600, true),
        write(`${d}/etc/a`, 'new\n'),
        link(`${d}/etc/rc2.d/S01lvsctl`, '../init.d/lvsctl'),
        link(`${d}/etc/rc3.d/S01lvsctl`, '../init.d/lvsctl'),
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(readFileSync(`${d}/var/lib/state.json`, 'utf8'), state);
      assert.equal(readFileSync(`${d}/etc/a`, 'utf8'), 'new\n');
      assert.equal(readlinkSync(`${d}/etc/rc2.d/S01lvsctl`), '../init.d/lvsctl');
      assert.equal(readlinkSync(`${d}/etc/rc3.d/S01lvsctl`), '../init.d/lvsctl');
      assert.equal(r.steps.filter((s) => s.stdin).length, 2, 'the record from stdin, then the archive');
      assert.deepEqual(temps(d), []);
    });

    it(`${shell}: a failing step stops the session: files after it are not installed and no temp file is left`, () => {
      const d = tmp();
      const r = run(shell, [
        write(`${d}/etc/a`, 'a\n'),
        command('fails', sh`false`),
        write(`${d}/etc/b`, 'b\n'),
        command('never', sh`: >${d}/ran`),
      ]);
      assert.equal(r.status, 1);
      assert.match(r.stdout, /@@failed 2 1/);
      assert.equal(readFileSync(`${d}/etc/a`, 'utf8'), 'a\n');
      assert.deepEqual(readdirSync(`${d}/etc`), ['a'], 'b not installed, no temp file');
      assert.deepEqual(readdirSync(d), ['etc']);
    });

    it(`${shell}: an archive cut short installs nothing of it and leaves no temp file`, () => {
      const d = tmp();
      const big = 'y'.repeat(30_000);
      const full = run(shell, [write(`${d}/etc/a`, big), write(`${d}/etc/b`, big)], true, 0);
      assert.notEqual(full.status, 0, 'no archive at all');
      const cut = run(shell, [write(`${d}/etc/a`, big), write(`${d}/etc/b`, big)], true, 20_000);
      assert.notEqual(cut.status, 0);
      assert.match(cut.stdout, /@@failed 0 /);
      assert.deepEqual(temps(d), []);
      assert.ok(!readdirSync(d).includes('etc') || readdirSync(`${d}/etc`).length === 0);
    });

    it(`${shell}: a checked file is installed only when its check passes, and says why otherwise`, () => {
      const d = tmp();
      const checked = (content: string): Action => ({
        kind: 'write',
        file: { path: `${d}/etc/k.conf`, content, mode: 0o640 },
        check: {
          label: 'config test',
          cmd: (stage) =>
            sh`if grep -q good ${stage}; then mv -f ${stage} ${d}/etc/k.conf; else echo "bad config" >&2; exit 3; fi`,
          fail: (code, said) => new Error(`rejected (exit ${code}): ${said}`),
        },
      });
      const ok = run(shell, [write(`${d}/etc/other`, 'o\n'), checked('good\n')]);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(readFileSync(`${d}/etc/k.conf`, 'utf8'), 'good\n');
      assert.equal(statSync(`${d}/etc/k.conf`).mode & 0o7777, 0o640);
      const bad = run(shell, [write(`${d}/etc/other`, 'o2\n'), checked('evil\n')]);
      assert.equal(bad.status, 3);
      const i = Number(/@@failed (\d+)/.exec(bad.stdout)![1]);
      assert.equal(bad.steps[i]!.fail!(3, 'bad config').message, 'rejected (exit 3): bad config');
      assert.equal(readFileSync(`${d}/etc/k.conf`, 'utf8'), 'good\n', 'the old one stays');
      assert.deepEqual(temps(d), []);
    });
  }

  it('without tar (or a path too long for the archive): one write step per group, an ln per link, the same result', () => {
    const d = tmp();
    const actions = [
      write(`${d}/var/state.json`, '{}\n', 0o600, true),
      write(`${d}/etc/init.d/lvsctl`, '#!/bin/sh\n', 0o755),
      link(`${d}/etc/rc2.d/S01lvsctl`, '../init.d/lvsctl'),
    ];
    // without tar, the directories new files need come first (tar makes them itself)
    const r = run('sh', actions, false, undefined, [`${d}/var`, `${d}/etc/init.d`]);
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.steps.some((s) => s.cmd.text.includes('tar -x')));
    assert.equal(statSync(`${d}/etc/init.d/lvsctl`).mode & 0o7777, 0o755);
    assert.ok(lstatSync(`${d}/etc/rc2.d/S01lvsctl`).isSymbolicLink());
    const long = `${d}/${'x'.repeat(120)}`;
    const r2 = run('sh', [write(`${d}/a`, 'a'), write(long, 'b'), link(`${d}/l`, 'a')]);
    assert.equal(r2.status, 0, r2.stderr);
    assert.ok(!r2.steps.some((s) => s.cmd.text.includes('tar -x')), 'a name over 100 bytes: no archive');
    assert.equal(readFileSync(long, 'utf8'), 'b');
  });
});

describe(
  'an apply session with tar and rename.ul',
  { skip: skip || (!hasRenameUl && "util-linux's rename.ul is not installed") },
  () => {
    it('a group of files is renamed into place by one process; a path written twice keeps its order', () => {
      const d = tmp();
      const r = run(
        'sh',
        [
          write(`${d}/var/state.json`, '{"v":1}\n', 0o600, true),
          write(`${d}/etc/init.d/lvsctl`, '#!/bin/sh\n', 0o755),
          write(`${d}/etc/sysctl.d/90.conf`, 'a=1\n'),
          write(`${d}/etc/other.conf`, 'o\n'),
          command('between', sh`[ -x ${d}/etc/init.d/lvsctl ] && [ -e ${d}/etc/other.conf ]`),
          write(`${d}/var/state.json`, '{"v":2}\n', 0o600, true),
        ],
        true,
        undefined,
        [],
        true,
      );
      assert.equal(r.status, 0, r.stderr + r.stdout);
      const renames = r.steps.filter((s) => s.cmd.text.startsWith('rename.ul'));
      assert.equal(renames.length, 1, r.steps.map((s) => s.cmd.text).join('\n---\n'));
      assert.equal(renames[0]!.cmd.text.split('"$LVSCTL_T').length - 1, 4, 'the record and the three files');
      assert.equal(readFileSync(`${d}/var/state.json`, 'utf8'), '{"v":2}\n', 'the later record wins');
      assert.equal(statSync(`${d}/etc/init.d/lvsctl`).mode & 0o7777, 0o755);
      assert.equal(readFileSync(`${d}/etc/sysctl.d/90.conf`, 'utf8'), 'a=1\n');
      assert.deepEqual(temps(d), []);
    });
  },
);
