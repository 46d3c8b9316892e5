// The renderer's files, in the planner's terms.
import type { Cluster } from '../inventory/model.js';
import type { Secrets } from '../inventory/secrets.js';
import { renderHost } from '../render/host.js';
import type { DesiredFile } from '../plan/types.js';

export function renderedFiles(cluster: Cluster, host: string, secrets: Secrets): DesiredFile[] {
  return renderHost(cluster, host, secrets).map((f) => ({
    path: f.path,
    content: f.content,
    mode: f.mode,
    ...(f.owner ? { owner: f.owner.split(':')[0], group: f.owner.split(':')[1] ?? 'root' } : {}),
    ...(f.secret ? { secret: true } : {}),
    ...(f.kind === 'keepalived' ? { validate: 'keepalived' as const } : {}),
  }));
}
