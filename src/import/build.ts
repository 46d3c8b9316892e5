// From a running cluster to an inventory (pure): the directors' live IPVS tables, addresses, mark
// rules, sysctls and sync daemon, and what the real servers hold, become an lvsctl inventory that
// asks for exactly what runs. A service that cannot be written so is left out and listed: lvsctl
// never touches a service the inventory does not name, so `plan` then shows no IPVS change.
import { Document, isMap, type YAMLMap } from 'yaml';
import { LvsctlError } from '../errors.js';
import { canonicalIfAddress, familyOf, inSubnet4, network4, sameAddress } from '../identity/address.js';
import { serviceKey } from '../identity/service.js';
import { liveTable } from '../ipvs/list.js';
import type { Forward, IpvsService, IpvsTable } from '../ipvs/table.js';
import { NAME_PATTERN, SchedulerFlags, Schedulers } from '../inventory/types.js';
import { bootScriptWords, type BootScript } from '../resources/boot-scripts.js';
import type { ImportFacts } from './facts.js';
import { readKeepalivedConf } from './keepalived-conf.js';
import { keepalivedParts } from './keepalived-map.js';

export class ImportError extends LvsctlError {}

/** A host as `import` reached it (or not). */
export interface Reached {
  /** How it was reached: the --from words, or a real server's address. */
  dest: string;
  facts?: ImportFacts;
  /** Why it was not reached. */
  error?: string;
}

export interface ImportInput {
  cluster?: string;
  directors: Reached[];
  /** By real-server address (as the directors' tables name them). */
  realServers: Map<string, Reached>;
  /** The ssh_config the hosts were resolved with (-F), relative to the written inventory. */
  sshConfig?: string;
}

export interface ImportResult {
  /** The inventory, as YAML with comments. */
  text: string;
  /** What runs and is not in the inventory, one line each (also in the file's header). */
  notImported: string[];
  /** Boot-time scripts that program IPVS, per host. */
  fighters: { host: string; fighter: BootScript }[];
  /** Files to write beside the inventory (the VRRP password, mode 0600), by name. */
  files: { name: string; content: string; mode: number }[];
}

const MODE_OF: Record<Forward, 'nat' | 'dr' | 'tun'> = { masq: 'nat', route: 'dr', tunnel: 'tun' };
const DEFAULT_TIMEOUTS = [900, 120, 300];
const IPVS_SYSCTLS = ['expire_nodest_conn', 'expire_quiescent_template', 'conntrack', 'conn_reuse_mode'] as const;
const IPVS_SYSCTL_DEFAULTS: Record<string, string> = {
  expire_nodest_conn: '0',
  expire_quiescent_template: '0',
  conntrack: '0',
  conn_reuse_mode: '1',
};
const PORT_NAMES: Record<string, string> = {
  'tcp 80': 'http',
  'tcp 443': 'https',
  'tcp 25': 'smtp',
  'tcp 22': 'ssh',
  'udp 53': 'dns',
  'tcp 53': 'dns-tcp',
  'tcp 3306': 'mysql',
  'tcp 5432': 'postgres',
  'tcp 6379': 'redis',
  'udp 123': 'ntp',
};

/** keepalived programs the table (it runs, and its configuration has virtual servers). */
const keepalivedOwns = (f: ImportFacts): boolean =>
  f.facts.keepalivedPids.length > 0 && /^\s*virtual_server(_group)?\s/m.test(f.keepalivedConf ?? '');

/** The real servers the directors send to, for `import` to read next. */
export function realServerAddresses(directors: ImportFacts[]): string[] {
  const out = new Set<string>();
  for (const f of directors)
    for (const s of liveTable(f.facts).services) for (const d of s.destinations) out.add(canonicalIfAddress(d.address));
  return [...out];
}

/** A name the schema takes, unique among `taken`. */
function uniqueName(want: string, taken: Set<string>): string {
  let base = want
    .replace(/[^A-Za-z0-9_.-]+/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 56);
  if (!NAME_PATTERN.test(base)) base = 'host';
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

/** The mark rules of a fwmark service: its VIP, protocol and ports, from the mangle table's MARK
 * rules (iptables-save prints --set-xmark 0xN/0xffffffff). */
function markRule(
  f: ImportFacts,
  s: { fwmark: number; family: 4 | 6 },
): { vip: string; protocol: 'tcp' | 'udp'; ports: number[] } | string {
  const rules = f.mangle[s.family].filter((l) => {
    const m = /--set-(?:x)?mark (0x[0-9a-f]+|\d+)(?:\/0xffffffff)?(?:\s|$)/.exec(l);
    return m && Number(m[1]) === s.fwmark && / -j MARK /.test(l);
  });
  if (!rules.length) return `no MARK rule in the mangle table sets mark ${s.fwmark}`;
  const vips = new Set<string>();
  const protocols = new Set<string>();
  const ports = new Set<number>();
  for (const r of rules) {
    const d = / -d (\S+?)(?:\/(?:32|128))?(?:\s|$)/.exec(r)?.[1];
    const p = / -p (tcp|udp)\b/.exec(r)?.[1];
    const list = / --dports? (\S+)/.exec(r)?.[1];
    if (!d || !p || !list || / (-s|-i|! )/.test(r.replace(/^-A \S+/, '')))
      return `its mark rule is not "-d VIP -p tcp|udp --dport(s) PORTS": ${r}`;
    vips.add(canonicalIfAddress(d));
    protocols.add(p);
    for (const part of list.split(',')) {
      const [a, b] = part.split(':').map(Number);
      const end = b ?? a!;
      if (!Number.isInteger(a) || !Number.isInteger(end) || end - a! > 1024)
        return `its mark rule has a port range lvsctl would not list: ${part}`;
      for (let q = a!; q <= end; q++) ports.add(q);
    }
  }
  if (vips.size !== 1 || protocols.size !== 1) return `its mark rules name several VIPs or protocols`;
  return {
    vip: [...vips][0]!,
    protocol: [...protocols][0] as 'tcp' | 'udp',
    ports: [...ports].sort((x, y) => x - y),
  };
}

/** Why a live service cannot be written in the inventory as it runs, or undefined. */
function inexpressible(s: IpvsService, forward: Forward, directorAddrs: string[]): string | undefined {
  if (s.protocol === 'sctp') return 'SCTP services are not supported';
  if (s.pe) return `the persistence engine "${s.pe}" is not supported`;
  if (!(Schedulers as readonly string[]).includes(s.scheduler))
    return `the scheduler "${s.scheduler}" is not supported`;
  if (s.schedFlags.some((f) => !(SchedulerFlags as readonly string[]).includes(f)))
    return `the scheduler flags ${s.schedFlags.join(',')} are not supported`;
  if (!s.destinations.length) return 'it has no real server';
  for (const d of s.destinations) {
    if (d.forward !== forward)
      return `its real server ${d.address} is forwarded by ${MODE_OF[d.forward]}, the cluster by ${MODE_OF[forward]}`;
    if (d.tunnel && d.tunnel.type !== 'ipip') return `its real server ${d.address} uses a ${d.tunnel.type} tunnel`;
    if (forward !== 'masq' && s.protocol !== 'fwmark' && d.port !== s.port)
      return `its real server ${d.address} listens on port ${d.port}, which only NAT can map`;
    if (directorAddrs.some((a) => sameAddress(a, d.address)))
      return `its real server ${d.address} is the director itself`;
  }
  return undefined;
}

/** The directors import can read a cluster from: each reached; keepalived programs the services on
 * all of them or on none; several only when keepalived pairs them. Checked before the real servers
 * are read. */
export function checkDirectors(directors: Reached[]): Reached[] {
  for (const d of directors)
    if (!d.facts) throw new ImportError(`director ${d.dest} was not reached: ${d.error ?? 'unknown error'}`);
  const ka = directors.filter((d) => keepalivedOwns(d.facts!));
  if (ka.length && ka.length < directors.length)
    throw new ImportError(
      `keepalived programs the virtual services on ${ka.map((d) => d.dest).join(', ')} and not on ${directors
        .filter((d) => !ka.includes(d))
        .map((d) => d.dest)
        .join(', ')}: import the directors of one cluster`,
    );
  if (directors.length > 1 && !ka.length)
    throw new ImportError(
      'several directors without keepalived pairing them: import one director (--from once) per cluster',
    );
  return directors;
}

/** The director's own address for the inventory: the one beside its VIPs (in their subnet first),
 * else its default route's interface's. */
function directorAddress(f: ImportFacts, vips: ReadonlySet<string>) {
  const devs = new Set(f.facts.addresses.filter((a) => vips.has(canonicalIfAddress(a.address))).map((a) => a.dev));
  const candidates = f.facts.addresses.filter(
    (a) => devs.has(a.dev) && a.family === 4 && !vips.has(canonicalIfAddress(a.address)),
  );
  return (
    candidates.find((a) => [...vips].some((v) => familyOf(v) === 4 && inSubnet4(v, a.address, a.prefix))) ??
    candidates[0] ??
    f.facts.addresses.find((a) => a.dev === f.facts.defaultRoute4?.dev && a.family === 4)
  );
}

export function buildInventory(input: ImportInput): ImportResult {
  const notImported: string[] = [];
  const fighters: ImportResult['fighters'] = [];
  const reached = checkDirectors(input.directors);
  const first = reached[0]!.facts!;
  const ka = keepalivedOwns(first);
  const confs = ka ? reached.map((d) => readKeepalivedConf(d.facts!.keepalivedConf ?? '')) : [];

  const names = new Set<string>();
  const hosts: Record<string, Record<string, unknown>> = {};
  const hostComments = new Map<string, string>();
  const dirAddrs = reached.flatMap((d) => d.facts!.facts.addresses.map((a) => a.address));
  const table = liveTable(first.facts);
  // The VIPs: the table's addresses, and with keepalived the addresses its instances float.
  const vipSet = new Set([
    ...table.services.flatMap((s) => (s.protocol === 'fwmark' ? [] : [canonicalIfAddress(s.address)])),
    ...confs.flatMap((c) => c.instances.flatMap((i) => i.addresses.map((a) => canonicalIfAddress(a.address)))),
  ]);

  // The directors, named as they name themselves; with unicast VRRP their address is their source.
  const dirNames = reached.map((d, i) => {
    const f = d.facts!;
    const name = uniqueName(f.hostname.split('.')[0] || 'director', names);
    const own = directorAddress(f, vipSet);
    const src = confs[i]?.instances[0]?.unicastSrc;
    const dest = parseDest(d.dest);
    const address = src ?? own?.address ?? dest.host;
    hosts[name] = {
      address,
      ...(dest.host !== address || dest.port || dest.user
        ? { ssh: { host: dest.host, ...(dest.port && { port: dest.port }), ...(dest.user && { user: dest.user }) } }
        : {}),
    };
    return name;
  });
  const dirName = dirNames[0]!;

  // Real servers: named as they name themselves where reached.
  const rsName = new Map<string, string>();
  const rsHost = (address: string): string => {
    const key = canonicalIfAddress(address);
    const known = rsName.get(key);
    if (known) return known;
    const r = input.realServers.get(key);
    const name = uniqueName(r?.facts?.hostname.split('.')[0] || `rs-${key.replace(/[.:]/g, '-')}`, names);
    rsName.set(key, name);
    const iface = r?.facts?.facts.addresses.find((a) => sameAddress(a.address, key))?.dev;
    // DR and TUN set ARP sysctls on the real server's interface: unread, eth0 is a guess to check (a
    // wrong one stops its plan before any change: the interface is absent).
    hosts[name] = { address: key, interface: iface ?? 'eth0' };
    if (!r?.facts)
      hostComments.set(
        name,
        `not reached: ${r?.error ?? 'not tried'} (its ssh settings go here; interface eth0 is a guess)`,
      );
    return name;
  };

  let parts: { mode: 'nat' | 'dr' | 'tun'; directors: Record<string, unknown>; vips: unknown[] };
  let password: string | undefined;
  if (ka) {
    const k = keepalivedParts(
      dirNames.map((name, i) => ({ name, conf: confs[i]! })),
      rsHost,
      [...input.realServers.keys()],
      (mark) => markRule(first, { fwmark: mark, family: 4 }),
    );
    notImported.push(...k.notImported);
    if (!k.vips.length)
      throw new ImportError(
        `none of keepalived's virtual servers can be written as an inventory:\n  ${notImported.join('\n  ')}`,
      );
    parts = k;
    password = k.password;
  } else {
    parts = ipvsadmParts(input, first, dirName, table, dirAddrs, rsHost, rsName, vipSet, notImported);
  }

  // IPVS settings that differ from the kernel's defaults.
  const ipvs: Record<string, unknown> = {};
  const t = first.facts.ipvsTimeouts;
  if (t && t.some((x, i) => x !== DEFAULT_TIMEOUTS[i])) ipvs.timeouts = { tcp: t[0], tcpfin: t[1], udp: t[2] };
  const sysctl: Record<string, number> = {};
  for (const k of IPVS_SYSCTLS) {
    const v = first.facts.sysctl.get(`net.ipv4.vs.${k}`);
    if (v !== undefined && v !== IPVS_SYSCTL_DEFAULTS[k]) sysctl[k] = Number(v);
  }
  if (Object.keys(sysctl).length) ipvs.sysctl = sysctl;

  reached.forEach((d, i) => {
    for (const fighter of d.facts!.bootFighters) fighters.push({ host: dirNames[i]!, fighter });
  });
  for (const [a, r] of input.realServers)
    for (const fighter of r.facts?.bootFighters ?? []) fighters.push({ host: rsName.get(a) ?? a, fighter });

  const cluster = uniqueName(input.cluster ?? dirName, new Set());
  const files: ImportResult['files'] = [];
  if (password !== undefined) {
    const file = `${cluster}.vrrp-password`;
    files.push({ name: file, content: `${password}\n`, mode: 0o600 });
    (parts.directors.vrrp as { auth: Record<string, unknown> }).auth.password_file = file;
  }
  const inventory: Record<string, unknown> = {
    cluster,
    mode: parts.mode,
    ...(input.sshConfig && { vars: { ssh: { config: input.sshConfig } } }),
    hosts,
    directors: parts.directors,
    vips: parts.vips,
    ...(Object.keys(ipvs).length && { ipvs }),
  };
  const doc = new Document(inventory);
  doc.commentBefore = header(reached.map((d) => d.dest).join(', '), dirNames.join(', '), notImported, fighters);
  const hostMap = doc.get('hosts', true) as YAMLMap;
  for (const [name, comment] of hostComments) {
    const item = hostMap.items.find((p) => String((p.key as { value?: unknown }).value ?? p.key) === name);
    if (item && isMap(item.value)) item.value.commentBefore = ` ${comment}`;
  }
  return { text: doc.toString({ lineWidth: 0 }), notImported, fighters, files };
}

/** A cluster lvsctl programs with ipvsadm: its services from the live table. */
function ipvsadmParts(
  input: ImportInput,
  first: ImportFacts,
  dirName: string,
  table: IpvsTable,
  dirAddrs: string[],
  rsHost: (address: string) => string,
  rsName: Map<string, string>,
  vipSet: ReadonlySet<string>,
  notImported: string[],
): { mode: 'nat' | 'dr' | 'tun'; directors: Record<string, unknown>; vips: unknown[] } {
  // The forwarding mode: the one most real servers use; a service with another is left out.
  const count = new Map<Forward, number>();
  for (const s of table.services) for (const d of s.destinations) count.set(d.forward, (count.get(d.forward) ?? 0) + 1);
  const forward = [...count].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!forward) throw new ImportError(`${dirName} has no IPVS service with a real server: nothing to import`);
  const mode = MODE_OF[forward];

  const vips = new Map<string, { address: string; prefix?: number; interface: string; services: unknown[] }>();
  const serviceNames = new Set<string>();
  for (const s of table.services) {
    const why = inexpressible(s, forward, dirAddrs);
    let vip: string;
    let head: Record<string, unknown>;
    let reason = why;
    if (s.protocol === 'fwmark') {
      const rule = reason ? undefined : markRule(first, s);
      if (typeof rule === 'string') reason = rule;
      vip = rule && typeof rule !== 'string' ? rule.vip : '';
      head =
        rule && typeof rule !== 'string'
          ? {
              name: uniqueName(`fwmark-${s.fwmark}`, serviceNames),
              protocol: rule.protocol,
              fwmark: s.fwmark,
              ports: rule.ports,
            }
          : {};
    } else {
      vip = canonicalIfAddress(s.address);
      const word = PORT_NAMES[`${s.protocol} ${s.port}`] ?? `${s.protocol}-${s.port}`;
      head = {
        name: uniqueName(word, serviceNames),
        ...(s.protocol !== 'tcp' && { protocol: s.protocol }),
        port: s.port,
      };
    }
    if (reason) {
      notImported.push(`${serviceKey(s)} on ${dirName}: ${reason}`);
      continue;
    }
    let v = vips.get(vip);
    if (!v) {
      const on = first.facts.addresses.find((a) => sameAddress(a.address, vip));
      if (!on)
        throw new ImportError(
          `VIP ${vip} is on no interface of ${dirName}: who answers for it is not something import can tell`,
        );
      v = {
        address: vip,
        ...(on.prefix !== (familyOf(vip) === 6 ? 128 : 32) && { prefix: on.prefix }),
        interface: on.dev,
        services: [],
      };
      vips.set(vip, v);
    }
    const ports = new Set(s.destinations.map((d) => d.port));
    v.services.push({
      ...head,
      scheduler: s.scheduler,
      ...(s.schedFlags.length && { scheduler_flags: s.schedFlags }),
      ...(s.persistence && {
        persistence: {
          timeout: s.persistence.timeout,
          ...(s.persistence.netmask !== undefined && { netmask: s.persistence.netmask }),
        },
      }),
      ...(s.ops && { ops: true }),
      real_servers: s.destinations.map((d) => ({
        host: rsHost(d.address),
        ...(s.protocol !== 'fwmark' && d.port !== s.port && { port: d.port }),
        ...(s.protocol === 'fwmark' && ports.size === 1 && d.port !== 0 && { port: d.port }),
        weight: d.weight,
        ...(d.upperThreshold && { upper_threshold: d.upperThreshold }),
        ...(d.lowerThreshold && { lower_threshold: d.lowerThreshold }),
      })),
    });
  }
  if (!vips.size)
    throw new ImportError(
      `none of ${dirName}'s services can be written as an inventory:\n  ${notImported.join('\n  ')}`,
    );

  // NAT: the real servers' gateway is the director's address on their network (lvsctl's DIP).
  const directors: Record<string, unknown> = { hosts: [dirName] };
  if (mode === 'nat') {
    const rsAddrs = [...rsName.keys()];
    const gateways = new Set(
      rsAddrs.flatMap((a) => {
        const via = input.realServers.get(a)?.facts?.facts.defaultRoute4?.via;
        return via ? [via] : [];
      }),
    );
    const onNet = first.facts.addresses.find(
      (a) =>
        a.family === 4 &&
        rsAddrs.some((r) => familyOf(r) === 4 && inSubnet4(r, a.address, a.prefix)) &&
        !vipSet.has(a.address),
    );
    const dip = first.facts.addresses.find((a) => a.family === 4 && gateways.has(a.address)) ?? onNet;
    if (!dip)
      throw new ImportError(`${dirName} has no address on the real servers' network: NAT needs one (their gateway)`);
    directors.dip = { address: dip.address, prefix: dip.prefix, interface: dip.dev };
    if (gateways.size > 1 || (gateways.size === 1 && !gateways.has(dip.address)))
      notImported.push(
        `real servers' default routes go via ${[...gateways].join(', ')}; lvsctl sets them via ${dip.address}`,
      );
    if (natMasquerades(first, `${network4(dip.address, dip.prefix)}/${dip.prefix}`)) directors.masquerade = true;
  }
  const sync = first.syncDaemons.map((l) => /master sync daemon \(mcast=(\S+?), syncid=(\d+)/.exec(l)).find(Boolean);
  if (sync) directors.sync_daemon = { interface: sync[1], id: Number(sync[2]) };

  return { mode, directors, vips: [...vips.values()] };
}

function header(from: string, dir: string, notImported: string[], fighters: ImportResult['fighters']): string {
  const out = [
    ` Imported by \`lvsctl import\` from ${dir} (${from}): the cluster as it runs.`,
    ' Check it with `lvsctl validate -i FILE`; `lvsctl plan -i FILE` changes no service or VIP.',
  ];
  if (notImported.length)
    out.push(
      ' Not imported (left as it runs: lvsctl never touches a service the inventory does not name):',
      ...notImported.map((n) => `   - ${n}`),
    );
  if (fighters.length)
    out.push(
      ' Boot-time scripts that program IPVS (they would undo lvsctl after a reboot): `up --takeover`',
      ' refuses while one is enabled; with --disable-boot-scripts it disables them, and `down` enables them again.',
      ...fighters.map((f) => `   - ${f.host}: ${bootScriptWords(f.fighter, true)}`),
    );
  return out.join('\n');
}

/** "user@host:port", "host", "[v6]:port" → its parts. */
export function parseDest(dest: string): { host: string; port?: number; user?: string } {
  const at = dest.lastIndexOf('@');
  const user = at > 0 ? dest.slice(0, at) : undefined;
  const rest = at >= 0 ? dest.slice(at + 1) : dest;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) return { host: v6[1]!, ...(v6[2] && { port: Number(v6[2]) }), ...(user && { user }) };
  const hp = /^([^:]+):(\d+)$/.exec(rest);
  if (hp) return { host: hp[1]!, port: Number(hp[2]), ...(user && { user }) };
  return { host: rest, ...(user && { user }) };
}

/** The operator's NAT table masquerades the real servers' network (lvsctl's `masquerade`). */
function natMasquerades(f: ImportFacts, net: string): boolean {
  return f.nat.some((l) => l.includes(`-s ${net}`) && / -j MASQUERADE\b/.test(l));
}
