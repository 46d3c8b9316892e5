// keepalived, through the distribution's service (os/init/): started once its config is in place,
// reloaded (SIGHUP, not restarted) when only the config changed, stopped when this host no longer
// needs it; and whether that service starts it at boot.
import type { HostFacts } from '../facts/parse.js';
import { parseKeepalivedVersion } from '../facts/keepalived-version.js';
import type { InitSystem, ServiceAction } from '../os/types.js';
import { lines, sh, type Shell } from '../util/quote.js';
import { fragment, type CommandResource } from './types.js';

export type KeepalivedChange = { kind: 'keepalived'; action: ServiceAction };
export type KeepalivedBootChange = { kind: 'keepalived-boot'; enable: boolean; from: string | null; restore: boolean };

// $ka (installed or not) serves both sections.
export const keepalivedFacts = fragment(
  ['keepalived', 'keepalived_boot', 'keepalived_version'],
  String.raw`# keepalived's processes and whether its service starts at boot, where it is installed
ka=; { [ -n "$DIRECTOR" ] || recorded keepalived; } && command -v keepalived >/dev/null 2>&1 && ka=1
s keepalived; [ -z "$ka" ] || pidof keepalived || :
s keepalived_boot; if [ -n "$ka" ]; then
  if [ -d /run/systemd/system ]; then systemctl is-enabled keepalived.service 2>/dev/null || :
  else b=disabled; for f in /etc/rc[2345].d/S[0-9][0-9]keepalived; do [ -e "$f" ] && b=enabled; done; echo "$b"; fi
fi
# its first line, "Keepalived v2.2.7 (01/16,2022)", on stderr
s keepalived_version; [ -z "$ka$DIRECTOR" ] || keepalived --version 2>&1 | { IFS= read -r l; printf '%s\n' "$l"; cat >/dev/null; }
`,
);

const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';

/** keepalived through the distribution's service (Debian's unit reloads with SIGHUP; its init script
 * too). A stop is done when keepalived has exited (it releases the VIPs and its virtual services on
 * the way out); an init script may return before that, and a start right after it would find the
 * old process and do nothing (measured in the lab: the old MASTER never came back). */
export function keepalivedService(init: InitSystem, action: ServiceAction): Shell {
  const svc = init.service('keepalived', action);
  if (action !== 'stop') return svc;
  return lines([
    svc,
    sh`i=0; while pidof keepalived >/dev/null; do i=$((i + 1)); [ "$i" -le 100 ] || { echo 'keepalived did not exit within 20 s' >&2; exit 1; }; sleep 0.2; done`,
  ]);
}

export const keepalived = {
  parse: (get): Pick<HostFacts, 'keepalivedPids' | 'keepalivedVersion'> => ({
    keepalivedPids: get('keepalived').join(' ').split(/\s+/).filter(Boolean).map(Number),
    keepalivedVersion: parseKeepalivedVersion(get('keepalived_version')[0] ?? ''),
  }),
  plan({ desired: d, facts: f, files, old, pre, next, changedFiles, adds, removals, deletions }) {
    const running = f.keepalivedPids.length > 0;
    // A keepalived.conf found (files step): keepalived's state then is recorded, and when lvsctl
    // lets go of the file, keepalived goes back to it on the found file instead of stopping.
    const found = next.originals.files?.includes(KEEPALIVED_CONF);
    if (found && !old.originals.files?.includes(KEEPALIVED_CONF))
      pre.originals.keepalived = next.originals.keepalived = running ? 'running' : 'stopped';
    const handBack = old.originals.files?.includes(KEEPALIVED_CONF) && !files.some((x) => x.path === KEEPALIVED_CONF);
    if (handBack) delete next.originals.keepalived;
    if (d.keepalived) {
      if (!running) adds.push({ kind: 'keepalived', action: 'start' });
      else if (changedFiles.has(KEEPALIVED_CONF)) adds.push({ kind: 'keepalived', action: 'reload' });
    } else if (handBack && old.originals.keepalived === 'running')
      // after the files step put the found keepalived.conf back (deletions keep their order)
      deletions.push({ kind: 'keepalived', action: running ? 'reload' : 'start' });
    else if (running && old.owned.files.includes(KEEPALIVED_CONF))
      removals.unshift({ kind: 'keepalived', action: 'stop' });
  },
  record: (c) => ({
    action: c.action,
    target: 'keepalived',
    from: c.action === 'start' ? 'stopped' : 'running',
    to: c.action === 'stop' ? 'stopped' : 'running',
  }),
  describe: (c) => (c.action === 'reload' ? 'reload keepalived (SIGHUP: connections kept)' : `${c.action} keepalived`),
  command: (c, host) => keepalivedService(host.init, c.action),
} satisfies CommandResource<KeepalivedChange>;

const bootOn = (b: string | null | undefined) => b === 'enabled' || b === 'enabled-runtime';

// The distribution's service starts keepalived at boot, so a stopped director has it disabled (a
// reboot must not take the VIP back) and a running one enabled (RHEL installs it disabled). The value
// of an installed keepalived before lvsctl's first change is recorded, and `down` brings it back.
export const keepalivedBoot = {
  parse: (get): Pick<HostFacts, 'keepalivedBoot'> => ({
    keepalivedBoot: get('keepalived_boot').join('').trim() || null,
  }),
  plan({ desired: d, facts: f, old, pre, next, adds, removals }) {
    const boot = f.keepalivedBoot;
    if (d.keepalivedBoot !== undefined) {
      if (bootOn(boot) !== d.keepalivedBoot && (boot !== null || d.keepalivedBoot)) {
        if (!old.originals.keepalivedBoot && boot !== null)
          pre.originals.keepalivedBoot = next.originals.keepalivedBoot = boot;
        adds.push({ kind: 'keepalived-boot', enable: d.keepalivedBoot, from: boot, restore: false });
      }
    } else if (old.originals.keepalivedBoot) {
      const orig = old.originals.keepalivedBoot;
      delete next.originals.keepalivedBoot;
      if (boot !== null && bootOn(boot) !== bootOn(orig))
        removals.push({ kind: 'keepalived-boot', enable: bootOn(orig), from: boot, restore: true });
    }
  },
  record: (c) => ({
    action: c.restore ? 'restore' : 'set',
    target: 'keepalived at boot',
    from: c.from,
    to: c.enable ? 'enabled' : 'disabled',
  }),
  describe: (c) =>
    `${c.restore ? 'restore' : 'set'} keepalived at boot: ${c.from ?? '(not installed)'} -> ${c.enable ? 'enabled' : 'disabled'}`,
  command: (c, host) => host.init.boot('keepalived', c.enable),
} satisfies CommandResource<KeepalivedBootChange>;
