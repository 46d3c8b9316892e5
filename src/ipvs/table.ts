// The IPVS table as data: virtual services and their destinations, the way ipvsadm -S -n
// describes them. desired.ts builds one from the inventory, parse.ts from a host's live output,
// format.ts writes one; the engine diffs two of them.
import { addressWords, type Family } from '../identity/address.js';

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
  family: Family;
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
