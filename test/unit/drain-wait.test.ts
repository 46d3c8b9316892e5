// drain's wait (engine/drain.ts) on faked director reads: only directors that hold a VIP of the
// service are waited on; another director's entries (the old MASTER after a failover) are reported
// as stale. The lab's keepalived tests show drain on kernel IPVS.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Connections } from '../../src/engine/connections.js';
import { waitDrained } from '../../src/engine/drain.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { HostConnection } from '../../src/ssh/connection.js';
import { root } from './helpers.js';

const ha = loadInventory(join(root, 'inventories/lab-ha.yaml'), { requireSecrets: false }).cluster;

const list = (rs2Weight: number, rs2Active: number) =>
  [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  10.99.1.100:80 rr',
    '  -> 10.99.2.11:80                Masq    1      0          3',
    `  -> 10.99.2.12:80                Masq    ${rs2Weight}      ${rs2Active}          1`,
  ].join('\n');
const addr = (vip: boolean) =>
  ['2: eth0    inet 10.99.1.2/24 brd 10.99.1.255 scope global eth0\\       valid_lft forever preferred_lft forever']
    .concat(
      vip
        ? ['2: eth0    inet 10.99.1.100/24 scope global secondary eth0\\       valid_lft forever preferred_lft forever']
        : [],
    )
    .join('\n');

/** Directors whose reads follow a script of [list, holds VIP] per poll (the last one repeats). */
function fakeConns(script: Record<string, [string, boolean][]>): Connections {
  const polls: Record<string, number> = {};
  return {
    get: async (name: string) =>
      ({
        name,
        exec: async () => {
          const steps = script[name]!;
          const [l, vip] = steps[Math.min(polls[name] ?? 0, steps.length - 1)]!;
          polls[name] = (polls[name] ?? 0) + 1;
          return { code: 0, stdout: `${l}\n@@addr\n${addr(vip)}\n`, stderr: '' };
        },
      }) as unknown as HostConnection,
  } as unknown as Connections;
}

describe('drain wait', () => {
  it("returns once the VIP holder has no active connection; the other director's entries are stale, not waited on", async () => {
    const conns = fakeConns({
      dir1: [
        [list(0, 2), true],
        [list(0, 0), true],
      ],
      dir2: [[list(0, 5), false]], // the old MASTER: stale entries that never go
    });
    const lines: string[] = [];
    const w = await waitDrained(ha, conns, ['dir1', 'dir2'], 'rs2', 30, (l) => lines.push(l));
    assert.equal(w.drained, true);
    assert.deepEqual(w.active, { dir1: 0, dir2: 0 });
    assert.deepEqual(w.stale, { dir2: 5 });
    assert.match(lines[0]!, /waiting for rs2: dir1 2 active, dir2 0 active; not waited on: dir2 5 \(stale/);
  });
  it('waits while the weight is not yet 0 on the holder, and gives up at the timeout', async () => {
    const conns = fakeConns({ dir1: [[list(1, 0), true]], dir2: [[list(1, 0), false]] });
    const lines: string[] = [];
    const w = await waitDrained(ha, conns, ['dir1', 'dir2'], 'rs2', 1, (l) => lines.push(l));
    assert.equal(w.drained, false);
    assert.match(lines.join('\n'), /weight not yet 0 on 2 destinations/);
  });
});
