// What a command asks of a host beyond the inventory. `up`/`start` want the inventory running;
// `stop` wants the service down with everything kept; `down` wants nothing of lvsctl's left;
// `drain`/`undrain` change one real server's weight on the directors. Stopped and drained are
// recorded in each host's state file, so every later command (status, up, plan) keeps to them
// instead of calling them drift. Pure.
import type { Cluster } from '../inventory/model.js';
import type { DesiredHost } from './types.js';
import { servingRealServers, type Drained } from './weight.js';

export type { Drained } from './weight.js';

export type Intent =
  | { kind: 'up' } // up, start, plan: the inventory, running; drains are kept
  | { kind: 'status' } // as recorded: a stopped host is compared with its stopped state
  | { kind: 'stop' }
  | { kind: 'down'; purge: boolean }
  | { kind: 'drain'; host: string; remove: boolean }
  | { kind: 'undrain'; host: string };

export interface Recorded {
  stopped?: boolean;
  drained?: Drained;
}

/** What the host should record after this command (ignored by `down`, which forgets everything).
 * `rejectsWeightZero`: this director's keepalived is known to refuse weight 0 (2.0.0-2.0.15) for a
 * service of the drained server, so drain takes the server out instead (the fallback drain reports). */
export function recordFor(
  intent: Intent,
  old: Recorded,
  rejectsWeightZero = false,
): { stopped: boolean; drained: Drained } {
  const drained: Drained = { ...old.drained };
  if (intent.kind === 'drain') drained[intent.host] = intent.remove || rejectsWeightZero ? 'remove' : 'quiesce';
  if (intent.kind === 'undrain') delete drained[intent.host];
  const stopped = intent.kind === 'stop' || (intent.kind !== 'up' && !!old.stopped);
  return { stopped, drained };
}

/**
 * The cluster as the directors should serve it with these drains: a quiesced real server keeps its
 * place with weight 0 (established connections go on, no new ones), a removed one is left out.
 * While any server is drained, expire_quiescent_template=1 makes persistent clients leave a
 * quiesced server too (unless the inventory sets that sysctl itself).
 */
export function drainedCluster(c: Cluster, drained: Drained): Cluster {
  const hosts = Object.keys(drained);
  if (!hosts.length) return c;
  const services = c.services.map((s) => ({
    ...s,
    realServers: servingRealServers(s.realServers, drained),
  }));
  const sysctl = c.ipvs.sysctl ?? {};
  const ipvs =
    'expire_quiescent_template' in sysctl
      ? c.ipvs
      : { ...c.ipvs, sysctl: { ...sysctl, expire_quiescent_template: 1 as const } };
  return { ...c, services, ipvs };
}

/** A stopped host: its VIPs released and keepalived stopped, also at boot; files, sysctls, modules, routes and
 * the director's own addresses (the DIP) stay. */
export function stoppedHost(d: DesiredHost, c: Cluster): DesiredHost {
  const vips = new Set(c.services.map((s) => s.vip.address));
  return {
    ...d,
    addresses: d.addresses.filter((a) => !vips.has(a.address)),
    keepalived: false,
    ...(d.keepalived ? { keepalivedBoot: false } : {}),
  };
}

/** A host with nothing of lvsctl's on it. */
export const nothing = ({ keepalivedBoot: _, ...d }: DesiredHost): DesiredHost => ({
  ...d,
  packages: [],
  modules: [],
  sysctl: {},
  addresses: [],
  links: [],
  keepalived: false,
  route: undefined,
});
