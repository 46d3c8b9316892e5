// The facts script runs here, on this machine's real /proc and ip(8), and its output is parsed:
// the parser must agree with what the kernel reports directly.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseFacts } from '../../src/facts/parse.js';
import { factsScript, STATE_FILE } from '../../src/facts/script.js';
import { factsText } from './helpers.js';

describe('facts script + parser on this machine', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsctl-facts-'));
  const managed = join(dir, 'managed.conf');
  writeFileSync(managed, 'x=1\n', { mode: 0o640 });
  const link = join(dir, 'S01lvsctl');
  symlinkSync('../init.d/lvsctl', link);
  const notLink = join(dir, 'S02plain'); // a plain file where a boot link belongs
  writeFileSync(notLink, '');
  const script = factsScript({
    packages: ['bash', 'no-such-package-lvsctl'],
    files: [managed, join(dir, 'absent')],
    bootLinks: [link, join(dir, 'S03absent'), notLink],
    director: true,
  });
  const out = execFileSync('sh', ['-c', script.text], { encoding: 'utf8' });
  const f = parseFacts(out);
  it('reads sysctls as the kernel reports them', () => {
    assert.equal(f.sysctl.get('net.ipv4.ip_forward'), readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim());
    assert.equal(
      f.sysctl.get('net.ipv4.conf.all.arp_ignore'),
      readFileSync('/proc/sys/net/ipv4/conf/all/arp_ignore', 'utf8').trim(),
    );
  });
  it('lists links and addresses as ip(8) does', () => {
    assert.ok(f.links.get('lo')?.up);
    assert.ok(f.addresses.some((a) => a.dev === 'lo' && a.address === '127.0.0.1' && a.prefix === 8));
  });
  it('reads the kernel release as uname -r does, and every address and the default route as ip(8) does (one ip -batch)', () => {
    assert.equal(f.kernel, execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
    const addrs = execFileSync('ip', ['-o', 'addr', 'show'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.equal(f.addresses.length, addrs.length);
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.equal(f.links.size, links.length);
    const route = execFileSync('ip', ['-4', 'route', 'show', 'default'], { encoding: 'utf8' }).split('\n')[0]?.trim();
    assert.equal(f.defaultRoute4?.raw, route || undefined);
  });
  it('knows installed packages and the package manager', () => {
    assert.ok(f.packages.has('bash'));
    assert.ok(!f.packages.has('no-such-package-lvsctl'));
    assert.equal(f.pkgManager, 'apt-get');
    assert.equal(f.os.family, 'debian');
  });
  it('reads installed packages from the dpkg status file exactly as dpkg-query reports ii (every package on this machine)', () => {
    const all = execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Abbrev} ${Package}\\n'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/\s+/));
    const names = [...new Set(all.map((x) => x[1]!.replace(/:.*/, '')))];
    const want = new Set(all.filter((x) => x[0]!.startsWith('ii')).map((x) => x[1]!.replace(/:.*/, '')));
    const g = parseFacts(
      execFileSync('sh', ['-c', factsScript({ packages: [...names, 'no-such-package-lvsctl'], files: [] }).text], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      }),
    );
    assert.ok(names.length > 100, `only ${names.length} packages here`);
    assert.deepEqual([...g.packages].sort(), [...want].sort());
  });
  it('asked for no package (a real server), it reads none: an empty section, not every installed package', () => {
    const g = parseFacts(
      execFileSync('sh', ['-c', factsScript({ packages: [], files: [] }).text], { encoding: 'utf8' }),
    );
    assert.deepEqual([...g.packages], []);
  });
  it(
    'keepalived at boot as the rc links say (SysV here): its word, or null where keepalived is absent',
    { skip: existsSync('/run/systemd/system') && 'a systemd machine (systemctl decides there)' },
    () => {
      const installed = existsSync('/usr/sbin/keepalived');
      const want = !installed
        ? null
        : execFileSync('sh', ['-c', 'ls /etc/rc2.d | grep -q "^S..keepalived$" && echo enabled || echo disabled'], {
            encoding: 'utf8',
          }).trim();
      assert.equal(f.keepalivedBoot, want);
    },
  );
  it('keepalived --version where keepalived is installed (null where not)', () => {
    const installed = existsSync('/usr/sbin/keepalived');
    const first = installed
      ? execFileSync('sh', ['-c', 'keepalived --version 2>&1 | head -n1'], { encoding: 'utf8' })
      : '';
    assert.equal(f.keepalivedVersion?.text ?? null, installed ? /v(\d+\.\d+\.\d+)/.exec(first)![1] : null);
  });
  it('checksums managed files with mode and owner, and reports absent ones', () => {
    const sha = execFileSync('sha256sum', [managed], { encoding: 'utf8' }).split(' ')[0];
    assert.deepEqual(f.files.get(managed), { mode: 0o640, owner: 'root', group: 'root', sha256: sha });
    assert.equal(f.files.get(join(dir, 'absent')), null);
  });
  it('reads boot links with their targets from the same find as the files (a plain file: no target; absent: not listed)', () => {
    assert.deepEqual(
      [...f.bootLinks].sort(),
      [
        [link, '../init.d/lvsctl'],
        [notLink, ''],
      ].sort(),
    );
    assert.equal(f.files.has(link), false, 'a boot link is no managed file');
  });
  it('does not touch IPVS when it is not loaded', () => {
    assert.equal(
      existsSync('/proc/net/ip_vs'),
      false,
      'this test expects a kernel without IPVS (the lab tier covers IPVS)',
    );
    assert.equal(f.ipvs, null);
  });
});

describe('facts script: what a host that is no director reads depends on its record', () => {
  // The record is read from a file of the test's, and iptables-save is a stand-in that prints one
  // lvsctl chain: the real one here has no tables, so "not read" and "read, empty" would look alike.
  const dir = mkdtempSync(join(tmpdir(), 'lvsctl-facts-rec-'));
  const record = join(dir, 'state.json');
  const fake = join(dir, 'iptables-save');
  writeFileSync(fake, "#!/bin/sh\nprintf '*mangle\\n:LVSCTL - [0:0]\\n'\n", { mode: 0o755 });
  const keepalived = existsSync('/usr/sbin/keepalived');
  const run = (state: string | undefined, o: { director?: boolean; packages?: string[] } = {}) => {
    rmSync(record, { force: true });
    if (state !== undefined) writeFileSync(record, state);
    const text = factsScript({
      packages: o.packages ?? [],
      recordedPackages: ['bash', 'no-such-package-lvsctl'],
      files: [],
      director: o.director,
    })
      .text.split(STATE_FILE)
      .join(record)
      .split('iptables-save')
      .join(fake);
    return parseFacts(execFileSync('sh', ['-c', text], { encoding: 'utf8' }));
  };
  it('no record, no director: no keepalived, no netfilter, no package read (and no record)', () => {
    const f = run(undefined);
    assert.equal(f.keepalivedVersion, null);
    assert.equal(f.keepalivedBoot, null);
    assert.deepEqual(f.netfilter.iptables, {});
    assert.deepEqual([...f.packages], []);
    assert.equal(f.state, null);
  });
  it('a director reads them all', () => {
    const f = run(undefined, { director: true });
    assert.deepEqual(f.netfilter.iptables, { mangle: [':LVSCTL - [0:0]'] });
    if (keepalived) assert.notEqual(f.keepalivedVersion, null);
  });
  it('a record that names keepalived, iptables and an installed package: those are read, and the record is printed as it is', () => {
    const state = JSON.stringify({
      owned: { files: ['/etc/keepalived/keepalived.conf', '/etc/lvsctl/iptables.rules'], packages: ['bash'] },
    });
    const f = run(state + '\n');
    assert.deepEqual(f.netfilter.iptables, { mangle: [':LVSCTL - [0:0]'] });
    if (keepalived) assert.notEqual(f.keepalivedBoot, null);
    assert.deepEqual([...f.packages], ['bash'], 'bash is recorded; the other recorded-only name is not named');
    assert.equal(f.state, state);
  });
  it('a record without a last newline comes back whole', () => {
    assert.equal(run('{"a": 1}').state, '{"a": 1}');
  });
});

describe('facts parser: dpkg status paragraphs', () => {
  it('installed means wanted install and installed (dpkg-query ii): not config-files, half-installed, hold or deinstall', () => {
    const text = factsText({
      packages: [
        'Package: a',
        'Status: install ok installed',
        '--',
        'Package: b',
        'Status: deinstall ok config-files',
        '--',
        'Package: c',
        'Essential: yes',
        'Protected: yes',
        'Status: install ok installed',
        '--',
        'Package: d',
        'Status: install reinstreq half-installed',
        '--',
        'Package: e',
        'Status: hold ok installed',
        '--',
        'Package: f',
        'Status: deinstall ok installed',
      ],
    });
    assert.deepEqual([...parseFacts(text).packages].sort(), ['a', 'c']);
  });
  it('one name a line (dpkg-query, rpm) is read as before', () => {
    assert.deepEqual([...parseFacts(factsText({ packages: ['curl', 'ipvsadm'] })).packages], ['curl', 'ipvsadm']);
  });
});
