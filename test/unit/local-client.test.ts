// verify.from: [local]: the machine running lvsctl as the verify client.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Connections } from '../../src/engine/connections.js';
import { InventoryError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { LocalConnection } from '../../src/ssh/local.js';
import { sh } from '../../src/util/quote.js';
import { probeScript } from '../../src/verify/probe.js';
import { verifyService } from '../../src/verify/verify.js';
import { SourcePorts, busyPortsCommand, freeWindow, parseBusyPorts } from '../../src/verify/source-ports.js';

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
  const fromClient = (verify: string) =>
    inventory('c', '\n  c: { address: 10.0.0.50 }').replace(
      '      - { port: 80, scheduler: rr, real_servers: [{ host: r1 }] }',
      `      - { port: 80, scheduler: rr, real_servers: [{ host: r1 }], verify: ${verify} }`,
    );
  cases.push(
    ['connect_to that is no address:port', svc("{ connect_to: 'localhost:80' }"), /connect_to: expected address:port/],
    ['connect_to without a port', svc("{ connect_to: '127.0.0.1' }"), /connect_to: expected address:port/],
    [
      'connect_to when verify.from has no local',
      fromClient("{ connect_to: '127.0.0.1:8080' }"),
      /connect_to is where probes from "local" connect, and verify.from has no "local"/,
    ],
    [
      'connect_to on a fwmark service',
      svc("{ connect_to: '127.0.0.1:8080' }").replace('port: 80, scheduler', 'fwmark: 5, ports: [80, 443], scheduler'),
      /connect_to names one port; a fwmark service is probed on each of its ports/,
    ],
  );
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

describe('verify from local through connect_to (a port forward)', () => {
  const forwarded = (port: number) =>
    inventory('local').replace(
      '      - { port: 80, scheduler: rr, real_servers: [{ host: r1 }] }',
      `      - { port: 80, scheduler: rr, real_servers: [{ host: r1 }], verify: { requests: 6, connect_to: '127.0.0.1:${port}' } }`,
    );
  /** An HTTP server on loopback answering `status`, recording each request's Host header. */
  async function server(status: number, every = 1): Promise<{ port: number; hosts: string[]; close: () => void }> {
    const hosts: string[] = [];
    const srv = createServer((req, res) => {
      hosts.push(req.headers.host ?? '');
      // `status` to every `every`-th request, 200 to the others
      res.writeHead(hosts.length % every === 0 ? status : 200, { connection: 'close' }).end('same body everywhere\n');
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    return { port: (srv.address() as AddressInfo).port, hosts, close: () => srv.close() };
  }

  it('probes connect there with the VIP as Host; no director entry: attribution unavailable, success judged', async () => {
    const web = await server(200);
    try {
      const { cluster } = load(forwarded(web.port));
      assert.deepEqual(cluster.services[0]!.verify.connect_to, { address: '127.0.0.1', port: web.port });
      const v = await verifyService(new LocalConnection(), cluster, cluster.services[0]!, []);
      assert.equal(web.hosts.length, 6);
      assert.ok(web.hosts.every((h) => h === '10.0.0.100'));
      assert.deepEqual([v.ok, v.attribution, v.problems], [true, 'none', []]);
      assert.match(v.notes!.join('\n'), /attribution unavailable, success judged only/);
    } finally {
      web.close();
    }
  });
  it('failed answers still fail verify', async () => {
    const web = await server(503);
    try {
      const { cluster } = load(forwarded(web.port));
      const v = await verifyService(new LocalConnection(), cluster, cluster.services[0]!, []);
      assert.equal(v.ok, false);
      assert.match(v.problems.join('\n'), /6 of 6 requests failed/);
    } finally {
      web.close();
    }
  });
  it('some failed: counted against every probe sent, the answered ones included', async () => {
    const web = await server(503, 2);
    try {
      const { cluster } = load(forwarded(web.port));
      const v = await verifyService(new LocalConnection(), cluster, cluster.services[0]!, []);
      assert.deepEqual([v.ok, v.attribution, v.problems], [false, 'none', ['3 of 6 requests failed']]);
    } finally {
      web.close();
    }
  });
  it('the probe commands name the target, IPv6 in brackets, for HTTP, HTTPS and TCP', () => {
    const { cluster } = load(
      forwarded(1).replace("connect_to: '127.0.0.1:1'", "connect_to: '[::1]:8080', probe: https"),
    );
    const s = cluster.services[0]!;
    const target = s.verify.connect_to!;
    assert.match(
      probeScript(s, 'https', undefined, { firstPort: 20000, count: 1 }, target).text,
      /'?--connect-to'? '::\[::1\]:8080'/,
    );
    assert.match(
      probeScript(s, 'tcp', undefined, { firstPort: 20000, count: 1 }, target).text,
      /nc -z -w 2 -p "\$lp" +::1 8080 2>&1/,
    );
    assert.doesNotMatch(probeScript(s, 'https', undefined, { firstPort: 20000, count: 1 }).text, /connect-to/);
  });
});

describe('source ports the client holds', () => {
  /** Listeners on `n` consecutive ports from an even port of verify's range, all free before. */
  async function occupy(n: number): Promise<{ first: number; close: () => void }> {
    for (;;) {
      const first = 20000 + 2 * Math.floor(Math.random() * 6000);
      const servers = await Promise.all(
        Array.from({ length: n }, (_, i) => {
          const srv = createNetServer();
          return new Promise<NetServer | null>((res) => {
            srv.once('error', () => res(null));
            srv.listen(first + i, '127.0.0.1', () => res(srv));
          });
        }),
      );
      const close = () => servers.forEach((s) => s?.close());
      if (servers.every(Boolean)) return { first, close };
      close();
    }
  }

  it('are read from the client (listeners in the range, IPv4 and IPv6)', async () => {
    const held = await occupy(3);
    try {
      const out = (await new LocalConnection().exec(busyPortsCommand())).stdout;
      const busy = parseBusyPorts(out);
      for (let p = held.first; p < held.first + 3; p++) assert.ok(busy.has(p), `${p} in ${out.length} bytes`);
      assert.ok([...busy].every((p) => p >= 20000 && p <= 32767));
    } finally {
      held.close();
    }
  });

  it('a window holding none of them is chosen, after the start, wrapping at the end of the range', () => {
    const busy = new Set([20010, 20013]);
    assert.equal(freeWindow(busy, 4, 20000), 20000);
    assert.equal(freeWindow(busy, 4, 20008), 20014, 'past both');
    assert.equal(freeWindow(busy, 4, 20009), 20014, 'from an even offset');
    assert.equal(freeWindow(new Set([32766]), 4, 32764), 20000, 'the search wraps to the range start');
    assert.equal(freeWindow(new Set([20002]), 4, 32766), 32766, 'a window wraps too: 32766, 32767, 20000, 20001');
    assert.equal(freeWindow(new Set([20001]), 4, 32766), 20002, 'and is not free when its wrapped part is taken');
    assert.equal(freeWindow(new Set(), 4, 32767), 32766);
    // none free: the one holding the fewest
    const crowded = new Set(Array.from({ length: 12768 }, (_, i) => 20000 + i).filter((p) => p < 25000 || p >= 25003));
    assert.equal(freeWindow(crowded, 4, 20000), 25000, 'the window holding one taken port (25003), not two');
    const ports = new SourcePorts(new Set(), () => 21000);
    assert.equal(ports.take(10), 21000);
    assert.equal(ports.take(10), 21010, 'a window handed out is not handed out again');
  });

  // The lab's CI failure: probes from local bound source ports that the lab's port forwards listen
  // on, and failed before reaching the VIP.
  it('probes avoid ports taken on the client, which would fail them before they leave it', async () => {
    const held = await occupy(12);
    const web = await new Promise<{ port: number; peers: number[]; close: () => void }>((res) => {
      const peers: number[] = [];
      const srv = createServer((req, rsp) => {
        peers.push(req.socket.remotePort ?? 0);
        rsp.writeHead(200, { connection: 'close' }).end('ok\n');
      });
      srv.listen(0, '127.0.0.1', () =>
        res({ port: (srv.address() as AddressInfo).port, peers, close: () => srv.close() }),
      );
    });
    try {
      const { cluster } = load(
        inventory('local').replace(
          '      - { port: 80, scheduler: rr, real_servers: [{ host: r1 }] }',
          `      - { port: 80, scheduler: rr, real_servers: [{ host: r1 }], verify: { requests: 6, connect_to: '127.0.0.1:${web.port}' } }`,
        ),
      );
      const s = cluster.services[0]!;
      const local = new LocalConnection();
      const blind = await verifyService(
        local,
        cluster,
        s,
        [],
        {},
        undefined,
        new SourcePorts(new Set(), () => held.first),
      );
      assert.match(blind.problems.join('\n'), /6 of 6 requests failed/, 'without the read, every probe fails');
      const v = await verifyService(
        local,
        cluster,
        s,
        [],
        {},
        undefined,
        await SourcePorts.of(local, () => held.first),
      );
      assert.deepEqual([v.ok, v.problems], [true, []]);
      assert.equal(web.peers.length, 6);
      assert.ok(
        web.peers.every((p) => p < held.first || p >= held.first + 12),
        `source ports ${web.peers.join(' ')} outside ${held.first}..${held.first + 11}`,
      );
    } finally {
      held.close();
      web.close();
    }
  });
});
