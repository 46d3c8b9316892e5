// One SSH connection per inventory host for a whole command: `up` plans, applies and verifies over
// the same connections (a handshake is the costliest step), and every command closes them once.
import { LOCAL, type Cluster } from '../inventory/model.js';
import { connect, type HostConnection } from '../ssh/connection.js';
import { LocalConnection } from '../ssh/local.js';

export class Connections {
  private readonly open = new Map<string, Promise<HostConnection>>();
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
      c.catch(() => this.open.delete(name));
      this.open.set(name, c);
    }
    return c;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const r of await Promise.allSettled(all)) if (r.status === 'fulfilled') r.value.close();
  }
}
