// Active-active: each VRRP instance may name its own MASTER and priorities. What makes such an
// inventory wrong: a master or priority naming no director, a BACKUP that outranks the master (it
// would take the instance's addresses at once), and in NAT a real server whose VIPs and DIP follow
// different masters (its one gateway, the DIP, is on one director; replies for the other VIPs would
// bypass the director that holds them).
import type { FieldPath } from './locate.js';
import { instanceMaster, instanceMembers, instanceOfVip, own, type Cluster } from './model.js';
import type { RuleProblem } from './rules.js';
import type { InventoryDoc } from './schema.js';

export function checkActiveActive(doc: InventoryDoc, cluster: Cluster): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: FieldPath, message: string) => out.push({ path, message });
  const vrrp = doc.directors.vrrp;
  const names = cluster.directors.members.map((m) => m.host);
  const list = names.join(', ');
  const sd = doc.directors.sync_daemon?.vrrp_instance;
  if (sd !== undefined && !vrrp?.instances.some((i) => i.name === sd))
    add(
      ['directors', 'sync_daemon', 'vrrp_instance'],
      vrrp
        ? `unknown VRRP instance "${sd}"`
        : 'vrrp_instance needs directors.vrrp (the instance the sync daemon follows)',
    );
  if (!vrrp) return out;

  let valid = true;
  vrrp.instances.forEach((inst, i) => {
    const at: FieldPath = ['directors', 'vrrp', 'instances', i];
    if (inst.master !== undefined && !names.includes(inst.master)) {
      valid = false;
      add([...at, 'master'], `master "${inst.master}" of instance ${inst.name} is not a director (directors: ${list})`);
    }
    if (inst.priorities === undefined) return;
    const keys = Object.keys(inst.priorities);
    for (const k of keys.filter((k) => !names.includes(k))) {
      valid = false;
      add(
        [...at, 'priorities', k],
        `priorities of instance ${inst.name} names "${k}", which is not a director (directors: ${list})`,
      );
    }
    const missing = names.filter((n) => own(inst.priorities, n) === undefined);
    if (missing.length) {
      valid = false;
      add(
        [...at, 'priorities'],
        `priorities of instance ${inst.name} must give every director a priority; missing: ${missing.join(', ')}`,
      );
    }
  });
  if (!valid) return out;

  vrrp.instances.forEach((inst) => {
    if (inst.priorities === undefined) return;
    const members = instanceMembers(cluster, inst.name);
    const master = members.find((m) => m.host === (inst.master ?? instanceMaster(cluster, inst.name)))!;
    members.forEach((m, j) => {
      if (m === master) return;
      if (inst.master !== undefined && m.priority >= master.priority)
        add(
          m.path,
          `${m.host} (priority ${m.priority}) ${m.priority === master.priority ? 'ties with' : 'outranks'} the master ${master.host} (priority ${master.priority}) of instance ${inst.name} and would take its addresses at once: give the master the strictly highest priority`,
        );
      const same = members.slice(0, j).find((o) => o.priority === m.priority);
      if (same && (inst.master === undefined || m.priority < master.priority))
        add(
          m.path,
          `${m.host} has the same priority as ${same.host} (${m.priority}) in instance ${inst.name}; priorities must differ`,
        );
    });
  });

  // NAT: the DIP is the real servers' gateway, and it follows one instance.
  if (cluster.mode !== 'nat') return out;
  const dip = cluster.directors.dip;
  const gateway = dip ? (dip.vrrp_instance ?? vrrp.instances[0]!.name) : undefined;
  const first = new Map<string, { inst: string; vip: string }>();
  for (const s of cluster.services) {
    const inst = instanceOfVip(cluster, s)!;
    for (const r of s.realServers) {
      const ref = gateway !== undefined ? { inst: gateway, vip: `DIP ${dip!.address}` } : first.get(r.host);
      if (!ref) {
        first.set(r.host, { inst, vip: `VIP ${s.vip.address}` });
        continue;
      }
      const mine = instanceMaster(cluster, inst);
      const theirs = instanceMaster(cluster, ref.inst);
      if (mine !== theirs)
        add(
          r.path,
          `in NAT a real server has one gateway, the DIP, which follows one VRRP instance: ${r.host} serves VIP ${s.vip.address} of instance ${inst} (master ${mine}) and the ${ref.vip} of instance ${ref.inst} (master ${theirs}); replies would leave through the wrong director. Give these instances the same master, use separate real servers, or use DR/TUN`,
        );
    }
  }
  return out;
}
