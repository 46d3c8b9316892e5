// One host through the pipeline: facts -> plan -> apply -> read back. The SSH layer only runs
// commands and moves files; everything decided here comes from pure functions.
import { commandFor, batch } from '../apply/commands.js';
import { sessionSteps, type Action } from '../apply/session.js';
import { desiredHost } from '../desired/host.js';
import { LvsctlError } from '../errors.js';
import { parseFacts, type HostFacts } from '../facts/parse.js';
import { scriptProblems } from '../facts/scripts.js';
import { directorScripts } from '../inventory/scripts.js';
import { weightZeroHint } from '../facts/keepalived-version.js';
import { keepalivedServes } from '../desired/weight.js';
import { factsScript, SECTION, STATE_FILE } from '../facts/script.js';
import { BOOT_LINKS, LVSCTL_ETC, MANAGED_PATHS } from '../render/paths.js';
import { netfilterFiles } from '../render/netfilter.js';
import type { Cluster } from '../inventory/model.js';
import type { Secrets } from '../inventory/secrets.js';
import { desiredTable } from '../ipvs/desired.js';
import { formatRules } from '../ipvs/format.js';
import { parseRules } from '../ipvs/parse.js';
import { hasThresholds, liveTable, withThresholds } from '../ipvs/list.js';
import { serviceKey } from '../identity/service.js';
import type { IpvsTable } from '../ipvs/table.js';
import { planHost } from '../plan/host.js';
import { ipvsDelta } from '../plan/ipvs.js';
import { parseState } from '../plan/state.js';
import { drainedCluster, nothing, recordFor, stoppedHost, type Drained, type Intent } from '../desired/intent.js';
import { describe, isEngineChange, type Change, type DesiredFile, type HostPlan } from '../plan/types.js';
import { redact, type ExecResult, type HostConnection } from '../ssh/connection.js';
import { lines, sh, type Shell } from '../util/quote.js';
import { createHash, randomBytes } from 'node:crypto';
import { checkInterrupt } from '../util/interrupt.js';
import { timed, timedSync } from '../util/timings.js';
import { gatedCluster, type Gated, type Unready } from '../desired/readiness.js';

export class ApplyError extends LvsctlError {
  constructor(
    readonly step: string,
    message: string,
  ) {
    super(message); // the recap shows the step beside it
  }
}

/** What the facts found on a host that rules out applying anywhere (a script keepalived would not
 * run): converge (engine/cluster.ts) then changes no host. */
export class HostCheckError extends ApplyError {
  static readonly STEP = 'checks before apply';
  constructor(readonly problems: string[]) {
    super(HostCheckError.STEP, problems.join('; '));
  }
}

/** Intents that run keepalived with the inventory's scripts (stop and down only take things away). */
const CHECKED: ReadonlySet<Intent['kind']> = new Set(['up', 'drain', 'undrain']);

/** --takeover (hosts that another inventory set up, or that run a cluster built by hand, are planned
 * for this one) and --disable-boot-scripts (what would fight the takeover at boot is disabled). */
export interface Takeover {
  takeover?: boolean;
  disableBootScripts?: boolean;
}

/** Files for a host: supplied by the renderer (src/render). */
export type FilesFor = (cluster: Cluster, host: string, secrets: Secrets) => DesiredFile[];

export interface HostRun {
  facts: HostFacts;
  plan: HostPlan;
  /** The cluster as this host should serve it (the inventory with the host's recorded drains). */
  cluster: Cluster;
  /** The IPVS table lvsctl should own on this host afterwards (read back after `ipvsadm -R`). */
  table: IpvsTable;
  /** Stopped and drained, as recorded after this command. */
  record: { stopped: boolean; drained: Drained };
  /** Secret values, scrubbed from any remote output that an error repeats. */
  secrets: string[];
  /** On a director: real servers not ready, held at weight 0 or their current weight (readiness.ts). */
  gated?: Gated[];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const secretValues = (s: Secrets) => [s.vrrpPassword].filter((x): x is string => !!x);

/** Every package lvsctl may install: besides the ones the host's role needs, each is queried where the
 * host's record names it, so `down --purge` finds what lvsctl installed whatever the role now. */
const ALL_PACKAGES = ['curl', 'ipvsadm', 'keepalived'];

/** The run lock taken by the facts command itself (lock/locks.ts: one session, not two). */
export interface LeaseWithFacts {
  /** The run's lock id (its own lease is then not reported as a holder). */
  id: string;
  lease: Shell;
  took(out: { stdout: string; stderr: string } | { error: unknown }): void;
  /** The command waits at its end for the run's word (`word`), which may let go of the lease there;
   * `ended` gets all it printed once it ends (undefined: it failed). */
  hold: {
    wrap(facts: Shell): Shell;
    mark: string;
    word: Promise<string | undefined>;
    ended(stdout: string | undefined): void;
  };
}

/** A command that waits for a word (ssh/connection.ts Hold): what it printed up to there, as if it
 * had ended with 0 (or its whole result when it ended first). */
function execHeld(conn: HostConnection, cmd: Shell, hold: LeaseWithFacts['hold']): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const reached = (head: { stdout: string; stderr: string }) => {
      resolve({ code: 0, ...head });
      return hold.word;
    };
    conn.exec(cmd, { hold: { mark: hold.mark, reached } }).then(
      (r) => {
        hold.ended(r.stdout);
        resolve(r);
      },
      (e: unknown) => {
        hold.ended(undefined);
        reject(e);
      },
    );
  });
}

/** Gather facts (one command) and compute the plan (pure) for what `intent` asks of this host. */
export async function planOnHost(
  conn: HostConnection,
  cluster: Cluster,
  secrets: Secrets,
  filesFor: FilesFor,
  intent: Intent = { kind: 'up' },
  takeover: Takeover = {},
  lock?: LeaseWithFacts,
): Promise<HostRun> {
  const name = conn.name;
  // Every path lvsctl could own, whatever this host's role now: stale files from an earlier role or
  // mode are found and removed. (Drains change contents, never paths.)
  const allLinks = [...BOOT_LINKS.systemd, ...BOOT_LINKS.sysv].map((l) => l.path);
  const base = filesFor(cluster, name, secrets);
  // Files already as rendered are not sent back for diffs: their content is known here.
  const byHash = new Map(base.map((f) => [sha256(f.content), f.content]));
  // Thresholds are read back (-S prints none) where this director's table has some.
  const director = cluster.hosts.get(name)!.roles.has('director');
  const thresholds = director && hasThresholds(desiredTable(cluster, name));
  const scripts = director && CHECKED.has(intent.kind) ? directorScripts(cluster) : [];
  const wanted = desiredHost(cluster, name).packages;
  const facts = factsScript({
    packages: wanted,
    recordedPackages: ALL_PACKAGES.filter((p) => !wanted.includes(p)),
    director,
    files: [...new Set([...Object.values(MANAGED_PATHS), ...base.map((f) => f.path)])],
    bootLinks: allLinks,
    known: [...byHash.keys()],
    list: intent.kind === 'status',
    thresholds,
    scripts: [...new Set(scripts.map((s) => s.path))],
    scriptUsers: [...new Set(scripts.map((s) => s.user))],
    bootScan: !!takeover.takeover && intent.kind === 'up',
    runId: lock?.id,
  });
  let r: ExecResult;
  try {
    r = await timed(name, 'facts', () =>
      lock ? execHeld(conn, lines([lock.lease, lock.hold.wrap(facts)]), lock.hold) : conn.exec(facts),
    );
  } catch (error) {
    lock?.took({ error });
    throw error;
  }
  if (lock) {
    // The lease's answer comes before the first section (and counts whatever the facts did).
    const at = r.stdout.indexOf(`\n${SECTION}`);
    lock.took({ stdout: at < 0 ? r.stdout : r.stdout.slice(0, at), stderr: r.stderr });
    r = { ...r, stdout: at < 0 ? '' : r.stdout.slice(at) };
  }
  if (r.code !== 0) throw new ApplyError('facts', `the facts script failed (exit ${r.code}): ${r.stderr.trim()}`);
  conn.checkpoint('after-facts');
  const found = parseFacts(r.stdout);
  const problems = scriptProblems(scripts, found.scripts);
  if (problems.length) throw new HostCheckError(problems);
  for (const [path, f] of found.files)
    if (f && !found.contents.has(path) && byHash.has(f.sha256)) found.contents.set(path, byHash.get(f.sha256)!);
  return timedSync(name, 'plan', () => planFromFacts(cluster, name, secrets, filesFor, found, intent, base, takeover));
}

/** The pure part: the host's facts and the command's intent -> desired state -> plan. */
export function planFromFacts(
  cluster: Cluster,
  name: string,
  secrets: Secrets,
  filesFor: FilesFor,
  facts: HostFacts,
  intent: Intent = { kind: 'up' },
  rendered?: DesiredFile[],
  takeover: Takeover = {},
): HostRun {
  const old = parseState(facts.state);
  const director = cluster.hosts.get(name)!.roles.has('director');
  const v = facts.keepalivedVersion;
  const rejects =
    director &&
    intent.kind === 'drain' &&
    !!v &&
    weightZeroHint(v) === 'rejected' &&
    keepalivedServes(cluster, intent.host);
  const record = recordFor(intent, old, rejects);
  const down = intent.kind === 'down';
  const c = director ? drainedCluster(cluster, record.drained) : cluster;
  let desired = desiredHost(c, name);
  if (down) desired = nothing(desired);
  else if (record.stopped) desired = stoppedHost(desired, c);
  // Rendered once when no drain changes the cluster (a large rules file is the costliest part).
  let files: DesiredFile[] = [];
  if (!down) files = c === cluster && rendered ? rendered : filesFor(c, name, secrets);
  // A host that is no director (now, or any more) owns no virtual services: earlier ones are deleted;
  // `down` puts back the services lvsctl found running and took over, as they were.
  const live = liveTable(facts);
  const original = parseRules(old.originals.ipvs ?? '');
  let table: IpvsTable = down ? original : { services: [] };
  if (director && !down && !record.stopped) table = desiredTable(c, name);
  const delta = ipvsDelta(live, table, old.owned.ipvs, facts.ipvsThresholds !== null);
  const recorded = new Set([...old.owned.ipvs, ...original.services.map(serviceKey)]);
  const found = down
    ? []
    : live.services.filter(
        (s) => !recorded.has(serviceKey(s)) && table.services.some((t) => serviceKey(t) === serviceKey(s)),
      );
  const ipvs = { ...delta, ...(found.length && { found: formatRules({ services: found }) }) };
  const t = c.ipvs.timeouts;
  const plan = planHost({
    desired,
    files,
    facts,
    ipvs,
    bootLinks: files.length ? BOOT_LINKS : undefined, // hosts with a boot script get it started at boot
    ...(director && !down ? { netfilter: netfilterFiles(c) } : {}),
    ...(director && !down && t ? { timeouts: [t.tcp, t.tcpfin, t.udp] as [number, number, number] } : {}),
    secrets: secretValues(secrets),
    ...(down ? { forget: { purge: intent.purge } } : { record }),
    owner: {
      cluster: cluster.name,
      takeover: !!takeover.takeover,
      ...(takeover.disableBootScripts && { disableBootScripts: true }),
    },
    ...(intent.kind === 'stop' ? { stopping: true } : {}),
  });
  return { facts, plan, cluster: c, table, record, secrets: secretValues(secrets) };
}

/** A director's plan again, from the same facts, with the real servers that are not ready gated
 * (nothing was applied to it yet, so its facts still hold). */
export function gatedPlan(
  run: HostRun,
  cluster: Cluster,
  name: string,
  secrets: Secrets,
  filesFor: FilesFor,
  unready: Unready,
  intent: Intent = { kind: 'up' },
  takeover: Takeover = {},
): HostRun {
  const { cluster: gatedC, gated } = gatedCluster(cluster, unready, liveTable(run.facts));
  if (!gated.length) return run;
  return { ...planFromFacts(gatedC, name, secrets, filesFor, run.facts, intent, undefined, takeover), gated };
}

/** The lock release that goes with a host's last command of the run (lock/locks.ts: releaseWith). */
export interface ReleaseWithApply {
  lease: Shell;
  /** The release's answer (undefined: the apply did not get that far; the run's end tries again). */
  done(stdout: string | undefined): void;
}

const RELEASE_MARK = '@@lvsctl release';

/** Apply a plan in one command (one SSH session): the state record, files written atomically and
 * system commands, in the plan's order (apply/session.ts); keepalived.conf only after keepalived's
 * own test passed. IPVS goes in one `ipvsadm -R` of its own, because its result is read back and
 * compared exactly before anything else happens. `release` lets go of the run lock at the end of
 * the last command. Returns the number of changes applied. */
export async function applyOnHost(
  conn: HostConnection,
  run: HostRun,
  log: (line: string) => void,
  release?: ReleaseWithApply,
): Promise<number> {
  let actions: Action[] = [];
  // Parent directories of new files (the first session's; tar makes them itself).
  const dirs = [
    ...new Set(
      run.plan.changes
        .flatMap((c) => {
          if (c.kind === 'state') return [STATE_FILE];
          return c.kind === 'file' && c.action === 'create' ? [c.file.path] : [];
        })
        .map((p) => p.replace(/\/[^/]+$/, '')),
    ),
  ];
  let first = true;
  /** Runs the actions so far in one command; `last` adds the lease's release after them. */
  const flush = async (last = false) => {
    const lease = last ? release : undefined;
    const todo = actions;
    actions = [];
    if (!todo.length && !lease) return;
    const { steps, prologue } = sessionSteps(todo, {
      tar: !!run.facts.tar,
      renameUl: !!run.facts.renameUl,
      dirs: first ? dirs : [],
      token: randomBytes(4).toString('hex'),
    });
    first = false;
    const b = batch(steps, prologue);
    const script = lease ? lines([b.script, sh`printf '%s\n' ${RELEASE_MARK}`, lease.lease]) : b.script;
    let r: ExecResult;
    try {
      // a command that writes files is the write a fault test cuts ('write-file')
      const writes = todo.some((a) => a.kind === 'write' || a.kind === 'link');
      r = await timed(conn.name, 'apply', () =>
        conn.exec(script, { ...(b.stdin.length && { stdin: b.stdin }), ...(writes && { step: 'write-file' }) }),
      );
    } catch (e) {
      lease?.done(undefined);
      throw e;
    }
    const at = r.stdout.indexOf(`${RELEASE_MARK}\n`);
    lease?.done(at < 0 ? undefined : r.stdout.slice(at + RELEASE_MARK.length + 1));
    const failed = /@@failed (\d+) (\d+)/.exec(r.stdout);
    const done = /^@@done$/m.test(r.stdout);
    // after @@done the exit status is the release's (its answer is judged by the lock)
    if (!failed && (r.code === 0 || done)) return;
    const step = failed ? steps[Number(failed[1])] : undefined;
    const code = failed ? Number(failed[2]) : r.code;
    const said = redact(r.stderr.trim().split('\n').slice(-3).join(' | '), run.secrets);
    if (step?.fail) throw step.fail(code, said);
    throw new ApplyError(step ? step.label : 'system', `failed (exit ${code}): ${said}`);
  };
  for (const c of run.plan.changes) {
    checkInterrupt();
    log(describe(c));
    if (c.kind === 'bootlink' && c.action === 'create') {
      actions.push({ kind: 'link', label: describe(c), path: c.path, target: c.target, cmd: commandFor(c, run.facts) });
      continue;
    }
    if (!isEngineChange(c)) {
      actions.push({ kind: 'command', label: describe(c), cmd: commandFor(c, run.facts) });
      continue;
    }
    switch (c.kind) {
      case 'state':
        if (c.phase === 'remove')
          actions.push({
            kind: 'command',
            label: describe(c),
            cmd: sh`rm -f ${STATE_FILE} && { rmdir -- ${[STATE_FILE.replace(/\/[^/]+$/, ''), LVSCTL_ETC]} 2>/dev/null; :; }`,
          });
        else actions.push({ kind: 'write', file: { path: STATE_FILE, content: c.content, mode: 0o600 }, state: true });
        break;
      case 'file': {
        if (c.action === 'delete') {
          actions.push({ kind: 'command', label: describe(c), cmd: deleteFile(c.path, c.restore) });
          break;
        }
        // a found file's content first, once: later runs find the copy and keep it
        if (c.keep)
          actions.push({
            kind: 'command',
            label: describe(c),
            cmd: sh`[ -e ${c.keep} ] || cp -p -- ${c.file.path} ${c.keep}`,
          });
        const f = c.file;
        const file = { path: f.path, content: f.content, mode: f.mode, owner: f.owner, group: f.group };
        actions.push({ kind: 'write', file, ...(f.validate === 'keepalived' && { check: keepalivedCheck(f.path) }) });
        break;
      }
      case 'ipvs':
        await flush();
        await applyIpvs(conn, run, c);
        break;
    }
  }
  await flush(true);
  return run.plan.changes.filter((c) => c.kind !== 'state').length;
}

/** rm; the drop-in's directory goes with it once empty (lvsctl created it). A found file comes back
 * from its copy (none: lvsctl never changed it, it stays). */
function deleteFile(path: string, restore?: string) {
  if (restore) return sh`if [ -e ${restore} ]; then mv -f -- ${restore} ${path}; fi`;
  if (path === MANAGED_PATHS.keepalivedDropIn)
    return sh`rm -f ${path} && { rmdir -- ${path.replace(/\/[^/]+$/, '')} 2>/dev/null; :; }`;
  return sh`rm -f ${path}`;
}

/** keepalived.conf replaces the old one only after keepalived's own config test passed on the
 * host (it knows the host's interfaces); a rejected config is never installed, so a running
 * keepalived keeps its config. The new file is staged beside the old one (apply/session.ts). */
function keepalivedCheck(path: string) {
  const label = 'keepalived config test';
  return {
    label,
    cmd: (stage: Shell) =>
      sh`if keepalived -t -f ${stage} >/dev/null 2>${stage}.err; then mv -f ${stage} ${path}; rm -f ${stage}.err; else rc=$?; cat ${stage}.err >&2; rm -f ${stage} ${stage}.err; exit "$rc"; fi`,
    fail: (code: number, said: string) =>
      new ApplyError(label, `keepalived -t rejected the new ${path} (exit ${code}); it was not installed: ${said}`),
  };
}

/** The live table the facts showed (with thresholds when they were read). */

/** The live table now; with `thresholds`, `-Ln --thresholds` too (-S prints none). */
const readTable = async (conn: HostConnection, thresholds: boolean): Promise<IpvsTable> => {
  const back = await conn.exec(
    thresholds ? sh`ipvsadm -Sn && echo @@thr && ipvsadm -Ln --thresholds` : sh`ipvsadm -Sn`,
  );
  if (back.code !== 0) throw new ApplyError('ipvs', `ipvsadm -Sn failed: ${back.stderr.trim()}`);
  const [rules, thr] = back.stdout.split('@@thr\n') as [string, string | undefined];
  return thresholds ? withThresholds(parseRules(rules), thr ?? '') : parseRules(rules);
};

/** The IPVS delta in one `ipvsadm -R`, read back and compared exactly. A line the kernel rejected
 * shows up as a difference: the director's previous table is then put back (the delta from what
 * is there now to what the facts showed), so a half-applied change never stays. */
async function applyIpvs(conn: HostConnection, run: HostRun, c: Extract<Change, { kind: 'ipvs' }>): Promise<void> {
  // ipvsadm -R exits 0 even when a line fails; the read-back below is the real check.
  const r = await timed(conn.name, 'apply: ipvsadm -R', () =>
    conn.exec(sh`ipvsadm -R`, {
      stdin: c.lines.join('\n') + '\n',
      step: 'ipvs-restore',
    }),
  );
  conn.checkpoint('before-readback');
  // With thresholds where the facts read them, or where the table has some (a bare director: the
  // facts ran before ipvsadm was installed, so they read none).
  const thresholds = run.facts.ipvsThresholds !== null || hasThresholds(run.table);
  const live = await timed(conn.name, 'read-back', () => readTable(conn, thresholds));
  const got = formatRules({ services: live.services.filter((s) => c.owned.includes(serviceKey(s))) });
  const exp = formatRules(run.table);
  if (got === exp) return;
  const missing = exp.split('\n').filter((l) => l && !got.split('\n').includes(l));
  const said = r.stderr.trim() ? ` (ipvsadm said: ${r.stderr.trim().split('\n').join(' | ')})` : '';
  const before = liveTable(run.facts);
  const created = c.owned.filter((k) => !before.services.some((s) => serviceKey(s) === k));
  const undo = ipvsDelta(live, before, created, thresholds).lines;
  if (undo.length) await conn.exec(sh`ipvsadm -R`, { stdin: undo.join('\n') + '\n' });
  const restored = formatRules(await readTable(conn, thresholds)) === formatRules(before);
  const after = restored
    ? `the previous table was restored (${undo.length} ipvsadm line${undo.length === 1 ? '' : 's'})`
    : 'restoring the previous table failed too: check `ipvsadm -Sn` on this director';
  throw new ApplyError(
    'ipvs',
    `the kernel did not take the whole IPVS change${said}; not in the table: ${missing.join('; ')}; ${after}`,
  );
}
