// `lvsctl status` as data: per host its state and drift (the plan `up` would make, so anything
// lvsctl would repair is drift), who holds each VIP, and per service and director the live real
// servers with weights, connections and health. Pure: built from the hosts' facts and plans.
// keepalived's own health-check removals are reported as health, never as drift.
import type { HostResult } from '../engine/cluster.js';
export type { Health } from '../desired/health.js';
import type { Cluster } from '../inventory/model.js';
import { sameAddress } from '../identity/address.js';
import { destinationKey } from '../identity/service.js';
import { health, type Health } from '../desired/health.js';
import { parseList } from '../ipvs/list.js';
import { describe } from '../plan/types.js';

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
    let state: StatusReport['hosts'][number]['state'] = r.run.facts.state === null ? 'not set up' : 'running';
    if (r.run.record.stopped) state = 'stopped';
    return { host: r.host, roles, state, drift: r.run.plan.changes.filter((c) => c.kind !== 'state').map(describe) };
  });

  const directors = cluster.directors.members.map((m) => m.host);
  const vips: StatusReport['vips'] = [];
  for (const s of cluster.services) {
    if (vips.some((v) => sameAddress(v.address, s.vip.address))) continue;
    const read = directors.filter((d) => by.get(d)?.run);
    const holders = read.filter((d) =>
      by.get(d)!.run!.facts.addresses.some((a) => sameAddress(a.address, s.vip.address)),
    );
    const stopped = read.length > 0 && read.every((d) => by.get(d)!.run!.record.stopped);
    // Unknown while a director could not be read, and none expected while every director is stopped.
    const problem = stopped || read.length < directors.length ? undefined : holderProblem(holders.length);
    vips.push({ address: s.vip.address, interface: s.vip.interface, holders, ...(problem ? { problem } : {}) });
  }

  const services: StatusReport['services'] = [];
  for (const s of cluster.services) {
    for (const d of directors) {
      const run = by.get(d)?.run;
      const live = run?.facts.ipvsList ? parseList(run.facts.ipvsList).get(s.id) : undefined;
      const realServers = s.realServers.map((r): RealServerStatus => {
        const destination = destinationKey(r);
        const l = live?.get(destination);
        return {
          host: r.host,
          destination,
          inventoryWeight: r.weight,
          ...(l ? { weight: l.weight, active: l.active, inactive: l.inactive } : {}),
          health: run ? health(s, r, run.record, l) : 'unknown',
        };
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

function holderProblem(holders: number): string | undefined {
  if (holders === 0) return 'no director holds it';
  if (holders > 1) return `held by ${holders} directors at once`;
  return undefined;
}
