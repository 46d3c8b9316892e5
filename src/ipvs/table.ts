// The IPVS table as data: virtual services and their destinations, the way ipvsadm -S -n
// describes them. desired.ts builds one from the inventory, parse.ts from a host's live output,
// format.ts writes one; the engine diffs two of them.
import { addressWords } from './address.js';

export type IpvsProtocol = 'tcp' | 'udp' | 'sctp';
/** -m, -g, -i: masquerading (NAT), gatewaying (DR), ipip tunnelling (TUN). */
export type Forward = 'masq' | 'route' | 'tunnel';

export interface TunnelSpec {
  type: 'ipip' | 'gue' | 'gre';
  port?: number; // GUE only
  csum?: 'nocsum' | 'csum' | 'remcsum'; // GUE and GRE
}

export interface IpvsDestination {
  address: string; // canonical (IPv6 without brackets)
  port: number; // 0 for fwmark services without a port
  forward: Forward;
  weight: number;
  /** -x/-y. ipvsadm -S never prints them (1.31 print_service_entry); read them with -Ln --thresholds. */
  upperThreshold?: number;
  lowerThreshold?: number;
  tunnel?: TunnelSpec; // only with forward 'tunnel'
}

interface ServiceBase {
  family: 4 | 6;
  scheduler: string;
  /** -b flags, in the order ipvsadm prints them (print_sched_flags). */
  schedFlags: string[];
  persistence?: { timeout: number; netmask?: string | number }; // netmask: IPv4 dotted or IPv6 prefix length
  pe?: string; // --pe (persistence engine, e.g. sip)
  ops: boolean; // -o one-packet scheduling
  destinations: IpvsDestination[];
}

export interface AddressService extends ServiceBase {
  protocol: IpvsProtocol;
  address: string; // canonical
  port: number;
}

export interface FwmarkService extends ServiceBase {
  protocol: 'fwmark';
  fwmark: number;
}

export type IpvsService = AddressService | FwmarkService;

export interface IpvsTable {
  services: IpvsService[];
}

/** A service's identity, as ipvsadm names it: "tcp 10.0.0.1:80", "udp [fd00::1]:53", "fwmark 1", "fwmark 1 ipv6". */
export function serviceKey(s: IpvsService): string {
  if (s.protocol === 'fwmark') return `fwmark ${s.fwmark}${s.family === 6 ? ' ipv6' : ''}`;
  return `${s.protocol} ${s.family === 6 ? `[${s.address}]` : s.address}:${s.port}`;
}

export const destinationKey = (d: IpvsDestination): string =>
  d.address.includes(':') ? `[${d.address}]:${d.port}` : `${d.address}:${d.port}`;

// libipvs compares with C int subtraction of unsigned values (ipvs_cmp_services/ipvs_cmp_dests);
// reproduce the wrap-around so the order matches what ipvsadm -S prints.
const csub = (a: number, b: number) => (a - b) | 0;
const AF = { 4: 2, 6: 10 } as const; // AF_INET, AF_INET6
const PROTO = { tcp: 6, udp: 17, sctp: 132, fwmark: 0 } as const;

function cmpAddr(a: string, b: string): number {
  const wa = addressWords(a);
  const wb = addressWords(b);
  let r = 0;
  for (let i = 0; r === 0 && i < wa.length; i++) r = csub(wa[i]!, wb[i]!);
  return r;
}

export function compareServices(a: IpvsService, b: IpvsService): number {
  const fa = a.protocol === 'fwmark' ? a.fwmark : 0;
  const fb = b.protocol === 'fwmark' ? b.fwmark : 0;
  return (
    csub(fa, fb) ||
    AF[a.family] - AF[b.family] ||
    PROTO[a.protocol] - PROTO[b.protocol] ||
    (a.protocol !== 'fwmark' && b.protocol !== 'fwmark' ? cmpAddr(a.address, b.address) || a.port - b.port : 0)
  );
}

export const compareDestinations = (a: IpvsDestination, b: IpvsDestination): number =>
  cmpAddr(a.address, b.address) || a.port - b.port;

/** The table in ipvsadm's listing order (it sorts unless --nosort). */
export function sortTable(t: IpvsTable): IpvsTable {
  return {
    services: [...t.services]
      .sort(compareServices)
      .map((s) => ({ ...s, destinations: [...s.destinations].sort(compareDestinations) })),
  };
}
