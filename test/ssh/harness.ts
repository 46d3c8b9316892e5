// A private sshd on 127.0.0.1 for the ssh tier: its own host key, config, port, authorized_keys
// and pid file in a temp dir; client key pairs made with ssh-keygen; throw-away local users with
// sudo rules. Everything started or created here is stopped or removed by its own handle.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SshTarget } from '../../src/inventory/model.js';

export const SSHD = '/usr/sbin/sshd';
/** Without sshd (a developer machine without openssh-server) the tier is skipped; never in CI. */
export const skip: string | false =
  existsSync(SSHD) || process.env.CI ? false : `${SSHD} not installed (apt-get install openssh-server sudo)`;

export function run(cmd: string, args: string[], input?: string, env?: Record<string, string>): string {
  return execFileSync(cmd, args, {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: env && { ...process.env, ...env },
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = new Socket();
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.setTimeout(500, () => done(false));
    c.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
    c.once('error', () => done(false));
    c.connect(port, '127.0.0.1');
  });
}

export function keygen(
  file: string,
  passphrase = '',
  type = 'ed25519',
): { priv: string; pub: string; fingerprint: string } {
  run('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', 'lvsctl-test', '-f', file]);
  // `ssh-keygen -lf` prints: "256 SHA256:… comment (ED25519)"
  const fp = run('ssh-keygen', ['-lf', `${file}.pub`]).split(' ')[1]!;
  return { priv: file, pub: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint: fp };
}

export class Sshd {
  readonly dir: string;
  port = 0;
  hostKey!: { priv: string; pub: string; fingerprint: string };
  readonly clientKey: { priv: string; pub: string; fingerprint: string };
  readonly passKey: { priv: string; pub: string; fingerprint: string };
  readonly passphrase = `pass phrase 'with' "quotes" $(x)`;
  private proc?: ChildProcess;
  private log = '';

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'lvsctl-sshd-'));
    chmodSync(this.dir, 0o755); // sshd reads authorized_keys as the login user
    this.clientKey = keygen(join(this.dir, 'id_client'));
    this.passKey = keygen(join(this.dir, 'id_pass'), this.passphrase);
    writeFileSync(join(this.dir, 'authorized_keys'), `${this.clientKey.pub}\n${this.passKey.pub}\n`, { mode: 0o644 });
    chmodSync(join(this.dir, 'authorized_keys'), 0o644);
  }

  /** Start (or restart after stop) with a new host key of `type`; `extra`: more sshd_config lines. */
  async start(type = 'ed25519', extra: string[] = []): Promise<void> {
    if (!this.port) this.port = await freePort();
    const hk = join(this.dir, `hostkey-${Date.now()}-${type}`);
    this.hostKey = keygen(hk, '', type);
    const cfg = join(this.dir, 'sshd_config');
    writeFileSync(
      cfg,
      [
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hk}`,
        `PidFile ${join(this.dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${join(this.dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PermitRootLogin yes',
        'PubkeyAuthentication yes',
        'PasswordAuthentication yes',
        'KbdInteractiveAuthentication no',
        'AllowTcpForwarding yes',
        'MaxStartups 200',
        'MaxSessions 10',
        'LogLevel ERROR',
        ...extra,
        '',
      ].join('\n'),
    );
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
    const p = spawn(SSHD, ['-D', '-e', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr!.on('data', (d: Buffer) => (this.log += d.toString()));
    this.proc = p;
    const until = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (p.exitCode !== null || Date.now() > until) throw new Error(`sshd did not start: ${this.log}`);
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM'); // our own child only, by its pid
    await exited;
    this.proc = undefined;
  }

  /** known_hosts lines for this server's current key. */
  get hostPub(): string {
    return this.hostKey.pub.split(' ').slice(0, 2).join(' ');
  }

  knownHosts(name: string, content: string): string {
    const f = join(this.dir, name);
    writeFileSync(f, content);
    return f;
  }

  target(over: Partial<SshTarget> = {}): SshTarget {
    return {
      host: '127.0.0.1',
      port: this.port,
      user: 'root',
      identityFile: this.clientKey.priv,
      agent: false,
      knownHosts: [this.knownHosts('known_hosts', `[127.0.0.1]:${this.port} ${this.hostPub}\n`)],
      connectTimeout: 5,
      commandTimeout: 30,
      ...over,
    };
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A throw-away local user with a password and a sudo rule; removed by remove(). */
export class TestUser {
  constructor(
    readonly name: string,
    readonly password: string,
    sudo: 'nopasswd' | 'password' | 'none',
  ) {
    this.remove();
    run('useradd', ['-m', '-s', '/bin/bash', name]);
    run('chpasswd', [], `${name}:${password}\n`);
    if (sudo !== 'none') {
      const rule =
        sudo === 'nopasswd'
          ? `${name} ALL=(ALL) NOPASSWD: ALL\n`
          : `Defaults:${name} timestamp_type=global\n${name} ALL=(ALL) ALL\n`;
      const f = `/etc/sudoers.d/${name}`;
      writeFileSync(f, rule, { mode: 0o440 });
      run('visudo', ['-cf', f]);
    }
  }

  remove(): void {
    rmSync(`/etc/sudoers.d/${this.name}`, { force: true });
    try {
      run('id', [this.name]);
    } catch {
      return;
    }
    run('userdel', ['-r', '-f', this.name]);
  }
}
