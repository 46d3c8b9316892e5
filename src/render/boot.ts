// What brings a host's setup back at boot: the sysctl.d and modules-load.d files, the systemd
// unit and the SysV init script (both run the host's script; the engine enables the one that
// matches the host's init, see BOOT_LINKS). On RHEL-family hosts lvsctl does not use the
// distribution's ipvsadm.service: its ExecStop saves the live table over the rules file.
import { renderTemplate } from './engine.js';
import { MANAGED_PATHS } from './paths.js';
import { sysctlKey, type SysctlSetting } from './sysctl.js';
import type { BaseContext, HostFile } from './types.js';

export function bootFiles(
  base: BaseContext,
  role: 'director' | 'realserver',
  sysctls: SysctlSetting[],
  modules: string[],
): HostFile[] {
  const script = role === 'director' ? MANAGED_PATHS.directorScript : MANAGED_PATHS.realServerScript;
  const ctx = { ...base, director: role === 'director', script };
  const out: HostFile[] = [
    { path: MANAGED_PATHS.systemdUnit, mode: 0o644, kind: 'unit', content: renderTemplate('lvsctl.service', ctx) },
    { path: MANAGED_PATHS.sysvInit, mode: 0o755, kind: 'initscript', content: renderTemplate('lvsctl.init', ctx) },
  ];
  if (sysctls.length)
    out.push({
      path: MANAGED_PATHS.sysctl,
      mode: 0o644,
      kind: 'sysctl',
      content: renderTemplate('sysctl.conf', {
        ...base,
        sysctls: sysctls.map((s) => ({ key: sysctlKey(s.path), value: s.value })),
      }),
    });
  if (modules.length)
    out.push({
      path: MANAGED_PATHS.modules,
      mode: 0o644,
      kind: 'modules',
      content: renderTemplate('modules-load.conf', { ...base, modules }),
    });
  return out;
}
