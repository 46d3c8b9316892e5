// The one definition of a real server's expected weight (desired/weight.ts), and the places that
// must agree with it: the directors' desired table (plan), status's health, and verify's judgement.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { drainedCluster } from '../../src/desired/intent.js';
import { expectedWeight, mergeDrained, servingRealServers, type Drained } from '../../src/desired/weight.js';
import { loadInventory } from '../../src/inventory/load.js';
import { desiredTable } from '../../src/ipvs/desired.js';
import { judge } from '../../src/verify/judge.js';
import { root } from './helpers.js';

const nat = loadInventory(join(root, 'inventories/lab-nat.yaml')).cluster; // wrr 3:1 on port 80
const wrr = nat.services[0]!;

describe('expectedWeight', () => {
  const rs = { host: 'rs1', weight: 3 };
  it("the inventory's weight; 0 while drained; out of the table while removed", () => {
    assert.deepEqual(expectedWeight(rs, {}), { inTable: true, weight: 3, why: 'inventory' });
    assert.deepEqual(expectedWeight(rs, { rs1: 'quiesce' }), { inTable: true, weight: 0, why: 'drained' });
    assert.deepEqual(expectedWeight(rs, { rs1: 'remove' }), { inTable: false, why: 'removed by drain' });
    assert.deepEqual(expectedWeight(rs, { rs2: 'remove' }), { inTable: true, weight: 3, why: 'inventory' });
  });
  it("a host named like an object's member is not drained by inheritance", () => {
    const drained = JSON.parse('{"rs2":"quiesce"}') as Drained;
    assert.equal(expectedWeight({ host: 'constructor', weight: 2 }, drained).inTable, true);
    assert.deepEqual(expectedWeight({ host: 'toString', weight: 2 }, drained), {
      inTable: true,
      weight: 2,
      why: 'inventory',
    });
  });
  it('servingRealServers keeps the order, sets drained weights to 0 and leaves removed servers out', () => {
    const servers = [
      { host: 'a', weight: 1 },
      { host: 'b', weight: 2 },
      { host: 'c', weight: 3 },
    ];
    assert.deepEqual(servingRealServers(servers, { a: 'remove', c: 'quiesce' }), [
      { host: 'b', weight: 2 },
      { host: 'c', weight: 0 },
    ]);
  });
  it('mergeDrained: drained on any director counts; removed only where every director removed it', () => {
    assert.deepEqual(mergeDrained([{ a: 'remove', b: 'remove' }, { a: 'quiesce' }, {}]), { a: 'quiesce', b: 'remove' });
    assert.deepEqual(mergeDrained([]), {});
  });
});

describe('every consumer follows expectedWeight', () => {
  it("plan: the director's desired table has weight 0 for a drained server and no entry for a removed one", () => {
    const dests = (d: Drained) =>
      desiredTable(drainedCluster(nat, d), 'dir1')
        .services.find((s) => s.protocol === 'tcp' && s.port === 80)!
        .destinations.map((x) => [x.address, x.weight]);
    assert.deepEqual(dests({}), [
      ['10.99.2.11', 3],
      ['10.99.2.12', 1],
    ]);
    assert.deepEqual(dests({ rs1: 'quiesce' }), [
      ['10.99.2.11', 0],
      ['10.99.2.12', 1],
    ]);
    assert.deepEqual(dests({ rs1: 'remove' }), [['10.99.2.12', 1]]);
  });
  it('verify: a drained server that stays silent is no problem; one that answers is; so is a removed one', () => {
    const onlyRs2 = { hits: { rs2: 40 } };
    assert.match(judge(wrr, onlyRs2, 0.2).join('\n'), /no answer from rs1/);
    assert.deepEqual(judge(wrr, onlyRs2, 0.2, { rs1: 'quiesce' }), []);
    assert.deepEqual(judge(wrr, onlyRs2, 0.2, { rs1: 'remove' }), []);
    assert.match(
      judge(wrr, { hits: { rs1: 3, rs2: 37 } }, 0.2, { rs1: 'quiesce' }).join('\n'),
      /weight-0 server answered: rs1 \(3\)/,
    );
    assert.match(
      judge(wrr, { hits: { rs1: 3, rs2: 37 } }, 0.2, { rs1: 'remove' }).join('\n'),
      /removed server answered: rs1 \(3\)/,
    );
  });
});
