// Saved plans (plan --out, up --plan): the digest is the plan's, a change anywhere shows as a
// difference, and the file holds no secret.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { renderedFiles } from '../../src/engine/files.js';
import { planFromFacts } from '../../src/engine/host.js';
import { parseFacts } from '../../src/facts/parse.js';
import { loadInventory } from '../../src/inventory/load.js';
import { planDifferences, planDigest, SavedPlan, savedPlan, type PlannedHost } from '../../src/plan/saved.js';
import { factsText, root } from './helpers.js';

const ha = loadInventory(join(root, 'inventories/lab-ha.yaml'));
const planOf = (host: string, o: Parameters<typeof factsText>[0] = {}): PlannedHost => {
  const facts = factsText({ links: ['lo', 'eth0', 'eth1'], ...o });
  const r = planFromFacts(ha.cluster, host, ha.secrets, renderedFiles, parseFacts(facts), { kind: 'up' });
  return { host, status: r.plan.changes.length ? 'changed' : 'ok', changes: r.plan.changes };
};

describe('saved plans', () => {
  const hosts = [planOf('dir1'), planOf('rs1')];
  const saved = savedPlan('lab-ha', hosts, new Date('2026-12-03T12:00:00Z'));

  it('the same plan again: the same digest, no differences; the file parses back', () => {
    assert.equal(planDigest([planOf('dir1'), planOf('rs1')]), saved.digest);
    assert.deepEqual(planDifferences(saved, [planOf('dir1'), planOf('rs1')]), []);
    assert.deepEqual(SavedPlan.parse(JSON.parse(JSON.stringify(saved))), saved);
  });

  it('the VRRP password is in no part of the file (keepalived.conf holds it)', () => {
    const secret = ha.secrets.vrrpPassword!;
    assert.ok(secret.length >= 4);
    const written = hosts[0]!.changes.flatMap((c) => (c.kind === 'file' && c.action !== 'delete' ? [c.file] : []));
    const conf = written.find((f) => f.path.endsWith('keepalived.conf'));
    assert.ok(conf?.content.includes(secret), 'the plan writes it');
    assert.equal(JSON.stringify(saved).includes(secret), false);
  });

  it('a host changed since (ip_forward set by hand): refused, the difference named', () => {
    const now = [planOf('dir1', { sysctl: { 'net/ipv4/ip_forward': '1' } }), planOf('rs1')];
    const diff = planDifferences(saved, now);
    assert.ok(diff.length > 0);
    assert.ok(
      diff.some((l) => /^- dir1: .*ip_forward/.test(l)),
      diff.join('\n'),
    );
    assert.notEqual(planDigest(now), saved.digest);
  });

  it('a host that was reachable then and failed now, or left out now, is a difference', () => {
    const diff = planDifferences(saved, [{ host: 'dir1', status: 'unreachable', changes: [] }]);
    assert.ok(diff.includes('~ dir1: changed then, unreachable now'), diff.join('\n'));
    assert.ok(diff.includes('~ rs1: planned then, not now'), diff.join('\n'));
  });
});
