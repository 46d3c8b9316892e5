// The parts validation is built from, on their own: message escaping, bounded reads, the
// special-purpose address table, subnet edges and the pre-parse nesting scan.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { specialUse, subnetEdge } from '../../src/identity/special.js';
import { nestingProblem } from '../../src/inventory/yaml-checks.js';
import { printable, printableLines, quoted } from '../../src/util/printable.js';
import { readBounded } from '../../src/util/read-bounded.js';

describe('printable: nothing from a file reaches the terminal as a control', () => {
  it('escapes C0, DEL, C1, bidirectional and zero-width characters, keeps the rest', () => {
    assert.equal(printable('a\x1b[2Jb'), 'a\\u001b[2Jb');
    assert.equal(printable('\x7f\x9b31m'), '\\u007f\\u009b31m');
    assert.equal(printable('x\u202ey\u2066z\u200b\ufeff'), 'x\\u202ey\\u2066z\\u200b\\ufeff');
    assert.equal(printable('line\u2028two\r\n'), 'line\\u2028two\\u000d\\u000a');
    assert.equal(printable('école 10.0.0.1 ümlaut — ok'), 'école 10.0.0.1 ümlaut — ok');
  });
  it('cuts long text and quotes values', () => {
    assert.equal(printable('abcdef', 3), 'abc…');
    assert.equal(quoted('w'.repeat(100)), `"${'w'.repeat(80)}…"`);
    assert.equal(quoted('a"\u009b'), '"a\\"\\u009b"');
    assert.equal(printableLines('one\x1b\ntwo'), 'one\\u001b\ntwo');
  });
});

describe('readBounded: a path is read only when it is a small regular file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsctl-read-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('reads a regular file whole', () => {
    writeFileSync(join(dir, 'ok'), 'hello');
    const r = readBounded(join(dir, 'ok'), 5);
    assert.ok(r.ok && r.data.toString() === 'hello');
  });
  it('refuses a file over the limit, a FIFO (without blocking), devices, directories; says what is missing', () => {
    writeFileSync(join(dir, 'big'), 'x'.repeat(6));
    assert.deepEqual(readBounded(join(dir, 'big'), 5), {
      ok: false,
      kind: 'too-large',
      reason: 'it is larger than 5 bytes',
    });
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    assert.equal((readBounded(join(dir, 'fifo'), 5) as { kind: string }).kind, 'not-regular');
    for (const dev of ['/dev/zero', '/dev/null', '/dev/stdin'])
      assert.equal((readBounded(dev, 5) as { kind: string }).kind, 'not-regular', dev);
    assert.deepEqual(readBounded(dir, 5), { ok: false, kind: 'not-regular', reason: 'it is a directory' });
    const missing = readBounded(join(dir, 'nope'), 5);
    assert.ok(!missing.ok && missing.kind === 'unreadable' && missing.code === 'ENOENT');
  });
  it('a /proc file whose stat size is 0 is read up to the limit, not trusted by its size', () => {
    const r = readBounded('/proc/self/status', 64);
    assert.ok(!r.ok && r.kind === 'too-large');
    // larger than the first buffer (stat says 0): grown, read whole, equal to what readFileSync sees
    const whole = readBounded('/proc/self/smaps', 64 * 1024 * 1024);
    assert.ok(whole.ok && whole.data.length > 8192, 'smaps is read past the first 4 KiB');
    assert.match(whole.data.toString(), /^Rss:/m);
  });
  it('a file grown past its first buffer is read whole, and a limit that falls inside a grown buffer holds', () => {
    const text = 'k'.repeat(100_000);
    writeFileSync(join(dir, 'mid'), text);
    const r = readBounded(join(dir, 'mid'), 100_000);
    assert.ok(r.ok && r.data.toString() === text);
    assert.equal((readBounded(join(dir, 'mid'), 99_999) as { kind: string }).kind, 'too-large');
  });
});

describe('special-purpose addresses', () => {
  it('names each block, and leaves ordinary unicast (private, documentation, CGNAT) alone', () => {
    const cases: [string, RegExp | undefined][] = [
      ['127.0.0.1', /loopback/],
      ['0.1.2.3', /this network/],
      ['169.254.1.1', /link-local/],
      ['224.0.0.18', /multicast/],
      ['239.255.255.255', /multicast/],
      ['240.0.0.1', /reserved/],
      ['255.255.255.255', /limited broadcast/],
      ['::', /unspecified/],
      ['::1', /loopback/],
      ['::ffff:10.0.0.1', /IPv4-mapped/],
      ['::10.0.0.1', /IPv4-compatible/],
      ['fe80::1', /link-local/],
      ['febf::1', /link-local/],
      ['fec0::1', /site-local/],
      ['ff02::12', /multicast/],
      ['100::1', /discard/],
      ['10.0.0.1', undefined],
      ['192.0.2.10', undefined],
      ['100.64.0.1', undefined],
      ['223.255.255.254', undefined],
      ['128.0.0.1', undefined],
      ['fd00::1', undefined],
      ['2001:db8::1', undefined],
      ['fe7f::1', undefined],
      ['fc00::1', undefined],
      ['100:0:0:1::1', undefined],
    ];
    for (const [a, want] of cases) {
      const got = specialUse(a);
      if (want) assert.match(got ?? '(none)', want, a);
      else assert.equal(got, undefined, a);
    }
  });
  it('subnet edges: network and broadcast up to /30, none for /31 and /32; IPv6 subnet-router anycast', () => {
    assert.equal(subnetEdge('10.0.0.0', 24), 'the network address');
    assert.equal(subnetEdge('10.0.0.255', 24), 'the broadcast address');
    assert.equal(subnetEdge('10.0.0.1', 24), undefined);
    assert.equal(subnetEdge('10.0.0.3', 30), 'the broadcast address');
    assert.equal(subnetEdge('10.0.0.2', 31), undefined);
    assert.equal(subnetEdge('10.0.0.0', 32), undefined);
    assert.equal(subnetEdge('10.1.0.0', 15), undefined);
    assert.equal(subnetEdge('10.0.0.0', 15), 'the network address');
    assert.equal(subnetEdge('fd00::', 64), 'the subnet-router anycast address');
    assert.equal(subnetEdge('fd00::ffff:ffff:ffff:ffff', 64), undefined);
    assert.equal(subnetEdge('fd00:0:0:1::', 63), undefined);
    assert.equal(subnetEdge('fd00::', 127), undefined);
  });
});

describe('nesting is bounded before the YAML parser recurses', () => {
  it('counts brackets outside quotes and comments, list items on one line, and indentation', () => {
    const deep = (n: number) => `a: ${'['.repeat(n)}1${']'.repeat(n)}\n`;
    assert.equal(nestingProblem(deep(32)), undefined);
    assert.match(nestingProblem(deep(33))!.message, /more than 32 nested brackets/);
    assert.equal(nestingProblem(`a: "${'['.repeat(100)}"\nb: '${'{'.repeat(100)}'\n# ${'['.repeat(100)}\n`), undefined);
    assert.equal(nestingProblem(`a: "x\\"${'['.repeat(100)}"\n`), undefined);
    assert.match(nestingProblem(`a:\n${'- '.repeat(40)}x\n`)!.message, /list items on one line/);
    assert.deepEqual(nestingProblem(`a:\n b:\n${' '.repeat(200)}c: 1\n`)!.at, { line: 3 });
    assert.equal(nestingProblem('a:\n  - [1, 2]\n  - {b: [c, d]}\n'), undefined);
  });
});
