// Shared by the unit tests: the repository root, the real CLI run as a child process, and fake
// facts of lab hosts.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FACT_SECTIONS, SECTION } from '../../src/facts/script.js';
import type { Change } from '../../src/plan/types.js';
import type { Connections } from '../../src/engine/connections.js';
import type { HostConnection } from '../../src/ssh/connection.js';
import { MANAGED_PATHS } from '../../src/render/paths.js';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
export const root = findRoot();

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs bin/lvsctl.js from the repository root, with a clean environment plus `env`. Output is
 * kept whole up to 64 MiB (a 1 MiB inventory can have 100,000 problems; execFile's default keeps
 * 1 MiB and kills the child beyond it). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'bin/lvsctl.js'), ...args],
      { cwd: root, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) code = typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Facts of a Debian lab host, as the facts script (src/facts/script.ts) prints them, and a fake
// "apply" that changes those facts the way the engine's commands change a real host. The fake
// lets the pure planner be driven through whole life cycles (up, stop, start, down) without SSH.

/** What a host looks like, as inputs of factsText (every field optional; defaults: a bare lab host). */
export interface FactsOptions {
  sysctl?: Record<string, string>; // slash keys (net/ipv4/ip_forward), merged over the defaults
  addr?: string[]; // `ip -o addr show` lines beyond lo's 127.0.0.1 and eth0's 10.99.2.11
  route?: string; // `ip -4 route show default` ("" for none)
  state?: string; // /var/lib/lvsctl/state.json
  loaded?: string[];
  links?: string[]; // names; "name DOWN" for a link that is down
  packages?: string[];
  iptables?: string[];
  ipvs?: string[]; // ipvsadm -Sn lines, @@timeouts, @@list lines; ['@@none'] when IPVS is not loaded
  keepalived?: string[];
  keepalivedBoot?: string; // `systemctl is-enabled keepalived`'s word; absent: not installed
  keepalivedVersion?: string; // `keepalived --version`'s first line; absent: not installed
  files?: string[]; // `mode owner group sha256 path` (rendered as the script prints it) or `absent - - - path`
  bootlinks?: string[]; // `path target`
  contents?: string[]; // `path base64`
  init?: 'systemd' | 'sysv'; // default sysv
  tools?: string[]; // the tools section: ['tar'] where tar is installed (default: none)
  /** `systemctl show` of lvsctl.service (LoadState, ActiveState, NeedDaemonReload); absent: no systemctl. */
  unit?: Record<string, string>;
  scripts?: string[]; // the scripts section (facts/scripts.ts): stat lines, absent, link, user
  lock?: string[]; // the lock section: `now EPOCH`, then the lease file's lines
  /** The boot-script scan's lines (`enabled|disabled HOW PATH does...`); absent: not scanned. */
  bootScripts?: string[];
  /** Copies of found files the engine kept (foundCopy path -> the file's line and content). */
  kept?: Record<string, { line: string; content?: string }>;
}

/** Facts text as a Debian host in the lab prints it before lvsctl ran. */
export function factsText(o: FactsOptions = {}): string {
  const sysctl = {
    'net/ipv4/ip_forward': '0',
    ...Object.fromEntries(
      ['all', 'default', 'eth0', 'lo'].flatMap((d) => [
        [`net/ipv4/conf/${d}/arp_ignore`, '0'],
        [`net/ipv4/conf/${d}/arp_announce`, '0'],
        [`net/ipv4/conf/${d}/rp_filter`, '1'],
        [`net/ipv4/conf/${d}/send_redirects`, '1'],
      ]),
    ),
    ...o.sysctl,
  };
  const sections: Record<string, string[]> = {
    os: ['PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"', 'ID=debian'],
    kernel: ['6.1.0-56-amd64'],
    init: [o.init ?? 'sysv'],
    pkgmgr: ['apt-get'],
    tools: o.tools ?? [],
    packages: o.packages ?? [],
    modules_available: ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_wlc', 'ip_vs_sh', 'ipip'],
    modules_loaded: o.loaded ?? [],
    sysctl: Object.entries(sysctl).map(([k, v]) => `${k}:${v}`),
    links: (o.links ?? ['lo', 'eth0', 'mgmt0']).map((l, i) => {
      const [name, down] = l.split(' ');
      return `${i + 1}: ${name}: <${down === 'DOWN' ? 'NOARP' : 'BROADCAST,MULTICAST,UP,LOWER_UP'}> mtu 1500 qdisc noqueue state ${down === 'DOWN' ? 'DOWN' : 'UP'} mode DEFAULT group default qlen 1000\\    link/ether 02:00:00:00:00:0${i} brd ff:ff:ff:ff:ff:ff`;
    }),
    addr: [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '2: eth0    inet 10.99.2.11/24 brd 10.99.2.255 scope global eth0\\       valid_lft forever preferred_lft forever',
      ...(o.addr ?? []),
    ],
    route: [o.route ?? 'default via 10.99.2.254 dev eth0 '],
    files: filesSection(o.files ?? ['absent - - - /usr/local/sbin/lvsctl-realserver']),
    ipvs: o.ipvs ?? ['@@none'],
    iptables: o.iptables ?? [],
    keepalived: o.keepalived ?? [],
    keepalived_boot: o.keepalivedBoot ? [o.keepalivedBoot] : [],
    keepalived_version: o.keepalivedVersion ? [o.keepalivedVersion] : [],
    scripts: o.scripts ?? [],
    bootlinks: o.bootlinks ?? [],
    boot_unit: Object.entries(o.unit ?? {}).map(([k, v]) => `${k}=${v}`),
    contents: o.contents ?? [],
    boot_scripts: o.bootScripts ? ['scanned', ...o.bootScripts] : [],
    lock: o.lock ?? [],
    state: o.state ? o.state.split('\n') : [],
  };
  return FACT_SECTIONS.map((s) => `\n${SECTION}${s}\n${sections[s]!.join('\n')}`).join('') + '\n';
}

/** The files section as the facts script prints it: absent lines, sha256sum's lines, `@@`, stat's lines. */
function filesSection(records: string[]): string[] {
  const absent = records.filter((r) => r.startsWith('absent '));
  const present = records
    .filter((r) => !r.startsWith('absent '))
    .map((r) => {
      const [mode, owner, group, hash, path] = r.split(' ') as [string, string, string, string, string];
      if (!/^[0-9a-f]{64}$/.test(hash)) throw new Error(`factsText: not a sha256 in ${r}`);
      return { mode, owner, group, hash, path };
    });
  if (!present.length) return absent;
  return [
    ...absent,
    ...present.map((f) => `${f.hash}  ${f.path}`),
    '@@',
    ...present.map((f) => `${f.mode} ${f.owner} ${f.group} ${f.path}`),
  ];
}

/** A sha256 that no content here has (a file that differs from what lvsctl would write). */
export const OTHER_SHA = 'f'.repeat(64);

/** An `ip -o addr show` line. */
export function addrLine(a: { address: string; prefix: number; dev: string; label?: string }, index = 9): string {
  const family = a.address.includes(':') ? 'inet6' : 'inet';
  return `${index}: ${a.dev}    ${family} ${a.address}/${a.prefix} scope global ${a.label ?? a.dev}\\       valid_lft forever preferred_lft forever`;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const UNIT = MANAGED_PATHS.systemdUnit;
const lastWord = (l: string) => l.trim().split(/\s+/).at(-1)!;

/**
 * The host after the engine applied `changes` (what src/apply/commands.ts and applyOnHost do),
 * as new facts options. `ipvsTable` is the `ipvsadm -Sn` text the director has after an `ipvs`
 * change (the engine reads the table back and requires exactly the desired one).
 */
export function applied(o: FactsOptions, changes: Change[], ipvsTable?: string): FactsOptions {
  const n: FactsOptions = JSON.parse(JSON.stringify(o)) as FactsOptions;
  n.files ??= ['absent - - - /usr/local/sbin/lvsctl-realserver'];
  n.links ??= ['lo', 'eth0', 'mgmt0'];
  const setFile = (path: string, line: string | undefined, content?: string) => {
    n.files = [...n.files!.filter((l) => lastWord(l) !== path), ...(line ? [line] : [])];
    n.contents = [
      ...(n.contents ?? []).filter((l) => l.split(' ')[0] !== path),
      ...(content !== undefined ? [`${path} ${Buffer.from(content).toString('base64')}`] : []),
    ];
  };
  const ipvsRest = () => (n.ipvs ?? []).filter((l) => l.startsWith('@@timeouts ') || l.startsWith('@@list '));
  for (const c of changes) {
    switch (c.kind) {
      case 'packages':
        n.packages =
          c.action === 'install'
            ? [...new Set([...(n.packages ?? []), ...c.packages])]
            : (n.packages ?? []).filter((p) => !c.packages.includes(p));
        // Debian's keepalived package enables its service; purged, it has none
        if (c.packages.includes('keepalived')) {
          if (c.action === 'purge') delete n.keepalivedBoot;
          else n.keepalivedBoot ??= 'enabled';
        }
        break;
      case 'keepalived-boot':
        n.keepalivedBoot = c.enable ? 'enabled' : 'disabled';
        break;
      case 'state':
        if (c.phase === 'remove') delete n.state;
        else n.state = c.content;
        break;
      case 'file':
        // systemd notices that a unit it loaded changed on disk (and reads it again on daemon-reload)
        if (n.unit && n.unit.LoadState !== 'not-found' && (c.action === 'delete' ? c.path : c.file.path) === UNIT)
          n.unit.NeedDaemonReload = 'yes';
        if (c.action === 'delete' && c.restore) {
          // a found file comes back from its copy; without one lvsctl never changed it
          const k = n.kept?.[c.restore];
          if (k) setFile(c.path, k.line, k.content);
          delete n.kept?.[c.restore];
        } else if (c.action === 'delete') setFile(c.path, `absent - - - ${c.path}`);
        else {
          if (c.keep && !n.kept?.[c.keep]) {
            const line = n.files.find((l) => lastWord(l) === c.file.path)!;
            const content = n.contents?.find((l) => l.split(' ')[0] === c.file.path)?.split(' ')[1];
            n.kept = {
              ...n.kept,
              [c.keep]: { line, ...(content && { content: Buffer.from(content, 'base64').toString() }) },
            };
          }
          setFile(
            c.file.path,
            `${c.file.mode.toString(8)} ${c.file.owner ?? 'root'} ${c.file.group ?? 'root'} ${sha256(c.file.content)} ${c.file.path}`,
            c.file.content,
          );
        }
        break;
      case 'module':
        n.loaded = [...(n.loaded ?? []), c.name];
        if (c.name === 'ip_vs' && (n.ipvs ?? ['@@none'])[0] === '@@none') n.ipvs = ['@@timeouts 900 120 300'];
        if (c.name === 'ipip' && !n.links.some((l) => l.split(' ')[0] === 'tunl0')) n.links.push('tunl0 DOWN');
        break;
      case 'sysctl':
        n.sysctl = { ...n.sysctl, [c.key.replaceAll('.', '/')]: c.to };
        break;
      case 'link':
        n.links = n.links.map((l) => {
          if (l.split(' ')[0] !== c.dev) return l;
          return c.up ? c.dev : `${c.dev} DOWN`;
        });
        break;
      case 'address': {
        const other = (l: string) =>
          !new RegExp(`^\\d+: ${c.addr.dev}\\s+inet6? ${c.addr.address.replaceAll('.', '\\.')}/${c.addr.prefix} `).test(
            l,
          );
        n.addr = [...(n.addr ?? []).filter(other), ...(c.action === 'add' ? [addrLine(c.addr)] : [])];
        break;
      }
      case 'route':
        n.route = c.action === 'set' ? `default via ${c.via} dev eth0 ` : c.to;
        break;
      case 'ipvs':
        n.ipvs = [...(ipvsTable ?? '').split('\n').filter(Boolean), ...ipvsRest()];
        break;
      case 'netfilter':
        n.iptables = fakeNetfilter(n.iptables ?? [], c);
        break;
      case 'timeouts':
        n.ipvs = [...(n.ipvs ?? []).filter((l) => !l.startsWith('@@timeouts ')), `@@timeouts ${c.to.join(' ')}`];
        break;
      case 'keepalived':
        n.keepalived = c.action === 'stop' ? [] : ['4242'];
        break;
      case 'boot-unit':
        if (!n.unit) throw new Error('applied: a boot-unit change on a host without systemctl');
        if (c.action === 'stop') n.unit.ActiveState = 'inactive';
        else {
          // A unit whose file is gone is not-found after the reload (still active if it runs).
          const present = n.files.some((l) => lastWord(l) === UNIT && !l.startsWith('absent '));
          if (c.forget && n.unit.ActiveState === 'failed') n.unit.ActiveState = 'inactive'; // reset-failed
          n.unit = { ...n.unit, LoadState: present ? 'loaded' : 'not-found', NeedDaemonReload: 'no' };
        }
        break;
      case 'boot-script':
        n.bootScripts = (n.bootScripts ?? []).map((l) =>
          l.split(' ')[2] === c.script.path ? l.replace(/^\S+/, c.enable ? 'enabled' : 'disabled') : l,
        );
        break;
      case 'bootlink':
        n.bootlinks = [
          ...(n.bootlinks ?? []).filter((l) => l.split(' ')[0] !== c.path),
          `${c.path} ${c.action === 'create' ? c.target : '-'}`,
        ];
        break;
    }
  }
  return n;
}

/** What iptables-restore --noflush and the jump commands make of the host's lvsctl lines (as the facts
 * script prints them: `*table` headers, then the lines that name an LVSCTL chain). */
export function fakeNetfilter(lines: string[], c: Extract<Change, { kind: 'netfilter' }>): string[] {
  const tables = new Map<string, string[]>();
  let cur: string[] = [];
  for (const l of lines) {
    if (l.startsWith('*')) tables.set(l.slice(1), (cur = tables.get(l.slice(1)) ?? []));
    else cur.push(l);
  }
  const mine = (chain: string) => (l: string) =>
    l.startsWith(`:${chain} `) || l.startsWith(`-A ${chain} `) || l.endsWith(` -j ${chain}`);
  for (const ch of c.chains) {
    const t = (tables.get(ch.table) ?? []).filter((l) => !mine(ch.chain)(l));
    if ('rules' in ch)
      t.push(`:${ch.chain} - [0:0]`, `-A ${ch.hook} -j ${ch.chain}`, ...ch.rules.map((r) => `-A ${ch.chain} ${r}`));
    tables.set(ch.table, t);
  }
  return [...tables].flatMap(([name, t]) => (t.length ? [`*${name}`, ...t] : []));
}

/** inventories/lab-ha.yaml with raw keepalived fragments: `vrrp` in its VRRP instance VI_1,
 * `service` in its http service (either left out when undefined). */
export function labHaWithRaw(raw: { vrrp?: string; service?: string }): string {
  const text = readFileSync(join(root, 'inventories', 'lab-ha.yaml'), 'utf8');
  const inst = '{ name: VI_1, interface: eth0, virtual_router_id: 51';
  const svc = '        inhibit_on_failure: false\n';
  if (!text.includes(inst) || !text.includes(svc)) throw new Error('lab-ha.yaml changed: update labHaWithRaw');
  return text
    .replace(inst, raw.vrrp === undefined ? inst : `${inst}, raw: ${JSON.stringify(raw.vrrp)}`)
    .replace(svc, raw.service === undefined ? svc : `${svc}        keepalived_raw: ${JSON.stringify(raw.service)}\n`);
}

/** Connections whose hosts answer each command with `exec(host, script)`; file writes are only
 * recorded in `calls` (as "HOST write"). For driving converge without SSH. */
export function fakeConnections(
  exec: (host: string, script: string) => { code: number; stdout: string; stderr?: string },
  calls: string[],
): Connections {
  return {
    get: async (name: string) =>
      ({
        name,
        checkpoint: () => {},
        exec: async (cmd: { text: string }) => ({ stderr: '', ...exec(name, cmd.text) }),
        writeFiles: async () => calls.push(`${name} write`),
        writeFile: async () => calls.push(`${name} write`),
      }) as unknown as HostConnection,
  } as unknown as Connections;
}

/** The smallest valid NAT cluster: director lb1 (192.0.2.10), VIP 192.0.2.100:80, DIP 172.16.10.1/24.
 * `top`: more top-level lines; `hosts`: the hosts mapping (flow YAML); `realServers`: the service's. */
export function natClusterText(o: { top?: string; hosts: string; realServers: string }): string {
  return `cluster: small-nat
mode: nat
${o.top ?? ''}hosts: ${o.hosts}
directors:
  hosts: [lb1]
  engine: ipvsadm
  dip: { address: 172.16.10.1, prefix: 24, interface: eth1 }
vips:
  - address: 192.0.2.100
    prefix: 24
    interface: eth0
    services:
      - { name: web, port: 80, scheduler: rr, real_servers: ${o.realServers} }
`;
}
