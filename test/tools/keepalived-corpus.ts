// A generated corpus of inventories for keepalived-corpus.test.ts: combinations of every option
// that reaches keepalived.conf (mode, one director or a VRRP pair, instances, auth, unicast, IPv4
// and IPv6 VIPs, every service kind, scheduler and flag, persistence, health checks, sorry server,
// thresholds, DIP, sync daemon…), sampled at random with a fixed seed, plus deliberately risky mixes.
// Pure and deterministic: the same seed gives the same texts. Each option choice is recorded as a
// tag "key=value", so the test can prove the accepted part of the corpus covers every value.
//
// The generator makes coherent inventories: each choice is made among the values that fit the
// choices before it (an IPv6 instance gets no auth, AH only with two BACKUP directors, a sorry
// server from its own addresses…), so that nearly all of the corpus is accepted and keepalived -t
// sees every option. The mistakes validation must refuse are a separate list (REFUSED): each is a
// coherent inventory with one mistake made on it.
import { stringify } from 'yaml';

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every option the generator chooses, with every value it can take. The test asserts that each
 * value appears in several accepted inventories. */
export const OPTIONS = {
  mode: ['nat', 'dr', 'tun'],
  directors: ['single-ipvsadm', 'single-keepalived', 'single-vrrp', 'pair'],
  'directors.engine_key': ['unset', 'explicit'],
  'director.addresses': ['v4+v6', 'v4', 'v6'],
  'director.names': ['plain', 'dotted', 'digit'],
  'directors.member_form': ['name', 'object'],
  'directors.states': ['default', 'MASTER/BACKUP', 'BACKUP/MASTER', 'BACKUP/BACKUP'],
  'directors.priorities': ['default', 'explicit', 'extremes'],
  'vrrp.instances': ['1', '2', '3'],
  'vrrp.instance_interfaces': ['same', 'different'],
  'vrrp.vrid': ['distinct', 'reused'],
  'vrrp.instance_name': ['plain', 'dotted', 'digit', 'long'],
  // 40: the longest VRRPv3 (IPv6) interval; 255 only on instances whose first address is IPv4.
  'vrrp.instance_advert_int': ['unset', '1', '5', '40', '255'],
  'vrrp.advert_int': ['unset', '1', '3', '40', '255'],
  'vrrp.nopreempt': ['unset', 'false', 'true'],
  // active-active: an instance's master (the first or second director) and its own priorities
  'vrrp.instance_master': ['unset', 'first', 'second'],
  'vrrp.instance_priorities': ['unset', 'set', 'extremes'],
  'sync_daemon.vrrp_instance': ['unset', 'last'],
  'vrrp.unicast': ['unset', 'false', 'true'],
  'vrrp.auth': ['none', 'PASS', 'AH', 'default-type'],
  'vrrp.auth_source': ['password_env', 'password_file'],
  'vip.count': ['1', '2', '3'],
  'vip.family': ['4', '6'],
  'vip.spelling': ['canonical', 'uncanonical'],
  'vip.prefix': ['unset', 'host', 'net', 'short'],
  'vip.interface': ['instance', 'other'],
  // unset: the first instance; own: an instance other than the first (one without an address yet).
  'vip.vrrp_instance': ['unset', 'first', 'own'],
  'service.count': ['1', '2', '3'],
  'service.kind': ['tcp', 'udp', 'fwmark'],
  'service.protocol_key': ['unset', 'explicit'],
  'service.name': ['unset', 'set'],
  'service.port': ['80', '443', '53', '1', '65535', '8080'],
  'fwmark.protocol': ['tcp', 'udp'],
  'fwmark.value': ['one', 'small', 'large', 'max'],
  'fwmark.ports': ['1', '2', '3'],
  scheduler: ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'mh', 'fo', 'ovf', 'twos'],
  'scheduler.key': ['unset', 'explicit'],
  'scheduler.flags': ['none', 'port', 'fallback', 'both'],
  persistence: ['none', 'timeout', 'timeout+netmask'],
  'persistence.timeout': ['1', '300', '2678400'],
  'persistence.netmask4': ['255.255.255.255', '255.255.255.0', '255.255.0.0', '255.0.0.0'],
  'persistence.netmask6': ['1', '48', '64', '128'],
  ops: ['unset', 'false', 'true'],
  'service.engine': ['unset', 'ipvsadm', 'keepalived'],
  'check.type': ['none', 'tcp', 'http', 'https', 'udp', 'misc', 'dns'],
  // MISC_CHECK arguments: hostile ones (quotes, $, ${…}, #, \, tab, non-ASCII), the real server's
  // address and port, and a command near keepalived's 1024-byte line.
  'check.misc_args': ['none', 'plain', 'hostile', 'placeholders', 'long'],
  'check.misc_timeout': ['unset', '1', '3600'],
  'check.misc_dynamic': ['unset', 'false', 'true'],
  'check.dns_query': ['unset', 'A', 'AAAA', 'SOA', 'TXT'],
  'check.dns_name': ['unset', 'root', 'name', 'fqdn'],
  'check.port': ['unset', 'set'],
  'check.path': ['unset', 'root', 'query', 'specials', 'long'],
  'check.status': ['unset', '100', '200', '301', '599'],
  'check.virtualhost': ['unset', 'name', 'ipv4', 'ipv6'],
  'check.connect_timeout': ['unset', '1', '3600'],
  'check.retry': ['unset', '0', '3', '100'],
  'check.delay_before_retry': ['unset', '1', '3600'],
  'check.delay_loop': ['unset', '1', '3600'],
  'rs.ref': ['hosts', 'group', 'mixed'],
  'rs.weight': ['unset', '0', '1', '100', '65535'],
  'rs.thresholds': ['none', 'upper', 'lower', 'both', 'zero', 'max'],
  'rs.port': ['unset', 'same', 'mapped'],
  'rs.health_check': ['inherit', 'false', 'own'],
  // address+port: another port than the service's (NAT only); address+service-port: the same one.
  sorry_server: ['none', 'address', 'address+port', 'address+service-port'],
  // dedicated: an address of its own; shared: one address for every service's sorry server;
  // other-real-server: a real server of the inventory that is not one of this service's.
  'sorry_server.address': ['dedicated', 'shared', 'other-real-server'],
  inhibit_on_failure: ['unset', 'false', 'true'],
  dip: ['none', 'set'],
  'dip.vrrp_instance': ['unset', 'first', 'other'],
  masquerade: ['unset', 'false', 'true'],
  sync_daemon: ['none', 'default-id', 'id0', 'id255'],
  'ipvs.timeouts': ['none', 'set'],
  'ipvs.sysctl': ['none', 'set'],
  interface: ['eth0', 'eth1', 'ens3', 'bond0.100', 'br-lan_1', 'veth.a-b_c', 'iiiiiiiiiiiiiii', 'a'],
  // VRRP scripts (CORPUS_SCRIPTS: the test puts them on this machine, as keepalived -t checks them).
  // Tracking weights only on a lone instance: keepalived zeroes them in a sync group.
  'vrrp.scripts': ['none', 'notify', 'track', 'both'],
  'vrrp.script_user': ['unset', 'root'], // another user: keepalived 2.2.7 -t dies (#2587), refused
  'notify.keys': ['master+backup+fault', 'stop', 'notify'],
  'notify.form': ['path', 'args'],
  'vrrp_script.settings': ['none', 'all'],
  'vrrp_script.weight': ['unset', '-253', '50'],
  'vrrp.track_interface': ['none', 'plain', 'weighted'],
} as const satisfies Record<string, readonly string[]>;
export type OptionKey = keyof typeof OPTIONS;

/** Choices that a generated inventory must take: "key" for all its choices of that key, or
 * "key#i" for the i-th one (the second VIP: "vip.family#1"). A forced value that does not fit the
 * choices before it is not taken (the test checks that each risky mix gets what it forces). */
export type Force = Partial<Record<OptionKey | `${OptionKey}#${number}`, string>>;

export interface CorpusCase {
  /** "r042" (random) or "x07-ipv4-and-ipv6-in-one-instance.2" (risky mix). */
  id: string;
  text: string;
  /** The options chosen, "key=value", each once. */
  tags: string[];
  /** What a risky mix forced. */
  force?: Force;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inventory JSON, built field by field
type Obj = Record<string, any>;

class Chooser {
  readonly tags = new Set<string>();
  private seen = new Map<string, number>();
  constructor(
    readonly rnd: () => number,
    private force: Force,
  ) {}

  /** One of `values` (a subset of OPTIONS[key]: the ones that fit), forced or at random; recorded
   * as a tag. */
  pick<K extends OptionKey>(key: K, values: readonly (typeof OPTIONS)[K][number][] = OPTIONS[key]): string {
    const i = this.seen.get(key) ?? 0;
    this.seen.set(key, i + 1);
    const f = (this.force as Record<string, string | undefined>)[`${key}#${i}`] ?? this.force[key];
    const v =
      f !== undefined && (values as readonly string[]).includes(f) ? f : values[this.int(0, values.length - 1)]!;
    this.tags.add(`${key}=${v}`);
    return v;
  }

  int(lo: number, hi: number): number {
    return lo + Math.floor(this.rnd() * (hi - lo + 1));
  }

  /** k distinct items of `from`, in random order. */
  some<T>(from: readonly T[], k: number): T[] {
    const pool = [...from];
    const out: T[] = [];
    while (out.length < k && pool.length) out.push(pool.splice(this.int(0, pool.length - 1), 1)[0]!);
    return out;
  }

  one<T>(from: readonly T[]): T {
    return from[this.int(0, from.length - 1)]!;
  }
}

const num = (s: string) => Number(s);

/** VRRPv3 (an instance whose first address is IPv6) counts advert_int in centiseconds, 12 bits. */
const V3_ADVERT_MAX = 40;

const PATHS = {
  root: '/',
  query: '/healthz?full=1&fmt=txt',
  specials: '/p#a!t{h}$x',
  long: `/${'x'.repeat(950)}`,
} as const;

const MISC_ARGS = {
  plain: ['--check', 'web'],
  hostile: [`it's "$HOME" \${_PWD} #x \\ {a} é\t!`, '}', '{', '@x', 'a b'],
  placeholders: ['{address}', '{address}:{port}'],
  long: ['{address}', 'x'.repeat(880)],
} as const;
const DNS_NAMES = { root: '.', name: 'www.example.org', fqdn: 'ns1.example.net.' } as const;

function miscCheck(c: Chooser, fwmark: boolean): Obj {
  const hc: Obj = { type: 'misc', misc_path: '/usr/local/lib/lvsctl/check-rs' };
  // A fwmark service's real servers have no port: {port} is refused there.
  const args = c.pick('check.misc_args', fwmark ? ['none', 'plain', 'hostile', 'long'] : OPTIONS['check.misc_args']);
  if (args !== 'none') hc.args = [...MISC_ARGS[args as keyof typeof MISC_ARGS]];
  const timeout = c.pick('check.misc_timeout');
  if (timeout !== 'unset') hc.misc_timeout = num(timeout);
  const dyn = c.pick('check.misc_dynamic');
  if (dyn !== 'unset') hc.misc_dynamic = dyn === 'true';
  for (const k of ['retry', 'delay_before_retry', 'delay_loop'] as const) {
    const v = c.pick(`check.${k}`);
    if (v !== 'unset') hc[k] = num(v);
  }
  return hc;
}

function healthCheck(c: Chooser, protocol: 'tcp' | 'udp', fwmark: boolean, port: number): Obj | undefined {
  // DNS_CHECK asks over UDP, for UDP/53 services.
  const dns = protocol === 'udp' && !fwmark && port === 53;
  const type = c.pick(
    'check.type',
    protocol === 'udp'
      ? ['none', 'udp', 'misc', ...(dns ? (['dns'] as const) : [])]
      : ['none', 'tcp', 'http', 'https', 'misc'],
  );
  if (type === 'none') return undefined;
  if (type === 'misc') return miscCheck(c, fwmark);
  const hc: Obj = { type };
  if (type === 'dns') {
    const q = c.pick('check.dns_query');
    if (q !== 'unset') hc.query_type = q;
    const n = c.pick('check.dns_name');
    if (n !== 'unset') hc.name = DNS_NAMES[n as keyof typeof DNS_NAMES];
  }
  // A check on a fwmark service must name its port.
  const p = fwmark ? 'set' : c.pick('check.port');
  if (p === 'set') hc.port = fwmark ? port : c.one([port, 8081, 1, 65535]);
  if (type === 'http' || type === 'https') {
    const path = c.pick('check.path');
    if (path !== 'unset') hc.path = PATHS[path as keyof typeof PATHS];
    const status = c.pick('check.status');
    if (status !== 'unset') hc.status = num(status);
    const vh = c.pick('check.virtualhost');
    const vhosts = { name: 'www.example.net', ipv4: '198.51.100.7', ipv6: '2001:db8::7' } as const;
    if (vh !== 'unset') hc.virtualhost = vhosts[vh as keyof typeof vhosts];
  }
  for (const k of ['connect_timeout', 'retry', 'delay_before_retry', 'delay_loop'] as const) {
    const v = c.pick(`check.${k}`);
    if (v !== 'unset') hc[k] = num(v);
  }
  return hc;
}

interface Ctx {
  c: Chooser;
  mode: string;
  keepalivedDirectors: boolean; // directors.engine keepalived
  hosts: Obj;
  /** "mark/family" of the fwmark services so far: a mark names one service per family. */
  fwmarks: Set<string>;
  /** Sorry servers with an address of their own so far. */
  sorryServers: number;
}

const REAL_SERVERS = ['rs1', 'rs2', 'rs3', 'rs4'];
const GROUPS = { web: ['rs1', 'rs2'], app: ['rs3', 'rs4'] } as const;
/** The ports fwmark services mark: some are also service ports, so a VIP's fwmark takes the ones
 * its other services (same protocol) leave free. */
const FWMARK_PORTS = [80, 443, 8443, 9443, 8000, 8001, 8002, 8003, 8004];

/** Addresses for sorry servers, apart from every host, VIP and the DIP; in NAT on the DIP's subnet. */
const sorryAddress = (mode: string, family: 4 | 6, k: number | 'shared') => {
  const last = k === 'shared' ? 50 : 60 + k;
  if (mode === 'nat') return `10.0.0.${last}`;
  return family === 4 ? `203.0.113.${last}` : `2001:db8:2::${last}`;
};

interface Svc {
  /** The service port, or a fwmark's first port. */
  port: number;
  keepalived: boolean;
  protocol: 'tcp' | 'udp';
  fwmark: boolean;
}

function realServers(x: Ctx, svc: Svc): Obj[] {
  const { c } = x;
  const ref = c.pick('rs.ref');
  const entries: Obj[] = {
    group: () => [{ group: c.one(['web', 'app']) }],
    mixed: () => [{ group: 'web' }, { host: 'rs3' }],
    hosts: () => c.some(REAL_SERVERS, c.int(1, 3)).map((host) => ({ host })),
  }[ref]!();
  entries.forEach((e, i) => {
    // keepalived refuses a service whose real servers all have weight 0 (its quorum is 1).
    const allZero = entries.slice(0, i).every((p) => p.weight === 0);
    const last = i === entries.length - 1;
    const w = c.pick(
      'rs.weight',
      svc.keepalived && last && allZero ? OPTIONS['rs.weight'].filter((v) => v !== '0') : OPTIONS['rs.weight'],
    );
    if (w !== 'unset') e.weight = num(w);
    const th = c.pick('rs.thresholds');
    if (th === 'upper' || th === 'both') e.upper_threshold = 2000;
    if (th === 'lower' || th === 'both') e.lower_threshold = 1500;
    if (th === 'zero') Object.assign(e, { upper_threshold: 0, lower_threshold: 0 });
    if (th === 'max') Object.assign(e, { upper_threshold: 2147483647, lower_threshold: 2147483647 });
    // Port mapping is NAT's; DR and TUN may repeat the service port, and keep the client's port
    // for a fwmark service (its real servers take no port).
    let ports: readonly ('unset' | 'same' | 'mapped')[] = OPTIONS['rs.port'];
    if (x.mode !== 'nat') ports = svc.fwmark ? ['unset'] : ['unset', 'same'];
    const rp = c.pick('rs.port', ports);
    if (rp === 'same') e.port = svc.port;
    if (rp === 'mapped') e.port = svc.port === 8080 ? 8081 : 8080;
    if (svc.keepalived) {
      const own = c.pick('rs.health_check');
      if (own === 'false') e.health_check = false;
      if (own === 'own') {
        const hc = healthCheck(c, svc.protocol, svc.fwmark, e.port ?? svc.port);
        if (hc) e.health_check = hc;
      }
    }
  });
  return entries;
}

function service(x: Ctx, family: 4 | 6, used: Set<string>): Obj {
  const { c } = x;
  const kind = c.pick('service.kind');
  const s: Obj = {};
  if (c.pick('service.name') === 'set') s.name = `svc-${c.int(0, 999)}`;
  let protocol: 'tcp' | 'udp';
  let port: number;
  if (kind === 'fwmark') {
    protocol = c.pick('fwmark.protocol') as 'tcp' | 'udp';
    if (protocol === 'udp') s.protocol = 'udp';
    const size = c.pick('fwmark.value');
    const marks = { one: 1, small: c.int(2, 20), large: c.int(65536, 4294967294), max: 4294967295 };
    let mark = marks[size as keyof typeof marks];
    while (x.fwmarks.has(`${mark}/${family}`)) mark = c.int(1, 1000);
    x.fwmarks.add(`${mark}/${family}`);
    s.fwmark = mark;
    // A mark's ports must not catch the packets of another service of this VIP and protocol.
    const free = FWMARK_PORTS.filter((p) => !used.has(`${protocol}/${p}`));
    const n = num(
      c.pick(
        'fwmark.ports',
        OPTIONS['fwmark.ports'].filter((k) => num(k) <= free.length),
      ),
    );
    s.ports = c.some(free, n);
    port = s.ports[0];
  } else {
    protocol = kind as 'tcp' | 'udp';
    if (protocol === 'udp' || c.pick('service.protocol_key') === 'explicit') s.protocol = protocol;
    const free = OPTIONS['service.port'].filter((p) => !used.has(`${protocol}/${p}`));
    port = s.port = num(c.pick('service.port', free));
  }
  for (const p of s.ports ?? [s.port]) used.add(`${protocol}/${p}`);
  const sched = c.pick('scheduler');
  if (sched !== 'wlc' || c.pick('scheduler.key') === 'explicit') s.scheduler = sched;
  if (sched === 'sh' || sched === 'mh') {
    const fl = c.pick('scheduler.flags');
    const both = c.some([`${sched}-port`, `${sched}-fallback`], 2);
    const flags = { none: [], port: [`${sched}-port`], fallback: [`${sched}-fallback`], both }[fl];
    if (flags?.length) s.scheduler_flags = flags;
  }
  const pers = c.pick('persistence');
  if (pers !== 'none') {
    s.persistence = { timeout: num(c.pick('persistence.timeout')) };
    if (pers === 'timeout+netmask')
      s.persistence.netmask = family === 4 ? c.pick('persistence.netmask4') : num(c.pick('persistence.netmask6'));
  }
  // one-packet scheduling needs dr or tun (validation refuses it with NAT)
  if (protocol === 'udp' && x.mode !== 'nat') {
    const ops = c.pick('ops');
    if (ops !== 'unset') s.ops = ops === 'true';
  }
  const eng = c.pick('service.engine');
  if (eng !== 'unset') s.engine = eng;
  const keepalived = eng === 'keepalived' || (eng === 'unset' && x.keepalivedDirectors);
  if (keepalived) {
    const hc = healthCheck(c, protocol, kind === 'fwmark', port);
    if (hc) s.health_check = hc;
  }
  s.real_servers = realServers(x, { port, keepalived, protocol, fwmark: kind === 'fwmark' });
  if (keepalived) {
    // DR and TUN keep the client's port: a sorry server takes the service's port or none, and a
    // fwmark service's none.
    let kinds: readonly ('none' | 'address' | 'address+port' | 'address+service-port')[] = OPTIONS.sorry_server;
    if (x.mode !== 'nat') kinds = kind === 'fwmark' ? ['none', 'address'] : ['none', 'address', 'address+service-port'];
    const sorry = c.pick('sorry_server', kinds);
    if (sorry !== 'none') {
      // Never one of this service's own real servers (keepalived would merge the two), a VIP, the
      // DIP or a director; in NAT on the DIP's subnet, so that its replies pass the director.
      const mine = new Set(s.real_servers.flatMap((r: Obj) => (r.host ? [r.host] : GROUPS[r.group as 'web' | 'app'])));
      const others = REAL_SERVERS.filter((h) => !mine.has(h));
      const at = c.pick(
        'sorry_server.address',
        others.length ? OPTIONS['sorry_server.address'] : ['dedicated', 'shared'],
      );
      let address = sorryAddress(x.mode, family, 'shared');
      if (at === 'dedicated') address = sorryAddress(x.mode, family, x.sorryServers++);
      if (at === 'other-real-server') {
        const h = x.hosts[c.one(others)];
        address = family === 6 ? h.address6 : h.address;
      }
      s.sorry_server = { address };
      if (sorry === 'address+port') s.sorry_server.port = port === 8080 ? 8081 : 8080;
      if (sorry === 'address+service-port') s.sorry_server.port = port;
    }
    const inh = c.pick('inhibit_on_failure');
    if (inh !== 'unset') s.inhibit_on_failure = inh === 'true';
  }
  return s;
}

const INSTANCE_NAMES = { plain: 'VI_', dotted: 'vi-www.', digit: '', long: 'v'.repeat(62) } as const;

/** The VRRP instances: names, interfaces and router ids. Their settings come once the addresses
 * they carry are known. */
function vrrpInstances(c: Chooser, ifacePool: string[]): Obj[] {
  const n = num(c.pick('vrrp.instances'));
  const same = c.pick('vrrp.instance_interfaces') === 'same';
  const ifaces = same ? Array<string>(n).fill(ifacePool[0]!) : ifacePool.slice(0, n);
  // A virtual_router_id is unique per interface: instances on different interfaces may share one.
  const reuse = !same && n > 1 && c.pick('vrrp.vrid') === 'reused';
  const vrids = reuse ? Array<number>(n).fill(c.int(1, 255)) : c.some([1, 2, 51, 52, 100, 254, 255], n);
  return Array.from({ length: n }, (_, i) => {
    const style = c.pick('vrrp.instance_name') as keyof typeof INSTANCE_NAMES;
    return {
      name: style === 'long' ? `${INSTANCE_NAMES.long}${i}` : `${INSTANCE_NAMES[style]}${i + 1}`,
      interface: ifaces[i],
      virtual_router_id: vrids[i],
    };
  });
}

/** The VRRP settings, for instances whose first addresses have these families. */
function vrrpSettings(c: Chooser, instances: Obj[], families: (4 | 6)[], pair: boolean): Obj {
  // VRRPv3 (IPv6 first) has no authentication and an advert_int of at most 40 s.
  const v3 = <T extends string>(values: readonly T[]) => values.filter((a) => a === 'unset' || num(a) <= V3_ADVERT_MAX);
  instances.forEach((inst, k) => {
    const all = OPTIONS['vrrp.instance_advert_int'];
    const ai = c.pick('vrrp.instance_advert_int', families[k] === 6 ? v3(all) : all);
    if (ai !== 'unset') inst.advert_int = num(ai);
  });
  const v: Obj = { instances };
  const bounded = instances.some((inst, k) => families[k] === 6 && inst.advert_int === undefined);
  const ai = c.pick('vrrp.advert_int', bounded ? v3(OPTIONS['vrrp.advert_int']) : OPTIONS['vrrp.advert_int']);
  if (ai !== 'unset') v.advert_int = num(ai);
  // nopreempt and unicast need a pair (unicast's peer is the other director).
  const np = c.pick('vrrp.nopreempt', pair ? OPTIONS['vrrp.nopreempt'] : ['unset', 'false']);
  if (np !== 'unset') v.nopreempt = np === 'true';
  const uc = c.pick('vrrp.unicast', pair ? OPTIONS['vrrp.unicast'] : ['unset', 'false']);
  if (uc !== 'unset') v.unicast = uc === 'true';
  // AH needs every director BACKUP at start, and a single director is always MASTER.
  let auths: readonly ('none' | 'PASS' | 'AH' | 'default-type')[] = OPTIONS['vrrp.auth'];
  if (families.includes(6)) auths = ['none'];
  else if (!pair) auths = ['none', 'PASS', 'default-type'];
  const auth = c.pick('vrrp.auth', auths);
  if (auth !== 'none') {
    v.auth = auth === 'default-type' ? {} : { type: auth };
    if (c.pick('vrrp.auth_source') === 'password_env') v.auth.password_env = 'LVSCTL_VRRP_PASSWORD';
    else v.auth.password_file = 'secrets/vrrp-password';
  }
  return v;
}

/** The scripts the corpus names; the test creates them (root's, mode 0755) for keepalived -t. */
export const CORPUS_SCRIPTS = ['/usr/local/lib/lvsctl-corpus/notify.sh', '/usr/local/lib/lvsctl-corpus/check.sh'];

/** notify scripts, a tracked vrrp_script and tracked interfaces on the first instance. */
function vrrpScripts(c: Chooser, v: Obj, ifacePool: string[]): void {
  const what = c.pick('vrrp.scripts');
  if (what === 'none') return;
  const u = c.pick('vrrp.script_user');
  if (u !== 'unset') v.script_user = u;
  const inst = v.instances[0];
  const lone = v.instances.length === 1;
  if (what !== 'track') {
    const args = c.pick('notify.form') === 'args';
    const cmd = (state: string) => (args ? { path: CORPUS_SCRIPTS[0], args: [state, 'x=1'] } : CORPUS_SCRIPTS[0]);
    const keys = c.pick('notify.keys');
    if (keys === 'notify') inst.notify = cmd('any');
    else if (keys === 'stop') inst.notify_stop = cmd('STOP');
    else for (const k of ['master', 'backup', 'fault']) inst[`notify_${k}`] = cmd(k.toUpperCase());
  }
  if (what !== 'notify') {
    const chk: Obj = { path: CORPUS_SCRIPTS[1] };
    if (c.pick('vrrp_script.settings') === 'all')
      Object.assign(chk, { args: ['--vip', '10.0.0.100'], interval: 2, timeout: 1, fall: 3, rise: 2, user: 'root' });
    const w = c.pick('vrrp_script.weight', lone ? OPTIONS['vrrp_script.weight'] : ['unset']);
    if (w !== 'unset') chk.weight = num(w);
    v.scripts = { chk_corpus: chk };
    inst.track_script = ['chk_corpus'];
  }
  const ti = c.pick('vrrp.track_interface', lone ? OPTIONS['vrrp.track_interface'] : ['none', 'plain']);
  if (ti !== 'none')
    inst.track_interface = [
      // not its own interface: keepalived tracks that already, and refuses it (script-rules.ts)
      {
        interface: c.one(ifacePool.filter((i) => i !== inst.interface)),
        ...(ti === 'weighted' ? { weight: -20 } : {}),
      },
    ];
}

const DIRECTOR_NAMES = { plain: ['lvs-a', 'lvs-b'], dotted: ['dir.1', 'dir.2'], digit: ['1', '2'] } as const;

/** The directors' members: names, or objects with state and priority. nopreempt and AH need both
 * BACKUP (keepalived ignores nopreempt, and clears AH, on a MASTER); a MASTER has the higher
 * priority (a BACKUP above it would take the VIPs at once). */
function members(c: Chooser, names: string[], vrrp: Obj | undefined): Obj[] | string[] {
  const pair = names.length === 2;
  const backups = pair && (vrrp?.nopreempt === true || vrrp?.auth?.type === 'AH');
  const form = backups ? 'object' : c.pick('directors.member_form');
  if (backups) c.tags.add('directors.member_form=object');
  if (!vrrp || form === 'name') return names;
  const out: Obj[] = names.map((host) => ({ host }));
  const st = backups ? 'BACKUP/BACKUP' : c.pick('directors.states');
  if (backups) c.tags.add(`directors.states=${st}`);
  if (st !== 'default') st.split('/').forEach((s, i) => out[i] && (out[i].state = s));
  // The default priorities (150, 100) put the first director above the second.
  const masterSecond = pair && st === 'BACKUP/MASTER';
  const pr = c.pick('directors.priorities', masterSecond ? ['explicit', 'extremes'] : OPTIONS['directors.priorities']);
  const prios = pr === 'extremes' ? [254, 1] : c.some([2, 50, 99, 100, 101, 150, 200], 2).sort((a, b) => b - a);
  if (masterSecond) prios.reverse();
  if (pr !== 'default') out.forEach((m, i) => (m.priority = prios[i]));
  return out;
}

/** Active-active: each instance may name its master and its own priorities (the master's the
 * strictly highest). In NAT every instance gets the same choice: a real server has one gateway, the
 * DIP, so VIPs and DIP follow one master (one left unset follows the director-level MASTER). */
function instanceMasters(c: Chooser, instances: Obj[], names: string[], mode: string): void {
  const masters = names.length > 1 ? OPTIONS['vrrp.instance_master'] : (['unset', 'first'] as const);
  const nat = mode === 'nat' ? c.pick('vrrp.instance_master', masters) : undefined;
  for (const inst of instances) {
    const m = nat ?? c.pick('vrrp.instance_master', masters);
    if (m === 'unset') continue;
    inst.master = names[m === 'first' ? 0 : 1];
    const p = c.pick('vrrp.instance_priorities');
    if (p === 'unset') continue;
    const [hi, lo] = p === 'extremes' ? [254, 1] : c.some([2, 50, 99, 100, 101, 150, 200], 2).sort((a, b) => b - a);
    inst.priorities = Object.fromEntries(names.map((n) => [n, n === inst.master ? hi : lo]));
  }
}

const VIP4 = ['203.0.113.100', '203.0.113.101', '203.0.113.102'];
const VIP6 = {
  canonical: ['2001:db8:100::1', '2001:db8:100::2', '2001:db8:100::3'],
  uncanonical: ['2001:DB8:100:0:0::1', '2001:0db8:100::0002', '2001:db8:100:0::3'],
};

/** One inventory, from a seeded chooser and the choices forced on it. */
export function generate(rnd: () => number, force: Force = {}): { doc: Obj; tags: string[] } {
  const c = new Chooser(rnd, force);
  const mode = c.pick('mode');
  const shape = c.pick('directors');
  const pair = shape === 'pair';
  const withVrrp = pair || shape === 'single-vrrp';
  const ifacePool = c.some(OPTIONS.interface, 4);
  const hosts: Obj = {};
  const names = DIRECTOR_NAMES[c.pick('director.names') as keyof typeof DIRECTOR_NAMES].slice(0, pair ? 2 : 1);
  for (const h of names) hosts[h] = {}; // addresses once the instances' families are known
  // Real servers: NAT ones on the DIP's subnet (IPv4), DR/TUN ones with both families.
  REAL_SERVERS.forEach((h, i) => {
    hosts[h] =
      mode === 'nat'
        ? { address: `10.0.0.${11 + i}` }
        : { address: `192.0.2.${11 + i}`, address6: `2001:db8:1::${11 + i}` };
  });
  const x: Ctx = {
    c,
    mode,
    keepalivedDirectors: shape !== 'single-ipvsadm',
    hosts,
    fwmarks: new Set(),
    sorryServers: 0,
  };
  const d: Obj = {};
  if (shape === 'single-ipvsadm') {
    if (c.pick('directors.engine_key') === 'explicit') d.engine = 'ipvsadm';
  } else d.engine = 'keepalived';
  const instances = withVrrp ? vrrpInstances(c, ifacePool) : [];

  // Every instance carries an address (keepalived: "No VIP specified"): the DIP on one, the VIPs
  // on the rest. carried[k]: the families of instance k's VIPs, in order.
  const uncovered = new Set(instances.keys());
  const carried: (4 | 6)[][] = instances.map(() => []);
  if (mode === 'nat') {
    d.dip = { address: '10.0.0.1', prefix: 24, interface: c.one(ifacePool) };
    c.tags.add('dip=set');
    if (instances.length) {
      const w = c.pick('dip.vrrp_instance', instances.length > 1 ? OPTIONS['dip.vrrp_instance'] : ['unset', 'first']);
      const on = w === 'other' ? c.int(1, instances.length - 1) : 0;
      if (w !== 'unset') d.dip.vrrp_instance = instances[on]!.name;
      uncovered.delete(on);
    }
    const m = c.pick('masquerade');
    if (m !== 'unset') d.masquerade = m === 'true';
  } else c.tags.add('dip=none');

  const vips: Obj[] = [];
  const nv = num(
    c.pick(
      'vip.count',
      OPTIONS['vip.count'].filter((k) => num(k) >= uncovered.size),
    ),
  );
  for (let i = 0; i < nv; i++) {
    const family = mode === 'nat' ? 4 : (num(c.pick('vip.family')) as 4 | 6);
    if (mode === 'nat') c.tags.add('vip.family=4');
    const spelling = family === 6 ? c.pick('vip.spelling') : 'canonical';
    const v: Obj = { address: family === 4 ? VIP4[i] : VIP6[spelling as keyof typeof VIP6][i] };
    const pf = c.pick('vip.prefix');
    if (pf !== 'unset') v.prefix = { host: family === 4 ? 32 : 128, net: family === 4 ? 24 : 64, short: 1 }[pf];
    let on = 0;
    if (instances.length) {
      // When as many instances lack an address as VIPs are left, this one goes to one of them.
      const others = [...uncovered].filter((k) => k > 0);
      const must = uncovered.size >= nv - i;
      const values = OPTIONS['vip.vrrp_instance'].filter((w) =>
        w === 'own' ? instances.length > 1 && (!must || others.length > 0) : !must || uncovered.has(0),
      );
      const w = c.pick('vip.vrrp_instance', values);
      if (w === 'own') on = others.length ? c.one(others) : c.int(1, instances.length - 1);
      if (w !== 'unset') v.vrrp_instance = instances[on]!.name;
      uncovered.delete(on);
      carried[on]!.push(family);
    }
    const home = instances[on]?.interface ?? ifacePool[0];
    v.interface = c.pick('vip.interface') === 'instance' ? home : c.one(ifacePool.filter((f) => f !== home));
    const used = new Set<string>();
    v.services = Array.from({ length: num(c.pick('service.count')) }, () => service(x, family, used));
    vips.push(v);
  }

  // An instance's family is its first address's (a DIP alone: IPv4).
  const families = carried.map((f) => f[0] ?? 4);
  const vrrp = withVrrp ? vrrpSettings(c, instances, families, pair) : undefined;
  if (vrrp) vrrpScripts(c, vrrp, ifacePool);
  // Unicast peers speak each instance's family: the directors need an address of every one.
  const fams = new Set(families);
  const addrs = OPTIONS['director.addresses'].filter(
    (a) => vrrp?.unicast !== true || [...fams].every((f) => a === 'v4+v6' || a === `v${f}`),
  );
  const fam = c.pick('director.addresses', addrs);
  names.forEach((h, i) => {
    const v4 = `198.51.100.${2 + i}`;
    const v6 = `2001:db8::${2 + i}`;
    hosts[h] = { v6: { address: v6 }, v4: { address: v4 }, 'v4+v6': { address: v4, address6: v6 } }[fam];
  });
  d.hosts = members(c, names, vrrp);
  if (vrrp) d.vrrp = vrrp;
  if (vrrp) instanceMasters(c, vrrp.instances, names, mode);
  const sync = c.pick('sync_daemon');
  if (sync !== 'none') {
    d.sync_daemon = { interface: c.one(ifacePool) };
    if (sync !== 'default-id') d.sync_daemon.id = sync === 'id0' ? 0 : 255;
    const follows = c.pick('sync_daemon.vrrp_instance', instances.length ? undefined : ['unset']);
    if (follows === 'last') d.sync_daemon.vrrp_instance = instances.at(-1)!.name;
  }

  const doc: Obj = {
    cluster: `corpus-${c.int(0, 9999)}`,
    mode,
    ...(mode !== 'nat' && { vars: { interface: 'eth0' } }),
    groups: { web: { hosts: [...GROUPS.web] }, app: { hosts: [...GROUPS.app] } },
    hosts,
    directors: d,
    vips,
  };
  const usedIfaces = [
    ...instances.map((i) => i.interface),
    ...vips.map((v) => v.interface),
    d.dip?.interface,
    d.sync_daemon?.interface,
  ];
  for (const i of usedIfaces) if (i !== undefined) c.tags.add(`interface=${i}`);
  if (c.pick('ipvs.timeouts') === 'set') doc.ipvs = { timeouts: { tcp: 900, tcpfin: 120, udp: 300 } };
  if (c.pick('ipvs.sysctl') === 'set') doc.ipvs = { ...doc.ipvs, sysctl: { expire_nodest_conn: 1, conntrack: 1 } };
  return { doc, tags: [...c.tags].sort() };
}

/** Risky mixes that are valid: each is generated several times, the rest of it at random, and
 * must be accepted and pass keepalived -t. */
export const RISKY: Record<string, Force> = {
  'ipv4-and-ipv6-in-one-instance': {
    mode: 'dr',
    directors: 'pair',
    'vrrp.instances': '1',
    'vip.count': '3',
    'vip.family#0': '4',
    'vip.family#1': '6',
    'vip.family#2': '4',
  },
  'ipv6-first-then-ipv4-in-one-instance': {
    mode: 'tun',
    directors: 'pair',
    'vrrp.instances': '1',
    'vip.count': '2',
    'vip.family#0': '6',
    'vip.family#1': '4',
  },
  'ah-with-unicast': { directors: 'pair', 'vip.family': '4', 'vrrp.auth': 'AH', 'vrrp.unicast': 'true' },
  'ah-nopreempt-backup-backup': { mode: 'nat', directors: 'pair', 'vrrp.auth': 'AH', 'vrrp.nopreempt': 'true' },
  'ipv6-unicast-peers': {
    mode: 'dr',
    directors: 'pair',
    'vrrp.unicast': 'true',
    'vip.family': '6',
    'director.addresses': 'v4+v6',
  },
  'ipv6-unicast-peers-ipv6-only-directors': {
    mode: 'tun',
    directors: 'pair',
    'vrrp.unicast': 'true',
    'vip.family': '6',
    'director.addresses': 'v6',
  },
  'mixed-families-unicast-dual-stack-directors': {
    mode: 'dr',
    directors: 'pair',
    'vrrp.instances': '2',
    'vip.count': '2',
    'vip.family#0': '4',
    'vip.family#1': '6',
    'vip.vrrp_instance#0': 'first',
    'vip.vrrp_instance#1': 'own',
    'vrrp.unicast': 'true',
  },
  'https-virtualhost-ipv6-service': {
    mode: 'dr',
    directors: 'single-keepalived',
    'vip.family': '6',
    'service.kind': 'tcp',
    'service.engine': 'keepalived', // a health check needs it (unset leaves it to chance)
    'check.type': 'https',
    'check.virtualhost': 'ipv6',
  },
  'fwmark-ipv6-sorry-server': {
    mode: 'dr',
    directors: 'pair',
    'vip.family': '6',
    'service.kind': 'fwmark',
    'service.engine': 'keepalived',
    sorry_server: 'address',
  },
  'fwmark-ipv6-persistence-prefix': {
    mode: 'tun',
    directors: 'single-keepalived',
    'vip.family': '6',
    'service.kind': 'fwmark',
    persistence: 'timeout+netmask',
  },
  'fwmark-ipv4-persistence-netmask': {
    mode: 'nat',
    directors: 'single-keepalived',
    'service.kind': 'fwmark',
    persistence: 'timeout+netmask',
  },
  'fwmark-udp-udp-check': {
    directors: 'single-keepalived',
    'service.kind': 'fwmark',
    'fwmark.protocol': 'udp',
    'service.engine': 'keepalived',
    'check.type': 'udp',
  },
  'fwmark-nat-real-server-port-mapped': {
    mode: 'nat',
    directors: 'single-keepalived',
    'service.kind': 'fwmark',
    'rs.port': 'mapped',
  },
  'fwmark-nat-sorry-server-port': {
    mode: 'nat',
    directors: 'single-keepalived',
    'service.kind': 'fwmark',
    'service.engine': 'keepalived',
    sorry_server: 'address+port',
  },
  'fwmark-beside-port-services': {
    directors: 'single-keepalived',
    'vip.count': '1',
    'service.count': '3',
    'service.kind#0': 'tcp',
    'service.kind#1': 'fwmark',
    'service.kind#2': 'tcp',
    'fwmark.protocol': 'tcp',
    'fwmark.ports': '3',
  },
  'sync-daemon-without-vrrp': { directors: 'single-keepalived', sync_daemon: 'id255' },
  'sync-daemon-default-id-without-vrrp': { directors: 'single-keepalived', sync_daemon: 'default-id' },
  'sync-daemon-pair-3-instances': { directors: 'pair', 'vrrp.instances': '3', sync_daemon: 'id0' },
  'active-active-two-masters-three-instances': {
    mode: 'dr',
    directors: 'pair',
    'vrrp.instances': '3',
    'vip.count': '3',
    'vip.vrrp_instance': 'own',
    'vrrp.instance_master#0': 'first',
    'vrrp.instance_master#1': 'second',
    'vrrp.instance_master#2': 'second',
    sync_daemon: 'id0',
    'sync_daemon.vrrp_instance': 'last',
  },
  'three-instances-each-with-its-vips': { directors: 'pair', 'vrrp.instances': '3', 'vip.vrrp_instance': 'own' },
  'nat-dip-alone-on-last-instance': {
    mode: 'nat',
    directors: 'pair',
    'vrrp.instances': '2',
    'vip.vrrp_instance': 'first',
    'dip.vrrp_instance': 'other',
  },
  'vrid-reused-on-other-interface': {
    directors: 'pair',
    'vrrp.instances': '3',
    'vrrp.instance_interfaces': 'different',
    'vrrp.vrid': 'reused',
  },
  'some-weights-0-inhibit-sorry': {
    directors: 'single-keepalived',
    'service.engine': 'keepalived',
    'rs.ref': 'mixed',
    'rs.weight': '0',
    inhibit_on_failure: 'true',
    sorry_server: 'address',
  },
  'thresholds-max': { directors: 'single-keepalived', 'rs.thresholds': 'max', 'service.engine': 'keepalived' },
  'thresholds-zero': { directors: 'pair', 'rs.thresholds': 'zero' },
  'check-extremes': {
    directors: 'single-keepalived',
    'service.kind': 'tcp',
    'service.engine': 'keepalived',
    'check.type': 'http',
    'check.retry': '0',
    'check.connect_timeout': '3600',
    'check.delay_loop': '3600',
    'check.delay_before_retry': '3600',
    'check.status': '100',
  },
  'check-long-path-specials': {
    directors: 'single-keepalived',
    'service.kind': 'tcp',
    'service.engine': 'keepalived',
    'check.type': 'https',
    'check.path': 'long',
    'rs.health_check': 'own',
  },
  'udp-ops-persistence': {
    mode: 'dr',
    directors: 'pair',
    'service.kind': 'udp',
    ops: 'true',
    persistence: 'timeout+netmask',
    'check.type': 'udp',
  },
  'sh-both-flags-keepalived': { directors: 'pair', scheduler: 'sh', 'scheduler.flags': 'both' },
  'mh-both-flags-ipv6': {
    mode: 'dr',
    directors: 'pair',
    'vip.family': '6',
    scheduler: 'mh',
    'scheduler.flags': 'both',
  },
  'advert-int-255-long-instance-names': {
    directors: 'pair',
    'vip.family': '4',
    'vrrp.advert_int': '255',
    'vrrp.instance_advert_int': '255',
    'vrrp.instance_name': 'long',
  },
  'advert-int-40-ipv6': {
    mode: 'dr',
    directors: 'pair',
    'vip.family': '6',
    'vrrp.advert_int': '40',
    'vrrp.instance_advert_int': 'unset',
  },
  'priorities-extremes-backup-backup': {
    directors: 'pair',
    'directors.member_form': 'object',
    'directors.states': 'BACKUP/BACKUP',
    'directors.priorities': 'extremes',
  },
  'single-vrrp-pass-auth': { directors: 'single-vrrp', 'vip.family': '4', 'vrrp.auth': 'PASS' },
  'ipvsadm-directors-keepalived-services': { directors: 'single-ipvsadm', 'service.engine': 'keepalived' },
  'persistence-timeout-max-ipv6-prefix-1': {
    mode: 'dr',
    directors: 'pair',
    'vip.family': '6',
    persistence: 'timeout+netmask',
    'persistence.timeout': '2678400',
    'persistence.netmask6': '1',
  },
  'vip-short-prefix': { directors: 'pair', 'vip.prefix': 'short' },
  'same-fwmark-ipv4-and-ipv6': {
    mode: 'dr',
    directors: 'pair',
    'vrrp.instances': '2',
    'vip.count': '2',
    'vip.family#0': '4',
    'vip.family#1': '6',
    'service.count': '1',
    'service.kind': 'fwmark',
    'fwmark.value': 'one',
  },
  'sorry-server-is-another-services-real-server': {
    directors: 'single-keepalived',
    'service.engine': 'keepalived',
    sorry_server: 'address',
    'sorry_server.address': 'other-real-server',
    inhibit_on_failure: 'true',
  },
  'sorry-server-shared-by-services': {
    directors: 'pair',
    'service.count': '3',
    'service.engine': 'keepalived',
    sorry_server: 'address',
    'sorry_server.address': 'shared',
  },
  'sorry-server-port-is-service-port': {
    mode: 'dr',
    directors: 'single-keepalived',
    'service.kind': 'tcp',
    'service.engine': 'keepalived',
    sorry_server: 'address+service-port',
  },
  'nat-sorry-server-other-port': {
    mode: 'nat',
    directors: 'single-keepalived',
    'service.kind': 'tcp',
    'service.engine': 'keepalived',
    sorry_server: 'address+port',
  },
  'udp-53-dns-check': {
    directors: 'single-keepalived',
    'service.kind': 'udp',
    'service.port': '53',
    'service.engine': 'keepalived',
    'check.type': 'dns',
  },
  'misc-check-on-every-service': { directors: 'pair', 'service.engine': 'keepalived', 'check.type': 'misc' },
};

/** A mistake validation must refuse: made on a coherent inventory (which must be accepted), it
 * must be refused with a problem at `field`. The first group are the mixes whose keepalived.conf
 * failed keepalived -t before validation refused them; the rest are addresses and combinations
 * the network rules refuse. */
export interface RefusedMix {
  force: Force;
  mistake: (doc: Obj) => void;
  /** The field (as InventoryError's problems name it) the refusal must point at. */
  field: RegExp;
}

const svc0 = (doc: Obj): Obj => doc.vips[0].services[0];
const is6 = (addr: string) => addr.includes(':');
const PASS = { type: 'PASS', password_env: 'LVSCTL_VRRP_PASSWORD' };
/** The inventory's director members as objects. */
const memberObjects = (doc: Obj): Obj[] =>
  doc.directors.hosts.map((m: Obj | string) => (typeof m === 'string' ? { host: m } : m));
const ONE_KEEPALIVED_SERVICE: Force = {
  directors: 'single-keepalived',
  'service.engine': 'keepalived',
  'vip.count': '1',
  'service.count': '1',
};

export const REFUSED: Record<string, RefusedMix> = {
  // The config line would pass 1024 bytes: keepalived cuts it.
  'misc-check-command-too-long': {
    force: { ...ONE_KEEPALIVED_SERVICE, 'service.kind': 'tcp', 'check.type': 'misc', 'rs.health_check': 'inherit' },
    mistake: (doc) => void (svc0(doc).health_check.args = ['{address}', 'x'.repeat(940)]),
    field: /health_check$/,
  },
  // keepalived's DNS_CHECK asks over UDP: it would not test a TCP service.
  'dns-check-on-tcp-53': {
    force: { ...ONE_KEEPALIVED_SERVICE, 'service.kind': 'tcp', 'service.port': '53', 'check.type': 'tcp' },
    mistake: (doc) => void (svc0(doc).health_check = { type: 'dns' }),
    field: /health_check\.type$/,
  },
  'sorry-server-is-a-real-server-with-inhibit': {
    force: {
      ...ONE_KEEPALIVED_SERVICE,
      'service.kind': 'tcp',
      sorry_server: 'address+service-port',
      inhibit_on_failure: 'true',
      'rs.ref': 'hosts',
      'rs.port': 'unset',
    },
    mistake: (doc) => {
      const s = svc0(doc);
      const rs = doc.hosts[s.real_servers[0].host];
      s.sorry_server.address = is6(doc.vips[0].address) ? rs.address6 : rs.address;
    },
    field: /sorry_server\.address$/,
  },
  'two-hosts-one-address': {
    force: {},
    mistake: (doc) => void (doc.hosts.rs2.address = doc.hosts.rs1.address),
    field: /^hosts\.rs2\.address$/,
  },
  'instance-without-vip': {
    force: { directors: 'pair' },
    mistake: (doc) => {
      const insts: Obj[] = doc.directors.vrrp.instances;
      const iface = insts[0]!.interface;
      const taken = new Set(insts.filter((i) => i.interface === iface).map((i) => i.virtual_router_id));
      const vrid = [...Array(255).keys()].map((k) => k + 1).find((k) => !taken.has(k));
      insts.push({ name: 'VI_EMPTY', interface: iface, virtual_router_id: vrid });
    },
    field: /instances\[\d\]\.name$/,
  },
  'auth-on-ipv6-instance': {
    force: { mode: 'dr', directors: 'pair', 'vip.family': '6' },
    mistake: (doc) => void (doc.directors.vrrp.auth = PASS),
    field: /^directors\.vrrp\.auth$/,
  },
  'ah-with-unicast-ipv6': {
    force: { mode: 'dr', directors: 'pair', 'vip.family': '6', 'vrrp.unicast': 'true' },
    mistake: (doc) => {
      doc.directors.vrrp.auth = { ...PASS, type: 'AH' };
      doc.directors.hosts = memberObjects(doc).map((m) => ({ ...m, state: 'BACKUP' }));
    },
    field: /^directors\.vrrp\.auth$/,
  },
  'ah-with-master': {
    force: { mode: 'nat', directors: 'pair', 'vrrp.nopreempt': 'false', 'vrrp.auth': 'PASS' },
    mistake: (doc) => {
      doc.directors.vrrp.auth.type = 'AH';
      doc.directors.hosts = memberObjects(doc).map((m, i) => ({ ...m, state: i === 0 ? 'MASTER' : 'BACKUP' }));
    },
    field: /^directors\.hosts\[0\]$/,
  },
  'ah-single-director': {
    force: { mode: 'nat', directors: 'single-vrrp', 'vrrp.auth': 'PASS' },
    mistake: (doc) => void (doc.directors.vrrp.auth.type = 'AH'),
    field: /^directors\.vrrp\.auth\.type$/,
  },
  'advert-int-41-on-ipv6': {
    force: { mode: 'dr', directors: 'pair', 'vip.family': '6' },
    mistake: (doc) => {
      doc.directors.vrrp.advert_int = 41;
      for (const i of doc.directors.vrrp.instances) delete i.advert_int;
    },
    field: /^directors\.vrrp\.advert_int$/,
  },
  'instance-advert-int-41-on-ipv6': {
    force: { mode: 'tun', directors: 'pair', 'vip.family': '6', 'vrrp.instances': '1' },
    mistake: (doc) => void (doc.directors.vrrp.instances[0].advert_int = 41),
    field: /instances\[0\]\.advert_int$/,
  },
  'unicast-ipv6-instance-directors-ipv4-only': {
    force: { mode: 'dr', directors: 'pair', 'vip.family': '6', 'director.addresses': 'v4', 'vrrp.unicast': 'false' },
    mistake: (doc) => void (doc.directors.vrrp.unicast = true),
    field: /address6$/,
  },
  'unicast-ipv4-instance-directors-ipv6-only': {
    force: { directors: 'pair', 'vip.family': '4', 'director.addresses': 'v6', 'vrrp.unicast': 'false' },
    mistake: (doc) => void (doc.directors.vrrp.unicast = true),
    field: /^hosts(\.|\[).*\.address$/, // a host name with a dot is written hosts["dir.1"]
  },
  'all-weights-0': {
    force: ONE_KEEPALIVED_SERVICE,
    mistake: (doc) => svc0(doc).real_servers.forEach((r: Obj) => (r.weight = 0)),
    field: /services\[0\]\.real_servers$/,
  },
  'fwmark-real-server-port-in-dr': {
    force: { ...ONE_KEEPALIVED_SERVICE, mode: 'dr', 'service.kind': 'fwmark' },
    mistake: (doc) => void (svc0(doc).real_servers[0].port = svc0(doc).ports[0]),
    field: /real_servers\[0\]\.port$/,
  },
  'fwmark-sorry-server-port-in-dr': {
    force: { ...ONE_KEEPALIVED_SERVICE, mode: 'dr', 'service.kind': 'fwmark', sorry_server: 'address' },
    mistake: (doc) => void (svc0(doc).sorry_server.port = svc0(doc).ports[0]),
    field: /sorry_server\.port$/,
  },
  'sorry-server-port-differs-in-dr': {
    force: { ...ONE_KEEPALIVED_SERVICE, mode: 'dr', 'service.kind': 'tcp', sorry_server: 'address' },
    mistake: (doc) => void (svc0(doc).sorry_server.port = svc0(doc).port === 8080 ? 8081 : 8080),
    field: /sorry_server\.port$/,
  },
  // Refused by the network rules.
  'sorry-server-is-the-vip': {
    force: { ...ONE_KEEPALIVED_SERVICE, sorry_server: 'address' },
    mistake: (doc) => void (svc0(doc).sorry_server.address = doc.vips[0].address),
    field: /sorry_server\.address$/,
  },
  'nat-sorry-server-outside-dip-subnet': {
    force: { ...ONE_KEEPALIVED_SERVICE, mode: 'nat', sorry_server: 'address' },
    mistake: (doc) => void (svc0(doc).sorry_server.address = '203.0.113.50'),
    field: /sorry_server\.address$/,
  },
  'sorry-server-is-a-director': {
    force: {
      ...ONE_KEEPALIVED_SERVICE,
      mode: 'dr',
      'vip.family': '4',
      'director.addresses': 'v4+v6',
      sorry_server: 'address',
    },
    mistake: (doc) => void (svc0(doc).sorry_server.address = Object.values(doc.hosts as Obj)[0].address),
    field: /sorry_server\.address$/,
  },
  'ipv6-link-local-vip': {
    force: { mode: 'dr', directors: 'pair', 'vip.family': '6' },
    mistake: (doc) => void (doc.vips[0].address = 'fe80::100:1'),
    field: /^vips\[0\]\.address$/,
  },
  'ipv4-mapped-ipv6-vip': {
    force: { mode: 'tun', directors: 'pair', 'vip.family': '6' },
    mistake: (doc) => void (doc.vips[0].address = '::ffff:203.0.113.200'),
    field: /^vips\[0\]\.address$/,
  },
  'loopback-vip': {
    force: { mode: 'nat' },
    mistake: (doc) => void (doc.vips[0].address = '127.0.0.10'),
    field: /^vips\[0\]\.address$/,
  },
  'multicast-vip': {
    force: { mode: 'dr', 'vip.family': '4' },
    mistake: (doc) => void (doc.vips[0].address = '224.0.0.18'),
    field: /^vips\[0\]\.address$/,
  },
  'nopreempt-single-director': {
    force: { directors: 'single-vrrp' },
    mistake: (doc) => void (doc.directors.vrrp.nopreempt = true),
    field: /^directors\.vrrp\.nopreempt$/,
  },
  'unicast-single-director': {
    force: { directors: 'single-vrrp' },
    mistake: (doc) => void (doc.directors.vrrp.unicast = true),
    field: /^directors\.vrrp\.unicast$/,
  },
  'instance-master-not-a-director': {
    force: { directors: 'pair' },
    mistake: (doc) => void (doc.directors.vrrp.instances[0].master = 'lvs-z'),
    field: /instances\[0\]\.master$/,
  },
  'instance-backup-outranks-its-master': {
    force: { mode: 'dr', directors: 'pair', 'vrrp.instance_master#0': 'first', 'vrrp.instance_priorities': 'set' },
    mistake: (doc) => {
      const inst = doc.directors.vrrp.instances[0];
      const other = Object.keys(inst.priorities).find((h) => h !== inst.master)!;
      inst.priorities[other] = 254;
      inst.priorities[inst.master] = 100;
    },
    field: /instances\[0\]\.priorities(\.|\[).*$/,
  },
  'sync-daemon-follows-unknown-instance': {
    force: { directors: 'pair', sync_daemon: 'id0' },
    mistake: (doc) => void (doc.directors.sync_daemon.vrrp_instance = 'VI_NONE'),
    field: /^directors\.sync_daemon\.vrrp_instance$/,
  },
  'nat-shared-pool-two-masters': {
    force: { mode: 'nat', directors: 'pair', 'vrrp.instances': '2', 'vip.count': '2', 'vip.vrrp_instance': 'own' },
    mistake: (doc) => {
      const [a, b] = doc.directors.vrrp.instances;
      const names = memberObjects(doc).map((m) => m.host);
      for (const i of [a, b]) delete i.priorities;
      a.master = names[0];
      b.master = names[1];
      // the first VIP on b, the second VIP (and the DIP) on a: the pool serves both masters
      doc.vips[0].vrrp_instance = b.name;
      doc.vips[1].vrrp_instance = a.name;
      if (doc.directors.dip) doc.directors.dip.vrrp_instance = a.name;
    },
    field: /real_servers\[\d+\]$/,
  },
  'fwmark-port-is-a-port-service-of-the-vip': {
    force: {
      'vip.count': '1',
      'service.count': '2',
      'service.kind#0': 'tcp',
      'service.kind#1': 'fwmark',
      'fwmark.protocol': 'tcp',
    },
    mistake: (doc) => void doc.vips[0].services[1].ports.push(svc0(doc).port),
    field: /services\[1\]\.ports\[\d\]$/,
  },
};

export const SEED = 0x1b5c7a11;

/** The corpus: `random` inventories at random, then each risky mix `perRisky` times. */
export function corpus(seed = SEED, random = 320, perRisky = 4): CorpusCase[] {
  const rnd = mulberry32(seed);
  const out: CorpusCase[] = [];
  const add = (id: string, force: Force) => {
    const { doc, tags } = generate(rnd, force);
    out.push({ id, text: stringify(doc, { lineWidth: 0 }), tags, ...(Object.keys(force).length > 0 && { force }) });
  };
  for (let i = 0; i < random; i++) add(`r${String(i).padStart(3, '0')}`, {});
  Object.entries(RISKY).forEach(([name, force], k) => {
    for (let j = 0; j < perRisky; j++) add(`x${String(k).padStart(2, '0')}-${name}.${j}`, force);
  });
  return out;
}

export interface RefusedCase {
  /** "name.2" */
  id: string;
  name: string;
  /** The coherent inventory, before the mistake. */
  base: string;
  text: string;
  field: RegExp;
}

/** Each refused mix `per` times, the rest of each inventory at random. */
export function refusedCases(seed = SEED ^ 0x5eed, per = 3): RefusedCase[] {
  const rnd = mulberry32(seed);
  return Object.entries(REFUSED).flatMap(([name, mix]) =>
    Array.from({ length: per }, (_, j) => {
      const { doc } = generate(rnd, mix.force);
      const base = stringify(doc, { lineWidth: 0 });
      mix.mistake(doc);
      return { id: `${name}.${j}`, name, base, text: stringify(doc, { lineWidth: 0 }), field: mix.field };
    }),
  );
}
