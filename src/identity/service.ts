// The names of endpoints and virtual services, in the one form ipvsadm prints them: every place that
// matches an inventory service or real server against a host's table, a connection or a counter
// builds its key here, from canonical addresses, so two spellings of one IPv6 address match.
import { canonicalAddress, familyOf, type Family } from './address.js';

/** "addr:port" or "[addr6]:port", the address canonical (as ipvsadm -Ln and /proc/net/ip_vs print). */
export const hostPort = (addr: string, port: number): string =>
  familyOf(addr) === 6 ? `[${canonicalAddress(addr)}]:${port}` : `${canonicalAddress(addr)}:${port}`;

/** The host part of a URL: the canonical address, in [ ] for IPv6. */
export const urlHost = (addr: string): string =>
  familyOf(addr) === 6 ? `[${canonicalAddress(addr)}]` : canonicalAddress(addr);

/** "addr:port" or "[addr6]:port" back to its parts (canonical address); undefined when it is not one. */
export function parseHostPort(text: string): { address: string; port: number; family: Family } | undefined {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([0-9.]+):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) return undefined;
  try {
    return { address: canonicalAddress(m[1]!), port: Number(m[2]), family: familyOf(m[1]!) };
  } catch {
    return undefined;
  }
}

/** A virtual service's identity: protocol, address family, and address and port or firewall mark. */
export type ServiceIdentity =
  | { protocol: 'tcp' | 'udp' | 'sctp'; family: Family; address: string; port: number }
  | { protocol: 'fwmark'; family: Family; fwmark: number };

/** The service's key, as ipvsadm names it: "tcp 10.0.0.1:80", "udp [fd00::1]:53", "fwmark 1",
 * "fwmark 1 ipv6" (a mark may have an IPv4 and an IPv6 service). */
export function serviceKey(s: ServiceIdentity): string {
  if (s.protocol === 'fwmark') return `fwmark ${s.fwmark}${s.family === 6 ? ' ipv6' : ''}`;
  return `${s.protocol} ${hostPort(s.address, s.port)}`;
}

/** A destination's (real server's) key within a service: its address:port. */
export const destinationKey = (d: { address: string; port: number }): string => hostPort(d.address, d.port);

/** The ipvsadm words that name the service: -t ADDR:PORT, -u …, --sctp-service …, -f MARK [-6]. */
export function serviceArgs(s: ServiceIdentity): string[] {
  switch (s.protocol) {
    case 'fwmark':
      return s.family === 6 ? ['-f', String(s.fwmark), '-6'] : ['-f', String(s.fwmark)];
    case 'tcp':
      return ['-t', hostPort(s.address, s.port)];
    case 'udp':
      return ['-u', hostPort(s.address, s.port)];
    case 'sctp':
      return ['--sctp-service', hostPort(s.address, s.port)];
  }
}
