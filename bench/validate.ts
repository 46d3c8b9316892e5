// The validate part: `lvsctl validate` on each inventory shape of bench/inventory-shapes.ts at the
// size limit (512 KiB; the over-limit shapes one byte more, and 1 MiB), target < 2 s each ("validation cost
// linear in file size"). No hosts, no root: a child process per run, timed from spawn to exit, with
// its peak RSS and CPU time from /usr/bin/time when this machine has it. One untimed warm-up
// validate first (the page cache), then RUNS runs of every shape; figures are medians (RSS: peak).
// The files stay in <run dir>/validate/ for profiling (`node --cpu-prof bin/lvsctl.js validate -i …`).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_INVENTORY_BYTES } from '../src/inventory/load.js';
import { SHAPES } from './inventory-shapes.js';
import { run, type Proc } from './proc.js';

export const VALIDATE_TARGET_MS = 2000;
const TIME = '/usr/bin/time';

export interface ValidateRun {
  ms: number;
  /** user + system CPU time, and peak RSS: undefined without /usr/bin/time. */
  cpuMs?: number;
  rssKB?: number;
}

export interface ValidateShapeResult {
  name: string;
  describe: string;
  bytes: number;
  expect: string;
  /** What validate answered (the first run): exit code, problems printed, the first stderr line. */
  exit: number;
  problems: number;
  firstLine: string;
  /** The answer is the expected one, in every run. */
  asExpected: boolean;
  runs: ValidateRun[];
  medianMs: number;
  medianCpuMs?: number;
  peakRssKB?: number;
}

/** Start-up (issue 26): `lvsctl validate` of an example inventory beside `node -e 0`, alternated. */
export interface StartupResult {
  example: string;
  samples: number;
  targetMs: number;
  nodeMs: number[];
  validateMs: number[];
  medianNodeMs: number;
  medianValidateMs: number;
}

export interface ValidateResult {
  targetMs: number;
  bytes: number;
  shapes: ValidateShapeResult[];
  startup?: StartupResult;
}

export const STARTUP_TARGET_MS = 150;
const STARTUP_EXAMPLE = 'inventories/example-dr-ha.yaml';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function answered(expect: 'ok' | RegExp, r: Proc): boolean {
  return expect === 'ok' ? r.code === 0 : r.code === 65 && expect.test(r.stderr);
}

export async function benchValidate(
  runs: number,
  runDir: string,
  lvsctl: string,
  log: (l: string) => void,
): Promise<ValidateResult> {
  const dir = join(runDir, 'validate');
  mkdirSync(dir, { recursive: true });
  const timed = existsSync(TIME);
  const rssFile = join(dir, 'time.out');
  const once = async (file: string): Promise<{ proc: Proc; run: ValidateRun }> => {
    if (!timed) {
      const proc = await run(process.execPath, [lvsctl, 'validate', '-i', file]);
      return { proc, run: { ms: proc.ms } };
    }
    const proc = await run(TIME, ['-f', '%M %U %S', '-o', rssFile, process.execPath, lvsctl, 'validate', '-i', file]);
    // time(1) writes "Command exited with non-zero status N" before its own line
    const [kb, user, sys] = readFileSync(rssFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    return { proc, run: { ms: proc.ms, rssKB: kb!, cpuMs: Math.round((user! + sys!) * 1000) } };
  };

  const files = SHAPES.map((s) => {
    const text = s.text(MAX_INVENTORY_BYTES);
    const file = join(dir, `${s.name}.yaml`);
    writeFileSync(file, text);
    return { shape: s, file, bytes: Buffer.byteLength(text) };
  });
  await once(files[0]!.file); // warm-up
  const shapes: ValidateShapeResult[] = [];
  for (const { shape, file, bytes } of files) {
    const samples: { proc: Proc; run: ValidateRun }[] = [];
    for (let i = 0; i < runs; i++) samples.push(await once(file));
    const first = samples[0]!.proc;
    const errLines = first.stderr.split('\n').filter(Boolean);
    const ms = samples.map((x) => x.run.ms);
    const r: ValidateShapeResult = {
      name: shape.name,
      describe: shape.describe,
      bytes,
      expect: shape.expect === 'ok' ? 'ok' : shape.expect.source,
      exit: first.code,
      problems: first.code === 65 ? Math.max(0, errLines.length - 1) : 0,
      firstLine: (errLines[0] ?? first.stdout.split('\n')[0] ?? '').replace(file, '<file>').slice(0, 300),
      asExpected: samples.every((x) => answered(shape.expect, x.proc)),
      runs: samples.map((x) => x.run),
      medianMs: median(ms),
      ...(timed && {
        medianCpuMs: median(samples.map((x) => x.run.cpuMs!)),
        peakRssKB: Math.max(...samples.map((x) => x.run.rssKB!)),
      }),
    };
    log(
      `  validate ${shape.name.padEnd(22)} ${(r.medianMs / 1000).toFixed(2)} s (${ms.map((x) => x.toFixed(0)).join(' ')} ms)` +
        `${r.peakRssKB ? `  rss ${(r.peakRssKB / 1024).toFixed(0)} MB` : ''}  exit ${r.exit}${r.asExpected ? '' : '  UNEXPECTED ANSWER'}`,
    );
    shapes.push(r);
  }
  return {
    targetMs: VALIDATE_TARGET_MS,
    bytes: MAX_INVENTORY_BYTES,
    shapes,
    startup: await startup(runs, lvsctl, log),
  };
}

/** 4 × RUNS + 1 samples of each (start-up is short and noisy), the two alternated so that both see
 * the same machine; the example validated without its secrets (--no-secrets: no environment). */
async function startup(runs: number, lvsctl: string, log: (l: string) => void): Promise<StartupResult> {
  const root = join(lvsctl, '../..');
  const example = join(root, STARTUP_EXAMPLE);
  const samples = 4 * runs + 1;
  const nodeMs: number[] = [];
  const validateMs: number[] = [];
  await run(process.execPath, [lvsctl, 'validate', '--no-secrets', '-i', example]); // page cache
  for (let i = 0; i < samples; i++) {
    nodeMs.push((await run(process.execPath, ['-e', '0'])).ms);
    const v = await run(process.execPath, [lvsctl, 'validate', '--no-secrets', '-i', example]);
    if (v.code !== 0) throw new Error(`lvsctl validate ${STARTUP_EXAMPLE} failed (exit ${v.code}): ${v.stderr}`);
    validateMs.push(v.ms);
  }
  const r = {
    example: STARTUP_EXAMPLE,
    samples,
    targetMs: STARTUP_TARGET_MS,
    nodeMs,
    validateMs,
    medianNodeMs: median(nodeMs),
    medianValidateMs: median(validateMs),
  };
  log(
    `  start-up: lvsctl validate ${STARTUP_EXAMPLE} ${r.medianValidateMs.toFixed(0)} ms, node -e 0 ${r.medianNodeMs.toFixed(0)} ms (medians of ${samples})`,
  );
  return r;
}

export const validateVerdict = (s: ValidateShapeResult, targetMs: number): 'PASS' | 'FAIL' =>
  s.asExpected && s.medianMs < targetMs ? 'PASS' : 'FAIL';

/** The part's table: one row per shape. */
export function validateTable(v: ValidateResult, runs: number): string[] {
  const n = v.shapes[0]?.runs.length ?? runs;
  const head = ['shape', 'bytes', 'exit', 'problems', 'median', 'cpu', 'peak RSS', `< ${v.targetMs / 1000} s`];
  const rows = v.shapes.map((s) => [
    s.name,
    String(s.bytes),
    String(s.exit) + (s.asExpected ? '' : ' (WRONG)'),
    String(s.problems),
    `${s.medianMs.toFixed(0)} ms`,
    s.medianCpuMs === undefined ? '-' : `${s.medianCpuMs} ms`,
    s.peakRssKB === undefined ? '-' : `${(s.peakRssKB / 1024).toFixed(0)} MB`,
    validateVerdict(s, v.targetMs),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const row = (cells: string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!)))
      .join('  ')
      .trimEnd();
  const st = v.startup;
  return [
    `Validation at the size limit (${v.bytes} bytes): \`lvsctl validate\`, median of ${n} runs (wall time), target < ${v.targetMs / 1000} s each`,
    row(head),
    ...rows.map(row),
    ...(st
      ? [
          `Start-up: \`lvsctl validate\` of ${st.example} ${st.medianValidateMs.toFixed(0)} ms beside \`node -e 0\` ${st.medianNodeMs.toFixed(0)} ms (medians of ${st.samples}, alternated)`,
        ]
      : []),
  ];
}
