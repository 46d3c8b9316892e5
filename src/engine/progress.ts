// How the engine reports its phases: one call per phase, one line stream per host. The command line
// chooses the renderer (cli/progress.ts); the engine only knows this interface.
import { mapLimit } from '../ssh/pool.js';

export type Say = (line: string) => void;

/** A host's end of a phase: its summary line, and whether the host failed there (a terminal marks it). */
export interface PhaseEnd {
  summary: string;
  failed: boolean;
}

export interface Progress {
  /** Runs `fn` for every host, at most `forks` at once; `fn` reports lines and returns how it ended. */
  phase(
    title: string,
    hosts: string[],
    forks: number,
    fn: (host: string, say: Say) => Promise<PhaseEnd>,
  ): Promise<void>;
}

/** Plain `[host] line` lines (CI logs, pipes, --verbose on stderr). */
export class PlainProgress implements Progress {
  constructor(private readonly write: Say) {}
  async phase(title: string, hosts: string[], forks: number, fn: (host: string, say: Say) => Promise<PhaseEnd>) {
    if (!hosts.length) return;
    this.write(`== ${title}`);
    await mapLimit(hosts, forks, async (h) => {
      const end = await fn(h, (line) => this.write(`[${h}] ${line}`));
      this.write(`[${h}] ${end.summary}`);
    });
  }
}
