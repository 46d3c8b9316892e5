// The boot unit as systemd holds it (systemd hosts only). lvsctl writes lvsctl.service and its wants
// link itself (files.ts, bootlinks.ts) and applies the live state itself, so systemd is told here:
// a daemon-reload once, after the unit or its link changed (or systemd's copy is stale), and a
// `systemctl stop` where a run takes the service down or removes the unit while systemd has it
// active (it ran at boot). The stop comes after lvsctl's own teardown and before the script and the
// unit are deleted (its ExecStop runs the script's stop, which finds nothing left to undo); the
// reload after those deletions makes systemd forget the unit. Not started by `start`: the script's
// start would delete and restore the IPVS services: a gap in traffic.
import type { HostFacts } from '../facts/parse.js';
import { BOOT_LINKS, MANAGED_PATHS } from '../render/paths.js';
import { sh, type Shell } from '../util/quote.js';
import { fragment, type Change, type CommandResource } from './types.js';

export type BootUnitChange =
  | { kind: 'boot-unit'; action: 'stop'; from: string }
  /** forget: the unit file is gone, and systemd forgets the unit (its failed state too). ifNeeded:
   * the unit is new to systemd, which reads a unit it does not hold when first asked for it (and at
   * boot); the host asks systemd after the writes and reloads only where it does not see the file. */
  | { kind: 'boot-unit'; action: 'reload'; forget: boolean; ifNeeded?: true };

const UNIT = MANAGED_PATHS.systemdUnit;
const UNIT_NAME = UNIT.replace(/^.*\//, '');
// keepalived's drop-in (keepalived#2239) too: systemd reads it only on a daemon-reload.
const SYSTEMD_PATHS = new Set<string>([UNIT, MANAGED_PATHS.keepalivedDropIn, ...BOOT_LINKS.systemd.map((l) => l.path)]);

/** What systemd says of lvsctl.service: LoadState (loaded, not-found...), ActiveState (active,
 * inactive, failed...), and whether its file changed on disk since systemd read it. */
export interface BootUnitFact {
  load: string;
  active: string;
  needReload: boolean;
}

// Empty where systemd is not PID 1 or systemctl is absent: then nothing is planned.
export const bootUnitFacts = fragment(
  ['boot_unit'],
  String.raw`s boot_unit; if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl show -p LoadState,ActiveState,NeedDaemonReload ${UNIT_NAME} 2>/dev/null || :
fi
`,
);

export function parseBootUnit(lines: string[]): BootUnitFact | null {
  const kv = new Map(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  const load = kv.get('LoadState');
  if (!load) return null;
  return { load, active: kv.get('ActiveState') ?? 'inactive', needReload: kv.get('NeedDaemonReload') === 'yes' };
}

/** Of the changes that touch systemd: a new file or link of lvsctl's own unit (the links are all
 * lvsctl.service's; the one other file is keepalived's drop-in). */
const createsUnit = (c: Change) =>
  (c.kind === 'bootlink' && c.action === 'create') ||
  (c.kind === 'file' && c.action === 'create' && c.file.path === UNIT);

const touches = (c: Change) =>
  (c.kind === 'file' && SYSTEMD_PATHS.has(c.action === 'delete' ? c.path : c.file.path)) ||
  (c.kind === 'bootlink' && SYSTEMD_PATHS.has(c.path));

/** Whether systemctl is there: the facts saw it, and the host may have lost it since. */
const withSystemctl = (cmd: Shell) => sh`if command -v systemctl >/dev/null 2>&1; then ${cmd}; fi`;

export const bootUnit = {
  parse: (get): Pick<HostFacts, 'bootUnit'> => ({ bootUnit: parseBootUnit(get('boot_unit')) }),
  // Last of the plan steps: it sees every file and link change the others planned. The stop opens
  // the deletions: after every removal (the teardown), before any file goes.
  plan({ facts: f, files, old, forget, stopping, adds, removals, deletions }) {
    const u = f.bootUnit;
    const wanted = files.some((x) => x.path === UNIT);
    if (!u || (!wanted && !old.owned.files.includes(UNIT))) return;
    const running = u.active !== 'inactive' && u.active !== 'failed';
    if (running && (stopping || forget || !wanted))
      deletions.unshift({ kind: 'boot-unit', action: 'stop', from: u.active });
    const stale = u.needReload || (u.load === 'not-found' && !!f.files.get(UNIT));
    const touching = [...adds, ...removals, ...deletions].filter(touches);
    if (!stale && !touching.length) return;
    // A daemon-reload reruns every generator and rereads every unit: 1.2 s on the emulated lab's
    // director, most of its set-up. Not needed for a unit systemd has never read, when nothing but
    // the unit and its wants link are new (keepalived's drop-in needs one: keepalived is loaded).
    const unseen = !stale && u.load === 'not-found' && !f.files.get(UNIT) && touching.every(createsUnit);
    deletions.push({
      kind: 'boot-unit',
      action: 'reload',
      forget: !wanted,
      ...(unseen && wanted && { ifNeeded: true }),
    });
  },
  record: (c) =>
    c.action === 'stop'
      ? { action: 'stop', target: UNIT_NAME, from: c.from, to: 'inactive' }
      : {
          action: 'reload',
          target: UNIT_NAME,
          from: c.ifNeeded ? 'new on disk' : 'changed on disk',
          to: c.forget ? 'not-found' : 'loaded',
        },
  describe(c) {
    if (c.action === 'stop')
      return `boot: systemctl stop ${UNIT_NAME} (${c.from} -> inactive; the script's stop finds nothing left to undo)`;
    if (c.ifNeeded) return `boot: systemctl daemon-reload if systemd does not read the new ${UNIT_NAME} by itself`;
    return `boot: systemctl daemon-reload (${c.forget ? `systemd forgets ${UNIT_NAME}` : `systemd reads ${UNIT_NAME} again`})`;
  },
  command(c) {
    if (c.action === 'stop') return withSystemctl(sh`systemctl stop ${UNIT_NAME}`);
    // a unit that failed stays known until reset-failed (which fails where systemd forgot it already)
    if (c.forget)
      return withSystemctl(sh`systemctl daemon-reload && { systemctl reset-failed ${UNIT_NAME} 2>/dev/null || :; }`);
    // `show` loads a unit systemd does not hold; one it holds as not-found, or as changed on disk
    // (an old systemd that does not retry a load), still needs the reload.
    if (c.ifNeeded)
      return withSystemctl(
        sh`case $(systemctl show -p LoadState,NeedDaemonReload ${UNIT_NAME} 2>/dev/null) in *LoadState=loaded*NeedDaemonReload=no* | *NeedDaemonReload=no*LoadState=loaded*) ;; *) systemctl daemon-reload ;; esac`,
      );
    return withSystemctl(sh`systemctl daemon-reload`);
  },
} satisfies CommandResource<BootUnitChange>;
