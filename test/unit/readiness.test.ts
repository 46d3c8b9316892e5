// The readiness gate: a real server that is not ready gets weight 0 on a director, or keeps the
// weight it serves with there now; a director's plan, from the same facts, says so.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { gatedCluster, notSetUp, realServerHosts } from '../../src/desired/readiness.js';
import { renderedFiles } from '../../src/engine/files.js';
import { gatedPlan, planFromFacts } from '../../src/engine/host.js';
import { parseFacts } from '../../src/facts/parse.js';
import { loadInventory } from '../../src/inventory/load.js';
import { parseRules } from '../../src/ipvs/parse.js';
import { describe as describeChange } from '../../src/plan/types.js';
import { factsText, root } from './helpers.js';

const dr = loadInventory(join(root, 'inventories/lab-dr.yaml'));
const weights = (c: typeof dr.cluster, host: string) =>
  c.services.map((s) => s.realServers.find((r) => r.host === host)?.weight);

describe('readiness gate', () => {
  it('a server not ready and not in the table: weight 0 in every service; the others unchanged', () => {
    const { cluster, gated } = gatedCluster(dr.cluster, { rs2: 'unreachable: ETIMEDOUT' }, { services: [] });
    assert.deepEqual(weights(cluster, 'rs2'), [0, 0]);
    assert.deepEqual(weights(cluster, 'rs1'), weights(dr.cluster, 'rs1'));
    assert.deepEqual(gated, [{ host: 'rs2', why: 'unreachable: ETIMEDOUT', weight: 0 }]);
  });

  it('a server that already serves keeps the weight it has in the table now', () => {
    const live = parseRules('-A -t 10.99.2.100:80 -s rr\n-a -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 4\n');
    const { cluster, gated } = gatedCluster(dr.cluster, { rs2: 'failed: x' }, live);
    assert.deepEqual(weights(cluster, 'rs2'), [4, 0], 'http: as it serves; https: not in the table yet');
    assert.equal(gated[0]!.weight, 4);
  });

  it('nobody unready: the same cluster object', () => {
    assert.equal(gatedCluster(dr.cluster, {}, { services: [] }).cluster, dr.cluster);
    assert.deepEqual(realServerHosts(dr.cluster), ['rs1', 'rs2']);
  });

  it("a real server's own plan: not set up while its VIP, ARP sysctls or route are pending; files alone do not count", () => {
    const bare = planFromFacts(dr.cluster, 'rs1', dr.secrets, renderedFiles, parseFacts(factsText()), { kind: 'up' });
    assert.match(notSetUp(bare.plan.changes, describeChange) ?? '', /^not set up \(\d+ changes pending, first: /);
    const onlyFiles = bare.plan.changes.filter((c) => c.kind === 'file' || c.kind === 'state');
    assert.equal(notSetUp(onlyFiles, describeChange), undefined);
  });

  it("a director's plan from the same facts: rs2 at weight 0 in the rules it sends", () => {
    const facts = parseFacts(factsText({ links: ['lo', 'eth0', 'eth1'] }));
    const run = planFromFacts(dr.cluster, 'dir1', dr.secrets, renderedFiles, facts, { kind: 'up' });
    const gated = gatedPlan(run, dr.cluster, 'dir1', dr.secrets, renderedFiles, { rs2: 'unreachable: x' });
    const lines = gated.plan.changes.flatMap((c) => (c.kind === 'ipvs' ? c.lines : []));
    assert.ok(
      lines.some((l) => /-r 10\.99\.2\.12:80 .*-w 0/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /-r 10\.99\.2\.11:80 .*-w 1/.test(l)),
      lines.join('\n'),
    );
    assert.equal(
      gatedPlan(run, dr.cluster, 'dir1', dr.secrets, renderedFiles, {}),
      run,
      'nothing to gate: the same run',
    );
  });
});
