// SysV init: a service is its script in /etc/init.d.
import { sh } from '../../util/quote.js';
import type { InitSystem } from '../types.js';

export const sysv = {
  name: 'sysv',
  service: (name, action) => sh`${`/etc/init.d/${name}`} ${action}`,
  // At boot: Debian's update-rc.d (S links become K links and back), else chkconfig.
  boot: (name, enable) =>
    sh`if command -v update-rc.d >/dev/null 2>&1; then update-rc.d ${name} ${enable ? 'enable' : 'disable'}; else chkconfig ${name} ${enable ? 'on' : 'off'}; fi`,
} as const satisfies InitSystem;
