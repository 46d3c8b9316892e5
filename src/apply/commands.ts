// Changes become shell commands here, and only here. Every value goes through `sh` (quote.ts).
// Pure: the engine runs what this returns.
import type { HostFacts } from '../facts/parse.js';
import type { CommandChange } from '../plan/types.js';
import { lines, sh, Shell } from '../util/quote.js';

/** /proc/sys path of a dotted key. Interface names may hold dots (eth0.100), so the device is
 * everything between "conf." and the last dot. */
export function sysctlPath(key: string): string {
  const m = /^net\.ipv4\.conf\.(.+)\.([a-z_]+)$/.exec(key);
  if (m) return `/proc/sys/net/ipv4/conf/${m[1]}/${m[2]}`;
  return `/proc/sys/${key.replaceAll('.', '/')}`;
}

function installCommand(manager: 'apt-get' | 'dnf' | 'yum', pkgs: string[]): Shell {
  if (manager === 'apt-get')
    // policy-rc.d 101 keeps Debian's postinst from starting keepalived with no config; lvsctl
    // starts it once its config is in place. Lists are refreshed only when the install needs it.
    return sh`if [ -e /usr/sbin/policy-rc.d ]; then had=1; else had=0; printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; fi
export DEBIAN_FRONTEND=noninteractive
rc=0; apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold ${pkgs} || { apt-get update -q && apt-get install -y -q --no-install-recommends -o Dpkg::Options::=--force-confold ${pkgs}; } || rc=$?
[ "$had" = 1 ] || rm -f /usr/sbin/policy-rc.d
exit $rc`;
  return sh`${manager} install -y ${pkgs}`;
}

function purgeCommand(manager: 'apt-get' | 'dnf' | 'yum', pkgs: string[]): Shell {
  if (manager === 'apt-get') return sh`DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ${pkgs}`;
  return sh`${manager} remove -y ${pkgs}`;
}

/** The command for one change (files, the state file and IPVS are the engine's: EngineChange). */
export function commandFor(c: CommandChange, facts: Pick<HostFacts, 'init' | 'os'>): Shell {
  switch (c.kind) {
    case 'packages':
      return c.action === 'install' ? installCommand(c.manager, c.packages) : purgeCommand(c.manager, c.packages);
    case 'module':
      return sh`modprobe ${c.name}`;
    case 'sysctl':
      return sh`printf '%s\n' ${c.to} > ${sysctlPath(c.key)}`;
    case 'link':
      return sh`ip link set dev ${c.dev} ${c.up ? 'up' : 'down'}`;
    case 'address': {
      const cidr = `${c.addr.address}/${c.addr.prefix}`;
      if (c.action === 'del') return sh`ip addr del ${cidr} dev ${c.addr.dev}`;
      return c.addr.label
        ? sh`ip addr add ${cidr} dev ${c.addr.dev} label ${c.addr.label}`
        : sh`ip addr add ${cidr} dev ${c.addr.dev}`;
    }
    case 'route':
      if (c.action === 'set') return sh`ip route replace default via ${c.via}`;
      return c.to ? sh`ip route replace ${c.to.trim().split(/\s+/)}` : sh`ip route del default`;
    case 'keepalived':
      return keepalivedCommand(facts.init, c.action);
    case 'keepalived-boot': {
      const verb = c.enable ? 'enable' : 'disable';
      if (facts.init === 'systemd') return sh`systemctl ${verb} keepalived.service`;
      // SysV: Debian's update-rc.d (S links become K links and back), else chkconfig
      return sh`if command -v update-rc.d >/dev/null 2>&1; then update-rc.d keepalived ${verb}; else chkconfig keepalived ${c.enable ? 'on' : 'off'}; fi`;
    }
    case 'bootlink':
      // Links rather than systemctl/update-rc.d: the same on every init, and `down` removes them.
      return c.action === 'create'
        ? sh`mkdir -p ${c.path.replace(/\/[^/]+$/, '')} && ln -sfn ${c.target} ${c.path}`
        : sh`rm -f ${c.path}`;
    case 'netfilter': {
      const jumps = c.chains.map(({ table, hook, chain }) =>
        c.action === 'apply'
          ? sh`${c.cmd} -t ${table} -C ${hook} -j ${chain} 2>/dev/null || ${c.cmd} -t ${table} -I ${hook} -j ${chain}`
          : sh`while ${c.cmd} -t ${table} -D ${hook} -j ${chain} 2>/dev/null; do :; done; ${c.cmd} -t ${table} -F ${chain} 2>/dev/null; ${c.cmd} -t ${table} -X ${chain} 2>/dev/null; :`,
      );
      // Applying must fail as a whole when any part fails; removing goes as far as it can.
      const parts = c.action === 'apply' ? [sh`${`${c.cmd}-restore`} --noflush < ${c.file}`, ...jumps] : jumps;
      return new Shell(parts.map((p) => `{ ${p.text}; }`).join(c.action === 'apply' ? ' && ' : '; '));
    }
    case 'timeouts':
      return sh`ipvsadm --set ${c.to}`;
  }
}

/** Several commands as one script: each step announces itself, the first failure stops the rest
 * and the engine reports the step that failed. */
export function batch(steps: { label: string; cmd: Shell }[]): Shell {
  return lines([
    sh`set -u`,
    ...steps.map(
      (s, i) =>
        sh`printf '@@step %s\n' ${String(i)}; ( ${s.cmd} ) || { rc=$?; printf '@@failed %s %s\n' ${String(i)} "$rc"; exit "$rc"; }`,
    ),
    sh`printf '@@done\n'`,
  ]);
}

/** keepalived through the distribution's service (Debian's unit reloads with SIGHUP; its init script
 * too). A stop is done when keepalived has exited (it releases the VIPs and its virtual services on
 * the way out); an init script may return before that, and a start right after it would find the
 * old process and do nothing (measured in the lab: the old MASTER never came back). */
export function keepalivedCommand(init: string, action: 'start' | 'reload' | 'stop'): Shell {
  const svc = init === 'systemd' ? sh`systemctl ${action} keepalived.service` : sh`/etc/init.d/keepalived ${action}`;
  if (action !== 'stop') return svc;
  return lines([
    svc,
    sh`i=0; while pidof keepalived >/dev/null; do i=$((i + 1)); [ "$i" -le 100 ] || { echo 'keepalived did not exit within 20 s' >&2; exit 1; }; sleep 0.2; done`,
  ]);
}
