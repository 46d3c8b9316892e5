// Debian and the distributions like it (Ubuntu): apt-get, iptables.
import { sh } from '../util/quote.js';
import { iptables } from './iptables.js';
import type { Family } from './types.js';

export const debian = {
  name: 'debian',
  ids: ['debian', 'ubuntu'],
  packageManagers: [
    {
      name: 'apt-get',
      // policy-rc.d 101 keeps Debian's postinst from starting keepalived with no config; lvsctl
      // starts it once its config is in place. Lists are refreshed only when the install needs it.
      install: (pkgs) =>
        sh`if [ -e /usr/sbin/policy-rc.d ]; then had=1; else had=0; printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; fi
export DEBIAN_FRONTEND=noninteractive
rc=0; apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold ${pkgs} || { apt-get update -q && apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold ${pkgs}; } || rc=$?
[ "$had" = 1 ] || rm -f /usr/sbin/policy-rc.d
exit $rc`,
      purge: (pkgs) => sh`DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ${pkgs}`,
    },
  ],
  firewall: iptables,
} as const satisfies Family;
