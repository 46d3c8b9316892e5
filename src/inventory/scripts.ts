// The operator's scripts keepalived runs on the directors, in one list: what the facts check on
// every director before apply (facts/scripts.ts), what the render writes (render/keepalived.ts), and
// whether keepalived needs enable_script_security. Add a new kind of script here, and it is checked.
import type { FieldPath } from './locate.js';
import { miscCheckScripts } from './misc-scripts.js';
import { syncGroups, type Cluster } from './model.js';
import type { Vrrp } from './schema.js';

/** keepalived's notify keywords of a VRRP instance, in the order they are written. */
export const NOTIFY_KEYS = ['notify_master', 'notify_backup', 'notify_fault', 'notify_stop', 'notify'] as const;
export type NotifyKey = (typeof NOTIFY_KEYS)[number];

type Command = NonNullable<Vrrp['instances'][number][NotifyKey]>;

export interface DirectorScript {
  path: string;
  args: string[];
  /** The user keepalived runs it as (its own `user`, else script_user). */
  user: string;
  /** Where the inventory names it, for messages. */
  field: FieldPath;
}

export const commandOf = (c: Command): { path: string; args: string[] } =>
  typeof c === 'string' ? { path: c, args: [] } : c;

/** Every script keepalived runs on the directors, with the inventory field that names it: the
 * VRRP scripts and every MISC_CHECK (run as script_user, root without VRRP). */
export function directorScripts(c: Cluster): DirectorScript[] {
  const vrrp = c.directors.vrrp;
  const scriptUser = vrrp?.script_user ?? 'root';
  const out: DirectorScript[] = [];
  for (const [name, s] of Object.entries(vrrp?.scripts ?? {}))
    out.push({
      path: s.path,
      args: s.args,
      user: s.user ?? scriptUser,
      field: ['directors', 'vrrp', 'scripts', name, 'path'],
    });
  vrrp?.instances.forEach((inst, i) => {
    for (const k of NOTIFY_KEYS) {
      const cmd = inst[k];
      if (cmd) out.push({ ...commandOf(cmd), user: scriptUser, field: ['directors', 'vrrp', 'instances', i, k] });
    }
  });
  for (const m of miscCheckScripts(c))
    out.push({ path: m.path, args: [], user: scriptUser, field: [...m.field, 'misc_path'] });
  return out;
}

/** keepalived's notify_stop runs as keepalived stops (`notify` too, with state STOP): where the
 * service manager kills the whole control group at stop, it can kill the script (keepalived#2239). */
export const runsOnStop = (c: Cluster): boolean =>
  (c.directors.vrrp?.instances ?? []).some((i) => i.notify_stop !== undefined || i.notify !== undefined);

/** The instances keepalived synchronises with `instance` (itself included), or none when it is in
 * no vrrp_sync_group (model.ts syncGroups: one group per master with two or more instances). */
export const syncGroupOf = (c: Cluster, instance: string): string[] | undefined =>
  syncGroups(c).find((g) => g.instances.includes(instance))?.instances;
