// Test-side handle on the QEMU lab (test/lab/lab.sh): start/restore/stop it, run commands on its
// hosts over OpenSSH with strict host-key checking, reboot a host (or hold it before its boot path
// and look into its netns), take a state snapshot.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { outputJsonSchema } from '../../src/cli/contract.js';

/** The repository root, found from this file whether it runs from test/lab or dist/test/lab. */
function findRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'test', 'lab', 'lab.sh'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('lab: repository root not found');
    dir = up;
  }
  return dir;
}

export const ROOT = findRoot();
export const LAB_SH = path.join(ROOT, 'test', 'lab', 'lab.sh');
export const LAB_DIR = process.env.LVSCTL_LAB_DIR ?? path.join(ROOT, '.lab');
export const KEY = path.join(LAB_DIR, 'id_ed25519');
export const KNOWN_HOSTS = path.join(LAB_DIR, 'known_hosts');

/** SSH ports on 127.0.0.1 (qemu hostfwd); "guest" is the VM itself. LVSCTL_LAB_PORT_BASE as in lab.sh. */
const BASE = Number(process.env.LVSCTL_LAB_PORT_BASE ?? 22000);
export const PORTS = {
  guest: BASE,
  client: BASE + 1,
  dir1: BASE + 2,
  dir2: BASE + 3,
  rs1: BASE + 4,
  rs2: BASE + 5,
  router: BASE + 6,
} as const;
export type Host = keyof typeof PORTS;
export const LAB_HOSTS = ['client', 'dir1', 'dir2', 'rs1', 'rs2', 'router'] as const;
export type LabHost = (typeof LAB_HOSTS)[number];

/** How each lab host boots: the init column of guest/topology.sh, the one topology definition
 * (systemd: systemd as PID 1 under systemd-nspawn; sysv: host-boot.sh and the rc scripts). */
export const INIT: Record<LabHost, 'systemd' | 'sysv'> = (() => {
  const text = readFileSync(path.join(ROOT, 'test', 'lab', 'guest', 'topology.sh'), 'utf8');
  const table = /^LAB_TOPOLOGY="\n([^"]*)"/m.exec(text)?.[1] ?? '';
  const init = Object.fromEntries(
    table
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .map((w) => [w[0], w[4]]),
  );
  for (const h of LAB_HOSTS) {
    if (init[h] !== 'systemd' && init[h] !== 'sysv') throw new Error(`lab: no init for ${h} in topology.sh`);
  }
  return init as Record<LabHost, 'systemd' | 'sysv'>;
})();

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; showStderr?: boolean; env?: Record<string, string> } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', opts.showStderr ? 'inherit' : 'pipe'],
      env: opts.env && { ...process.env, ...opts.env },
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // a child that exits without reading its stdin (ssh to a host that is going away) closes the
    // pipe: EPIPE there is not the test's concern, the exit code is
    child.stdin?.on('error', () => {});
    child.stdin?.end(opts.input || undefined);
  });
}

/** The image directory, found (or built) once per test file: lab.sh then skips its cache check. */
let imageDir: Promise<string> | undefined;

async function labSh(args: string[], timeoutMs = 20 * 60_000, okCodes = [0]): Promise<Result> {
  imageDir ??= run('bash', [path.join(path.dirname(LAB_SH), 'build-image.sh'), 'build'], {
    timeoutMs: 60 * 60_000,
    showStderr: true,
  }).then((r) => {
    if (r.code !== 0) throw new Error(`build-image.sh build exited ${r.code} (its messages are in the log above)`);
    return r.stdout.trim();
  });
  const env = { LVSCTL_LAB_IMAGE: await imageDir };
  // progress and timings (build, boot, snapshot, restore) go straight to the test log
  const r = await run('bash', [LAB_SH, ...args], { timeoutMs, showStderr: true, env });
  if (!okCodes.includes(r.code))
    throw new Error(`lab.sh ${args.join(' ')} exited ${r.code} (its messages are in the log above)`);
  return r;
}

/** npm test's lab tier sets LVSCTL_LAB_RUN: lab states saved during it (save) are reused by later
 * files (resumeSaved). A file run alone, or a state not saved, takes its own way there. */
const SAVED_STATES = !!process.env.LVSCTL_LAB_RUN;

/** Saves the running lab as `name`, for later tests of this run to resume instead of repeating the
 * commands that made it. */
export async function save(name: string): Promise<void> {
  if (SAVED_STATES) await labSh(['save', name]);
}

/** Resumes the lab state `name` saved earlier in this run; false when there is none (the caller
 * makes that state itself). */
export async function resumeSaved(name: string): Promise<boolean> {
  if (!SAVED_STATES) return false;
  return (await labSh(['restore', '--saved', name], undefined, [0, 3])).code === 0;
}

/** Is a lab qemu (started from this LAB_DIR) running? */
export function isRunning(): boolean {
  try {
    const pid = readFileSync(path.join(LAB_DIR, 'qemu.pid'), 'utf8').trim();
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'qemu-system-x86';
  } catch {
    return false;
  }
}

/**
 * Brings up a clean lab: builds or reuses the image, resumes the ready snapshot (or boots and makes
 * it). A lab that was already running is reset to the snapshot. `startedByUs` tells the caller
 * whether stop() is theirs to call.
 */
export async function start(): Promise<{ startedByUs: boolean }> {
  const wasRunning = isRunning();
  await labSh(['up']);
  if (wasRunning) await labSh(['restore']);
  return { startedByUs: !wasRunning };
}

/** Throws the running lab away and resumes the ready snapshot (a clean lab in seconds): bare hosts,
 * or with `packages`, ipvsadm and keepalived installed on dir1, dir2 and the router as lvsctl's
 * install step leaves them (for tests whose subject is not the install; made once per image). */
export async function restore(opts: { packages?: boolean } = {}): Promise<void> {
  await labSh(['restore', ...(opts.packages ? ['--packages'] : [])]);
}

/** This machine's 127.0.0.1:port reaches addr:aport (TCP) on a lab network through the router, which
 * the hosts see as the source: a port forward with NAT on the way (gone at the next restore). */
export async function forward(port: number, addr: string, aport: number): Promise<void> {
  await labSh(['forward', String(port), addr, String(aport)], 60_000);
}

/** Stops the qemu that the lab started (by its pid file). */
export async function stop(): Promise<void> {
  await labSh(['down']);
}

/**
 * Reboots one host: new empty netns, same disk, boot path, sshd. With `hold`, stops before the
 * boot path (the host's fresh netns exists, nothing of its disk is applied, no sshd): look at it
 * with netns(), then boot() it.
 */
export async function reboot(host: Exclude<Host, 'guest'>, opts: { hold?: boolean } = {}): Promise<void> {
  await labSh(['reboot', host, ...(opts.hold ? ['--hold'] : [])], 5 * 60_000);
}

/** Runs the boot path of a host held by reboot(host, { hold: true }), up to its sshd answering. */
export async function boot(host: Exclude<Host, 'guest'>): Promise<void> {
  await labSh(['boot', host], 5 * 60_000);
}

/**
 * Runs `sh -c command` in a host's netns from the guest (no sshd needed: works while the host is
 * held). It sees that netns's /proc/net (/proc/net/ip_vs: its IPVS table), /proc/sys/net and
 * interfaces, but the guest's files. Returns stdout; throws on a non-zero exit.
 */
export async function netns(host: Exclude<Host, 'guest'>, command: string): Promise<string> {
  const r = await run('bash', [LAB_SH, 'netns', host, command], { timeoutMs: 2 * 60_000 });
  if (r.code !== 0) throw new Error(`[netns ${host}] ${command}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/** Normalized state of a host (see state.sh); `paths` are checksummed or reported absent. */
export async function state(host: Exclude<Host, 'guest'>, paths: string[] = []): Promise<string> {
  return (await labSh(['state', host, ...paths], 5 * 60_000)).stdout;
}

export function sshArgs(host: Host, opts: { user?: string; knownHosts?: string } = {}): string[] {
  return [
    '-i',
    KEY,
    '-p',
    String(PORTS[host]),
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${opts.knownHosts ?? KNOWN_HOSTS}`,
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=30',
    '-o',
    'LogLevel=ERROR',
    // Multiplexed (a fresh login costs ~1 s under TCG), with the same ControlPath as lab.sh so that
    // `lab.sh reboot` drops the connection to the old host. Another known_hosts file gets its own
    // connection: a shared one would skip the host-key check.
    ...(opts.knownHosts
      ? ['-o', 'ControlPath=none']
      : ['-o', 'ControlMaster=auto', '-o', `ControlPath=${path.join(LAB_DIR, 'cm-%r-%p')}`, '-o', 'ControlPersist=60']),
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
    `${opts.user ?? 'root'}@127.0.0.1`,
  ];
}

/** Runs a shell command on a host; never throws on a non-zero exit. */
export function ssh(
  host: Host,
  command: string,
  opts: { user?: string; input?: string; timeoutMs?: number; knownHosts?: string } = {},
): Promise<Result> {
  return run('ssh', [...sshArgs(host, opts), command], opts);
}

/** Runs a shell command on a host and returns its stdout; throws on a non-zero exit. */
export async function sh(
  host: Host,
  command: string,
  opts: { user?: string; input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await ssh(host, command, opts);
  if (r.code !== 0) throw new Error(`[${host}] ${command}: exit ${r.code}\n${r.stderr}`);
  return r.stdout;
}

/** Starts, stops or reloads a service the way the host's init does it (systemctl or its init script). */
export async function service(host: LabHost, name: string, action: 'start' | 'stop' | 'reload'): Promise<void> {
  await sh(host, INIT[host] === 'systemd' ? `systemctl ${action} ${name}.service` : `/etc/init.d/${name} ${action}`);
}

/** Does the host's init start this service at boot (systemctl is-enabled, or an S link in rc2.d)? */
export async function bootEnabled(host: LabHost, name: string): Promise<boolean> {
  const r =
    INIT[host] === 'systemd'
      ? await ssh(host, `systemctl is-enabled ${name}.service`)
      : await ssh(host, `ls /etc/rc2.d | grep -q '^S[0-9][0-9]${name}$'`);
  return r.code === 0;
}

/** Something that changes at every boot of a host: the start time of its PID 1 (clock ticks since
 * the guest booted; each host's PID namespace has its own PID 1). */
export async function bootMark(host: LabHost): Promise<number> {
  return Number((await sh(host, "awk '{print $22}' /proc/1/stat")).trim());
}

/** What the host's boot path printed in its current boot: the journal (systemd) or the part of
 * /var/log/boot.log since the last "=== boot" line (sysv). */
export async function bootLog(host: LabHost): Promise<string> {
  return sh(
    host,
    INIT[host] === 'systemd'
      ? 'journalctl -b --no-pager -o short'
      : `awk '/^=== boot /{s=""} {s=s $0 "\\n"} END{printf "%s", s}' /var/log/boot.log`,
  );
}

/**
 * Registers the test file's lab hooks: before, a clean lab (restored from the ready snapshot: bare
 * hosts, or with `packages` the packaged one); after, the lab stopped if this file started it, else
 * restored for whoever did.
 */
export function useLab(
  hooks: {
    before: (fn: () => Promise<void>, o: { timeout: number }) => void;
    after: (fn: () => Promise<void>, o: { timeout: number }) => void;
  },
  opts: { packages?: boolean } = {},
): void {
  let startedByUs = false;
  hooks.before(
    async () => {
      startedByUs = !isRunning();
      // a lab this file starts is resumed once, in the state it asks for
      if (startedByUs) await labSh(['up', ...(opts.packages ? ['--packages'] : [])]);
      else await restore(opts);
    },
    { timeout: 25 * 60_000 },
  );
  hooks.after(
    async () => {
      if (startedByUs) await stop();
      else await restore();
    },
    { timeout: 5 * 60_000 },
  );
}

/** Runs lvsctl itself (bin/lvsctl.js) as a child process, as an operator would. Never throws. */
export function lvsctl(args: string[], timeoutMs = 15 * 60_000, env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/lvsctl.js'), ...args],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        let code = 0;
        if (err) code = typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** Starts lvsctl and returns the child with its output so far (for signals mid-run). */
export function lvsctlSpawn(args: string[]): {
  child: ReturnType<typeof spawn>;
  out: () => string;
  done: Promise<Result>;
} {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/lvsctl.js'), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<Result>((resolve) =>
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr })),
  );
  return { child, out: () => stdout + stderr, done };
}

const checkOutput = new Ajv2020({ allErrors: true, strict: false }).compile(outputJsonSchema());

/** Polls `check` until it returns true (every 0.5 s, up to `ms`); fails with `what`. */
export async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) assert.fail(`not within ${ms / 1000} s: ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The JSON document an lvsctl --json run printed (a clear failure when it printed something else),
 * checked against the published output schema (`lvsctl schema output`) on every lab run. */
export function json<T>(r: Result): T {
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  if (!checkOutput(doc))
    throw new Error(`the JSON document breaks the output schema: ${JSON.stringify(checkOutput.errors)}\n${r.stdout}`);
  if ((doc as { exit_code: number }).exit_code !== r.code)
    throw new Error(
      `exit_code ${(doc as { exit_code: number }).exit_code} in the document, ${r.code} from the process`,
    );
  return doc as T;
}
