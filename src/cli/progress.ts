// Progress per host: listr2's live task list on a terminal, plain `[host] line` lines otherwise
// (CI logs, pipes). The engine calls the same interface (engine/progress.ts) either way.
import { Listr } from 'listr2';
import { PlainProgress, type PhaseEnd, type Progress, type Say } from '../engine/progress.js';

export class ListrProgress implements Progress {
  async phase(title: string, hosts: string[], forks: number, fn: (host: string, say: Say) => Promise<PhaseEnd>) {
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
                  const end = await fn(h, (line) => (task.output = line));
                  // A thrown error is how listr2 marks a task failed (a red cross, not a tick).
                  if (end.failed) throw new Error(`${h}: ${end.summary}`);
                  task.title = `${h}: ${end.summary}`;
                },
              })),
              { concurrent: forks, exitOnError: false },
            ),
        },
      ],
      { renderer: 'default', exitOnError: false, rendererOptions: { collapseSubtasks: false, collapseErrors: false } },
    );
    await list.run();
  }
}

/** listr2 only where a person watches a terminal and no machine reads stdout. */
export function progressFor(json: boolean, write: Say): Progress {
  return !json && process.stdout.isTTY && !process.env.CI ? new ListrProgress() : new PlainProgress(write);
}
