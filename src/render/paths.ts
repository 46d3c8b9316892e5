// Every path lvsctl writes on a host, in one place. The engine (issue 5) compares these files'
// checksums with the rendered ones and removes exactly these on `down`. All but keepalived.conf
// carry an lvsctl name; keepalived.conf must live where the distribution's keepalived unit
// reads it (Debian: ConditionFileNotEmpty=/etc/keepalived/keepalived.conf).
export const MANAGED_PATHS = {
  /** start|stop|status for a director: addresses, sysctls, netfilter, IPVS rules, timeouts. */
  directorScript: '/usr/local/sbin/lvsctl-director',
  /** start|stop|status for a real server: VIP on lo/tunl0, ARP and rp_filter sysctls, NAT route. */
  realServerScript: '/usr/local/sbin/lvsctl-realserver',
  /** The ipvsadm-engine services in `ipvsadm -S -n` format, restored with `ipvsadm -R`. */
  ipvsRules: '/etc/lvsctl/ipvs.rules',
  /** iptables-restore --noflush input: lvsctl's chains (mangle: fwmark MARK rules, NAT's guard; nat: MASQUERADE). */
  iptablesRules: '/etc/lvsctl/iptables.rules',
  /** The same for IPv6 fwmark services (ip6tables-restore). */
  ip6tablesRules: '/etc/lvsctl/ip6tables.rules',
  /** Boot-time sysctls (systemd-sysctl runs after systemd-modules-load, so net.ipv4.vs.* and tunl0 keys exist). */
  sysctl: '/etc/sysctl.d/90-lvsctl.conf',
  /** ip_vs, the schedulers in use, ipip for TUN real servers. */
  modules: '/etc/modules-load.d/lvsctl.conf',
  /** systemd oneshot running the host's script at boot. */
  systemdUnit: '/etc/systemd/system/lvsctl.service',
  /** The same for hosts without systemd (LSB header). */
  sysvInit: '/etc/init.d/lvsctl',
  /** keepalived's own config (directors with engine keepalived or a VRRP group). */
  keepalived: '/etc/keepalived/keepalived.conf',
  /** systemd drop-in for the distribution's keepalived.service: KillMode=process, so notify_stop
   * finishes (keepalived#2239); written when an instance has notify_stop or notify. */
  keepalivedDropIn: '/etc/systemd/system/keepalived.service.d/lvsctl.conf',
} as const;
/** The directory of lvsctl's rules files (removed by `down` once empty). */
export const LVSCTL_ETC = '/etc/lvsctl';

export type ManagedPath = (typeof MANAGED_PATHS)[keyof typeof MANAGED_PATHS];

/** Runtime state the scripts keep (what `start` changed, so `stop` undoes only that). tmpfs: gone after reboot. */
export const STATE_DIR = '/run/lvsctl';

/** lvsctl's own record on the host (plan/state.ts): originals, owned objects, stopped, drains. */
export const STATE_FILE = '/var/lib/lvsctl/state.json';

/** The name a script logs with and where it keeps its state (sh-common partial). */
export const scriptIdentity = (self: 'lvsctl-director' | 'lvsctl-realserver') => ({
  self,
  statePath: `${STATE_DIR}/${self}.state`,
  lvsctlState: STATE_FILE,
});

/** The netfilter chains lvsctl owns (render/netfilter.ts); stop flushes and deletes only these. Every
 * chain's name starts with NETFILTER_CHAIN, which is how facts and plan recognise them. */
export const NETFILTER_CHAIN = 'LVSCTL';
export const GUARD_CHAIN = `${NETFILTER_CHAIN}-GUARD`;
export const NO_RESET_CHAIN = `${NETFILTER_CHAIN}-NORESET`;

export interface BootLink {
  path: string;
  target: string;
}

/** Symlinks that enable the boot unit. The engine creates the set that matches the host's init
 * (systemd if /run/systemd/system exists, else SysV) instead of running systemctl/update-rc.d, so a
 * host without either tool (the lab's busybox init runs /etc/rc2.d/S*) boots the same way. */
export const BOOT_LINKS: { systemd: readonly BootLink[]; sysv: readonly BootLink[] } = {
  systemd: [{ path: '/etc/systemd/system/multi-user.target.wants/lvsctl.service', target: MANAGED_PATHS.systemdUnit }],
  sysv: [
    ...[2, 3, 4, 5].map((n) => ({ path: `/etc/rc${n}.d/S01lvsctl`, target: '../init.d/lvsctl' })),
    ...[0, 1, 6].map((n) => ({ path: `/etc/rc${n}.d/K01lvsctl`, target: '../init.d/lvsctl' })),
  ],
};

/** The tunnel module a TUN real server loads, by the family of its VIPs (IPv4 in IPv4, IPv6 in IPv6);
 * the modules facts look for exactly these. */
export const TUNNEL_MODULES = { 4: 'ipip', 6: 'ip6_tunnel' } as const;
