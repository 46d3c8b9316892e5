// The VRRP scripts in keepalived.conf (global script_user, vrrp_script blocks, an instance's
// track_interface, track_script and notify lines), and the systemd drop-in that lets notify_stop
// finish when keepalived stops. Every value goes through {{kq}}: a script line is one quoted word,
// which keepalived splits on blanks again (the schema allows no blanks, quotes or "\" in it).
import type { Cluster } from '../inventory/model.js';
import type { Vrrp } from '../inventory/schema.js';
import { commandOf, directorScripts, NOTIFY_KEYS, runsOnStop } from '../inventory/scripts.js';
import { renderTemplate } from './engine.js';
import { MANAGED_PATHS } from './paths.js';
import type { BaseContext, HostFile } from './types.js';

const commandLine = (c: { path: string; args: string[] }) => [c.path, ...c.args].join(' ');
const SETTINGS = ['interval', 'timeout', 'weight', 'fall', 'rise', 'user'] as const;

/** global_defs and the vrrp_script blocks (none without scripts). */
export function scriptsContext(c: Cluster) {
  const vrrp = c.directors.vrrp;
  const any = directorScripts(c).length > 0;
  return {
    scriptUser: any ? (vrrp?.script_user ?? 'root') : false,
    vrrpScripts: Object.entries(vrrp?.scripts ?? {}).map(([name, s]) => ({
      name,
      command: commandLine(s),
      settings: SETTINGS.filter((k) => s[k] !== undefined).map((k) => ({ key: k, value: s[k]! })),
    })),
  };
}

/** One instance's tracking and notify lines (the ka-vrrp-scripts partial). */
export function instanceScripts(inst: Vrrp['instances'][number]) {
  return {
    trackInterfaces: (inst.track_interface ?? []).map((t) => ({ interface: t.interface, weight: t.weight ?? false })),
    trackScripts: inst.track_script ?? [],
    notify: NOTIFY_KEYS.filter((k) => inst[k] !== undefined).map((k) => ({
      key: k,
      command: commandLine(commandOf(inst[k]!)),
    })),
  };
}

/** keepalived#2239: systemd's default KillMode=control-group kills notify_stop with keepalived.
 * Written where an instance has a script that runs on stop; inert where systemd does not run. */
export function killModeFile(c: Cluster, base: BaseContext): HostFile[] {
  if (!runsOnStop(c)) return [];
  return [
    {
      path: MANAGED_PATHS.keepalivedDropIn,
      mode: 0o644,
      kind: 'dropin',
      content: renderTemplate('keepalived-killmode.conf', base),
    },
  ];
}
