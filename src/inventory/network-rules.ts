// Rules about the network an inventory describes, beyond the shape of its fields: what each
// address may be for its role, which address belongs to whom (one owner each), which packets each
// service receives (a firewall mark can capture another service's traffic), and what each
// forwarding mode can carry. Each problem names the field to blame.
import { familyOf, inSubnet4, maskToPrefix, sameAddress } from '../identity/address.js';
import { specialUse, subnetEdge } from '../identity/special.js';
import type { FieldPath } from './locate.js';
import { serviceDoc, type Cluster } from './model.js';
import type { RuleProblem } from './rules.js';
import type { InventoryDoc } from './schema.js';

/** Interface names lvsctl never configures: the kernel refuses "all" and "default" as device names
 * (they are net.ipv4.conf's own entries: a sysctl there changes every interface), and
 * bonding_masters is a file in /sys/class/net. */
export const RESERVED_INTERFACES: ReadonlySet<string> = new Set(['all', 'default', 'bonding_masters']);

/** The fallback devices the kernel creates when a tunnel module loads; in TUN mode lvsctl itself
 * puts the VIP on tunl0/ip6tnl0. None is a network an inventory can mean. */
const FALLBACK_TUNNELS: ReadonlySet<string> = new Set([
  'tunl0',
  'ip6tnl0',
  'sit0',
  'gre0',
  'gretap0',
  'erspan0',
  'ip6gre0',
  'ip6gretap0',
  'ip6erspan0',
  'ip_vti0',
  'ip6_vti0',
]);

export function checkNetwork(doc: InventoryDoc, cluster: Cluster): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: FieldPath, message: string) => out.push({ path, message });
  const d = doc.directors;

  // 1. Every address a role needs is ordinary unicast.
  const unicast = (addr: string | undefined, path: FieldPath, role: string) => {
    if (addr === undefined) return;
    const what = specialUse(addr);
    if (what) add(path, `${addr} is ${what}; it cannot be ${role}`);
  };
  for (const [name, h] of Object.entries(doc.hosts)) {
    unicast(h.address, ['hosts', name, 'address'], "a host's address");
    unicast(h.address6, ['hosts', name, 'address6'], "a host's address");
    unicast(h.gateway, ['hosts', name, 'gateway'], 'a gateway');
    if (h.address6 !== undefined && familyOf(h.address) === 6)
      add(['hosts', name, 'address6'], 'address6 is for a host whose address is IPv4; this one is IPv6 already');
    if (h.gateway !== undefined && (h.gateway === h.address || h.gateway === h.address6))
      add(['hosts', name, 'gateway'], `the gateway ${h.gateway} is the host's own address`);
  }
  doc.vips.forEach((v, i) => {
    unicast(v.address, ['vips', i, 'address'], 'a VIP');
    const edge = v.prefix === undefined ? undefined : subnetEdge(v.address, v.prefix);
    if (edge) add(['vips', i, 'address'], `${v.address} is ${edge} of ${v.address}/${v.prefix}; it cannot be a VIP`);
    v.services.forEach((s, j) => {
      if (s.sorry_server)
        unicast(s.sorry_server.address, ['vips', i, 'services', j, 'sorry_server', 'address'], 'a sorry server');
    });
  });
  // NAT: a VIP whose prefix takes in the real servers' network gives the director a second route
  // to them, through the VIP's interface.
  if (doc.mode === 'nat' && d.dip)
    doc.vips.forEach((v, i) => {
      if (v.prefix === undefined || familyOf(v.address) !== 4) return;
      const inside = [
        d.dip!.address,
        ...[...cluster.hosts.values()].filter((h) => h.roles.has('real_server')).map((h) => h.address),
      ];
      const hit = inside.find((a) => familyOf(a) === 4 && inSubnet4(a, v.address, v.prefix!));
      if (hit)
        add(
          ['vips', i, 'prefix'],
          `${v.address}/${v.prefix} takes in ${hit === d.dip!.address ? 'the DIP' : 'real server'} ${hit}: the director would route to the real servers through ${v.interface} as well as the DIP's interface; use a prefix of the VIP's own network`,
        );
    });
  if (d.dip) {
    unicast(d.dip.address, ['directors', 'dip', 'address'], 'the DIP');
    const edge = subnetEdge(d.dip.address, d.dip.prefix);
    if (edge)
      add(
        ['directors', 'dip', 'address'],
        `${d.dip.address} is ${edge} of ${d.dip.address}/${d.dip.prefix}; it cannot be the DIP`,
      );
    if (d.dip.prefix === 32)
      add(
        ['directors', 'dip', 'prefix'],
        'a /32 DIP has no subnet for the real servers; give the prefix of their network',
      );
  }
  doc.verify?.sources?.forEach((a, i) => unicast(a, ['verify', 'sources', i], 'a client source address'));

  // 2. One owner per address: hosts, VIPs, the DIP.
  const owner = new Map<string, { who: string; path: FieldPath }>();
  const claim = (addr: string | undefined, who: string, path: FieldPath) => {
    if (addr === undefined) return;
    const first = owner.get(addr);
    if (first) add(path, `${addr} is also ${first.who}; each address belongs to one host or role`);
    else owner.set(addr, { who, path });
  };
  for (const [name, h] of Object.entries(doc.hosts)) {
    claim(h.address, `the address of host ${name}`, ['hosts', name, 'address']);
    claim(h.address6, `the address of host ${name}`, ['hosts', name, 'address6']);
  }
  if (d.dip) {
    const o = owner.get(d.dip.address);
    if (o)
      add(
        ['directors', 'dip', 'address'],
        `the DIP ${d.dip.address} is also ${o.who}; lvsctl adds the DIP to the directors and removes it on down, so it must be an address of its own`,
      );
  }
  const vips = new Set<string>();
  doc.vips.forEach((v, i) => {
    const o = d.dip?.address === v.address ? 'the DIP' : owner.get(v.address)?.who;
    if (o)
      add(
        ['vips', i, 'address'],
        `VIP ${v.address} is also ${o}; a VIP must differ from every RIP, DIP and host address`,
      );
    if (vips.has(v.address))
      add(['vips', i, 'address'], `VIP ${v.address} is listed twice; put all its services under one entry`);
    vips.add(v.address);
  });
  for (const [name, h] of Object.entries(doc.hosts))
    if (h.gateway !== undefined && vips.has(h.gateway))
      add(
        ['hosts', name, 'gateway'],
        `the gateway ${h.gateway} is a VIP; a host's gateway is a router (in NAT, the DIP)`,
      );
  const directorAddrs = new Map<string, string>();
  for (const m of cluster.directors.members) {
    const h = cluster.hosts.get(m.host);
    if (h) for (const a of [h.address, h.address6]) if (a) directorAddrs.set(a, m.host);
  }
  const clientAddrs = new Set<string>();
  for (const h of cluster.hosts.values())
    if (h.roles.has('client')) for (const a of [h.address, h.address6]) if (a) clientAddrs.add(a);
  const seenSources = new Set<string>();
  doc.verify?.sources?.forEach((a, i) => {
    if (seenSources.has(a)) add(['verify', 'sources', i], `source ${a} is listed twice`);
    seenSources.add(a);
    const o = owner.get(a);
    if (vips.has(a)) add(['verify', 'sources', i], `source ${a} is a VIP; a client source must be the client's own`);
    else if (d.dip?.address === a) add(['verify', 'sources', i], `source ${a} is the DIP`);
    else if (o && !clientAddrs.has(a))
      add(['verify', 'sources', i], `source ${a} is ${o.who}, which is not a verify client`);
  });

  // 3. Services: sorry servers, ports and marks.
  const captured = new Map<string, { by: string; path: FieldPath }>(); // "tcp VIP port" -> who receives it
  cluster.services.forEach((s) => {
    const sp = serviceDoc(doc, s);
    const at = (...rest: (string | number)[]): FieldPath => [...s.path, ...rest];
    // A fwmark's mangle rule matches VIP, protocol and port: two services must not claim one packet.
    const ports = s.fwmark !== undefined ? (s.ports ?? []) : [s.port!];
    const seenPorts = new Set<number>();
    ports.forEach((p, k) => {
      const where = s.fwmark !== undefined ? at('ports', k) : at('port');
      if (seenPorts.has(p)) return add(where, `port ${p} is listed twice`);
      seenPorts.add(p);
      const key = `${s.protocol} ${s.vip.address} ${p}`;
      const first = captured.get(key);
      const me = s.fwmark !== undefined ? `fwmark ${s.fwmark}` : s.id;
      if (!first) return void captured.set(key, { by: me, path: where });
      if (first.by === me) return;
      const mark = s.fwmark !== undefined || first.by.startsWith('fwmark');
      if (mark)
        add(
          where,
          `${s.protocol} ${s.vip.address} port ${p} would go to both ${first.by} and ${me}; IPVS gives a marked packet to the fwmark service only, so one of them never sees it`,
        );
    });
    if (s.persistence?.netmask !== undefined && typeof s.persistence.netmask === 'string')
      if (maskToPrefix(s.persistence.netmask) === undefined)
        add(
          at('persistence', 'netmask'),
          `${s.persistence.netmask} is not a netmask (its one bits must be contiguous)`,
        );

    const sorry = s.sorryServer;
    if (sorry) {
      const sp2 = at('sorry_server', 'address');
      const before = out.length;
      if (vips.has(sorry.address)) add(sp2, `the sorry server ${sorry.address} is a VIP; requests would loop`);
      else if (d.dip?.address === sorry.address) add(sp2, `the sorry server ${sorry.address} is the DIP`);
      else if (directorAddrs.has(sorry.address))
        add(
          sp2,
          `the sorry server ${sorry.address} is director ${directorAddrs.get(sorry.address)}; IPVS does not forward to the director itself`,
        );
      const port = sorry.port ?? s.port ?? 0; // fwmark services: 0, the client's port
      if (s.realServers.some((r) => sameAddress(r.address, sorry.address) && r.port === port))
        add(
          sp2,
          `the sorry server ${sorry.address} is also a real server of this service; keepalived merges the two and changes its settings`,
        );
      if (
        out.length === before &&
        doc.mode === 'nat' &&
        d.dip &&
        familyOf(sorry.address) === 4 &&
        !inSubnet4(sorry.address, d.dip.address, d.dip.prefix)
      )
        add(
          sp2,
          `NAT sorry server ${sorry.address} is not in the DIP's subnet ${d.dip.address}/${d.dip.prefix}: its replies would not pass the director`,
        );
      if (doc.mode !== 'nat' && sorry.port !== undefined && (s.fwmark !== undefined || sorry.port !== s.port))
        add(
          at('sorry_server', 'port'),
          s.fwmark !== undefined
            ? `mode ${doc.mode} keeps the client's port: a fwmark service's sorry server takes no port`
            : `mode ${doc.mode} cannot map ports: sorry server port ${sorry.port} differs from the service port ${s.port} (only NAT can)`,
        );
    }
    if (doc.mode !== 'nat' && s.fwmark !== undefined)
      sp.real_servers.forEach((r, ri) => {
        if (r.port !== undefined)
          add(
            at('real_servers', ri, 'port'),
            `mode ${doc.mode} keeps the client's port: a fwmark service's real servers take no port`,
          );
      });
  });

  // 4. Interfaces: names the kernel keeps for itself, and lo where the network is meant.
  const iface = (name: string | undefined, path: FieldPath, role: string) => {
    if (name === undefined) return;
    if (RESERVED_INTERFACES.has(name))
      add(
        path,
        `"${name}" is not an interface name Linux allows (${name === 'bonding_masters' ? 'a file in /sys/class/net' : 'net.ipv4.conf.' + name + ' is every interface'})`,
      );
    else if (name === 'lo') add(path, `lo cannot be ${role}`);
    else if (FALLBACK_TUNNELS.has(name))
      add(
        path,
        `${name} is the kernel's fallback tunnel device (it appears when its module loads); it cannot be ${role}`,
      );
  };
  doc.vips.forEach((v, i) => iface(v.interface, ['vips', i, 'interface'], 'the interface that answers ARP for a VIP'));
  d.vrrp?.instances.forEach((inst, i) =>
    iface(inst.interface, ['directors', 'vrrp', 'instances', i, 'interface'], 'the interface VRRP advertises on'),
  );
  if (d.dip) iface(d.dip.interface, ['directors', 'dip', 'interface'], "the real servers' gateway interface");
  if (d.sync_daemon)
    iface(d.sync_daemon.interface, ['directors', 'sync_daemon', 'interface'], 'the sync daemon interface');
  const dataIface = (v: { interface?: string } | undefined, path: FieldPath) =>
    v?.interface !== undefined &&
    iface(v.interface, [...path, 'interface'], 'the interface where a real server receives ARP');
  dataIface(doc.vars, ['vars']);
  for (const [g, group] of Object.entries(doc.groups ?? {})) dataIface(group.vars, ['groups', g, 'vars']);
  for (const [name, h] of Object.entries(doc.hosts)) dataIface(h, ['hosts', name]);
  return out;
}
