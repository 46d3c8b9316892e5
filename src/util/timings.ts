// --timings: the wall time of each step on each host (connect, facts, plan, each kind of apply
// round trip, read-back, verify), like Ansible's profile_tasks. The command shell runs the command
// inside a recorder (AsyncLocalStorage: nothing is threaded through the engine's signatures, and
// without --timings `timed` only calls its function). Steps that run more than once on a host (two
// batches of commands, one verify per service) add up, with their count.
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';

/** One host's step: its total wall time, how many times it ran, and when it first started
 * (milliseconds since the command began). */
export interface Timing {
  host: string;
  step: string;
  ms: number;
  count: number;
  start_ms: number;
}

export class Timings {
  private readonly t0 = performance.now();
  private readonly byKey = new Map<string, Timing>();

  record(host: string, step: string, start: number, end: number): void {
    const key = `${host}\0${step}`;
    const t = this.byKey.get(key);
    if (t) {
      t.ms += end - start;
      t.count++;
    } else this.byKey.set(key, { host, step, ms: end - start, count: 1, start_ms: start - this.t0 });
  }

  /** Every row, rounded to 0.1 ms, hosts in the order given (others after), steps in the order they
   * first started. */
  rows(hostOrder: string[] = []): Timing[] {
    const rank = (h: string) => {
      const i = hostOrder.indexOf(h);
      return i < 0 ? hostOrder.length : i;
    };
    const r = (x: number) => Math.round(x * 10) / 10;
    return [...this.byKey.values()]
      .sort((a, b) => rank(a.host) - rank(b.host) || a.host.localeCompare(b.host) || a.start_ms - b.start_ms)
      .map((t) => ({ ...t, ms: r(t.ms), start_ms: r(t.start_ms) }));
  }
}

const recorder = new AsyncLocalStorage<Timings>();

/** Runs fn with `timings` recording every `timed` step under it. */
export const recordTimings = <T>(timings: Timings, fn: () => Promise<T>): Promise<T> => recorder.run(timings, fn);

/** fn's wall time as `step` on `host`, when a recorder is running (a failed step counts too). */
export async function timed<T>(host: string, step: string, fn: () => Promise<T>): Promise<T> {
  const t = recorder.getStore();
  if (!t) return fn();
  const start = performance.now();
  try {
    return await fn();
  } finally {
    t.record(host, step, start, performance.now());
  }
}

/** The same for synchronous work (planning). */
export function timedSync<T>(host: string, step: string, fn: () => T): T {
  const t = recorder.getStore();
  if (!t) return fn();
  const start = performance.now();
  try {
    return fn();
  } finally {
    t.record(host, step, start, performance.now());
  }
}
