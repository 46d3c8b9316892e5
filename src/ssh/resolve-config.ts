// Runs OpenSSH's resolver (`ssh -G`) for a host, once per distinct question per command. Without
// an OpenSSH client, ssh_config is not read (and the caller says so once).
import { execFile } from 'node:child_process';
import { homedir, hostname, userInfo } from 'node:os';
import { parseSshG, SshConfigError, type SshConfigHost } from './ssh-config.js';

export interface ResolveRequest {
  /** The name to resolve: the inventory's ssh.host, or the host's address. */
  alias: string;
  /** The inventory's values: passed as ssh's -p and -l, so they win and %p/%r expand to them. */
  port?: number;
  user?: string;
  /** -F FILE: this file instead of ~/.ssh/config and /etc/ssh/ssh_config (as ssh -F). */
  configFile?: string;
}

const RESOLVE_TIMEOUT_MS = 10_000;

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | 'ENOENT'; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile('ssh', args, { env, timeout: RESOLVE_TIMEOUT_MS, maxBuffer: 1 << 20 }, (e, out, err) => {
      const code = (e as NodeJS.ErrnoException | null)?.code;
      if (code === 'ENOENT') return resolve({ code: 'ENOENT', out: '', err: '' });
      if (!e) return resolve({ code: 0, out, err });
      resolve({ code: typeof e.code === 'number' ? e.code : 255, out, err });
    });
  });
}

export class SshConfigResolver {
  private readonly cache = new Map<string, Promise<SshConfigHost | undefined>>();
  private client?: Promise<boolean>;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Whether OpenSSH's client is here (`ssh -V`); asked once. */
  available(): Promise<boolean> {
    this.client ??= run(['-V'], this.env).then((r) => r.code === 0);
    return this.client;
  }

  /** The host as ssh would reach it; undefined without an OpenSSH client. Throws SshConfigError
   * when ssh refuses the configuration (its own message, e.g. a bad line of ssh_config). */
  resolve(r: ResolveRequest): Promise<SshConfigHost | undefined> {
    const args = [
      ...(r.configFile ? ['-F', r.configFile] : []),
      '-G',
      ...(r.port !== undefined ? ['-p', String(r.port)] : []),
      ...(r.user !== undefined ? ['-l', r.user] : []),
      '--',
      r.alias,
    ];
    const key = JSON.stringify(args);
    let p = this.cache.get(key);
    if (!p) {
      p = this.available().then(async (ok) => {
        if (!ok) return undefined;
        const out = await run(args, this.env);
        if (out.code !== 0)
          throw new SshConfigError(
            `ssh -G ${r.alias} failed: ${out.err.trim().split('\n').slice(-2).join(' | ') || `exit ${out.code}`}`,
          );
        return parseSshG(r.alias, out.out, {
          home: this.env.HOME || homedir(),
          user: userInfo().username,
          hostname: hostname(),
        });
      });
      this.cache.set(key, p);
    }
    return p;
  }
}
