// known_hosts at fleet size: the parsed files are kept while unchanged and looked up by name
// (issue 26). The lookups must give exactly what a scan of every line gives, for every kind of
// pattern ssh knows; the kept parse must see a file that changed or appeared.
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  appendKnownHost,
  checkHostKey,
  hostMatches,
  loadKnownHosts,
  parseKnownHosts,
  preferredHostKeyAlgos,
  type HostKeyVerdict,
  type KnownHostLine,
} from '../../src/ssh/known-hosts.js';

const blobOf = (type: string, tag: number) => {
  const t = Buffer.from(type);
  const b = Buffer.alloc(4 + t.length + 4);
  b.writeUInt32BE(t.length, 0);
  t.copy(b, 4);
  b.writeUInt32BE(tag, 4 + t.length);
  return b;
};
const TYPES = ['ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256'];

/** The verdict by scanning every line in order (what the index must reproduce). */
function scan(lines: KnownHostLine[], name: string, blob: Buffer): HostKeyVerdict {
  const revoked = lines.find((l) => l.marker === 'revoked' && l.blob.equals(blob));
  if (revoked) return { status: 'revoked', entry: revoked };
  const mine = lines.filter((l) => l.marker === undefined && hostMatches(name, l.patterns));
  const same = mine.find((l) => l.blob.equals(blob));
  if (same) return { status: 'known', entry: same };
  if (mine.length) return { status: 'changed', entries: mine };
  const ca = lines.find((l) => l.marker === 'cert-authority' && hostMatches(name, l.patterns));
  if (ca) return { status: 'cert-authority', entry: ca };
  return { status: 'unknown' };
}

describe('known_hosts lookups by name equal a scan of every line', () => {
  it('plain, listed, upper-case, [host]:port, wildcard, negated, hashed, @revoked and @cert-authority lines', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const names = ['web1', 'web2', 'db1', 'lb.example', '10.0.0.5', '[10.0.0.5]:2222', 'fe80::1', 'WEB3'];
    const pattern = () => {
      const n = names[rnd(names.length)]!;
      switch (rnd(7)) {
        case 0:
          return `${n},${names[rnd(names.length)]}`;
        case 1:
          return n.replace(/\d/, '?');
        case 2:
          return `*${n.slice(2)}`;
        case 3:
          return rnd(2) ? `*,!${n}` : `${names[rnd(names.length)]},!${n}`;
        case 4: {
          const salt = randomBytes(20);
          const h = createHmac('sha1', salt).update(n.toLowerCase()).digest();
          return `|1|${salt.toString('base64')}|${h.toString('base64')}`;
        }
        case 5:
          return n.toUpperCase();
        default:
          return n;
      }
    };
    for (let round = 0; round < 40; round++) {
      const text: string[] = [];
      for (let i = 0; i < 30; i++) {
        const type = TYPES[rnd(3)]!;
        const marker = ['', '', '', '', '@revoked ', '@cert-authority '][rnd(6)];
        text.push(`${marker}${pattern()} ${type} ${blobOf(type, rnd(6)).toString('base64')}`);
      }
      const lines = parseKnownHosts(text.join('\n'), 'f');
      for (const raw of names)
        for (let tag = 0; tag < 6; tag++) {
          const name = raw.toLowerCase();
          const blob = blobOf(TYPES[tag % 3]!, tag);
          assert.deepEqual(
            checkHostKey(lines, name, blob),
            scan(lines, name, blob),
            `${name} ${tag}\n${text.join('\n')}`,
          );
        }
    }
  });
  it('offers the recorded key types first, whichever kind of line records them', () => {
    const lines = parseKnownHosts(
      [
        `*.lab,!bad.lab ssh-rsa ${blobOf('ssh-rsa', 1).toString('base64')}`,
        `web1.lab ecdsa-sha2-nistp256 ${blobOf('ecdsa-sha2-nistp256', 2).toString('base64')}`,
      ].join('\n'),
      'f',
    );
    assert.deepEqual(preferredHostKeyAlgos(lines, 'web1.lab').slice(0, 3), [
      'ecdsa-sha2-nistp256',
      'rsa-sha2-512',
      'rsa-sha2-256',
    ]);
    assert.equal(preferredHostKeyAlgos(lines, 'bad.lab')[0], 'ssh-ed25519', 'negated: nothing recorded');
  });
});

describe('known_hosts files are parsed once while unchanged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsctl-kh-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const key = (tag: number) => blobOf('ssh-ed25519', tag);
  const line = (name: string, tag: number) => `${name} ssh-ed25519 ${key(tag).toString('base64')}\n`;

  it('gives the same lines again, then sees an edit, an append and a file that appears', async () => {
    const a = join(dir, 'known_hosts');
    const b = join(dir, 'ssh_known_hosts');
    writeFileSync(a, line('web1', 1));
    const first = await loadKnownHosts([a, b]);
    assert.equal(first.length, 1);
    assert.equal(await loadKnownHosts([a, b]), first, 'unchanged files: the same parsed lines');
    appendFileSync(a, line('web2', 2));
    const second = await loadKnownHosts([a, b]);
    assert.deepEqual(
      second.map((l) => l.patterns),
      ['web1', 'web2'],
    );
    writeFileSync(b, line('db1', 3));
    assert.deepEqual(
      (await loadKnownHosts([a, b])).map((l) => `${l.file === b ? 'b' : 'a'}:${l.patterns}`),
      ['a:web1', 'a:web2', 'b:db1'],
    );
    // what lvsctl records itself (--accept-new-host-keys) is seen by the next connect
    assert.equal((await appendKnownHost(a, 'web3', key(4))).status, 'known');
    assert.equal(checkHostKey(await loadKnownHosts([a, b]), 'web3', key(4)).status, 'known');
  });
  it('a removed file gives no lines any more (not the kept parse)', async () => {
    const c = join(dir, 'gone');
    writeFileSync(c, line('web1', 1));
    await loadKnownHosts([c]);
    rmSync(c);
    assert.deepEqual(await loadKnownHosts([c]), [], 'removed: no lines');
  });
});
