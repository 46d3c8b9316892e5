// The VRRP scripts (issue 22): schema and rules (the invalid inventories vrrp-scripts-*.yaml, run
// by inventory.test.ts, hold the messages), what reaches keepalived.conf, the facts' checks of the
// scripts on a director (keepalived's script security, on faked facts), and the KillMode drop-in
// for notify_stop (keepalived#2239) as a managed file that systemd is told about.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderedFiles } from '../../src/engine/files.js';
import { planFromFacts } from '../../src/engine/host.js';
import { parseFacts } from '../../src/facts/parse.js';
import { formatRules } from '../../src/ipvs/format.js';
import { scriptProblems } from '../../src/facts/scripts.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { Cluster } from '../../src/inventory/model.js';
import { directorScripts, runsOnStop, syncGroupOf } from '../../src/inventory/scripts.js';
import { describe as describeChange } from '../../src/plan/types.js';
import { renderHost } from '../../src/render/host.js';
import { MANAGED_PATHS } from '../../src/render/paths.js';
import { applied, factsText, root, type FactsOptions } from './helpers.js';

const loaded = loadInventory(join(root, 'inventories', 'lab-ha-scripts.yaml'));
const scripted = loaded.cluster;
const plain = loadInventory(join(root, 'inventories', 'lab-ha.yaml')).cluster;
const DROPIN = MANAGED_PATHS.keepalivedDropIn;
const CHECK = '/usr/local/lib/lvsctl-test/check.sh';
const NOTIFY = '/usr/local/lib/lvsctl-test/notify.sh';

/** The cluster with its VRRP section changed. */
const withVrrp = (c: Cluster, change: (v: NonNullable<Cluster['directors']['vrrp']>) => object): Cluster => ({
  ...c,
  directors: { ...c.directors, vrrp: { ...c.directors.vrrp!, ...change(c.directors.vrrp!) } },
});
const conf = (c: Cluster) => renderHost(c, 'dir1', loaded.secrets).find((f) => f.path === MANAGED_PATHS.keepalived)!;

describe('VRRP scripts: inventory', () => {
  it('has invalid inventories for the shapes and the rules', () => {
    for (const f of ['vrrp-scripts-shape', 'vrrp-scripts-rules'])
      assert.ok(existsSync(join(root, 'test/inventories/invalid', `${f}.expected`)), f);
  });
  it('directorScripts lists every script once per place it is named, with its field and user', () => {
    assert.deepEqual(
      directorScripts(scripted).map((s) => [s.path, s.args.join(' '), s.user, s.field.join('.')]),
      [
        [CHECK, '', 'root', 'directors.vrrp.scripts.chk_file.path'],
        [NOTIFY, 'MASTER', 'root', 'directors.vrrp.instances.0.notify_master'],
        [NOTIFY, 'BACKUP', 'root', 'directors.vrrp.instances.0.notify_backup'],
        [NOTIFY, 'FAULT', 'root', 'directors.vrrp.instances.0.notify_fault'],
        [NOTIFY, 'STOP', 'root', 'directors.vrrp.instances.0.notify_stop'],
      ],
    );
    assert.deepEqual(directorScripts(plain), []);
  });
  it('syncGroupOf: one instance is in no group; two of one master are grouped, two of two masters are not', () => {
    const v = scripted.directors.vrrp!;
    assert.equal(syncGroupOf(scripted, 'VI_1'), undefined);
    const withInstances = (instances: typeof v.instances) => ({
      ...scripted,
      directors: { ...scripted.directors, vrrp: { ...v, instances } },
    });
    const two = withInstances([...v.instances, { ...v.instances[0]!, name: 'VI_2' }]);
    assert.deepEqual(syncGroupOf(two, 'VI_2'), ['VI_1', 'VI_2']);
    assert.equal(syncGroupOf(two, 'VI_9'), undefined);
    const [first, second] = scripted.directors.members.map((m) => m.host);
    const split = withInstances([
      { ...v.instances[0]!, master: first },
      { ...v.instances[0]!, name: 'VI_2', master: second },
    ]);
    assert.equal(syncGroupOf(split, 'VI_1'), undefined);
    assert.equal(syncGroupOf(split, 'VI_2'), undefined);
  });
});

describe('VRRP scripts: keepalived.conf', () => {
  it('script_user and enable_script_security only with scripts; script lines are one quoted word each', () => {
    const text = conf(scripted).content;
    assert.match(text, /^ {4}script_user root\n {4}enable_script_security\n\}/m);
    assert.match(
      text,
      /^vrrp_script chk_file \{\n {4}script \/usr\/local\/lib\/lvsctl-test\/check\.sh\n {4}interval 1\n {4}timeout 2\n {4}fall 2\n {4}rise 1\n\}/m,
    );
    assert.match(text, /^ {4}track_interface \{\n {8}eth1\n {4}\}\n {4}track_script \{\n {8}chk_file\n {4}\}$/m);
    assert.match(text, /^ {4}notify_stop "\/usr\/local\/lib\/lvsctl-test\/notify\.sh STOP"$/m);
    assert.doesNotMatch(conf(plain).content, /script|notify|track_/);
  });
  it('weights, a script user and arguments: written as given', () => {
    const c = withVrrp(scripted, (v) => ({
      script_user: 'lvsops',
      scripts: { chk_file: { ...v.scripts!.chk_file!, weight: -30, user: 'nobody', args: ['--vip', '10.99.1.100'] } },
      instances: [{ ...v.instances[0]!, track_interface: [{ interface: 'eth1', weight: -253 }], notify: '/opt/n' }],
    }));
    const text = conf(c).content;
    assert.match(text, /^ {4}script_user lvsops$/m);
    assert.match(text, /^ {4}script "\/usr\/local\/lib\/lvsctl-test\/check\.sh --vip 10\.99\.1\.100"$/m);
    assert.match(text, /^ {4}weight -30\n(?: {4}\w+ \S+\n)* {4}user nobody\n\}/m);
    assert.match(text, /^ {8}eth1 weight -253$/m);
    assert.match(text, /^ {4}notify \/opt\/n$/m);
  });
});

describe('VRRP scripts: the KillMode drop-in (keepalived#2239)', () => {
  const unit = { LoadState: 'loaded', ActiveState: 'active', NeedDaemonReload: 'no' };
  const eth1 = Object.fromEntries(
    ['arp_ignore', 'arp_announce', 'rp_filter', 'send_redirects'].map((k) => [`net/ipv4/conf/eth1/${k}`, '0']),
  );
  const director: FactsOptions = { init: 'systemd', unit, links: ['lo', 'eth0', 'eth1', 'mgmt0'], sysctl: eth1 };
  const run = (c: Cluster, o: FactsOptions, kind: 'up' | 'down' = 'up') =>
    planFromFacts(
      c,
      'dir1',
      loaded.secrets,
      renderedFiles,
      parseFacts(factsText(o)),
      kind === 'up' ? { kind } : { kind, purge: false },
    );
  const plan = (c: Cluster, o: FactsOptions, kind: 'up' | 'down' = 'up') => run(c, o, kind).plan;

  it('rendered where an instance has notify_stop or notify, not otherwise', () => {
    assert.equal(runsOnStop(scripted), true);
    assert.ok(renderHost(scripted, 'dir1', loaded.secrets).some((f) => f.path === DROPIN));
    assert.ok(!renderHost(plain, 'dir1', loaded.secrets).some((f) => f.path === DROPIN));
    const notifyOnly = withVrrp(scripted, (v) => ({
      instances: [{ ...v.instances[0]!, notify_stop: undefined, notify: NOTIFY }],
    }));
    assert.ok(renderHost(notifyOnly, 'dir1', loaded.secrets).some((f) => f.path === DROPIN));
    const noStop = withVrrp(scripted, (v) => ({ instances: [{ ...v.instances[0]!, notify_stop: undefined }] }));
    assert.ok(!renderHost(noStop, 'dir1', loaded.secrets).some((f) => f.path === DROPIN));
  });
  it('up writes it and reloads systemd after it; down (keepalived stopped first) removes it and reloads again', () => {
    const upRun = run(scripted, director);
    const up = upRun.plan;
    const lines = up.changes.map(describeChange);
    const write = lines.indexOf(`create ${DROPIN} (mode 0644)`);
    const reload = lines.findIndex((l) => l.startsWith('boot: systemctl daemon-reload'));
    assert.ok(write >= 0 && reload > write, lines.join('\n'));
    // keepalived.service is loaded: its new drop-in needs the reload, even beside a unit new to systemd
    const fresh = run(scripted, { ...director, unit: { ...unit, LoadState: 'not-found', ActiveState: 'inactive' } });
    assert.deepEqual(
      fresh.plan.changes.map(describeChange).filter((l) => l.startsWith('boot: systemctl')),
      ['boot: systemctl daemon-reload (systemd reads lvsctl.service again)'],
    );
    const freshPlain = run(plain, { ...director, unit: { ...unit, LoadState: 'not-found', ActiveState: 'inactive' } });
    assert.deepEqual(
      freshPlain.plan.changes.map(describeChange).filter((l) => l.startsWith('boot: systemctl')),
      ['boot: systemctl daemon-reload if systemd does not read the new lvsctl.service by itself'],
    );
    const after: FactsOptions = {
      ...applied(director, up.changes, formatRules(upRun.table)),
      keepalived: ['4242'],
    };
    assert.deepEqual(plan(scripted, after).changes.map(describeChange), []);
    const down = plan(scripted, after, 'down').changes.map(describeChange);
    const stop = down.indexOf('stop keepalived');
    const remove = down.indexOf(`remove ${DROPIN}`);
    const reload2 = down.findIndex((l) => l.startsWith('boot: systemctl daemon-reload'));
    assert.ok(stop >= 0 && remove > stop && reload2 > remove, down.join('\n'));
    // an inventory that drops notify_stop removes the drop-in on the next up
    const dropped = withVrrp(scripted, (v) => ({ instances: [{ ...v.instances[0]!, notify_stop: undefined }] }));
    assert.ok(plan(dropped, after).changes.map(describeChange).includes(`remove ${DROPIN}`));
  });
});

describe('VRRP scripts: facts before apply (keepalived script security)', () => {
  const scripts = directorScripts(scripted);
  const dirs = (path: string, line = (p: string) => `directory|0|0|755|${p}`) =>
    [
      '/',
      ...path
        .split('/')
        .slice(1, -1)
        .map((_, i, a) => '/' + a.slice(0, i + 1).join('/')),
    ].map(line);
  const good = [...dirs(CHECK), `regular file|0|0|755|${CHECK}`, `regular file|0|0|755|${NOTIFY}`, 'user root 0 0'];
  const problems = (lines: string[]) =>
    scriptProblems(scripts, parseFacts(factsText({ scripts: lines })).scripts).map((p) =>
      p.replace(/^directors\.vrrp\./, ''),
    );
  const swap = (from: string, to: string) => good.map((l) => (l === from ? to : l));

  it('root-owned scripts in root-owned directories, executable: no problem', () => {
    assert.deepEqual(problems(good), []);
    // group root may write (keepalived allows gid 0), and a sticky directory such as /tmp is fine
    assert.deepEqual(problems(swap(`regular file|0|0|755|${CHECK}`, `regular file|0|0|775|${CHECK}`)), []);
    assert.deepEqual(problems(swap('directory|0|0|755|/usr/local/lib', 'directory|0|0|1777|/usr/local/lib')), []);
  });
  it('a missing script, a group- or world-writable one, or a directory of it, or one not owned by root', () => {
    assert.deepEqual(
      problems([...good.filter((l) => !l.endsWith(NOTIFY)), `absent ${NOTIFY}`]).map((p) => p.split(': ')[1]),
      Array(4).fill('the script does not exist here'),
    );
    assert.deepEqual(problems(swap(`regular file|0|0|755|${CHECK}`, `regular file|0|50|775|${CHECK}`)), [
      `scripts.chk_file.path (${CHECK}): keepalived's script security would not run it: ${CHECK} is writable by group 50 (mode 775)`,
    ]);
    assert.match(
      problems(swap('directory|0|0|755|/usr/local', 'directory|0|0|757|/usr/local'))[0]!,
      /: \/usr\/local is writable by everyone \(mode 757\)$/,
    );
    assert.match(
      problems(swap(`regular file|0|0|755|${CHECK}`, `regular file|1000|0|755|${CHECK}`))[0]!,
      /is owned by uid 1000, not root$/,
    );
    assert.match(
      problems(swap(`regular file|0|0|755|${CHECK}`, `directory|0|0|755|${CHECK}`))[0]!,
      /not a regular file \(directory\)$/,
    );
  });
  it('not executable for the user it runs as; a user that does not exist', () => {
    assert.match(
      problems(swap(`regular file|0|0|755|${CHECK}`, `regular file|0|0|644|${CHECK}`))[0]!,
      /chk_file.path \(.*\): not executable by root \(mode 644\)$/,
    );
    const asUser = withVrrp(scripted, () => ({ script_user: 'lvsops' }));
    const check = (lines: string[]) =>
      scriptProblems(directorScripts(asUser), parseFacts(factsText({ scripts: lines })).scripts);
    const base = good.filter((l) => !l.startsWith('user '));
    assert.deepEqual(check([...base, 'nouser lvsops']), [
      `directors.vrrp.scripts.chk_file.path (${CHECK}): the user lvsops it runs as does not exist here (getent passwd lvsops)`,
    ]);
    assert.deepEqual(check([...base, 'user lvsops 1001 1001']), []); // mode 755: others may run it
    const only750 = base.map((l) => l.replace('|755|/usr/local/lib/lvsctl-test/', '|750|/usr/local/lib/lvsctl-test/'));
    assert.equal(check([...only750, 'user lvsops 1001 1001']).length, 5);
    assert.deepEqual(check([...only750, 'user lvsops 1001 1001 0']), []); // in group root
  });
  it('a symlink is checked where it points', () => {
    const link = [
      ...swap(`regular file|0|0|755|${CHECK}`, `symbolic link|0|0|777|${CHECK}`),
      `link ${CHECK} /srv/x/check.sh`,
      'directory|0|0|755|/srv',
      'directory|0|0|777|/srv/x',
      'regular file|0|0|755|/srv/x/check.sh',
    ];
    assert.match(problems(link)[0]!, /it links to \/srv\/x\/check\.sh, .*: \/srv\/x is writable by everyone/);
    assert.deepEqual(problems(link.map((l) => l.replace('|777|/srv/x', '|755|/srv/x'))), []);
    assert.match(
      problems([...swap(`regular file|0|0|755|${CHECK}`, `symbolic link|0|0|777|${CHECK}`), `badlink ${CHECK}`])[0]!,
      /a symlink to a path lvsctl cannot check/,
    );
  });
});
