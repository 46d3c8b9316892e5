// Rolling keepalived changes: a keepalived group's directors are changed one at a time, the ones
// holding no VRRP address first and the holders last, and each must settle before the next: its
// keepalived reloaded, its VRRP state stable and its virtual services complete. Changed at once, a
// change that makes keepalived start a VRRP instance anew (another virtual_router_id, interface or
// unicast peers) drops the VIPs on every director for VRRP's master-down interval (measured in the
// lab: 2 to 3 failed requests of a 0.1 s curl loop; none when rolled). Pure: the engine
// (engine/settle.ts) samples the director and this module judges the samples.
import { MANAGED_PATHS } from '../render/paths.js';
import { instanceMembers, vrrpAddresses, type Cluster } from '../inventory/model.js';
import type { HostFacts } from '../facts/parse.js';
import type { LiveList } from '../ipvs/list.js';
import { parseRules } from '../ipvs/parse.js';
import { destinationKey, serviceKey } from '../identity/service.js';
import { sameAddress } from '../identity/address.js';
import type { HostPlan } from './types.js';

const KEEPALIVED_CONF = MANAGED_PATHS.keepalived;
const withoutPrefix = (cidr: string) => cidr.replace(/\/\d+$/, '');

export type KeepalivedStep = 'reload' | 'start';

/** What a director must show before the next one is changed. */
export interface SettleExpect {
  step: KeepalivedStep;
  /** The VRRP instances this director is a member of, with the addresses each moves. */
  instances: { name: string; addresses: string[] }[];
  /** keepalived's virtual services: each must be in the table, with the real servers it served
   * before the change that are still in it (the others are the health checks' to add). */
  services: { id: string; label: string; required: string[] }[];
  /** How long its VRRP state and table must stay unchanged: a BACKUP that hears no MASTER takes
   * over after the master-down interval (three adverts and a skew below one), a higher priority
   * preempts at the next advert, a new health check acts after its first round. */
  windowMs: number;
}

export interface RollingPlan {
  /** Every changed director, in the order to change them. */
  order: string[];
  /** The directors that start or reload keepalived: wait for them to settle after their change. */
  settle: Map<string, SettleExpect>;
}

export interface DirectorRun {
  host: string;
  facts: HostFacts;
  plan: HostPlan;
  /** The cluster as this director serves it after the change (drains applied). */
  cluster: Cluster;
}

/** The keepalived start or reload a plan makes, if any. */
export function keepalivedStep(plan: HostPlan): KeepalivedStep | undefined {
  for (const c of plan.changes)
    if (c.kind === 'keepalived' && (c.action === 'reload' || c.action === 'start')) return c.action;
  return undefined;
}

/** How the changed directors are applied: undefined is all at once, as before. They roll when the
 * cluster runs VRRP, one of them starts or reloads keepalived and keepalived already runs on a
 * director (with none running, nothing is served yet and all start at once). */
export function rollingPlan(cluster: Cluster, changed: DirectorRun[]): RollingPlan | undefined {
  const vrrp = cluster.directors.vrrp;
  if (!vrrp || !changed.some((d) => keepalivedStep(d.plan))) return undefined;
  if (!changed.some((d) => d.facts.keepalivedPids.length)) return undefined;
  const addrs = vrrpAddresses(cluster);
  const all = [...addrs.values()].flatMap((v) => v.all.map((a) => withoutPrefix(a.cidr)));
  const held = (d: DirectorRun) => all.filter((a) => d.facts.addresses.some((x) => sameAddress(x.address, a))).length;
  const rank = new Map(cluster.directors.members.map((m, i) => [m.host, i]));
  const order = [...changed]
    .sort((a, b) => held(a) - held(b) || (rank.get(a.host) ?? 0) - (rank.get(b.host) ?? 0))
    .map((d) => d.host);
  const settle = new Map<string, SettleExpect>();
  for (const d of changed) {
    const step = keepalivedStep(d.plan);
    if (step) settle.set(d.host, settleExpect(d, step));
  }
  return { order, settle };
}

function settleExpect(d: DirectorRun, step: KeepalivedStep): SettleExpect {
  const c = d.cluster;
  const vrrp = c.directors.vrrp!;
  const addrs = vrrpAddresses(c);
  const mine = vrrp.instances.filter((i) => instanceMembers(c, i.name).some((m) => m.host === d.host));
  const advert = Math.max(...mine.map((i) => i.advert_int ?? vrrp.advert_int), 0);
  // ipvsadm -Sn as the facts read it (keys as ipvsadm -Ln's, which the samples are)
  const before = new Map(
    parseRules(d.facts.ipvs ?? '').services.map((s) => [serviceKey(s), new Set(s.destinations.map(destinationKey))]),
  );
  const newConf = d.plan.changes.find(
    (x) => x.kind === 'file' && x.action !== 'delete' && x.file.path === KEEPALIVED_CONF,
  );
  const oldConf = d.facts.contents.get(KEEPALIVED_CONF);
  const content = newConf?.kind === 'file' && newConf.action !== 'delete' ? newConf.file.content : undefined;
  const changed = (f: (a: string | undefined, b: string) => boolean) =>
    step === 'start' || (content !== undefined && f(oldConf, content));
  // VRRP: a new instance waits out the master-down interval, another VRRP change (a priority that
  // preempts) one advert; weights alone (a drain) no window: keepalived edits the table in place.
  let vrrpWindow = 0;
  if (changed(instancesChanged)) vrrpWindow = 3 * advert + 1;
  else if (changed(vrrpChanged)) vrrpWindow = advert + 1;
  return {
    step,
    instances: mine.map((i) => ({
      name: i.name,
      addresses: (addrs.get(i.name)?.all ?? []).map((a) => withoutPrefix(a.cidr)),
    })),
    services: c.services
      .filter((s) => s.engine === 'keepalived')
      .map((s) => {
        const was = before.get(s.id);
        const keys = s.realServers.map(destinationKey);
        return { id: s.id, label: s.name ? `${s.name} (${s.id})` : s.id, required: keys.filter((k) => was?.has(k)) };
      }),
    windowMs: Math.max(vrrpWindow, changed(checksChanged) ? checkRound(c) : 0) * 1000,
  };
}

/** Seconds until a new health check has had its first round, a failed one retried (keepalived's
 * defaults where the inventory sets none), at most a minute. */
function checkRound(c: Cluster): number {
  let most = 0;
  for (const s of c.services.filter((x) => x.engine === 'keepalived'))
    for (const r of s.realServers) {
      const h = r.healthCheck;
      if (!h) continue;
      const t = h as { delay_loop?: number; retry?: number; connect_timeout?: number; delay_before_retry?: number };
      const attempt = (t.connect_timeout ?? 5) + (t.delay_before_retry ?? 1);
      most = Math.max(most, (t.delay_loop ?? 60) + ((t.retry ?? 1) + 1) * attempt);
    }
  return Math.min(most, 60);
}

/** keepalived matches a VRRP instance across a reload by virtual_router_id, address family,
 * interface and unicast peers (vrrp_exist); one that differs starts anew, as BACKUP. */
export function instancesChanged(oldConf: string | undefined, newConf: string): boolean {
  if (oldConf === undefined) return true;
  return vrrpIdentities(oldConf).join('\n') !== vrrpIdentities(newConf).join('\n');
}

/** Whether the virtual servers changed beyond their weights (a drain): a changed health check
 * starts anew and may take real servers out once its first round has run. */
export function checksChanged(oldConf: string | undefined, newConf: string): boolean {
  if (oldConf === undefined) return true;
  const servers = (conf: string) =>
    topBlocks(conf)
      .filter((b) => b[0]!.startsWith('virtual_server'))
      .map((b) => b.join(' ').replace(/ weight \S+/g, ''))
      .join('\n');
  return servers(oldConf) !== servers(newConf);
}

/** Whether anything but the virtual servers changed (global_defs, VRRP instances, scripts, groups). */
export function vrrpChanged(oldConf: string | undefined, newConf: string): boolean {
  if (oldConf === undefined) return true;
  const rest = (conf: string) =>
    topBlocks(conf)
      .filter((b) => !b[0]!.startsWith('virtual_server'))
      .map((b) => b.join(' '))
      .join('\n');
  return rest(oldConf) !== rest(newConf);
}

/** keepalived.conf as words, without comments and quotes, braces on their own. */
const words = (conf: string) =>
  conf
    .split('\n')
    .map((l) => l.replace(/[#!].*$/, ''))
    .join(' ')
    .replace(/[{}]/g, ' $& ')
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w.replace(/^"(.*)"$/, '$1'));

/** The top-level blocks, each as its words (keyword first, then up to its closing brace). */
function topBlocks(conf: string): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let depth = 0;
  for (const w of words(conf)) {
    cur.push(w);
    if (w === '{') depth++;
    else if (w === '}' && --depth === 0) {
      out.push(cur);
      cur = [];
    }
  }
  return out;
}

/** Each vrrp_instance's identity in a keepalived.conf, sorted. */
export function vrrpIdentities(conf: string): string[] {
  const out: string[] = [];
  for (const b of topBlocks(conf).filter((x) => x[0] === 'vrrp_instance')) {
    const id = { vrid: '', dev: '', src: '', peers: '', family: '4' };
    let depth = 0;
    let block = '';
    for (let j = 0; j < b.length; j++) {
      const w = b[j]!;
      const next = b[j + 1] ?? '';
      if (w === '{') depth++;
      else if (w === '}') {
        if (--depth === 1) block = '';
      } else if (depth === 1) {
        if (w === 'virtual_router_id') id.vrid = next;
        else if (w === 'interface') id.dev = next;
        else if (w === 'unicast_src_ip') id.src = next;
        else if (next === '{') block = w;
      } else if (depth === 2 && block === 'unicast_peer') id.peers += `${w} `;
      else if (depth === 2 && block === 'virtual_ipaddress') {
        id.family = w.includes(':') ? '6' : '4';
        block = 'seen';
      }
    }
    out.push(`vrid ${id.vrid} family ${id.family} dev ${id.dev} src ${id.src} peers ${id.peers.trim()}`);
  }
  return out.sort();
}

/** One look at a director: the addresses it has and its IPVS table. */
export interface SettleSample {
  addresses: string[];
  list: LiveList;
}

/** Which instances the director holds (its VRRP state, as traffic sees it) and what is not settled. */
export function judgeSettle(e: SettleExpect, s: SettleSample): { holds: string; problems: string[] } {
  const problems: string[] = [];
  const holding: string[] = [];
  for (const i of e.instances) {
    const has = i.addresses.filter((a) => s.addresses.some((x) => sameAddress(x, a)));
    if (has.length && has.length < i.addresses.length)
      problems.push(`${i.name}: it holds ${has.length} of its ${i.addresses.length} addresses`);
    else if (has.length) holding.push(i.name);
  }
  for (const svc of e.services) {
    const live = s.list.get(svc.id);
    if (!live) {
      problems.push(`no virtual service ${svc.label}`);
      continue;
    }
    const missing = svc.required.filter((k) => !live.has(k));
    if (missing.length) problems.push(`${svc.label} lacks ${missing.join(', ')}`);
  }
  const backups = e.instances.map((i) => i.name).filter((n) => !holding.includes(n));
  const holds = [
    ...(holding.length ? [`MASTER of ${holding.join(', ')}`] : []),
    ...(backups.length ? [`BACKUP of ${backups.join(', ')}`] : []),
  ].join(', ');
  return { holds: holds || 'no VRRP instance', problems };
}
