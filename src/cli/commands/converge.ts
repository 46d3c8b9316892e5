// plan, up, start, stop and down: one pipeline (facts -> plan -> apply -> verify); plan stops before
// apply. `lvsctl verify` runs the verify step on its own.
import type { HostResult } from '../../engine/cluster.js';
import type { Intent } from '../../desired/intent.js';
import { mergeDrained } from '../../desired/weight.js';
import { ExitCode, LvsctlError, UsageError } from '../../errors.js';
import { readFileSync } from 'node:fs';
import { planDifferences, SavedPlan, savedPlan, type PlannedHost } from '../../plan/saved.js';
import { fsReason } from '../../util/fs-reason.js';
import { quoted } from '../../util/printable.js';
import { writeAtomic } from '../../util/write-local.js';
import { canAsk, confirmOrStop } from '../confirm.js';

/** up --plan: the hosts changed since the plan was saved. */
export class PlanChangedError extends LvsctlError {}
import { settleKeepalived } from '../../verify/failover.js';
import { failoverCluster, recordedDrains, verifyClients, verifyCluster } from '../../verify/run.js';
import type { ServiceVerdict } from '../../verify/verify.js';
import type { ConvergeOptions, VerifyOptions } from '../options.js';
import type { Output } from '../output.js';
import { gatedLines, keptDrainLines, planLines, recapLines } from '../print/converge.js';
import { changeRecords, hostRecord, lockRecord } from '../records.js';
import { failoverLines, verifyLines } from '../print/verify.js';
import { withHosts, type HostCommand } from '../shell.js';
import { plural } from '../table.js';

const ALREADY: Record<Intent['kind'], string> = {
  up: 'nothing to change: every host already matches the inventory',
  status: 'nothing to change: every host already matches the inventory',
  stop: 'nothing to change: the service is already stopped on every host',
  down: "nothing to change: nothing of lvsctl's is left on any host",
  drain: 'nothing to change: already drained',
  undrain: 'nothing to change: not drained',
};

const failedHost = (r: HostResult) => r.status === 'failed' || r.status === 'unreachable';

const planned = (results: HostResult[]): PlannedHost[] =>
  results.map((r) => ({ host: r.host, status: r.status, changes: r.plan?.changes ?? [] }));

/** `lvsctl plan`: what up would change (exit 2 when something would); --out saves it for `up --plan`. */
export function runPlan(o: ConvergeOptions, out: Output): Promise<number> {
  return withHosts(o, out, async ({ cluster, converge }) => {
    const results = await converge(false);
    for (const l of planLines(results, o.verbose)) out.info(l);
    if (o.out) {
      const saved = savedPlan(cluster.name, planned(results));
      writeAtomic(o.out, JSON.stringify(saved, null, 2) + '\n', '--out');
      out.info(
        `plan saved to ${o.out} (${saved.digest}); \`lvsctl up --plan ${o.out}\` applies it only if nothing changed since`,
      );
    }
    out.set({
      hosts: results.map((r) => ({ ...hostRecord(cluster, r), ...lockRecord(r) })),
      changes: changeRecords(results, false),
    });
    if (results.some(failedHost)) return ExitCode.failed;
    return results.some((r) => r.changes > 0) ? ExitCode.changesPending : ExitCode.ok;
  });
}

/** up, start, stop, down: converge every selected host to `intent`, then (up, start) verify. */
export function runConverge(o: ConvergeOptions, out: Output, intent: Intent): Promise<number> {
  const saved = o.plan ? readSavedPlan(o.plan) : undefined;
  return withHosts(
    o,
    out,
    async (c) => {
      const { cluster } = c;
      if (saved && saved.cluster !== cluster.name)
        throw new UsageError(
          `--plan ${o.plan}: the saved plan is cluster ${saved.cluster}'s, this inventory is ${cluster.name}'s`,
        );
      const approve = async (planned: HostResult[]) => {
        if (saved) checkSaved(saved, o.plan!, planned);
        if ((intent.kind === 'stop' || intent.kind === 'down') && !o.yes && canAsk()) await ask(intent.kind, planned);
      };
      const results = await c.converge(true, intent, undefined, approve);
      const failed = results.some(failedHost);
      for (const l of recapLines(results)) out.info(l);
      if (intent.kind !== 'down') for (const l of [...keptDrainLines(results), ...gatedLines(results)]) out.info(l);
      const total = results.reduce((n, r) => n + r.changes, 0);
      if (total) out.info(`${plural(total, 'change')} applied`);
      else if (!failed) out.info(ALREADY[intent.kind]);
      // Set before verify runs, so that an interrupted or failed verify still reports what was applied.
      out.set({
        hosts: results.map((r) => ({ ...hostRecord(cluster, r), ipvs_lines: ipvsLines(r) })),
        changes: changeRecords(results, true),
        verify: [],
      });
      const verdicts =
        !failed && o.verify !== false && intent.kind === 'up' && cluster.verify
          ? await verifyAfter(c, results, out)
          : [];
      out.set({ verify: verdicts });
      return failed || verdicts.some((v) => !v.ok) ? ExitCode.failed : ExitCode.ok;
    },
    { lock: { command: intent.kind } },
  );
}

/** The saved plan file, checked before any host is contacted (64 when it is not one). */
function readSavedPlan(file: string): SavedPlan {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--plan ${quoted(file)}: cannot read it: ${fsReason(e)}`);
  }
  try {
    return SavedPlan.parse(JSON.parse(text));
  } catch {
    throw new UsageError(`--plan ${quoted(file)}: not a plan saved by \`lvsctl plan --out\``);
  }
}

/** up --plan: the plan now must be the saved one, else nothing is applied. */
function checkSaved(saved: SavedPlan, file: string, results: HostResult[]): void {
  const diff = planDifferences(saved, planned(results));
  if (diff.length)
    throw new PlanChangedError(
      `the plan now differs from the one saved in ${file} (${saved.created}); nothing was changed. Differences (- saved only, + now only):\n${diff.map((l) => `  ${l}`).join('\n')}\nRun plan --out again and read it.`,
    );
}

/** down and stop on a terminal: what they would change, then the question. */
async function ask(kind: 'stop' | 'down', results: HostResult[]): Promise<void> {
  const hosts = results.filter((r) => r.changes > 0).map((r) => `${r.host} (${plural(r.changes, 'change')})`);
  if (!hosts.length) return;
  const what = kind === 'down' ? 'remove everything lvsctl put on' : 'take the service down on';
  await confirmOrStop(`lvsctl ${kind} will ${what}: ${hosts.join(', ')}. Go on?`);
}

/** verify after up/start: keepalived, when started or reloaded, first settles (VRRP elects and
 * checkers program IPVS asynchronously); the drains are the ones the directors just recorded. */
async function verifyAfter(
  { cluster, conns, selected }: HostCommand,
  results: HostResult[],
  out: Output,
): Promise<ServiceVerdict[]> {
  const from = verifyClients(cluster, selected);
  if (!from.length) {
    out.info('verify skipped: --limit selects none of the verify.from clients');
    return [];
  }
  if (results.some((r) => r.plan?.changes.some((c) => c.kind === 'keepalived'))) {
    const dirs = new Map(
      await Promise.all(cluster.directors.members.map(async (m) => [m.host, await conns.get(m.host)] as const)),
    );
    await settleKeepalived(cluster, dirs);
  }
  const directors = new Set(cluster.directors.members.map((m) => m.host));
  const drained = mergeDrained(results.filter((r) => directors.has(r.host)).map((r) => r.run?.record.drained ?? {}));
  // a server held at weight 0 because it is not ready is expected to get nothing, as a drained one
  for (const g of results.flatMap((r) => r.run?.gated ?? [])) if (!g.weight) drained[g.host] ??= 'quiesce';
  const verdicts = await verifyCluster(cluster, conns, drained, from);
  for (const l of verifyLines(cluster, verdicts)) out.info(l);
  return verdicts;
}

/** ipvs_lines: the ipvsadm lines sent to the host's kernel (one -R batch), for scripts and the bench. */
function ipvsLines(r: HostResult): number {
  if (r.status !== 'changed') return 0;
  return (r.plan?.changes ?? []).reduce((n, c) => n + (c.kind === 'ipvs' ? c.lines.length : 0), 0);
}

/** `lvsctl verify`: the verify step on its own (exit 1 when any service fails). */
export function runVerifyCommand(o: VerifyOptions, out: Output): Promise<number> {
  const check: Parameters<typeof withHosts>[3] = {
    check: (cluster, selected) => {
      if (!cluster.verify)
        throw new UsageError('the inventory has no verify section (verify.from names the client hosts)');
      if (!verifyClients(cluster, selected).length)
        throw new UsageError(`--limit selects none of the verify.from clients (${cluster.verify.from.join(', ')})`);
      if (o.failover && (cluster.directors.members.length < 2 || !cluster.directors.vrrp))
        throw new UsageError('--failover needs a keepalived group (two or more directors with vrrp)');
    },
    // --failover stops keepalived on the directors: a change, under the run lock
    ...(o.failover && {
      lock: { command: 'verify --failover', hosts: (c) => c.directors.members.map((m) => m.host) },
    }),
  };
  return withHosts(
    o,
    out,
    async ({ cluster, conns, selected }) => {
      out.set({ verify: [] });
      const from = verifyClients(cluster, selected);
      // The clients' connections start now, beside the directors' (an error is verify's to report).
      for (const c of from) conns.get(c).catch(() => undefined);
      const verdicts = await verifyCluster(cluster, conns, await recordedDrains(cluster, conns), from);
      out.set({ verify: verdicts });
      for (const l of verifyLines(cluster, verdicts)) out.info(l);
      const fo = o.failover ? await failoverCluster(cluster, conns, from[0]) : undefined;
      // failover: the first (the only one unless active-active); failovers: one per master.
      if (fo) for (const l of failoverLines(fo)) out.info(l);
      if (fo) out.set({ failover: fo[0], failovers: fo });
      return verdicts.every((v) => v.ok) && (fo ?? []).every((f) => f.ok) ? ExitCode.ok : ExitCode.failed;
    },
    check,
  );
}
