// One SSH connection per inventory host for a whole command: `up` plans, applies and verifies over
// the same connections (a handshake is the costliest step), and every command closes them once.
import { LOCAL, type Cluster } from '../inventory/model.js';
import { connect, type HostConnection } from '../ssh/connection.js';
import { LocalConnection } from '../ssh/local.js';

/** How reaching a host went, for the hosts of a command's report. */
export interface Reached {
  host: string;
  ok: boolean;
  error?: unknown;
}

export class Connections {
  private readonly open = new Map<string, Promise<HostConnection>>();
  private readonly reached = new Map<string, Reached>();
  constructor(
    private readonly cluster: Cluster,
    private readonly acceptNewHostKeys: boolean,
  ) {}

  /** The host's connection, made on first use. A failed connect is not cached. */
  get(name: string): Promise<HostConnection> {
    let c = this.open.get(name);
    if (!c && name === LOCAL && !this.cluster.hosts.has(name)) {
      c = Promise.resolve(new LocalConnection()); // verify.from: [local], this machine
      this.open.set(name, c);
    }
    if (!c) {
      const h = this.cluster.hosts.get(name)!;
      c = connect(name, h.ssh, h.become, { acceptNewHostKeys: this.acceptNewHostKeys });
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
