// What `lvsctl import` reads on a running host, changing nothing: the facts every command reads
// (addresses, sysctls, IPVS with thresholds, keepalived), and what only import needs: the host's
// name, the whole mangle table (the operator's fwmark rules), the sync daemon, keepalived.conf and
// the boot-time scripts that program IPVS behind lvsctl's back.
import type { HostFacts } from '../facts/parse.js';
import { parseFacts } from '../facts/parse.js';
import { factsScript } from '../facts/script.js';
import type { BootScript } from '../resources/boot-scripts.js';
import { lines, sh, type Shell } from '../util/quote.js';

export const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
const MARK = '@@import ';

export interface ImportFacts {
  facts: HostFacts;
  hostname: string;
  /** iptables-save -t mangle, IPv4 then IPv6 (each rule line as printed). */
  mangle: { 4: string[]; 6: string[] };
  /** iptables-save -t nat rules (IPv4): the operator's MASQUERADE. */
  nat: string[];
  /** `ipvsadm -Ln --daemon` lines ("master sync daemon (mcast=eth1, syncid=1)"). */
  syncDaemons: string[];
  keepalivedConf: string | null;
  /** Boot-time scripts that program IPVS (resources/boot-scripts.ts). */
  bootFighters: BootScript[];
}

const EXTRA = String.raw`
m() { printf '\n${MARK}%s\n' "$1"; }
m hostname; hostname 2>/dev/null || cat /proc/sys/kernel/hostname
m mangle4; iptables-save -t mangle 2>/dev/null | grep '^-A' || :
m mangle6; ip6tables-save -t mangle 2>/dev/null | grep '^-A' || :
m nat4; iptables-save -t nat 2>/dev/null | grep '^-A' || :
m daemon; [ -e /proc/net/ip_vs ] && command -v ipvsadm >/dev/null 2>&1 && ipvsadm -Ln --daemon 2>/dev/null || :
m keepalived; [ -r ${KEEPALIVED_CONF} ] && base64 -w0 ${KEEPALIVED_CONF}; echo
`;

export function importScript(): Shell {
  return lines([
    factsScript({ packages: ['ipvsadm', 'keepalived'], files: [], thresholds: true, bootScan: true, director: true }),
    sh`sh -c ${EXTRA}`,
  ]);
}

export function parseImportFacts(out: string): ImportFacts {
  const at = out.indexOf(`\n${MARK}`);
  if (at < 0) throw new Error('the import script did not finish');
  const sections = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const l of out.slice(at + 1).split('\n')) {
    if (l.startsWith(MARK)) sections.set(l.slice(MARK.length).trim(), (cur = []));
    else if (cur && l !== '') cur.push(l);
  }
  const get = (k: string) => sections.get(k) ?? [];
  const conf = get('keepalived')[0];
  const facts = parseFacts(out.slice(0, at));
  return {
    facts,
    hostname: (get('hostname')[0] ?? '').trim(),
    mangle: { 4: get('mangle4'), 6: get('mangle6') },
    nat: get('nat4'),
    syncDaemons: get('daemon').filter((l) => /sync daemon/.test(l)),
    keepalivedConf: conf ? Buffer.from(conf, 'base64').toString('utf8') : null,
    bootFighters: facts.bootScripts ?? [],
  };
}
