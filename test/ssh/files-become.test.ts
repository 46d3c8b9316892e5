// Atomic writeFile (exec + mv, no SFTP) and become (sudo) against a real sshd, with throw-away
// local users: one with NOPASSWD sudo, one whose sudo asks for its password. Secrets never show in
// errors, and the sudo password is never in a process argument list on the host.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  BecomeError,
  CommandTimeoutError,
  ConnectError,
  ConnectionCutError,
  connect,
  RemoteCommandError,
  type HostConnection,
} from '../../src/ssh/connection.js';
import { sh } from '../../src/util/quote.js';
import { batch } from '../../src/apply/commands.js';
import { writeScript } from '../../src/ssh/write-script.js';
import { run, skip, Sshd, TestUser } from './harness.js';

const noAccept = { acceptNewHostKeys: false };
const SUDO_PW = `sudo pw with 'quotes' "and" $(x) \\ spaces`;
const LOGIN_PW = `login pw 'x' "y" $(z)`;
const leaks = (e: unknown, ...secrets: string[]) => {
  const all = `${String(e)}\n${(e as Error).stack ?? ''}\n${JSON.stringify(e)}`;
  return secrets.filter((s) => all.includes(s));
};

describe('writeFile and become', { skip }, () => {
  const d = new Sshd();
  let users: TestUser[] = [];
  let root: HostConnection;
  let dir: string; // a root-owned directory others can only read
  const opened: HostConnection[] = [];
  const open = async (...a: Parameters<typeof connect>): Promise<HostConnection> => {
    const c = await connect(...a);
    opened.push(c);
    return c;
  };
  /** The user whose sudo asks for its password, the password from T_SUDO; sudo's cached credentials
   * forgotten, so the next command is prompted. */
  const sudoWithPassword = async (name: string): Promise<HostConnection> => {
    const c = await open(
      name,
      d.target({ user: 'lvsctl-testpw' }),
      { method: 'sudo', passwordEnv: 'T_SUDO' },
      { ...noAccept, env: { T_SUDO: SUDO_PW } },
    );
    await c.exec(sh`sudo -K`, { become: false });
    return c;
  };
  const temps = (p: string) => readdirSync(p).filter((n) => n.includes('.lvsctl-'));

  before(async () => {
    await d.start();
    users = [new TestUser('lvsctl-test', LOGIN_PW, 'nopasswd'), new TestUser('lvsctl-testpw', SUDO_PW, 'password')];
    dir = join(d.dir, 'etc-like');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    root = await open('root', d.target(), false, noAccept);
  });
  after(async () => {
    opened.forEach((c) => c.close());
    users.forEach((u) => u.remove());
    await d.dispose();
  });

  it('writes binary content byte-exact with mode, no temp file left', async () => {
    const bin = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7919) % 256));
    const f = join(dir, 'blob.bin');
    await root.writeFile(f, bin, { mode: 0o600 });
    assert.equal(
      createHash('sha256').update(readFileSync(f)).digest('hex'),
      createHash('sha256').update(bin).digest('hex'),
    );
    assert.equal(statSync(f).mode & 0o7777, 0o600);
    assert.deepEqual(temps(dir), []);
  });

  it('writes a string with quotes, newlines and $() literally; empty content too', async () => {
    const text = `a 'single' "double" $(touch ${dir}/pwned) \`x\` $HOME \\ \n\nünï\n%s %n\n`;
    const f = join(dir, 'text.conf');
    await root.writeFile(f, text, { mode: 0o644 });
    assert.equal(readFileSync(f, 'utf8'), text);
    assert.equal(existsSync(join(dir, 'pwned')), false);
    await root.writeFile(join(dir, 'empty'), '', { mode: 0o644 });
    assert.equal(readFileSync(join(dir, 'empty'), 'utf8'), '');
  });

  it('a connection cut in the middle of a write leaves the old file and no temp file (LVSCTL_TEST_CUT=host:write-file)', async () => {
    const f = join(dir, 'cut.conf');
    writeFileSync(f, 'old\n');
    const cutter = await open('cutme', d.target(), false, {
      ...noAccept,
      env: { LVSCTL_TEST_CUT: 'cutme:write-file' },
    });
    const big = 'x'.repeat(1 << 20);
    await assert.rejects(
      cutter.writeFile(f, big, { mode: 0o644 }),
      (e: unknown) => e instanceof ConnectionCutError && e.step === 'write-file',
    );
    // the remote side sees EOF or a hang-up: its trap removes the temp file
    for (let i = 0; i < 50 && temps(dir).length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(readFileSync(f, 'utf8'), 'old\n');
    assert.deepEqual(temps(dir), []);
  });

  it('writes several files in one command, each byte-exact with its own mode; binary next to empty next to text', async () => {
    const bin = Buffer.from(Array.from({ length: 70_001 }, (_, i) => (i * 31) % 256));
    const files = [
      { path: join(dir, 'batch-a.bin'), content: bin, mode: 0o600 },
      { path: join(dir, 'batch-empty'), content: '', mode: 0o644 },
      { path: join(dir, 'batch-c.sh'), content: `#!/bin/sh\necho '$(id)'\n`, mode: 0o755 },
      { path: join(dir, 'batch-d.conf'), content: 'd\n'.repeat(5000), mode: 0o644 },
    ];
    await root.writeFiles(files);
    for (const f of files) {
      assert.deepEqual(readFileSync(f.path), Buffer.from(f.content), f.path);
      assert.equal(statSync(f.path).mode & 0o7777, f.mode, f.path);
    }
    assert.deepEqual(temps(dir), []);
  });

  it('a connection cut in the middle of a batch of writes installs none of them (all old, no temp file)', async () => {
    const a = join(dir, 'cut-a.conf');
    const b = join(dir, 'cut-b.conf');
    writeFileSync(a, 'old a\n');
    writeFileSync(b, 'old b\n');
    const cutter = await open('cutbatch', d.target(), false, {
      ...noAccept,
      env: { LVSCTL_TEST_CUT: 'cutbatch:write-file' },
    });
    // the cut comes after half of stdin: inside b, after all of a was sent
    await assert.rejects(
      cutter.writeFiles([
        { path: a, content: 'a'.repeat(100_000), mode: 0o644 },
        { path: b, content: 'b'.repeat(1 << 20), mode: 0o644 },
      ]),
      (e: unknown) => e instanceof ConnectionCutError && e.step === 'write-file',
    );
    for (let i = 0; i < 50 && temps(dir).length; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(readFileSync(a, 'utf8'), 'old a\n');
    assert.equal(readFileSync(b, 'utf8'), 'old b\n');
    assert.deepEqual(temps(dir), []);
  });

  it('sets owner and group', async () => {
    const f = join(dir, 'owned');
    await root.writeFile(f, 'x', { mode: 0o640, owner: 'lvsctl-test', group: 'lvsctl-test' });
    const uid = Number(run('id', ['-u', 'lvsctl-test']));
    const st = statSync(f);
    assert.equal(st.uid, uid);
    assert.equal(st.gid, Number(run('id', ['-g', 'lvsctl-test'])));
    assert.equal(st.mode & 0o7777, 0o640);
    await root.writeFile(join(dir, 'grouped'), 'x', { mode: 0o2750, group: 'lvsctl-test' });
    assert.equal(statSync(join(dir, 'grouped')).mode & 0o7777, 0o2750, 'chown before chmod keeps set-gid');
  });

  it('replaces an existing file by rename (the old inode keeps the old content)', async () => {
    const f = join(dir, 'replace.conf');
    writeFileSync(f, 'old\n');
    const link = join(d.dir, 'old-inode');
    linkSync(f, link);
    await root.writeFile(f, 'new\n', { mode: 0o644 });
    assert.equal(readFileSync(f, 'utf8'), 'new\n');
    assert.equal(readFileSync(link, 'utf8'), 'old\n');
    assert.notEqual(statSync(f).ino, statSync(link).ino);
    assert.deepEqual(temps(dir), []);
  });

  it('fails typed and leaves nothing behind: missing directory, unknown owner', async () => {
    await assert.rejects(root.writeFile(join(dir, 'no/such/dir/f'), 'x', { mode: 0o644 }), (e: unknown) => {
      assert.ok(e instanceof RemoteCommandError, String(e));
      // the shell's own words: dash "Directory nonexistent", bash "No such file or directory"
      assert.match(e.message, /writing .*no\/such\/dir\/f failed \(exit \d\): .*(Directory nonexistent|No such file)/);
      return true;
    });
    const f = join(dir, 'keep.conf');
    writeFileSync(f, 'keep\n');
    await assert.rejects(root.writeFile(f, 'new', { mode: 0o644, owner: 'no-such-user-lvsctl' }), /invalid user/);
    assert.equal(readFileSync(f, 'utf8'), 'keep\n');
    assert.deepEqual(temps(dir), []);
    await assert.rejects(root.writeFile('relative/path', 'x', { mode: 0o644 }), RangeError);
  });

  it('become without a sudo password: runs as root, writes into a root-owned directory', async () => {
    const c = await open('u1', d.target({ user: 'lvsctl-test' }), { method: 'sudo' }, noAccept);
    assert.equal((await c.exec(sh`id -u`)).stdout, '0\n');
    assert.notEqual((await c.exec(sh`id -u`, { become: false })).stdout, '0\n');
    const r = await c.exec(sh`cat; echo "err" >&2; exit 4`, { stdin: 'in\n' });
    assert.deepEqual(r, { code: 4, stdout: 'in\n', stderr: 'err\n' });
    const f = join(dir, 'by-sudo.conf');
    await c.writeFile(f, 'via sudo\n', { mode: 0o640 });
    assert.equal(readFileSync(f, 'utf8'), 'via sudo\n');
    assert.equal(statSync(f).uid, 0);
    assert.equal(statSync(f).mode & 0o777, 0o640);
    // without sudo the same write is refused, and leaves nothing
    assert.equal((await c.exec(sh`touch ${join(dir, 'x')}`, { become: false })).code, 1);
    assert.equal(existsSync(join(dir, 'x')), false);
    c.close();
  });

  it('become times out and the root process under sudo is killed', async () => {
    const c = await open('u1', d.target({ user: 'lvsctl-test' }), { method: 'sudo' }, noAccept);
    const nap = String(4000 + (process.pid % 1000));
    await assert.rejects(c.exec(sh`sleep ${nap}`, { timeoutSec: 1 }), CommandTimeoutError);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal((await root.exec(sh`pgrep -x -f ${`sleep ${nap}`} || true`)).stdout, '');
    c.close();
  });

  it("become needing a password but given none is a BecomeError with sudo's reason", async () => {
    const c = await open('u2', d.target({ user: 'lvsctl-testpw' }), { method: 'sudo' }, noAccept);
    await assert.rejects(c.exec(sh`id -u`), (e: unknown) => {
      assert.ok(e instanceof BecomeError, String(e));
      assert.match(e.message, /u2: become \(sudo\) failed: sudo: a password is required/);
      return true;
    });
    c.close();
  });

  it('become with a sudo password: prompted and cached paths, stdin intact, password in no argv', async () => {
    const c = await sudoWithPassword('u2'); // the first sudo prompts
    const content = `line1\n${SUDO_PW}-not-the-password\n$(x)\n`;
    const r1 = await c.exec(sh`id -u; cat`, { stdin: content });
    assert.deepEqual(r1, { code: 0, stdout: `0\n${content}`, stderr: '' });
    // timestamp_type=global: this one is not prompted; the password must not reach the command
    const r2 = await c.exec(sh`cat`, { stdin: 'second\n' });
    assert.equal(r2.stdout, 'second\n');
    await c.exec(sh`sudo -K`, { become: false });
    const ps = await c.exec(sh`ps -eo args`);
    assert.match(ps.stdout, /sudo -S -p/);
    assert.ok(!ps.stdout.includes(SUDO_PW), 'password not in any process argument list');
    await c.exec(sh`sudo -K`, { become: false });
    const f = join(dir, 'by-sudo-pw.conf');
    await c.writeFile(f, Buffer.from('bytes\0with nul\n'), { mode: 0o600 });
    assert.deepEqual(readFileSync(f), Buffer.from('bytes\0with nul\n'));
    assert.equal(statSync(f).uid, 0);
    c.close();
  });

  it('a held command under sudo with a password: the word reaches the root command, not the password', async () => {
    const c = await sudoWithPassword('u4'); // prompted: the password goes first on stdin
    const r = await c.exec(sh`id -u; echo '@@hold'; IFS= read -r w; echo "word:$w"; cat`, {
      hold: { mark: '@@hold', reached: async (h) => (h.stdout === '0\n' ? 'release' : 'bad') },
    });
    assert.deepEqual(r, { code: 0, stdout: '0\n@@hold\nword:release\n', stderr: '' });
    c.close();
  });

  it('an apply batch under sudo with a password: files and commands in one session, each file whole', async () => {
    const c = await sudoWithPassword('u3'); // prompted: the password comes before the files on stdin
    const a = join(dir, 'batch-a.conf');
    const b = join(dir, 'batch-b.bin');
    const bin = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 31) % 256));
    const w1 = writeScript([{ path: a, content: 'first\n', mode: 0o644 }]);
    const w2 = writeScript([{ path: b, content: bin, mode: 0o600 }]);
    const { script, stdin } = batch([
      { label: 'w1', cmd: w1.script, stdin: w1.data },
      { label: 'swallow', cmd: sh`cat >${join(dir, 'batch-stdin')}` },
      { label: 'w2', cmd: w2.script, stdin: w2.data },
      { label: 'id', cmd: sh`id -u` },
    ]);
    const r = await c.exec(script, { stdin });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '@@step 0\n@@step 1\n@@step 2\n@@step 3\n0\n@@done\n');
    assert.equal(readFileSync(a, 'utf8'), 'first\n');
    assert.deepEqual(readFileSync(b), bin);
    assert.equal(readFileSync(join(dir, 'batch-stdin'), 'utf8'), '', 'a command reads no file content');
    assert.equal(statSync(b).uid, 0);
    assert.deepEqual(temps(dir), []);
  });

  it('a wrong sudo password is a BecomeError that shows no password', async () => {
    const wrong = `${SUDO_PW}-wrong`;
    const c = await open(
      'u2',
      d.target({ user: 'lvsctl-testpw' }),
      { method: 'sudo', passwordEnv: 'T_SUDO' },
      { ...noAccept, env: { T_SUDO: wrong } },
    );
    await c.exec(sh`sudo -K`, { become: false });
    const t0 = Date.now();
    await assert.rejects(c.exec(sh`id -u`), (e: unknown) => {
      assert.ok(e instanceof BecomeError, String(e));
      assert.match(e.message, /sudo refused the password from T_SUDO/);
      assert.deepEqual(leaks(e, wrong, SUDO_PW), []);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000);
    assert.equal((await c.exec(sh`echo still`, { become: false })).stdout, 'still\n');
    c.close();
  });

  it('a missing sudo password variable fails at connect', async () => {
    await assert.rejects(
      connect(
        'u2',
        d.target({ user: 'lvsctl-testpw' }),
        { method: 'sudo', passwordEnv: 'T_NOPE' },
        { ...noAccept, env: {} },
      ),
      (e: unknown) =>
        e instanceof ConnectError &&
        e.reason === 'config' &&
        /T_NOPE \(become.password_env\) is not set/.test(e.message),
    );
  });

  it('SSH password authentication from an environment variable; a wrong one shows no password', async () => {
    const t = d.target({ user: 'lvsctl-test', identityFile: undefined, passwordEnv: 'T_LOGIN' });
    const c = await open('pw', t, false, { ...noAccept, env: { T_LOGIN: LOGIN_PW } });
    assert.equal((await c.exec(sh`id -un`)).stdout, 'lvsctl-test\n');
    c.close();
    const wrong = `${LOGIN_PW}-wrong`;
    await assert.rejects(connect('pw', t, false, { ...noAccept, env: { T_LOGIN: wrong } }), (e: unknown) => {
      assert.ok(e instanceof ConnectError && e.reason === 'auth', String(e));
      assert.match(e.message, /tried: password from T_LOGIN/);
      assert.deepEqual(leaks(e, wrong, LOGIN_PW), []);
      return true;
    });
  });
});
