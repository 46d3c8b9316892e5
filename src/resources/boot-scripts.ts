// Boot-time scripts that program IPVS behind lvsctl's back: a hand-built cluster's rc.local running
// `ipvsadm -A`, an init script or unit that restores saved rules or clears them, Debian's ipvsadm
// service with AUTO=true. They would undo or fight lvsctl's rules at the next boot. Read only when a
// cluster is taken over (import, and up/plan --takeover: $BOOTSCAN): a host taken over while one is
// enabled is refused, unless the operator lets lvsctl disable them (--disable-boot-scripts); what it
// disables is recorded, and `down` enables it again.
import type { HostFacts } from '../facts/parse.js';
import { RefusedError } from '../errors.js';
import { sh } from '../util/quote.js';
import { foundNow } from './state.js';
import { fragment, type CommandResource } from './types.js';

/** How a boot script is switched off and on: its execute bit (rc.local, if-up.d and dispatcher
 * scripts run only when executable), the init system's boot links (an init.d script or a unit), or
 * not at all (a cron @reboot line, an /etc/network/interfaces stanza: a line in a file that holds
 * others, for the operator to remove). */
export type BootSwitch = 'exec' | 'service' | 'manual';

export interface BootScript {
  /** The file (an init.d script, a unit file, rc.local...). */
  path: string;
  /** Whether the host's boot runs it now. */
  enabled: boolean;
  how: BootSwitch;
  /** What it does to the IPVS table, from its text: clear (-C), restore (-R), add (-A/-a). */
  does: ('clear' | 'restore' | 'add')[];
}

/** A boot script lvsctl disabled, recorded in the state file for `down`. */
export interface DisabledBootScript {
  path: string;
  how: Exclude<BootSwitch, 'manual'>;
}

export type BootScriptChange = { kind: 'boot-script'; enable: boolean; script: DisabledBootScript };

// The places a hand-built cluster's boot runs its scripts from, as the seed tutorials put them;
// lvsctl's own files (lvsctl in the name) are left out. One line per script that touches IPVS:
// "enabled|disabled HOW PATH does...".
export const bootScriptsFacts = fragment(
  ['boot_scripts'],
  String.raw`s boot_scripts
[ -z "$BOOTSCAN" ] || {
echo scanned
sysd=; [ -d /run/systemd/system ] && sysd=1
on() { # is this boot file run at boot?
  case $1 in
  /etc/init.d/*) n=$${'{'}1##*/}; if [ -n "$sysd" ] && systemctl is-enabled "$n.service" >/dev/null 2>&1; then return 0; fi
    for l in /etc/rc[2345S].d/S[0-9][0-9]"$n" /etc/rc.d/rc[2345].d/S[0-9][0-9]"$n"; do [ -e "$l" ] && return 0; done; return 1 ;;
  *.service) [ -n "$sysd" ] && systemctl is-enabled "$${'{'}1##*/}" >/dev/null 2>&1 ;;
  /etc/network/interfaces | /etc/cron.d/* | /var/spool/cron/*) return 0 ;;
  *) [ -x "$1" ] ;;
  esac
}
for f in /etc/rc.local /etc/rc.d/rc.local /etc/init.d/* /etc/systemd/system/*.service /lib/systemd/system/ipvsadm.service \
  /usr/lib/systemd/system/ipvsadm.service /etc/network/interfaces /etc/network/if-up.d/* /etc/NetworkManager/dispatcher.d/* \
  /etc/cron.d/* /var/spool/cron/crontabs/* /var/spool/cron/root; do
  [ -f "$f" ] || continue
  case $f in *lvsctl*) continue ;; esac
  case $f in /etc/init.d/* | *.service) how=service ;; /etc/network/interfaces | /etc/cron.d/* | /var/spool/cron/*) how=manual ;; *) how='exec' ;; esac
  # Debian's ipvsadm script acts only with AUTO=true in /etc/default/ipvsadm (it restores the rules)
  if [ "$f" = /etc/init.d/ipvsadm ]; then
    grep -qs '^AUTO="*true' /etc/default/ipvsadm || continue
    if on "$f"; then e=enabled; else e=disabled; fi; printf '%s %s %s restore\n' "$e" "$how" "$f"; continue
  fi
  d=; grep -Eqs 'ipvsadm[^#]*(-C|--clear)' "$f" && d="$d clear"
  grep -Eqs 'ipvsadm[^#]*(-R|--restore)|ipvsadm-restore' "$f" && d="$d restore"
  grep -Eqs 'ipvsadm[^#]*( -A | -a |--add-service|--add-server)' "$f" && d="$d add"
  [ -n "$d" ] || continue
  case $f in /etc/cron.d/* | /var/spool/cron/*) grep -qs '@reboot' "$f" || continue ;; esac
  if on "$f"; then e=enabled; else e=disabled; fi
  printf '%s %s %s%s\n' "$e" "$how" "$f" "$d"
done
}
`,
);

/** The scan's lines; null when the host was not scanned (no takeover asked). */
export function parseBootScripts(lines: string[]): BootScript[] | null {
  if (lines[0] !== 'scanned') return null;
  return lines.slice(1).flatMap((l) => {
    const m = /^(enabled|disabled) (exec|service|manual) (.+?)((?: (?:clear|restore|add))+)$/.exec(l);
    return m
      ? [
          {
            path: m[3]!,
            enabled: m[1] === 'enabled',
            how: m[2] as BootSwitch,
            does: m[4]!.trim().split(' ') as BootScript['does'],
          },
        ]
      : [];
  });
}

const DOES = { clear: 'clears the IPVS table', restore: 'restores saved rules', add: 'adds virtual services' };
/** "PATH (clears the IPVS table, adds virtual services)"; with `state`, "; enabled" inside. */
export const bootScriptWords = (s: BootScript, state = false) =>
  `${s.path} (${s.does.map((d) => DOES[d]).join(', ')}${state ? `; ${s.enabled ? 'enabled' : 'disabled'}` : ''})`;
const said = (s: BootScript) => bootScriptWords(s);

/** The service name of an init.d script or a unit file (the init system's boot() takes it). */
const serviceName = (path: string) => path.replace(/^.*\//, '').replace(/\.service$/, '');

export const bootScripts = {
  parse: (get): Pick<HostFacts, 'bootScripts'> => ({ bootScripts: parseBootScripts(get('boot_scripts')) }),
  plan(ctx) {
    const { facts: f, old, pre, next, adds, deletions, forget, owner } = ctx;
    const recorded = old.originals.bootScripts ?? [];
    if (forget) {
      // last, once lvsctl's own boot unit is gone
      for (const script of recorded) deletions.push({ kind: 'boot-script', enable: true, script });
      delete next.originals.bootScripts;
      return;
    }
    // Only where this run takes over what runs here, and only when the host was scanned (--takeover).
    const enabled = (f.bootScripts ?? []).filter((s) => s.enabled && !recorded.some((r) => r.path === s.path));
    if (!enabled.length || !foundNow(old, next)) return;
    const manual = enabled.filter((s) => s.how === 'manual');
    if (manual.length)
      throw new RefusedError(
        `boot-time ${manual.length === 1 ? 'entry programs' : 'entries program'} IPVS here and would undo lvsctl's rules at the next boot: ${manual.map(said).join('; ')}; lvsctl cannot switch a line off in a file that holds others: remove it by hand`,
      );
    if (!owner?.disableBootScripts)
      throw new RefusedError(
        `boot-time scripts program IPVS here and would undo lvsctl's rules at the next boot: ${enabled.map(said).join('; ')}; disable them, or let lvsctl do it with --disable-boot-scripts (recorded: down enables them again)`,
      );
    const disabled = enabled.map((s) => ({ path: s.path, how: s.how as DisabledBootScript['how'] }));
    for (const script of disabled) adds.push({ kind: 'boot-script', enable: false, script });
    for (const s of [pre, next]) s.originals.bootScripts = [...recorded, ...disabled];
  },
  record: (c) => ({
    action: c.enable ? 'restore' : 'disable',
    target: `boot script ${c.script.path}`,
    from: c.enable ? 'disabled' : 'enabled',
    to: c.enable ? 'enabled' : 'disabled',
  }),
  describe: (c) =>
    c.enable
      ? `boot: enable ${c.script.path} again (lvsctl disabled it at its takeover)`
      : `boot: disable ${c.script.path} (it programs IPVS at boot; down enables it again)`,
  command: (c, host) =>
    c.script.how === 'exec'
      ? sh`chmod ${c.enable ? '+x' : 'a-x'} -- ${c.script.path}`
      : host.init.boot(serviceName(c.script.path), c.enable),
} satisfies CommandResource<BootScriptChange>;
