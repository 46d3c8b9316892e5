// Verify's attribution by the directors' connection table: the probe script (run by a real bash with
// curl and nc replaced by recorders), its output parser, the /proc/net/ip_vs_conn parser and the
// matching of probes to entries. The lab tests show the same on kernel IPVS.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import type { ResolvedService } from '../../src/inventory/model.js';
import { attribute } from '../../src/verify/attribute.js';
import { connTableFilter, connWatchRead, connWatchStart, parseConnTable } from '../../src/verify/conntable.js';
import { judge } from '../../src/verify/judge.js';
import { parseProbes, plannedProbes, probeScript, statusOk } from '../../src/verify/probe.js';
import { CONN_HEADER as HEADER, connLine, onTable } from './conn-lines.js';
import { root } from './helpers.js';

const nat = loadInventory(join(root, 'inventories/lab-nat.yaml')).cluster;
const http = nat.services.find((s) => s.protocol === 'tcp')!; // tcp 10.99.1.100:80, rs1 and rs2 on 8080
const udp = nat.services.find((s) => s.protocol === 'udp')!;

/** Runs a script in bash with curl and nc replaced: each answers by `case "LOCALPORT:VPORT" in CASES esac`
 * (curl: each transfer of its `--next` list, then the transfer's -w text with the port filled in). */
function runStubbed(script: string, cases: string[]): string {
  const stubs = `
xfer() { vp=\${url##*:}; vp=\${vp%%/*}; printf '%s' "$(answer "$lp" "$vp")"; w=\${w//'%{local_port}'/$lp}; printf '%b' "\${w//'%{local_ip}'/}"; }
curl() { lp=; url=; w=; while [ $# -gt 0 ]; do case $1 in --local-port) lp=\${2%%-*}; shift;; -w) w=$2; shift;; --next) xfer; lp=; url=; w=;; http*) url=$1;; esac; shift; done; xfer; }
nc() { lp=; while [ $# -gt 0 ]; do case $1 in -p) lp=$2; shift;; esac; last=$1; shift; done; cat >/dev/null; printf '%s' "$(answer "$lp" "$last")"; }
`;
  const table = `answer() { case "$1:$2" in ${cases.join(' ')} esac; }\n`;
  const r = spawnSync('bash', ['-c', stubs + table + script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('probe script', () => {
  it('sends each probe from the planned source port to the planned VIP port; the parser reads status and answer', () => {
    const fw: ResolvedService = { ...http, fwmark: 3, ports: [80, 443], port: undefined };
    const run = { firstPort: 32766, count: 5 }; // every other port (the next is the probe's spare), wrapping to 20000
    const planned = plannedProbes(fw, run);
    assert.deepEqual(
      planned.map((p) => [p.localPort, p.vport]),
      [
        [32766, 80],
        [20000, 443],
        [20002, 80],
        [20004, 443],
        [20006, 80],
      ],
    );
    const cases = [
      `32766:80) printf 'HTTP/1.0 200 OK\\r\\nX-Real-Server: a\\r\\n\\r\\nsame body\\n';;`,
      `20000:443) printf 'HTTP/1.0 503 Service Unavailable\\r\\n\\r\\nbusy\\n';;`,
      `20002:80) printf 'HTTP/1.0 301 Moved\\r\\n\\r\\n';;`,
      `20004:443) ;;`,
      `*) printf 'HTTP/1.1 404 Not Found\\r\\n\\r\\nno\\n';;`,
    ];
    const out = runStubbed(probeScript(fw, 'http', undefined, run).text, cases);
    const got = parseProbes(fw, 'http', out);
    assert.deepEqual(
      got.map((p) => [p.localPort, p.vport, p.status, p.ok, p.answer]),
      [
        [32766, 80, 200, true, 'same body'],
        [20000, 443, 503, false, 'busy'],
        [20002, 80, 301, true, ''],
        [20004, 443, 0, false, ''],
        [20006, 80, 404, false, 'no'],
      ],
    );
    assert.deepEqual(
      parseProbes(fw, 'http', out, 'X-Real-Server').map((p) => p.answer),
      ['a', '', '', '', ''],
    );
  });
  it('UDP: a lost datagram is sent once more from the same port, and said', () => {
    const cases = [
      `20100:5353) if [ -e "$T/once" ]; then printf 'rs2\\n'; else : > "$T/once"; fi;;`,
      `*) printf 'rs1\\n';;`,
    ];
    const dir = spawnSync('mktemp', ['-d'], { encoding: 'utf8' }).stdout.trim();
    const out = runStubbed(
      `T=${dir}; ` + probeScript(udp, 'udp', '10.99.1.20', { firstPort: 20100, count: 2 }).text,
      cases,
    );
    const got = parseProbes(udp, 'udp', out);
    assert.deepEqual(
      got.map((p) => [p.source, p.localPort, p.ok, p.answer, p.retried]),
      [
        ['10.99.1.20', 20100, true, 'rs2', true],
        ['10.99.1.20', 20102, true, 'rs1', false],
      ],
    );
  });
  it("a source port still in the client's TIME_WAIT: the probe takes its spare port and says so", () => {
    // curl reports the port it bound (-w); nc is tried once more on the spare port.
    const out = '@@req - 20000 80\nHTTP/1.1 200 OK\r\n\r\nsame\n@@lport 20001\n';
    assert.deepEqual(
      parseProbes(http, 'http', out).map((p) => [p.localPort, p.ok, p.answer]),
      [[20001, true, 'same']],
    );
    const tcp: ResolvedService = { ...http, verify: { ...http.verify, probe: 'tcp' } };
    const stub = `nc() { case " $* " in *" -p 20000 "*) echo 'nc: bind failed: Address already in use' >&2; return 1;; esac; return 0; }\n`;
    const r = spawnSync(
      'bash',
      ['-c', stub + probeScript(tcp, 'tcp', undefined, { firstPort: 20000, count: 2 }).text],
      {
        encoding: 'utf8',
      },
    );
    assert.deepEqual(
      parseProbes(tcp, 'tcp', r.stdout).map((p) => [p.localPort, p.ok]),
      [
        [20001, true],
        [20002, true],
      ],
    );
  });
  it('HTTP success is the status: 2xx and 3xx by default, or the listed codes and classes', () => {
    assert.ok(statusOk(http, 200) && statusOk(http, 302) && !statusOk(http, 404) && !statusOk(http, 500));
    const s = { ...http, verify: { ...http.verify, status: [401, '2xx'] as (number | '2xx')[] } } as ResolvedService;
    assert.ok(statusOk(s, 401) && statusOk(s, 204) && !statusOk(s, 301));
  });
});

describe('connection table', () => {
  it("parses IPv4 (hex) and IPv6 (%pI6) entries, canonical; Sync entries are not the director's own", () => {
    const text = [
      HEADER,
      connLine('TCP', '10.99.1.10', 20000, '10.99.1.100', 80, '10.99.2.11', 8080),
      connLine('UDP', '10.99.1.20', 20100, '10.99.1.100', 5353, '10.99.2.12', 5353, { origin: 'Sync' }),
      'TCP 2001:0db8:0000:0000:0000:0000:0000:0010 4E20 2001:0db8:0000:0000:0000:0000:0000:0100 0050 [2001:0db8:0000:0000:0000:0000:0000:0021] 0050 ESTABLISHED Local      899',
      'garbage line',
    ].join('\n');
    assert.deepEqual(parseConnTable(text), [
      {
        protocol: 'TCP',
        client: { address: '10.99.1.10', port: 20000 },
        virtual: { address: '10.99.1.100', port: 80 },
        destination: '10.99.2.11:8080',
        state: 'TIME_WAIT',
        expires: 118,
        local: true,
      },
      {
        protocol: 'UDP',
        client: { address: '10.99.1.20', port: 20100 },
        virtual: { address: '10.99.1.100', port: 5353 },
        destination: '10.99.2.12:5353',
        state: 'TIME_WAIT',
        expires: 118,
        local: false,
      },
      {
        protocol: 'TCP',
        client: { address: '2001:db8::10', port: 20000 },
        virtual: { address: '2001:db8::100', port: 80 },
        destination: '[2001:db8::21]:80',
        state: 'ESTABLISHED',
        expires: 899,
        local: true,
      },
    ]);
    // /proc/net/ip_vs_conn (no Origin column): every entry is the director's own.
    const plain =
      'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n' +
      'TCP 0A63010A 4E20 0A630164 0050 0A63020B 1F90 TIME_WAIT       110\n';
    assert.equal(parseConnTable(plain)[0]!.local, true);
  });
  it("the director's filter keeps the header and the probes' ports only", () => {
    const text = [
      HEADER,
      connLine('TCP', '10.99.1.10', 20000, '10.99.1.100', 80, '10.99.2.11', 8080),
      connLine('TCP', '10.99.1.10', 40000, '10.99.1.100', 80, '10.99.2.12', 8080),
    ].join('\n');
    const out = onTable(connTableFilter([20000, 20001]), text);
    assert.equal(out.trim().split('\n').length, 2, out);
    assert.match(out, /4E20/);
  });
});

describe('attribution', () => {
  const probe = (localPort: number, ok = true, source = '-') => ({
    source,
    localPort,
    vport: 80,
    ok,
    answer: 'same',
    retried: false,
  });
  const entries = parseConnTable(
    [
      HEADER,
      connLine('TCP', '10.99.1.10', 20000, '10.99.1.100', 80, '10.99.2.11', 8080),
      connLine('TCP', '10.99.1.10', 20001, '10.99.1.100', 80, '10.99.2.12', 8080),
      connLine('TCP', '10.99.1.10', 20002, '10.99.1.100', 80, '10.99.2.12', 8080),
      connLine('TCP', '10.99.1.10', 20003, '10.99.1.100', 80, '10.99.2.99', 8080), // no real server of the service
      connLine('TCP', '10.99.1.10', 20004, '10.99.1.100', 80, '10.99.2.11', 8080, { origin: 'Sync' }), // the other director's copy
      connLine('UDP', '10.99.1.10', 20005, '10.99.1.100', 80, '10.99.2.11', 8080), // another protocol
      connLine('TCP', '10.99.1.77', 20006, '10.99.1.100', 80, '10.99.2.11', 8080), // another client
    ].join('\n'),
  );
  it('names the real server of every probe, answered or failed; unknown destinations and foreign entries are not taken', () => {
    const got = attribute(
      http,
      [20000, 20001, 20002, 20003, 20004, 20005, 20009].map((p) => probe(p, p !== 20002)),
      entries,
    );
    assert.deepEqual(
      got.map((p) => [p.localPort, p.ok, p.host]),
      [
        [20000, true, 'rs1'],
        [20001, true, 'rs2'],
        [20002, false, 'rs2'],
        [20003, true, 'unknown:10.99.2.99:8080'],
        [20004, true, undefined],
        [20005, true, undefined],
        [20009, true, undefined],
      ],
    );
    // The address curl says the request left from must be the one the director saw: behind a NAT
    // (another address, the port kept) the entry is not the probe's.
    const seenFrom = (localAddress: string) => attribute(http, [{ ...probe(20000), localAddress }], entries)[0]!.host;
    assert.deepEqual([seenFrom('10.99.1.10'), seenFrom('127.0.0.1')], ['rs1', undefined]);
    // An earlier run's entry of the same client port, still timing out: the probe's own is the fresher one.
    const reused = parseConnTable(
      [
        HEADER,
        connLine('TCP', '10.99.1.10', 20010, '10.99.1.100', 80, '10.99.2.12', 8080, { origin: 'Local', expires: 41 }),
        connLine('TCP', '10.99.1.10', 20010, '10.99.1.100', 80, '10.99.2.11', 8080, { origin: 'Local', expires: 119 }),
        connLine('TCP', '10.99.1.10', 20011, '10.99.1.100', 80, '10.99.2.11', 8080, { origin: 'Local', expires: 90 }),
        connLine('TCP', '10.99.1.10', 20011, '10.99.1.100', 80, '10.99.2.12', 8080, { origin: 'Local', expires: 90 }),
      ].join('\n'),
    );
    assert.deepEqual(
      attribute(http, [probe(20010), probe(20011)], reused).map((p) => p.host),
      ['rs1', undefined],
    );
    // A fwmark service's real servers have no port: the request keeps the port it was sent to.
    const fw: ResolvedService = {
      ...http,
      fwmark: 3,
      ports: [80, 8080],
      port: undefined,
      realServers: http.realServers.map((r) => ({ ...r, port: 0 })),
    };
    const fwEntries = parseConnTable(
      [
        HEADER,
        connLine('TCP', '10.99.1.10', 20020, '10.99.1.100', 80, '10.99.2.11', 80),
        connLine('TCP', '10.99.1.10', 20021, '10.99.1.100', 8080, '10.99.2.12', 8080),
        connLine('TCP', '10.99.1.10', 20022, '10.99.1.100', 80, '10.99.2.99', 80),
      ].join('\n'),
    );
    assert.deepEqual(
      attribute(fw, [probe(20020), { ...probe(20021), vport: 8080 }, probe(20022)], fwEntries).map((p) => p.host),
      ['rs1', 'rs2', 'unknown:10.99.2.99:80'],
    );
    // With a chosen source address, only that client's entries count.
    assert.equal(attribute(http, [probe(20006, true, '10.99.1.10')], entries)[0]!.host, undefined);
    assert.equal(attribute(http, [probe(20006, true, '10.99.1.77')], entries)[0]!.host, 'rs1');
  });
  it('judge: failures name the server they were sent to; answered but unattributed probes fail the check', () => {
    const p = judge(
      http,
      { hits: { rs1: 30, rs2: 8, failed: 2 }, failedBy: { rs2: 2 }, attribution: 'table' },
      0.2,
    ).join('\n');
    assert.match(p, /2 of 40 requests failed \(sent to: rs2 2\)/);
    const u = judge(http, { hits: { rs1: 30, rs2: 9 }, unattributed: 1, attribution: 'table' }, 0.2).join('\n');
    assert.match(u, /1 answered request has no connection entry on any director/);
    // Attribution unavailable: success alone is judged.
    assert.deepEqual(judge(http, { hits: {}, attribution: 'none' }, 0.2), []);
    assert.match(judge(http, { hits: { failed: 1 }, attribution: 'none' }, 0.2).join(), /1 of 1 requests failed/);
    // The answered probes are in no hit count then: the total is the probes sent.
    assert.match(
      judge(http, { hits: { failed: 2 }, attribution: 'none', sent: 40 }, 0.2).join(),
      /^2 of 40 requests failed$/,
    );
  });
});

describe('https probe', () => {
  const https = (tls: object): ResolvedService => ({
    ...http,
    port: 443,
    verify: { ...http.verify, probe: 'https', tls } as ResolvedService['verify'],
  });
  /** The script run in bash with curl replaced by a recorder of its arguments and of the CA file it
   * names: the arguments of each transfer (one curl, transfers apart by --next). */
  function curlCalls(s: ResolvedService, stdin: string): string[][] {
    // (local variables: the stub must not change the loop's own i, lp, vp)
    const stub = `curl() { local args=("$@") k; for ((k=0;k<\${#args[@]};k++)); do if [ "\${args[k]}" = --cacert ]; then printf 'CA=%s\\037CAPATH=%s\\037' "$(cat "\${args[k+1]}")" "\${args[k+1]}"; fi; printf '%s\\037' "\${args[k]}"; done; printf '\\n'; }\n`;
    const r = spawnSync(
      'bash',
      ['-c', stub + probeScript(s, 'https', undefined, { firstPort: 20500, count: 2 }).text],
      {
        input: stdin,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const calls = r.stdout
      .split('\n')
      .filter((l) => l.includes('\x1f'))
      .map((l) => l.split('\x1f').slice(0, -1));
    assert.equal(calls.length, 1, 'one curl for all probes');
    const transfers: string[][] = [[]];
    for (const a of calls[0]!)
      if (a === '--next') transfers.push([]);
      else transfers.at(-1)!.push(a);
    return transfers.map((t) => t.filter((a, i) => a !== '-w' && t[i - 1] !== '-w'));
  }
  it('SNI through --resolve to the VIP; the CA bundle from stdin, in a temp file that is gone afterwards', () => {
    const calls = curlCalls(https({ virtualhost: 'www.example.com', ca_file: '/x/ca.pem' }), 'PEM DATA');
    assert.equal(calls.length, 2);
    const [first] = calls;
    assert.deepEqual(first!.slice(first!.indexOf('--resolve'), first!.indexOf('--resolve') + 2), [
      '--resolve',
      'www.example.com:443:10.99.1.100',
    ]);
    assert.ok(first!.includes('CA=PEM DATA'), first!.join(' '));
    const caPath = first!.find((a) => a.startsWith('CAPATH='))!.slice(7);
    assert.ok(caPath.startsWith('/tmp/') && !existsSync(caPath), `${caPath} removed after the run`);
    assert.equal(first!.at(-1), 'https://www.example.com:443/');
    assert.ok(first!.includes('--local-port') && first!.includes('20500-20501'));
  });
  it('insecure: -k and no CA; neither: the system CAs', () => {
    const k = curlCalls(https({ insecure: true }), '')[0]!;
    assert.ok(k.includes('-k') && !k.includes('--cacert') && k.at(-1) === 'https://10.99.1.100:443/');
    const sys = curlCalls(https({}), '')[0]!;
    assert.ok(!sys.includes('-k') && !sys.includes('--cacert'));
  });
});

describe('connection table watcher', () => {
  it('keeps the entries it saw while the probes ran, also those gone by the final read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsctl-watch-'));
    const table = join(dir, 'ip_vs_conn');
    // The director's /proc file and /run, here in a temp folder.
    const local = (s: string) =>
      s
        .replace(/f=\/proc\/net\/ip_vs_conn_sync; \[ -r "\$f" \] \|\| f=\/proc\/net\/ip_vs_conn;/g, `f=${table};`)
        .replaceAll('/run/lvsctl-verify.', `${dir}/w.`);
    const lineA = connLine('TCP', '10.99.1.10', 20000, '10.99.1.100', 80, '10.99.2.11', 8080);
    const lineB = connLine('TCP', '10.99.1.10', 20002, '10.99.1.100', 80, '10.99.2.12', 8080);
    writeFileSync(table, `${HEADER}\n${lineA}\n`);
    const id = 'abcdef0123456789';
    const ports = [20000, 20001, 20002, 20003];
    assert.equal(spawnSync('bash', ['-c', local(connWatchStart(id, ports, 30).text)]).status, 0);
    await new Promise((r) => setTimeout(r, 1500));
    writeFileSync(table, `${HEADER}\n${lineB}\n`); // A expired (a reset connection lasts 10 s)
    await new Promise((r) => setTimeout(r, 1500));
    const out = spawnSync('bash', ['-c', local(connWatchRead(id, ports).text)], { encoding: 'utf8' }).stdout;
    const seen = parseConnTable(out).map((e) => `${e.client.port} ${e.destination}`);
    assert.ok(seen.includes('20000 10.99.2.11:8080') && seen.includes('20002 10.99.2.12:8080'), seen.join('\n'));
    assert.equal(existsSync(`${dir}/w.${id}`), false, 'the watcher cleaned up');
    rmSync(dir, { recursive: true, force: true });
    assert.throws(() => connWatchStart('x;rm -rf /', ports, 1), /bad watcher id/);
  });
});
