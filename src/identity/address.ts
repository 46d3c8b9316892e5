// Addresses in one form: IPv4 dotted quads, IPv6 exactly as glibc's inet_ntop(3) prints it (the
// form ipvsadm, iproute2 and the kernel's /proc files use), so that two spellings of one address are
// one string. Also the 32-bit words ipvsadm's sort compares, and IPv4 subnet arithmetic.

export type Family = 4 | 6;

// isIP, isIPv4 and isIPv6 accept exactly what node:net's accept (test/unit/address.test.ts compares
// them on a corpus). node:net's IPv6 regular expression costs 11 ms to compile on its first use, 7%
// of `lvsctl validate`'s whole run, and loading node:net 4 ms more.
const V4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
const ZONE = /^[0-9a-zA-Z.:-]+$/;

export const isIPv4 = (text: string): boolean => V4.test(text);

export function isIPv6(text: string): boolean {
  const pct = text.indexOf('%');
  if (pct >= 0 && !ZONE.test(text.slice(pct + 1))) return false;
  let a = pct >= 0 ? text.slice(0, pct) : text;
  const last = a.lastIndexOf(':');
  if (last < 0) return false;
  // an embedded IPv4 address counts as two groups
  if (a.includes('.', last)) {
    if (!isIPv4(a.slice(last + 1))) return false;
    a = `${a.slice(0, last + 1)}0:0`;
  }
  const gap = a.indexOf('::');
  if (gap < 0) {
    const g = a.split(':');
    return g.length === 8 && g.every((x) => HEX_GROUP.test(x));
  }
  if (a.includes('::', gap + 1)) return false;
  const head = a.slice(0, gap);
  const tail = a.slice(gap + 2);
  const g = [...(head ? head.split(':') : []), ...(tail ? tail.split(':') : [])];
  return g.length <= 7 && g.every((x) => HEX_GROUP.test(x));
}

/** 4, 6, or 0 when the text is not an address (as node:net's isIP). */
export function isIP(text: string): 0 | Family {
  if (isIPv4(text)) return 4;
  return isIPv6(text) ? 6 : 0;
}

/** The eight 16-bit groups of an IPv6 address (accepts "::", embedded IPv4, any case). */
function groups6(addr: string): number[] {
  let text = addr.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    text = text.slice(0, v4.index) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => parseInt(g, 16));
}

/** IPv6 text exactly as glibc's inet_ntop prints it (RFC 5952 rules, plus its IPv4 forms). */
export function canonical6(addr: string): string {
  const g = groups6(addr);
  let best = { base: -1, len: 0 };
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > best.len) best = { base: i, len: j - i };
    i = j;
  }
  if (best.len < 2) best = { base: -1, len: 0 };
  // glibc keeps the dotted tail for ::a.b.c.d and ::ffff:a.b.c.d
  if (best.base === 0 && (best.len === 6 || (best.len === 5 && g[5] === 0xffff))) {
    const v4 = `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
    return best.len === 6 ? `::${v4}` : `::ffff:${v4}`;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best.base) {
      out += i === 0 ? '::' : ':';
      i += best.len - 1;
      continue;
    }
    out += g[i]!.toString(16) + (i < 7 ? ':' : '');
  }
  return out;
}

/** An address in the form ipvsadm prints (IPv4 unchanged, IPv6 canonical, no brackets). */
export function canonicalAddress(addr: string): string {
  if (isIPv4(addr)) return addr;
  if (isIPv6(addr)) return canonical6(addr);
  throw new Error(`not an IP address: ${addr}`);
}

/** Canonical when the text is an address, else the text unchanged (keys read back from a host's files). */
export const canonicalIfAddress = (text: string): string => (isIP(text) ? canonicalAddress(text) : text);

/** The address as 32-bit host-order words, the way libipvs compares them. */
export function addressWords(addr: string): number[] {
  if (isIPv4(addr)) return [addr.split('.').reduce((a, o) => a * 256 + Number(o), 0)];
  const g = groups6(addr);
  return [0, 1, 2, 3].map((i) => g[2 * i]! * 65536 + g[2 * i + 1]!);
}

/** The family of an address (4 or 6); throws on anything that is not an address. */
export function familyOf(addr: string): Family {
  const f = isIP(addr);
  if (f === 0) throw new Error(`not an IP address: ${addr}`);
  return f === 6 ? 6 : 4;
}

/** Two spellings of one address? (false when either is not an address) */
export const sameAddress = (a: string, b: string): boolean =>
  isIP(a) !== 0 && isIP(a) === isIP(b) && canonicalAddress(a) === canonicalAddress(b);

/** An IPv4 dotted netmask to a prefix length, or undefined when it is not contiguous. */
export function maskToPrefix(mask: string): number | undefined {
  const n = addressWords(mask)[0]!;
  const bits = n.toString(2).padStart(32, '0');
  if (!/^1*0*$/.test(bits)) return undefined;
  return bits.includes('0') ? bits.indexOf('0') : 32;
}

/** a.b.c.d/p contains addr (IPv4). */
export function inSubnet4(addr: string, net: string, prefix: number): boolean {
  return network4(addr, prefix) === network4(net, prefix);
}

/** The network address of addr/prefix (IPv4). */
export function network4(addr: string, prefix: number): string {
  const n = addressWords(addr)[0]!;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const v = (n & mask) >>> 0;
  return [24, 16, 8, 0].map((s) => (v >>> s) & 255).join('.');
}
