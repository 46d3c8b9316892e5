// A keepalived group of more than two directors: defaults, checks, rendering, and who takes the
// VIP over as directors fail (the order verify --failover expects).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import { renderCluster } from '../../src/render/host.js';
import { nextHolder } from '../../src/verify/failover.js';
import { failoverLines } from '../../src/cli/print/verify.js';
import { root, runCli } from './helpers.js';

const ha3 = join(root, 'inventories/lab-ha3.yaml');
const work = mkdtempSync(join(tmpdir(), 'lvsctl-directors-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** lab-ha3 with its director list replaced (hosts dir1..dirN are added). */
function group(hosts: string, n: number): string {
  const text = readFileSync(ha3, 'utf8')
    .replace('  hosts: [dir1, dir2, router]', `  hosts: ${hosts}`)
    .replace('../test/fixtures/lab-vrrp-password', join(root, 'test/fixtures/lab-vrrp-password'))
    .replace('../.lab/', join(root, '.lab') + '/');
  const extra = Array.from({ length: n }, (_, i) => `  d${i + 1}: { address: 10.99.1.${30 + i} }`).join('\n');
  const file = join(work, `g${n}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text.replace('hosts:\n  client:', `hosts:\n${extra}\n  client:`));
  return file;
}

describe('a group of three or more directors', () => {
  const cluster = loadInventory(ha3, { requireSecrets: false }).cluster;

  it('defaults follow the list: the first is MASTER at 150, then BACKUP at 100, 90', () => {
    assert.deepEqual(
      cluster.directors.members.map((m) => [m.host, m.state, m.priority]),
      [
        ['dir1', 'MASTER', 150],
        ['dir2', 'BACKUP', 100],
        ['router', 'BACKUP', 90],
      ],
    );
  });

  it('every director gets a keepalived.conf with its own state and priority, the same VIP, DIP and router id', () => {
    const rendered = renderCluster(cluster, { vrrpPassword: 'pw' });
    for (const m of cluster.directors.members) {
      const conf = rendered.get(m.host)!.find((f) => f.kind === 'keepalived')!.content;
      assert.match(conf, new RegExp(`state ${m.state}\\n`));
      assert.match(conf, new RegExp(`priority ${m.priority}\\n`));
      assert.match(conf, /virtual_router_id 52\n/);
      assert.match(conf, /10\.99\.1\.100\/24 dev eth0\n\s+10\.99\.2\.1\/24 dev eth1\n/);
      // unicast (lab-ha3 has no multicast): the peers are the other two directors
      const peers = /unicast_peer \{([^}]*)\}/.exec(conf)?.[1]?.trim().split(/\s+/).sort();
      const others = cluster.directors.members.filter((o) => o.host !== m.host).map((o) => o.host);
      assert.deepEqual(
        peers,
        ['10.99.1.2', '10.99.1.3', '10.99.1.254']
          .filter((a, i) => others.includes(['dir1', 'dir2', 'router'][i]!))
          .sort(),
      );
    }
    for (const h of ['rs1', 'rs2', 'client'])
      assert.ok(!rendered.get(h)?.some((f) => f.kind === 'keepalived'), `${h} has no keepalived.conf`);
  });

  it('the VIP goes to the highest priority still running: dir1 -> dir2 -> router, and back to dir1', () => {
    assert.equal(nextHolder(cluster, new Set()), 'dir1');
    assert.equal(nextHolder(cluster, new Set(['dir1'])), 'dir2');
    assert.equal(nextHolder(cluster, new Set(['dir1', 'dir2'])), 'router');
    assert.equal(nextHolder(cluster, new Set(['dir2'])), 'dir1');
    assert.equal(nextHolder(cluster, new Set(['dir1', 'dir2', 'router'])), undefined);
  });

  it('eight directors validate, with default priorities 150, 100, 90 ... 40; nine are refused', async () => {
    const eight = group('[d1, d2, d3, d4, d5, d6, d7, d8]', 8);
    const c = loadInventory(eight, { requireSecrets: false }).cluster;
    assert.deepEqual(
      c.directors.members.map((m) => m.priority),
      [150, 100, 90, 80, 70, 60, 50, 40],
    );
    const r = await runCli(['validate', '-i', eight, '--no-secrets']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /8 directors \(keepalived\)/);
    const nine = await runCli(['validate', '-i', group('[d1, d2, d3, d4, d5, d6, d7, d8, d9]', 9), '--no-secrets']);
    assert.equal(nine.code, 65);
    assert.match(nine.stderr, /directors\.hosts: at most 8 directors/);
  });

  it('a BACKUP given a priority above the MASTER is refused in a group too', async () => {
    const r = await runCli([
      'validate',
      '-i',
      group('[d1, { host: d2, priority: 120 }, { host: d3, priority: 200 }]', 3),
      '--no-secrets',
    ]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /d3 \(BACKUP, priority 200\) outranks the MASTER d1 \(priority 150\)/);
  });

  it('verify --failover prints each takeover of a group in order', () => {
    const lines = failoverLines({
      vip: '10.99.1.100',
      stopped: 'dir1',
      takeover: 'dir2',
      takeoverSeconds: 1.2,
      steps: [
        { stopped: 'dir1', expected: 'dir2', takeover: 'dir2', takeoverSeconds: 1.2 },
        { stopped: 'dir2', expected: 'router', takeover: null, takeoverSeconds: null },
      ],
      requests: 60,
      failed: 2,
      endHolder: 'dir1',
      expectedEndHolder: 'dir1',
      ok: false,
      problems: ['router never took the VIP over from dir2'],
    });
    assert.match(
      lines.join('\n'),
      /keepalived stopped on dir1; dir2 took over in 1\.20 s; then on dir2; router did not take over; 2 of 60 requests/,
    );
  });
});
