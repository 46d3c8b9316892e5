// Inventories that stress validation, one per way a file can make it do more work than its size
// suggests (issue: "validation cost linear in file size; a 1 MiB inventory validates or is refused
// in under 2 s"). Pure: text(targetBytes) builds an inventory of at most targetBytes (ASCII, so
// bytes = characters) by repeating a shape's unit as often as it fits; `expect` is what
// `lvsctl validate` answers: 'ok' (exit 0) or a message that must appear on stderr (exit 65).
// Used by test/unit/validation-bounds.test.ts (behaviour) and bench/validate.ts (time, RSS).
import { MAX_INVENTORY_BYTES } from '../src/inventory/load.js';

export interface InventoryShape {
  name: string;
  describe: string;
  /** An inventory of at most targetBytes (`overLimit` shapes: a fixed size over MAX_INVENTORY_BYTES). */
  text(targetBytes: number): string;
  expect: 'ok' | RegExp;
  /** The file is larger than an inventory may be, whatever the target. */
  overLimit?: boolean;
}

// ---------------------------------------------------------------------------------------------
const HEAD = ['cluster: bounds', 'mode: dr', 'vars: { interface: eth0, ssh: { known_hosts: /dev/null } }'];
const DIRECTOR = ['directors:', '  hosts: [d1]'];
const VIP = '10.0.0.100';
/** The one VIP, up to its list of services. */
const VIP_HEAD = ['vips:', `  - address: ${VIP}`, '    interface: eth0', '    services:'];

/** A distinct unicast IPv4 address per i (0 ≤ i < 1,000,000), never .0 or .255. */
const addr = (i: number, first = 16) =>
  `10.${first + Math.floor(i / 62500)}.${1 + (Math.floor(i / 250) % 250)}.${1 + (i % 250)}`;

/** The largest n such that fixed + cost(0) + … + cost(n-1) ≤ target (at most max). */
function fit(target: number, fixed: number, cost: (i: number) => number, max = Infinity): number {
  let n = 0;
  let size = fixed;
  while (n < max && size + cost(n) <= target) size += cost(n++);
  return n;
}

const lines = (ls: string[]) => ls.map((l) => l + '\n').join('');
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const VIP_SERVICES = lines(VIP_HEAD);

/** build(n): the inventory with n units; cost(i): the bytes unit i adds (at least). The largest n that fits. */
function repeated(target: number, build: (n: number) => string, cost: (i: number) => number, max = Infinity): string {
  const n = fit(target, build(0).length, cost, max);
  return build(n);
}

/** `text` followed by comment lines up to exactly `size` bytes. */
function padded(text: string, size: number): string {
  let out = text + '# padding\n';
  while (out.length < size) {
    const left = size - out.length;
    out += left > 80 ? '#' + 'x'.repeat(78) + '\n' : '#'.repeat(left);
  }
  return out.slice(0, size);
}

/** A small valid DR inventory: director d1, hosts rs1..rs3 (and `hosts`), one VIP whose services are
 * `services` (block sequence lines; default one port-80 service on rs1 and rs2). */
const small = (o: { hosts?: string[]; services?: string[] } = {}) =>
  lines([
    ...HEAD,
    'hosts:',
    '  d1: { address: 10.0.0.2 }',
    '  rs1: { address: 10.0.0.11 }',
    '  rs2: { address: 10.0.0.12 }',
    '  rs3: { address: 10.0.0.13 }',
    ...(o.hosts ?? []),
    ...DIRECTOR,
    ...VIP_HEAD,
    ...(o.services ?? ['      - { port: 80, real_servers: [{ host: rs1 }, { host: rs2 }] }']),
  ]);
const SMALL = small();
/** Director d1 and one real server rs1, before `directors:`. */
const ONE_RS = [...HEAD, 'hosts:', '  d1: { address: 10.0.0.2 }', '  rs1: { address: 10.0.0.11 }'];
/** Up to a keepalived director's VRRP instance list. */
const KEEPALIVED = lines([...ONE_RS, ...DIRECTOR, '  engine: keepalived', '  vrrp:', '    instances:']);

/** n hosts h0..h(n-1) after d1, each line `  hI: { address: A }`. */
const hostLine = (i: number, address = addr(i)) => `  h${i}: { address: ${address} }\n`;
const hostsBlock = (n: number, address?: (i: number) => string) =>
  'hosts:\n  d1: { address: 10.0.0.2 }\n' +
  range(n)
    .map((i) => hostLine(i, address?.(i)))
    .join('');
const oneService = (rs: string) => VIP_SERVICES + `      - { port: 80, real_servers: [${rs}] }\n`;

// ---------------------------------------------------------------------------------------------
export const SHAPES: InventoryShape[] = [
  {
    name: 'hosts-one-group',
    describe: 'many hosts, all in one group, the group the real servers of one service',
    expect: 'ok',
    text: (t) =>
      repeated(
        t,
        (n) =>
          lines(HEAD) +
          hostsBlock(n) +
          `groups:\n  g: { hosts: [${range(n)
            .map((i) => `h${i}`)
            .join(', ')}] }\n` +
          lines(DIRECTOR) +
          oneService('{ group: g }'),
        (i) => hostLine(i).length + `h${i}, `.length,
      ),
  },
  {
    name: 'services-x-group',
    describe: 'a group of 1,000 hosts named by every one of many services (the product is refused unexpanded)',
    expect: /real servers in all \(groups expanded, once per service\); lvsctl manages at most 100000/,
    text: (t) => {
      const hosts = 1000;
      const svc = (p: number) => `      - { port: ${p + 1}, real_servers: [{ group: g }] }\n`;
      return repeated(
        t,
        (n) =>
          lines(HEAD) +
          hostsBlock(hosts) +
          `groups:\n  g: { hosts: [${range(hosts)
            .map((i) => `h${i}`)
            .join(', ')}] }\n` +
          lines(DIRECTOR) +
          VIP_SERVICES +
          range(n).map(svc).join(''),
        (i) => svc(i).length,
        65535,
      );
    },
  },
  {
    name: 'every-address-invalid',
    describe: 'many hosts, every address invalid: one problem per host',
    expect: /hosts\.h0\.address: expected an IPv4 or IPv6 address, got "10\.0\.0\.300"/,
    text: (t) =>
      repeated(
        t,
        (n) => lines(HEAD) + hostsBlock(n, () => '10.0.0.300') + lines(DIRECTOR) + oneService('{ host: d1 }'),
        (i) => hostLine(i, '10.0.0.300').length,
      ),
  },
  {
    name: 'deep-flow-seq',
    describe: 'a value of nothing but nested flow sequences: [[[[…]]]]',
    expect: /more than 32 nested brackets/,
    text: (t) => {
      const n = Math.max(0, Math.floor((t - 'cluster: \n'.length) / 2));
      return `cluster: ${'['.repeat(n)}${']'.repeat(n)}\n`;
    },
  },
  {
    name: 'deep-flow-map',
    describe: 'nested flow mappings: {a: {a: {a: …}}}',
    expect: /more than 32 nested brackets/,
    text: (t) => {
      const n = Math.max(0, Math.floor((t - 'x: a\n'.length) / '{a: }'.length));
      return `x: ${'{a: '.repeat(n)}a${'}'.repeat(n)}\n`;
    },
  },
  {
    name: 'deep-indent',
    describe: 'a block mapping one level deeper on every line',
    expect: /indented more than 128 columns/,
    text: (t) => {
      let s = 'x:\n';
      for (let i = 0; ; i++) {
        const l = `${' '.repeat(i + 1)}k${i}:\n`;
        if (s.length + l.length > t) return s;
        s += l;
      }
    },
  },
  {
    name: 'deep-seq-line-start',
    describe: '"- - - - …" at a line start: nested block sequences on one line',
    expect: /more than 32 nested list items on one line/,
    text: (t) => `x:\n${'- '.repeat(Math.max(0, Math.floor((t - 5) / 2)))}a\n`,
  },
  {
    name: 'deep-seq-after-key',
    describe: '"x: - - - - …": block sequence indicators after a key on one line (not valid YAML)',
    expect: /more than 32 nested list items on one line/,
    text: (t) => `cluster: c\nx: ${'- '.repeat(Math.max(0, Math.floor((t - 17) / 2)))}a\n`,
  },
  {
    name: 'nesting-at-limit',
    describe: 'many unknown keys, each a flow sequence nested exactly 32 deep (the most allowed)',
    expect: /more than 100000 \[ \] or \{ \} collections/,
    text: (t) => {
      const value = '['.repeat(32) + '1' + ']'.repeat(32);
      const line = (i: number) => `k${i}: ${value}\n`;
      return repeated(
        t,
        (n) => SMALL + range(n).map(line).join(''),
        (i) => line(i).length,
      );
    },
  },
  {
    name: 'vrrp-instances',
    describe: 'keepalived: many VRRP instances (255 per interface), each carrying a VIP of its own',
    expect: /directors\.vrrp\.instances: at most 255 VRRP instances/,
    text: (t) => {
      const inst = (i: number) =>
        `      - { name: i${i}, interface: e${Math.floor(i / 255)}, virtual_router_id: ${1 + (i % 255)} }\n`;
      const vip = (i: number) =>
        `  - { address: ${addr(i, 64)}, interface: e${Math.floor(i / 255)}, vrrp_instance: i${i}, services: [{ port: 80, real_servers: [{ host: rs1 }] }] }\n`;
      return repeated(
        t,
        (n) => KEEPALIVED + range(n).map(inst).join('') + 'vips:\n' + range(n).map(vip).join(''),
        (i) => inst(i).length + vip(i).length,
      );
    },
  },
  {
    name: 'vrrp-duplicate-vrids',
    describe: 'keepalived: many VRRP instances on one interface, virtual_router_id repeating every 255',
    expect: /directors\.vrrp\.instances: at most 255 VRRP instances/,
    text: (t) => {
      const inst = (i: number) => `      - { name: i${i}, interface: eth0, virtual_router_id: ${1 + (i % 255)} }\n`;
      return repeated(
        t,
        (n) => KEEPALIVED + range(n).map(inst).join('') + oneService('{ host: rs1 }'),
        (i) => inst(i).length,
      );
    },
  },
  {
    name: 'verify-clients',
    describe: 'many hosts, all of them verify clients',
    expect: 'ok',
    text: (t) =>
      repeated(
        t,
        (n) =>
          lines(HEAD) +
          hostsBlock(n + 1) +
          lines(DIRECTOR) +
          oneService('{ host: h0 }') +
          `verify:\n  from: [${range(n)
            .map((i) => `h${i + 1}`)
            .join(', ')}]\n`,
        (i) => hostLine(i + 1).length + `h${i + 1}, `.length,
      ),
  },
  {
    name: 'verify-sources',
    describe: 'one verify client with many client source addresses',
    expect: /verify\.sources: at most 256 client sources/,
    text: (t) => {
      const src = (i: number) => `      - ${addr(i, 32)}\n`;
      return repeated(
        t,
        (n) =>
          small({ hosts: ['  client: { address: 10.9.0.10 }'] }) +
          `verify:\n  from: [client]\n  sources:\n${range(n).map(src).join('')}`,
        (i) => src(i).length,
      );
    },
  },
  {
    name: 'vips',
    describe: 'many VIPs, one service each',
    expect: 'ok',
    text: (t) => {
      const vip = (i: number) =>
        `  - { address: ${addr(i, 64)}, interface: eth0, services: [{ port: 80, real_servers: [{ host: rs1 }] }] }\n`;
      return repeated(
        t,
        (n) => lines([...ONE_RS, ...DIRECTOR]) + 'vips:\n' + range(n).map(vip).join(''),
        (i) => vip(i).length,
      );
    },
  },
  {
    name: 'duplicate-vips',
    describe: 'one VIP address listed again and again',
    expect: /vips\[1\]\.address: VIP 10\.0\.0\.100 is listed twice; put all its services under one entry/,
    text: (t) => {
      const vip = `  - { address: ${VIP}, interface: eth0, services: [{ port: 80, real_servers: [{ host: rs1 }] }] }\n`;
      return repeated(
        t,
        (n) => lines([...ONE_RS, ...DIRECTOR]) + 'vips:\n' + vip.repeat(n),
        () => vip.length,
      );
    },
  },
  {
    name: 'unknown-keys',
    describe: 'a valid inventory followed by many unknown top-level keys',
    expect: /: k0: unknown key "k0"/,
    text: (t) => {
      const line = (i: number) => `k${i}: 1\n`;
      return repeated(
        t,
        (n) => SMALL + range(n).map(line).join(''),
        (i) => line(i).length,
      );
    },
  },
  {
    name: 'huge-string',
    describe: 'one single-line string value the size of the file (the cluster name)',
    expect: /cluster: expected a name of letters, digits/,
    text: (t) => {
      const rest = SMALL.replace(/^cluster: bounds\n/, '');
      return `cluster: "${'a'.repeat(Math.max(0, t - rest.length - 'cluster: ""\n'.length))}"\n${rest}`;
    },
  },
  {
    name: 'anchors-aliases',
    describe: 'every host name anchored where it is defined and named by alias in a group (each alias used once)',
    expect: /more than 1000 aliases/,
    text: (t) => {
      const host = (i: number) => `  &n${i} h${i}: { address: ${addr(i)} }\n`;
      return repeated(
        t,
        (n) =>
          lines(HEAD) +
          'hosts:\n  d1: { address: 10.0.0.2 }\n' +
          range(n).map(host).join('') +
          `groups:\n  g: { hosts: [${range(n)
            .map((i) => `*n${i}`)
            .join(', ')}] }\n` +
          lines(DIRECTOR) +
          oneService('{ group: g }'),
        (i) => host(i).length + `*n${i}, `.length,
      );
    },
  },
  {
    name: 'real-servers-20000',
    describe: '20,000 explicit real-server entries (200 services x 100 hosts), the rest of the file comments',
    expect: 'ok',
    text: (t) => {
      const hosts = 100;
      const entry = (i: number) => `          - { host: h${i}, weight: ${1 + (i % 100)} }\n`;
      const svc = (s: number) =>
        `      - port: ${1000 + s}\n        real_servers:\n` + range(hosts).map(entry).join('');
      const text = repeated(
        t,
        (n) => lines(HEAD) + hostsBlock(hosts) + lines(DIRECTOR) + VIP_SERVICES + range(n).map(svc).join(''),
        (s) => svc(s).length,
        200,
      );
      return padded(text, t);
    },
  },
  {
    name: 'groups-of-hosts',
    describe: 'many groups, each holding the same 1,000 hosts; one service per group up to 50,000 entries',
    expect: 'ok',
    text: (t) => {
      const hosts = 1000;
      const members = range(hosts)
        .map((i) => `h${i}`)
        .join(', ');
      const group = (j: number) => `  g${j}: { hosts: [${members}] }\n`;
      const svc = (j: number) => (j < 50 ? `      - { port: ${j + 1}, real_servers: [{ group: g${j} }] }\n` : '');
      return repeated(
        t,
        (n) =>
          lines(HEAD) +
          hostsBlock(hosts) +
          'groups:\n' +
          range(n).map(group).join('') +
          lines(DIRECTOR) +
          VIP_SERVICES +
          range(Math.max(1, n)).map(svc).join(''),
        (j) => group(j).length + (j > 0 ? svc(j).length : 0),
      );
    },
  },
  {
    name: 'fwmark-services',
    describe: 'many fwmark services on one VIP, each marking two ports of its own',
    expect: 'ok',
    text: (t) => {
      const svc = (i: number) =>
        `      - { fwmark: ${i + 1}, ports: [${2 * i + 1}, ${2 * i + 2}], real_servers: [{ host: rs1 }, { host: rs2 }] }\n`;
      return repeated(
        t,
        (n) => small({ services: [] }) + range(n).map(svc).join(''),
        (i) => svc(i).length,
        32767,
      );
    },
  },
  {
    name: 'fwmark-long-ports',
    describe: 'one fwmark service with a flow sequence of ports as long as the file (1..65535, then again)',
    expect: /ports\[65535\]: port 1 is listed twice/,
    text: (t) => {
      const port = (i: number) => `${1 + (i % 65535)}, `;
      return repeated(
        t,
        (n) =>
          small({ services: [] }) +
          `      - fwmark: 1\n        real_servers: [{ host: rs1 }]\n        ports: [${range(n).map(port).join('')}80]\n`,
        (i) => port(i).length,
      );
    },
  },
  {
    name: 'over-limit',
    describe: `a valid inventory padded with comments to exactly ${MAX_INVENTORY_BYTES} + 1 bytes`,
    expect: new RegExp(`the file is larger than ${MAX_INVENTORY_BYTES} bytes`),
    overLimit: true,
    text: () => padded(SMALL, MAX_INVENTORY_BYTES + 1),
  },
  {
    name: 'one-mebibyte',
    describe: 'a valid inventory of 1 MiB: many hosts in one group, as hosts-one-group (refused unread)',
    expect: new RegExp(`the file is larger than ${MAX_INVENTORY_BYTES} bytes`),
    overLimit: true,
    text: () => SHAPES[0]!.text(1024 * 1024),
  },
];
