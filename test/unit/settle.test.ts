// After `up` starts keepalived, verify waits until every keepalived service holds all its real
// servers: a table with the sorry server standing in for them is not settled yet.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import type { HostConnection } from '../../src/ssh/connection.js';
import { settleKeepalived } from '../../src/verify/failover.js';
import { root } from './helpers.js';

const features = loadInventory(join(root, 'inventories/lab-features.yaml'), { requireSecrets: false }).cluster;

const table = (web: string[]) =>
  [
    'IP Virtual Server version 1.2.1 (size=4096)',
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
    'TCP  10.99.1.100:80 rr',
    ...web.map((d) => `  -> ${d}                Masq    1      0          0`),
    'TCP  10.99.1.100:8080 rr persistent 120 mask 255.255.255.0',
    '  -> 10.99.2.11:8080              Masq    1      0          0',
    '  -> 10.99.2.12:8080              Masq    1      0          0',
    'UDP  10.99.1.100:5353 rr',
    '  -> 10.99.2.11:5353              Masq    1      0          0',
    '  -> 10.99.2.12:5353              Masq    1      0          0',
    '',
  ].join('\n');

/** dir1 answers `ipvsadm -Ln` with each table in turn, then the last one for ever. */
function dir1(tables: string[]) {
  let n = 0;
  const conn = {
    name: 'dir1',
    exec: async () => ({ code: 0, stdout: tables[Math.min(n++, tables.length - 1)]!, stderr: '' }),
  } as unknown as HostConnection;
  return { dirs: new Map([['dir1', conn]]), asked: () => n };
}

describe('settling after keepalived starts', () => {
  it('waits while the sorry server stands in or a real server is missing, returns once all are in', async () => {
    const d = dir1([table(['10.99.2.12:8080']), table(['10.99.2.11:80']), table(['10.99.2.11:80', '10.99.2.12:80'])]);
    await settleKeepalived(features, d.dirs, 5_000);
    assert.equal(d.asked(), 3);
  });
  it('a real server that never comes gives up at the timeout (verify names it then)', async () => {
    const d = dir1([table(['10.99.2.11:80'])]);
    const t = Date.now();
    await settleKeepalived(features, d.dirs, 1_000);
    assert.ok(Date.now() - t >= 900 && d.asked() >= 2, `${Date.now() - t} ms, ${d.asked()} asked`);
  });
});
