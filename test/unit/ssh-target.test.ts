// Which settings lvsctl connects with: the inventory's, then ssh_config's (as ssh -G resolved them),
// then lvsctl's defaults.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SshConfigHost } from '../../src/ssh/ssh-config.js';
import { effectiveTarget, SshSettingsError, type Context } from '../../src/ssh/target.js';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, runCli } from './helpers.js';

const ctx: Context = { address: '10.0.0.5', home: '/home/op', agentSocket: '/run/agent.sock', acceptNew: false };
const cfg = (o: Partial<SshConfigHost> = {}): SshConfigHost => ({
  alias: 'lb',
  hostname: '192.0.2.7',
  port: 2222,
  user: 'ops',
  identityFiles: ['/home/op/.ssh/lb_key', '/home/op/.ssh/other'],
  defaultIdentityFiles: false,
  identitiesOnly: false,
  proxyJump: [],
  userKnownHostsFiles: ['/home/op/.ssh/known_hosts'],
  globalKnownHostsFiles: ['/etc/ssh/ssh_known_hosts'],
  strictHostKeyChecking: 'ask',
  ...o,
});

describe('effective SSH settings', () => {
  it('ssh_config fills what the inventory leaves out; the agent from SSH_AUTH_SOCK; ask is strict and says so', () => {
    const t = effectiveTarget({ host: 'lb' }, cfg(), [], ctx);
    assert.deepEqual([t.host, t.port, t.user], ['192.0.2.7', 2222, 'ops']);
    assert.deepEqual(t.identities, [
      { file: '/home/op/.ssh/lb_key', named: true },
      { file: '/home/op/.ssh/other', named: true },
    ]);
    assert.equal(t.agent, '/run/agent.sock');
    assert.deepEqual(t.knownHosts, ['/home/op/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts']);
    assert.deepEqual([t.hostKeys, t.asked, t.connectTimeout, t.sshConfig], ['strict', true, 20, 'read']);
  });

  it("the inventory's values win: port, user, key file (alone), known_hosts, connect timeout", () => {
    const t = effectiveTarget(
      { host: 'lb', port: 22, user: 'root', identityFile: '/k', knownHosts: ['/kh'], connectTimeout: 5 },
      cfg({ connectTimeout: 9 }),
      [],
      ctx,
    );
    assert.deepEqual(
      [t.port, t.user, t.identities, t.knownHosts, t.connectTimeout],
      [22, 'root', [{ file: '/k', named: true }], ['/kh'], 5],
    );
  });

  it('the agent: off with IdentityAgent none, with IdentitiesOnly and key files, or agent: false; a set IdentityAgent socket is used', () => {
    assert.equal(effectiveTarget({}, cfg({ identityAgent: 'none' }), [], ctx).agent, undefined);
    assert.equal(effectiveTarget({}, cfg({ identitiesOnly: true }), [], ctx).agent, undefined);
    assert.equal(effectiveTarget({ agent: false }, cfg(), [], ctx).agent, undefined);
    assert.equal(
      effectiveTarget({}, cfg({ identityAgent: '/home/op/.ssh/a.sock' }), [], ctx).agent,
      '/home/op/.ssh/a.sock',
    );
    assert.throws(
      () => effectiveTarget({ agent: true }, cfg(), [], { ...ctx, agentSocket: undefined }),
      SshSettingsError,
    );
    assert.deepEqual(effectiveTarget({}, cfg({ defaultIdentityFiles: true }), [], ctx).identities[0], {
      file: '/home/op/.ssh/lb_key',
      named: false,
    });
  });

  it('StrictHostKeyChecking: yes and ask strict, accept-new records, no refused with the reason; --accept-new-host-keys wins', () => {
    assert.equal(effectiveTarget({}, cfg({ strictHostKeyChecking: 'yes' }), [], ctx).asked, false);
    assert.equal(effectiveTarget({}, cfg({ strictHostKeyChecking: 'accept-new' }), [], ctx).hostKeys, 'accept-new');
    assert.throws(
      () => effectiveTarget({}, cfg({ strictHostKeyChecking: 'no' }), [], ctx),
      /StrictHostKeyChecking no .* is not followed/,
    );
    assert.equal(
      effectiveTarget({}, cfg({ strictHostKeyChecking: 'no' }), [], { ...ctx, acceptNew: true }).hostKeys,
      'accept-new',
    );
  });

  it('ProxyJump: every hop resolved in turn; the inventory jump wins; ProxyCommand only without a jump', () => {
    const c = cfg({ proxyJump: [{ user: 'a', host: 'j1', port: 2200 }, { host: 'j2' }], proxyCommand: 'nc %h %p' });
    const t = effectiveTarget(
      {},
      c,
      [cfg({ hostname: '198.51.100.1' }), cfg({ hostname: '198.51.100.2', port: 22, user: 'jump' })],
      ctx,
    );
    assert.deepEqual(
      t.jumps.map((j) => `${j.user}@${j.host}:${j.port}`),
      ['a@198.51.100.1:2200', 'jump@198.51.100.2:22'],
    );
    assert.equal(t.proxyCommand, undefined);
    const inv = effectiveTarget({ jump: { host: 'bastion' } }, c, [], ctx);
    assert.deepEqual(
      inv.jumps.map((j) => `${j.user}@${j.host}:${j.port}`),
      ['root@bastion:22'],
    );
    assert.equal(
      effectiveTarget({}, cfg({ proxyCommand: 'nc 192.0.2.7 2222' }), [], ctx).proxyCommand,
      'nc 192.0.2.7 2222',
    );
  });

  it("without an OpenSSH client: the host's address, root, the usual keys (skipped when missing) and both known_hosts files", () => {
    const t = effectiveTarget({}, undefined, [], ctx);
    assert.deepEqual([t.host, t.port, t.user, t.sshConfig], ['10.0.0.5', 22, 'root', 'no OpenSSH client']);
    assert.deepEqual(
      t.identities.map((i) => i.named),
      [false, false, false],
    );
    assert.deepEqual(t.knownHosts, [
      '/home/op/.ssh/known_hosts',
      '/etc/ssh/ssh_known_hosts',
      '/etc/ssh/ssh_known_hosts2',
    ]);
  });
});

/** Without OpenSSH's client lvsctl would connect (to a documentation address): not run then. */
const noClient = spawnSync('ssh', ['-V']).status === 0 ? false : 'no OpenSSH client (ssh)';

describe('-F / LVSCTL_SSH_CONFIG reach ssh -G', { skip: noClient }, () => {
  // A file that does not exist: ssh -G refuses it before any connection, for every host, so the
  // command fails on the configuration and contacts nothing.
  const missing = join(tmpdir(), 'lvsctl-no-such-ssh-config');
  const inv = join(root, 'inventories', 'example-nat.yaml');
  for (const [how, args, env] of [
    ['-F', ['-F', missing], {}],
    ['--ssh-config', ['--ssh-config', missing], {}],
    ['LVSCTL_SSH_CONFIG', [], { LVSCTL_SSH_CONFIG: missing }],
  ] as const)
    it(`${how}: the file is the one ssh -G reads; a host it cannot resolve is a configuration failure`, async () => {
      const r = await runCli(['status', '-i', inv, '--limit', 'lb1', ...args], env);
      assert.notEqual(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, new RegExp(`ssh -G 192\\.0\\.2\\.10 failed: .*${missing}`));
      assert.doesNotMatch(r.stdout + r.stderr, /unreachable/);
    });
});
