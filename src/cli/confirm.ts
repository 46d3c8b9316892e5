// `down` and `stop` on a terminal ask before they change anything (after planning, so the question
// says what they would change); with no terminal (CI, a pipe) or with --yes they go on.
import { createInterface } from 'node:readline/promises';
import { LvsctlError } from '../errors.js';

export class DeclinedError extends LvsctlError {}

/** Whether to ask at all: stdin and stderr are a terminal. */
export const canAsk = (): boolean => !!process.stdin.isTTY && !!process.stderr.isTTY;

/** Asks `question` on the terminal; anything but y or yes declines (nothing is changed). */
export async function confirmOrStop(question: string): Promise<void> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = (await rl.question(`${question} [y/N] `)).trim().toLowerCase();
    if (answer !== 'y' && answer !== 'yes') throw new DeclinedError('not confirmed: nothing was changed');
  } finally {
    rl.close();
  }
}
