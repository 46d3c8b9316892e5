// keepalived.conf (read back by keepalived-conf.ts) → the inventory's directors, VRRP and services,
// for `lvsctl import` of a cluster keepalived runs (pure). Each director's file gives its state and
// priority; the first director's gives the rest. Keys lvsctl has no field for go into the raw
// fragments verbatim (a virtual server's keepalived_raw, an instance's raw), so the keepalived.conf
// lvsctl writes programs the same table and the same VRRP.
import { canonicalIfAddress, familyOf, inSubnet4, sameAddress } from '../identity/address.js';
import { rawFragmentProblem } from '../inventory/raw-fragment.js';
import {
  kaOne,
  kaValue,
  type KaConf,
  type KaNode,
  type KaRealServer,
  type KaVirtualServer,
} from './keepalived-conf.js';

export interface KaDirector {
  name: string;
  conf: KaConf;
}

export interface KeepalivedParts {
  mode: 'nat' | 'dr' | 'tun';
  directors: Record<string, unknown>;
  vips: { address: string; prefix?: number; interface: string; vrrp_instance?: string; services: unknown[] }[];
  /** The VRRP password, for import to write into a 0600 file that the inventory names. */
  password?: string;
  notImported: string[];
}

const MODE: Record<string, 'nat' | 'dr' | 'tun'> = { NAT: 'nat', DR: 'dr', TUN: 'tun' };
const PORT_NAMES: Record<string, string> = { 'tcp 80': 'http', 'tcp 443': 'https', 'udp 53': 'dns' };

/** Nodes back to keepalived.conf text (a raw fragment). */
export function kaText(nodes: readonly KaNode[], indent = ''): string {
  return nodes
    .map((n) => {
      const words = n.words.map((w) => (/[\s#!{}"]/.test(w) || w === '' ? `"${w}"` : w)).join(' ');
      return n.children
        ? `${indent}${words} {\n${kaText(n.children, `${indent}    `)}${indent}}\n`
        : `${indent}${words}\n`;
    })
    .join('');
}

const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);

/** A command line (script "path args") as lvsctl's { path, args }, or a reason it is not one. */
function command(line: string | undefined): { path: string; args: string[] } | string {
  const [path, ...args] = (line ?? '').trim().split(/\s+/);
  if (!path?.startsWith('/')) return `"${line ?? ''}" is not an absolute path with arguments`;
  return { path, args };
}

/** A real server's check as a health_check, or why it cannot be one. */
function healthCheck(r: KaRealServer, delayLoop: number | undefined): Record<string, unknown> | string | undefined {
  if (!r.checks.length) return undefined;
  if (r.checks.length > 1) return `${r.address} has ${r.checks.length} checks; lvsctl writes one`;
  const ch = r.checks[0]!;
  const c = ch.children ?? [];
  const timing = {
    ...(num(kaValue(c, 'connect_timeout')) !== undefined && { connect_timeout: num(kaValue(c, 'connect_timeout')) }),
    ...(num(kaValue(c, 'retry', 'nb_get_retry')) !== undefined && { retry: num(kaValue(c, 'retry', 'nb_get_retry')) }),
    ...(num(kaValue(c, 'delay_before_retry')) !== undefined && {
      delay_before_retry: num(kaValue(c, 'delay_before_retry')),
    }),
    ...(delayLoop !== undefined && { delay_loop: delayLoop }),
  };
  const port = num(kaValue(c, 'connect_port'));
  const known = new Set(['connect_timeout', 'retry', 'nb_get_retry', 'delay_before_retry', 'connect_port']);
  const extra = (more: string[]) => c.filter((n) => !known.has(n.words[0]!) && !more.includes(n.words[0]!));
  switch (ch.words[0] ?? '') {
    case 'TCP_CHECK':
    case 'UDP_CHECK': {
      if (extra([]).length) return `${r.address}'s ${ch.words[0]} has ${extra([])[0]!.words[0]}`;
      return { type: ch.words[0] === 'TCP_CHECK' ? 'tcp' : 'udp', ...(port && { port }), ...timing };
    }
    case 'HTTP_GET':
    case 'SSL_GET': {
      const urls = c.filter((n) => n.words[0] === 'url');
      const u = urls[0]?.children ?? [];
      const rest = extra(['url', 'virtualhost']);
      if (urls.length > 1 || rest.length || u.some((n) => !['path', 'status_code'].includes(n.words[0]!)))
        return `${r.address}'s ${ch.words[0]} has more than one url, a digest or other keys lvsctl does not write`;
      const status = num(kaValue(u, 'status_code'));
      return {
        type: ch.words[0] === 'HTTP_GET' ? 'http' : 'https',
        path: kaValue(u, 'path') ?? '/',
        ...(status !== undefined && { status }),
        ...(kaValue(c, 'virtualhost') && { virtualhost: kaValue(c, 'virtualhost') }),
        ...(port && { port }),
        ...timing,
      };
    }
    case 'MISC_CHECK': {
      const cmd = command(kaValue(c, 'misc_path'));
      if (typeof cmd === 'string') return `${r.address}'s MISC_CHECK: ${cmd}`;
      const { connect_timeout: _ct, ...scriptTiming } = timing;
      const rest = extra(['misc_path', 'misc_timeout', 'misc_dynamic']);
      if (rest.length) return `${r.address}'s MISC_CHECK has ${rest[0]!.words[0]}`;
      return {
        type: 'misc',
        misc_path: cmd.path,
        ...(cmd.args.length && { args: cmd.args }),
        ...(num(kaValue(c, 'misc_timeout')) !== undefined && { misc_timeout: num(kaValue(c, 'misc_timeout')) }),
        ...(kaOne(c, 'misc_dynamic') && { misc_dynamic: true }),
        ...scriptTiming,
      };
    }
    case 'DNS_CHECK': {
      const rest = extra(['type', 'name']);
      if (rest.length) return `${r.address}'s DNS_CHECK has ${rest[0]!.words[0]}`;
      return {
        type: 'dns',
        ...(kaValue(c, 'type') && { query_type: kaValue(c, 'type') }),
        ...(kaValue(c, 'name') && { name: kaValue(c, 'name') }),
        ...(port && { port }),
        ...timing,
      };
    }
    default:
      return `${r.address}'s ${ch.words[0]} is not a check lvsctl writes`;
  }
}

/** One virtual_server as a service (its VIP apart), or why it cannot be one. */
function service(
  v: KaVirtualServer,
  mode: string,
  rsHost: (address: string) => string,
  names: Set<string>,
  fwmarkPorts: (mark: number) => { vip: string; protocol: 'tcp' | 'udp'; ports: number[] } | string,
): { vip: string; service: Record<string, unknown> } | string {
  if (MODE[(v.method ?? 'NAT').toUpperCase()] !== mode) return `it forwards by ${v.method}, the cluster by ${mode}`;
  if (!v.realServers.length) return 'it has no real server';
  const protocol = (v.protocol ?? 'TCP').toLowerCase();
  if (protocol !== 'tcp' && protocol !== 'udp') return `protocol ${v.protocol} is not supported`;
  let vip: string;
  let head: Record<string, unknown>;
  if (v.fwmark !== undefined) {
    const rule = fwmarkPorts(v.fwmark);
    if (typeof rule === 'string') return rule;
    vip = rule.vip;
    head = { name: unique(`fwmark-${v.fwmark}`, names), protocol: rule.protocol, fwmark: v.fwmark, ports: rule.ports };
  } else {
    if (!v.address || v.port === undefined) return 'it names no address and port';
    vip = canonicalIfAddress(v.address);
    const word = PORT_NAMES[`${protocol} ${v.port}`] ?? `${protocol}-${v.port}`;
    head = { name: unique(word, names), ...(protocol !== 'tcp' && { protocol }), port: v.port };
  }
  const realServers: unknown[] = [];
  for (const r of v.realServers) {
    const check = healthCheck(r, v.delayLoop);
    if (typeof check === 'string') return check;
    if (r.other.length) return `real server ${r.address} has ${r.other[0]!.words[0]}, which lvsctl does not write`;
    const port = r.port ?? v.port;
    realServers.push({
      host: rsHost(r.address),
      ...(v.fwmark === undefined && port !== v.port && { port }),
      weight: r.weight ?? 1,
      ...(r.upperThreshold && { upper_threshold: r.upperThreshold }),
      ...(r.lowerThreshold && { lower_threshold: r.lowerThreshold }),
      ...(check ? { health_check: check } : { health_check: false }),
    });
  }
  const raw = kaText(v.other);
  const rawProblem = raw && rawFragmentProblem(raw);
  if (rawProblem) return `its other keys cannot be carried over: ${rawProblem}`;
  return {
    vip,
    service: {
      ...head,
      scheduler: v.scheduler ?? 'wlc',
      ...(v.persistence && {
        persistence: {
          timeout: v.persistence.timeout,
          ...(v.persistence.granularity && {
            netmask: /^\d+$/.test(v.persistence.granularity)
              ? Number(v.persistence.granularity)
              : v.persistence.granularity,
          }),
        },
      }),
      ...(v.sorry && { sorry_server: { address: v.sorry.address, ...(v.sorry.port && { port: v.sorry.port }) } }),
      ...(v.inhibitOnFailure && { inhibit_on_failure: true }),
      real_servers: realServers,
      ...(raw && { keepalived_raw: raw }),
    },
  };
}

function unique(want: string, taken: Set<string>): string {
  let name = want;
  for (let i = 2; taken.has(name); i++) name = `${want}-${i}`;
  taken.add(name);
  return name;
}

/** The directors' keepalived.conf files as the inventory's directors and VIPs. `dirAddress` is the
 * address of each director the inventory names (unicast peers must be those). */
export function keepalivedParts(
  dirs: KaDirector[],
  rsHost: (address: string) => string,
  rsAddresses: string[],
  fwmarkPorts: (mark: number) => { vip: string; protocol: 'tcp' | 'udp'; ports: number[] } | string,
): KeepalivedParts {
  const notImported: string[] = [];
  const first = dirs[0]!.conf;
  for (const d of dirs)
    for (const u of d.conf.unsupported) notImported.push(`${d.name} keepalived.conf line ${u.line}: ${u.what}`);

  // The forwarding mode most virtual servers use.
  const methods = first.virtualServers.map((v) => MODE[(v.method ?? 'NAT').toUpperCase()]).filter(Boolean);
  const mode = (['nat', 'dr', 'tun'] as const)
    .map((m) => [m, methods.filter((x) => x === m).length] as const)
    .sort((a, b) => b[1] - a[1])[0]![0];

  // VRRP: instances from the first director, each director's state and priority from its own file.
  const instances = first.instances;
  const members = dirs.map((d) => {
    const own = d.conf.instances.find((i) => i.name === instances[0]?.name);
    return {
      host: d.name,
      ...(own?.state && { state: own.state }),
      ...(own?.priority !== undefined && { priority: own.priority }),
    };
  });
  const vrrp: Record<string, unknown> = {};
  let password: string | undefined;
  if (instances.length) {
    const base = instances[0]!;
    vrrp.instances = instances.map((i) => {
      const raw = kaText(i.other);
      const rawProblem = raw && rawFragmentProblem(raw);
      if (rawProblem) notImported.push(`vrrp_instance ${i.name}: its other keys: ${rawProblem}`);
      const priorities = Object.fromEntries(
        dirs.flatMap((d) => {
          const p = d.conf.instances.find((x) => x.name === i.name)?.priority;
          return p === undefined ? [] : [[d.name, p]];
        }),
      );
      const master = dirs.find((d) => d.conf.instances.find((x) => x.name === i.name)?.state === 'MASTER')?.name;
      const sameAsFirst = dirs.every(
        (d) =>
          d.conf.instances.find((x) => x.name === i.name)?.priority ===
          d.conf.instances.find((x) => x.name === base.name)?.priority,
      );
      return {
        name: i.name,
        interface: i.interface,
        virtual_router_id: i.virtualRouterId,
        ...(i.advertInt !== undefined && i.advertInt !== base.advertInt && { advert_int: i.advertInt }),
        ...(!sameAsFirst && { priorities, ...(master && { master }) }),
        ...(i.trackScripts.length && { track_script: i.trackScripts }),
        ...(raw && !rawProblem && { raw }),
      };
    });
    if (base.advertInt !== undefined && base.advertInt !== 1) vrrp.advert_int = base.advertInt;
    if (instances.some((i) => i.nopreempt)) vrrp.nopreempt = true;
    if (instances.some((i) => i.unicastPeers.length)) vrrp.unicast = true;
    const auth = base.auth;
    if (auth) {
      password = auth.pass;
      vrrp.auth = { type: auth.type === 'AH' ? 'AH' : 'PASS', password_file: 'PASSWORD_FILE' };
    }
    const scripts: Record<string, unknown> = {};
    for (const [name, nodes] of first.scripts) {
      const cmd = command(kaValue(nodes, 'script'));
      if (typeof cmd === 'string') {
        notImported.push(`vrrp_script ${name}: ${cmd}`);
        continue;
      }
      const n = (k: string) => num(kaValue(nodes, k));
      const weight = Number(kaValue(nodes, 'weight'));
      scripts[name] = {
        path: cmd.path,
        ...(cmd.args.length && { args: cmd.args }),
        ...(n('interval') !== undefined && { interval: n('interval') }),
        ...(n('timeout') !== undefined && { timeout: n('timeout') }),
        ...(Number.isInteger(weight) && { weight }),
        ...(n('fall') !== undefined && { fall: n('fall') }),
        ...(n('rise') !== undefined && { rise: n('rise') }),
        ...(kaValue(nodes, 'user') && { user: kaValue(nodes, 'user') }),
      };
    }
    if (Object.keys(scripts).length) vrrp.scripts = scripts;
  }

  // VIPs: each virtual server's address, on the interface and instance that carry it.
  const names = new Set<string>();
  const vips = new Map<string, KeepalivedParts['vips'][number]>();
  const carried = new Set<string>();
  for (const v of first.virtualServers) {
    const s = service(v, mode, rsHost, names, fwmarkPorts);
    const id = v.fwmark !== undefined ? `fwmark ${v.fwmark}` : `${v.address} ${v.port}`;
    if (typeof s === 'string') {
      notImported.push(`virtual_server ${id} (keepalived.conf line ${v.line}): ${s}`);
      continue;
    }
    let vip = vips.get(s.vip);
    if (!vip) {
      const inst = instances.find((i) => i.addresses.some((a) => sameAddress(a.address, s.vip)));
      const a = inst?.addresses.find((x) => sameAddress(x.address, s.vip));
      const dev = a?.dev ?? inst?.interface;
      if (!inst || !dev) {
        notImported.push(`virtual_server ${id}: its VIP ${s.vip} is in no vrrp_instance's virtual_ipaddress`);
        continue;
      }
      const hostBits = familyOf(s.vip) === 6 ? 128 : 32;
      vip = {
        address: s.vip,
        ...(a?.prefix !== undefined && a.prefix !== hostBits && { prefix: a.prefix }),
        interface: dev,
        ...(inst !== instances[0] && { vrrp_instance: inst.name }),
        services: [],
      };
      vips.set(s.vip, vip);
      carried.add(canonicalIfAddress(s.vip));
    }
    vip.services.push(s.service);
  }

  const directors: Record<string, unknown> = {
    hosts: members,
    engine: 'keepalived',
    ...(instances.length && { vrrp }),
  };
  // NAT: the floating address on the real servers' network is the DIP.
  for (const i of instances)
    for (const a of i.addresses) {
      if (a.label || a.rest.length)
        notImported.push(
          `vrrp_instance ${i.name}: ${a.address}'s ${[...(a.label ? ['label'] : []), ...a.rest].join(' ')}`,
        );
      if (carried.has(canonicalIfAddress(a.address))) continue;
      const onRsNet =
        mode === 'nat' &&
        familyOf(a.address) === 4 &&
        rsAddresses.some((r) => familyOf(r) === 4 && inSubnet4(r, a.address, a.prefix ?? 32));
      if (onRsNet && !directors.dip)
        directors.dip = {
          address: a.address,
          prefix: a.prefix ?? 32,
          interface: a.dev ?? i.interface,
          ...(i !== instances[0] && { vrrp_instance: i.name }),
        };
      else notImported.push(`vrrp_instance ${i.name}: address ${a.address} is neither a VIP with services nor the DIP`);
    }
  if (first.syncDaemon)
    directors.sync_daemon = {
      interface: first.syncDaemon.interface,
      ...(first.syncDaemon.id !== undefined && { id: first.syncDaemon.id }),
      ...(first.syncDaemon.instance &&
        first.syncDaemon.instance !== instances[0]?.name && {
          vrrp_instance: first.syncDaemon.instance,
        }),
    };
  return { mode, directors, vips: [...vips.values()], password, notImported };
}
