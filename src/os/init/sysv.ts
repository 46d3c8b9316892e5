// SysV init: a service is its script in /etc/init.d.
import { sh } from '../../util/quote.js';
import type { InitSystem } from '../types.js';

export const sysv = {
  name: 'sysv',
  service: (name, action) => sh`${`/etc/init.d/${name}`} ${action}`,
  // At boot: Debian's update-rc.d (S links become K links and back), else chkconfig, else the same
  // renaming by hand (a busybox init that runs /etc/rcN.d/S*).
  boot: (name, enable) => {
    const [from, to] = enable ? ['K', 'S'] : ['S', 'K'];
    return sh`if command -v update-rc.d >/dev/null 2>&1; then update-rc.d ${name} ${enable ? 'enable' : 'disable'}; elif command -v chkconfig >/dev/null 2>&1; then chkconfig ${name} ${enable ? 'on' : 'off'}; else n=${name}; for l in /etc/rc[2345].d/${from}[0-9][0-9]"$n"; do [ -e "$l" ] || continue; mv -f "$l" "$(dirname "$l")/${to}$(basename "$l" | cut -c2-)"; done; fi`;
  },
} as const satisfies InitSystem;
