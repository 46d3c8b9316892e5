// src/ssh/key-signer.ts: keys made by ssh-keygen, read by ssh2, sign as before (the ssh tier logs in
// to a real sshd with them).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import ssh2, { type ParsedKey } from 'ssh2';
import { decodedOnce } from '../../src/ssh/key-signer.js';

const dir = mkdtempSync(path.join(tmpdir(), 'lvsctl-keys-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function key(type: string, bits?: number): ParsedKey {
  const file = path.join(dir, `${type}${bits ?? ''}`);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-f', file]);
  const k = ssh2.utils.parseKey(readFileSync(file));
  if (k instanceof Error) throw k;
  return k;
}

describe('a private key decoded once signs what ssh2 signed', () => {
  const data = Buffer.from('session id and userauth request');
  for (const [type, bits, algos, deterministic] of [
    ['ed25519', undefined, [undefined], true],
    ['rsa', 2048, [undefined, 'sha256', 'sha512'], true], // ssh-rsa, rsa-sha2-256, rsa-sha2-512
    ['ecdsa', 256, [undefined], false],
    ['ecdsa', 384, [undefined], false],
    ['ecdsa', 521, [undefined], false],
  ] as const)
    it(`${type}${bits ? ` ${bits}` : ''}`, () => {
      const original = key(type, bits);
      const before = algos.map((a) => original.sign(data, a));
      const fast = decodedOnce(original);
      assert.equal(fast, original, 'the same key object');
      for (const [i, a] of algos.entries()) {
        const sig = fast.sign(data, a);
        assert.ok(Buffer.isBuffer(sig), String(sig));
        assert.ok(fast.verify(data, sig, a), `${type} ${a ?? 'default'}: the public key verifies it`);
        assert.ok(!fast.verify(Buffer.from('other data'), sig, a));
        if (deterministic) assert.deepEqual(sig, before[i], `${type} ${a ?? 'default'}: the same bytes`);
      }
    });

  it('a public key is left as it is; a failing signature is returned as an Error, as ssh2 does', () => {
    const pub = ssh2.utils.parseKey(readFileSync(path.join(dir, 'ed25519.pub')));
    if (pub instanceof Error) throw pub;
    const sign = pub.sign;
    assert.equal(decodedOnce(pub).sign, sign);
    const rsa = decodedOnce(key('rsa', 1024));
    assert.ok((rsa.sign(data, 'no-such-digest') as unknown) instanceof Error);
  });
});
