// The planner for one host: a pure function of what the host should be (desired state and files)
// and what it is (facts). No change when nothing differs. Impossible inventories (interface
// absent, scheduler module missing) fail here, before anything changes. Each resource module plans
// its own changes (resources/index.ts: PHASES); here they are put in order with the state file:
// packages, the other additions, the removals, then the deletions of files and boot links.
import type { DesiredHost } from '../desired/types.js';
import { PlanError, RefusedError } from '../errors.js';
import type { HostFacts } from '../facts/parse.js';
import { keepalivedTooOld } from '../facts/keepalived-version.js';
import { PACKAGE_MANAGERS } from '../os/index.js';
import { PHASES } from '../resources/index.js';
import type { PlanContext, PlanInput } from '../resources/types.js';
import { emptyState, formatState, foundNow, parseState, type HostState } from './state.js';
import type { Change, DesiredFile, HostPlan } from './types.js';
import { STATE_FILE } from '../render/paths.js';

export type { PlanInput };

export { PlanError, RefusedError };

function checkPossible(d: DesiredHost, f: HostFacts, files: DesiredFile[]): void {
  const tooOld = d.keepalived ? keepalivedTooOld(f.keepalivedVersion) : undefined;
  if (tooOld) throw new RefusedError(tooOld);
  const problems: string[] = [];
  const devs = new Set([
    ...d.addresses.map((a) => a.dev),
    ...Object.keys(d.sysctl)
      .map((k) => /^net\.ipv4\.conf\.([^.]+)\./.exec(k)?.[1])
      .filter((x): x is string => !!x),
  ]);
  for (const dev of devs) {
    if (['all', 'default', 'lo'].includes(dev) || d.links.includes(dev)) continue;
    if (!f.links.has(dev))
      problems.push(`interface ${dev} does not exist on this host (it has: ${[...f.links.keys()].join(', ')})`);
  }
  for (const m of d.modules)
    if (!f.modulesAvailable.has(m) && !f.modulesLoaded.has(m))
      problems.push(
        `kernel module ${m} is not available in kernel ${f.kernel}${m.startsWith('ip_vs_') ? ` (the ${m.slice(6)} scheduler is not built for it)` : ''}`,
      );
  if (d.packages.length && !f.pkgManager)
    problems.push(
      `no supported package manager (${PACKAGE_MANAGERS.map((m) => m.name).join(', ')}) to install ` +
        d.packages.join(' '),
    );
  if (problems.length) throw new PlanError(problems.join('; '));
  void files;
}

/** A host recorded as another cluster's is changed for this inventory only when the operator says so. */
function checkOwner(old: HostState, owner: PlanInput['owner']): string | undefined {
  if (!owner || !old.cluster || old.cluster === owner.cluster) return undefined;
  if (!owner.takeover)
    throw new RefusedError(
      `this host belongs to cluster ${old.cluster} (its ${STATE_FILE} says so), not to this inventory's cluster ${owner.cluster}; --takeover makes it ${owner.cluster}'s`,
    );
  return old.cluster;
}

export function planHost(input: PlanInput): HostPlan {
  const { desired: d, facts: f } = input;
  checkPossible(d, f, input.files);
  const old = parseState(f.state);
  const takeover = checkOwner(old, input.owner);
  const copy = () => JSON.parse(JSON.stringify(old)) as HostState;
  const ctx: PlanContext = {
    ...input,
    secrets: input.secrets ?? [],
    old,
    pre: copy(), // old ∪ new: written before changes
    next: copy(),
    adds: [],
    removals: [],
    deletions: [],
    changedFiles: new Set(),
  };
  for (const step of PHASES) step.plan(ctx);
  const { pre, next, adds, deletions } = ctx;
  // What this run finds running and did not create (a cluster built by hand): recorded, so `down`
  // leaves it; taking it over is the operator's call (engine/cluster.ts: up --takeover).
  const found = foundNow(old, next);
  // A link goes down after everything on it is removed: IPv6 addresses leave with the link (the
  // kernel flushes them unless keep_addr_on_down), so their removal would then fail.
  const removals = [...ctx.removals.filter((c) => c.kind !== 'link'), ...ctx.removals.filter((c) => c.kind === 'link')];

  if (input.record) {
    for (const s of [pre, next]) {
      s.stopped = input.record.stopped;
      s.drained = input.record.drained;
      if (input.owner) s.cluster = input.owner.cluster;
    }
  }

  const changes: Change[] = [];
  if (input.forget) {
    // `down`: undo everything recorded, then forget the host (no state file, no lvsctl directories).
    // Packages last: their purge leaves no directory that a file of lvsctl's still kept.
    const purge = input.forget.purge ? old.owned.packages.filter((p) => f.packages.has(p)) : [];
    if (purge.length && f.pkgManager)
      deletions.push({ kind: 'packages', action: 'purge', manager: f.pkgManager, packages: purge });
    if (adds.length || removals.length || deletions.length || f.state !== null)
      changes.push(...adds, ...removals, ...deletions, { kind: 'state', phase: 'remove', content: '' });
    return { host: d.name, changes };
  }
  const preText = formatState(pre);
  const nextText = formatState(next);
  const any = adds.length || removals.length || deletions.length;
  if (any || preText !== formatState(old)) {
    // a host with nothing of lvsctl's gets no state file just to name its cluster
    if (f.state === null && !any && formatState({ ...pre, cluster: undefined }) === formatState(emptyState()))
      return { host: d.name, changes: [] };
    if (f.state === null || preText !== formatState(old))
      changes.push({
        kind: 'state',
        phase: 'before',
        content: preText,
        ...(takeover ? { takeover } : {}),
        ...(found ? { found } : {}),
      });
    changes.push(
      ...adds.filter((c) => c.kind === 'packages'),
      ...adds.filter((c) => c.kind !== 'packages'),
      ...removals,
      ...deletions,
    );
    if (nextText !== preText) changes.push({ kind: 'state', phase: 'after', content: nextText });
  }
  return { host: d.name, changes };
}
