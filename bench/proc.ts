// A child process with its output and wall time (the bench's one way to run a program).
import { spawn } from 'node:child_process';

export interface Proc {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export function run(cmd: string, args: string[], o: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Proc> {
  return new Promise((res, rej) => {
    const t0 = process.hrtime.bigint();
    const p = spawn(cmd, args, { env: o.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', rej);
    p.on('close', (code) =>
      res({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        ms: Number(process.hrtime.bigint() - t0) / 1e6,
      }),
    );
    p.stdin.on('error', () => {}); // EPIPE from a child that exits unread: its exit code tells
    p.stdin.end(o.input || undefined);
  });
}

/** run(), and an error with the last lines of its output unless it exits 0. */
export async function must(
  cmd: string,
  args: string[],
  what: string,
  o: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Proc> {
  const r = await run(cmd, args, o);
  if (r.code !== 0)
    throw new Error(
      `${what} failed (exit ${r.code}):\n${(r.stderr + r.stdout).trim().split('\n').slice(-15).join('\n')}`,
    );
  return r;
}
