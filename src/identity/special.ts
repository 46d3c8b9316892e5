// Special-purpose addresses (RFC 6890 and the kernel's own rules) that can never be a host's
// address, a VIP, a DIP, a gateway or a sorry server: the kernel refuses them, routes them to
// itself, never forwards them, or floods them. Documentation and private ranges are ordinary
// unicast here: labs and examples use them.
import { addressWords, familyOf } from './address.js';

interface Block {
  words: number[];
  prefix: number;
  what: string;
}

const block = (net: string, prefix: number, what: string): Block => ({ words: addressWords(net), prefix, what });

// Most specific first: the first match names the address.
const V4: Block[] = [
  block('255.255.255.255', 32, 'the limited broadcast address'),
  block('0.0.0.0', 8, '"this network" (0.0.0.0/8), never a destination'),
  block('127.0.0.0', 8, 'a loopback address (127.0.0.0/8)'),
  block('169.254.0.0', 16, 'a link-local address (169.254.0.0/16), never forwarded'),
  block('224.0.0.0', 4, 'a multicast address (224.0.0.0/4)'),
  block('240.0.0.0', 4, 'a reserved address (240.0.0.0/4) that Linux does not route'),
];
const V6: Block[] = [
  block('::', 128, 'the unspecified address (::)'),
  block('::1', 128, 'the loopback address (::1)'),
  block('::ffff:0:0', 96, 'an IPv4-mapped address: write the IPv4 address itself'),
  block('::', 96, 'an IPv4-compatible address (deprecated, RFC 4291): write the IPv4 address itself'),
  block('100::', 64, 'a discard-only address (100::/64)'),
  block('fe80::', 10, 'a link-local address (fe80::/10), which needs a zone and is never forwarded'),
  block('fec0::', 10, 'a site-local address (fec0::/10, deprecated)'),
  block('ff00::', 8, 'a multicast address (ff00::/8)'),
];

/** Whether addr's first `prefix` bits equal those of `words`. */
function matches(addr: number[], words: number[], prefix: number): boolean {
  for (let i = 0, left = prefix; left > 0; i++, left -= 32) {
    const bits = Math.min(32, left);
    const mask = bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits) >>> 0;
    if ((addr[i]! & mask) >>> 0 !== (words[i]! & mask) >>> 0) return false;
  }
  return true;
}

/** What makes addr unusable as a unicast host address, or undefined when it is ordinary unicast. */
export function specialUse(addr: string): string | undefined {
  const words = addressWords(addr);
  return (familyOf(addr) === 4 ? V4 : V6).find((b) => matches(words, b.words, b.prefix))?.what;
}

/** For addr/prefix: "the network address" or "the broadcast address" of its subnet, when it is
 * one (IPv4 up to /30, IPv6's subnet-router anycast up to /126), else undefined. */
export function subnetEdge(addr: string, prefix: number): string | undefined {
  const family = familyOf(addr);
  const bits = family === 4 ? 32 : 128;
  if (prefix >= bits - 1) return undefined; // /31 and /32 (RFC 3021), /127 and /128
  const words = addressWords(addr);
  const host = (value: 0 | 1) =>
    words.every((w, i) => {
      const netBits = Math.max(0, Math.min(32, prefix - 32 * i));
      const hostMask = netBits === 32 ? 0 : 0xffffffff >>> netBits;
      return (w & hostMask) >>> 0 === (value ? hostMask : 0);
    });
  if (host(0)) return family === 4 ? 'the network address' : 'the subnet-router anycast address';
  if (family === 4 && host(1)) return 'the broadcast address';
  return undefined;
}
