// SIGINT and SIGTERM stop lvsctl cleanly: the first asks every host to stop before its next step
// (the step in flight finishes, so no file is half-written, no staged config is left and no remote
// command keeps running after lvsctl exits); the second exits at once. Exit code 130 either way.
import { ExitCode, LvsctlError } from '../errors.js';

export class InterruptedError extends LvsctlError {
  override readonly exitCode = ExitCode.interrupted;
  readonly step = 'interrupted';
}

let received: NodeJS.Signals | undefined;

/** The signal received, if any. */
export const interruption = (): NodeJS.Signals | undefined => received;

/** Called between steps: throws once a stop was asked for. */
export function checkInterrupt(): void {
  if (received)
    throw new InterruptedError(`stopped by ${received} before the next step (the steps in flight finished)`);
}

/** Installs the handlers; returns their removal. */
export function handleInterrupts(say: (line: string) => void): () => void {
  const on = (sig: NodeJS.Signals) => {
    if (received) {
      say(`\n${sig} again: exiting now`);
      process.exit(ExitCode.interrupted);
    }
    received = sig;
    say(`\n${sig}: finishing the steps in flight, then stopping (${sig} again to exit at once)`);
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return () => {
    process.removeListener('SIGINT', on);
    process.removeListener('SIGTERM', on);
  };
}
