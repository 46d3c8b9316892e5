// Netfilter: lvsctl's own chains, loaded from the rules files a director has (render/netfilter.ts),
// each compared rule by rule in one normal form; a changed rules file reloads them anyway. A chain of
// lvsctl's that is no longer wanted is removed with its jumps.
//
// iptables-save prints a rule in its own words (`-p tcp -m tcp --dport 80` for `-p tcp --dport 80`,
// `--set-xmark 0x1/0xffffffff` for `--set-mark 1`, IPv6 addresses compressed), so both sides are
// compared in one normal form: as sets where rules never overlap (one mark per service, one
// MASQUERADE), in order where a RETURN must come before the DROPs (the NAT guard).
import type { HostFacts } from '../facts/parse.js';
import { canonicalAddress, familyOf } from '../identity/address.js';
import { homeHook, type NetfilterChain, type NetfilterJump } from '../render/netfilter.js';
import { NETFILTER_CHAIN } from '../render/paths.js';
import { plural } from '../util/plural.js';
import { sh, Shell } from '../util/quote.js';
import { fragment, type CommandResource } from './types.js';

export type NetfilterChange =
  | {
      kind: 'netfilter';
      action: 'apply';
      cmd: 'iptables' | 'ip6tables';
      file: string;
      chains: NetfilterChain[];
    }
  | { kind: 'netfilter'; action: 'remove'; cmd: 'iptables' | 'ip6tables'; chains: NetfilterJump[] };

export const netfilterFacts = fragment(
  ['iptables'],
  String.raw`s iptables
p=; if { [ -n "$DIRECTOR" ] || recorded iptables; } && command -v iptables-save >/dev/null 2>&1; then { iptables-save 2>/dev/null; echo '@@6'; ip6tables-save 2>/dev/null; } | while IFS= read -r l; do
  case $l in '@@6') p='6 ' ;; '*'* | *LVSCTL*) echo "$p$l" ;; esac
done; fi
`,
);

const IMPLIED_MATCH = new Set(['tcp', 'udp', 'sctp', 'udplite']);

/** One rule (with or without its `-A CHAIN`) in the normal form. */
export function normalRule(rule: string): string {
  const t = rule.trim().split(/\s+/);
  if (t[0] === '-A') t.splice(0, 2);
  const out: string[] = [];
  for (let i = 0; i < t.length; i++) {
    const w = t[i]!;
    const next = t[i + 1];
    if (w === '-m' && next && IMPLIED_MATCH.has(next)) {
      i++;
      continue;
    }
    if ((w === '--set-xmark' || w === '--set-mark') && next) {
      const [value, mask] = next.split('/');
      const full = mask === undefined || Number(mask) === 0xffffffff;
      out.push(full ? '--set-mark' : '--set-xmark', full ? String(Number(value)) : `${Number(value)}/${Number(mask)}`);
      i++;
      continue;
    }
    if ((w === '-s' || w === '-d') && next) {
      const [addr, prefix] = next.split('/');
      out.push(w, `${canonicalAddress(addr!)}/${prefix ?? (familyOf(addr!) === 6 ? 128 : 32)}`);
      i++;
      continue;
    }
    out.push(w);
  }
  return out.join(' ');
}

/** Does the live table (its iptables-save lines) differ from the wanted rules of `chain`, or lack
 * the jump from `hook`? */
export function chainDrift(
  want: ReadonlyArray<string>,
  live: ReadonlyArray<string>,
  hook: string,
  chain = NETFILTER_CHAIN,
  ordered = false,
): boolean {
  const norm = (rules: ReadonlyArray<string>) => {
    const n = rules.map(normalRule);
    return (ordered ? n : n.sort()).join('\n');
  };
  const liveRules = live.filter((l) => l.startsWith(`-A ${chain} `));
  const jumps = live.some((l) => l.startsWith(`-A ${hook} `) && l.endsWith(`-j ${chain}`));
  return !jumps || norm(liveRules) !== norm(want);
}

/** lvsctl's chains in one table's iptables-save lines (every name that starts with NETFILTER_CHAIN),
 * each with the built-in chain that jumps to it (`fallback` when no jump is left). */
export function liveChains(
  live: ReadonlyArray<string>,
  fallback: (chain: string) => string,
): { hook: string; chain: string }[] {
  const names = live.flatMap((l) => {
    const m = /^:(\S+) /.exec(l);
    return m && (m[1] === NETFILTER_CHAIN || m[1]!.startsWith(`${NETFILTER_CHAIN}-`)) ? [m[1]!] : [];
  });
  return names.map((chain) => ({
    chain,
    hook: live.flatMap((l) => (l.endsWith(` -j ${chain}`) ? [l.split(' ')[1]!] : []))[0] ?? fallback(chain),
  }));
}

const jumpWords = (jumps: ReadonlyArray<NetfilterJump>) =>
  jumps.map((j) => `${j.table} ${j.hook} -> ${j.chain}`).join(', ');

export const netfilter = {
  parse(get): Pick<HostFacts, 'netfilter'> {
    const netfilter: HostFacts['netfilter'] = { iptables: {}, ip6tables: {} };
    let table = '';
    for (const raw of get('iptables')) {
      const cmd = raw.startsWith('6 ') ? 'ip6tables' : 'iptables';
      const l = cmd === 'ip6tables' ? raw.slice(2) : raw;
      if (l.startsWith('*')) table = l.slice(1);
      else if (table) (netfilter[cmd][table] ??= []).push(l);
    }
    return { netfilter };
  },
  plan({ netfilter: wanted, facts: f, changedFiles, adds, removals }) {
    for (const cmd of ['iptables', 'ip6tables'] as const) {
      const want = wanted?.find((n) => n.cmd === cmd);
      const live = f.netfilter[cmd];
      if (want) {
        const drift = want.chains.some((ch) =>
          chainDrift(ch.rules, live[ch.table] ?? [], ch.hook, ch.chain, ch.ordered),
        );
        if (drift || changedFiles.has(want.file))
          adds.push({
            kind: 'netfilter',
            action: 'apply',
            cmd,
            file: want.file,
            chains: want.chains,
          });
      }
      const stale = Object.entries(live).flatMap(([table, lines]) =>
        liveChains(lines, (chain) => homeHook(table, chain))
          .filter((l) => !want?.chains.some((w) => w.table === table && w.chain === l.chain))
          .map((l) => ({ table, ...l })),
      );
      if (stale.length) removals.push({ kind: 'netfilter', action: 'remove', cmd, chains: stale });
    }
  },
  record: (c) => ({
    action: c.action,
    target: `${c.cmd} ${c.chains.map((ch) => `${ch.table}/${ch.chain}`).join(' ')}`,
    from: c.action === 'remove' ? 'loaded' : null,
    to: c.action === 'apply' ? 'loaded' : null,
  }),
  describe: (c) =>
    c.action === 'apply'
      ? `${c.cmd}: load ${c.file} (${plural(c.chains.flatMap((ch) => ch.rules).length, 'rule')}; ${jumpWords(c.chains)})`
      : `${c.cmd}: remove chains and their jumps ${jumpWords(c.chains)}`,
  diff: (c) =>
    c.action === 'apply' ? c.chains.flatMap((ch) => ch.rules.map((l) => `+ -A ${ch.chain} ${l}`)).join('\n') : '',
  command(c, host) {
    const jumps = c.chains.map(({ table, hook, chain }) =>
      c.action === 'apply'
        ? sh`${c.cmd} -t ${table} -C ${hook} -j ${chain} 2>/dev/null || ${c.cmd} -t ${table} -I ${hook} -j ${chain}`
        : sh`while ${c.cmd} -t ${table} -D ${hook} -j ${chain} 2>/dev/null; do :; done; ${c.cmd} -t ${table} -F ${chain} 2>/dev/null; ${c.cmd} -t ${table} -X ${chain} 2>/dev/null; :`,
    );
    // Applying must fail as a whole when any part fails; removing goes as far as it can.
    const parts = c.action === 'apply' ? [host.family.firewall.load(c.cmd, c.file), ...jumps] : jumps;
    return new Shell(parts.map((p) => `{ ${p.text}; }`).join(c.action === 'apply' ? ' && ' : '; '));
  },
} satisfies CommandResource<NetfilterChange>;
