// Rolling keepalived changes: which directors roll and in what order, how long each one's VRRP
// state must hold still, and what a sample of a director must show to count as settled.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { renderedFiles } from '../../src/engine/files.js';
import { parseFacts } from '../../src/facts/parse.js';
import { loadInventory } from '../../src/inventory/load.js';
import { parseList } from '../../src/ipvs/list.js';
import { parseAddr } from '../../src/resources/addresses.js';
import {
  instancesChanged,
  judgeSettle,
  rollingPlan,
  vrrpIdentities,
  type DirectorRun,
} from '../../src/plan/rolling.js';
import type { Change } from '../../src/plan/types.js';
import { converge } from '../../src/engine/cluster.js';
import { PlainProgress } from '../../src/engine/progress.js';
import { factsText, fakeConnections, OTHER_SHA, root } from './helpers.js';
import { emptyState, formatState } from '../../src/plan/state.js';
import { MANAGED_PATHS } from '../../src/render/paths.js';

const file = join(root, 'inventories/lab-ha.yaml');
const text = readFileSync(file, 'utf8');
const ha = loadInventory(file);
const variant = (from: string, to: string) => loadInventory(file, { text: text.replace(from, to) }).cluster;
const conf = (c: typeof ha.cluster, host: string) =>
  renderedFiles(c, host, ha.secrets).find((f) => f.path === '/etc/keepalived/keepalived.conf')!;

const LIST = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  'TCP  10.99.1.100:80 rr',
  '  -> 10.99.2.11:80                Masq    1      0          0',
  '',
].join('\n');
const addr = (ips: string[]) =>
  parseAddr(ips.map((ip, i) => `${i + 3}: eth0    inet ${ip}/24 scope global secondary eth0\\ valid_lft forever`));

/** A director before the change: running keepalived (or not), holding `held`, its old config. */
function director(
  host: string,
  o: { held?: string[]; running?: boolean; old?: string; step?: 'reload' | 'start' | null; to?: typeof ha.cluster },
): DirectorRun {
  const facts = parseFacts(factsText({ keepalived: o.running === false ? [] : ['451 452 453'] }));
  facts.addresses.push(...addr(o.held ?? []));
  facts.ipvs = '-A -t 10.99.1.100:80 -s rr\n-a -t 10.99.1.100:80 -r 10.99.2.11:80 -m -w 1\n';
  const c = o.to ?? ha.cluster;
  if (o.old !== undefined) facts.contents.set('/etc/keepalived/keepalived.conf', o.old);
  const changes: Change[] = [{ kind: 'file', action: 'update', file: conf(c, host), diff: '' }];
  const step = o.step === undefined ? 'reload' : o.step;
  if (step) changes.push({ kind: 'keepalived', action: step });
  return { host, facts, plan: { host, changes }, cluster: c };
}

describe('rolling keepalived changes: who and in what order', () => {
  it('the director holding the VIP and the DIP goes last, whatever the inventory order', () => {
    const p = rollingPlan(ha.cluster, [
      director('dir1', { held: ['10.99.1.100', '10.99.2.1'] }),
      director('dir2', { held: [] }),
    ])!;
    assert.deepEqual(p.order, ['dir2', 'dir1']);
    assert.deepEqual([...p.settle.keys()].sort(), ['dir1', 'dir2']);
    const p2 = rollingPlan(ha.cluster, [
      director('dir1', {}),
      director('dir2', { held: ['10.99.1.100', '10.99.2.1'] }),
    ])!;
    assert.deepEqual(p2.order, ['dir1', 'dir2']);
  });

  it('no roll when keepalived runs nowhere yet, when nothing starts or reloads it, or without VRRP', () => {
    assert.equal(rollingPlan(ha.cluster, [director('dir1', { running: false, step: 'start' })]), undefined);
    assert.equal(
      rollingPlan(ha.cluster, [director('dir1', { step: null }), director('dir2', { step: null })]),
      undefined,
    );
    const single = loadInventory(join(root, 'inventories/lab-nat.yaml'), { requireSecrets: false }).cluster;
    assert.equal(single.directors.vrrp, undefined);
    assert.equal(rollingPlan(single, [director('dir1', { to: ha.cluster })]), undefined);
  });

  it('a director without a keepalived change keeps its place in the order but is not waited for', () => {
    const p = rollingPlan(ha.cluster, [director('dir1', { held: ['10.99.1.100'] }), director('dir2', { step: null })])!;
    assert.deepEqual(p.order, ['dir2', 'dir1']);
    assert.deepEqual([...p.settle.keys()], ['dir1']);
  });

  it('the window: one advert and a second for a VRRP change; the master-down interval for a new instance; a check round for new checks; none for weights', () => {
    const same = conf(ha.cluster, 'dir2').content.replace('advert_int 1', 'advert_int 2');
    const vrid = conf(variant('virtual_router_id: 51', 'virtual_router_id: 52'), 'dir2').content;
    const at = (d: DirectorRun) => rollingPlan(ha.cluster, [d])!.settle.get(d.host)!.windowMs;
    assert.equal(at(director('dir2', { old: same })), 2000);
    assert.equal(at(director('dir2', { old: vrid })), 4000);
    // lab-ha's check: delay_loop 2, retry 1, connect_timeout 2, keepalived's delay_before_retry 1
    assert.equal(at(director('dir2', {})), 8000, 'old config unknown: new instances and new checks');
    assert.equal(at(director('dir2', { step: 'start' })), 8000);
    const check = conf(variant('path: /,', 'path: /health,'), 'dir2').content;
    assert.equal(at(director('dir2', { old: check })), 8000, "a changed check: until its first round's retry");
    const weight = conf(variant('{ host: rs2 }', '{ host: rs2, weight: 3 }'), 'dir2').content;
    assert.equal(at(director('dir2', { old: weight })), 0, 'weights alone (a drain): edited in place, no window');
    const slow = variant('advert_int: 1', 'advert_int: 3');
    assert.equal(
      at(director('dir2', { old: conf(slow, 'dir2').content.replace('priority 100', 'priority 90'), to: slow })),
      4000,
    );
    assert.equal(at(director('dir2', { old: vrid, to: slow })), 10_000);
  });
});

describe("a VRRP instance's identity in keepalived.conf (what keepalived matches across a reload)", () => {
  it('virtual_router_id, interface, unicast peers and family change it; priority, advert_int and VIPs do not', () => {
    const base = conf(ha.cluster, 'dir1').content;
    assert.deepEqual(vrrpIdentities(base), ['vrid 51 family 4 dev eth0 src  peers ']);
    assert.equal(instancesChanged(base, base.replace('priority 150', 'priority 90')), false);
    assert.equal(instancesChanged(base, base.replace('advert_int 1', 'advert_int 3')), false);
    assert.equal(instancesChanged(base, base.replace(/10\.99\.1\.100\/24/, '10.99.1.101/24')), false);
    assert.equal(instancesChanged(base, base.replace('virtual_router_id 51', 'virtual_router_id 52')), true);
    assert.equal(instancesChanged(base, base.replace('interface eth0', 'interface eth1')), true);
    assert.equal(instancesChanged(undefined, base), true);
    const unicast = conf(variant('advert_int: 1', 'advert_int: 1\n    unicast: true'), 'dir1').content;
    assert.match(vrrpIdentities(unicast)[0]!, /src 10\.99\.1\.2 peers 10\.99\.1\.3$/);
    assert.equal(instancesChanged(base, unicast), true);
  });

  it('hand-written: quotes, comments, nested blocks, two instances and IPv6 are read as keepalived reads them', () => {
    const handmade = [
      '# vrrp_instance OLD { virtual_router_id 9 }',
      'vrrp_instance "A" {',
      '  interface "eth0" ! the LAN',
      '  virtual_router_id 7',
      '  authentication { auth_type PASS',
      '    auth_pass x }',
      '  virtual_ipaddress {',
      '    fd00::100/64 dev eth0',
      '  }',
      '}',
      'vrrp_instance B { virtual_router_id 8',
      ' interface eth1 unicast_peer { 192.0.2.3',
      '192.0.2.4 } }',
    ].join('\n');
    assert.deepEqual(vrrpIdentities(handmade), [
      'vrid 7 family 6 dev eth0 src  peers ',
      'vrid 8 family 4 dev eth1 src  peers 192.0.2.3 192.0.2.4',
    ]);
  });
});

describe('judging a sample of a director', () => {
  const expect = rollingPlan(ha.cluster, [director('dir2', {})])!.settle.get('dir2')!;
  const sample = (ips: string[], list: string) => ({ addresses: ips, list: parseList(list) });

  it('settled as BACKUP or as MASTER; a real server that was out before may stay out (its health check)', () => {
    assert.deepEqual(expect.services, [
      { id: 'tcp 10.99.1.100:80', label: 'http (tcp 10.99.1.100:80)', required: ['10.99.2.11:80'] },
    ]);
    assert.deepEqual(judgeSettle(expect, sample([], LIST)), { holds: 'BACKUP of VI_1', problems: [] });
    assert.deepEqual(judgeSettle(expect, sample(['10.99.1.100', '10.99.2.1'], LIST)), {
      holds: 'MASTER of VI_1',
      problems: [],
    });
  });

  it('not settled: half of an instance held, a virtual service missing, a real server it served before missing', () => {
    assert.deepEqual(judgeSettle(expect, sample(['10.99.1.100'], LIST)).problems, [
      'VI_1: it holds 1 of its 2 addresses',
    ]);
    assert.deepEqual(judgeSettle(expect, sample([], LIST.replace(/TCP.*\n.*\n/, ''))).problems, [
      'no virtual service http (tcp 10.99.1.100:80)',
    ]);
    assert.deepEqual(judgeSettle(expect, sample([], LIST.replace('10.99.2.11:80', '10.99.2.12:80'))).problems, [
      'http (tcp 10.99.1.100:80) lacks 10.99.2.11:80',
    ]);
  });
});

describe('converge with a rolling change', () => {
  // Both directors run keepalived with another keepalived.conf (lvsctl's, from an earlier inventory);
  // dir1 holds the VIP and the DIP.
  const owned = formatState({ ...emptyState(), owned: { ...emptyState().owned, files: [MANAGED_PATHS.keepalived] } });
  const facts = (host: string) =>
    factsText({
      state: owned,
      links: ['lo', 'eth0', 'eth1', 'mgmt0'],
      packages: ['ipvsadm', 'keepalived', 'curl'],
      keepalived: ['451 452 453'],
      keepalivedVersion: 'Keepalived v2.2.7 (01/16,2022)',
      files: [`0600 root root ${OTHER_SHA} /etc/keepalived/keepalived.conf`],
      addr: host === 'dir1' ? ['5: eth0    inet 10.99.1.100/24 scope global secondary eth0\\ valid_lft forever'] : [],
    });
  const run = async (barrier: (host: string) => string) => {
    const calls: string[] = [];
    const conns = fakeConnections((name, script) => {
      if (script.includes('lvsctl-facts')) return { code: 0, stdout: facts(name) };
      calls.push(`${name} ${script.includes('kill -USR1') ? 'barrier' : 'exec'}`);
      return { code: 0, stdout: script.includes('kill -USR1') ? barrier(name) : '' };
    }, calls);
    const results = await converge(ha.cluster, ha.secrets, renderedFiles, {
      forks: 5,
      apply: true,
      limit: ['dir1', 'dir2'],
      progress: new PlainProgress(() => {}),
      conns,
    });
    return { calls, results: new Map(results.map((r) => [r.host, r])) };
  };

  it('a director whose keepalived does not come back stops the roll: the VIP holder is not changed', async () => {
    const { calls, results } = await run(() => '@@not-running');
    assert.ok(calls.includes('dir2 barrier'));
    assert.deepEqual(
      calls.filter((c) => c.startsWith('dir1')),
      [],
      'nothing ran on dir1 after its facts',
    );
    assert.equal(results.get('dir2')!.status, 'failed');
    assert.equal(results.get('dir2')!.step, 'keepalived settle');
    assert.match(results.get('dir2')!.error!, /keepalived is not running after its reload/);
    assert.equal(results.get('dir1')!.status, 'failed');
    assert.equal(results.get('dir1')!.error, 'not changed: the rolling keepalived change stopped at dir2');
  });
});
