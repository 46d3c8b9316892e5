// verify.from: [local]: the machine running lvsctl as the verify client.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Connections } from '../../src/engine/connections.js';
import { InventoryError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { LocalConnection } from '../../src/ssh/local.js';
import { sh } from '../../src/util/quote.js';

const tmp = mkdtempSync(join(tmpdir(), 'lvsctl-local-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const inventory = (from: string, extraHost = '') => `cluster: t
mode: dr
vars: { interface: eth0 }
hosts:
  d: { address: 10.0.0.2 }
  r1: { address: 10.0.0.11 }${extraHost}
directors: { hosts: [d], engine: ipvsadm }
vips:
  - address: 10.0.0.100
    interface: eth0
    services:
      - { port: 80, scheduler: rr, real_servers: [{ host: r1 }] }
verify: { from: [${from}] }
`;
const load = (text: string) => {
  const f = join(tmp, `inv${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(f, text);
  return loadInventory(f, { requireSecrets: false });
};

describe('verify from the machine running lvsctl', () => {
  it('"local" in verify.from is no host; a host named local next to it is refused as ambiguous', () => {
    const { cluster } = load(inventory('local'));
    assert.deepEqual(cluster.verify?.from, ['local']);
    assert.ok(![...cluster.hosts.values()].some((h) => h.roles.has('client')));
    assert.throws(
      () => load(inventory('local', '\n  local: { address: 10.0.0.50 }')),
      (e: unknown) =>
        e instanceof InventoryError &&
        /verify\.from\[0\]: "local" in verify\.from is the machine running lvsctl/.test(e.message),
    );
    assert.throws(() => load(inventory('nosuch')), /unknown host "nosuch"/);
  });
  it('its connection runs the probe commands in the local bash (exit code, stdout, stderr, stdin)', async () => {
    const { cluster } = load(inventory('local'));
    const conns = new Connections(cluster, false);
    const c = await conns.get('local');
    assert.ok(c instanceof LocalConnection);
    const r = await c.exec(sh`read -r x; printf '%s-%s\n' ${'a b'} "$x"; echo oops >&2; exit 3`, { stdin: 'in\n' });
    assert.deepEqual([r.code, r.stdout, r.stderr], [3, 'a b-in\n', 'oops\n']);
    await assert.rejects((c as LocalConnection).writeFile(), /writes no files/);
    await conns.closeAll();
  });
});
