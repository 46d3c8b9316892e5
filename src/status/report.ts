// `lvsctl status` as data: per host its state and drift (the plan `up` would make, so anything
// lvsctl would repair is drift), who holds each VIP, and per service and director the live real
// servers with weights, connections and health. Pure: built from the hosts' facts and plans.
// keepalived's own health-check removals are reported as health, never as drift.
import type { HostResult } from '../engine/cluster.js';
import type { Cluster } from '../inventory/model.js';
import { canonicalAddress, hostPort } from '../ipvs/address.js';
import { parseList } from '../ipvs/list.js';
import { ipvsService } from '../ipvs/desired.js';
import { serviceKey } from '../ipvs/table.js';
import { describe } from '../plan/types.js';

export type Health =
  | 'serving'
  | 'drained'
  | 'removed by drain'
  | 'removed by health check'
  | 'weight 0 (health check failing)'
  | 'missing'
  | 'stopped'
  | 'unknown';

export interface RealServerStatus {
  host: string;
  destination: string;
  inventoryWeight: number;
  weight?: number;
  active?: number;
  inactive?: number;
  health: Health;
}

export interface StatusReport {
  hosts: {
    host: string;
    roles: string[];
    state: 'running' | 'stopped' | 'not set up' | 'unreachable' | 'failed';
    drift: string[];
    error?: string;
  }[];
  vips: { address: string; interface: string; holders: string[]; problem?: string }[];
  services: { service: string; name?: string; scheduler: string; director: string; realServers: RealServerStatus[] }[];
  /** Something differs from what the inventory (with recorded stops and drains) asks. */
  drift: boolean;
  /** A host could not be read. */
  failed: boolean;
}

export function statusReport(cluster: Cluster, results: HostResult[]): StatusReport {
  const by = new Map(results.map((r) => [r.host, r]));
  const hosts: StatusReport['hosts'] = results.map((r) => {
    const roles = [...cluster.hosts.get(r.host)!.roles].sort();
    if (!r.run)
      return {
        host: r.host,
        roles,
        state: r.status === 'unreachable' ? 'unreachable' : 'failed',
        drift: [],
        error: r.error,
      };
    const state = r.run.record.stopped ? 'stopped' : r.run.facts.state === null ? 'not set up' : 'running';
    return { host: r.host, roles, state, drift: r.run.plan.changes.filter((c) => c.kind !== 'state').map(describe) };
  });

  const directors = cluster.directors.members.map((m) => m.host);
  const vips: StatusReport['vips'] = [];
  for (const s of cluster.services) {
    if (vips.some((v) => v.address === s.vip.address)) continue;
    const read = directors.filter((d) => by.get(d)?.run);
    const vip = canonicalAddress(s.vip.address);
    const holders = read.filter((d) =>
      by.get(d)!.run!.facts.addresses.some((a) => canonicalAddress(a.address) === vip),
    );
    const stopped = read.length > 0 && read.every((d) => by.get(d)!.run!.record.stopped);
    const problem = stopped
      ? undefined
      : read.length < directors.length
        ? undefined
        : holders.length === 0
          ? 'no director holds it'
          : holders.length > 1
            ? `held by ${holders.length} directors at once`
            : undefined;
    vips.push({ address: s.vip.address, interface: s.vip.interface, holders, ...(problem ? { problem } : {}) });
  }

  const services: StatusReport['services'] = [];
  for (const s of cluster.services) {
    for (const d of directors) {
      const run = by.get(d)?.run;
      const live = run?.facts.ipvsList
        ? parseList(run.facts.ipvsList).get(serviceKey(ipvsService(cluster, s)))
        : undefined;
      const drained = run?.record.drained ?? {};
      const realServers = s.realServers.map((r): RealServerStatus => {
        const destination = hostPort(r.address, r.port);
        const l = live?.get(destination);
        const base = {
          host: r.host,
          destination,
          inventoryWeight: r.weight,
          ...(l ? { weight: l.weight, active: l.active, inactive: l.inactive } : {}),
        };
        const health: Health = !run
          ? 'unknown'
          : run.record.stopped
            ? 'stopped'
            : drained[r.host] === 'remove'
              ? 'removed by drain'
              : drained[r.host] === 'quiesce'
                ? 'drained'
                : !l
                  ? s.engine === 'keepalived' && r.healthCheck
                    ? 'removed by health check'
                    : 'missing'
                  : l.weight === 0 && r.weight > 0 && s.inhibitOnFailure
                    ? 'weight 0 (health check failing)'
                    : 'serving';
        return { ...base, health };
      });
      services.push({
        service: s.id,
        ...(s.name ? { name: s.name } : {}),
        scheduler: s.scheduler,
        director: d,
        realServers,
      });
    }
  }
  const drift = hosts.some((h) => h.drift.length > 0) || vips.some((v) => v.problem);
  return { hosts, vips, services, drift, failed: hosts.some((h) => h.state === 'unreachable' || h.state === 'failed') };
}
