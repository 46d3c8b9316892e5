// `npm run bench` (issues 9, 26): lvsctl against Ansible and against bare SSH on N sshd hosts in
// network namespaces on this machine (bench/hosts.sh), job = the DR real-server role; Ansible up to
// N = 100, N = 500 against the floors alone.
//   npm run bench [-- --n 5,20,100,500] [--runs 3] [--parts hosts,rules,validate] [--out bench/results.json]
//   (or BENCH_N, BENCH_RUNS, BENCH_PARTS); the validate part (bench/validate.ts) needs no root.
// One warm-up round at the first N (lvsctl only: it warms this machine's caches, not the fresh hosts);
// then for each N, RUNS rounds (at most 3 at N = 100, 2 above): fresh hosts; the parallel `ssh true` and
// facts-read floors; lvsctl first run and no-op re-run (peak RSS of each); in Ansible's rounds (every
// round at N = 5, the first above, none above 100) fresh hosts, Ansible's first run and no-op re-run,
// then the hosts' state snapshots after both tools compared host by host.
// Figures are medians over the measured rounds; each ratio is of medians over the rounds that measured
// both figures. Prints a table with PASS/FAIL per target and writes bench/results.json.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { factsScript } from '../src/facts/script.js';
import { BOOT_LINKS, MANAGED_PATHS, STATE_FILE } from '../src/render/paths.js';
import { must, run, type Proc } from './proc.js';
import { hostsDown, hostsUp, RUN, type Host } from './hosts.js';
import { benchRules, SERVERS, SERVICES, type RulesResult, type RulesRound } from './rules.js';
import { benchValidate, STARTUP_TARGET_MS, validateTable, validateVerdict, type ValidateResult } from './validate.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..'); // dist/bench/run.js -> repo
const BENCH = join(ROOT, 'bench');
const LVSCTL = join(ROOT, 'bin/lvsctl.js');
const SSH2_FLOOR = join(ROOT, 'dist/bench/ssh2-floor.js');
const VIP = '10.98.0.100';
const IFACE = 'eth0';
/** Every package lvsctl's facts query (src/engine/host.ts ALL_PACKAGES). */
const FACT_PACKAGES = ['curl', 'ipvsadm', 'keepalived'];
/** What the state snapshots cover: everything either tool writes, plus the directories around it. */
const SNAPSHOT_PATHS = [
  '/etc/sysctl.d',
  '/etc/modules-load.d',
  '/etc/systemd/system',
  '/etc/init.d/lvsctl',
  ...[0, 1, 2, 3, 4, 5, 6].map((n) => `/etc/rc${n}.d`),
  '/usr/local/sbin',
];
/** Modes and owners of the files both tools write (state.sh shows contents only). */
const MODE_PATHS = [
  '/usr/local/sbin/lvsctl-realserver',
  '/etc/systemd/system/lvsctl.service',
  '/etc/init.d/lvsctl',
  '/etc/sysctl.d/90-lvsctl.conf',
  MANAGED_PATHS.modules,
];

// ---------------------------------------------------------------------------------------------

/** All in parallel; wall time from the first spawn to the last exit. */
async function parallel(
  items: string[],
  f: (x: string) => Promise<Proc>,
  what: string,
): Promise<{ ms: number; results: Proc[] }> {
  const t0 = process.hrtime.bigint();
  const results = await Promise.all(items.map(f));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const bad = results.findIndex((r) => r.code !== 0);
  if (bad >= 0)
    throw new Error(`${what} on ${items[bad]} failed (exit ${results[bad]!.code}): ${results[bad]!.stderr.trim()}`);
  return { ms, results };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---------------------------------------------------------------------------------------------
const sshArgs = (ip: string) => [
  '-i',
  join(RUN, 'id_ed25519'),
  '-o',
  `UserKnownHostsFile=${join(RUN, 'known_hosts')}`,
  '-o',
  'StrictHostKeyChecking=yes',
  '-o',
  'BatchMode=yes',
  '-o',
  'ConnectTimeout=20',
  '-o',
  'ControlMaster=no',
  '-o',
  'ControlPath=none',
  '-o',
  'LogLevel=ERROR',
  `root@${ip}`,
];
const ssh = (h: Host, cmd: string, input?: string) => run('ssh', [...sshArgs(h.ip), cmd], { input });

async function snapshots(hosts: Host[]): Promise<Map<string, string>> {
  const script =
    readFileSync(join(ROOT, 'test/lab/state.sh'), 'utf8') +
    `\necho "## modes"\nfor f in ${MODE_PATHS.join(' ')}; do stat -c '%a %U %G %n' "$f" 2>/dev/null || echo "absent $f"; done\n`;
  const { results } = await parallel(
    hosts.map((h) => h.name),
    (name) =>
      ssh(
        hosts.find((h) => h.name === name)!,
        `bash -s -- ${SNAPSHOT_PATHS.join(' ')}`,
        script,
      ),
    'state snapshot',
  );
  return new Map(hosts.map((h, i) => [h.name, results[i]!.stdout]));
}

/** The job's result, checked on every host after each tool (so both cannot be equally wrong). */
const JOB_CHECK = [
  'set -e; fail() { echo "$*" >&2; exit 1; }',
  `ip -o -4 addr show dev lo | grep -q 'inet ${VIP}/32 .* lo:0' || fail "no ${VIP}/32 on lo label lo:0"`,
  ...[`all`, IFACE].flatMap((i) => [
    `[ "$(cat /proc/sys/net/ipv4/conf/${i}/arp_ignore)" = 1 ] || fail "arp_ignore ${i}"`,
    `[ "$(cat /proc/sys/net/ipv4/conf/${i}/arp_announce)" = 2 ] || fail "arp_announce ${i}"`,
  ]),
  `grep -q '^net.ipv4.conf.${IFACE}.arp_announce = 2$' ${MANAGED_PATHS.sysctl} || fail "sysctl.d file"`,
  `[ -x ${MANAGED_PATHS.realServerScript} ] && [ -x ${MANAGED_PATHS.sysvInit} ] && [ -f ${MANAGED_PATHS.systemdUnit} ] || fail "script or boot unit missing"`,
  `[ "$(readlink /etc/rc2.d/S01lvsctl)" = ../init.d/lvsctl ] || fail "rc2.d link"`,
  `[ ! -e ${MANAGED_PATHS.modules} ] || fail "unexpected ${MANAGED_PATHS.modules} (a DR real server loads no module)"`,
].join('\n');

async function checkJob(hosts: Host[], tool: string): Promise<void> {
  await parallel(
    hosts.map((h) => h.name),
    (name) =>
      ssh(
        hosts.find((h) => h.name === name)!,
        'sh -s',
        JOB_CHECK,
      ),
    `${tool}: job check`,
  );
}

/** cpuMs: lvsctl's own CPU time (user + system, with the children it waits for: ssh -G, ssh -V),
 * apart from the hosts' sshd and commands. steps: --timings, the median over the hosts of each
 * step's wall time. */
interface LvsctlRun {
  ms: number;
  rssKB: number;
  cpuMs: number;
  changes: number;
  steps: Record<string, number>;
}

async function lvsctl(hosts: Host[], what: string): Promise<LvsctlRun> {
  const rss = join(RUN, 'lvsctl.rss');
  const args = [
    '-f',
    '%M %U %S',
    '-o',
    rss,
    process.execPath,
    LVSCTL,
    'up',
    '-i',
    join(RUN, 'inventory.yaml'),
    '--limit',
    hosts.map((h) => h.name).join(','),
    '--no-verify',
    '--json',
    '--timings',
    '--forks',
    String(hosts.length),
  ];
  const r = await must('/usr/bin/time', args, `lvsctl ${what}`);
  const doc = JSON.parse(r.stdout) as {
    hosts: { host: string; status: string; changes: number; error?: string }[];
    timings: { host: string; step: string; ms: number }[];
  };
  const bad = doc.hosts.filter((h) => h.status === 'failed' || h.status === 'unreachable');
  if (bad.length || doc.hosts.length !== hosts.length) throw new Error(`lvsctl ${what}: ${JSON.stringify(bad)}`);
  const [kb, user, sys] = readFileSync(rss, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  const steps: Record<string, number> = {};
  for (const step of new Set(doc.timings.map((t) => t.step)))
    steps[step] = median(doc.timings.filter((t) => t.step === step).map((t) => t.ms));
  return {
    ms: r.ms,
    rssKB: kb!,
    cpuMs: (user! + sys!) * 1000,
    changes: doc.hosts.reduce((a, h) => a + h.changes, 0),
    steps,
  };
}

/** The bare ssh2 client's CPU time (user + system, node's start-up included as in lvsctl's) on
 * these hosts: a connection each and one command, `true` or `command` (bench/ssh2-floor.ts). */
async function ssh2FloorCpu(hosts: Host[], command?: string): Promise<number> {
  const out = join(RUN, 'ssh2-floor.cpu');
  const commandFile = join(RUN, 'ssh2-floor.command');
  if (command !== undefined) writeFileSync(commandFile, command);
  await must(
    '/usr/bin/time',
    [
      '-f',
      '%U %S',
      '-o',
      out,
      process.execPath,
      SSH2_FLOOR,
      join(RUN, 'id_ed25519'),
      join(RUN, 'host_ed25519.pub'),
      '1',
      command === undefined ? '-' : commandFile,
      ...hosts.map((h) => h.ip),
    ],
    'ssh2 floor',
  );
  const [user, sys] = readFileSync(out, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return (user! + sys!) * 1000;
}

function ansibleInventory(hosts: Host[]): string {
  const inv = join(RUN, 'ansible-hosts');
  writeFileSync(
    inv,
    [
      ...hosts.map((h) => `${h.name} ansible_host=${h.ip}`),
      '[all:vars]',
      'ansible_user=root',
      `ansible_ssh_private_key_file=${join(RUN, 'id_ed25519')}`,
      `ansible_ssh_common_args=-o UserKnownHostsFile=${join(RUN, 'known_hosts')} -o StrictHostKeyChecking=yes`,
      '',
    ].join('\n'),
  );
  return inv;
}

async function ansible(hosts: Host[], inv: string, what: string): Promise<{ ms: number; changed: number }> {
  const env = {
    ...process.env,
    ANSIBLE_CONFIG: join(BENCH, 'ansible/ansible.cfg'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: join(RUN, 'cp'),
    ANSIBLE_FORCE_COLOR: '0',
    ANSIBLE_NOCOLOR: '1',
  };
  const args = [
    '-i',
    inv,
    '-f',
    String(hosts.length),
    '-e',
    `render_dir=${join(RUN, 'rendered')}`,
    '-e',
    `vip=${VIP}`,
    '-e',
    `iface=${IFACE}`,
    join(BENCH, 'ansible/realserver.yml'),
  ];
  const r = await must('ansible-playbook', args, `ansible ${what}`, { env });
  let changed = 0;
  let seen = 0;
  for (const m of r.stdout.matchAll(/^(\S+)\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/gm)) {
    seen++;
    changed += Number(m[2]);
    if (m[3] !== '0' || m[4] !== '0') throw new Error(`ansible ${what}: ${m[0]}`);
  }
  if (seen !== hosts.length) throw new Error(`ansible ${what}: recap for ${seen} of ${hosts.length} hosts`);
  return { ms: r.ms, changed };
}

// ---------------------------------------------------------------------------------------------
/** Ansible runs up to this N (issue 26: N = 500 is lvsctl against the floors alone). */
const ANSIBLE_MAX_N = 100;
/** At most this many measured rounds at N = 100 (about a minute each without Ansible) and above it
 * (7 minutes each at 500: the hosts' set-up, the floor and two lvsctl runs), so that the whole bench
 * stays within its hour (issue 26; the full run of 2026-12-05 took 71 minutes with 3 at 500). */
const LARGE_N = 100;
const LARGE_N_RUNS = 3;
const HUGE_N_RUNS = 2;
/** Ansible runs in every round up to this N, and above it in the first round only: its run took
 * 100 s at N = 20 and 10 minutes at N = 100 here on 2026-12-05 (3 minutes on 2026-11-24), and its
 * ratio to lvsctl (20 to 60×) does not need a median to be read. */
const ANSIBLE_EVERY_ROUND_MAX_N = 5;

export interface Round {
  hostsUpMs: number;
  sshTrueMs: number;
  /** the facts-read floor and the bare ssh2 client: above N = 100, measured in the first round only */
  factsMs?: number;
  lvsctlFirstMs: number;
  lvsctlNoopMs: number;
  /** undefined where Ansible does not run (N > 100) */
  ansibleFirstMs?: number;
  ansibleNoopMs?: number;
  lvsctlRssKB: number;
  /** CPU time of the lvsctl process in its first run and its no-op re-run */
  lvsctlFirstCpuMs: number;
  lvsctlNoopCpuMs: number;
  /** CPU time of a bare ssh2 client doing a no-op's SSH work on the same hosts (bench/ssh2-floor.ts):
   * `true` on each, and the facts-read floor's facts script on each (its output read) */
  ssh2FloorCpuMs?: number;
  ssh2FactsCpuMs?: number;
  lvsctlStartupMs: number;
  /** --timings: per step, the median over the hosts (first run, no-op) */
  firstSteps: Record<string, number>;
  noopSteps: Record<string, number>;
  /** undefined without Ansible: the job was checked on every host, nothing compared */
  stateEqual?: boolean;
}

type Figure = Exclude<{ [K in keyof Round]: Round[K] extends number | undefined ? K : never }[keyof Round], undefined>;

interface PerN {
  n: number;
  rounds: Round[];
  /** the bench's one warm-up round, at its first N */
  warmup?: Round;
  /** how many of the rounds ran Ansible */
  ansibleRounds?: number;
  median: Omit<
    Record<Figure, number>,
    'ansibleFirstMs' | 'ansibleNoopMs' | 'factsMs' | 'ssh2FloorCpuMs' | 'ssh2FactsCpuMs'
  > & {
    ansibleFirstMs?: number;
    ansibleNoopMs?: number;
    factsMs?: number;
    ssh2FloorCpuMs?: number;
    ssh2FactsCpuMs?: number;
    firstSteps: Record<string, number>;
    noopSteps: Record<string, number>;
  };
  ratios: Record<string, number>;
  roundRatios: Record<string, number>;
  stateDiffs: string[];
  stateNote: string;
  ansible: boolean;
}

async function benchN(n: number, runs: number, warm: boolean, log: (l: string) => void): Promise<PerN> {
  const rounds: Round[] = [];
  const diffs: string[] = [];
  let onlyLvsctl = '';
  let warmup: Round | undefined;
  const withAnsible = n <= ANSIBLE_MAX_N;
  let measured = runs;
  if (n > ANSIBLE_MAX_N) measured = Math.min(runs, HUGE_N_RUNS);
  else if (n >= LARGE_N) measured = Math.min(runs, LARGE_N_RUNS);
  // the files Ansible copies: lvsctl's own rendering of them (contacts no host)
  let hosts = (await hostsUp(n)).hosts;
  if (withAnsible) {
    rmSync(join(RUN, 'rendered'), { recursive: true, force: true });
    await must(
      process.execPath,
      [
        LVSCTL,
        'render',
        '-i',
        join(RUN, 'inventory.yaml'),
        '--out',
        join(RUN, 'rendered'),
        '--force',
        '--limit',
        hosts.map((h) => h.name).join(','),
      ],
      'lvsctl render',
    );
  }
  const facts = factsScript({
    packages: FACT_PACKAGES,
    files: [...new Set(Object.values(MANAGED_PATHS))],
    bootLinks: [...BOOT_LINKS.systemd, ...BOOT_LINKS.sysv].map((l) => l.path),
  }).text;
  for (let i = warm ? 0 : 1; i <= measured; i++) {
    const tag = i === 0 ? 'warm-up' : `run ${i}/${measured}`;
    const ansibleRound = withAnsible && i > 0 && (n <= ANSIBLE_EVERY_ROUND_MAX_N || i === 1);
    const up1 = await hostsUp(n);
    hosts = up1.hosts;
    const names = hosts.map((h) => h.name);
    const byName = (x: string) => hosts.find((h) => h.name === x)!;
    const sshTrue = await parallel(names, (x) => ssh(byName(x), 'true'), 'ssh true');
    // Above N = 100, in the first round only (a minute or more each at 500): the facts-read floor,
    // the bare ssh2 client and the job check on every host (the rounds do the same thing)
    const extras = withAnsible || i <= 1;
    const factsRead = extras ? await parallel(names, (x) => ssh(byName(x), facts), 'facts read') : undefined;
    const startup = await must(
      process.execPath,
      [LVSCTL, 'validate', '-i', join(RUN, 'inventory.yaml')],
      'lvsctl validate',
    );
    const ssh2Floor = extras ? await ssh2FloorCpu(hosts) : undefined;
    const ssh2Facts = extras ? await ssh2FloorCpu(hosts, facts) : undefined;
    const l1 = await lvsctl(hosts, 'first run');
    const l2 = await lvsctl(hosts, 'no-op re-run');
    if (l1.changes === 0) throw new Error('lvsctl first run changed nothing on fresh hosts');
    if (l2.changes !== 0) throw new Error(`lvsctl no-op re-run made ${l2.changes} changes`);
    if (extras) await checkJob(hosts, 'lvsctl');
    let a1: { ms: number } | undefined;
    let a2: { ms: number } | undefined;
    let equal: boolean | undefined;
    if (ansibleRound) {
      const snapL = await snapshots(hosts);
      const stateFiles = await parallel(
        names,
        (x) => ssh(byName(x), `test -f ${STATE_FILE} && echo yes || echo no`),
        'state file',
      );
      onlyLvsctl = stateFiles.results.every((r) => r.stdout.trim() === 'yes')
        ? `lvsctl's own record ${STATE_FILE} (present after lvsctl only) is not compared`
        : `${STATE_FILE} missing after lvsctl`;
      hosts = (await hostsUp(n)).hosts;
      const inv = ansibleInventory(hosts);
      a1 = await ansible(hosts, inv, 'first run');
      const a2r = await ansible(hosts, inv, 'no-op re-run');
      a2 = a2r;
      if (a2r.changed !== 0) throw new Error(`ansible no-op re-run reported ${a2r.changed} changes`);
      await checkJob(hosts, 'ansible');
      const snapA = await snapshots(hosts);
      equal = true;
      for (const h of names) {
        if (snapL.get(h) === snapA.get(h)) continue;
        equal = false;
        const a = snapA.get(h)!.split('\n');
        const l = snapL.get(h)!.split('\n');
        diffs.push(
          `${tag} ${h}: after lvsctl only: ${l.filter((x) => !a.includes(x)).join(' | ')}; after ansible only: ${a.filter((x) => !l.includes(x)).join(' | ')}`,
        );
      }
    } else if (!withAnsible)
      onlyLvsctl = `N > ${ANSIBLE_MAX_N}: no Ansible run; lvsctl's job checked on every host in the first round`;
    const r: Round = {
      hostsUpMs: up1.ms,
      sshTrueMs: sshTrue.ms,
      ...(factsRead && { factsMs: factsRead.ms }),
      lvsctlFirstMs: l1.ms,
      lvsctlNoopMs: l2.ms,
      ...(a1 && a2 && { ansibleFirstMs: a1.ms, ansibleNoopMs: a2.ms }),
      lvsctlRssKB: Math.max(l1.rssKB, l2.rssKB),
      lvsctlFirstCpuMs: l1.cpuMs,
      lvsctlNoopCpuMs: l2.cpuMs,
      ...(ssh2Floor !== undefined && { ssh2FloorCpuMs: ssh2Floor }),
      ...(ssh2Facts !== undefined && { ssh2FactsCpuMs: ssh2Facts }),
      lvsctlStartupMs: startup.ms,
      firstSteps: l1.steps,
      noopSteps: l2.steps,
      ...(equal !== undefined && { stateEqual: equal }),
    };
    const ans = r.ansibleFirstMs === undefined ? '' : `  ansible ${s(r.ansibleFirstMs)} / no-op ${s(r.ansibleNoopMs!)}`;
    const checked = extras ? 'job checked' : 'no-op: 0 changes';
    const st = equal === undefined ? checked : `state ${equal ? 'equal' : 'DIFFERENT'}`;
    log(
      `  N=${n} ${tag.padEnd(9)} ssh-true ${s(r.sshTrueMs)}  facts ${s(r.factsMs)}  lvsctl ${s(r.lvsctlFirstMs)} / no-op ${s(r.lvsctlNoopMs)} (cpu ${s(r.lvsctlNoopCpuMs)}, bare ssh2 ${s(r.ssh2FloorCpuMs)})${ans}  rss ${(r.lvsctlRssKB / 1024).toFixed(0)} MB  ${st}`,
    );
    if (i > 0) rounds.push(r);
    else warmup = r;
  }
  const med = (k: Figure) => {
    const v = rounds.map((r) => r[k]).filter((x): x is number => x !== undefined);
    return v.length ? median(v) : undefined;
  };
  const stepMedians = (k: 'firstSteps' | 'noopSteps') => {
    const steps = new Set(rounds.flatMap((r) => Object.keys(r[k])));
    return Object.fromEntries([...steps].map((st) => [st, median(rounds.map((r) => r[k][st] ?? 0))]));
  };
  const m: PerN['median'] = {
    hostsUpMs: med('hostsUpMs')!,
    sshTrueMs: med('sshTrueMs')!,
    factsMs: med('factsMs'),
    lvsctlFirstMs: med('lvsctlFirstMs')!,
    lvsctlNoopMs: med('lvsctlNoopMs')!,
    ansibleFirstMs: med('ansibleFirstMs'),
    ansibleNoopMs: med('ansibleNoopMs'),
    lvsctlRssKB: Math.max(...rounds.map((r) => r.lvsctlRssKB)),
    lvsctlFirstCpuMs: med('lvsctlFirstCpuMs')!,
    lvsctlNoopCpuMs: med('lvsctlNoopCpuMs')!,
    ssh2FloorCpuMs: med('ssh2FloorCpuMs'),
    ssh2FactsCpuMs: med('ssh2FactsCpuMs'),
    lvsctlStartupMs: med('lvsctlStartupMs')!,
    firstSteps: stepMedians('firstSteps'),
    noopSteps: stepMedians('noopSteps'),
  };
  const both = (a: Figure, b: Figure) => rounds.filter((r) => r[a] !== undefined && r[b] !== undefined);
  const ratio = (a: Figure, b: Figure) => {
    const v = both(a, b).map((r) => r[a]! / r[b]!);
    return v.length ? median(v) : undefined;
  };
  // the medians of a and of b over the same rounds (Ansible's figures come from fewer rounds than lvsctl's)
  const ratioOfMedians = (a: Figure, b: Figure) => {
    const rs = both(a, b);
    return rs.length ? median(rs.map((r) => r[a]!)) / median(rs.map((r) => r[b]!)) : undefined;
  };
  const pairs: Record<string, [Figure, Figure]> = {
    ansibleFirstOverLvsctlFirst: ['ansibleFirstMs', 'lvsctlFirstMs'],
    ansibleNoopOverLvsctlNoop: ['ansibleNoopMs', 'lvsctlNoopMs'],
    lvsctlNoopOverSshTrue: ['lvsctlNoopMs', 'sshTrueMs'],
    lvsctlFirstOverSshTrue: ['lvsctlFirstMs', 'sshTrueMs'],
    lvsctlNoopOverFacts: ['lvsctlNoopMs', 'factsMs'],
  };
  const defined = (o: Record<string, number | undefined>) =>
    Object.fromEntries(Object.entries(o).filter((e): e is [string, number] => e[1] !== undefined));
  return {
    n,
    rounds,
    ...(warmup && { warmup }),
    ansibleRounds: rounds.filter((r) => r.ansibleNoopMs !== undefined).length,
    median: m,
    // ratio of the medians over the rounds that measured both (roundRatios: median of the per-round
    // ratios, for comparison)
    roundRatios: defined(Object.fromEntries(Object.entries(pairs).map(([k, [a, b]]) => [k, ratio(a, b)]))),
    ratios: defined(Object.fromEntries(Object.entries(pairs).map(([k, [a, b]]) => [k, ratioOfMedians(a, b)]))),
    stateDiffs: diffs,
    stateNote: onlyLvsctl,
    ansible: withAnsible,
  };
}

const s = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(2)} s`);
// undefined: a figure that figures kept from an older results.json do not have (lvsctlFirstCpuMs,
// lvsctlFirstOverSshTrue, the --timings steps)
const x = (r: number | undefined) => (r === undefined ? '—' : `${r.toFixed(1)}×`);

interface Target {
  id: string;
  target: string;
  verdict: 'PASS' | 'FAIL' | 'SKIP' | 'TODO';
  measured: string;
}

function targets(per: Map<number, PerN>, rules?: RulesResult, validate?: ValidateResult): Target[] {
  const t: Target[] = [];
  const at = (n: number, id: string, target: string, f: (p: PerN) => [boolean, string]) => {
    const p = per.get(n);
    if (!p) return t.push({ id, target, verdict: 'SKIP', measured: `N=${n} not run` });
    const [ok, measured] = f(p);
    t.push({ id, target, verdict: ok ? 'PASS' : 'FAIL', measured });
  };
  const noop10 = (p: PerN): [boolean, string] => [
    p.ratios.ansibleNoopOverLvsctlNoop! >= 10,
    `${x(p.ratios.ansibleNoopOverLvsctlNoop!)} (ansible ${s(p.median.ansibleNoopMs!)}, lvsctl ${s(p.median.lvsctlNoopMs)})`,
  ];
  at(5, 'noop-vs-ansible-5', "no-op re-run ≥ 10× faster than Ansible's no-op at N=5", noop10);
  at(100, 'noop-vs-ansible-100', "no-op re-run ≥ 10× faster than Ansible's no-op at N=100", noop10);
  const vsFloor =
    (k: 'lvsctlNoopOverSshTrue' | 'lvsctlFirstOverSshTrue', max: number) =>
    (p: PerN): [boolean, string] => [
      p.ratios[k]! <= max,
      `${x(p.ratios[k]!)} (lvsctl ${s(k === 'lvsctlNoopOverSshTrue' ? p.median.lvsctlNoopMs : p.median.lvsctlFirstMs)}, ssh true ${s(p.median.sshTrueMs)})`,
    ];
  at(
    100,
    'noop-vs-ssh-100',
    'no-op re-run ≤ 2× the parallel `ssh true` floor at N=100',
    vsFloor('lvsctlNoopOverSshTrue', 2),
  );
  at(
    500,
    'noop-vs-ssh-500',
    'no-op re-run ≤ 1.0× the parallel `ssh true` floor at N=500',
    vsFloor('lvsctlNoopOverSshTrue', 1),
  );
  at(
    500,
    'first-vs-ssh-500',
    'first run ≤ 1.5× the parallel `ssh true` floor at N=500',
    vsFloor('lvsctlFirstOverSshTrue', 1.5),
  );
  at(100, 'first-vs-ansible-100', "first run ≥ 5× faster than Ansible's at N=100", (p) => [
    p.ratios.ansibleFirstOverLvsctlFirst! >= 5,
    `${x(p.ratios.ansibleFirstOverLvsctlFirst!)} (ansible ${s(p.median.ansibleFirstMs!)}, lvsctl ${s(p.median.lvsctlFirstMs)})`,
  ]);
  const p5 = per.get(5);
  const p100 = per.get(100);
  if (p5 && p100) {
    const r = p100.median.lvsctlNoopMs / p5.median.lvsctlNoopMs;
    t.push({
      id: 'sublinear',
      target: 'no-op at N=100 < 5 × no-op at N=5',
      verdict: r < 5 ? 'PASS' : 'FAIL',
      measured: `${x(r)} (${s(p100.median.lvsctlNoopMs)} vs ${s(p5.median.lvsctlNoopMs)}; lvsctl's own CPU ${x(p100.median.lvsctlNoopCpuMs / p5.median.lvsctlNoopCpuMs)}: ${s(p100.median.lvsctlNoopCpuMs)} vs ${s(p5.median.lvsctlNoopCpuMs)})`,
    });
  } else
    t.push({
      id: 'sublinear',
      target: 'no-op at N=100 < 5 × no-op at N=5',
      verdict: 'SKIP',
      measured: 'needs N=5 and N=100',
    });
  // lvsctl's CPU per host added: (CPU(N) − CPU(5)) / (N − 5), of the no-op (the first run's beside)
  for (const n of [100, 500]) {
    const id = `cpu-per-host-${n}`;
    const target = `lvsctl CPU per added host (CPU(N) − CPU(5)) / (N − 5) ≤ 3 ms at N=${n}`;
    const pn = per.get(n);
    if (!p5 || !pn) {
      t.push({ id, target, verdict: 'SKIP', measured: `needs N=5 and N=${n}` });
      continue;
    }
    const per1 = (k: 'lvsctlNoopCpuMs' | 'lvsctlFirstCpuMs' | 'ssh2FloorCpuMs' | 'ssh2FactsCpuMs') =>
      (pn.median[k]! - p5.median[k]!) / (n - 5);
    const bare = per1('ssh2FloorCpuMs');
    // results.json from before this figure existed has none
    const withFacts =
      pn.median.ssh2FactsCpuMs === undefined || p5.median.ssh2FactsCpuMs === undefined
        ? ''
        : `; running the facts script: ${per1('ssh2FactsCpuMs').toFixed(2)} ms`;
    t.push({
      id,
      target,
      verdict: per1('lvsctlNoopCpuMs') <= 3 ? 'PASS' : 'FAIL',
      measured: `no-op ${per1('lvsctlNoopCpuMs').toFixed(2)} ms (${s(pn.median.lvsctlNoopCpuMs)} vs ${s(p5.median.lvsctlNoopCpuMs)}); first run ${per1('lvsctlFirstCpuMs').toFixed(2)} ms; a bare ssh2 client alone: ${bare.toFixed(2)} ms${withFacts}`,
    });
    // The same measure against the bare ssh2 client's in the same rounds (what lvsctl's own code adds).
    t.push({
      id: `cpu-vs-ssh2-${n}`,
      target: `lvsctl CPU per added host ≤ 1.5× a bare ssh2 client's doing the same SSH work (a connection, one command) at N=${n}`,
      verdict: per1('lvsctlNoopCpuMs') <= 1.5 * bare ? 'PASS' : 'FAIL',
      measured: `${x(per1('lvsctlNoopCpuMs') / bare)} (${per1('lvsctlNoopCpuMs').toFixed(2)} ms vs ${bare.toFixed(2)} ms)`,
    });
  }
  const rss = (n: number, mb: number) =>
    at(n, `rss-${n}`, `peak RSS of lvsctl ≤ ${mb} MB at N=${n}`, (p) => [
      p.median.lvsctlRssKB <= mb * 1024,
      `${(p.median.lvsctlRssKB / 1024).toFixed(0)} MB`,
    ]);
  rss(100, 200);
  rss(500, 250);
  const rule = (id: string, target: string, f: (r: RulesResult) => [boolean, string]) => {
    if (!rules) return t.push({ id, target, verdict: 'SKIP', measured: 'the rules part (lab VM) was not run' });
    const [ok, measured] = f(rules);
    t.push({ id, target, verdict: ok ? 'PASS' : 'FAIL', measured });
  };
  const every = (r: RulesResult, k: keyof RulesRound) => [...new Set(r.rounds.map((x) => x[k]))];
  rule('rules-weight', '10,000 rules: a weight change sends exactly one -e line', (r) => {
    const n = every(r, 'weightLines');
    const l = every(r, 'weightLine');
    const planned = [...new Set(r.rounds.map((y) => y.weightPlanned.join(' | ')))];
    const ok =
      n.length === 1 &&
      n[0] === 1 &&
      l.length === 1 &&
      planned.length === 1 &&
      r.rounds.every((y) => y.weightPlanned.length === 1 && y.weightPlanned[0]!.startsWith('-e '));
    return [ok, `lines sent: ${n.join('/')} (${planned.join(' / ')}); the one live line changed: ${l.join(' / ')}`];
  });
  rule('rules-noop', '10,000 rules: no-op sends no ipvsadm line', (r) => {
    const n = every(r, 'noopLines');
    const c = every(r, 'noopChanges');
    return [
      n.length === 1 && n[0] === 0 && c.length === 1 && c[0] === 0,
      `lines sent: ${n.join('/')}; changes: ${c.join('/')}`,
    ];
  });
  rule('rules-first', '10,000 rules: first apply ≤ 1.3× the raw `ipvsadm -R` floor', (r) => {
    const q = median(r.rounds.map((x) => x.firstMs / x.floorMs));
    return [
      q <= 1.3,
      `${x(q)} (lvsctl ${s(median(r.rounds.map((y) => y.firstMs)))} for ${every(r, 'firstLines').join('/')} lines, floor ${s(median(r.rounds.map((y) => y.floorMs)))})`,
    ];
  });
  rule('rss-rules', 'peak RSS of lvsctl for the 10,000-rule inventory (reported; ≤ 200 MB)', (r) => {
    const kb = Math.max(...r.rounds.map((y) => y.rssKB));
    return [kb <= 200 * 1024, `${(kb / 1024).toFixed(0)} MB`];
  });
  for (const p of [...per.values()].filter((q) => q.ansible))
    t.push({
      id: `state-${p.n}`,
      target: `N=${p.n}: hosts in the same state after lvsctl and after Ansible`,
      verdict: p.stateDiffs.length ? 'FAIL' : 'PASS',
      measured: p.stateDiffs.length
        ? `${p.stateDiffs.length} host snapshots differ`
        : `${p.n} hosts × ${p.ansibleRounds ?? p.rounds.length + 1} rounds equal`, // before 2026-12-05: every round and the warm-up
    });
  const st = validate?.startup;
  const startupTarget = `\`lvsctl validate\` of an example ≤ ${STARTUP_TARGET_MS} ms wall (beside \`node -e 0\`)`;
  if (!st)
    t.push({
      id: 'startup-validate',
      target: startupTarget,
      verdict: 'SKIP',
      measured: 'the validate part was not run',
    });
  else
    t.push({
      id: 'startup-validate',
      target: startupTarget,
      verdict: st.medianValidateMs <= STARTUP_TARGET_MS ? 'PASS' : 'FAIL',
      measured: `${st.medianValidateMs.toFixed(0)} ms (node -e 0: ${st.medianNodeMs.toFixed(0)} ms; ${st.example})`,
    });
  if (!validate)
    t.push({
      id: 'validate',
      target: 'every inventory shape at the size limit validated or refused in < 2 s',
      verdict: 'SKIP',
      measured: 'the validate part was not run',
    });
  else
    for (const v of validate.shapes)
      t.push({
        id: `validate-${v.name}`,
        target: `validate ${v.name}: ${v.expect === 'ok' ? 'accepted' : 'refused'} in < ${validate.targetMs / 1000} s`,
        verdict: validateVerdict(v, validate.targetMs),
        measured: `${(v.medianMs / 1000).toFixed(2)} s${v.peakRssKB ? `, ${(v.peakRssKB / 1024).toFixed(0)} MB` : ''}${v.asExpected ? '' : `; WRONG ANSWER: exit ${v.exit}, ${v.firstLine}`}`,
      });
  return t;
}

function table(
  per: Map<number, PerN>,
  runs: number,
  ts: Target[],
  rules?: RulesResult,
  validate?: ValidateResult,
): string[] {
  const out: string[] = [];
  const row = (cells: string[], w: number[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  for (const p of per.values()) {
    const m = p.median;
    const w = [36, 10, 10, 22];
    const opt = (v: number | undefined) => (v === undefined ? '-' : s(v));
    const ratio = (v: number | undefined) => (v === undefined ? '-' : x(v));
    const steps = (st: Record<string, number> | undefined) =>
      Object.entries(st ?? {})
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(3)}`)
        .join(' · ');
    const ansibleRounds = p.ansibleRounds ?? p.rounds.length; // results before 2026-12-05: Ansible in every round
    out.push(
      `N = ${p.n}: median of ${p.rounds.length} runs${p.warmup ? ' after 1 warm-up' : ''} (wall time); ${p.ansible ? `Ansible in ${ansibleRounds} of them` : `no Ansible above N = ${ANSIBLE_MAX_N}`}`,
    );
    out.push(row(['', 'lvsctl', 'ansible', 'ansible / lvsctl'], w));
    out.push(
      row(
        [
          'first run (fresh hosts)',
          s(m.lvsctlFirstMs),
          opt(m.ansibleFirstMs),
          ratio(p.ratios.ansibleFirstOverLvsctlFirst),
        ],
        w,
      ),
    );
    out.push(
      row(['no-op re-run', s(m.lvsctlNoopMs), opt(m.ansibleNoopMs), ratio(p.ratios.ansibleNoopOverLvsctlNoop)], w),
    );
    out.push(
      row(
        [
          'floor: parallel `ssh true`',
          s(m.sshTrueMs),
          '',
          `no-op ${x(p.ratios.lvsctlNoopOverSshTrue!)}, first ${x(p.ratios.lvsctlFirstOverSshTrue!)}`,
        ],
        w,
      ),
    );
    out.push(
      row(
        ['floor: parallel facts read (ssh)', s(m.factsMs), '', `lvsctl no-op ${x(p.ratios.lvsctlNoopOverFacts!)}`],
        w,
      ),
    );
    out.push(row(['lvsctl start-up (validate, no SSH)', s(m.lvsctlStartupMs), '', ''], w));
    out.push(
      row(['lvsctl CPU (user+sys): first, no-op', `${s(m.lvsctlFirstCpuMs)}, ${s(m.lvsctlNoopCpuMs)}`, '', ''], w),
    );
    if (m.ssh2FloorCpuMs !== undefined)
      out.push(row(['bare ssh2 client CPU, no-op SSH work (ssh2-floor.ts)', s(m.ssh2FloorCpuMs), '', ''], w));
    if (m.ssh2FactsCpuMs !== undefined)
      out.push(row(['  the same running the facts script', s(m.ssh2FactsCpuMs), '', ''], w));
    out.push(row(['lvsctl peak RSS', `${(m.lvsctlRssKB / 1024).toFixed(0)} MB`, '', ''], w));
    out.push(`lvsctl --timings, median per host (s): first run: ${steps(m.firstSteps)}`);
    out.push(`                                       no-op: ${steps(m.noopSteps)}`);
    out.push(
      p.ansible
        ? `state after lvsctl = after Ansible: ${p.stateDiffs.length ? 'NO' : 'yes'} (snapshots of test/lab/state.sh + file modes; ${p.stateNote})`
        : p.stateNote,
    );
    for (const d of p.stateDiffs.slice(0, 5)) out.push(`  ! ${d}`);
    out.push('');
  }
  if (rules) {
    const w = [34, 10, 14, 26];
    const med = (k: 'floorMs' | 'floorGuestMs' | 'firstMs' | 'noopMs' | 'weightMs') =>
      median(rules.rounds.map((r) => r[k]));
    const q = (k: 'firstMs' | 'noopMs' | 'weightMs') => x(median(rules.rounds.map((r) => r[k] / r.floorMs)));
    const lines = (k: 'firstLines' | 'noopLines' | 'weightLines') =>
      [...new Set(rules.rounds.map((r) => r[k]))].join('/');
    out.push(
      `Rules at scale (lab VM, TCG): ${SERVICES.toLocaleString('en')} services × ${SERVERS} real servers on one director; median of ${rules.rounds.length} runs${rules.warmup ? ' after 1 warm-up' : ''}`,
    );
    out.push(row(['', 'wall time', 'lines sent', 'ratio to the floor'], w));
    out.push(row(['floor: ssh + raw `ipvsadm -R`', s(med('floorMs')), String(rules.lines), ''], w));
    out.push(row(['  (ipvsadm -R alone, in the guest)', s(med('floorGuestMs')), '', ''], w));
    out.push(row(['lvsctl first apply (bare director)', s(med('firstMs')), lines('firstLines'), q('firstMs')], w));
    // Reported, no target: the part of the first apply that the floor also does (the batch sent,
    // and lvsctl's read-back of it); the rest sets a bare director up, which the floor does not.
    const batch = rules.rounds.filter((r) => r.firstSteps?.['apply: ipvsadm -R'] !== undefined);
    if (batch.length) {
      const ms = (r: RulesRound) => r.firstSteps['apply: ipvsadm -R']! + (r.firstSteps['read-back'] ?? 0);
      out.push(
        row(
          [
            '  of which ipvsadm -R + read-back',
            s(median(batch.map(ms))),
            lines('firstLines'),
            x(median(batch.map((r) => ms(r) / r.floorMs))),
          ],
          w,
        ),
      );
    }
    out.push(row(['lvsctl no-op re-run', s(med('noopMs')), lines('noopLines'), q('noopMs')], w));
    out.push(row(['lvsctl one weight change', s(med('weightMs')), lines('weightLines'), q('weightMs')], w));
    out.push(
      row(['lvsctl peak RSS', `${(Math.max(...rules.rounds.map((r) => r.rssKB)) / 1024).toFixed(0)} MB`, '', ''], w),
    );
    const stepNames = [...new Set(rules.rounds.flatMap((r) => Object.keys(r.firstSteps ?? {})))];
    if (stepNames.length)
      out.push(
        `lvsctl first apply --timings (median s): ${stepNames
          .map((k) => `${k} ${(median(rules.rounds.map((r) => r.firstSteps?.[k] ?? 0)) / 1000).toFixed(2)}`)
          .join(' · ')}`,
      );
    out.push('');
  }
  if (validate) out.push(...validateTable(validate, runs), '');
  out.push('TARGETS (issues 9 and 26)');
  for (const t of ts) out.push(`  ${t.verdict.padEnd(4)}  ${t.target.padEnd(72)} ${t.measured}`);
  return out;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const opt = (name: string, env: string, dflt: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1]! : (process.env[env] ?? dflt);
  };
  const ns = opt('n', 'BENCH_N', '5,20,100,500').split(/[ ,]+/).filter(Boolean).map(Number);
  // parts: hosts (N netns hosts, Ansible, floors), rules (the lab VM), validate (inventories at the size limit)
  const parts = opt('parts', 'BENCH_PARTS', 'hosts,rules,validate').split(/[ ,]+/).filter(Boolean);
  const runs = Number(opt('runs', 'BENCH_RUNS', '3'));
  const outFile = resolve(opt('out', 'BENCH_OUT', join(BENCH, 'results.json')));
  if (
    !ns.length ||
    ns.some((n) => !Number.isInteger(n) || n < 1 || n > 1000) ||
    !Number.isInteger(runs) ||
    runs < 1 ||
    !parts.length ||
    parts.some((p) => p !== 'hosts' && p !== 'rules' && p !== 'validate')
  )
    throw new Error('usage: run.js [--n 5,20,100,500] [--runs 3] [--parts hosts,rules,validate] [--out FILE]');
  if ((parts.includes('hosts') || parts.includes('rules')) && process.getuid?.() !== 0)
    throw new Error('the bench makes network namespaces: run it as root (only --parts validate runs without)');
  mkdirSync(RUN, { recursive: true });
  const log = (l: string) => process.stderr.write(l + '\n');
  const started = new Date();
  const loadAtStart = loadavg();
  log(
    `bench: ${[
      ...(parts.includes('validate') ? ['validate (inventories at the size limit)'] : []),
      parts.includes('hosts') ? `N = ${ns.join(', ')}` : 'no host part',
      ...(parts.includes('rules') ? ['rules (lab VM)'] : []),
    ].join(
      ' + ',
    )}; ${runs} runs each${parts.includes('hosts') ? ` (at most ${Math.min(runs, LARGE_N_RUNS)} at N = 100, ${Math.min(runs, HUGE_N_RUNS)} above; 1 warm-up round first, lvsctl only)` : ''}; load ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  // A part not run keeps the figures of its last run in the table and the file.
  const old = existsSync(outFile)
    ? (JSON.parse(readFileSync(outFile, 'utf8')) as {
        perN?: Record<string, PerN>;
        rules?: RulesResult;
        validate?: ValidateResult;
        versions?: { ansible?: string };
      })
    : {};
  const per = new Map<number, PerN>();
  let rules: RulesResult | undefined;
  let validate: ValidateResult | undefined;
  // Validation first: its start-up row is an absolute time, taken before the other parts' host
  // sshds, their teardown and the lab VM share the machine's two CPUs with it.
  if (parts.includes('validate')) validate = await benchValidate(runs, RUN, LVSCTL, log);
  else if ((validate = old.validate)) log(`bench: validate figures kept from ${outFile}`);
  if (parts.includes('hosts'))
    try {
      for (const [i, n] of ns.entries()) per.set(n, await benchN(n, runs, i === 0, log));
    } finally {
      await hostsDown();
    }
  else {
    for (const p of Object.values(old.perN ?? {})) per.set(p.n, p);
    if (per.size) log(`bench: host figures kept from ${outFile} (N = ${[...per.keys()].join(', ')})`);
  }
  if (parts.includes('rules')) rules = await benchRules(runs, RUN, log);
  else if ((rules = old.rules)) log(`bench: rules figures kept from ${outFile}`);
  const ts = targets(per, rules, validate);
  const lines = table(per, runs, ts, rules, validate);
  process.stdout.write('\n' + lines.join('\n') + '\n');
  const ansibleVersion = parts.includes('hosts')
    ? (await run('ansible-playbook', ['--version'])).stdout.split('\n')[0]
    : old.versions?.ansible;
  writeFileSync(
    outFile,
    JSON.stringify(
      {
        issues: [9, 26],
        started: started.toISOString(),
        finished: new Date().toISOString(),
        machine: { cpus: cpus().length, loadavgAtStart: loadAtStart, loadavgAtEnd: loadavg() },
        versions: { node: process.version, ansible: ansibleVersion },
        runs,
        job: 'DR real-server role (VIP /32 on lo:0, ARP sysctls live + sysctl.d, real-server script, boot unit + SysV links)',
        perN: Object.fromEntries([...per].map(([n, p]) => [n, p])),
        rules,
        validate,
        targets: ts,
        table: lines,
      },
      null,
      2,
    ) + '\n',
  );
  log(`bench: wrote ${outFile}`);
}

// only when run as a program (importing this module runs nothing)
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href)
  main().catch((e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
