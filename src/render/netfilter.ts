// The netfilter rules a director needs, as iptables-restore input per address family: MARK rules
// for fwmark services (mangle PREROUTING) and, for NAT with masquerade, MASQUERADE for the real
// servers' own outbound traffic (nat POSTROUTING). IPVS rewrites its replies' source to the VIP
// before POSTROUTING, so they never match the real-server subnet and are not masqueraded twice.
import { network4 } from '../identity/address.js';
import type { Cluster } from '../inventory/model.js';
import { MANAGED_PATHS, NETFILTER_CHAIN } from './paths.js';

export interface NetfilterFile {
  cmd: 'iptables' | 'ip6tables';
  file: string;
  hooks: string[]; // table:chain pairs that jump to NETFILTER_CHAIN
  tables: { name: string; rules: string[] }[];
}

const MULTIPORT_MAX = 15; // xt_multiport takes at most 15 ports per rule

export function netfilterFiles(cluster: Cluster): NetfilterFile[] {
  const out: NetfilterFile[] = [];
  for (const family of [4, 6] as const) {
    const mark: string[] = [];
    for (const s of cluster.services) {
      if (s.fwmark === undefined || s.family !== family) continue;
      const ports = s.ports ?? [];
      for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
        const chunk = ports.slice(i, i + MULTIPORT_MAX);
        const match = chunk.length === 1 ? `--dport ${chunk[0]}` : `-m multiport --dports ${chunk.join(',')}`;
        mark.push(
          `-d ${s.vip.address}/${family === 4 ? 32 : 128} -p ${s.protocol} ${match} -j MARK --set-mark ${s.fwmark}`,
        );
      }
    }
    const dip = cluster.directors.dip;
    const masq =
      family === 4 && cluster.mode === 'nat' && cluster.directors.masquerade && dip
        ? [
            `-s ${network4(dip.address, dip.prefix)}/${dip.prefix} ! -d ${network4(dip.address, dip.prefix)}/${dip.prefix} -j MASQUERADE`,
          ]
        : [];
    const tables = [
      ...(mark.length ? [{ name: 'mangle', hook: 'PREROUTING', rules: mark }] : []),
      ...(masq.length ? [{ name: 'nat', hook: 'POSTROUTING', rules: masq }] : []),
    ];
    if (!tables.length) continue;
    out.push({
      cmd: family === 4 ? 'iptables' : 'ip6tables',
      file: family === 4 ? MANAGED_PATHS.iptablesRules : MANAGED_PATHS.ip6tablesRules,
      hooks: tables.map((t) => `${t.name}:${t.hook}`),
      tables: tables.map(({ name, rules }) => ({ name, rules })),
    });
  }
  return out;
}

export const netfilterChain = NETFILTER_CHAIN;
