// Cluster ownership: the state file names the cluster whose inventory set the host up; another
// cluster's inventory is refused there (before any change anywhere) unless --takeover.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { renderedFiles } from '../../src/engine/files.js';
import { planFromFacts } from '../../src/engine/host.js';
import { parseFacts } from '../../src/facts/parse.js';
import { loadInventory } from '../../src/inventory/load.js';
import { RefusedError } from '../../src/plan/host.js';
import { emptyState, formatState, parseState } from '../../src/plan/state.js';
import { describe as describeChange } from '../../src/plan/types.js';
import { factsText, root } from './helpers.js';

const dr = loadInventory(join(root, 'inventories/lab-dr.yaml'));
const stateOf = (cluster?: string) => formatState({ ...emptyState(), ...(cluster ? { cluster } : {}) });
const plan = (state: string | undefined, intent: Parameters<typeof planFromFacts>[5], takeover = false) =>
  planFromFacts(dr.cluster, 'rs1', dr.secrets, renderedFiles, parseFacts(factsText({ state })), intent, undefined, {
    takeover,
  });
const written = (p: ReturnType<typeof plan>) =>
  p.plan.changes.flatMap((c) => (c.kind === 'state' && c.phase !== 'remove' ? [parseState(c.content)] : []));

describe('cluster ownership', () => {
  it('a first up records the cluster in the state file', () => {
    const p = plan(undefined, { kind: 'up' });
    assert.ok(written(p).length);
    for (const s of written(p)) assert.equal(s.cluster, 'lab-dr');
  });

  it("another cluster's host: up, stop, down and drain are refused with the owner named, nothing planned", () => {
    for (const intent of [
      { kind: 'up' },
      { kind: 'stop' },
      { kind: 'down', purge: false },
      { kind: 'status' },
    ] as const)
      assert.throws(
        () => plan(stateOf('shop-nat'), intent),
        (e: unknown) =>
          e instanceof RefusedError &&
          /belongs to cluster shop-nat .*not to this inventory's cluster lab-dr; --takeover/.test(e.message),
        intent.kind,
      );
  });

  it('--takeover: the plan says whose host it takes over and records it as this cluster', () => {
    const p = plan(stateOf('shop-nat'), { kind: 'up' }, true);
    const first = p.plan.changes[0]!;
    assert.equal(first.kind, 'state');
    assert.match(describeChange(first), /^take this host over from cluster shop-nat/);
    for (const s of written(p)) assert.equal(s.cluster, 'lab-dr');
  });

  it('a state file from before clusters were recorded is adopted (named, no refusal)', () => {
    const p = plan(stateOf(undefined), { kind: 'up' });
    for (const s of written(p)) assert.equal(s.cluster, 'lab-dr');
    assert.ok(!p.plan.changes.some((c) => c.kind === 'state' && c.takeover));
  });

  it('its own cluster: no refusal, and a converged host stays without changes', () => {
    assert.doesNotThrow(() => plan(stateOf('lab-dr'), { kind: 'up' }));
    // a client that has curl already has nothing of lvsctl's: no state file only to name the cluster
    const client = planFromFacts(
      dr.cluster,
      'client',
      dr.secrets,
      renderedFiles,
      parseFacts(factsText({ packages: ['curl'] })),
      {
        kind: 'up',
      },
    );
    assert.deepEqual(client.plan.changes, []);
  });
});
