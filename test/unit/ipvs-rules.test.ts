// The IPVS rules model: formatRules writes what `ipvsadm -S -n` prints, parseRules reads real
// `ipvsadm -S -n` output (test/fixtures/ipvsadm, see its README for the sources).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { canonical6 } from '../../src/identity/address.js';
import { desiredTable } from '../../src/ipvs/desired.js';
import { formatRules } from '../../src/ipvs/format.js';
import { parseRules, RulesParseError } from '../../src/ipvs/parse.js';
import { sortTable } from '../../src/ipvs/table.js';
import { loadInventory } from '../../src/inventory/load.js';
import { packageRoot } from '../../src/paths.js';

const fixturesDir = join(packageRoot, 'test/fixtures/ipvsadm');
const fixtures = JSON.parse(readFileSync(join(fixturesDir, 'fixtures.json'), 'utf8')) as {
  file: string;
  captured: boolean;
  sortedByIpvsadm: boolean;
}[];
const read = (f: string) => readFileSync(join(fixturesDir, f), 'utf8');
const withoutComments = (t: string) =>
  t
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');

describe('parseRules on real ipvsadm -S -n output', () => {
  for (const fx of fixtures) {
    it(`${fx.file}${fx.captured ? '' : ' (constructed from ipvsadm.c, not captured)'}: parses, and formats back ${fx.sortedByIpvsadm ? 'byte for byte' : 'to the same set'}`, () => {
      const text = read(fx.file);
      const table = parseRules(text);
      assert.ok(table.services.length > 0);
      const again = formatRules(table);
      if (fx.sortedByIpvsadm) assert.equal(again, withoutComments(text));
      else assert.deepEqual(sortTable(parseRules(again)), sortTable(table));
    });
  }

  it('reads the fields of a persistent NAT service', () => {
    const t = parseRules(read('kube-router-persistent.rules'));
    const s = t.services[0]!;
    assert.equal(s.protocol, 'tcp');
    assert.deepEqual(s.persistence, { timeout: 10800 });
    assert.deepEqual(s.destinations[0], { address: '192.168.123.250', port: 6443, forward: 'masq', weight: 1 });
  });

  it('reads tunnels with and without --tun-type (ipvsadm < 1.30 prints none)', () => {
    const old = parseRules(read('bigbrother-fwmark-old.rules'));
    assert.deepEqual(old.services[0]!.destinations[0]!.tunnel, { type: 'ipip' });
    const gue = parseRules(read('constructed-1.31-options.rules')).services.find(
      (s) => s.protocol === 'udp' && s.port === 5060,
    )!;
    assert.deepEqual(gue.destinations[0]!.tunnel, { type: 'gue', port: 6080, csum: 'csum' });
    assert.equal(gue.pe, 'sip');
  });

  it('accepts long options, --opt=value, a leading "ipvsadm" word and -p without a value', () => {
    const long = parseRules(
      'ipvsadm --add-service --tcp-service=10.0.0.1:80 --scheduler wrr --persistent\n' +
        '--add-server --tcp-service 10.0.0.1:80 --real-server 10.0.1.1:80 --masquerading --weight=2 --u-threshold 100 --l-threshold 50\n',
    );
    assert.equal(
      formatRules(long),
      '-A -t 10.0.0.1:80 -s wrr -p 300\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -w 2 -x 100 -y 50\n',
    );
  });

  it('rejects what ipvsadm would reject, naming the line', () => {
    assert.throws(() => parseRules('-A -t 10.0.0.1 -s rr\n'), /line 1: missing port/);
    assert.throws(
      () => parseRules('-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n'),
      (e: unknown) => e instanceof RulesParseError && e.line === 1,
    );
    assert.throws(
      () => parseRules('-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n'),
      /line 2: service tcp 10.0.0.1:80 is defined twice/,
    );
    assert.throws(() => parseRules('-A -t 10.0.0.1:80 -s rr --bogus\n'), /unknown option --bogus/);
    assert.throws(
      () => parseRules('-A -t 10.0.0.1:80 -s rr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -m -g\n'),
      /more than one/,
    );
  });
});

describe('formatRules', () => {
  it('sorts like libipvs, including its int wrap-around for addresses 2^31 apart', () => {
    const text =
      '-A -t 192.0.2.100:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n-A -u 10.0.0.1:53 -s rr\n-A -f 2 -s rr\n-A -t [2001:db8::1]:80 -s rr\n';
    // 192.0.2.100 - 10.0.0.1 overflows a C int and is negative, so ipvsadm lists 192.0.2.100 first.
    assert.equal(
      formatRules(parseRules(text)),
      '-A -t 192.0.2.100:80 -s rr\n-A -t 10.0.0.1:80 -s rr\n-A -u 10.0.0.1:53 -s rr\n-A -t [2001:db8::1]:80 -s rr\n-A -f 2 -s rr\n',
    );
  });

  it('prints IPv6 as inet_ntop does', () => {
    assert.equal(canonical6('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonical6('2001:db8:0:1:0:0:0:1'), '2001:db8:0:1::1');
    assert.equal(canonical6('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
    assert.equal(canonical6('::ffff:10.0.0.1'), '::ffff:10.0.0.1');
    assert.equal(canonical6('::'), '::');
    assert.equal(canonical6('fe80:0:0:0:1:0:0:0'), 'fe80::1:0:0:0'); // first of two equal runs (checked against glibc)
    assert.equal(canonical6('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  });

  it('an empty table is an empty file', () => assert.equal(formatRules({ services: [] }), ''));
});

describe('desiredTable', () => {
  const load = (f: string) => loadInventory(join(packageRoot, 'inventories', f), { requireSecrets: false }).cluster;

  it('NAT example: port mapping, weight 0, fwmark with persistence mask and thresholds, sh flags', () => {
    const c = load('example-nat.yaml');
    assert.equal(
      formatRules(desiredTable(c, 'lb1')),
      [
        '-A -t 192.0.2.100:80 -s wrr',
        '-a -t 192.0.2.100:80 -r 172.16.10.11:8080 -m -w 3',
        '-a -t 192.0.2.100:80 -r 172.16.10.12:8080 -m -w 1',
        '-a -t 192.0.2.100:80 -r 172.16.10.13:8080 -m -w 0',
        '-A -u 192.0.2.100:53 -s sh -b sh-port',
        '-a -u 192.0.2.100:53 -r 172.16.10.11:53 -m -w 1',
        '-a -u 192.0.2.100:53 -r 172.16.10.12:53 -m -w 1',
        '-a -u 192.0.2.100:53 -r 172.16.10.13:53 -m -w 1',
        '-A -f 10 -s wlc -p 600 -M 255.255.255.0',
        '-a -f 10 -r 172.16.10.11:0 -m -w 1 -x 2000 -y 1500',
        '-a -f 10 -r 172.16.10.12:0 -m -w 1 -x 2000 -y 1500',
        '-a -f 10 -r 172.16.10.13:0 -m -w 1 -x 2000 -y 1500',
        '',
      ].join('\n'),
    );
  });

  it('TUN example: only the ipvsadm-engine service, with --tun-type ipip; keepalived keeps its own', () => {
    const text = formatRules(desiredTable(load('example-tun.yaml'), 'director'));
    assert.equal(
      text,
      '-A -t 203.0.113.100:80 -s wrr\n-a -t 203.0.113.100:80 -r 10.20.0.5:80 -i -w 3 --tun-type ipip\n-a -t 203.0.113.100:80 -r 10.30.0.5:80 -i -w 1 --tun-type ipip\n',
    );
  });

  it('keepalived-only cluster: empty table; a non-director is refused', () => {
    const c = load('example-dr-ha.yaml');
    assert.equal(formatRules(desiredTable(c, 'lvs-a')), '');
    assert.throws(() => desiredTable(c, 'web1'), /not a director/);
  });

  it('round trip: parse(format(desired)) is desired', () => {
    for (const [f, d] of [
      ['example-nat.yaml', 'lb1'],
      ['example-tun.yaml', 'director'],
      ['lab-dr.yaml', 'dir1'],
      ['lab-nat.yaml', 'dir1'],
    ] as const) {
      const t = desiredTable(load(f), d);
      assert.deepEqual(sortTable(parseRules(formatRules(t))), t);
    }
  });
});
