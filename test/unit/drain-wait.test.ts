// drain's wait (engine/drain.ts) on faked director reads: connections are counted in the
// connection table (synced entries too, and in NAT the closing states ActiveConn leaves out), only directors that
// hold a VIP of the service are waited on, and another director's entries (the old MASTER after a
// failover) are reported as stale. The awk program that counts on the director runs for real on a
// table given on stdin. The lab's keepalived tests show drain on kernel IPVS.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Connections } from '../../src/engine/connections.js';
import { waitDrained } from '../../src/engine/drain.js';
import { loadInventory } from '../../src/inventory/load.js';
import { connField, establishedTo, liveStates, parseEstablished } from '../../src/ipvs/conntable.js';
import type { HostConnection } from '../../src/ssh/connection.js';
import { CONN_HEADER, connLine, onTable } from './conn-lines.js';
import { root } from './helpers.js';

const ha = loadInventory(join(root, 'inventories/lab-ha.yaml'), { requireSecrets: false }).cluster;

const list = (rs2Weight: number, rs2Active = 0) =>
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

/** `n` established connections to rs2:80 through the VIP, from the sync daemon or the director's own. */
const toRs2 = (n: number, origin: 'Local' | 'Sync' = 'Local') =>
  Array.from({ length: n }, (_, i) =>
    connLine('TCP', '10.99.1.10', 40000 + i, '10.99.1.100', 80, '10.99.2.12', 80, {
      origin,
      state: 'ESTABLISHED',
      expires: 890,
    }),
  );
/** Entries that are not rs2's established connections: rs1's, a closing one, another port's. */
const noise = [
  connLine('TCP', '10.99.1.10', 41000, '10.99.1.100', 80, '10.99.2.11', 80, { state: 'ESTABLISHED' }),
  connLine('TCP', '10.99.1.10', 41001, '10.99.1.100', 80, '10.99.2.12', 80, { state: 'TIME_WAIT' }),
  connLine('TCP', '10.99.1.10', 41002, '10.99.1.100', 443, '10.99.2.12', 443, { state: 'ESTABLISHED' }),
];

interface Poll {
  list: string;
  vip: boolean;
  table: string[];
}

/** Directors whose reads follow a script of polls (the last one repeats); the connection count is
 * the director-side awk program run on the poll's table. */
function fakeConns(script: Record<string, Poll[]>): Connections {
  const polls: Record<string, number> = {};
  return {
    get: async (name: string) =>
      ({
        name,
        exec: async () => {
          const steps = script[name]!;
          const p = steps[Math.min(polls[name] ?? 0, steps.length - 1)]!;
          polls[name] = (polls[name] ?? 0) + 1;
          const table = [CONN_HEADER, ...p.table, ...noise].join('\n');
          const est = onTable(establishedTo(['10.99.2.12'], liveStates(ha.mode)), table);
          return { code: 0, stdout: `${p.list}\n@@addr\n${addr(p.vip)}\n@@conn\n${est}`, stderr: '' };
        },
      }) as unknown as HostConnection,
  } as unknown as Connections;
}

describe('drain wait', () => {
  it("returns once the VIP holder has no established connection; the other director's are stale, not waited on", async () => {
    const conns = fakeConns({
      dir1: [
        { list: list(0, 2), vip: true, table: toRs2(2) },
        { list: list(0), vip: true, table: [] },
      ],
      dir2: [{ list: list(0, 5), vip: false, table: toRs2(5) }], // the old MASTER: stale entries that never go
    });
    const lines: string[] = [];
    const w = await waitDrained(ha, conns, ['dir1', 'dir2'], 'rs2', 30, (l) => lines.push(l));
    assert.equal(w.drained, true);
    assert.deepEqual(w.active, { dir1: 0, dir2: 0 });
    assert.deepEqual(w.stale, { dir2: 5 });
    assert.match(lines[0]!, /waiting for rs2: dir1 2 active, dir2 0 active; not waited on: dir2 5 \(stale/);
  });
  it('waits on a connection the sync daemon brought, by the table, while ActiveConn says 0', async () => {
    const conns = fakeConns({
      dir1: [
        { list: list(0, 0), vip: true, table: toRs2(1, 'Sync') },
        { list: list(0, 0), vip: true, table: toRs2(1, 'Sync') },
        { list: list(0, 0), vip: true, table: [] },
      ],
      dir2: [{ list: list(0), vip: false, table: [] }],
    });
    const lines: string[] = [];
    const w = await waitDrained(ha, conns, ['dir1', 'dir2'], 'rs2', 30, (l) => lines.push(l));
    assert.equal(w.drained, true);
    assert.ok(w.seconds >= 1.5, `waited ${w.seconds} s, through two polls with the synced connection`);
    assert.match(lines[0]!, /waiting for rs2: dir1 1 active/);
  });
  it('at the timeout, says when the waited-on entries expire at the latest without traffic (a dead connection)', async () => {
    const dead = (port: number, expires: number) =>
      connLine('TCP', '10.99.1.10', port, '10.99.1.100', 80, '10.99.2.12', 80, { state: 'ESTABLISHED', expires });
    const conns = fakeConns({
      dir1: [{ list: list(0, 2), vip: true, table: [dead(23438, 646), dead(23439, 300)] }],
      dir2: [{ list: list(0), vip: false, table: [dead(23440, 880)] }], // stale: not waited on, not in the figure
    });
    const w = await waitDrained(ha, conns, ['dir1', 'dir2'], 'rs2', 1, () => {});
    assert.equal(w.drained, false);
    assert.deepEqual(w.active, { dir1: 2, dir2: 0 });
    assert.deepEqual(w.expiresWithin, { dir1: 646 });
    assert.deepEqual(w.stale, { dir2: 1 });
  });
  it('waits while the weight is not yet 0 on the holder, and gives up at the timeout', async () => {
    const conns = fakeConns({
      dir1: [{ list: list(1), vip: true, table: [] }],
      dir2: [{ list: list(1), vip: false, table: [] }],
    });
    const lines: string[] = [];
    const w = await waitDrained(ha, conns, ['dir1', 'dir2'], 'rs2', 1, (l) => lines.push(l));
    assert.equal(w.drained, false);
    assert.match(lines.join('\n'), /weight not yet 0 on 2 destinations/);
  });
});

describe('established connections in the connection table', () => {
  it('counts ESTABLISHED entries to the given real servers by VIP, port and destination, IPv4 and IPv6', () => {
    const v6 = (state: string, dest: string) =>
      `TCP ${connField('2001:db8::10')} 9C40 ${connField('2001:db8::100')} 0050 [${connField(dest)}] 0050 ${state} Sync 899`;
    const table = [
      CONN_HEADER,
      ...toRs2(3),
      ...noise,
      v6('ESTABLISHED', '2001:db8::12'),
      v6('ESTABLISHED', '2001:db8::12'),
      v6('TIME_WAIT', '2001:db8::12'),
      v6('ESTABLISHED', '2001:db8::11'),
    ].join('\n');
    const counted = parseEstablished(onTable(establishedTo(['10.99.2.12', '2001:DB8:0::12']), table));
    const byKey = Object.fromEntries(
      counted.map((c) => [`${c.protocol} ${c.virtual.address}:${c.virtual.port} ${c.destination}`, c.count]),
    );
    assert.deepEqual(byKey, {
      'TCP 10.99.1.100:80 10.99.2.12:80': 3,
      'TCP 10.99.1.100:443 10.99.2.12:443': 1,
      'TCP 2001:db8::100:80 [2001:db8::12]:80': 2,
    });
  });
  it('NAT counts a connection the real server closed while the client still reads (FIN_WAIT); DR and TUN do not', () => {
    const states = ['ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'TIME_WAIT', 'CLOSE'];
    const table = [
      CONN_HEADER,
      ...states.map((state, i) =>
        connLine('TCP', '10.99.1.10', 42000 + i, '10.99.1.100', 80, '10.99.2.12', 80, { state }),
      ),
    ].join('\n');
    const count = (mode: 'nat' | 'dr' | 'tun') =>
      parseEstablished(onTable(establishedTo(['10.99.2.12'], liveStates(mode)), table)).reduce(
        (n, e) => n + e.count,
        0,
      );
    assert.deepEqual([count('nat'), count('dr'), count('tun')], [3, 1, 1]);
  });
  it('writes addresses as the kernel does: IPv4 in host-order hex, IPv6 in eight full groups', () => {
    assert.equal(connField('10.99.2.12'), '0A63020C');
    assert.equal(connField('2001:DB8::12'), '2001:0db8:0000:0000:0000:0000:0000:0012');
  });
});
