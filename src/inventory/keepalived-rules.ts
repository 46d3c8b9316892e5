// What keepalived 2.2 refuses or silently changes, refused here instead: its config test fails on
// every warning, so an inventory that validates but renders such a config would make `up` fail on
// the directors. Each rule names keepalived's own message. Proven by a generated corpus that runs
// `keepalived -t` on every accepted combination (test/tools/keepalived-corpus.test.ts).
import { familyOf } from '../identity/address.js';
import type { FieldPath } from './locate.js';
import { vrrpAddresses, type Cluster } from './model.js';
import type { RuleProblem } from './rules.js';
import type { InventoryDoc } from './schema.js';
import { SCRIPT_COMMAND_MAX, scriptCommand } from '../util/keepalived-script.js';
import { miscArgv } from './misc-scripts.js';

/** VRRPv3 (IPv6) advertisement intervals are centiseconds in 12 bits: below 40.96 s. */
const V3_ADVERT_MAX = 40;

export function checkKeepalived(doc: InventoryDoc, cluster: Cluster): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: FieldPath, message: string) => out.push({ path, message });
  const d = doc.directors;
  const members = cluster.directors.members;

  for (const s of cluster.services) {
    if (s.engine !== 'keepalived') {
      if (s.keepalivedRaw !== undefined)
        add(
          [...s.path, 'keepalived_raw'],
          "keepalived_raw goes only on a service keepalived owns (engine: keepalived); this one is ipvsadm's",
        );
      continue;
    }
    // "Missing escape char at end" or a cut line: keepalived reads lines of at most 1024 bytes.
    const seen = new Set<string>();
    for (const r of s.realServers) {
      const h = r.healthCheck;
      if (h?.type !== 'misc') continue;
      const bytes = Buffer.byteLength(scriptCommand(miscArgv(h, r)));
      const at = r.healthCheckPath;
      if (bytes > SCRIPT_COMMAND_MAX && !seen.has(at.join('.')))
        add(
          at,
          `misc_path with its arguments is ${bytes} bytes once quoted for keepalived.conf (for ${r.host}); keepalived reads lines of at most 1024 bytes, so at most ${SCRIPT_COMMAND_MAX}`,
        );
      seen.add(at.join('.'));
    }
    // "quorum 1 exceeds total weight of real servers 0, reducing quorum to 0"
    if (s.realServers.length > 0 && s.realServers.every((r) => r.weight === 0))
      add(
        [...s.path, 'real_servers'],
        'every real server of this keepalived service has weight 0; keepalived refuses that (its quorum is 1, and cannot be 0): give one a weight above 0',
      );
  }

  const vrrp = d.vrrp;
  if (!vrrp) return out;
  const single = members.length === 1;
  if (single && vrrp.nopreempt)
    add(
      ['directors', 'vrrp', 'nopreempt'],
      'nopreempt needs two or more directors (a single director is always MASTER)',
    );
  if (single && vrrp.unicast)
    add(['directors', 'vrrp', 'unicast'], 'unicast needs two or more directors: the peers are the other directors');
  // "Initial state master is incompatible with AH authentication - clearing"
  if (vrrp.auth?.type === 'AH')
    members.forEach((m) => {
      if (m.state === 'MASTER')
        add(
          single ? ['directors', 'vrrp', 'auth', 'type'] : m.path,
          single
            ? 'AH authentication needs initial state BACKUP, and a single director starts as MASTER: use PASS'
            : 'AH authentication needs initial state BACKUP on every director (keepalived clears MASTER): set state: BACKUP and let priority elect the master',
        );
    });

  // A BACKUP with a higher priority takes the VIPs from the MASTER as soon as it hears it: the
  // initial states would not be what the inventory says.
  const master = members.find((m) => m.state === 'MASTER');
  const higher = members.find((m) => m.state === 'BACKUP' && master && m.priority > master.priority);
  if (master && higher)
    add(
      higher.path,
      `${higher.host} (BACKUP, priority ${higher.priority}) outranks the MASTER ${master.host} (priority ${master.priority}) and would take the VIPs at once: give the MASTER the higher priority`,
    );

  const addrs = vrrpAddresses(cluster);
  // "VRRP version 3 does not support authentication. Ignoring.": instances whose first address is
  // IPv6 run VRRPv3 and are rendered without auth; auth that no instance can use is a mistake.
  if (vrrp.auth && [...addrs.values()].every((a) => a.family === 6))
    add(
      ['directors', 'vrrp', 'auth'],
      'every VRRP instance carries IPv6 addresses, so each runs VRRPv3, which has no authentication (keepalived ignores auth): remove auth',
    );
  vrrp.instances.forEach((inst, i) => {
    const at: FieldPath = ['directors', 'vrrp', 'instances', i];
    const mine = addrs.get(inst.name)!;
    // "No VIP specified; at least one is sensible"
    if (mine.all.length === 0)
      add(
        [...at, 'name'],
        `instance ${inst.name} carries no VIP and no DIP; name it in a VIP's vrrp_instance or remove it`,
      );
    if (mine.family === 6) {
      const advert = inst.advert_int ?? vrrp.advert_int;
      if (advert > V3_ADVERT_MAX)
        add(
          inst.advert_int !== undefined ? [...at, 'advert_int'] : ['directors', 'vrrp', 'advert_int'],
          `instance ${inst.name} runs VRRPv3 (IPv6), whose advert_int is below 40.96 s; ${advert} is too long`,
        );
    }
    // "address family must match VRRP instance ... - ignoring": unicast peers speak the instance's family.
    if (vrrp.unicast && !single)
      for (const m of members) {
        const h = cluster.hosts.get(m.host);
        if (!h) continue;
        const has = familyOf(h.address) === mine.family || (mine.family === 6 && h.address6 !== undefined);
        if (!has)
          add(
            [...h.path, mine.family === 6 ? 'address6' : 'address'],
            `instance ${inst.name} moves IPv${mine.family} addresses, so unicast VRRP needs an IPv${mine.family} address on director ${m.host}${mine.family === 6 ? ' (address6)' : ''}`,
          );
      }
  });
  return out;
}
