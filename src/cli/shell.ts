// The preamble and epilogue every host command shares: read the inventory (nothing is contacted
// when it is invalid), check --limit, open one SSH connection per host on first use, choose the
// progress renderer, and close every connection whatever happens.
import { checkLimit } from '../engine/cluster.js';
import { Connections } from '../engine/connections.js';
import { renderedFiles } from '../engine/files.js';
import type { FilesFor } from '../engine/host.js';
import { PlainProgress, type Progress } from '../engine/progress.js';
import { loadInventory } from '../inventory/load.js';
import type { Cluster } from '../inventory/model.js';
import type { Secrets } from '../inventory/secrets.js';
import type { HostOptions } from './options.js';
import type { Output } from './output.js';
import { progressFor } from './progress.js';

export interface HostCommand {
  cluster: Cluster;
  secrets: Secrets;
  conns: Connections;
  filesFor: FilesFor;
  progress: Progress;
}

export interface ShellOptions {
  /** Per-host progress only with --verbose, on stderr (status: its output is the table). */
  quietProgress?: boolean;
  /** Checks of the command's own words that need the inventory; run before any contact. */
  check?: (cluster: Cluster) => void;
}

export async function withHosts(
  o: HostOptions,
  out: Output,
  fn: (c: HostCommand) => Promise<number>,
  opts: ShellOptions = {},
): Promise<number> {
  const { cluster, secrets } = loadInventory(o.inventory);
  checkLimit(cluster, o.limit);
  opts.check?.(cluster);
  const conns = new Connections(cluster, o.acceptNewHostKeys);
  const progress = opts.quietProgress
    ? new PlainProgress((l) => out.debug(l))
    : progressFor(o.json, (l) => out.info(l));
  try {
    return await fn({ cluster, secrets, conns, filesFor: renderedFiles, progress });
  } finally {
    await conns.closeAll();
  }
}
