// Addresses (VIPs on the director's interface or a real server's lo): owned, by a canonical key.
import type { DesiredAddress } from '../desired/types.js';
import type { AddressFact, HostFacts } from '../facts/parse.js';
import { canonicalIfAddress, sameAddress } from '../identity/address.js';
import { sh } from '../util/quote.js';
import { type CommandResource } from './types.js';

export type AddressChange = { kind: 'address'; action: 'add' | 'del'; addr: DesiredAddress };

// Canonical, so a key an older run recorded with another spelling still names the same address.
export const addressKey = (a: DesiredAddress) =>
  `${canonicalIfAddress(a.address)}/${a.prefix} ${a.dev}${a.label ? ` ${a.label}` : ''}`;
export function parseAddressKey(k: string): DesiredAddress {
  const [cidr, dev, label] = k.split(' ');
  const [address, prefix] = cidr!.split('/');
  return { address: address!, prefix: Number(prefix), dev: dev!, ...(label ? { label } : {}) };
}

export const fmtAddr = (a: DesiredAddress) =>
  `${a.address}/${a.prefix} dev ${a.dev}${a.label ? ` label ${a.label}` : ''}`;

/** The addr section (links.ts prints it): `4: eth0    inet 192.0.2.2/24 brd … scope global secondary eth0:1\ …` */
export function parseAddr(lines: string[]): AddressFact[] {
  const out: AddressFact[] = [];
  for (const l of lines) {
    const m = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)(.*)$/.exec(l);
    if (!m) continue;
    const dev = m[1]!.replace(/@.*$/, '');
    const rest = m[5]!.split('\\')[0]!.trim().split(/\s+/);
    const family = m[2] === 'inet6' ? 6 : 4;
    // For IPv4 the last word is the label when it differs from the device (ip prints it there).
    const last = rest.at(-1);
    const label = family === 4 && last && last !== dev && last.startsWith(dev + ':') ? last : undefined;
    out.push({ dev, family, address: m[3]!, prefix: Number(m[4]), label });
  }
  return out;
}

export const addresses = {
  parse: (get): Pick<HostFacts, 'addresses'> => ({ addresses: parseAddr(get('addr')) }),
  plan({ desired: d, facts: f, old, pre, next, adds, removals, forget }) {
    // Compared in canonical form: an inventory may write fd00:0::1 for what `ip` shows as fd00::1.
    const has = (a: DesiredAddress) =>
      f.addresses.some(
        (x) =>
          sameAddress(x.address, a.address) &&
          x.prefix === a.prefix &&
          x.dev === a.dev &&
          (a.label === undefined || x.label === a.label),
      );
    const wantKeys = new Set(d.addresses.map(addressKey));
    // An address already there the first time lvsctl wants it was the operator's (a cluster taken
    // over): recorded, so `down` leaves it as it was found.
    const found = new Set(old.originals.addresses ?? []);
    for (const a of d.addresses) if (has(a) && !old.owned.addresses.includes(addressKey(a))) found.add(addressKey(a));
    for (const s of [pre, next]) if (found.size) s.originals.addresses = [...found];
    for (const a of d.addresses) if (!has(a)) adds.push({ kind: 'address', action: 'add', addr: a });
    for (const k of old.owned.addresses) {
      const a = parseAddressKey(k);
      if (!wantKeys.has(addressKey(a)) && !(forget && found.has(k)) && has(a))
        removals.push({ kind: 'address', action: 'del', addr: a });
    }
    // `down` puts back what was found and is gone (a `stop` took it away)
    if (forget)
      for (const k of found) {
        const a = parseAddressKey(k);
        if (!wantKeys.has(k) && !has(a)) adds.push({ kind: 'address', action: 'add', addr: a });
      }
    next.owned.addresses = [...wantKeys];
    pre.owned.addresses = [...new Set([...pre.owned.addresses, ...wantKeys])];
  },
  record: (c) => ({
    action: c.action === 'add' ? 'add' : 'delete',
    target: fmtAddr(c.addr),
    from: c.action === 'add' ? null : 'present',
    to: c.action === 'add' ? 'present' : null,
  }),
  describe: (c) => `${c.action === 'add' ? 'add' : 'remove'} address ${fmtAddr(c.addr)}`,
  command(c) {
    const cidr = `${c.addr.address}/${c.addr.prefix}`;
    if (c.action === 'del') return sh`ip addr del ${cidr} dev ${c.addr.dev}`;
    // IPv6 without duplicate address detection, as keepalived adds its VIPs: a tentative VIP would not
    // answer for a second or more after up (and a takeover), and who else holds a VIP is the
    // inventory's and VRRP's question, not DAD's.
    if (c.addr.address.includes(':')) return sh`ip addr add ${cidr} dev ${c.addr.dev} nodad`;
    return c.addr.label
      ? sh`ip addr add ${cidr} dev ${c.addr.dev} label ${c.addr.label}`
      : sh`ip addr add ${cidr} dev ${c.addr.dev}`;
  },
} satisfies CommandResource<AddressChange>;
