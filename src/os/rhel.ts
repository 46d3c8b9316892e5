// Red Hat Enterprise Linux and the distributions like it (Fedora, CentOS, Rocky...): dnf, or yum
// where dnf is absent; iptables.
import { sh } from '../util/quote.js';
import { iptables } from './iptables.js';
import type { Family, PackageManager } from './types.js';

const yumLike = <N extends 'dnf' | 'yum'>(name: N): PackageManager<N> => ({
  name,
  install: (pkgs) => sh`${name} install -y ${pkgs}`,
  purge: (pkgs) => sh`${name} remove -y ${pkgs}`,
  installed: RPM,
});

// dnf and yum share the rpm database.
const RPM = [
  {
    when: 'command -v rpm >/dev/null 2>&1',
    list: String.raw`rpm -q --qf '%{NAME}\n' "$@" 2>/dev/null | grep -v 'not installed'`,
  },
];

export const rhel = {
  name: 'rhel',
  ids: ['rhel', 'fedora', 'centos'],
  packageManagers: [yumLike('dnf'), yumLike('yum')],
  firewall: iptables,
} as const satisfies Family;
