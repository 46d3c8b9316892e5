// Custom health checks (issue 22): MISC_CHECK and DNS_CHECK in the schema and keepalived.conf, the
// scripts the facts check must see, and what verify makes of a server keepalived's checker took out.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadInventory } from '../../src/inventory/load.js';
import { miscCheckScripts } from '../../src/inventory/misc-scripts.js';
import { parseList } from '../../src/ipvs/list.js';
import { keepalivedFile } from '../../src/render/keepalived.js';
import { scriptCommand } from '../../src/util/keepalived-script.js';
import { checkerState } from '../../src/verify/health.js';
import { judge } from '../../src/verify/judge.js';
import { kaQuotedEscaped, miscArgvs } from './hostile-corpus.js';
import { root } from './helpers.js';

const MISC = join(root, 'inventories/lab-misc.yaml');
const misc = loadInventory(MISC).cluster;
const http = misc.services[0]!;
const base = { host: 'dir1', cluster: misc.name, mode: misc.mode } as never;

/** ipvsadm -Ln of dir1 with these real servers (address, weight) in the http service. */
const table = (...rs: [string, number][]) =>
  parseList(
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  10.99.2.100:80 rr',
      ...rs.map(([a, w]) => `  -> ${a}:80              Route   ${w}      0          0`),
    ].join('\n'),
  );

describe('MISC_CHECK and DNS_CHECK in keepalived.conf', () => {
  it('renders misc_path with each real server in {address}, misc_timeout, and script security', () => {
    const conf = keepalivedFile(misc, 'dir1', base, {}).content;
    const arg = parse(readFileSync(MISC, 'utf8')).vips[0].services[0].health_check.args[1];
    assert.deepEqual(miscArgvs(conf), [
      ['/usr/local/lib/lvsctl-test/check-rs', '10.99.2.11', arg],
      ['/usr/local/lib/lvsctl-test/check-rs', '10.99.2.12', arg],
    ]);
    assert.match(
      conf,
      /global_defs \{\n {4}router_id dir1\n(?: {4}#.*\n)* {4}script_user root\n {4}enable_script_security\n\}/,
    );
    assert.match(
      conf,
      /MISC_CHECK \{\n {12}misc_path "[^\n]+"\n {12}misc_timeout 2\n {12}retry 0\n {12}delay_loop 1\n {8}\}/,
    );
    assert.doesNotMatch(conf, /connect_timeout|connect_port/, 'a MISC_CHECK takes no connection keys');
  });
  it('quotes a command for both of keepalived reads: octal escapes, doubled backslashes, no " or $', () => {
    assert.equal(scriptCommand(['/bin/check', '10.0.0.1']), '/bin/check 10.0.0.1');
    assert.equal(scriptCommand(['/bin/check', "a'b"]), "/bin/check 'a\\\\047b'");
    // \x would take the hex digits after it ("\x22ab" is one byte): octal takes three digits only.
    assert.equal(scriptCommand(['/c', '"ab']), "/c '\\\\042ab'");
    for (const v of ['"${_PWD}"', '$HOME', 'a\\', '\\', 'é\u2028\t\n', '#!{}', ' lead', "''"]) {
      const cmd = scriptCommand(['/c', v]);
      assert.doesNotMatch(cmd, /["$\t\n]/, v);
      assert.deepEqual(kaQuotedEscaped(kaQuotedEscaped(`misc_path "${cmd}"`)![1]!), ['/c', v], v);
    }
    assert.throws(() => scriptCommand(['/c', '']), /empty/);
  });
  it('misc_dynamic, and DNS_CHECK with its query type, name and port', () => {
    const doc = parse(readFileSync(MISC, 'utf8'));
    doc.vips[0].services[0].health_check.misc_dynamic = true;
    doc.vips[0].services.push({
      port: 53,
      protocol: 'udp',
      health_check: { type: 'dns', query_type: 'AAAA', name: 'www.example.org.', port: 53, retry: 2, delay_loop: 5 },
      real_servers: [{ host: 'rs1' }],
    });
    const conf = keepalivedFile(load(doc), 'dir1', base, {}).content;
    assert.match(conf, /misc_timeout 2\n {12}misc_dynamic\n/);
    assert.match(
      conf,
      /DNS_CHECK \{\n {12}connect_port 53\n {12}type AAAA\n {12}name www\.example\.org\.\n {12}retry 2\n {12}delay_loop 5\n {8}\}/,
    );
  });
  it('no script security without a MISC_CHECK', () => {
    const checks = loadInventory(join(root, 'inventories/lab-checks.yaml')).cluster;
    assert.doesNotMatch(keepalivedFile(checks, 'dir1', base, {}).content, /script_security|script_user/);
  });
});

function load(doc: unknown) {
  const f = join(mkdtempSync(join(tmpdir(), 'lvsctl-hc-')), 'inventory.yaml');
  writeFileSync(f, JSON.stringify(doc));
  try {
    return loadInventory(f).cluster;
  } finally {
    rmSync(f, { force: true });
  }
}

describe('miscCheckScripts: what the facts check must find on the directors', () => {
  it('one entry per health_check, at its field, naming what runs it', () => {
    assert.deepEqual(miscCheckScripts(misc), [
      {
        path: '/usr/local/lib/lvsctl-test/check-rs',
        field: ['vips', 0, 'services', 0, 'health_check'],
        what: 'MISC_CHECK of the real servers in service http',
      },
    ]);
    const doc = parse(readFileSync(MISC, 'utf8'));
    doc.vips[0].services[0].real_servers[1].health_check = { type: 'misc', misc_path: '/opt/chk/rs2' };
    assert.deepEqual(miscCheckScripts(load(doc)), [
      {
        path: '/usr/local/lib/lvsctl-test/check-rs',
        field: ['vips', 0, 'services', 0, 'health_check'],
        what: 'MISC_CHECK of the real servers in service http',
      },
      {
        path: '/opt/chk/rs2',
        field: ['vips', 0, 'services', 0, 'real_servers', 1, 'health_check'],
        what: 'MISC_CHECK of rs2 in service http',
      },
    ]);
  });
});

describe('verify: a real server out by its health check', () => {
  it('is named with the reason, and the rest is judged among the others', () => {
    const st = checkerState(http, [{ director: 'dir1', list: table(['10.99.2.11', 1]) }], {});
    assert.deepEqual(st.out, { rs2: 'removed by its health check (MISC_CHECK) on dir1' });
    assert.deepEqual(judge(http, { hits: { rs1: 20 } }, 0.2, {}, st), [
      'rs2 is out of the pool: removed by its health check (MISC_CHECK) on dir1',
    ]);
    // Without the directors' view, the same answers read as a balancing fault.
    assert.match(judge(http, { hits: { rs1: 20 } }, 0.2).join('\n'), /no answer from rs2/);
  });
  it('nothing out while both are in the table; a director without the service does not count', () => {
    const both = table(['10.99.2.11', 1], ['10.99.2.12', 1]);
    assert.deepEqual(checkerState(http, [{ director: 'dir1', list: both }], {}).out, {});
    assert.deepEqual(checkerState(http, [{ director: 'dir1', list: parseList('') }], {}).out, {});
  });
  it('a server removed by drain is no health matter', () => {
    const st = checkerState(http, [{ director: 'dir1', list: table(['10.99.2.11', 1]) }], { rs2: 'remove' });
    assert.deepEqual(st.out, {});
  });
  it('misc_dynamic: judged by the weight the script gave', () => {
    const doc = parse(readFileSync(MISC, 'utf8'));
    Object.assign(doc.vips[0].services[0], { scheduler: 'wrr' });
    doc.vips[0].services[0].health_check.misc_dynamic = true;
    const s = load(doc).services[0]!;
    const st = checkerState(s, [{ director: 'dir1', list: table(['10.99.2.11', 3], ['10.99.2.12', 1]) }], {});
    assert.deepEqual(st.weights, { rs1: 3, rs2: 1 });
    assert.deepEqual(judge(s, { hits: { rs1: 30, rs2: 10 } }, 0.2, {}, st), []);
    assert.match(judge(s, { hits: { rs1: 20, rs2: 20 } }, 0.2, {}, st).join(), /rs1 got 50% .* weight share is 75%/);
  });
});
