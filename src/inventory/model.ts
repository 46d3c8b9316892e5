// The resolved cluster: vars and groups merged into each host, roles assigned, services flattened,
// defaults filled in, local paths made absolute. Everything after validation works on this.
import { dirname, resolve } from 'node:path';
import { familyOf, type Family } from '../identity/address.js';
import { serviceKey, type ServiceIdentity } from '../identity/service.js';
import { expandHome } from './local-files.js';
import type { FieldPath } from './locate.js';
import type { Directors, HealthCheck, HostVars, InventoryDoc, Service, SshSettings, Vrrp } from './schema.js';
import type { Mode, Scheduler } from './types.js';

export type { Family } from '../identity/address.js';

/** In verify.from: the machine running lvsctl (a CI runner that reaches the VIP), not a host. */
export const LOCAL = 'local';
export type Role = 'director' | 'real_server' | 'client';

/** The inventory's ssh settings as written (merged from vars, groups and the host): unset is undefined. */
export interface InventorySsh {
  host?: string;
  port?: number;
  user?: string;
  identityFile?: string;
  agent?: boolean;
  knownHosts?: string[];
  jump?: { host: string; port?: number; user?: string; identityFile?: string };
  connectTimeout?: number;
  /** ssh.config: the ssh_config file to resolve with (ssh -F) */
  configFile?: string;
}

export interface Identity {
  file: string;
  /** false: ssh's built-in list, skipped when the file is missing (as ssh does) */
  named: boolean;
}

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  identityFile?: string;
  agent: boolean;
  passwordEnv?: string;
  passphraseEnv?: string;
  knownHosts: string[];
  jump?: { host: string; port: number; user: string; identityFile?: string };
  connectTimeout: number; // seconds
  commandTimeout: number; // seconds
  /** The inventory's values as written (unset: undefined), for ssh_config to fill (ssh/target.ts). */
  inventory?: InventorySsh;
  // Filled from ssh_config (engine/connections.ts), beside or instead of the fields above:
  /** key files ssh_config names (or ssh's built-in list), tried after identityFile */
  identities?: Identity[];
  /** the agent's socket (IdentityAgent); with agent: true, else $SSH_AUTH_SOCK */
  agentSocket?: string;
  /** ProxyJump hops, first to last (instead of jump) */
  jumps?: { host: string; port: number; user: string; identities: Identity[]; agentSocket?: string }[];
  /** its stdio is the connection (no jump) */
  proxyCommand?: string;
  /** StrictHostKeyChecking accept-new */
  acceptNewHostKeys?: boolean;
}

export interface ResolvedHost {
  name: string;
  address: string;
  address6?: string;
  gateway?: string;
  interface?: string;
  ssh: SshTarget;
  become: false | { method: 'sudo'; passwordEnv?: string };
  roles: Set<Role>;
  /** The inventory groups it is in, in file order (for --limit). */
  groups: string[];
  path: FieldPath;
}

export interface ResolvedRealServer {
  host: string;
  address: string;
  port: number;
  weight: number;
  upperThreshold?: number;
  lowerThreshold?: number;
  healthCheck?: HealthCheck;
  /** Where healthCheck is written: the real server's own health_check or the service's. */
  healthCheckPath: FieldPath;
  path: FieldPath;
}

export interface ResolvedService {
  /** What names the service in IPVS (protocol, family, VIP and port, or mark). */
  ident: ServiceIdentity;
  /** Its key, as ipvsadm names it: "tcp 10.99.1.100:80", "udp [fd00::1]:53", "fwmark 1", "fwmark 1 ipv6". */
  id: string;
  name?: string;
  family: Family;
  vip: { address: string; prefix: number; interface: string; vrrpInstance?: string };
  protocol: 'tcp' | 'udp';
  port?: number;
  fwmark?: number;
  ports?: number[];
  scheduler: Scheduler;
  schedulerFlags: string[];
  persistence?: { timeout: number; netmask?: string | number };
  engine: 'ipvsadm' | 'keepalived';
  ops: boolean;
  sorryServer?: { address: string; port?: number };
  inhibitOnFailure: boolean;
  /** Lines for its keepalived virtual_server block, verbatim (raw-fragment.ts). */
  keepalivedRaw?: string;
  realServers: ResolvedRealServer[];
  verify: NonNullable<Service['verify']>;
  path: FieldPath;
}

export interface DirectorMember {
  host: string;
  state: 'MASTER' | 'BACKUP';
  priority: number;
  path: FieldPath;
}

export interface Cluster {
  file: string;
  name: string;
  mode: Mode;
  hosts: Map<string, ResolvedHost>;
  directors: Omit<Directors, 'hosts' | 'vrrp'> & { members: DirectorMember[]; vrrp?: Vrrp };
  services: ResolvedService[];
  ipvs: NonNullable<InventoryDoc['ipvs']>;
  verify?: InventoryDoc['verify'];
}

function mergeVars(layers: (HostVars | undefined)[]): HostVars {
  const out: HostVars = {};
  for (const l of layers) {
    if (!l) continue;
    if (l.ssh) out.ssh = { ...out.ssh, ...l.ssh } as SshSettings;
    if (l.become !== undefined) out.become = l.become;
    if (l.interface !== undefined) out.interface = l.interface;
  }
  return out;
}

/** Each host's groups in file order; a host may be in several groups (later groups win). One pass
 * over the groups, so that many hosts in many groups stay linear. */
export function groupsByHost(doc: InventoryDoc): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [name, g] of Object.entries(doc.groups ?? {}))
    for (const h of new Set(g.hosts)) {
      const list = out.get(h);
      if (list) list.push(name);
      else out.set(h, [name]);
    }
  return out;
}

/** The inventory's own entry for a resolved service (its path is vips[i].services[j]). */
export const serviceDoc = (doc: InventoryDoc, s: ResolvedService): Service =>
  doc.vips[s.path[1] as number]!.services[s.path[3] as number]!;

/** rec[key] when rec has it as its own key: never an inherited member such as "constructor". */
export const own = <T>(rec: Readonly<Record<string, T>> | undefined, key: string): T | undefined =>
  rec !== undefined && Object.hasOwn(rec, key) ? rec[key] : undefined;

/** Hosts a real-server entry stands for (a host, or the members of a group). */
export function expandMembers(doc: InventoryDoc, ref: { host?: string; group?: string }): string[] {
  if (ref.host !== undefined) return [ref.host];
  return own(doc.groups, ref.group!)?.hosts ?? [];
}

/** The most real-server entries (service × real server, groups expanded) an inventory may make:
 * a few groups named by many services would otherwise multiply a small file into millions. */
export const MAX_REAL_SERVER_ENTRIES = 100_000;

/** How many real-server entries the services expand to, counted without expanding them. */
export function realServerEntries(doc: InventoryDoc): number {
  let n = 0;
  for (const v of doc.vips)
    for (const s of v.services) for (const r of s.real_servers) n += expandMembers(doc, r).length;
  return n;
}

function becomeOf(b: HostVars['become']): ResolvedHost['become'] {
  if (b === undefined || b === false) return false;
  return b === true ? { method: 'sudo' } : { method: 'sudo', passwordEnv: b.password_env };
}

/** How to reach a host: its merged ssh settings with lvsctl's defaults, paths made absolute from
 * `base` (the inventory's directory); the values as written stay in `inventory` for ssh_config. */
export function sshTarget(s: SshSettings, address: string, base: string): SshTarget {
  const kh = s.known_hosts === undefined ? ['~/.ssh/known_hosts'] : [s.known_hosts].flat();
  return {
    host: s.host ?? address,
    port: s.port ?? 22,
    user: s.user ?? 'root',
    identityFile: s.identity_file && expandHome(s.identity_file, base),
    agent: s.agent ?? false,
    passwordEnv: s.password_env,
    passphraseEnv: s.passphrase_env,
    knownHosts: kh.map((p) => expandHome(p, base)),
    jump: s.jump && {
      host: s.jump.host,
      port: s.jump.port ?? 22,
      user: s.jump.user ?? s.user ?? 'root',
      identityFile: s.jump.identity_file
        ? expandHome(s.jump.identity_file, base)
        : s.identity_file && expandHome(s.identity_file, base),
    },
    connectTimeout: s.connect_timeout ?? 20,
    commandTimeout: s.command_timeout ?? 600,
    inventory: {
      host: s.host,
      port: s.port,
      user: s.user,
      identityFile: s.identity_file && expandHome(s.identity_file, base),
      agent: s.agent,
      knownHosts: s.known_hosts === undefined ? undefined : [s.known_hosts].flat().map((p) => expandHome(p, base)),
      jump: s.jump && {
        host: s.jump.host,
        port: s.jump.port,
        user: s.jump.user,
        identityFile: s.jump.identity_file && expandHome(s.jump.identity_file, base),
      },
      connectTimeout: s.connect_timeout,
      configFile: s.config && (s.config === 'none' ? 'none' : expandHome(s.config, base)),
    },
  };
}

export function buildCluster(doc: InventoryDoc, file: string): Cluster {
  const base = dirname(resolve(file));
  const hosts = new Map<string, ResolvedHost>();
  const memberOf = groupsByHost(doc);
  for (const [name, h] of Object.entries(doc.hosts)) {
    const v = mergeVars([doc.vars, ...(memberOf.get(name) ?? []).map((g) => doc.groups![g]!.vars), h]);
    hosts.set(name, {
      name,
      address: h.address,
      address6: h.address6,
      gateway: h.gateway,
      interface: v.interface,
      ssh: sshTarget(v.ssh ?? {}, h.address, base),
      become: becomeOf(v.become),
      roles: new Set(),
      groups: memberOf.get(name) ?? [],
      path: ['hosts', name],
    });
  }

  const group = doc.directors.hosts.length >= 2;
  // Defaults: the first listed is MASTER at 150, the others BACKUP at 100, 90, 80...: distinct,
  // so the order of the list is the order of takeover.
  const members: DirectorMember[] = doc.directors.hosts.map((m, i) => {
    const o = typeof m === 'string' ? { host: m } : m;
    return {
      host: o.host,
      state: ('state' in o && o.state) || (i === 0 ? 'MASTER' : 'BACKUP'),
      priority: ('priority' in o && o.priority) || (i === 0 ? 150 : 110 - 10 * i),
      path: ['directors', 'hosts', i],
    };
  });
  if (!group && members[0]) members[0].state = 'MASTER';
  for (const m of members) hosts.get(m.host)?.roles.add('director');
  for (const c of doc.verify?.from ?? []) hosts.get(c)?.roles.add('client');

  const services: ResolvedService[] = [];
  doc.vips.forEach((vip, vi) => {
    const family = familyOf(vip.address);
    vip.services.forEach((s, si) => {
      const path = ['vips', vi, 'services', si];
      const realServers: ResolvedRealServer[] = [];
      s.real_servers.forEach((r, ri) => {
        for (const hn of expandMembers(doc, r)) {
          const h = hosts.get(hn);
          h?.roles.add('real_server');
          const address = (family === 6 ? (h?.address6 ?? h?.address) : h?.address) ?? '';
          realServers.push({
            host: hn,
            address,
            port: r.port ?? s.port ?? 0,
            weight: r.weight,
            upperThreshold: r.upper_threshold,
            lowerThreshold: r.lower_threshold,
            healthCheck: r.health_check === false ? undefined : (r.health_check ?? s.health_check),
            healthCheckPath: [...path, ...(r.health_check === undefined ? [] : ['real_servers', ri]), 'health_check'],
            path: [...path, 'real_servers', ri],
          });
        }
      });
      const ident: ServiceIdentity =
        s.fwmark !== undefined
          ? { protocol: 'fwmark', family, fwmark: s.fwmark }
          : { protocol: s.protocol, family, address: vip.address, port: s.port! };
      services.push({
        ident,
        id: serviceKey(ident),
        name: s.name,
        family,
        vip: {
          address: vip.address,
          prefix: vip.prefix ?? (family === 6 ? 128 : 32),
          interface: vip.interface,
          vrrpInstance: vip.vrrp_instance,
        },
        protocol: s.protocol,
        port: s.port,
        fwmark: s.fwmark,
        ports: s.ports,
        scheduler: s.scheduler,
        schedulerFlags: s.scheduler_flags ?? [],
        persistence: s.persistence,
        engine: s.engine ?? doc.directors.engine,
        ops: s.ops ?? false,
        sorryServer: s.sorry_server,
        inhibitOnFailure: s.inhibit_on_failure ?? false,
        keepalivedRaw: s.keepalived_raw,
        realServers,
        verify: s.verify?.tls?.ca_file
          ? { ...s.verify, tls: { ...s.verify.tls, ca_file: expandHome(s.verify.tls.ca_file, base) } }
          : (s.verify ?? {}),
        path,
      });
    });
  });

  const { hosts: _members, vrrp, ...rest } = doc.directors;
  return {
    file,
    name: doc.cluster,
    mode: doc.mode,
    hosts,
    directors: { ...rest, members, vrrp },
    services,
    ipvs: doc.ipvs ?? {},
    verify: doc.verify,
  };
}

export interface VrrpAddress {
  cidr: string;
  dev: string;
  family: Family;
}

/** The addresses each VRRP instance moves (VIPs, then the DIP), and the instance's family: that
 * of its first address. keepalived puts addresses of the other family in virtual_ipaddress_excluded. */
export function vrrpAddresses(c: Cluster): Map<string, { all: VrrpAddress[]; family: Family }> {
  const vrrp = c.directors.vrrp;
  const out = new Map<string, { all: VrrpAddress[]; family: Family }>();
  if (!vrrp) return out;
  for (const i of vrrp.instances) out.set(i.name, { all: [], family: 4 });
  const first = vrrp.instances[0]!.name;
  const seen = new Set<string>();
  for (const s of c.services) {
    if (seen.has(s.vip.address)) continue;
    seen.add(s.vip.address);
    out
      .get(s.vip.vrrpInstance ?? first)
      ?.all.push({ cidr: `${s.vip.address}/${s.vip.prefix}`, dev: s.vip.interface, family: s.family });
  }
  const dip = c.directors.dip;
  if (dip)
    out
      .get(dip.vrrp_instance ?? first)
      ?.all.push({ cidr: `${dip.address}/${dip.prefix}`, dev: dip.interface, family: 4 });
  for (const e of out.values()) e.family = e.all[0]?.family ?? 4;
  return out;
}

/** The VRRP instance that carries a VIP (its vrrp_instance, or the first). */
export const instanceOfVip = (c: Cluster, s: ResolvedService): string | undefined =>
  s.vip.vrrpInstance ?? c.directors.vrrp?.instances[0]?.name;

/** Each director's state and priority in one VRRP instance. Without master and priorities: the
 * director-level ones. Active-active: the instance's master (or, given priorities only, its highest
 * priority) is MASTER, the others BACKUP; a priority not given defaults to 150 for the master and
 * 100, 90, 80... for the others in list order. With nopreempt or AH authentication every director
 * starts BACKUP (keepalived clears MASTER then) and the priority elects. */
export function instanceMembers(c: Cluster, name: string | undefined): DirectorMember[] {
  const vrrp = c.directors.vrrp;
  const i = vrrp?.instances.findIndex((x) => x.name === name) ?? -1;
  const inst = vrrp?.instances[i];
  if (!vrrp || !inst || (inst.master === undefined && inst.priorities === undefined)) return c.directors.members;
  const members = c.directors.members;
  const given = (h: string) => own(inst.priorities, h);
  const master =
    inst.master ?? members.reduce((a, b) => ((given(b.host) ?? 0) > (given(a.host) ?? 0) ? b : a), members[0]!).host;
  const others = members.filter((m) => m.host !== master);
  const allBackup = members.length > 1 && (vrrp.nopreempt || vrrp.auth?.type === 'AH');
  const at: FieldPath = ['directors', 'vrrp', 'instances', i];
  return members.map((m) => ({
    host: m.host,
    state: m.host === master && !allBackup ? 'MASTER' : 'BACKUP',
    priority: given(m.host) ?? (m.host === master ? 150 : 100 - 10 * others.indexOf(m)),
    path: given(m.host) !== undefined ? [...at, 'priorities', m.host] : [...at, m.host === master ? 'master' : 'name'],
  }));
}

/** The director expected to hold an instance's addresses: its highest priority. */
export const instanceMaster = (c: Cluster, name: string | undefined): string =>
  instanceMembers(c, name).reduce((a, b) => (b.priority > a.priority ? b : a)).host;

/** keepalived's vrrp_sync_groups: the instances of one master move together, instances of
 * different masters never share a group (active-active); a master with one instance has none. */
export function syncGroups(c: Cluster): { name: string; instances: string[] }[] {
  const byMaster = new Map<string, string[]>();
  for (const { name } of c.directors.vrrp?.instances ?? [])
    byMaster.set(instanceMaster(c, name), [...(byMaster.get(instanceMaster(c, name)) ?? []), name]);
  return [...byMaster]
    .filter(([, g]) => g.length > 1)
    .map(([master, g]) => ({ name: byMaster.size > 1 ? `VG_LVSCTL_${master}` : 'VG_LVSCTL', instances: g }));
}
