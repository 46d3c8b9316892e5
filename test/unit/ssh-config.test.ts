// ssh_config through OpenSSH's own resolver: `ssh -G` run for real on this machine's client
// (it connects nowhere), its output read and expanded as ssh would at connect time.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseProxyJump, parseSshG, SshConfigError } from '../../src/ssh/ssh-config.js';
import { SshConfigResolver } from '../../src/ssh/resolve-config.js';
import { configKeywords } from '../../src/ssh/config-keywords.js';

const local = { home: '/home/op', user: 'op', hostname: 'ci-runner.example.net' };
const dir = mkdtempSync(join(tmpdir(), 'lvsctl-sshcfg-'));
/** ssh -G with this config as the only one (-F), as an operator's ~/.ssh/config would be read. */
function resolve(alias: string, config: string, args: string[] = []) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, config);
  const out = execFileSync('ssh', ['-F', file, '-G', ...args, alias], { encoding: 'utf8' });
  return parseSshG(alias, out, local);
}

describe('ssh -G output', () => {
  it('a Host alias: HostName, Port, User, several IdentityFiles with ~ and tokens, ProxyCommand with tokens', () => {
    const h = resolve(
      'lbalias',
      [
        'Host lb*',
        '  HostName 127.0.0.1',
        '  Port 2222',
        '  User ops',
        '  IdentityFile ~/.ssh/lb_key',
        '  IdentityFile /etc/lb/%h_%r_%p_%n',
        '  ProxyCommand nc %h %p # for %r',
        '  IdentitiesOnly yes',
      ].join('\n'),
    );
    assert.equal(h.hostname, '127.0.0.1');
    assert.equal(h.port, 2222);
    assert.equal(h.user, 'ops');
    assert.deepEqual(h.identityFiles, ['/home/op/.ssh/lb_key', '/etc/lb/127.0.0.1_ops_2222_lbalias']);
    assert.equal(h.defaultIdentityFiles, false);
    assert.equal(h.identitiesOnly, true);
    assert.equal(h.proxyCommand, 'nc 127.0.0.1 2222 # for ops');
    assert.equal(h.strictHostKeyChecking, 'ask', "OpenSSH's default");
  });

  it('nothing configured: the built-in identities (skipped when missing), no ProxyJump, no timeout', () => {
    const h = resolve('plain.example', '');
    assert.equal(h.hostname, 'plain.example');
    assert.equal(h.port, 22);
    assert.equal(h.defaultIdentityFiles, true);
    assert.equal(h.identityFiles[0], '/home/op/.ssh/id_rsa');
    assert.deepEqual(h.proxyJump, []);
    assert.equal(h.connectTimeout, undefined);
    assert.equal(h.identityAgent, undefined);
  });

  it('Match host, ProxyJump chains, known_hosts files, StrictHostKeyChecking in each spelling, IdentityAgent', () => {
    const cfg = [
      'Match host 10.*',
      '  User matched',
      'Host jumped',
      '  ProxyJump a@j1:2200,j2,[fd00::1]:22',
      '  UserKnownHostsFile ~/.ssh/kh1 /tmp/kh2',
      '  GlobalKnownHostsFile /etc/ssh/lab_known_hosts',
      '  ConnectTimeout 7',
      '  IdentityAgent none',
    ].join('\n');
    assert.equal(resolve('10.1.2.3', cfg).user, 'matched');
    const j = resolve('jumped', cfg);
    assert.deepEqual(j.proxyJump, [
      { user: 'a', host: 'j1', port: 2200 },
      { host: 'j2' },
      { host: 'fd00::1', port: 22 },
    ]);
    assert.deepEqual(
      j.userKnownHostsFiles,
      ['/root/.ssh/kh1', '/tmp/kh2'].map((f) => f.replace('/root', process.env.HOME ?? '/root')),
    );
    assert.deepEqual(j.globalKnownHostsFiles, ['/etc/ssh/lab_known_hosts']);
    assert.equal(j.connectTimeout, 7);
    assert.equal(j.identityAgent, 'none');
    for (const [v, want] of [
      ['yes', 'yes'],
      ['no', 'no'],
      ['off', 'no'],
      ['ask', 'ask'],
      ['accept-new', 'accept-new'],
    ])
      assert.equal(resolve('x', `Host x\n  StrictHostKeyChecking ${v}\n`).strictHostKeyChecking, want, v);
  });

  it('command-line values win over the file (-p, -l), as the inventory will', () => {
    const h = resolve('lbalias', 'Host lbalias\n  Port 2222\n  User ops\n', ['-p', '2300', '-l', 'bob']);
    assert.equal(h.port, 2300);
    assert.equal(h.user, 'bob');
  });

  it('a token ssh does not expand in that option, and ~user paths, are refused with the option named', () => {
    assert.throws(
      () => resolve('x', 'Host x\n  IdentityFile /k/%C\n'),
      (e) => e instanceof SshConfigError && /IdentityFile '\/k\/%C': the token %C/.test(e.message),
    );
    assert.throws(() => resolve('x', 'Host x\n  IdentityFile ~bob/k\n'), /~user paths are not supported/);
  });
});

describe('ProxyJump hops', () => {
  it('user, host, port, ssh:// and IPv6 in brackets', () => {
    assert.deepEqual(parseProxyJump('ssh://u@h:1,[::1],x'), [
      { user: 'u', host: 'h', port: 1 },
      { host: '::1' },
      { host: 'x' },
    ]);
    assert.throws(() => parseProxyJump('a@'), /cannot read the hop/);
  });
});

describe('the resolver', () => {
  it('runs ssh -G once per question; the inventory port and user are passed so they win', async () => {
    const file = join(dir, 'resolver-config');
    writeFileSync(file, 'Host lb\n  HostName 192.0.2.7\n  Port 2222\n  User ops\n');
    const r = new SshConfigResolver();
    assert.equal(await r.available(), true);
    const a = await r.resolve({ alias: 'lb', configFile: file });
    assert.deepEqual([a!.hostname, a!.port, a!.user], ['192.0.2.7', 2222, 'ops']);
    const b = await r.resolve({ alias: 'lb', configFile: file, port: 22, user: 'root' });
    assert.deepEqual([b!.port, b!.user], [22, 'root']);
    assert.equal(await r.resolve({ alias: 'lb', configFile: file }), a, 'cached');
  });

  it("ssh's own refusal of a config line is the error, with its message", async () => {
    const file = join(dir, 'bad-config');
    writeFileSync(file, 'Host lb\n  NoSuchOption 1\n');
    await assert.rejects(new SshConfigResolver().resolve({ alias: 'lb', configFile: file }), (e) => {
      return (
        e instanceof SshConfigError &&
        /ssh -G lb failed: .*(Bad configuration option|bad configuration options)/i.test(e.message)
      );
    });
  });

  it('without an OpenSSH client: nothing is resolved', async () => {
    const r = new SshConfigResolver({ ...process.env, PATH: dir });
    assert.equal(await r.available(), false);
    assert.equal(await r.resolve({ alias: 'lb' }), undefined);
  });

  it('ssh -G runs once for every host when no config file sets a keyword lvsctl reads, with the answers of one run per host', async () => {
    const file = join(dir, 'inert-config');
    writeFileSync(file, 'Host *\n  SendEnv LANG LC_*\n  HashKnownHosts yes\nHost web*\n  Compression yes\n');
    const aliases = ['web1', 'Web2.Example', '10.98.1.10', 'fd00::1', 'db'];
    const r = new SshConfigResolver();
    for (const user of [undefined, 'ops']) {
      const got = await Promise.all(aliases.map((alias) => r.resolve({ alias, configFile: file, port: 2200, user })));
      for (const [i, alias] of aliases.entries()) {
        const own = execFileSync('ssh', ['-F', file, '-G', '-p', '2200', ...(user ? ['-l', user] : []), '--', alias], {
          encoding: 'utf8',
        });
        const mine = parseSshG(alias, own, {
          home: process.env.HOME || homedir(),
          user: userInfo().username,
          hostname: hostname(),
        });
        assert.deepEqual(got[i], mine, alias);
      }
    }
    assert.equal(r.runs, 2, 'one ssh -G per user asked, not one per host');
  });

  it('a config that sets one (in any block, or in an Include) is asked per host', async () => {
    const home = mkdtempSync(join(tmpdir(), 'lvsctl-sshhome-'));
    mkdirSync(join(home, '.ssh', 'conf.d'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'conf.d', 'b.conf'), 'Host a*\n  Port 2201\n');
    const file = join(dir, 'including-config');
    writeFileSync(file, `Host *\n  SendEnv LANG\nInclude ${join(home, '.ssh', 'conf.d')}/*.conf\n`);
    const r = new SshConfigResolver();
    const [a, x] = await Promise.all([
      r.resolve({ alias: 'abc', configFile: file }),
      r.resolve({ alias: 'xyz', configFile: file }),
    ]);
    assert.deepEqual([a!.port, x!.port], [2201, 22]);
    assert.equal(r.runs, 2);
  });
});

describe('the keywords a config sets (which files ssh reads)', () => {
  const home = mkdtempSync(join(tmpdir(), 'lvsctl-sshkw-'));
  mkdirSync(join(home, '.ssh', 'inc', 'deep'), { recursive: true });
  const put = (rel: string, text: string) => {
    writeFileSync(join(home, rel), text);
    return join(home, rel);
  };
  it('Include: relative to ~/.ssh in a user file, globs, quotes, Key=value, comments, missing files', () => {
    put('.ssh/inc/a.conf', '# User nobody\nHostName=10.0.0.1\n');
    put('.ssh/inc/b.conf', '  identityFile ~/.ssh/k\n');
    put('.ssh/inc/skip.txt', 'Port 1\n');
    put('.ssh/inc/deep/with space.conf', 'ProxyJump j\n');
    const f = put('cfg', 'Host *\n  Compression yes\nInclude inc/*.conf "inc/deep/with space.conf" inc/none.conf\n');
    assert.deepEqual([...configKeywords(f, home)!].sort(), [
      'compression',
      'host',
      'hostname',
      'identityfile',
      'include',
      'proxyjump',
    ]);
  });
  it('-F none reads nothing; the default files are ~/.ssh/config then /etc/ssh/ssh_config', () => {
    assert.deepEqual([...configKeywords('none', home)!], []);
    put('.ssh/config', 'Host lb\n  User ops\n');
    assert.ok(configKeywords(undefined, home)!.has('user'));
  });
  it('not sure: an Include with %-tokens or ${VAR}, ~user, an include loop; a -F file that is missing', () => {
    for (const inc of ['%d/x', '${HOME}/x', '~root/x'])
      assert.equal(configKeywords(put('t', `Include ${inc}\n`), home), undefined, inc);
    const loop = put('loop', `Include ${join(home, 'loop')}\n`);
    assert.equal(configKeywords(loop, home), undefined);
    assert.equal(configKeywords(join(home, 'absent'), home), undefined);
  });
});
