// Kernel settings as data: one list feeds both the boot-time sysctl.d file and the scripts that
// set (and check) them at runtime, so the two cannot disagree.
export interface SysctlSetting {
  path: string; // under /proc/sys, "/" separated: net/ipv4/conf/eth0.100/arp_ignore
  value: number;
}

/** The sysctl.d key: dotted, unless a component holds a dot (VLAN interfaces), then the "/" form
 * that sysctl.d(5) also accepts. */
export const sysctlKey = (path: string): string =>
  path.split('/').some((p) => p.includes('.')) ? path : path.replaceAll('/', '.');

export const conf = (iface: string, key: string, value: number): SysctlSetting => ({
  path: `net/ipv4/conf/${iface}/${key}`,
  value,
});

/** arp_ignore=1 / arp_announce=2 on all and the interface ARP requests arrive on: the kernel uses
 * the maximum of conf/all and conf/<if>, so both must be set. */
export const arpSettings = (iface: string): SysctlSetting[] =>
  [...new Set(['all', iface])].flatMap((i) => [conf(i, 'arp_ignore', 1), conf(i, 'arp_announce', 2)]);
