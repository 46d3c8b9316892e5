// Resource modules and OS families as data: every kind of change has its module's words and (unless
// the engine carries it out) its command; the facts script's sections keep their order; a host's
// family comes from os-release, else from its package manager.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { commandFor } from '../../src/apply/commands.js';
import { FACT_SECTIONS, factsScript } from '../../src/facts/script.js';
import { modulesFacts } from '../../src/resources/modules.js';
import { hostOs, initSystem, PACKAGE_MANAGERS } from '../../src/os/index.js';
import { parseFacts } from '../../src/facts/parse.js';
import { ChangeRecord, changeRecord } from '../../src/plan/record.js';
import { changeDiff, describe as describeChange, isEngineChange, type Change } from '../../src/plan/types.js';
import { factsText } from './helpers.js';

const addr = { address: '10.99.2.100', prefix: 32, dev: 'lo', label: 'lo:0' };
const chains = [
  { table: 'mangle', hook: 'PREROUTING', chain: 'LVSCTL', rules: ['-p tcp -j MARK --set-mark 1'], ordered: false },
];

// One entry per kind, so a new kind without samples here does not compile.
const SAMPLES: { [K in Change['kind']]: Extract<Change, { kind: K }>[] } = {
  packages: [
    { kind: 'packages', action: 'install', manager: 'apt-get', packages: ['ipvsadm'] },
    { kind: 'packages', action: 'purge', manager: 'dnf', packages: ['keepalived'] },
  ],
  state: [
    { kind: 'state', phase: 'before', content: '{}' },
    { kind: 'state', phase: 'remove', content: '' },
  ],
  file: [
    { kind: 'file', action: 'create', file: { path: '/etc/x', content: 'x\n', mode: 0o644 }, diff: '+x' },
    { kind: 'file', action: 'delete', path: '/etc/x', diff: '-x' },
    { kind: 'file', action: 'delete', path: '/etc/x', diff: '', restore: '/var/lib/lvsctl/found-etc-x' },
  ],
  module: [{ kind: 'module', name: 'ip_vs' }],
  sysctl: [{ kind: 'sysctl', key: 'net.ipv4.ip_forward', from: '0', to: '1', restore: false }],
  link: [{ kind: 'link', dev: 'tunl0', up: true }],
  address: [
    { kind: 'address', action: 'add', addr },
    { kind: 'address', action: 'del', addr },
  ],
  route: [
    { kind: 'route', action: 'set', via: '10.99.2.1' },
    { kind: 'route', action: 'restore', to: '', from: 'default via 10.99.2.1 dev eth1' },
  ],
  ipvs: [{ kind: 'ipvs', lines: ['-A -t 10.99.2.100:80 -s rr'], owned: [] }],
  netfilter: [
    { kind: 'netfilter', action: 'apply', cmd: 'iptables', file: '/etc/lvsctl/netfilter.rules', chains },
    { kind: 'netfilter', action: 'remove', cmd: 'ip6tables', chains },
  ],
  timeouts: [{ kind: 'timeouts', to: [900, 120, 300], restore: false }],
  keepalived: [
    { kind: 'keepalived', action: 'start' },
    { kind: 'keepalived', action: 'stop' },
  ],
  'keepalived-boot': [{ kind: 'keepalived-boot', enable: true, from: 'disabled', restore: false }],
  bootlink: [{ kind: 'bootlink', action: 'create', path: '/etc/rc2.d/S01lvsctl', target: '../init.d/lvsctl' }],
  'boot-unit': [
    { kind: 'boot-unit', action: 'stop', from: 'active' },
    { kind: 'boot-unit', action: 'reload', forget: false },
    { kind: 'boot-unit', action: 'reload', forget: true },
    { kind: 'boot-unit', action: 'reload', forget: false, ifNeeded: true },
  ],
  'boot-script': [
    { kind: 'boot-script', enable: false, script: { path: '/etc/rc.local', how: 'exec' } },
    { kind: 'boot-script', enable: true, script: { path: '/etc/init.d/lvs', how: 'service' } },
  ],
};

const release = (id: string, ...idLike: string[]) => ({ id, idLike, family: 'other' as const, pretty: id });
const debian = { init: 'sysv' as const, os: release('debian') };
const rocky = { init: 'systemd' as const, os: release('rocky', 'rhel', 'centos', 'fedora') };

describe('resource modules', () => {
  const all = Object.values(SAMPLES).flat();
  it('every kind of change is described; a diff is a string', () => {
    for (const c of all) {
      assert.match(describeChange(c), /\S/, c.kind);
      assert.equal(typeof changeDiff(c), 'string', c.kind);
    }
  });
  it('every kind of change has a JSON record of the contract: its action and target, before and after', () => {
    for (const c of all) {
      const r = ChangeRecord.parse(changeRecord('h', c));
      assert.equal(r.kind, c.kind);
      assert.match(r.action, /^[a-z]+$/, c.kind);
      assert.match(r.target, /\S/, c.kind);
      assert.ok(r.from !== r.to, `${c.kind}: a change changes something (${r.from} -> ${r.to})`);
    }
  });
  it('every kind the engine does not carry out has a command a shell can parse, on either init system', () => {
    for (const c of all) {
      if (isEngineChange(c)) continue;
      for (const host of [debian, rocky]) {
        const t = commandFor(c, host).text;
        assert.match(t, /\S/, c.kind);
        execFileSync('sh', ['-n', '-c', t]);
      }
    }
    assert.deepEqual([...new Set(all.filter(isEngineChange).map((c) => c.kind))], ['state', 'file', 'ipvs']);
  });
  it('the init system and the firewall front-end come from the host', () => {
    assert.equal(commandFor({ kind: 'keepalived', action: 'start' }, rocky).text, 'systemctl start keepalived.service');
    assert.equal(commandFor({ kind: 'keepalived', action: 'start' }, debian).text, '/etc/init.d/keepalived start');
    assert.equal(
      commandFor({ kind: 'keepalived-boot', enable: false, from: 'enabled', restore: false }, rocky).text,
      'systemctl disable keepalived.service',
    );
    assert.match(commandFor(SAMPLES.netfilter[0]!, debian).text, /^\{ iptables-restore --noflush < \/etc\/lvsctl\//);
  });
  it('the boot unit through systemctl; where systemctl is absent its commands do nothing and succeed', () => {
    const [stop, reload, forget] = SAMPLES['boot-unit'];
    const guarded = (cmd: string) => `if command -v systemctl >/dev/null 2>&1; then ${cmd}; fi`;
    assert.equal(commandFor(stop!, rocky).text, guarded('systemctl stop lvsctl.service'));
    assert.equal(commandFor(reload!, rocky).text, guarded('systemctl daemon-reload'));
    assert.equal(
      commandFor(forget!, rocky).text,
      guarded('systemctl daemon-reload && { systemctl reset-failed lvsctl.service 2>/dev/null || :; }'),
    );
    const bin = mkdtempSync(path.join(tmpdir(), 'lvsctl-systemctl-'));
    try {
      // reset-failed of a unit systemd already forgot fails: the forget command goes on
      writeFileSync(path.join(bin, 'systemctl'), '#!/bin/sh\necho "$*" >>"$0.log"\n[ "$1" != reset-failed ]\n', {
        mode: 0o755,
      });
      for (const c of SAMPLES['boot-unit']) {
        const text = commandFor(c, rocky).text;
        execFileSync('/bin/sh', ['-c', text], { env: { PATH: path.join(bin, 'none') } }); // throws on a non-zero exit
        execFileSync('/bin/sh', ['-c', text], { env: { PATH: `${bin}:/usr/bin:/bin` } });
      }
      assert.deepEqual(readFileSync(path.join(bin, 'systemctl.log'), 'utf8').trim().split('\n'), [
        'stop lvsctl.service',
        'daemon-reload',
        'daemon-reload',
        'reset-failed lvsctl.service',
        'show -p LoadState,NeedDaemonReload lvsctl.service', // says nothing here: the reload runs
        'daemon-reload',
      ]);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
  it('a unit new to systemd: the reload runs only where systemd, asked after the writes, does not see the file', () => {
    const cmd = commandFor({ kind: 'boot-unit', action: 'reload', forget: false, ifNeeded: true }, rocky).text;
    const bin = mkdtempSync(path.join(tmpdir(), 'lvsctl-systemctl-'));
    // systemctl show prints its properties in its own order, whatever -p asked
    const cases: [show: string, showExit: number, reloads: boolean][] = [
      ['LoadState=loaded\nNeedDaemonReload=no', 0, false],
      ['NeedDaemonReload=no\nLoadState=loaded', 0, false],
      ['LoadState=not-found\nNeedDaemonReload=no', 0, true],
      ['LoadState=loaded\nNeedDaemonReload=yes', 0, true],
      ['LoadState=bad-setting\nNeedDaemonReload=no', 0, true],
      ['', 1, true], // no answer from systemd: reload as before
    ];
    try {
      for (const [show, code, reloads] of cases) {
        const log = path.join(bin, 'systemctl.log');
        rmSync(log, { force: true });
        writeFileSync(
          path.join(bin, 'systemctl'),
          `#!/bin/sh\necho "$*" >>"$0.log"\n[ "$1" = show ] && { printf '%b\\n' '${show}'; exit ${code}; }\nexit 0\n`,
          { mode: 0o755 },
        );
        execFileSync('/bin/sh', ['-c', cmd], { env: { PATH: `${bin}:/usr/bin:/bin` } });
        const calls = readFileSync(log, 'utf8').trim().split('\n');
        assert.deepEqual(
          calls,
          ['show -p LoadState,NeedDaemonReload lvsctl.service', ...(reloads ? ['daemon-reload'] : [])],
          JSON.stringify(show),
        );
      }
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
  it("the boot unit's facts: systemctl show's lines, in any order; no lines (no systemd, no systemctl): null", () => {
    const unit = (lines: Record<string, string> | undefined) =>
      parseFacts(factsText({ init: 'systemd', ...(lines ? { unit: lines } : {}) })).bootUnit;
    assert.deepEqual(unit({ ActiveState: 'active', LoadState: 'loaded', NeedDaemonReload: 'yes' }), {
      load: 'loaded',
      active: 'active',
      needReload: true,
    });
    assert.deepEqual(unit({ LoadState: 'not-found', ActiveState: 'inactive', NeedDaemonReload: 'no' }), {
      load: 'not-found',
      active: 'inactive',
      needReload: false,
    });
    assert.equal(unit(undefined), null);
  });
  it('an IPv6 address is added without duplicate address detection (usable at once); IPv4 keeps its label', () => {
    const v6 = { address: 'fd99:2::100', prefix: 128, dev: 'lo' };
    assert.equal(
      commandFor({ kind: 'address', action: 'add', addr: v6 }, debian).text,
      'ip addr add fd99:2::100/128 dev lo nodad',
    );
    assert.equal(
      commandFor({ kind: 'address', action: 'del', addr: v6 }, debian).text,
      'ip addr del fd99:2::100/128 dev lo',
    );
    assert.equal(
      commandFor({ kind: 'address', action: 'add', addr }, debian).text,
      'ip addr add 10.99.2.100/32 dev lo label lo:0',
    );
  });
  it('the modules fragment lists the IPVS and tunnel modules a kernel has, built in or loaded', () => {
    // a fake /lib/modules tree: ipip and ip6_tunnel as files (IPv4 and IPv6 TUN), one scheduler built in
    const root = mkdtempSync(path.join(tmpdir(), 'lvsctl-mods-'));
    const m = path.join(root, '6.1.0');
    for (const f of [
      'netfilter/ipvs/ip_vs.ko',
      'netfilter/ipvs/ip_vs_rr.ko.xz',
      'ipv4/ipip.ko',
      'ipv4/tunnel4.ko',
      'ipv6/ip6_tunnel.ko',
    ]) {
      mkdirSync(path.dirname(path.join(m, 'kernel/net', f)), { recursive: true });
      writeFileSync(path.join(m, 'kernel/net', f), '');
    }
    writeFileSync(path.join(m, 'modules.builtin'), 'kernel/net/netfilter/ipvs/ip_vs_mh.ko\nkernel/fs/ext4/ext4.ko\n');
    const script = `s() { echo "#$1"; }\nk=6.1.0\n${modulesFacts.script.replace('m=/lib/modules/', `m=${root}/`)}\ntrue`;
    const out = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    rmSync(root, { recursive: true });
    const available = out.split('#modules_loaded')[0]!.split('\n').slice(1).filter(Boolean).sort();
    assert.deepEqual(available, ['ip6_tunnel', 'ip_vs', 'ip_vs_mh', 'ip_vs_rr', 'ipip']);
  });
  it('the facts script prints its sections in this order (the parser and the fragments rely on it)', () => {
    assert.deepEqual(FACT_SECTIONS, [
      'os',
      'kernel',
      'init',
      'pkgmgr',
      'tools',
      'packages',
      'modules_available',
      'modules_loaded',
      'sysctl',
      'links',
      'addr',
      'route',
      'files',
      'ipvs',
      'iptables',
      'keepalived',
      'keepalived_boot',
      'keepalived_version',
      'scripts',
      'bootlinks',
      'boot_unit',
      'boot_scripts',
      'contents',
      'lock',
      'state',
    ]);
  });
});

describe('OS families', () => {
  const family = (os: ReturnType<typeof release>, pkgManager?: 'apt-get' | 'dnf' | 'yum') =>
    hostOs({ os, init: 'systemd', pkgManager }).family.name;
  it('os-release names the family: ID, or a word of ID_LIKE', () => {
    assert.equal(family(release('debian')), 'debian');
    assert.equal(family(release('ubuntu', 'debian')), 'debian');
    assert.equal(family(release('linuxmint', 'ubuntu')), 'debian');
    for (const id of ['rhel', 'fedora', 'centos']) assert.equal(family(release(id)), 'rhel');
    assert.equal(family(release('rocky', 'rhel', 'centos', 'fedora')), 'rhel');
    assert.equal(family(release('ol', 'fedora')), 'rhel');
  });
  it('the release first: a package manager of another family does not change it', () => {
    assert.equal(family(release('debian'), 'dnf'), 'debian');
  });
  it('an unknown release: the family of the package manager the facts found, else other', () => {
    assert.equal(family(release('unknown'), 'apt-get'), 'debian');
    assert.equal(family(release('unknown'), 'yum'), 'rhel');
    assert.equal(family(release('unknown')), 'other');
    assert.equal(hostOs({ os: release('unknown'), init: 'sysv' }).family.packageManagers.length, 0);
  });
  it('the facts script looks for the package managers in the families’ order', () => {
    assert.deepEqual(
      PACKAGE_MANAGERS.map((m) => m.name),
      ['apt-get', 'dnf', 'yum'],
    );
  });
  it('the facts script asks each family’s package database for the packages, once each (dnf and yum share rpm)', () => {
    const text = factsScript({ packages: ['ipvsadm'], files: [] }).text;
    for (const m of PACKAGE_MANAGERS)
      for (const b of m.installed) assert.ok(text.includes(`elif ${b.when}; then`), `${m.name}: ${b.when}`);
    assert.equal(text.split('rpm -q').length - 1, 1);
    assert.equal(text.split('/var/lib/dpkg/status').length - 1, 2); // its test and its grep
    execFileSync('sh', ['-n', '-c', text]);
  });
  it('init systems by the facts script’s word; anything but systemd runs SysV scripts', () => {
    assert.equal(initSystem('systemd').name, 'systemd');
    assert.equal(initSystem('sysv').name, 'sysv');
    assert.equal(initSystem('openrc').name, 'sysv');
  });
});
