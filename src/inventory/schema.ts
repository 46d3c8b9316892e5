// The inventory's shape. Structure and single-field rules live here; rules that relate fields to
// each other (a VIP that is also a RIP, DR port mapping, VRRP priorities…) are in rules.ts and run
// on the typed result. Every object is strict: an unknown key is a mistake, not something ignored.
import * as z from 'zod';
z.config({ jitless: true });
import { parseHostPort } from '../identity/service.js';
import { RawFragment } from './raw-fragment.js';
import {
  EnvName,
  Fwmark,
  HttpPath,
  InterfaceName,
  IpAddress,
  Ipv4,
  Ipv6,
  LocalPath,
  Mode,
  Name,
  Port,
  SchedulerFlags,
  Schedulers,
  ScriptCommand,
  ScriptPath,
  ScriptArg,
  Seconds,
  shown,
  SshHost,
  Threshold,
  TrackWeight,
  UserName,
  Weight,
} from './types.js';

const JumpHost = z.strictObject({
  host: SshHost,
  port: Port.optional(),
  user: UserName.optional(),
  identity_file: LocalPath.optional(),
});

/** How to reach a host. Every key is optional here: vars, groups and the host itself are merged. */
export const SshSettings = z.strictObject({
  host: SshHost.optional(), // defaults to the host's address
  port: Port.optional(),
  user: UserName.optional(),
  identity_file: LocalPath.optional(),
  agent: z.boolean().optional(), // use the agent at $SSH_AUTH_SOCK
  password_env: EnvName.optional(), // SSH password, read from this environment variable
  passphrase_env: EnvName.optional(), // key passphrase, read from this environment variable
  known_hosts: z.union([LocalPath, z.array(LocalPath).min(1)]).optional(),
  jump: JumpHost.optional(),
  config: LocalPath.optional(), // this ssh_config file instead of ~/.ssh/config and /etc/ssh/ssh_config (ssh -F)
  connect_timeout: Seconds(600).optional(),
  command_timeout: Seconds(86400).optional(),
});
export type SshSettings = z.infer<typeof SshSettings>;

export const Become = z.union([
  z.boolean(),
  z.strictObject({ method: z.literal('sudo').default('sudo'), password_env: EnvName.optional() }),
]);

/** Settings that can be given once for all hosts (vars), per group, or per host. */
export const HostVars = z.strictObject({
  ssh: SshSettings.optional(),
  become: Become.optional(),
  interface: InterfaceName.optional(), // the data-plane interface (real servers: where ARP arrives)
});
export type HostVars = z.infer<typeof HostVars>;

export const Host = HostVars.extend({
  address: IpAddress, // data-plane address: the RIP of a real server
  address6: Ipv6.optional(), // for IPv6 services on a host whose address is IPv4
  gateway: IpAddress.optional(), // the host's default gateway, when lvsctl must know it
});
export type Host = z.infer<typeof Host>;

export const Group = z.strictObject({
  hosts: z.array(Name).default([]),
  vars: HostVars.optional(),
});

const CheckTiming = {
  connect_timeout: Seconds(3600).optional(),
  retry: z.int().min(0).max(100).optional(),
  delay_before_retry: Seconds(3600).optional(),
  delay_loop: Seconds(3600).optional(), // how often the check runs
};

// A MISC_CHECK has no connection (keepalived takes no connect_timeout or connect_port in it): its
// own misc_timeout bounds the script. "{address}" and "{port}" in args become the real server's.
const { connect_timeout: _connectTimeout, ...ScriptTiming } = CheckTiming;
export const MISC_ARG_PLACEHOLDERS = ['{address}', '{port}'] as const;
const MiscCheck = z.strictObject({
  type: z.literal('misc'),
  misc_path: ScriptPath,
  args: z
    .array(
      z
        .string({ error: 'expected an argument (a string)' })
        .min(1, 'an argument may not be empty')
        .refine((s) => !s.includes('\0'), 'an argument may not contain NUL'),
    )
    .max(64, 'at most 64 arguments')
    .optional(),
  misc_timeout: Seconds(3600).optional(),
  // exit 0 up, 1 down, 2-255 up with weight exit-2. No per-check `user`: keepalived 2.2.7's config
  // test kills itself (exit 143) on a MISC_CHECK user other than root; global_defs' script_user runs it.
  misc_dynamic: z.boolean().optional(),
  ...ScriptTiming,
});
// DNS_CHECK queries over UDP (keepalived 2.2 check_dns.c), for UDP/53 services (rules.ts).
export const DNS_TYPES = ['A', 'NS', 'CNAME', 'SOA', 'MX', 'TXT', 'AAAA'] as const;
const DnsCheck = z.strictObject({
  type: z.literal('dns'),
  query_type: z
    .enum(DNS_TYPES, { error: (i) => `expected a DNS query type (${DNS_TYPES.join(' ')}), got ${shown(i.input)}` })
    .optional(), // keepalived's default: SOA
  name: z
    .string()
    .max(253)
    .regex(
      /^(\.|([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)$/,
      {
        error: (i) => `expected a DNS name such as www.example.org or "." (no empty label), got ${shown(i.input)}`,
      },
    )
    .optional(), // keepalived's default: "."
  port: Port.optional(),
  ...CheckTiming,
});

export const HealthCheck = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('tcp'), port: Port.optional(), ...CheckTiming }),
    z.strictObject({
      type: z.enum(['http', 'https']),
      path: HttpPath.default('/'),
      status: z.int().min(100).max(599).default(200),
      virtualhost: SshHost.optional(),
      port: Port.optional(),
      ...CheckTiming,
    }),
    z.strictObject({ type: z.literal('udp'), port: Port.optional(), ...CheckTiming }),
    MiscCheck,
    DnsCheck,
  ],
  {
    error: (i) =>
      `expected a health check type tcp, http, https, udp, misc or dns, got ${shown((i.input as { type?: unknown })?.type)}`,
  },
);
export type HealthCheck = z.infer<typeof HealthCheck>;

/** A real server of one service: a host of the inventory, or every host of a group. */
export const RealServer = z
  .strictObject({
    host: Name.optional(),
    group: Name.optional(),
    port: Port.optional(), // defaults to the service port; only NAT may differ
    weight: Weight.default(1),
    upper_threshold: Threshold.optional(), // ipvsadm -x: IPVS counts active and inactive (TIME_WAIT...) connections against it
    lower_threshold: Threshold.optional(), // ipvsadm -y
    health_check: z.union([HealthCheck, z.literal(false)]).optional(),
  })
  .refine((r) => (r.host === undefined) !== (r.group === undefined), 'give exactly one of host or group');
export type RealServer = z.infer<typeof RealServer>;

const Persistence = z.strictObject({
  timeout: Seconds(2678400), // ipvsadm -p
  netmask: z.union([Ipv4, z.int().min(1).max(128)]).optional(), // -M: IPv4 mask or IPv6 prefix length
});

/** An HTTP status verify accepts: a code, or a class such as "2xx". */
const HttpStatus = z.union([
  z
    .int({ error: 'expected an HTTP status code' })
    .min(100, 'an HTTP status is at least 100')
    .max(599, 'an HTTP status is at most 599'),
  z.enum(['1xx', '2xx', '3xx', '4xx', '5xx'], { error: 'expected an HTTP status code or a class such as "2xx"' }),
]);

/** HTTPS probes: SNI and how the certificate is checked (default: the client's system CAs). */
const VerifyTls = z.strictObject({
  virtualhost: SshHost.optional(), // the name sent as SNI and Host, resolved to the VIP
  ca_file: LocalPath.optional(), // a CA bundle on this machine, sent to the client for the run
  insecure: z.literal(true, { error: 'insecure takes only true (leave it out to check the certificate)' }).optional(),
});

/** Where probes from the machine running lvsctl reach a service instead of its VIP (a port forward,
 * a NAT in front of the VIP): "address:port", an IPv6 address in brackets. */
const ConnectTo = z.string().transform((text, ctx) => {
  const hp = parseHostPort(text);
  if (hp && hp.port > 0) return { address: hp.address, port: hp.port };
  ctx.addIssue({ code: 'custom', message: 'expected address:port, an IPv6 address in brackets: [2001:db8::1]:8080' });
  return z.NEVER;
});

export const ServiceVerify = z.strictObject({
  skip: z.boolean().optional(),
  connect_to: ConnectTo.optional(),
  probe: z.enum(['http', 'https', 'tcp', 'udp']).optional(),
  tls: VerifyTls.optional(),
  requests: z.int().min(1).max(100000).optional(),
  // The HTTP statuses that count as an answer (default: 2xx and 3xx).
  status: z.array(HttpStatus).min(1, 'name at least one status').optional(),
  // verify runs curl, which expands [a-z] and {a,b} in a URL (globbing): /x[1-99999999] would be
  // a hundred million requests. Percent-encoded brackets and braces (%5B %5D %7B %7D) are fine.
  path: HttpPath.refine(
    (s) => !/[[\]{}]/.test(s),
    'a verify path may not contain [ ] { } (curl would expand them as a URL glob); percent-encode them: %5B %5D %7B %7D',
  ).optional(),
});

export const Service = z
  .strictObject({
    name: Name.optional(),
    protocol: z.enum(['tcp', 'udp']).default('tcp'),
    port: Port.optional(),
    fwmark: Fwmark.optional(),
    ports: z.array(Port).min(1).optional(), // with fwmark: the ports the mangle rule marks
    scheduler: z
      .enum(Schedulers, { error: (i) => `expected a scheduler (${Schedulers.join(' ')}), got ${shown(i.input)}` })
      .default('wlc'),
    scheduler_flags: z.array(z.enum(SchedulerFlags)).optional(),
    persistence: Persistence.optional(),
    engine: z.enum(['ipvsadm', 'keepalived']).optional(), // who owns it; default: directors.engine
    ops: z.boolean().optional(), // one-packet scheduling (UDP; DR and TUN only, rules.ts)
    health_check: HealthCheck.optional(), // default for every real server of the service
    sorry_server: z.strictObject({ address: IpAddress, port: Port.optional() }).optional(),
    inhibit_on_failure: z.boolean().optional(),
    real_servers: z.array(RealServer).min(1, 'a service needs at least one real server'),
    verify: ServiceVerify.optional(),
    keepalived_raw: RawFragment.optional(), // verbatim in its virtual_server block (keepalived-owned only)
  })
  .refine((s) => (s.port === undefined) !== (s.fwmark === undefined), 'give exactly one of port or fwmark')
  .refine((s) => s.fwmark === undefined || s.ports !== undefined, {
    message: 'a fwmark service needs ports: the ports the mangle rule marks',
    path: ['ports'],
  })
  .refine((s) => s.fwmark !== undefined || s.ports === undefined, {
    message: 'ports only goes with fwmark (use port for one port)',
    path: ['ports'],
  });
export type Service = z.infer<typeof Service>;

export const Vip = z.strictObject({
  address: IpAddress,
  prefix: z.int().min(1).max(128).optional(), // on the director's interface; default /32 or /128
  interface: InterfaceName, // director interface that answers ARP for it
  vrrp_instance: Name.optional(), // which VRRP instance carries it (default: the first)
  services: z.array(Service).min(1, 'a VIP needs at least one service'),
});
export type Vip = z.infer<typeof Vip>;

export const MAX_DIRECTORS = 8;

const DirectorMember = z.union([
  Name,
  z.strictObject({
    host: Name,
    state: z.enum(['MASTER', 'BACKUP']).optional(),
    priority: z.int().min(1).max(254).optional(), // 255 is reserved for the address owner
  }),
]);

// VRRP scripts (keepalived's names): the operator's scripts on the directors, checked there by the
// facts before apply (facts/scripts.ts); cross-field rules in inventory/script-rules.ts.
const NotifyScripts = {
  notify_master: ScriptCommand.optional(),
  notify_backup: ScriptCommand.optional(),
  notify_fault: ScriptCommand.optional(),
  notify_stop: ScriptCommand.optional(),
  notify: ScriptCommand.optional(), // every transition: keepalived appends the instance, state, priority
};

const VrrpScript = z.strictObject({
  path: ScriptPath,
  args: z.array(ScriptArg).max(32, 'at most 32 arguments').default([]),
  interval: Seconds(3600).optional(), // keepalived's default: 1
  timeout: Seconds(3600).optional(),
  weight: TrackWeight.optional(), // keepalived's default 0: the instance goes FAULT while the script fails
  fall: z.int().min(1).max(255).optional(),
  rise: z.int().min(1).max(255).optional(),
  user: UserName.optional(), // default: directors.vrrp.script_user
});

const VrrpInstance = z.strictObject({
  name: Name,
  interface: InterfaceName,
  virtual_router_id: z.int().min(1).max(255),
  advert_int: Seconds(255).optional(),
  // Active-active: this instance's MASTER and each director's priority in it (model.ts instanceMembers).
  master: Name.optional(),
  priorities: z.record(Name, z.int().min(1).max(254)).optional(),
  ...NotifyScripts,
  track_script: z.array(Name).min(1).optional(), // names of directors.vrrp.scripts
  track_interface: z
    .array(z.strictObject({ interface: InterfaceName, weight: TrackWeight.optional() }))
    .min(1)
    .optional(),
  raw: RawFragment.optional(), // verbatim in its vrrp_instance block
});
export type VrrpInstance = z.infer<typeof VrrpInstance>;

export const Vrrp = z.strictObject({
  instances: z.array(VrrpInstance).min(1).max(255, 'at most 255 VRRP instances'),
  advert_int: Seconds(255).default(1),
  nopreempt: z.boolean().default(false),
  unicast: z.boolean().default(false), // unicast_peer = every other director's address
  scripts: z.record(Name, VrrpScript).optional(), // vrrp_script blocks, by name
  script_user: UserName.default('root'), // global_defs script_user: must exist on every director
  auth: z
    .strictObject({
      type: z.enum(['PASS', 'AH']).default('PASS'),
      password_env: EnvName.optional(),
      password_file: LocalPath.optional(),
    })
    .refine(
      (a) => (a.password_env === undefined) !== (a.password_file === undefined),
      'give exactly one of password_env or password_file',
    )
    .optional(),
});
export type Vrrp = z.infer<typeof Vrrp>;

export const Directors = z.strictObject({
  // keepalived has no limit; eight keeps elections (and verify --failover's cascade) short.
  hosts: z
    .array(DirectorMember)
    .min(1, 'at least one director')
    .max(MAX_DIRECTORS, `at most ${MAX_DIRECTORS} directors (one, or a keepalived group)`),
  engine: z.enum(['ipvsadm', 'keepalived']).default('ipvsadm'),
  vrrp: Vrrp.optional(),
  dip: z
    .strictObject({
      address: Ipv4,
      prefix: z.int().min(1).max(32),
      interface: InterfaceName,
      vrrp_instance: Name.optional(),
    })
    .optional(),
  masquerade: z.boolean().default(false), // NAT: MASQUERADE the real servers' own outbound traffic
  sync_daemon: z
    .strictObject({
      interface: InterfaceName,
      id: z.int().min(0).max(255).default(0),
      vrrp_instance: Name.optional(), // the instance it follows (default: the first)
    })
    .optional(),
});
export type Directors = z.infer<typeof Directors>;

export const IpvsSettings = z.strictObject({
  timeouts: z.strictObject({ tcp: Seconds(2678400), tcpfin: Seconds(2678400), udp: Seconds(2678400) }).optional(),
  sysctl: z
    .strictObject({
      expire_nodest_conn: z.union([z.literal(0), z.literal(1)]).optional(),
      expire_quiescent_template: z.union([z.literal(0), z.literal(1)]).optional(),
      conntrack: z.union([z.literal(0), z.literal(1)]).optional(),
      conn_reuse_mode: z.int().min(0).max(2).optional(),
    })
    .optional(),
});

export const Verify = z.strictObject({
  from: z.array(Name).min(1, 'name at least one client host'),
  sources: z.array(IpAddress).max(256, 'at most 256 client sources').optional(), // for affinity checks
  requests: z.int().min(1).max(100000).default(60),
  tolerance: z.number().min(0).max(1).default(0.2), // allowed deviation from the weight share
  // verify --failover with the sync daemon: one long download through the VIP across the takeover,
  // which must complete byte-exact (the connection survived on the other director).
  failover: z
    .strictObject({
      download: HttpPath, // a large file on the real servers
      rate_kib: z.int().min(16).max(1048576).default(2048), // --limit-rate, so the download spans the takeover
    })
    .optional(),
  // Optional: the answers name their server (the body's last line or a header); it must agree with
  // the directors' connection table, and names the server where the table cannot.
  identify: z
    .discriminatedUnion('by', [
      z.strictObject({ by: z.literal('body') }),
      z.strictObject({ by: z.literal('header'), name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/) }),
    ])
    .optional(),
});

/** Ansible inventories the hosts and groups may come from (inventory/ansible-hosts.ts). */
export const AnsibleSource = z.strictObject({
  inventory: z.union([LocalPath, z.array(LocalPath).min(1).max(16)]),
});

export const Inventory = z.strictObject({
  cluster: Name,
  mode: Mode,
  ansible: AnsibleSource.optional(),
  vars: HostVars.optional(),
  groups: z.record(Name, Group).optional(),
  hosts: z.record(Name, Host),
  directors: Directors,
  vips: z.array(Vip).min(1, 'at least one VIP'),
  ipvs: IpvsSettings.optional(),
  verify: Verify.optional(),
});
export type InventoryDoc = z.infer<typeof Inventory>;
