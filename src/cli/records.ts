// The host and change records of the JSON document (cli/contract.ts), built from the engine's results.
import type { HostResult } from '../engine/cluster.js';
import type { Cluster } from '../inventory/model.js';
import { changeRecord } from '../plan/record.js';
import type { ChangeRecord, HostRecord } from './contract.js';

/** One host's record: the same fields in every command. */
export function hostRecord(cluster: Cluster, r: HostResult): HostRecord {
  const roles = [...(cluster.hosts.get(r.host)?.roles ?? [])].sort();
  const gated = r.run?.gated ?? [];
  return {
    host: r.host,
    roles,
    status: r.status,
    changes: r.changes,
    error: r.error ?? null,
    step: r.step ?? null,
    ...(gated.length && { held_back: gated.map((g) => ({ host: g.host, why: g.why, weight: g.weight })) }),
  };
}

/** The changes of the hosts' plans: planned (plan, status) or, once applied, made. A host that
 * failed while applying lists none (what it got done before the failure is not known here; the
 * next run's plan shows what is left). */
export function changeRecords(results: HostResult[], applied: boolean): ChangeRecord[] {
  return results.flatMap((r) =>
    !r.plan || (applied && r.status !== 'changed') ? [] : r.plan.changes.map((c) => changeRecord(r.host, c)),
  );
}

/** plan and status (which take no lock): the lease another run holds on the host, if any. */
export function lockRecord(r: HostResult): Pick<HostRecord, 'lock'> {
  const l = r.run?.facts.lock;
  if (!l) return {};
  const { id: _, expiresIn, ...holder } = l;
  return { lock: { ...holder, expires_in: expiresIn } };
}
