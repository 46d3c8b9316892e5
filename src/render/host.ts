// The renderer's entry points: every file lvsctl puts on a host, as data. Pure apart from reading
// the package's templates once: same cluster and secrets in, same files out, sorted by path.
import type { Cluster } from '../inventory/model.js';
import { directorFiles, runsKeepalived } from './director.js';
import { keepalivedFile } from './keepalived.js';
import { killModeFile } from './keepalived-scripts.js';
import { realServerFiles } from './realserver.js';
import type { HostFile, Secrets } from './types.js';

export type { HostFile, Secrets };

export function renderHost(cluster: Cluster, hostName: string, secrets: Secrets): HostFile[] {
  const h = cluster.hosts.get(hostName);
  if (!h) throw new Error(`unknown host ${hostName}`);
  const base = { host: hostName, cluster: cluster.name, mode: cluster.mode };
  const files: HostFile[] = [];
  if (h.roles.has('director')) {
    files.push(...directorFiles(cluster, hostName, base));
    if (runsKeepalived(cluster)) files.push(keepalivedFile(cluster, hostName, base, secrets));
    files.push(...killModeFile(cluster, base));
  }
  if (h.roles.has('real_server')) files.push(...realServerFiles(cluster, hostName, base));
  return files.sort((a, b) => Number(a.path > b.path) - Number(a.path < b.path));
}

/** Files per host, for every host that gets any (clients get none), in inventory order. */
export function renderCluster(cluster: Cluster, secrets: Secrets): Map<string, HostFile[]> {
  const out = new Map<string, HostFile[]>();
  for (const name of cluster.hosts.keys()) {
    const files = renderHost(cluster, name, secrets);
    if (files.length) out.set(name, files);
  }
  return out;
}
