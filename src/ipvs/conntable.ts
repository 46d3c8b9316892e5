// The directors' IPVS connection table (/proc/net/ip_vs_conn_sync, the kernel's ip_vs_conn.c):
//   Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
//   TCP 0A63010A 4E21 0A630264 0050 0A63020B 0050 TIME_WAIT   Local      118
// IPv4 addresses are 8 hex digits (host order), IPv6 ones %pI6 (eight full groups, the destination
// possibly in [ ]), ports 4 hex digits. Origin (Local, or Sync for entries the sync daemon copied
// from the other director) is only in the _sync view; only Local entries are a director's own.
// Every entry is there, with its state, synced ones included; ipvsadm's ActiveConn counts only
// ESTABLISHED ones.
import { addressWords, canonicalAddress } from '../identity/address.js';
import { destinationKey } from '../identity/service.js';
import { sh, type Shell } from '../util/quote.js';

export interface ConnEntry {
  protocol: string; // TCP, UDP, SCTP, IP (a fwmark persistence template)
  client: { address: string; port: number };
  virtual: { address: string; port: number };
  /** destinationKey of the real server */
  destination: string;
  state: string;
  /** seconds until the entry expires */
  expires: number;
  /** false for an entry the sync daemon copied from another director */
  local: boolean;
}

function address(field: string): string | undefined {
  const text = field.replace(/^\[(.*)\]$/, '$1');
  if (/^[0-9A-Fa-f]{8}$/.test(text)) {
    const n = parseInt(text, 16);
    return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  }
  try {
    return text.includes(':') ? canonicalAddress(text) : undefined;
  } catch {
    return undefined;
  }
}

const port = (field: string | undefined) =>
  field && /^[0-9A-Fa-f]{1,4}$/.test(field) ? parseInt(field, 16) : undefined;

/** Entries of /proc/net/ip_vs_conn or ip_vs_conn_sync text (header lines and anything unreadable skipped). */
export function parseConnTable(text: string): ConnEntry[] {
  const out: ConnEntry[] = [];
  let hasOrigin = false;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] === 'Pro') {
      hasOrigin = f.includes('Origin');
      continue;
    }
    if (f.length < 9) continue;
    const [protocol, from, fport, to, tport, dest, dport, state] = f;
    const expires = Number(f[hasOrigin ? 9 : 8]);
    const client = address(from!);
    const vip = address(to!);
    const real = address(dest!);
    const [cp, vp, dp] = [port(fport), port(tport), port(dport)];
    if (!client || !vip || !real || cp === undefined || vp === undefined || dp === undefined) continue;
    out.push({
      protocol: protocol!,
      client: { address: client, port: cp },
      virtual: { address: vip, port: vp },
      destination: destinationKey({ address: real, port: dp }),
      state: state!,
      expires: Number.isFinite(expires) ? expires : 0,
      local: !hasOrigin || f[8]!.toLowerCase() === 'local',
    });
  }
  return out;
}

/** The view with Origin where the kernel has it, else the plain one: "$f" in the commands below. */
export const CONN_FILE = sh`f=/proc/net/ip_vs_conn_sync; [ -r "$f" ] || f=/proc/net/ip_vs_conn;`;

/** How the file writes an address in the DestIP column (brackets stripped). */
export function connField(addr: string): string {
  const a = canonicalAddress(addr);
  if (!a.includes(':'))
    return a
      .split('.')
      .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
      .join('');
  return addressWords(a)
    .flatMap((w) => [w >>> 16, w & 0xffff])
    .map((g) => g.toString(16).padStart(4, '0'))
    .join(':');
}

/** The TCP states of a connection that still carries data. NAT sees both directions: FIN_WAIT is a
 * real server that closed while the client still reads what it sent (measured: a rate-limited
 * download's last 2 s), CLOSE_WAIT a client that closed while the server still sends. DR and TUN see
 * only the client's packets: there FIN_WAIT is a client that closed, lingering until the tcpfin
 * timeout, so only ESTABLISHED counts. */
export const liveStates = (mode: 'nat' | 'dr' | 'tun'): string[] =>
  mode === 'nat' ? ['ESTABLISHED', 'SYN_RECV', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK'] : ['ESTABLISHED'];

/** Live connections (TCP, in one of `states`) to these real server addresses, counted on the host by
 * protocol, VIP, virtual port and destination: a line each, whatever the table's size, with the
 * longest time any of them has left (Expires, the last column in either view). */
export function establishedTo(addresses: string[], states: string[] = ['ESTABLISHED']): Shell {
  const want = [...new Set(addresses.map(connField))].join(' ');
  return sh`{ ${CONN_FILE} awk -v want=${want} -v states=${states.join(' ')} 'BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) d[w[i]] = 1; n = split(states, t, " "); for (i = 1; i <= n; i++) live[t[i]] = 1 } { a = $6; gsub(/[][]/, "", a) } ($8 in live) && (a in d) { k = $1 " " $4 " " $5 " " $6 " " $7; c[k]++; if ($NF + 0 > x[k]) x[k] = $NF + 0 } END { for (k in c) print "@@est", k, c[k], x[k] + 0 }' "$f" 2>/dev/null || :; }`;
}

export interface EstablishedCount {
  protocol: string;
  virtual: { address: string; port: number };
  destination: string;
  count: number;
  /** seconds until the last of these entries expires if no packet refreshes it */
  expiresWithin: number;
}

/** The lines establishedTo prints. */
export function parseEstablished(text: string): EstablishedCount[] {
  const out: EstablishedCount[] = [];
  for (const line of text.split('\n')) {
    const [tag, protocol, to, tport, dest, dport, n, x] = line.trim().split(/\s+/);
    if (tag !== '@@est') continue;
    const [vip, real, vp, dp, count] = [address(to ?? ''), address(dest ?? ''), port(tport), port(dport), Number(n)];
    if (!vip || !real || vp === undefined || dp === undefined || !Number.isInteger(count)) continue;
    out.push({
      protocol: protocol!,
      virtual: { address: vip, port: vp },
      destination: destinationKey({ address: real, port: dp }),
      count,
      expiresWithin: Number(x) || 0,
    });
  }
  return out;
}
