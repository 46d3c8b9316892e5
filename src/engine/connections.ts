// One SSH connection per inventory host for a whole command: `up` plans, applies and verifies over
// the same connections (a handshake is the costliest step), and every command closes them once.
import { homedir } from 'node:os';
import { LOCAL, type Cluster, type SshTarget } from '../inventory/model.js';
import { connect, ConnectError, type HostConnection } from '../ssh/connection.js';
import { SshConfigResolver } from '../ssh/resolve-config.js';
import { SshConfigError } from '../ssh/ssh-config.js';
import { effectiveTarget, SshSettingsError } from '../ssh/target.js';
import { LocalConnection } from '../ssh/local.js';
import { timed } from '../util/timings.js';
import { Semaphore } from '../ssh/pool.js';

/** SSH handshakes in flight at once, whatever --forks is. A handshake is CPU on both ends: 500 at
 * once on a 2-CPU machine each took over 20 s and failed by the connect timeout, which starts when
 * the handshake does (queued hosts wait without it). */
export const MAX_HANDSHAKES = 64;

/** How reaching a host went, for the hosts of a command's report. */
export interface Reached {
  host: string;
  ok: boolean;
  error?: unknown;
}

export class Connections {
  private readonly open = new Map<string, Promise<HostConnection>>();
  private readonly reached = new Map<string, Reached>();
  private readonly resolver: SshConfigResolver;
  private noted = false;
  constructor(
    private readonly cluster: Pick<Cluster, 'hosts'>,
    private readonly acceptNewHostKeys: boolean,
    private readonly env: NodeJS.ProcessEnv = process.env,
    /** -F: this ssh_config instead of the user's and the system's (and the inventory's ssh.config) */
    private readonly sshConfigFile?: string,
    /** Said once when ssh_config cannot be read (no OpenSSH client). */
    private readonly note: (line: string) => void = () => undefined,
  ) {
    this.resolver = new SshConfigResolver(env);
  }

  private readonly handshakes = new Semaphore(MAX_HANDSHAKES);

  /** How to reach the host: the inventory's settings, filled from ssh_config as ssh -G resolves it. */
  private async target(name: string): Promise<SshTarget> {
    const h = this.cluster.hosts.get(name)!;
    const inv = h.ssh.inventory;
    if (!inv) return h.ssh;
    try {
      const configFile = this.sshConfigFile ?? inv.configFile;
      const ask = (alias: string, port?: number, user?: string) =>
        this.resolver.resolve({ alias, port, user, configFile });
      const cfg = await ask(inv.host ?? h.address, inv.port, inv.user);
      if (!cfg && !this.noted) {
        this.noted = true;
        this.note('ssh_config is not read: no OpenSSH client (ssh) on this machine; the inventory and defaults apply');
      }
      const jumpCfg = inv.jump ? [] : await Promise.all((cfg?.proxyJump ?? []).map((j) => ask(j.host, j.port, j.user)));
      const t = effectiveTarget(inv, cfg, jumpCfg, {
        address: h.address,
        home: this.env.HOME || homedir(),
        agentSocket: this.env.SSH_AUTH_SOCK,
        acceptNew: this.acceptNewHostKeys,
      });
      return {
        ...h.ssh,
        host: t.host,
        port: t.port,
        user: t.user,
        // the inventory's key file stays a required one (identityFile); ssh_config's are tried
        identities: inv.identityFile ? undefined : t.identities,
        agent: t.agent !== undefined,
        agentSocket: t.agent,
        knownHosts: t.knownHosts,
        jumps: inv.jump ? undefined : t.jumps,
        proxyCommand: t.proxyCommand,
        acceptNewHostKeys: t.hostKeys === 'accept-new',
        connectTimeout: t.connectTimeout,
      };
    } catch (e) {
      if (e instanceof SshConfigError || e instanceof SshSettingsError)
        throw new ConnectError(name, 'config', e.message);
      throw e;
    }
  }

  /** The host's connection, made on first use. A failed connect is not cached. */
  get(name: string): Promise<HostConnection> {
    let c = this.open.get(name);
    if (!c && name === LOCAL && !this.cluster.hosts.has(name)) {
      c = Promise.resolve(new LocalConnection()); // verify.from: [local], this machine
      this.open.set(name, c);
    }
    if (!c) {
      const h = this.cluster.hosts.get(name)!;
      c = timed(name, 'ssh_config', () => this.target(name)).then(async (t) => {
        const release = await timed(name, 'connect: queued', () => this.handshakes.acquire());
        try {
          return await timed(name, 'connect', () =>
            connect(name, t, h.become, { acceptNewHostKeys: this.acceptNewHostKeys, env: this.env }),
          );
        } finally {
          release();
        }
      });
      c.then(
        () => this.reached.set(name, { host: name, ok: true }),
        (error: unknown) => {
          this.open.delete(name);
          this.reached.set(name, { host: name, ok: false, error });
        },
      );
      this.open.set(name, c);
    }
    return c;
  }

  /** A new connection to the host, the old one closed (it broke: a lock is still to be released). */
  reconnect(name: string): Promise<HostConnection> {
    const old = this.open.get(name);
    this.open.delete(name);
    old?.then(
      (c) => c.close(),
      () => undefined,
    );
    return this.get(name);
  }

  /** Every host this command tried to reach, in inventory order. */
  attempts(): Reached[] {
    return [...this.cluster.hosts.keys()].flatMap((h) => {
      const r = this.reached.get(h);
      return r ? [r] : [];
    });
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const r of await Promise.allSettled(all)) if (r.status === 'fulfilled') r.value.close();
  }
}
