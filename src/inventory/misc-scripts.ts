// The scripts keepalived's MISC_CHECKs run on the directors: each check's argument vector for one
// real server, and the list for the facts check that each script exists and is safe (owned by root,
// not writable by others) before apply.
import type { FieldPath } from './locate.js';
import type { Cluster, ResolvedRealServer } from './model.js';
import type { HealthCheck } from './schema.js';

/** A MISC_CHECK's program and arguments for one real server: "{address}" and "{port}" in its args
 * become the server's own (a service-wide check names the server it tests). */
export function miscArgv(
  h: Extract<HealthCheck, { type: 'misc' }>,
  r: Pick<ResolvedRealServer, 'address' | 'port'>,
): string[] {
  return [
    h.misc_path,
    ...(h.args ?? []).map((a) => a.replaceAll('{address}', r.address).replaceAll('{port}', String(r.port))),
  ];
}

export interface MiscCheckScript {
  /** The program's absolute path on the directors. */
  path: string;
  /** The health_check that names it (the service's, or a real server entry's). */
  field: FieldPath;
  /** For messages: "MISC_CHECK of rs2 in service http". */
  what: string;
}

/** One entry per health_check that is a MISC_CHECK, in inventory order; only services keepalived
 * owns (validation refuses health checks elsewhere). */
export function miscCheckScripts(cluster: Cluster): MiscCheckScript[] {
  const out = new Map<string, MiscCheckScript & { hosts: string[]; own: boolean }>();
  for (const s of cluster.services) {
    if (s.engine !== 'keepalived') continue;
    for (const r of s.realServers) {
      const h = r.healthCheck;
      if (h?.type !== 'misc') continue;
      const key = JSON.stringify(r.healthCheckPath);
      const e = out.get(key) ?? {
        path: h.misc_path,
        field: r.healthCheckPath,
        what: '',
        hosts: [] as string[],
        own: r.healthCheckPath.includes('real_servers'),
      };
      e.hosts.push(r.host);
      e.what = `MISC_CHECK of ${e.own ? e.hosts.join(', ') : 'the real servers'} in service ${s.name ?? s.id}`;
      out.set(key, e);
    }
  }
  return [...out.values()].map(({ path, field, what }) => ({ path, field, what }));
}
