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
      // The status file's paragraphs of these packages (grep: a fifth of dpkg-query's time on a host
      // with many packages), unless dpkg has pending updates to merge; the parser reads Status.
      installed: [
        {
          when: '{ u=; for f in /var/lib/dpkg/updates/[0-9]*; do [ -e "$f" ] && u=1; break; done; [ -r /var/lib/dpkg/status ] && [ -z "$u" ]; }',
          list: String.raw`for p in "$@"; do set -- "$@" -e "Package: $p"; shift; done
  grep -x -F -A3 "$@" /var/lib/dpkg/status || :`,
        },
        {
          when: 'command -v dpkg-query >/dev/null 2>&1',
          list: String.raw`dpkg-query -W -f='${'${'}db:Status-Abbrev} ${'${'}Package}\n' "$@" 2>/dev/null | while read -r st p; do case $st in ii*) echo "$p" ;; esac; done`,
        },
      ],
    },
  ],
  firewall: iptables,
} as const satisfies Family;
