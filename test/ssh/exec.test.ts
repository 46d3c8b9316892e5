// Connect and exec against a real sshd on 127.0.0.1: results, stdin, big output, one connection
// reused, auth methods, connect and command timeouts, the test cut hook and the --forks pool.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CommandTimeoutError,
  ConnectError,
  ConnectionCutError,
  connect,
  mapLimit,
  type HostConnection,
} from '../../src/ssh/connection.js';
import { sh } from '../../src/util/quote.js';
import { run, skip, Sshd } from './harness.js';

const noAccept = { acceptNewHostKeys: false };

describe('ssh exec', { skip }, () => {
  const d = new Sshd();
  let c: HostConnection;
  before(async () => {
    await d.start();
    c = await connect('web1', d.target(), false, noAccept);
  });
  after(async () => {
    c?.close();
    await d.dispose();
  });

  it('returns exit code, stdout and stderr', async () => {
    assert.deepEqual(await c.exec(sh`printf 'out\n'; printf 'err\n' >&2; exit 3`), {
      code: 3,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    assert.equal((await c.exec(sh`true`)).code, 0);
    assert.equal((await c.exec(sh`false`)).code, 1);
  });

  it('passes values quoted by sh`` byte-exact', async () => {
    const v = `it's "$(touch /tmp/lvsctl-pwned)" \`x\` ; | & \n ünï`;
    const r = await c.exec(sh`printf %s ${v}`);
    assert.equal(r.stdout, v);
  });

  it('feeds stdin (string and binary) and closes it', async () => {
    assert.equal((await c.exec(sh`cat`, { stdin: 'a\nb\n' })).stdout, 'a\nb\n');
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    assert.equal((await c.exec(sh`od -An -v -tx1 | tr -d ' \n'`, { stdin: bin })).stdout, bin.toString('hex'));
    assert.equal((await c.exec(sh`cat`)).stdout, ''); // no stdin: EOF at once, no hang
  });

  it('collects large stdout and stderr (8 MiB + 1 MiB)', async () => {
    const r = await c.exec(sh`yes xxxxxxx | head -c 8388608; yes yyyyyyy | head -c 1048576 >&2`);
    assert.equal(r.stdout.length, 8 * 1024 * 1024);
    assert.equal(r.stderr.length, 1024 * 1024);
    assert.ok(/^(xxxxxxx\n)+$/.test(r.stdout), 'stdout intact');
    assert.ok(/^(yyyyyyy\n)+$/.test(r.stderr), 'stderr intact');
  });

  it('reuses one SSH connection for every command, also many in parallel', async () => {
    const src = async () => (await c.exec(sh`echo "$SSH_CONNECTION"`)).stdout.split(' ').slice(0, 2).join(' ');
    const first = await src();
    const all = await Promise.all(Array.from({ length: 25 }, src)); // more than sshd's MaxSessions (10)
    assert.ok(
      all.every((s) => s === first),
      'same client address:port for all',
    );
  });

  it('a held command: its head when it reaches the mark, then the word (or EOF) on its stdin; no timeout while it waits', async () => {
    const script = sh`echo before; echo '@@mark'; IFS= read -r w || w=EOF; echo "got:$w"; cat`;
    let head: { stdout: string; stderr: string } | undefined;
    let waited = 0;
    const r = await c.exec(script, {
      timeoutSec: 3, // a busy machine may take a second or two to reach the mark
      hold: {
        mark: '@@mark',
        reached: async (h) => {
          head = h;
          const t0 = Date.now();
          await new Promise((res) => setTimeout(res, 3500)); // longer than the command's timeout
          waited = Date.now() - t0;
          return 'release';
        },
      },
    });
    assert.deepEqual(head, { stdout: 'before\n', stderr: '' });
    assert.ok(waited >= 3400);
    assert.deepEqual(r, { code: 0, stdout: 'before\n@@mark\ngot:release\n', stderr: '' }, 'one line, then EOF');
    const eof = await c.exec(script, { hold: { mark: '@@mark', reached: async () => undefined } });
    assert.equal(eof.stdout, 'before\n@@mark\ngot:EOF\n');
    // Ended before the mark: reached is never called, the result is the command's own.
    let called = false;
    const early = await c.exec(sh`echo x; exit 4`, {
      hold: {
        mark: '@@mark',
        reached: async () => {
          called = true;
          return 'no';
        },
      },
    });
    assert.deepEqual([early.code, early.stdout, called], [4, 'x\n', false]);
    // A mark split over two writes, and a line that only ends in the mark text, are found or not as they should.
    const split = await c.exec(sh`printf 'a@@mark\n@@ma'; sleep 0.2; printf 'rk\n'; IFS= read -r w; echo "$w"`, {
      hold: { mark: '@@mark', reached: async (h) => (h.stdout === 'a@@mark\n' ? 'ok' : 'bad') },
    });
    assert.equal(split.stdout, 'a@@mark\n@@mark\nok\n');
  });

  it('reports a signal as 128+n', async () => {
    const r = await c.exec(sh`kill -KILL $$`);
    assert.equal(r.code, 137);
  });

  it('kills a command at its timeout and stays usable', async () => {
    const nap = String(3000 + (process.pid % 1000)); // a sleep of our own, found again by its exact command line
    const t0 = Date.now();
    await assert.rejects(c.exec(sh`sleep ${nap}; echo never`, { timeoutSec: 1 }), (e: unknown) => {
      assert.ok(e instanceof CommandTimeoutError);
      assert.match(String(e), /web1: command timed out after 1s/);
      return true;
    });
    assert.ok(Date.now() - t0 < 2500, `timed out in ${Date.now() - t0} ms`);
    // The remote process group was signalled (TERM, then KILL a second later from another channel):
    // nothing of it is left. Polled, as a busy machine delays that channel.
    let left = 'not read';
    for (let i = 0; i < 50 && left; i++) {
      await new Promise((r) => setTimeout(r, 200));
      left = (await c.exec(sh`pgrep -x -f ${`sleep ${nap}`} || true`)).stdout.trim();
    }
    assert.equal(left, '');
    assert.equal((await c.exec(sh`echo ok`)).stdout, 'ok\n');
  });

  it('authenticates with a passphrase-protected key, the passphrase from the environment', async () => {
    const c2 = await connect('web2', d.target({ identityFile: d.passKey.priv, passphraseEnv: 'T_PASSPHRASE' }), false, {
      ...noAccept,
      env: { T_PASSPHRASE: d.passphrase },
    });
    assert.equal((await c2.exec(sh`echo ok`)).stdout, 'ok\n');
    c2.close();
  });

  it('a wrong or missing passphrase is a typed error without the passphrase in it', async () => {
    const wrong = `${d.passphrase}-wrong`;
    await assert.rejects(
      connect('web2', d.target({ identityFile: d.passKey.priv, passphraseEnv: 'T_PASSPHRASE' }), false, {
        ...noAccept,
        env: { T_PASSPHRASE: wrong },
      }),
      (e: unknown) => {
        assert.ok(e instanceof ConnectError && e.reason === 'auth');
        assert.match(e.message, /passphrase does not decrypt/);
        const all = `${String(e)} ${(e as Error).stack} ${JSON.stringify(e)}`;
        assert.ok(!all.includes(wrong) && !all.includes(d.passphrase));
        return true;
      },
    );
    await assert.rejects(
      connect('web2', d.target({ identityFile: d.passKey.priv }), false, noAccept),
      /encrypted and no passphrase/,
    );
    await assert.rejects(
      connect('web2', d.target({ identityFile: d.passKey.priv, passphraseEnv: 'T_UNSET' }), false, {
        ...noAccept,
        env: {},
      }),
      /T_UNSET \(ssh.passphrase_env\) is not set/,
    );
  });

  it('authenticates with ssh-agent (SSH_AUTH_SOCK)', async () => {
    const sock = join(d.dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100; i++) {
        try {
          run('ssh-add', [d.clientKey.priv], undefined, { SSH_AUTH_SOCK: sock });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      const c2 = await connect('web3', d.target({ identityFile: undefined, agent: true }), false, {
        ...noAccept,
        env: { SSH_AUTH_SOCK: sock },
      });
      assert.equal((await c2.exec(sh`echo agent`)).stdout, 'agent\n');
      c2.close();
    } finally {
      agent.kill('SIGTERM');
    }
  });

  it('an unauthorized key is ConnectError(auth) naming what was tried', async () => {
    const other = join(d.dir, 'id_other');
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    await assert.rejects(connect('web4', d.target({ identityFile: other }), false, noAccept), (e: unknown) => {
      assert.ok(e instanceof ConnectError && e.reason === 'auth', String(e));
      assert.match(e.message, /^web4: authentication failed for root@127\.0\.0\.1:\d+ \(tried: key .*id_other\)/);
      return true;
    });
  });

  it('a refused port is ConnectError(refused)', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    await new Promise((r) => s.close(r));
    await assert.rejects(
      connect('gone', d.target({ port }), false, noAccept),
      (e: unknown) => e instanceof ConnectError && e.reason === 'refused',
    );
  });

  it('a host that accepts TCP and never speaks SSH is bounded by connect_timeout', async () => {
    const held: Socket[] = [];
    const silent: Server = createServer((sock) => held.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const t0 = Date.now();
    try {
      await assert.rejects(connect('mute', d.target({ port, connectTimeout: 1 }), false, noAccept), (e: unknown) => {
        assert.ok(e instanceof ConnectError && e.reason === 'timeout', String(e));
        assert.match(e.message, /within 1s \(connect timeout\)/);
        return true;
      });
      const took = Date.now() - t0;
      assert.ok(took >= 950 && took < 1500, `took ${took} ms`);
    } finally {
      held.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  it('checkpoint() cuts the named host at the named step only', async () => {
    const env = { LVSCTL_TEST_CUT: 'web5:apply-ipvs' };
    const c2 = await connect('web5', d.target(), false, { ...noAccept, env });
    const c3 = await connect('web6', d.target(), false, { ...noAccept, env });
    c2.checkpoint('facts'); // other step: nothing
    c3.checkpoint('apply-ipvs'); // other host: nothing
    assert.equal((await c2.exec(sh`echo alive`)).stdout, 'alive\n');
    assert.throws(
      () => c2.checkpoint('apply-ipvs'),
      (e: unknown) => e instanceof ConnectionCutError && e.step === 'apply-ipvs' && e.host === 'web5',
    );
    await assert.rejects(c2.exec(sh`true`), ConnectionCutError);
    assert.equal((await c3.exec(sh`echo alive`)).stdout, 'alive\n');
    c3.close();
  });

  it('close() ends the connection; later calls fail typed', async () => {
    const c2 = await connect('web7', d.target(), false, noAccept);
    c2.close();
    await assert.rejects(c2.exec(sh`true`), (e: unknown) => e instanceof ConnectError && e.reason === 'lost');
  });
});

describe('mapLimit', () => {
  it('never runs more than the limit at once, keeps order, settles each', async () => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const res = await mapLimit(items, 4, async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5 + (i % 3) * 5));
      running--;
      if (i === 7) throw new Error('seven');
      return i * 2;
    });
    assert.equal(peak, 4);
    assert.equal(res.length, 20);
    assert.deepEqual(res[3], { status: 'fulfilled', value: 6 });
    assert.equal(res[7]!.status, 'rejected');
  });
  it('handles an empty list and a limit above the count', async () => {
    assert.deepEqual(await mapLimit([], 5, async () => 1), []);
    assert.equal((await mapLimit([1, 2], 50, async (x) => x)).length, 2);
  });
});
