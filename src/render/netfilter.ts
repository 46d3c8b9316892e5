// The netfilter rules a director needs, as iptables-restore input per address family:
// - mangle PREROUTING, chain LVSCTL: MARK rules for fwmark services;
// - nat POSTROUTING, chain LVSCTL: NAT with masquerade, MASQUERADE for the real servers' own
//   outbound traffic. IPVS rewrites its replies' source to the VIP before POSTROUTING, so they never
//   match the real-server subnet and are not masqueraded twice;
// - mangle POSTROUTING, chain LVSCTL-GUARD (NAT): drop a real server's service reply that IPVS did
//   not translate. A director without the connection's entry (the old MASTER right after a VRRP
//   move, or an entry that timed out) would route it on with the real server's address, and the
//   client answers that with a RST that kills the connection on the real server. Measured in the lab
//   (keepalived stop on the MASTER during a download): the old MASTER sent `RIP.80 > client` and the
//   download broke in 3 of 4 runs.
// - mangle OUTPUT, chain LVSCTL-NORESET (NAT, keepalived's services): drop a TCP reset the director itself would send from a
//   VIP's service port. IPVS unhooks itself from netfilter when its last service goes (kernel 5.2+),
//   and keepalived's checker process removes the services on `keepalived stop` before its VRRP
//   process releases the VIP: a client's packet in that gap reached the director's own TCP stack,
//   which reset the connection that the BACKUP was taking over (lab, 2026-12-04: 1 download of 14
//   broke so, under load, the reset sent from the old MASTER's MAC). Dropped, the client retransmits
//   to the new holder. Only the director's own resets: a real server's, forwarded, never pass OUTPUT.
import { network4 } from '../identity/address.js';
import type { Cluster, ResolvedService } from '../inventory/model.js';
import { GUARD_CHAIN, MANAGED_PATHS, NETFILTER_CHAIN, NO_RESET_CHAIN } from './paths.js';

/** One chain lvsctl owns: its table, the built-in chain (hook) that jumps to it, its rules in order. */
export interface NetfilterChain {
  table: string; // mangle, nat
  hook: string; // PREROUTING, POSTROUTING
  chain: string;
  rules: string[];
  /** The rules' order matters (the guard's RETURNs come before its DROPs). */
  ordered: boolean;
}

/** A jump into one of lvsctl's chains: what stop and `down` remove. */
export type NetfilterJump = Pick<NetfilterChain, 'table' | 'hook' | 'chain'>;

export interface NetfilterFile {
  cmd: 'iptables' | 'ip6tables';
  file: string;
  chains: NetfilterChain[];
}

const MULTIPORT_MAX = 15; // xt_multiport takes at most 15 ports per rule

/** `--dport 80` or `-m multiport --dports 80,443` rules, chunked to multiport's limit. */
function portMatches(ports: ReadonlyArray<number>, dir: 'd' | 's'): string[] {
  const out: string[] = [];
  for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
    const chunk = ports.slice(i, i + MULTIPORT_MAX);
    out.push(chunk.length === 1 ? `--${dir}port ${chunk[0]}` : `-m multiport --${dir}ports ${chunk.join(',')}`);
  }
  return out;
}

const hostPrefix = (family: 4 | 6) => (family === 4 ? 32 : 128);

function markRules(services: ReadonlyArray<ResolvedService>, family: 4 | 6): string[] {
  return services.flatMap((s) =>
    s.fwmark === undefined || s.family !== family
      ? []
      : portMatches(s.ports ?? [], 'd').map(
          (m) => `-d ${s.vip.address}/${hostPrefix(family)} -p ${s.protocol} ${m} -j MARK --set-mark ${s.fwmark}`,
        ),
  );
}

/** The guard: IPVS's own packets (untracked, or tracked as replies when net.ipv4.vs.conntrack=1) and
 * replies to connections someone opened to a real server leave at once; what is left from a real
 * server's service port started on the real server, which a service reply never does (its own
 * outbound connections, masqueraded, leave from ephemeral ports). */
function guardRules(c: Cluster, family: 4 | 6): string[] {
  const sources = new Set<string>();
  for (const s of c.services) {
    if (s.family !== family) continue;
    const servers = [...s.realServers, ...(s.sorryServer ? [s.sorryServer] : [])];
    for (const r of servers) {
      const ports = s.fwmark !== undefined ? (s.ports ?? []) : [r.port ?? s.port!];
      for (const m of portMatches(ports, 's'))
        sources.add(`-s ${r.address}/${hostPrefix(family)} -p ${s.protocol} ${m}`);
    }
  }
  if (!sources.size) return [];
  return [
    '-m conntrack --ctstate UNTRACKED -j RETURN',
    '-m conntrack --ctdir REPLY -j RETURN',
    ...[...sources].map((m) => `${m} -j DROP`),
  ];
}

/** The no-reset rules: each keepalived-owned TCP service's VIP and ports (lvsctl's own stop orders
 * the VIPs and the rules itself). NAT only for now: there the guard already needs iptables on the
 * directors; DR and TUN directors without fwmark services do not. */
function noResetRules(c: Cluster, family: 4 | 6): string[] {
  if (c.mode !== 'nat') return [];
  const out = new Set<string>();
  for (const s of c.services) {
    if (s.family !== family || s.protocol !== 'tcp' || s.engine !== 'keepalived') continue;
    const ports = s.fwmark !== undefined ? (s.ports ?? []) : [s.port!];
    for (const m of portMatches(ports, 's'))
      out.add(`-s ${s.vip.address}/${hostPrefix(family)} -p tcp ${m} --tcp-flags RST RST -j DROP`);
  }
  return [...out];
}

export function netfilterFiles(cluster: Cluster): NetfilterFile[] {
  const out: NetfilterFile[] = [];
  const nat = cluster.mode === 'nat';
  for (const family of [4, 6] as const) {
    const dip = cluster.directors.dip;
    const net = dip && `${network4(dip.address, dip.prefix)}/${dip.prefix}`;
    const masq =
      family === 4 && nat && cluster.directors.masquerade && net ? [`-s ${net} ! -d ${net} -j MASQUERADE`] : [];
    const chains: NetfilterChain[] = [
      {
        table: 'mangle',
        hook: 'PREROUTING',
        chain: NETFILTER_CHAIN,
        rules: markRules(cluster.services, family),
        ordered: false,
      },
      {
        table: 'mangle',
        hook: 'POSTROUTING',
        chain: GUARD_CHAIN,
        rules: nat ? guardRules(cluster, family) : [],
        ordered: true,
      },
      { table: 'mangle', hook: 'OUTPUT', chain: NO_RESET_CHAIN, rules: noResetRules(cluster, family), ordered: false },
      { table: 'nat', hook: 'POSTROUTING', chain: NETFILTER_CHAIN, rules: masq, ordered: false },
    ];
    const used = chains.filter((ch) => ch.rules.length);
    if (!used.length) continue;
    out.push({
      cmd: family === 4 ? 'iptables' : 'ip6tables',
      file: family === 4 ? MANAGED_PATHS.iptablesRules : MANAGED_PATHS.ip6tablesRules,
      chains: used,
    });
  }
  return out;
}

/** The built-in chain that jumps to one of lvsctl's chains in a table (for a chain whose jump is gone). */
const HOME_HOOK: Record<string, string> = { [GUARD_CHAIN]: 'POSTROUTING', [NO_RESET_CHAIN]: 'OUTPUT' };
export const homeHook = (table: string, chain: string): string =>
  HOME_HOOK[chain] ?? (table === 'nat' ? 'POSTROUTING' : 'PREROUTING');

/** `table:HOOK:CHAIN`, the words the director script and the apply commands take a jump by. */
export const jumpKey = (c: NetfilterJump) => `${c.table}:${c.hook}:${c.chain}`;

/** The tables of a file, each with its chains, in the order iptables-restore input wants them. */
export function restoreTables(f: NetfilterFile): { name: string; chains: NetfilterChain[] }[] {
  const names = [...new Set(f.chains.map((c) => c.table))];
  return names.map((name) => ({ name, chains: f.chains.filter((c) => c.table === name) }));
}
