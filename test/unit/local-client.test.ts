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

describe('probe settings validate refuses', () => {
  const svc = (extra: string, protocol = '') =>
    inventory('local').replace(
      '      - { port: 80, scheduler: rr, real_servers: [{ host: r1 }] }',
      `      - { port: 80, scheduler: rr,${protocol} real_servers: [{ host: r1 }], verify: ${extra} }`,
    );
  const cases: [string, string, RegExp][] = [
    [
      'an HTTPS probe on UDP',
      svc('{ probe: https }', ' protocol: udp,'),
      /verify\.probe: a https probe cannot test a UDP service/,
    ],
    [
      'TLS options on a TCP probe',
      svc('{ probe: tcp, tls: { insecure: true } }'),
      /verify\.tls: verify\.tls is for HTTPS probes/,
    ],
    [
      'a status on a UDP probe',
      svc('{ status: [200] }', ' protocol: udp,'),
      /verify\.status: verify\.status is for HTTP and HTTPS probes/,
    ],
    [
      'insecure with a CA file',
      svc('{ probe: https, tls: { insecure: true, ca_file: /etc/ssl/ca.pem } }'),
      /insecure skips the certificate check/,
    ],
    ['a CA file that is a directory', svc('{ probe: https, tls: { ca_file: /tmp } }'), /ca_file: a directory/],
    ['insecure: false', svc('{ probe: https, tls: { insecure: false } }'), /insecure takes only true/],
  ];
  for (const [what, text, message] of cases)
    it(what, () =>
      assert.throws(
        () => load(text),
        (e: unknown) => e instanceof InventoryError && message.test(e.message),
      ),
    );
  it('and accepts an HTTPS probe with SNI and a CA file', () => {
    const { cluster } = load(svc('{ probe: https, tls: { virtualhost: www.example.com, ca_file: ca.pem } }'));
    assert.equal(cluster.services[0]!.verify.tls?.ca_file, join(tmp, 'ca.pem'), 'relative to the inventory');
  });
});
