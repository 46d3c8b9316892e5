// Rules that relate fields to each other. They run on the typed document once its shape is right,
// and each returns the path of the field to blame, so the message lands on the right line.
import type { FieldPath } from './locate.js';
import { familyOf, inSubnet4 } from '../identity/address.js';
import { expandMembers, LOCAL, own, serviceDoc, type Cluster } from './model.js';
import type { InventoryDoc } from './schema.js';

export interface RuleProblem {
  path: FieldPath;
  message: string;
}

export function checkRules(doc: InventoryDoc, cluster: Cluster): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: FieldPath, message: string) => out.push({ path, message });
  const d = doc.directors;

  // References to hosts and groups.
  for (const [g, group] of Object.entries(doc.groups ?? {}))
    group.hosts.forEach(
      (h, i) => own(doc.hosts, h) === undefined && add(['groups', g, 'hosts', i], `unknown host "${h}"`),
    );
  cluster.directors.members.forEach(
    (m) => own(doc.hosts, m.host) === undefined && add(m.path, `unknown host "${m.host}"`),
  );
  // verify.from names client hosts, or "local": the machine running lvsctl.
  doc.verify?.from.forEach((h, i) => {
    if (h === LOCAL && own(doc.hosts, h) !== undefined)
      add(
        ['verify', 'from', i],
        `"${LOCAL}" in verify.from is the machine running lvsctl; a host of that name is ambiguous: rename it`,
      );
    else if (h !== LOCAL && own(doc.hosts, h) === undefined) add(['verify', 'from', i], `unknown host "${h}"`);
  });

  // Roles: a director is not a real server or a client (curl from a director is not balanced).
  const fromIndex = new Map<string, number>();
  doc.verify?.from.forEach((h, i) => fromIndex.has(h) || fromIndex.set(h, i));
  for (const h of cluster.hosts.values()) {
    if (h.roles.has('director') && h.roles.has('real_server'))
      add(h.path, `host "${h.name}" is both a director and a real server; lvsctl does not support that`);
    const from = ['verify', 'from', fromIndex.get(h.name) ?? 0];
    if (h.roles.has('client') && h.roles.has('director'))
      add(
        from,
        `verify client "${h.name}" is a director; IPVS does not balance connections that start on the director itself: use a separate client host`,
      );
    if (h.roles.has('client') && h.roles.has('real_server'))
      add(
        from,
        `verify client "${h.name}" is a real server; it would answer its own requests: use a separate client host`,
      );
  }

  // Directors: one standalone, or a keepalived group of two or more.
  const names = cluster.directors.members.map((m) => m.host);
  if (new Set(names).size !== names.length) add(['directors', 'hosts'], 'the same host is listed twice');
  const group = names.length >= 2;
  const several = names.length === 2 ? 'a pair of directors' : `a group of ${names.length} directors`;
  if (group && d.engine !== 'keepalived')
    add(['directors', 'engine'], `${several} needs engine: keepalived (VRRP moves the VIP)`);
  if (group && !d.vrrp) add(['directors'], `${several} needs vrrp settings`);
  if (d.vrrp && d.engine !== 'keepalived') add(['directors', 'vrrp'], 'vrrp needs engine: keepalived');

  if (d.vrrp) {
    const seen = new Map<string, string>();
    d.vrrp.instances.forEach((inst, i) => {
      const k = `${inst.interface}/${inst.virtual_router_id}`;
      const other = seen.get(k);
      if (other !== undefined)
        add(
          ['directors', 'vrrp', 'instances', i, 'virtual_router_id'],
          `virtual_router_id ${inst.virtual_router_id} is already used on ${inst.interface} by instance ${other}; it must be unique per segment`,
        );
      seen.set(k, inst.name);
    });
    const instNames = new Set<string>();
    d.vrrp.instances.forEach(({ name }, i) => {
      if (instNames.has(name))
        add(['directors', 'vrrp', 'instances', i, 'name'], `instance name "${name}" is used twice`);
      instNames.add(name);
    });
    const members = cluster.directors.members;
    // Each later member is compared with the earlier ones, so the message names both.
    members.forEach((m, i) => {
      const same = members.slice(0, i).find((o) => o.priority === m.priority);
      if (same)
        add(
          m.path,
          members.length === 2
            ? `both directors have priority ${m.priority}; priorities must differ`
            : `${m.host} has the same priority as ${same.host} (${m.priority}); priorities must differ`,
        );
      const master = m.state === 'MASTER' && members.slice(0, i).find((o) => o.state === 'MASTER');
      if (master)
        add(
          m.path,
          members.length === 2
            ? 'both directors have state MASTER; one must be BACKUP'
            : `${m.host} and ${master.host} both have state MASTER; only one may (the others are BACKUP)`,
        );
    });
    if (d.vrrp.nopreempt && group)
      members.forEach(
        (m) =>
          m.state === 'MASTER' &&
          add(
            m.path,
            'nopreempt only works with initial state BACKUP on every director (keepalived ignores it with MASTER)',
          ),
      );
    doc.vips.forEach(
      (v, i) =>
        v.vrrp_instance &&
        !instNames.has(v.vrrp_instance) &&
        add(['vips', i, 'vrrp_instance'], `unknown VRRP instance "${v.vrrp_instance}"`),
    );
    if (d.dip?.vrrp_instance && !instNames.has(d.dip.vrrp_instance))
      add(['directors', 'dip', 'vrrp_instance'], `unknown VRRP instance "${d.dip.vrrp_instance}"`);
  }

  // NAT: the DIP is the real servers' gateway.
  if (doc.mode === 'nat') {
    if (!d.dip)
      add(['directors'], "NAT needs directors.dip: the director address that is the real servers' default gateway");
    for (const h of cluster.hosts.values()) {
      if (!h.roles.has('real_server') || !d.dip) continue;
      if (familyOf(h.address) !== 4 || !inSubnet4(h.address, d.dip.address, d.dip.prefix))
        add(
          [...h.path, 'address'],
          `NAT real server ${h.address} is not in the DIP's subnet ${d.dip.address}/${d.dip.prefix}, so the DIP cannot be its gateway`,
        );
      if (h.gateway !== undefined && h.gateway !== d.dip.address)
        add(
          [...h.path, 'gateway'],
          `in NAT mode a real server's default gateway must be the DIP ${d.dip.address} (found ${h.gateway})`,
        );
    }
    for (const c of cluster.hosts.values())
      if (
        c.roles.has('client') &&
        d.dip &&
        familyOf(c.address) === 4 &&
        inSubnet4(c.address, d.dip.address, d.dip.prefix)
      )
        add(
          [...c.path, 'address'],
          `NAT client ${c.address} is on the real servers' subnet: replies would bypass the director`,
        );
  } else {
    if (d.dip) add(['directors', 'dip'], `dip is only for NAT (mode is ${doc.mode})`);
    if (d.masquerade) add(['directors', 'masquerade'], `masquerade is only for NAT (mode is ${doc.mode})`);
    for (const h of cluster.hosts.values())
      if (h.roles.has('real_server') && !h.interface)
        add(
          h.path,
          `real server "${h.name}" needs interface (set it on the host, a group or vars): ${doc.mode.toUpperCase()} sets arp_ignore/arp_announce on it`,
        );
  }

  // VIPs: which address is whose is in network-rules.ts.
  doc.vips.forEach((v, i) => {
    if (familyOf(v.address) === 6 && doc.mode === 'nat')
      add(['vips', i, 'address'], 'IPv6 VIPs are supported with dr and tun; NAT here is IPv4 only');
    if (v.prefix !== undefined && familyOf(v.address) === 4 && v.prefix > 32)
      add(['vips', i, 'prefix'], 'an IPv4 prefix is at most 32');
  });

  // Services.
  const ids = new Map<string, FieldPath>();
  for (const s of cluster.services) {
    const prev = ids.get(s.id);
    if (prev) add(s.path, `service ${s.id} is defined twice`);
    ids.set(s.id, s.path);
    const sp = serviceDoc(doc, s);
    if (s.engine === 'ipvsadm') {
      if (sp.health_check || sp.real_servers.some((r) => r.health_check))
        add([...s.path, 'health_check'], "health checks need engine: keepalived (keepalived's checkers run them)");
      if (s.sorryServer) add([...s.path, 'sorry_server'], 'a sorry server needs engine: keepalived');
      if (s.inhibitOnFailure) add([...s.path, 'inhibit_on_failure'], 'inhibit_on_failure needs engine: keepalived');
    }
    if (s.engine === 'keepalived' && d.engine !== 'keepalived' && names.length > 1)
      add([...s.path, 'engine'], 'keepalived services need keepalived on the directors');
    if (s.ops && s.protocol !== 'udp') add([...s.path, 'ops'], 'one-packet scheduling (ops) is for UDP services');
    // Seen in the lab (kernel 6.1): no answer ever reached the client.
    if (s.ops && doc.mode === 'nat')
      add(
        [...s.path, 'ops'],
        "one-packet scheduling (ops) does not work with NAT: IPVS keeps no connection entry for such a datagram, so the director cannot translate the real server's answer back (use dr or tun)",
      );
    for (const f of s.schedulerFlags)
      if (!f.startsWith(s.scheduler + '-'))
        add([...s.path, 'scheduler_flags'], `flag ${f} does not go with scheduler ${s.scheduler}`);
    if (s.persistence?.netmask !== undefined) {
      const nm = s.persistence.netmask;
      if (s.family === 4 && typeof nm !== 'string')
        add([...s.path, 'persistence', 'netmask'], 'an IPv4 service takes a dotted netmask, e.g. 255.255.255.0');
      if (s.family === 6 && typeof nm !== 'number')
        add([...s.path, 'persistence', 'netmask'], 'an IPv6 service takes a prefix length, e.g. 64');
    }
    // verify's probe must be able to talk to the service.
    const probe = s.verify.probe ?? (s.protocol === 'udp' ? 'udp' : 'http');
    if ((s.protocol === 'udp') !== (probe === 'udp'))
      add([...s.path, 'verify', 'probe'], `a ${probe} probe cannot test a ${s.protocol.toUpperCase()} service`);
    const web = probe === 'http' || probe === 'https';
    for (const k of ['path', 'status'] as const)
      if (s.verify[k] !== undefined && !web)
        add([...s.path, 'verify', k], `verify.${k} is for HTTP and HTTPS probes (this service's probe is ${probe})`);
    if (s.verify.tls !== undefined && probe !== 'https')
      add([...s.path, 'verify', 'tls'], `verify.tls is for HTTPS probes (this service's probe is ${probe})`);
    if (s.verify.connect_to && s.fwmark !== undefined)
      add(
        [...s.path, 'verify', 'connect_to'],
        'connect_to names one port; a fwmark service is probed on each of its ports: leave it out',
      );
    else if (s.verify.connect_to && !doc.verify?.from.includes(LOCAL))
      add(
        [...s.path, 'verify', 'connect_to'],
        `connect_to is where probes from "${LOCAL}" connect, and verify.from has no "${LOCAL}"`,
      );
    if (s.verify.tls?.insecure && s.verify.tls.ca_file !== undefined)
      add(
        [...s.path, 'verify', 'tls', 'insecure'],
        'insecure skips the certificate check that ca_file asks for: choose one',
      );
    const checks = [sp.health_check, ...sp.real_servers.map((r) => r.health_check)];
    checks.forEach((c, k) => {
      if (!c) return;
      const p = k === 0 ? [...s.path, 'health_check'] : [...s.path, 'real_servers', k - 1, 'health_check'];
      if (s.protocol === 'udp' && !['udp', 'dns', 'misc'].includes(c.type))
        add([...p, 'type'], `a health check of type ${c.type} cannot test a UDP service; use type: udp, dns or misc`);
      if (s.protocol === 'tcp' && c.type === 'udp')
        add([...p, 'type'], 'a health check of type udp cannot test a TCP service');
      if (s.protocol === 'tcp' && c.type === 'dns')
        add(
          [...p, 'type'],
          "keepalived's DNS_CHECK asks over UDP only, so on a TCP service it would not test the service: use type: tcp or misc",
        );
      if (c.type === 'dns' && !(s.port === 53 || s.ports?.includes(53)))
        add(
          [...p, 'type'],
          `a dns check is for DNS services (UDP port 53); this service is on ${s.ports?.join(', ') ?? s.port}`,
        );
      if (s.fwmark !== undefined && c.type !== 'misc' && c.port === undefined)
        add(p, 'a check on a fwmark service needs port: which port to test');
      if (s.fwmark !== undefined && c.type === 'misc' && c.args?.some((a) => a.includes('{port}')))
        add([...p, 'args'], 'the real servers of a fwmark service have no port: {port} has nothing to stand for');
    });
    if (s.sorryServer && familyOf(s.sorryServer.address) !== s.family)
      add([...s.path, 'sorry_server', 'address'], `the sorry server must be IPv${s.family} like the VIP`);
    sp.real_servers.forEach((r, ri) => {
      const rp = [...s.path, 'real_servers', ri];
      if (r.group !== undefined && own(doc.groups, r.group) === undefined)
        add([...rp, 'group'], `unknown group "${r.group}"`);
      if (r.host !== undefined && own(doc.hosts, r.host) === undefined)
        add([...rp, 'host'], `unknown host "${r.host}"`);
      if (r.upper_threshold !== undefined && r.lower_threshold !== undefined && r.lower_threshold > r.upper_threshold)
        add([...rp, 'lower_threshold'], 'lower_threshold is above upper_threshold');
      if (doc.mode !== 'nat' && r.port !== undefined && s.port !== undefined && r.port !== s.port)
        add(
          [...rp, 'port'],
          `mode ${doc.mode} cannot map ports: real server port ${r.port} differs from the service port ${s.port} (only NAT can)`,
        );
      for (const hn of expandMembers(doc, r)) {
        const h = own(doc.hosts, hn);
        if (!h) continue;
        const addr = s.family === 6 ? (h.address6 ?? h.address) : h.address;
        if (familyOf(addr) !== s.family)
          add([...rp], `real server "${hn}" has no IPv${s.family} address for this IPv${s.family} service`);
      }
    });
    const rsSeen = new Set<string>();
    s.realServers.forEach((r) => {
      if (rsSeen.has(r.host)) add(r.path, `real server "${r.host}" is listed twice in service ${s.id}`);
      rsSeen.add(r.host);
    });
  }
  return out;
}
