// The machine running lvsctl as a verify client (`verify.from: [local]`), for CI runners that reach
// the VIP themselves: the same probe commands, run by the local bash instead of over SSH. It only
// runs commands; it never writes files.
import { spawn } from 'node:child_process';
import { LOCAL } from '../inventory/model.js';
import type { ExecOptions, ExecResult, HostConnection } from './connection.js';
import { Shell } from '../util/quote.js';

export class LocalConnection implements HostConnection {
  readonly name = LOCAL;

  exec(cmd: Shell, opts: ExecOptions = {}): Promise<ExecResult> {
    if (!(cmd instanceof Shell)) throw new TypeError('exec() takes a Shell built with sh``');
    return new Promise((resolve, reject) => {
      const child = spawn('bash', ['-c', cmd.text], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      const timer = setTimeout(() => child.kill('SIGKILL'), (opts.timeoutSec ?? 600) * 1000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          code: code ?? 128,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          ...(signal ? { signal } : {}),
        });
      });
      child.stdin.end(opts.stdin ?? '');
    });
  }

  writeFile(): Promise<void> {
    return Promise.reject(new Error('the local verify client writes no files'));
  }

  writeFiles(): Promise<void> {
    return Promise.reject(new Error('the local verify client writes no files'));
  }

  checkpoint(): void {}

  /** Its commands are short probes that end on their own; nothing to break. */
  abort(): void {}

  close(): void {}
}
