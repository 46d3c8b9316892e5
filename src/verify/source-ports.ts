// The client source ports verify's probes bind (probe.ts's range, 20000-32767): a window of them
// that no socket of the client holds. A port taken on the client (a listener such as an SSH port
// forward, another program's connection, a probe of an earlier run in TIME_WAIT) cannot be bound: a
// probe on it fails before it reaches the VIP, and the cluster would be blamed for the client.
import type { HostConnection } from '../ssh/connection.js';
import { sh, type Shell } from '../util/quote.js';
import { PORT_HIGH, PORT_LOW, randomFirstPort } from './probe.js';

const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');

/** The client's local TCP and UDP ports in the range, IPv4 and IPv6, every state, one per line
 * (hex, as /proc writes them). Fixed-width upper-case hex compares as strings in awk. A client
 * without /proc prints nothing: then no port is known to be taken. */
export const busyPortsCommand = (): Shell =>
  sh`cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null | awk -v lo=${hex4(PORT_LOW)} -v hi=${hex4(PORT_HIGH)} '$1 != "sl" { p = substr($2, index($2, ":") + 1); if (length(p) == 4 && p >= lo && p <= hi && !seen[p]++) print p }'`;

export function parseBusyPorts(out: string): Set<number> {
  const ports = new Set<number>();
  for (const line of out.split('\n')) {
    const p = /^[0-9A-F]{4}$/.test(line) ? parseInt(line, 16) : NaN;
    if (p >= PORT_LOW && p <= PORT_HIGH) ports.add(p);
  }
  return ports;
}

const SPAN = PORT_HIGH - PORT_LOW + 1;

/** The first port of a window of `size` ports (wrapping within the range, starting at an even
 * offset as probe.ts's runs do) holding none of `busy`: the first such window from `start` on, else
 * the one holding the fewest. Pure. */
export function freeWindow(busy: ReadonlySet<number>, size: number, start: number = randomFirstPort()): number {
  const first = PORT_LOW + ((start - PORT_LOW) & ~1);
  if (!busy.size || size >= SPAN) return first;
  // taken[i]: busy ports among offsets [0, i) of the range laid out twice (for the wrap).
  const taken = new Int32Array(2 * SPAN + 1);
  for (let i = 0; i < 2 * SPAN; i++) taken[i + 1] = taken[i]! + (busy.has(PORT_LOW + (i % SPAN)) ? 1 : 0);
  let best = first;
  let fewest = Infinity;
  for (let k = 0; k < SPAN; k += 2) {
    const off = (first - PORT_LOW + k) % SPAN;
    const n = taken[off + size]! - taken[off]!;
    if (n === 0) return PORT_LOW + off;
    if (n < fewest) [best, fewest] = [PORT_LOW + off, n];
  }
  return best;
}

/** One client's source ports for a verify run: what it holds when the run starts, plus every window
 * this run has handed out (those probes' connections linger in TIME_WAIT on it). */
export class SourcePorts {
  constructor(
    private readonly busy: Set<number> = new Set(),
    private readonly start: () => number = randomFirstPort,
  ) {}

  /** One read of the client's sockets. */
  static async of(client: HostConnection, start?: () => number): Promise<SourcePorts> {
    return new SourcePorts(parseBusyPorts((await client.exec(busyPortsCommand())).stdout), start);
  }

  /** The first port of a free window of `size` ports, taken from now on. */
  take(size: number): number {
    const first = freeWindow(this.busy, size, this.start());
    for (let i = 0; i < size; i++) this.busy.add(PORT_LOW + ((first - PORT_LOW + i) % SPAN));
    return first;
  }
}
