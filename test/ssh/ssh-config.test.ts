// Hosts reached the way OpenSSH reaches them: ssh_config resolved by the real `ssh -G` (-F files
// written here, so the user's own config never counts), against private sshd processes on
// 127.0.0.1. Every connection reports which sshd it reached (SSH_CONNECTION's server port).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Connections } from '../../src/engine/connections.js';
import { loadInventory } from '../../src/inventory/load.js';
import { ConnectError, HostKeyChangedError, HostKeyUnknownError } from '../../src/ssh/connection.js';
import { sh } from '../../src/util/quote.js';
import { keygen, run, skip, Sshd } from './harness.js';
import { natClusterText } from '../unit/helpers.js';

/** A NAT cluster whose director lb1 is reached with `ssh` (YAML flow mapping); nothing else is contacted. */
const inventory = (ssh: string) =>
  natClusterText({
    hosts: `{ lb1: { address: 192.0.2.10, ssh: ${ssh} }, app1: { address: 172.16.10.11 } }`,
    realServers: '[{ host: app1 }]',
  });

/** No agent unless a test gives one; HOME and PATH as the test runner's. */
const baseEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };

interface Reach {
  env?: NodeJS.ProcessEnv;
  /** -F */
  config?: string;
  accept?: boolean;
  notes?: string[];
}

/** Connect to lb1 and return the server port it reached and the remote user. */
async function reach(d: Sshd, ssh: string, o: Reach = {}): Promise<{ port: number; user: string }> {
  const { cluster } = loadInventory(join(d.dir, 'inventory.yaml'), { text: inventory(ssh) });
  const conns = new Connections(cluster, o.accept ?? false, o.env ?? baseEnv, o.config, (l) => o.notes?.push(l));
  try {
    const c = await conns.get('lb1');
    const r = await c.exec(sh`echo "$SSH_CONNECTION" && id -un`);
    const [conn, user] = r.stdout.trim().split('\n');
    return { port: Number(conn!.split(' ')[3]), user: user! };
  } finally {
    await conns.closeAll();
  }
}

const rejects = (p: Promise<unknown>, check: (e: Error) => boolean) =>
  assert.rejects(p, (e: Error) => {
    assert.ok(check(e), `unexpected error: ${e.constructor.name}: ${e.message}`);
    return true;
  });

describe('ssh_config: hosts resolved by ssh -G', { skip }, () => {
  const a = new Sshd();
  const b = new Sshd();
  const c = new Sshd();
  let kh: string;
  const conf = (name: string, text: string) => {
    const f = join(a.dir, name);
    writeFileSync(f, text);
    return f;
  };
  /** ssh_config lines that reach sshd `s`: address, port, its client key and the known_hosts of all three. */
  const to = (s: Sshd) =>
    `  HostName 127.0.0.1\n  Port ${s.port}\n  User root\n  IdentityFile ${s.clientKey.priv}\n  UserKnownHostsFile ${kh}\n`;

  before(async () => {
    await c.start();
    await b.start('ed25519', [`PermitOpen 127.0.0.1:${c.port}`]); // b forwards only to c...
    await a.start('ed25519', [`PermitOpen 127.0.0.1:${b.port}`]); // ...and a only to b: a chain in order
    kh = a.knownHosts('kh-all', [a, b, c].map((s) => `[127.0.0.1]:${s.port} ${s.hostPub}\n`).join(''));
  });
  after(async () => {
    await Promise.all([a.dispose(), b.dispose(), c.dispose()]);
  });

  it('a Host alias gives HostName, Port, User and IdentityFile', async () => {
    const f = conf('alias.conf', `Host lbalias\n${to(c)}`);
    assert.deepEqual(await reach(a, '{ host: lbalias }', { config: f }), { port: c.port, user: 'root' });
    // Another file maps the same alias elsewhere: the answer really comes from the file.
    const g = conf('alias-b.conf', `Host lbalias\n${to(b)}`);
    assert.equal((await reach(a, '{ host: lbalias }', { config: g })).port, b.port);
  });

  it('the inventory key ssh.config names the file (as -F does)', async () => {
    const f = conf('inv.conf', `Host lbinv\n${to(b)}`);
    assert.equal((await reach(a, `{ host: lbinv, config: ${JSON.stringify(f)} }`)).port, b.port);
  });

  it('Include and Match host are followed', async () => {
    conf('included.conf', `Match host lbmatch\n${to(c)}`);
    const f = conf('main.conf', `Include ${join(a.dir, 'included.conf')}\n`);
    assert.equal((await reach(a, '{ host: lbmatch }', { config: f })).port, c.port);
  });

  it("the inventory's port, user and key win over ssh_config's", async () => {
    const stray = keygen(join(a.dir, 'id_stray')); // authorized nowhere
    const f = conf(
      'wrong.conf',
      `Host lbwrong\n  HostName 127.0.0.1\n  Port 1\n  User nobody\n  IdentityFile ${stray.priv}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${kh}\n`,
    );
    const inv = `{ host: lbwrong, port: ${c.port}, user: root, identity_file: ${JSON.stringify(c.clientKey.priv)} }`;
    assert.deepEqual(await reach(a, inv, { config: f }), { port: c.port, user: 'root' });
    // ssh_config's values are the ones used where the inventory is silent: port 1 is closed.
    await rejects(
      reach(a, '{ host: lbwrong }', { config: f }),
      (e) => e instanceof ConnectError && e.message.includes('nobody@127.0.0.1:1'),
    );
  });

  it('a ProxyJump chain of two hops (each forwards only to the next)', async () => {
    const f = conf('jump.conf', `Host j1\n${to(a)}Host j2\n${to(b)}Host lbchain\n${to(c)}  ProxyJump j1,j2\n`);
    assert.equal((await reach(a, '{ host: lbchain }', { config: f })).port, c.port);
    // In the wrong order the first hop refuses to forward: the chain really is followed hop by hop.
    const g = conf('jump-rev.conf', `Host j1\n${to(a)}Host j2\n${to(b)}Host lbchain\n${to(c)}  ProxyJump j2,j1\n`);
    await rejects(
      reach(a, '{ host: lbchain }', { config: g }),
      (e) =>
        e instanceof ConnectError &&
        e.message.includes(`jump host root@127.0.0.1:${b.port} cannot reach 127.0.0.1:${a.port}`),
    );
  });

  it('a ProxyCommand carries the connection; a failing one is reported with its exit and stderr', async () => {
    const mark = join(a.dir, 'proxy-used');
    const f = conf('proxy.conf', `Host lbproxy\n${to(c)}  ProxyCommand sh -c 'echo %h:%p > ${mark}; exec nc %h %p'\n`);
    assert.equal((await reach(a, '{ host: lbproxy }', { config: f })).port, c.port);
    assert.equal(readFileSync(mark, 'utf8').trim(), `127.0.0.1:${c.port}`);
    const g = conf('proxy-bad.conf', `Host lbproxy\n${to(c)}  ProxyCommand sh -c 'echo no route here >&2; exit 3'\n`);
    await rejects(
      reach(a, '{ host: lbproxy }', { config: g }),
      (e) => e instanceof ConnectError && /exit 3|exited 3|status 3/.test(e.message) && /no route here/.test(e.message),
    );
  });

  describe('ssh-agent', () => {
    const sock = join(a.dir, 'agent.sock');
    let agent: ChildProcess;
    before(async () => {
      agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      run('ssh-add', ['-q', c.clientKey.priv], undefined, { SSH_AUTH_SOCK: sock });
    });
    after(() => {
      agent.kill('SIGTERM');
    });
    const noKey = () =>
      `Host lbagent\n${to(c).replace(/IdentityFile .*/, `IdentityFile ${join(a.dir, 'no-such-key')}`)}`;

    it('SSH_AUTH_SOCK: the agent is used by default, as ssh does', async () => {
      const f = conf('agent.conf', noKey());
      assert.equal(
        (await reach(a, '{ host: lbagent }', { config: f, env: { ...baseEnv, SSH_AUTH_SOCK: sock } })).port,
        c.port,
      );
    });
    it('IdentityAgent names the socket; IdentityAgent none turns it off', async () => {
      const f = conf('agent-named.conf', `${noKey()}  IdentityAgent ${sock}\n`);
      assert.equal((await reach(a, '{ host: lbagent }', { config: f })).port, c.port);
      const g = conf('agent-none.conf', `${noKey()}  IdentityAgent none\n`);
      await rejects(
        reach(a, '{ host: lbagent }', { config: g, env: { ...baseEnv, SSH_AUTH_SOCK: sock } }),
        (e) => e instanceof ConnectError && e.reason === 'config' && /no authentication method/.test(e.message),
      );
    });
    it('no key and no agent: a configuration error, not unreachable', async () => {
      const f = conf('agent-absent.conf', noKey());
      await rejects(
        reach(a, '{ host: lbagent }', { config: f }),
        (e) => e instanceof ConnectError && e.reason === 'config' && /no authentication method/.test(e.message),
      );
    });
    it('an encrypted key with no passphrase source: an error naming the key', async () => {
      const f = conf('enc.conf', `Host lbenc\n${to(c).replace(/IdentityFile .*/, `IdentityFile ${a.passKey.priv}`)}`);
      await rejects(
        reach(a, '{ host: lbenc }', { config: f }),
        (e) =>
          e instanceof ConnectError &&
          e.reason === 'config' &&
          e.message.includes(a.passKey.priv) &&
          /encrypted/.test(e.message),
      );
    });
  });

  describe('StrictHostKeyChecking and known_hosts files', () => {
    const empty = () => {
      const f = join(a.dir, `kh-empty-${Math.random().toString(36).slice(2)}`);
      writeFileSync(f, '');
      return f;
    };
    const hostConf = (name: string, extra: string, known = empty()) =>
      conf(name, `Host lbkeys\n${to(c).replace(/UserKnownHostsFile .*/, `UserKnownHostsFile ${known}`)}${extra}`);
    const unknown = (e: Error) => e instanceof HostKeyUnknownError && e.message.includes(c.hostKey.fingerprint);

    for (const v of ['yes', 'ask', '']) {
      it(`${v || 'unset (ask, the default)'}: an unknown key is refused with its fingerprint and how to accept it`, async () => {
        const f = hostConf(`shk-${v || 'unset'}.conf`, v ? `  StrictHostKeyChecking ${v}\n` : '');
        await rejects(
          reach(a, '{ host: lbkeys }', { config: f }),
          (e) => unknown(e) && /--accept-new-host-keys/.test(e.message),
        );
      });
    }
    it('accept-new: a new key is recorded in UserKnownHostsFile and used; (--accept-new-host-keys the same)', async () => {
      const known = empty();
      const f = hostConf('shk-accept-new.conf', '  StrictHostKeyChecking accept-new\n', known);
      assert.equal((await reach(a, '{ host: lbkeys }', { config: f })).port, c.port);
      assert.match(readFileSync(known, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${c.port} ssh-ed25519 `));
      const g = hostConf('shk-flag.conf', '');
      assert.equal((await reach(a, '{ host: lbkeys }', { config: g, accept: true })).port, c.port);
    });
    it('no (and off): refused with the reason, nothing contacted', async () => {
      for (const v of ['no', 'off']) {
        const f = hostConf(`shk-${v}.conf`, `  StrictHostKeyChecking ${v}\n`);
        await rejects(
          reach(a, '{ host: lbkeys }', { config: f }),
          (e) => e instanceof ConnectError && e.reason === 'config' && /StrictHostKeyChecking no/.test(e.message),
        );
      }
    });
    it('GlobalKnownHostsFile vouches for the host when the user file does not', async () => {
      const global = a.knownHosts('kh-global', `[127.0.0.1]:${c.port} ${c.hostPub}\n`);
      const f = hostConf('global.conf', `  GlobalKnownHostsFile ${global}\n`);
      assert.equal((await reach(a, '{ host: lbkeys }', { config: f })).port, c.port);
    });
    it('/etc/ssh/ssh_known_hosts, the system file, is read by default', async () => {
      const sys = '/etc/ssh/ssh_known_hosts';
      const before = existsSync(sys) ? readFileSync(sys) : undefined;
      try {
        writeFileSync(sys, `${before ?? ''}[127.0.0.1]:${c.port} ${c.hostPub}\n`);
        const f = hostConf('system.conf', '');
        assert.equal((await reach(a, '{ host: lbkeys }', { config: f })).port, c.port);
      } finally {
        if (before === undefined) rmSync(sys, { force: true });
        else writeFileSync(sys, before);
      }
    });
    it('a changed key is refused even with accept-new', async () => {
      const known = a.knownHosts('kh-old', `[127.0.0.1]:${c.port} ${b.hostPub}\n`); // another host's key
      const f = hostConf('changed.conf', '  StrictHostKeyChecking accept-new\n', known);
      await rejects(reach(a, '{ host: lbkeys }', { config: f }), (e) => e instanceof HostKeyChangedError);
    });
  });

  it('without an OpenSSH client: the inventory and defaults apply, and lvsctl says ssh_config is not read', async () => {
    const notes: string[] = [];
    const inv = `{ host: 127.0.0.1, port: ${c.port}, identity_file: ${JSON.stringify(c.clientKey.priv)}, known_hosts: ${JSON.stringify(kh)} }`;
    const env = { ...baseEnv, PATH: join(a.dir, 'no-bin') };
    assert.equal((await reach(a, inv, { env, notes })).port, c.port);
    assert.deepEqual(notes, [
      'ssh_config is not read: no OpenSSH client (ssh) on this machine; the inventory and defaults apply',
    ]);
  });
});
