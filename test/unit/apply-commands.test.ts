// Changes become exact shell commands; the commands run here in a real shell where they can
// (sysctl paths, quoting), and are compared exactly where they need a host (packages, ip).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batch, commandFor, sysctlPath } from '../../src/apply/commands.js';
import type { Shell } from '../../src/util/quote.js';
import { sh } from '../../src/util/quote.js';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { INLINE_MAX, writeScript } from '../../src/ssh/write-script.js';

const debian = { init: 'sysv' as const, os: { id: 'debian', idLike: [], family: 'debian' as const, pretty: '' } };
const rhel = {
  init: 'systemd' as const,
  os: { id: 'rocky', idLike: ['rhel', 'centos', 'fedora'], family: 'rhel' as const, pretty: '' },
};

describe('commandFor', () => {
  it('dnf and yum install exactly the planned packages', () => {
    assert.equal(
      commandFor({ kind: 'packages', action: 'install', manager: 'dnf', packages: ['ipvsadm', 'keepalived'] }, rhel)!
        .text,
      'dnf install -y ipvsadm keepalived',
    );
    assert.equal(
      commandFor({ kind: 'packages', action: 'install', manager: 'yum', packages: ['ipvsadm'] }, rhel)!.text,
      'yum install -y ipvsadm',
    );
  });
  it('apt-get installs without starting daemons and refreshes lists only when needed', () => {
    const t = commandFor(
      { kind: 'packages', action: 'install', manager: 'apt-get', packages: ['ipvsadm'] },
      debian,
    )!.text;
    assert.match(t, /exit 101/);
    assert.match(
      t,
      /apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold ipvsadm \|\| \{ apt-get update -q && apt-get install/,
    );
    execFileSync('bash', ['-n', '-c', t]);
  });
  it('stopping keepalived waits until it has exited (it releases the VIPs on the way out); start and reload do not', () => {
    const stop = commandFor({ kind: 'keepalived', action: 'stop' }, debian)!.text;
    assert.match(stop, /^\/etc\/init\.d\/keepalived stop\n/);
    assert.match(stop, /while pidof keepalived >\/dev\/null/);
    execFileSync('bash', ['-n', '-c', stop]);
    assert.equal(
      commandFor({ kind: 'keepalived', action: 'reload' }, rhel)!.text,
      'systemctl reload keepalived.service',
    );
    assert.equal(commandFor({ kind: 'keepalived', action: 'start' }, debian)!.text, '/etc/init.d/keepalived start');
  });
  it('sysctl keys map to /proc/sys paths, interface names with dots included', () => {
    assert.equal(sysctlPath('net.ipv4.conf.eth0.100.arp_ignore'), '/proc/sys/net/ipv4/conf/eth0.100/arp_ignore');
    assert.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
    assert.equal(sysctlPath('net.ipv4.vs.expire_nodest_conn'), '/proc/sys/net/ipv4/vs/expire_nodest_conn');
    assert.equal(
      commandFor({ kind: 'sysctl', key: 'net.ipv4.conf.all.arp_ignore', to: '1', restore: false }, debian)!.text,
      "printf '%s\\n' 1 > /proc/sys/net/ipv4/conf/all/arp_ignore",
    );
  });
  it('addresses, routes and boot links', () => {
    assert.equal(
      commandFor(
        { kind: 'address', action: 'add', addr: { address: '10.99.2.100', prefix: 32, dev: 'lo', label: 'lo:0' } },
        debian,
      )!.text,
      'ip addr add 10.99.2.100/32 dev lo label lo:0',
    );
    assert.equal(
      commandFor({ kind: 'route', action: 'restore', to: 'default via 10.99.2.254 dev eth0', from: 'x' }, debian)!.text,
      'ip route replace default via 10.99.2.254 dev eth0',
    );
    assert.equal(commandFor({ kind: 'route', action: 'restore', to: '' }, debian)!.text, 'ip route del default');
    assert.equal(
      commandFor(
        { kind: 'bootlink', action: 'create', path: '/etc/rc2.d/S01lvsctl', target: '../init.d/lvsctl' },
        debian,
      )!.text,
      '{ [ -d /etc/rc2.d ] || mkdir -p /etc/rc2.d; } && ln -sfn ../init.d/lvsctl /etc/rc2.d/S01lvsctl',
    );
  });
  it('batch stops at the first failing step and names it', () => {
    const r = spawnSync(
      'bash',
      [
        '-c',
        batch([
          { label: 'a', cmd: sh`true` },
          { label: 'b', cmd: sh`exit 3` },
          { label: 'c', cmd: sh`echo never` },
        ]).script.text,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 3);
    assert.equal(r.stdout, '@@step 0\n@@step 1\n@@failed 1 3\n');
  });
  const strace = spawnSync('strace', ['-V']).status === 0;
  it(
    'batch: steps share no subshell unless they could end or change the shell; each still fails alone',
    {
      skip: !strace && 'strace is not installed (it counts the forks)',
    },
    () => {
      const run = (steps: { label: string; cmd: Shell }[]) =>
        spawnSync(
          'strace',
          ['-f', '-qq', '-e', 'trace=clone,clone3,fork,vfork', 'sh', '-c', batch(steps).script.text],
          {
            encoding: 'utf8',
          },
        );
      const forks = (r: ReturnType<typeof run>) => r.stderr.split('\n').filter((l) => /clone|fork/.test(l)).length;
      const plain = run([
        { label: 'a', cmd: sh`printf '%s\n' 1 >/dev/null` },
        { label: 'b', cmd: sh`x=2; : "$x"; true;` },
        { label: 'c', cmd: sh`[ -d / ] || false` },
      ]);
      assert.equal(plain.status, 0);
      assert.equal(forks(plain), 0, plain.stderr);
      assert.equal(plain.stdout, '@@step 0\n@@step 1\n@@step 2\n@@done\n');
      // a failing step in a group stops the script and is named
      const failed = run([
        { label: 'a', cmd: sh`true` },
        { label: 'b', cmd: sh`false` },
        { label: 'c', cmd: sh`echo never` },
      ]);
      assert.equal(failed.status, 1);
      assert.equal(failed.stdout, '@@step 0\n@@step 1\n@@failed 1 1\n');
      // a step that changes directory or exits runs in its own subshell: the next step is unaffected
      const own = run([
        { label: 'a', cmd: sh`cd /proc` },
        { label: 'b', cmd: sh`[ "$(pwd)" != /proc ]` },
      ]);
      assert.equal(own.status, 0, own.stdout);
    },
  );
});

describe('batch with file writes (one session for files and commands)', () => {
  const shells = ['sh', 'bash'].filter((s) => spawnSync(s, ['-c', 'true']).status === 0);
  const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'lvsctl-batch-'));
  const write = (files: { path: string; content: string }[]) => {
    const w = writeScript(files.map((f) => ({ ...f, mode: 0o640 })));
    return { label: `write ${files.map((f) => f.path).join(', ')}`, cmd: w.script, stdin: w.data };
  };
  for (const shell of shells) {
    it(`${shell}: files arrive whole and in order between commands that cannot read them`, () => {
      const d = tmp();
      const b = batch([
        write([{ path: `${d}/a`, content: 'first\n' }]),
        // a command that would swallow stdin reads /dev/null instead
        { label: 'cat', cmd: sh`cat >${d}/swallowed` },
        { label: 'check a', cmd: sh`[ "$(cat ${d}/a)" = first ]` },
        write([
          { path: `${d}/b`, content: 'second' },
          { path: `${d}/empty`, content: '' },
        ]),
      ]);
      const r = spawnSync(shell, ['-c', b.script.text], { input: b.stdin, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, '@@step 0\n@@step 1\n@@step 2\n@@step 3\n@@done\n');
      assert.equal(readFileSync(`${d}/a`, 'utf8'), 'first\n');
      assert.equal(readFileSync(`${d}/b`, 'utf8'), 'second');
      assert.equal(readFileSync(`${d}/empty`, 'utf8'), '');
      assert.equal(readFileSync(`${d}/swallowed`, 'utf8'), '');
      assert.equal((statSync(`${d}/b`).mode & 0o7777).toString(8), '640');
      assert.deepEqual(readdirSync(d).sort(), ['a', 'b', 'empty', 'swallowed']);
    });
    it(`${shell}: a write that fails stops the batch there, leaves no temp file and installs nothing of it`, () => {
      const d = tmp();
      writeFileSync(`${d}/keep`, 'old');
      // the second file's directory does not exist: its temp file cannot be made, so neither file is
      // renamed into place (set -e would be ignored here: the step's own `|| exit` must stop it)
      const b = batch([
        { label: 'before', cmd: sh`: >${d}/ran-before` },
        write([
          { path: `${d}/keep`, content: 'new' },
          { path: `${d}/missing/x`, content: 'x' },
        ]),
        { label: 'after', cmd: sh`: >${d}/ran-after` },
      ]);
      const r = spawnSync(shell, ['-c', b.script.text], { input: b.stdin, encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.match(r.stdout, /@@failed 1 [1-9]/);
      assert.equal(readFileSync(`${d}/keep`, 'utf8'), 'old');
      assert.deepEqual(readdirSync(d).sort(), ['keep', 'ran-before']);
    });
    it(`${shell}: a stream cut short installs nothing (the sizes are checked before any rename)`, () => {
      const d = tmp();
      const b = batch([write([{ path: `${d}/f`, content: 'x'.repeat(INLINE_MAX + 1000) }])]);
      const r = spawnSync(shell, ['-c', b.script.text], { input: b.stdin.subarray(0, 2000), encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.deepEqual(readdirSync(d), []);
    });
  }
});
