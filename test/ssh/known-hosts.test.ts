// Host key checking the OpenSSH way, against files written by ssh-keygen and a real sshd:
// plain, [host]:port, hashed, wildcard and negated entries; unknown keys refused with the
// fingerprint ssh-keygen prints; --accept-new-host-keys records them once; a changed key is
// refused always; @revoked refused; a jump host checked the same way.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  connect,
  ConnectError,
  HostKeyChangedError,
  HostKeyRevokedError,
  HostKeyUnknownError,
  type HostConnection,
} from '../../src/ssh/connection.js';
import {
  checkHostKey,
  fingerprint,
  hostMatches,
  lookupName,
  parseKnownHosts,
  preferredHostKeyAlgos,
} from '../../src/ssh/known-hosts.js';
import { sh } from '../../src/util/quote.js';
import { run, skip, Sshd } from './harness.js';

const noAccept = { acceptNewHostKeys: false };
const accept = { acceptNewHostKeys: true };

describe('known_hosts parsing and matching (no sshd)', () => {
  const key = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', 'base64');
  const b64 = key.toString('base64');

  it('computes the SHA256 fingerprint like ssh-keygen -l', () => {
    assert.match(fingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
  });
  it('names port 22 plainly and other ports [host]:port, lowercased', () => {
    assert.equal(lookupName('Web1.Example', 22), 'web1.example');
    assert.equal(lookupName('10.0.0.1', 2222), '[10.0.0.1]:2222');
  });
  it('matches comma lists, wildcards, ? and negation', () => {
    assert.ok(hostMatches('web1', 'db1,web1'));
    assert.ok(hostMatches('web1.lab', '*.lab'));
    assert.ok(hostMatches('[10.0.0.5]:2222', '[10.0.0.?]:2222'));
    assert.ok(!hostMatches('[10.0.0.5]:2222', '10.0.0.5'));
    assert.ok(!hostMatches('bad.lab', '*.lab,!bad.lab'));
    assert.ok(hostMatches('web1', 'WEB1'));
  });
  it('skips comments, blank, malformed and unknown-marker lines; keeps line numbers', () => {
    const lines = parseKnownHosts(
      `# c\n\nweb1 ssh-ed25519 ${b64}\nbroken line\n@weird web2 ssh-ed25519 ${b64}\nweb3 ssh-rsa ${b64}\n@revoked * ssh-ed25519 ${b64}\n`,
      'f',
    );
    assert.deepEqual(
      lines.map((l) => [l.line, l.patterns, l.marker]),
      [
        [3, 'web1', undefined],
        [7, '*', 'revoked'],
      ],
    );
  });
  it('a host only a @cert-authority line vouches for is its own verdict (certificates cannot be checked); a key line wins', () => {
    const lines = parseKnownHosts(`@cert-authority *.prod ssh-ed25519 ${b64}\n`, 'f');
    assert.equal(checkHostKey(lines, 'web1.prod', key).status, 'cert-authority');
    assert.deepEqual(checkHostKey(lines, 'web1', key), { status: 'unknown' }, 'a CA for other hosts');
    const both = parseKnownHosts(`@cert-authority *.prod ssh-ed25519 ${b64}\nweb1.prod ssh-ed25519 ${b64}\n`, 'f');
    assert.equal(checkHostKey(both, 'web1.prod', key).status, 'known');
  });
  it('offers the recorded key types first', () => {
    const lines = parseKnownHosts(
      `web1 ssh-rsa ${Buffer.concat([Buffer.from([0, 0, 0, 7]), Buffer.from('ssh-rsa'), Buffer.alloc(8)]).toString('base64')}\n`,
      'f',
    );
    assert.deepEqual(preferredHostKeyAlgos(lines, 'web1').slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(preferredHostKeyAlgos([], 'web1')[0], 'ssh-ed25519');
  });
});

describe('host key checking against sshd', { skip }, () => {
  const d = new Sshd();
  before(() => d.start());
  after(() => d.dispose());
  const ok = async (c: Promise<HostConnection>) => {
    const conn = await c;
    assert.equal((await conn.exec(sh`echo ok`)).stdout, 'ok\n');
    conn.close();
  };

  it('accepts a [127.0.0.1]:PORT entry', () => ok(connect('h', d.target(), false, noAccept)));

  it('accepts an entry in a comma list with other names, in the second of two files', async () => {
    const f1 = d.knownHosts('kh-other', `[10.1.1.1]:22 ${d.hostPub}\n`);
    const f2 = d.knownHosts('kh-list', `web9,[127.0.0.1]:${d.port},10.9.9.9 ${d.hostPub}\n`);
    await ok(connect('h', d.target({ knownHosts: [f1, f2] }), false, noAccept));
  });

  it('accepts a wildcard entry', async () => {
    const f = d.knownHosts('kh-wild', `[127.0.0.*]:${d.port} ${d.hostPub}\n`);
    await ok(connect('h', d.target({ knownHosts: [f] }), false, noAccept));
  });

  it('accepts a hashed entry made by ssh-keygen -H', async () => {
    const f = d.knownHosts('kh-hashed', `[127.0.0.1]:${d.port} ${d.hostPub}\n`);
    run('ssh-keygen', ['-q', '-H', '-f', f]);
    const text = readFileSync(f, 'utf8');
    assert.match(text, /^\|1\|[^|]+\|[^ ]+ ssh-ed25519 /);
    assert.ok(!text.includes('127.0.0.1'));
    await ok(connect('h', d.target({ knownHosts: [f] }), false, noAccept));
  });

  it('refuses an unknown host with the fingerprint ssh-keygen -lf prints and how to accept', async () => {
    // Port 22 form does not name port PORT; a negated pattern vetoes; another host's key is irrelevant.
    const f = d.knownHosts('kh-miss', `127.0.0.1 ${d.hostPub}\n127.0.0.*,![127.0.0.1]:${d.port} ${d.hostPub}\n`);
    await assert.rejects(connect('web1', d.target({ knownHosts: [f] }), false, noAccept), (e: unknown) => {
      assert.ok(e instanceof HostKeyUnknownError, String(e));
      assert.equal(e.key.fingerprint, d.hostKey.fingerprint);
      assert.ok(e.message.includes(`ED25519 key fingerprint is ${d.hostKey.fingerprint}.`), e.message);
      assert.match(e.message, /--accept-new-host-keys/);
      assert.ok(e.message.includes(`'[127.0.0.1]:${d.port}'`));
      return true;
    });
  });

  it('missing known_hosts files count as empty', async () => {
    await assert.rejects(
      connect('web1', d.target({ knownHosts: [join(d.dir, 'nope')] }), false, noAccept),
      HostKeyUnknownError,
    );
  });

  it('--accept-new-host-keys records the key ([host]:port, file created 0600) and the next connect needs no option', async () => {
    const f = join(d.dir, 'sub', 'kh-new');
    await ok(connect('web1', d.target({ knownHosts: [f, join(d.dir, 'kh-second')] }), false, accept));
    assert.equal(readFileSync(f, 'utf8'), `[127.0.0.1]:${d.port} ${d.hostPub}\n`);
    assert.equal(statSync(f).mode & 0o777, 0o600);
    await ok(connect('web1', d.target({ knownHosts: [f] }), false, noAccept));
    // ssh itself reads what we wrote
    const out = run('ssh-keygen', ['-F', `[127.0.0.1]:${d.port}`, '-f', f]);
    assert.match(out, /found: line 1/);
  });

  it('records a key once when many connects accept at the same time; appends after a line without newline', async () => {
    const f = d.knownHosts('kh-race', `# no trailing newline`);
    const conns = await Promise.all(
      Array.from({ length: 6 }, () => connect('web1', d.target({ knownHosts: [f] }), false, accept)),
    );
    conns.forEach((c) => c.close());
    assert.equal(readFileSync(f, 'utf8'), `# no trailing newline\n[127.0.0.1]:${d.port} ${d.hostPub}\n`);
  });

  it('refuses a @revoked key', async () => {
    const f = d.knownHosts('kh-revoked', `[127.0.0.1]:${d.port} ${d.hostPub}\n@revoked * ${d.hostPub}\n`);
    await assert.rejects(connect('web1', d.target({ knownHosts: [f] }), false, accept), HostKeyRevokedError);
  });

  it('refuses a host vouched for only by @cert-authority, naming the line, also with --accept-new-host-keys (nothing recorded)', async () => {
    const text = `@cert-authority [127.0.0.*]:* ${d.hostPub}\n`;
    const f = d.knownHosts('kh-ca', text);
    await assert.rejects(connect('web1', d.target({ knownHosts: [f] }), false, accept), (e: unknown) => {
      assert.ok(e instanceof ConnectError, String(e));
      assert.match(
        e.message,
        new RegExp(`only by a @cert-authority line \\(${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:1\\)`),
      );
      assert.match(e.message, /host certificates are not supported/);
      return true;
    });
    assert.equal(readFileSync(f, 'utf8'), text);
  });

  it('goes through a jump host, checking both keys', async () => {
    const jump = { host: '127.0.0.1', port: d.port, user: 'root', identityFile: d.clientKey.priv };
    // The target is named "localhost" so its known_hosts line differs from the jump's.
    const target = { host: 'localhost', jump };
    const f = d.knownHosts('kh-jump', `[127.0.0.1]:${d.port} ${d.hostPub}\n[localhost]:${d.port} ${d.hostPub}\n`);
    const c = await connect('behind', d.target({ ...target, knownHosts: [f] }), false, noAccept);
    const r = await c.exec(sh`echo "$SSH_CONNECTION"`);
    assert.match(r.stdout, /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
    // several targets behind one jump at once share its connection
    const more = await Promise.all(
      [1, 2, 3].map(() => connect('behind', d.target({ ...target, knownHosts: [f] }), false, noAccept)),
    );
    for (const m of more) assert.equal((await m.exec(sh`echo ok`)).stdout, 'ok\n');
    more.forEach((m) => m.close());
    c.close();
    // the jump's own key is checked too: only the target is known
    const onlyTarget = d.knownHosts('kh-jump2', `[localhost]:${d.port} ${d.hostPub}\n`);
    // (two targets at once share the failed jump: each error names its own host)
    const both = await Promise.allSettled(
      ['b1', 'b2'].map((n) => connect(n, d.target({ ...target, knownHosts: [onlyTarget] }), false, noAccept)),
    );
    both.forEach((r, i) => {
      assert.equal(r.status, 'rejected');
      const e = (r as PromiseRejectedResult).reason as unknown;
      assert.ok(e instanceof HostKeyUnknownError, String(e));
      assert.equal(e.lookup, `[127.0.0.1]:${d.port}`);
      assert.equal(e.host, `b${i + 1}`);
      assert.ok(e.message.startsWith(`b${i + 1}: `), e.message);
    });
    // a target port nobody listens on, reached through the jump
    await assert.rejects(
      connect('behind', d.target({ ...target, port: 1, knownHosts: [f] }), false, noAccept),
      (e: unknown) => e instanceof ConnectError && e.reason === 'refused',
    );
  });

  it('refuses a changed host key, also with --accept-new-host-keys (and offers the known type first)', async () => {
    const old = d.hostPub;
    const f = d.knownHosts('kh-changed', `[127.0.0.1]:${d.port} ${old}\n`);
    await d.stop();
    await d.start('ed25519'); // same port, new key
    for (const opts of [noAccept, accept]) {
      await assert.rejects(connect('web1', d.target({ knownHosts: [f] }), false, opts), (e: unknown) => {
        assert.ok(e instanceof HostKeyChangedError, String(e));
        assert.equal(e.key.fingerprint, d.hostKey.fingerprint);
        assert.match(e.message, /HAS CHANGED/);
        assert.ok(e.message.includes(`${f}:1`));
        assert.ok(e.message.includes(`ssh-keygen -R '[127.0.0.1]:${d.port}'`));
        return true;
      });
    }
    assert.equal(readFileSync(f, 'utf8'), `[127.0.0.1]:${d.port} ${old}\n`, 'file untouched');
    // An ECDSA-only server known by its old ED25519 key: another type is "changed" too.
    await d.stop();
    await d.start('ecdsa');
    await assert.rejects(connect('web1', d.target({ knownHosts: [f] }), false, accept), HostKeyChangedError);
  });
});
