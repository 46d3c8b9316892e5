// Progress per host: listr2's live task list on a terminal, plain `[host] line` lines otherwise
// (CI logs, pipes). The engine calls the same interface either way.
import { Listr } from 'listr2';
import { mapLimit } from '../ssh/pool.js';

export interface Progress {
  /** Runs `fn` for every host, at most `forks` at once; `fn` reports lines and returns a summary. */
  phase(
    title: string,
    hosts: string[],
    forks: number,
    fn: (host: string, say: (line: string) => void) => Promise<string>,
  ): Promise<void>;
}

export class PlainProgress implements Progress {
  constructor(private readonly write: (line: string) => void) {}
  async phase(
    title: string,
    hosts: string[],
    forks: number,
    fn: (host: string, say: (line: string) => void) => Promise<string>,
  ): Promise<void> {
    if (!hosts.length) return;
    this.write(`== ${title}`);
    await mapLimit(hosts, forks, async (h) => {
      const summary = await fn(h, (line) => this.write(`[${h}] ${line}`));
      this.write(`[${h}] ${summary}`);
    });
  }
}

export class ListrProgress implements Progress {
  async phase(
    title: string,
    hosts: string[],
    forks: number,
    fn: (host: string, say: (line: string) => void) => Promise<string>,
  ): Promise<void> {
    if (!hosts.length) return;
    const list = new Listr(
      [
        {
          title,
          task: (_ctx, parent) =>
            parent.newListr(
              hosts.map((h) => ({
                title: h,
                task: async (_c: unknown, task: { output: string; title: string }) => {
                  task.title = `${h}: ${await fn(h, (line) => (task.output = line))}`;
                },
              })),
              { concurrent: forks, exitOnError: false },
            ),
        },
      ],
      { renderer: 'default', rendererOptions: { collapseSubtasks: false } },
    );
    await list.run();
  }
}

/** listr2 only where a person watches a terminal and no machine reads stdout. */
export function progressFor(json: boolean, write: (line: string) => void): Progress {
  return !json && process.stdout.isTTY && !process.env.CI ? new ListrProgress() : new PlainProgress(write);
}
