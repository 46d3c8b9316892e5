// The directors' IPVS connection table (/proc/net/ip_vs_conn_sync, the kernel's ip_vs_conn.c):
// which real server IPVS chose for one client address and port. Verify chooses each probe's source
// port itself, so every probe, answered or not, is found here by its own entry; unrelated traffic
// through the same VIP never matches.
//   Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires
//   TCP 0A63010A 4E21 0A630264 0050 0A63020B 0050 TIME_WAIT   Local      118
// IPv4 addresses are 8 hex digits (host order), IPv6 ones %pI6 (eight full groups, the destination
// possibly in [ ]), ports 4 hex digits. Origin (Local, or Sync for entries the sync daemon copied
// from the other director) is only in the _sync view; only Local entries are a director's own.
import { canonicalAddress } from '../identity/address.js';
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

/** The entries of these client ports (hex, as the file writes them) from the _sync view where the
 * kernel has it, with the header: small output whatever the table's size. */
function filter(ports: number[]): Shell {
  const hex = ports.map((p) => p.toString(16).toUpperCase().padStart(4, '0')).join(' ');
  return sh`{ f=/proc/net/ip_vs_conn_sync; [ -r "$f" ] || f=/proc/net/ip_vs_conn; awk -v ports=${hex} 'BEGIN { n = split(ports, p, " "); for (i = 1; i <= n; i++) want[p[i]] = 1 } NR == 1 || ($3 in want)' "$f" 2>/dev/null || :; }`;
}

/** The probes' entries on a director now. */
export const connTableFilter = (ports: number[]): Shell => filter(ports);

// A reset connection's entry lasts 10 s (IPVS's CLOSE state): in a run longer than that, the
// first probes' entries would be gone by the end. A watcher on each director, started before the
// probes, copies their entries every second into a file under /run; the read at the end stops it
// and returns what it saw with the table as it is then.
const watchDir = (id: string) => `/run/lvsctl-verify.${id}`;

/** Starts the watcher (it stops by itself after maxSeconds). `id`: hex digits, unique per run. */
export function connWatchStart(id: string, ports: number[], maxSeconds: number): Shell {
  if (!/^[0-9a-f]{8,32}$/.test(id)) throw new RangeError(`bad watcher id ${id}`);
  const loop = sh`d=${watchDir(id)}; end=$(( $(date +%s) + ${maxSeconds} )); while [ ! -e "$d/stop" ] && [ "$(date +%s)" -lt "$end" ]; do ${filter(ports)} >> "$d/seen"; sleep 1; done; : > "$d/done"`;
  return sh`mkdir -p ${watchDir(id)} && (setsid sh -c ${loop.text} </dev/null >/dev/null 2>&1 &)`;
}

/** Stops the watcher and prints everything it saw, then the entries now. */
export function connWatchRead(id: string, ports: number[]): Shell {
  if (!/^[0-9a-f]{8,32}$/.test(id)) throw new RangeError(`bad watcher id ${id}`);
  return sh`d=${watchDir(id)}; if [ -d "$d" ]; then : > "$d/stop"; i=0; while [ ! -e "$d/done" ] && [ "$i" -lt 30 ]; do sleep 0.1; i=$((i + 1)); done; cat "$d/seen" 2>/dev/null; rm -rf "$d"; fi; ${filter(ports)}`;
}
