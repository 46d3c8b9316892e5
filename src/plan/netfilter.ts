// Is one of lvsctl's chains in one table as it should be? iptables-save prints a rule in its own
// words (`-p tcp -m tcp --dport 80` for `-p tcp --dport 80`, `--set-xmark 0x1/0xffffffff` for
// `--set-mark 1`, IPv6 addresses compressed), so both sides are compared in one normal form: as
// sets where rules never overlap (one mark per service, one MASQUERADE), in order where a RETURN
// must come before the DROPs (the NAT guard).
import { canonicalAddress, familyOf } from '../identity/address.js';
import { NETFILTER_CHAIN } from '../render/paths.js';

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
