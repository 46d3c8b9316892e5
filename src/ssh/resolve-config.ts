// Runs OpenSSH's resolver (`ssh -G`) for a host, once per distinct question per command. Without
// an OpenSSH client, ssh_config is not read (and the caller says so once). When no config file sets
// a keyword lvsctl reads (config-keywords.ts: Debian's default ssh_config sets none), ssh -G answers
// alike for every host but the name: it runs once per port and user, not once per host (13 ms of
// CPU each: 6.5 s at 500 hosts).
import { execFile } from 'node:child_process';
import { homedir, hostname, userInfo } from 'node:os';
import { configKeywords } from './config-keywords.js';
import { KEYWORDS_READ, parseSshG, SshConfigError, type SshConfigHost } from './ssh-config.js';

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
  private readonly shared = new Map<string, Promise<string>>();
  private readonly inert = new Map<string, boolean>();
  private client?: Promise<boolean>;
  /** How many times ssh -G ran (the tests count them). */
  runs = 0;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Whether OpenSSH's client is here (`ssh -V`); asked once. */
  available(): Promise<boolean> {
    this.client ??= run(['-V'], this.env).then((r) => r.code === 0);
    return this.client;
  }

  /** The host as ssh would reach it; undefined without an OpenSSH client. Throws SshConfigError
   * when ssh refuses the configuration (its own message, e.g. a bad line of ssh_config). */
  resolve(r: ResolveRequest): Promise<SshConfigHost | undefined> {
    const options = [
      ...(r.configFile ? ['-F', r.configFile] : []),
      '-G',
      ...(r.port !== undefined ? ['-p', String(r.port)] : []),
      ...(r.user !== undefined ? ['-l', r.user] : []),
      '--',
    ];
    const key = JSON.stringify([...options, r.alias]);
    let p = this.cache.get(key);
    if (!p) {
      p = this.available().then(async (ok) => {
        if (!ok) return undefined;
        const text = this.isInert(r.configFile)
          ? sameButName(await this.ask(options, r.alias, JSON.stringify(options)), r.alias)
          : await this.ask(options, r.alias, key);
        return parseSshG(r.alias, text, {
          home: this.env.HOME || homedir(),
          user: userInfo().username,
          hostname: hostname(),
        });
      });
      this.cache.set(key, p);
    }
    return p;
  }

  /** ssh -G's output, once per `key`. */
  private ask(options: string[], alias: string, key: string): Promise<string> {
    let p = this.shared.get(key);
    if (!p) {
      this.runs++;
      p = run([...options, alias], this.env).then((out) => {
        if (out.code !== 0)
          throw new SshConfigError(
            `ssh -G ${alias} failed: ${out.err.trim().split('\n').slice(-2).join(' | ') || `exit ${out.code}`}`,
          );
        return out.out;
      });
      this.shared.set(key, p);
    }
    return p;
  }

  /** No config file sets a keyword lvsctl reads (ssh takes ~ from the passwd entry, as here). */
  private isInert(configFile: string | undefined): boolean {
    let v = this.inert.get(configFile ?? '');
    if (v === undefined) {
      const keys = configKeywords(configFile, userInfo().homedir);
      v = !!keys && !KEYWORDS_READ.some((k) => keys.has(k));
      this.inert.set(configFile ?? '', v);
    }
    return v;
  }
}

/** Another host's ssh -G output with this host's name: ssh prints the name as given (`host`) and
 * lower-cased (`hostname`, no HostName being set). */
const sameButName = (text: string, alias: string): string =>
  text.replace(/^host .*$/m, `host ${alias}`).replace(/^hostname .*$/m, `hostname ${alias.toLowerCase()}`);
