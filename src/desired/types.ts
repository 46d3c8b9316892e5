// What one host should look like, independent of what it looks like now. Derived from the
// inventory only (pure); the planner compares it with facts gathered from the host.

export interface DesiredAddress {
  address: string; // without prefix
  prefix: number;
  dev: string;
  label?: string; // e.g. lo:0
}

export interface DesiredRoute {
  /** Only the default route is managed (NAT real servers: via the DIP). */
  kind: 'default';
  via: string;
}

export interface DesiredHost {
  name: string;
  roles: ReadonlyArray<'director' | 'real_server' | 'client'>;
  packages: string[]; // names as the distribution calls them (Debian and RHEL agree for these)
  modules: string[]; // loaded now and at boot
  sysctl: Record<string, string>; // key -> value, set live and in /etc/sysctl.d
  addresses: DesiredAddress[]; // static addresses lvsctl owns (VRRP-managed ones are keepalived's)
  links: string[]; // links that must be up (tunl0)
  route?: DesiredRoute;
  /** keepalived runs on this host (it owns its virtual services and VRRP addresses). */
  keepalived: boolean;
  /** Whether the distribution's keepalived service should start at boot: true where keepalived
   * runs, false on a stopped keepalived director (a reboot must not take the VIP back); absent
   * where lvsctl has no say (no keepalived role, or `down`: what was there before comes back). */
  keepalivedBoot?: boolean;
}
