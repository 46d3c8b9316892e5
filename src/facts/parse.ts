// Parses the facts script's output into typed facts. Pure; tested on real output.
import { FACT_SECTIONS, SECTION } from './script.js';

export interface AddressFact {
  dev: string;
  family: 4 | 6;
  address: string;
  prefix: number;
  label?: string;
}

export interface FileFact {
  mode: number;
  owner: string;
  group: string;
  sha256: string;
}

export interface HostFacts {
  os: { id: string; idLike: string[]; family: 'debian' | 'rhel' | 'other'; pretty: string };
  kernel: string;
  init: 'systemd' | 'sysv';
  pkgManager?: 'apt-get' | 'dnf' | 'yum';
  packages: Set<string>;
  modulesAvailable: Set<string>;
  modulesLoaded: Set<string>;
  /** Dotted keys: net.ipv4.conf.all.arp_ignore -> "0". */
  sysctl: Map<string, string>;
  links: Map<string, { up: boolean }>;
  addresses: AddressFact[];
  defaultRoute4?: { via?: string; dev?: string; raw: string };
  files: Map<string, FileFact | null>;
  /** `ipvsadm -Sn` text, or null when IPVS is not loaded or ipvsadm is absent. */
  ipvs: string | null;
  /** `ipvsadm -Ln` text (weights and connection counts), or null as above. */
  ipvsList: string | null;
  /** `ipvsadm -Ln --thresholds` text when it was read (the inventory or the rules file has some). */
  ipvsThresholds: string | null;
  /** LVSCTL lines of iptables-save / ip6tables-save, per family and table. */
  netfilter: Record<'iptables' | 'ip6tables', Record<string, string[]>>;
  /** `ipvsadm --set` values now (tcp tcpfin udp), when IPVS is loaded. */
  ipvsTimeouts?: [number, number, number];
  keepalivedPids: number[];
  /** Whether the distribution's keepalived service starts at boot (`systemctl is-enabled`'s word:
   * enabled, disabled, masked...); null where keepalived is not installed. */
  keepalivedBoot: string | null;
  /** Boot symlink path -> its target ("-" when absent). */
  bootLinks: Map<string, string>;
  /** Current content of managed files (small ones), for diffs. */
  contents: Map<string, string>;
  state: string | null;
}

type Section = (typeof FACT_SECTIONS)[number];

export function splitSections(out: string): Map<Section, string[]> {
  const map = new Map<Section, string[]>();
  let cur: Section | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith(SECTION)) {
      const name = line.slice(SECTION.length).trim() as Section;
      if (!FACT_SECTIONS.includes(name)) throw new Error(`facts: unknown section ${name}`);
      cur = name;
      map.set(cur, []);
    } else if (cur) map.get(cur)!.push(line);
  }
  for (const s of FACT_SECTIONS)
    if (!map.has(s)) throw new Error(`facts: section ${s} missing (the facts script did not finish)`);
  for (const [k, v] of map) {
    while (v.length && v.at(-1) === '') v.pop();
    map.set(k, v);
  }
  return map;
}

function osRelease(lines: string[]): HostFacts['os'] {
  const kv = new Map(
    lines
      .map((l) => /^([A-Z_]+)=(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [m[1]!, m[2]!.replace(/^"(.*)"$/, '$1')]),
  );
  const id = kv.get('ID') ?? 'unknown';
  const idLike = (kv.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean);
  const all = [id, ...idLike];
  let family: 'debian' | 'rhel' | 'other' = 'other';
  if (all.some((x) => x === 'debian' || x === 'ubuntu')) family = 'debian';
  else if (all.some((x) => ['rhel', 'fedora', 'centos'].includes(x))) family = 'rhel';
  return { id, idLike, family, pretty: kv.get('PRETTY_NAME') ?? id };
}

/** `4: eth0    inet 192.0.2.2/24 brd … scope global secondary eth0:1\ …` */
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

export function parseFacts(out: string): HostFacts {
  const s = splitSections(out);
  const get = (k: Section) => s.get(k)!;
  const sysctl = new Map<string, string>();
  for (const l of get('sysctl')) {
    const i = l.indexOf(':');
    if (i > 0) sysctl.set(l.slice(0, i).replaceAll('/', '.'), l.slice(i + 1).trim());
  }
  const links = new Map<string, { up: boolean }>();
  for (const l of get('links')) {
    const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>/.exec(l);
    if (m) links.set(m[1]!, { up: m[2]!.split(',').includes('UP') });
  }
  const files = parseFiles(get('files'));
  const route4 = get('route').find((l) => l.startsWith('default') && !l.includes(':'));
  const netfilter: HostFacts['netfilter'] = { iptables: {}, ip6tables: {} };
  let table = '';
  for (const raw of get('iptables')) {
    const cmd = raw.startsWith('6 ') ? 'ip6tables' : 'iptables';
    const l = cmd === 'ip6tables' ? raw.slice(2) : raw;
    if (l.startsWith('*')) table = l.slice(1);
    else if (table) (netfilter[cmd][table] ??= []).push(l);
  }
  const ipvsAll = get('ipvs');
  const tline = ipvsAll.find((l) => l.startsWith('@@timeouts '));
  const list = ipvsAll.filter((l) => l.startsWith('@@list ')).map((l) => l.slice(7));
  const thr = ipvsAll.filter((l) => l.startsWith('@@thr ')).map((l) => l.slice(6));
  const ipvs = ipvsAll.filter(
    (l) => !l.startsWith('@@timeouts ') && !l.startsWith('@@list ') && !l.startsWith('@@thr '),
  );
  const state = get('state').join('\n');
  return {
    os: osRelease(get('os')),
    kernel: get('kernel')[0] ?? '',
    init: get('init')[0] === 'systemd' ? 'systemd' : 'sysv',
    pkgManager: (['apt-get', 'dnf', 'yum'] as const).find((p) => p === get('pkgmgr')[0]),
    packages: parsePackages(get('packages')),
    modulesAvailable: new Set(get('modules_available').filter(Boolean)),
    modulesLoaded: new Set(get('modules_loaded').filter(Boolean)),
    sysctl,
    links,
    addresses: parseAddr(get('addr')),
    defaultRoute4: route4
      ? { via: /\bvia (\S+)/.exec(route4)?.[1], dev: /\bdev (\S+)/.exec(route4)?.[1], raw: route4.trim() }
      : undefined,
    files,
    ipvs: ipvs[0] === '@@none' ? null : ipvs.join('\n'),
    ipvsList: list.length ? list.join('\n') : null,
    ipvsThresholds: thr.length ? thr.join('\n') : null,
    netfilter,
    ...(tline ? { ipvsTimeouts: tline.split(' ').slice(1, 4).map(Number) as [number, number, number] } : {}),
    bootLinks: new Map(
      get('bootlinks')
        .map((l) => l.split(' ') as [string, string])
        .filter((x) => x.length === 2),
    ),
    contents: new Map(
      get('contents')
        .map((l) => {
          const i = l.indexOf(' ');
          return [l.slice(0, i), Buffer.from(l.slice(i + 1), 'base64').toString('utf8')] as [string, string];
        })
        .filter(([k]) => k),
    ),
    keepalivedPids: get('keepalived').join(' ').split(/\s+/).filter(Boolean).map(Number),
    keepalivedBoot: get('keepalived_boot').join('').trim() || null,
    state: state.trim() ? state : null,
  };
}

/** The files section: `absent - - - PATH`; sha256sum's `HASH  PATH` lines, `@@`, then stat's
 * `MODE OWNER GROUP PATH` (joined here by path). */
function parseFiles(lines: string[]): Map<string, FileFact | null> {
  const files = new Map<string, FileFact | null>();
  const hashes = new Map<string, string>();
  const stats: [string, string, string, string][] = [];
  for (const l of lines) {
    let m: RegExpExecArray | null;
    if ((m = /^absent - - - (.+)$/.exec(l))) files.set(m[1]!, null);
    else if ((m = /^([0-9a-f]{64}) {2}(.+)$/.exec(l))) hashes.set(m[2]!, m[1]!);
    else if ((m = /^([0-7]+) (\S+) (\S+) (\/.*)$/.exec(l))) stats.push([m[1]!, m[2]!, m[3]!, m[4]!]);
  }
  for (const [mode, owner, group, path] of stats)
    files.set(path, { mode: parseInt(mode, 8), owner, group, sha256: hashes.get(path) ?? '' });
  return files;
}

/** Installed packages: paragraphs of dpkg's status file (`Package:` then its `Status:`, wanted
 * install and installed, as dpkg-query's `ii`), or one name a line (dpkg-query, rpm). */
function parsePackages(lines: string[]): Set<string> {
  const out = new Set<string>();
  if (!lines.some((l) => l.startsWith('Package: '))) {
    for (const l of lines) if (l.trim()) out.add(l.trim());
    return out;
  }
  let pkg = '';
  for (const l of lines) {
    if (l.startsWith('Package: ')) pkg = l.slice(9).trim();
    else if (l === '--') pkg = '';
    else if (pkg && /^Status: install \S+ installed$/.test(l)) out.add(pkg);
  }
  return out;
}
