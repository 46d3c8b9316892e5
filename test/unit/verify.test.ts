// Verify's parsing of answers and its judgement of the counts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import { judge } from '../../src/verify/judge.js';
import { parseStats } from '../../src/verify/counters.js';
import { parseDownload } from '../../src/verify/failover.js';
import { root } from './helpers.js';

const nat = loadInventory(join(root, 'inventories/lab-nat.yaml')).cluster; // wrr 3:1 on port 80
const tun = loadInventory(join(root, 'inventories/lab-tun.yaml')).cluster; // sh
const wrr = nat.services[0]!;
const sh = tun.services[0]!;

describe('judge', () => {
  it('wrr 3:1 passes at 30/10 and fails at 20/20', () => {
    assert.deepEqual(judge(wrr, { hits: { rs1: 30, rs2: 10 } }, 0.2), []);
    assert.match(
      judge(wrr, { hits: { rs1: 20, rs2: 20 } }, 0.2).join('\n'),
      /rs1 got 50% of the answers, its weight share is 75%/,
    );
  });
  it('fails on failed requests, silent servers, unknown answers', () => {
    const p = judge(wrr, { hits: { rs1: 39, failed: 1, 'unknown:x': 1 } }, 0.2).join('\n');
    assert.match(p, /1 of 41 requests failed/);
    assert.match(p, /no answer from rs2/);
    assert.match(p, /answers that name no real server: x/);
  });
  it('a weight-0 server must get nothing', () => {
    const zero = { ...wrr, realServers: wrr.realServers.map((r, i) => (i === 1 ? { ...r, weight: 0 } : r)) };
    assert.deepEqual(judge(zero, { hits: { rs1: 40 } }, 0.2), []);
    assert.match(judge(zero, { hits: { rs1: 39, rs2: 1 } }, 0.2).join(), /weight-0 server answered: rs2 \(1\)/);
  });
  it('affinity: each source sticks to one server, and the sources spread', () => {
    const ok = { hits: { rs1: 6, rs2: 6 }, bySource: { a: { rs1: 3 }, b: { rs2: 3 }, c: { rs1: 3 }, d: { rs2: 3 } } };
    assert.deepEqual(judge(sh, ok, 0.2), []);
    assert.match(
      judge(sh, { hits: { rs1: 6 }, bySource: { a: { rs1: 2, rs2: 1 } } }, 0.2).join(),
      /source a was not sticky/,
    );
    assert.match(
      judge(sh, { hits: { rs1: 6 }, bySource: { a: { rs1: 3 }, b: { rs1: 3 } } }, 0.2).join(),
      /went to one server/,
    );
  });
});

describe('parseStats', () => {
  it('reads connections per destination from ipvsadm -Ln --stats --exact', () => {
    const text = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
UDP  10.99.1.100:5353                   40       40        0     1120        0
  -> 10.99.2.11:5353                    21       21        0      588        0
  -> 10.99.2.12:5353                    19       19        0      532        0
`;
    assert.deepEqual(
      [...parseStats(text)],
      [
        ['10.99.2.11:5353', 21],
        ['10.99.2.12:5353', 19],
      ],
    );
  });
});

describe('parseDownload (verify --failover with the sync daemon)', () => {
  it('complete when curl succeeded with every announced byte; broken off otherwise', () => {
    const sha = 'a'.repeat(64);
    assert.deepEqual(parseDownload(`@@download rc=0 bytes=52428800 length=52428800 sha=${sha}\n`), {
      completed: true,
      bytes: 52428800,
      expected: 52428800,
      sha,
    });
    assert.equal(parseDownload(`@@download rc=18 bytes=1000 length=52428800 sha=${sha}`).completed, false);
    assert.equal(parseDownload(`@@download rc=0 bytes=1000 length=52428800 sha=${sha}`).completed, false);
    assert.equal(parseDownload(`@@download rc=0 bytes=   1000 length=none sha=${sha}`).expected, null);
    assert.equal(parseDownload('curl: (7) Failed to connect').completed, false);
  });
});
