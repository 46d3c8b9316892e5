// `lvsctl plan` and `lvsctl up`: the same pipeline; plan stops before apply.
import { checkLimit, converge, type HostResult } from '../../engine/cluster.js';
import type { FilesFor } from '../../engine/host.js';
import { ExitCode, UsageError } from '../../errors.js';
import { loadInventory } from '../../inventory/load.js';
import { changeDiff, describe, planToJson } from '../../plan/types.js';
import type { HostConnection } from '../../ssh/connection.js';
import { Connections } from '../../engine/connections.js';
import type { Cluster } from '../../inventory/model.js';
import type { Secrets } from '../../inventory/secrets.js';
import { failover, settleKeepalived, type FailoverResult } from '../../verify/failover.js';
import { sh } from '../../util/quote.js';
import { verifyService, type ServiceVerdict } from '../../verify/verify.js';
import type { CommonOptions } from '../main.js';
import type { Output } from '../output.js';
import { progressFor } from '../progress.js';
import { formatTable } from '../table.js';
import { checkInterrupt } from '../../util/interrupt.js';
import type { Intent } from '../../desired/intent.js';

export interface ConvergeOptions extends CommonOptions {
  acceptNewHostKeys: boolean;
  verify?: boolean;
  failover?: boolean;
}

function recap(out: Output, results: HostResult[]): void {
  out.info('\nRECAP');
  for (const r of results)
    out.info(
      `  ${r.host.padEnd(16)} ${r.status.padEnd(11)} changes=${r.changes}${r.error ? `  ${r.step ? `[${r.step}] ` : ''}${r.error}` : ''}`,
    );
}

/** plan, up, start, stop and down: one pipeline; `intent` says what the hosts should become. */
export async function runConverge(
  o: ConvergeOptions,
  out: Output,
  filesFor: FilesFor,
  apply: boolean,
  intent: Intent = { kind: 'up' },
): Promise<number> {
  const { cluster, secrets } = loadInventory(o.inventory);
  checkLimit(cluster, o.limit);
  const conns = new Connections(cluster, o.acceptNewHostKeys);
  try {
    return await convergeWith(o, out, filesFor, apply, cluster, secrets, conns, intent);
  } finally {
    await conns.closeAll();
  }
}

const ALREADY: Record<Intent['kind'], string> = {
  up: 'nothing to change: every host already matches the inventory',
  status: 'nothing to change: every host already matches the inventory',
  stop: 'nothing to change: the service is already stopped on every host',
  down: "nothing to change: nothing of lvsctl's is left on any host",
  drain: 'nothing to change: already drained',
  undrain: 'nothing to change: not drained',
};

async function convergeWith(
  o: ConvergeOptions,
  out: Output,
  filesFor: FilesFor,
  apply: boolean,
  cluster: Cluster,
  secrets: Secrets,
  conns: Connections,
  intent: Intent,
): Promise<number> {
  const results = await converge(cluster, secrets, filesFor, {
    limit: o.limit,
    forks: o.forks,
    apply,
    progress: progressFor(o.json, (line) => out.info(line)),
    conns,
    intent,
  });
  const failed = results.some((r) => r.status === 'failed' || r.status === 'unreachable');
  if (!apply) {
    for (const r of results) {
      if (r.error) continue;
      out.info(`${r.host}: ${r.changes ? `${r.changes} change${r.changes > 1 ? 's' : ''}` : 'no changes'}`);
      for (const c of r.plan?.changes ?? []) {
        out.info(`  ~ ${describe(c)}`);
        const d = changeDiff(c);
        if (d && o.verbose) out.info(d.replace(/^/gm, '      '));
      }
    }
    recap(out, results);
    const pending = results.some((r) => r.changes > 0);
    out.json({
      hosts: results.map((r) => ({ host: r.host, status: r.status, error: r.error, step: r.step })),
      plan: planToJson(results.flatMap((r) => (r.plan ? [r.plan] : []))),
    });
    return failed ? ExitCode.failed : pending ? ExitCode.changesPending : ExitCode.ok;
  }
  recap(out, results);
  // Drains are the operator's, recorded on the directors: say that they were kept.
  for (const r of results)
    for (const [h, how] of Object.entries(r.run?.record.drained ?? {}))
      if (intent.kind !== 'down')
        out.info(
          `note: ${h} stays ${how === 'remove' ? 'removed' : 'drained (weight 0)'} on ${r.host} (lvsctl undrain ${h} gives it back)`,
        );
  const total = results.reduce((n, r) => n + r.changes, 0);
  if (total) out.info(`${total} change${total > 1 ? 's' : ''} applied`);
  else if (!failed) out.info(ALREADY[intent.kind]);
  let verdicts: ServiceVerdict[] = [];
  if (!failed && o.verify !== false && intent.kind === 'up' && cluster.verify) {
    // keepalived was started or reloaded: VRRP elects and checkers program IPVS asynchronously.
    if (results.some((r) => r.plan?.changes.some((c) => c.kind === 'keepalived'))) {
      const dirs = new Map(
        await Promise.all(cluster.directors.members.map(async (m) => [m.host, await conns.get(m.host)] as const)),
      );
      await settleKeepalived(cluster, dirs);
    }
    verdicts = await runVerify(out, cluster, conns);
  }
  // ipvs_lines: the ipvsadm lines sent to the host's kernel (one -R batch), for scripts and the bench.
  const ipvsLines = (r: HostResult) =>
    r.status === 'changed'
      ? (r.plan?.changes ?? []).reduce((n, c) => n + (c.kind === 'ipvs' ? c.lines.length : 0), 0)
      : 0;
  out.json({
    hosts: results.map((r) => ({
      host: r.host,
      status: r.status,
      changes: r.changes,
      ipvs_lines: ipvsLines(r),
      error: r.error,
      step: r.step,
    })),
    verify: verdicts,
  });
  return failed || verdicts.some((v) => !v.ok) ? ExitCode.failed : ExitCode.ok;
}

export async function runVerify(out: Output, cluster: Cluster, conns: Connections): Promise<ServiceVerdict[]> {
  const verdicts: ServiceVerdict[] = [];
  const rows: string[][] = [['', 'service', 'from', 'probe', 'answers per real server (share, weight)']];
  // The directors' IPVS counters identify who answered a TCP or UDP probe.
  const needCounters = cluster.services.some(
    (s) => !s.verify.skip && (s.verify.probe ?? (s.protocol === 'udp' ? 'udp' : 'http')) !== 'http',
  );
  const directors = needCounters ? await Promise.all(cluster.directors.members.map((m) => conns.get(m.host))) : [];
  for (const name of cluster.verify?.from ?? []) {
    const conn = await conns.get(name);
    for (const s of cluster.services) {
      checkInterrupt();
      const v = await verifyService(conn, cluster, s, directors);
      verdicts.push(v);
      const total = Object.values(v.hits).reduce((a, b) => a + b, 0) || 1;
      const cells = s.realServers.map(
        (r) => `${r.host} ${v.hits[r.host] ?? 0} (${Math.round(((v.hits[r.host] ?? 0) / total) * 100)}%, w${r.weight})`,
      );
      const extra = Object.entries(v.hits)
        .filter(([k]) => !s.realServers.some((r) => r.host === k))
        .map(([k, n]) => `${k} ${n}`);
      rows.push([
        v.ok ? 'PASS' : 'FAIL',
        v.service,
        v.from,
        v.probe,
        v.skipped ? `skipped: ${v.skipped}` : [...cells, ...extra].join('   '),
      ]);
      for (const [src, per] of Object.entries(v.bySource ?? {}))
        rows.push([
          '',
          '',
          '',
          '',
          `  from ${src}: ${Object.entries(per)
            .map(([k, n]) => `${k} ${n}`)
            .join(', ')}`,
        ]);
      for (const p of v.problems) rows.push(['', '', '', '', `  ! ${p}`]);
    }
  }
  out.info('\nVERIFY');
  for (const l of formatTable(rows)) out.info(l);
  return verdicts;
}

/** `lvsctl verify`: the verify step on its own (exit 1 when any service fails). */
export async function runVerifyCommand(o: ConvergeOptions, out: Output): Promise<number> {
  const { cluster } = loadInventory(o.inventory);
  if (!cluster.verify) throw new UsageError('the inventory has no verify section (verify.from names the client hosts)');
  const conns = new Connections(cluster, o.acceptNewHostKeys);
  try {
    const verdicts = await runVerify(out, cluster, conns);
    const fo = o.failover ? await runFailover(out, cluster, conns) : undefined;
    out.json({ verify: verdicts, ...(fo ? { failover: fo } : {}) });
    return verdicts.every((v) => v.ok) && (fo?.ok ?? true) ? ExitCode.ok : ExitCode.failed;
  } finally {
    await conns.closeAll();
  }
}

async function runFailover(out: Output, cluster: Cluster, conns: Connections): Promise<FailoverResult> {
  if (cluster.directors.members.length !== 2 || !cluster.directors.vrrp)
    throw new UsageError('--failover needs a keepalived pair (two directors with vrrp)');
  const client = await conns.get(cluster.verify!.from[0]!);
  const dirs = new Map<string, HostConnection>();
  const init = new Map<string, 'systemd' | 'sysv'>();
  for (const m of cluster.directors.members) {
    const c = await conns.get(m.host);
    dirs.set(m.host, c);
    init.set(
      m.host,
      (await c.exec(sh`if [ -d /run/systemd/system ]; then echo systemd; else echo sysv; fi`)).stdout.trim() ===
        'systemd'
        ? 'systemd'
        : 'sysv',
    );
  }
  const s = cluster.services.find((x) => x.protocol === 'tcp' && x.port !== undefined) ?? cluster.services[0]!;
  const r = await failover(cluster, client, dirs, init, s);
  out.info('\nFAILOVER');
  out.info(
    `  ${r.ok ? 'PASS' : 'FAIL'}  VIP ${r.vip}: keepalived stopped on ${r.stopped}; ${r.takeover ?? 'no director'} took over in ${r.takeoverSeconds?.toFixed(2) ?? '-'} s; ${r.failed} of ${r.requests} requests (every 0.2 s) failed; after restart the VIP is on ${r.endHolder ?? 'no director'} (expected ${r.expectedEndHolder})`,
  );
  for (const p of r.problems) out.info(`        ! ${p}`);
  return r;
}
