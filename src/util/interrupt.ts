// SIGINT and SIGTERM stop lvsctl promptly and cleanly. While no host is being changed (reading
// facts, planning, verifying, waiting for a drain, connecting) the command ends at once: nothing is
// in the middle of a change. While changes are in flight, each host finishes the step it is in (so
// no file is half-written, no staged config is left, no remote command keeps running after lvsctl
// exits, and a keepalived stopped by verify --failover is started again), the hosts not yet
// started are skipped, and the command ends. A second signal exits at once. Exit code 130.
import { ExitCode, LvsctlError } from '../errors.js';

export class InterruptedError extends LvsctlError {
  override readonly exitCode = ExitCode.interrupted;
  readonly step = 'interrupted';
}

let received: NodeJS.Signals | undefined;
let controller = new AbortController();
/** Changes in flight (whileChanging); the command is abandoned at once only when there are none. */
let changing = 0;
let abandon: ((why: string) => void) | undefined;

/** The signal received, if any. */
export const interruption = (): NodeJS.Signals | undefined => received;

const interruptedError = () =>
  new InterruptedError(`stopped by ${received} before the next step (the steps in flight finished)`);

/** Called between steps: throws once a stop was asked for. */
export function checkInterrupt(): void {
  if (received) throw interruptedError();
}

/** Waits `ms`; a signal ends the wait at once (InterruptedError). */
export function sleep(ms: number): Promise<void> {
  const signal = controller.signal;
  if (signal.aborted) return Promise.reject(interruptedError());
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      reject(interruptedError());
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', done);
      resolve();
    }, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs `fn` as a change in flight: a signal lets it finish (see the top of this file). */
export async function whileChanging<T>(fn: () => Promise<T>): Promise<T> {
  changing++;
  try {
    return await fn();
  } finally {
    changing--;
  }
}

/**
 * Installs the handlers; returns their removal. `onAbandon` ends the process when the command
 * cannot wait (no change in flight, or a second signal): it writes what the command must still
 * write (its JSON document) and exits.
 */
export function handleInterrupts(say: (line: string) => void, onAbandon: (why: string) => void): () => void {
  abandon = onAbandon;
  const on = (sig: NodeJS.Signals) => {
    if (received) {
      say(`\n${sig} again: exiting now`);
      abandon?.(`stopped by a second ${sig}`);
      return;
    }
    received = sig;
    controller.abort();
    if (!changing) {
      say(`\n${sig}: stopping (no change was in flight)`);
      abandon?.(`stopped by ${sig} (no change was in flight)`);
      return;
    }
    say(`\n${sig}: finishing the steps in flight, then stopping (${sig} again to exit at once)`);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => {
    process.removeListener('SIGINT', on);
    process.removeListener('SIGTERM', on);
    abandon = undefined;
    received = undefined;
    controller = new AbortController();
  };
}
