// The identity module (src/identity) and what depends on it: one spelling of every address, one
// key for every service and destination, whoever builds it. IPv6 real servers written in a
// non-canonical form must be matched by verify's attribution and by status.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { HostResult } from '../../src/engine/cluster.js';
import type { HostRun } from '../../src/engine/host.js';
import * as net from 'node:net';
import { canonicalAddress, familyOf, inSubnet4, isIP, sameAddress } from '../../src/identity/address.js';
import {
  destinationKey,
  hostPort,
  parseHostPort,
  serviceArgs,
  serviceKey,
  urlHost,
} from '../../src/identity/service.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { Cluster, ResolvedService } from '../../src/inventory/model.js';
import { ipvsService } from '../../src/ipvs/desired.js';
import { formatRules } from '../../src/ipvs/format.js';
import { parseList } from '../../src/ipvs/list.js';
import { parseRules } from '../../src/ipvs/parse.js';
import { statusReport } from '../../src/status/report.js';
import { hitsBetween, parseStats } from '../../src/verify/counters.js';
import { renderedFiles } from '../../src/engine/files.js';
import { planFromFacts } from '../../src/engine/host.js';
import { parseFacts } from '../../src/facts/parse.js';
import { applied, factsText, root, type FactsOptions } from './helpers.js';

const tmp = mkdtempSync(join(tmpdir(), 'lvsctl-identity-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const load = (text: string) => {
  const f = join(tmp, `inv${n++}.yaml`);
  writeFileSync(f, text);
  return loadInventory(f, { requireSecrets: false }).cluster;
};

describe('identity: addresses', () => {
  it("canonical form is inet_ntop(3)'s: lower case, longest zero run as ::, IPv4 unchanged", () => {
    const same: [string, string][] = [
      ['2001:DB8:0:0:0:0:0:21', '2001:db8::21'],
      ['2001:0db8:0000:0000:0000:0000:0000:0021', '2001:db8::21'],
      ['fd00:0::1', 'fd00::1'],
      ['FD00::1', 'fd00::1'],
      ['::FFFF:10.0.0.1', '::ffff:10.0.0.1'],
      ['10.0.0.1', '10.0.0.1'],
    ];
    for (const [text, want] of same) assert.equal(canonicalAddress(text), want, text);
    assert.throws(() => canonicalAddress('not-an-address'));
  });
  it('sameAddress: two spellings of one address; never an address and a non-address', () => {
    assert.ok(sameAddress('2001:DB8::21', '2001:db8:0:0::21'));
    assert.ok(!sameAddress('2001:db8::21', '2001:db8::22'));
    assert.ok(!sameAddress('::ffff:10.0.0.1', '10.0.0.1')); // different families on the wire
    assert.ok(!sameAddress('x', 'x'));
  });
  it('familyOf and inSubnet4', () => {
    assert.equal(familyOf('10.0.0.1'), 4);
    assert.equal(familyOf('::1'), 6);
    assert.throws(() => familyOf('10.0.0'));
    assert.ok(inSubnet4('10.99.1.11', '10.99.1.1', 24));
    assert.ok(!inSubnet4('10.99.2.11', '10.99.1.1', 24));
    assert.ok(inSubnet4('192.0.2.1', '10.0.0.0', 0));
  });
  it("isIP answers as node:net's isIP: hand-picked edges and 200,000 generated strings", () => {
    const edges = [
      ...['', '::', ':::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::2:3:4:5:6:7:8'],
      ...['1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', '12345::', 'g::1', ':1::', '1:::2', '::ffff:10.0.0.1'],
      ...['::10.0.0.1', '1:2:3:4:5:6:10.0.0.1', '1:2:3:4:5:6:7:10.0.0.1', '::ffff:10.0.0.256', '::ffff:010.0.0.1'],
      ...['10.0.0.1:1::', 'fe80::1%eth0', 'fe80::1%', 'fe80::1%e th0', 'fe80::1%a:b.c-d', '10.0.0.1%eth0', '1.2.3.4'],
      ...['01.2.3.4', '1.2.3', '1.2.3.4.5', '256.1.1.1', ' 1.2.3.4', '1.2.3.4 ', '::1 ', 'FFFF::', '::ffff:1.2.3.4.5'],
      ...['1:2:3:4:5:6:7:8%z', '1.2.3.4::', ':1.2.3.4', '::1.2.3.4:1', '0:0:0:0:0:ffff:1.2.3.4', '[::1]', '::1/128'],
    ];
    for (const t of edges) assert.equal(isIP(t), net.isIP(t), JSON.stringify(t));
    // strings of address characters, and mutations of valid addresses (a seeded generator: a failure repeats)
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n);
    const chars = '0123456789abcdefABCDEF:.:.::%zg';
    const valid = ['2001:db8::21', '::ffff:10.0.0.1', '1:2:3:4:5:6:7:8', '10.99.1.1', 'fe80::1%eth0', '::'];
    for (let i = 0; i < 200_000; i++) {
      let t: string;
      if (i % 10 === 1) t = Array.from({ length: 3 + rnd(3) }, () => (rnd(4) ? '' : '0') + rnd(300)).join('.');
      else if (i % 2) t = Array.from({ length: rnd(24) }, () => chars[rnd(chars.length)]).join('');
      else {
        const a = [...valid[rnd(valid.length)]!];
        for (let k = rnd(3) + 1; k > 0; k--) a.splice(rnd(a.length + 1), rnd(2), chars[rnd(chars.length)]!);
        t = a.join('');
      }
      if (isIP(t) !== net.isIP(t)) assert.fail(`isIP(${JSON.stringify(t)}) = ${isIP(t)}, node:net says ${net.isIP(t)}`);
    }
  });
});

describe('identity: endpoints and service keys', () => {
  it('hostPort and urlHost canonicalize; parseHostPort reads what they write', () => {
    assert.equal(hostPort('2001:DB8:0::21', 80), '[2001:db8::21]:80');
    assert.equal(hostPort('10.0.0.1', 0), '10.0.0.1:0');
    assert.equal(urlHost('FD00::100'), '[fd00::100]');
    assert.equal(urlHost('10.0.0.1'), '10.0.0.1');
    assert.deepEqual(parseHostPort('[2001:DB8::21]:8080'), { address: '2001:db8::21', port: 8080, family: 6 });
    assert.deepEqual(parseHostPort('10.0.0.1:53'), { address: '10.0.0.1', port: 53, family: 4 });
    for (const bad of ['10.0.0.1', '[::1]', '::1:80', '10.0.0.1:65536', 'host:80', '[zz::1]:80'])
      assert.equal(parseHostPort(bad), undefined, bad);
  });
  it('service keys tell an IPv4 and an IPv6 service of one fwmark apart; ipvsadm words include -6', () => {
    const v4 = { protocol: 'fwmark', family: 4, fwmark: 7 } as const;
    const v6 = { protocol: 'fwmark', family: 6, fwmark: 7 } as const;
    assert.equal(serviceKey(v4), 'fwmark 7');
    assert.equal(serviceKey(v6), 'fwmark 7 ipv6');
    assert.deepEqual(serviceArgs(v6), ['-f', '7', '-6']);
    const tcp = { protocol: 'tcp', family: 6, address: 'FD00:0::100', port: 80 } as const;
    assert.equal(serviceKey(tcp), 'tcp [fd00::100]:80');
    assert.deepEqual(serviceArgs(tcp), ['-t', '[fd00::100]:80']);
    assert.equal(destinationKey({ address: '2001:DB8::21', port: 80 }), '[2001:db8::21]:80');
  });
  it("the inventory's service id is the IPVS table's key for every service of every example (fwmark IPv6 too)", () => {
    const files = ['example-nat.yaml', 'example-dr-ha.yaml', 'example-tun.yaml', 'lab-nat.yaml', 'lab-ha.yaml'];
    for (const f of files) {
      const c = loadInventory(join(root, 'inventories', f), { requireSecrets: false }).cluster;
      for (const s of c.services) assert.equal(s.id, serviceKey(ipvsService(c, s)), `${f}: ${s.id}`);
    }
    const c = load(V6_INVENTORY.replace('port: 80\n', 'fwmark: 5\n        ports: [80]\n'));
    assert.equal(c.services[0]!.id, 'fwmark 5 ipv6');
    assert.equal(
      c.services[0]!.id,
      serviceKey(parseRules(formatRules({ services: [ipvsService(c, c.services[0]!)] })).services[0]!),
    );
  });
});

// An IPv6 DR cluster whose inventory writes the addresses in long, upper-case forms.
const V6_INVENTORY = `cluster: v6
mode: dr
vars: { interface: eth0 }
hosts:
  client: { address: 10.0.0.10, address6: "2001:DB8:0:0:0:0:0:10" }
  d: { address: 10.0.0.2, address6: "2001:0db8::2" }
  r1: { address: 10.0.0.21, address6: "2001:0DB8:0000:0000:0000:0000:0000:0021" }
  r2: { address: 10.0.0.22, address6: "2001:db8:0:0::22" }
directors: { hosts: [d], engine: ipvsadm }
vips:
  - address: "2001:DB8:0:0::100"
    interface: eth0
    services:
      - name: web
        port: 80
        scheduler: rr
        real_servers: [{ host: r1 }, { host: r2 }]
verify: { from: [client] }
`;

describe('two spellings of one IPv6 address', () => {
  const c = load(V6_INVENTORY);
  const web = c.services[0]!;
  // The same service as a cluster built by hand would hold it, with the inventory's spellings kept:
  // matching must not depend on the schema having canonicalized them.
  const asWritten: ResolvedService = {
    ...web,
    realServers: web.realServers.map((r) => ({
      ...r,
      address: r.host === 'r1' ? '2001:0DB8:0000:0000:0000:0000:0000:0021' : '2001:db8:0:0::22',
    })),
  };
  // What ipvsadm -Ln --stats --exact prints on the director (inet_ntop forms).
  const stats = (c1: number, c2: number) =>
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes',
      '  -> RemoteAddress:Port',
      'TCP  [2001:db8::100]:80                  30      120        0     8000        0',
      `  -> [2001:db8::21]:80                   ${c1}       60        0     4000        0`,
      `  -> [2001:db8::22]:80                   ${c2}       60        0     4000        0`,
    ].join('\n');

  it('validation makes every address canonical (the schema is the one place spellings are folded)', () => {
    assert.equal(web.vip.address, '2001:db8::100');
    assert.equal(web.id, 'tcp [2001:db8::100]:80');
    assert.deepEqual(
      web.realServers.map((r) => r.address),
      ['2001:db8::21', '2001:db8::22'],
    );
  });

  it("verify's attribution: the directors' counters name r1 and r2 whichever spelling the inventory used", () => {
    for (const s of [web, asWritten]) {
      const hits = hitsBetween(s, parseStats(stats(10, 5)), parseStats(stats(40, 35)));
      assert.deepEqual(hits, { r1: 30, r2: 30 });
    }
  });

  it('status: live weights and connections are found for real servers written in either spelling', () => {
    const list = [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  [2001:db8::100]:80 rr',
      '  -> [2001:db8::21]:80            Route   1      4          9',
      '  -> [2001:db8::22]:80            Route   1      2          7',
    ].join('\n');
    // A director's run as status reads it: its facts (addresses, -Ln) and its record.
    const run = {
      facts: { state: '{}', ipvsList: list, addresses: [{ address: '2001:DB8::100', prefix: 128, dev: 'eth0' }] },
      plan: { host: 'd', changes: [] },
      record: { stopped: false, drained: {} },
    } as unknown as HostRun;
    const results: HostResult[] = [{ host: 'd', status: 'ok', changes: 0, run }];
    for (const cluster of [c, { ...c, services: [asWritten] } as Cluster]) {
      const r = statusReport(cluster, results);
      assert.deepEqual(r.vips[0]!.holders, ['d']);
      const rs = r.services[0]!.realServers;
      assert.deepEqual(
        rs.map((x) => [x.host, x.destination, x.weight, x.active, x.inactive, x.health]),
        [
          ['r1', '[2001:db8::21]:80', 1, 4, 9, 'serving'],
          ['r2', '[2001:db8::22]:80', 1, 2, 7, 'serving'],
        ],
      );
    }
    assert.ok(parseList(list).get('tcp [2001:db8::100]:80')?.has('[2001:db8::21]:80'));
  });

  it('validation sees two spellings of one address as one: a VIP that is a host address is refused', () => {
    const text = V6_INVENTORY.replace('"2001:DB8:0:0::100"', '"2001:DB8:0:0:0:0:0:22"');
    assert.throws(() => load(text), /VIP 2001:db8::22 is also the address of host r2/);
  });

  it('plan: an address an older run recorded in another spelling is the same address (no delete, no re-add)', () => {
    const f = join(tmp, 'v6-plan.yaml');
    writeFileSync(f, V6_INVENTORY);
    const { cluster, secrets } = loadInventory(f);
    const plan = (o: FactsOptions) =>
      planFromFacts(cluster, 'r1', secrets, renderedFiles, parseFacts(factsText(o))).plan;
    let o = applied({}, plan({}).changes);
    assert.deepEqual(
      plan(o).changes.filter((c) => c.kind !== 'state'),
      [],
    );
    const state = JSON.parse(o.state!) as { owned: { addresses: string[] } };
    assert.ok(
      state.owned.addresses.some((k) => k.startsWith('2001:db8::100/128 lo')),
      state.owned.addresses.join(),
    );
    state.owned.addresses = state.owned.addresses.map((k) => k.replace('2001:db8::100', '2001:DB8:0:0::100'));
    o = { ...o, state: JSON.stringify(state) };
    assert.deepEqual(
      plan(o).changes.filter((c) => c.kind === 'address'),
      [],
    );
  });
});
