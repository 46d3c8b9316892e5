// Hosts and groups an lvsctl inventory takes from Ansible inventories (`ansible.inventory`): a name
// that the inventory uses (a director, a real server, a group of real servers, a verify client, a
// group member) and does not define is looked up there. Runs on the parsed YAML before the schema,
// so what it adds is validated like the rest; each Ansible value is checked here first, so that a
// mistake points at the Ansible file's line.
import { dirname, resolve } from 'node:path';
import type { InventoryProblem } from '../errors.js';
import { printable } from '../util/printable.js';
import { readBounded } from '../util/read-bounded.js';
import {
  AnsibleInventoryError,
  ansibleReach,
  groupHosts,
  hostVars,
  parseAnsibleInventory,
  type AnsibleInventory,
} from './ansible.js';
import { expandHome } from './local-files.js';
import { IpAddress, LocalPath, Port, SshHost, UserName } from './types.js';

/** An Ansible inventory of many thousand hosts is a few MiB. */
const MAX_ANSIBLE_BYTES = 8 * 1024 * 1024;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === 'string') : []);

/** Host and group names the inventory uses. */
function referenced(data: Obj): { hosts: Set<string>; groups: Set<string> } {
  const hosts = new Set<string>();
  const groups = new Set<string>();
  const d = data.directors;
  if (isObj(d) && Array.isArray(d.hosts))
    for (const m of d.hosts) {
      if (typeof m === 'string') hosts.add(m);
      else if (isObj(m) && typeof m.host === 'string') hosts.add(m.host);
    }
  if (Array.isArray(data.vips))
    for (const v of data.vips)
      if (isObj(v) && Array.isArray(v.services))
        for (const s of v.services)
          if (isObj(s) && Array.isArray(s.real_servers))
            for (const r of s.real_servers) {
              if (typeof r === 'string') hosts.add(r);
              else if (isObj(r) && typeof r.host === 'string') hosts.add(r.host);
              else if (isObj(r) && typeof r.group === 'string') groups.add(r.group);
            }
  if (isObj(data.verify)) for (const f of strings(data.verify.from)) hosts.add(f);
  if (isObj(data.groups))
    for (const g of Object.values(data.groups)) if (isObj(g)) for (const h of strings(g.hosts)) hosts.add(h);
  return { hosts, groups };
}

export interface AnsibleMerge {
  data: Obj;
  problems: InventoryProblem[];
  /** ansible_* variables of the hosts taken that lvsctl does not use (said once, not an error) */
  ignored: string[];
}

/** Adds to `data` the hosts and groups it uses from its Ansible inventories. `file`: the lvsctl
 * inventory (relative Ansible paths are relative to it). */
export function withAnsibleHosts(data: Obj, file: string): AnsibleMerge {
  const a = data.ansible;
  if (!isObj(a)) return { data, problems: [], ignored: [] };
  const paths = typeof a.inventory === 'string' ? [a.inventory] : strings(a.inventory);
  // the schema reports a wrong shape of `ansible`; nothing to merge then
  if (!paths.length || paths.some((p) => !LocalPath.safeParse(p).success)) return { data, problems: [], ignored: [] };
  const base = dirname(resolve(file));
  const problems: InventoryProblem[] = [];
  const ignored = new Set<string>();
  const sources: { file: string; inv: AnsibleInventory }[] = [];
  for (const p of paths) {
    const full = expandHome(p, base);
    const r = readBounded(full, MAX_ANSIBLE_BYTES);
    if (!r.ok) {
      problems.push({
        file: printable(full),
        line: 1,
        col: 1,
        field: '',
        message: `Ansible inventory (ansible.inventory): ${printable(r.reason)}`,
      });
      continue;
    }
    try {
      sources.push({ file: full, inv: parseAnsibleInventory(full, new TextDecoder().decode(r.data)) });
    } catch (e) {
      if (!(e instanceof AnsibleInventoryError)) throw e;
      for (const q of e.problems)
        problems.push({ file: printable(full), line: q.line, col: 1, field: printable(q.field), message: q.message });
    }
  }
  if (problems.length) return { data, problems, ignored: [] };

  const out: Obj = {
    ...data,
    hosts: isObj(data.hosts) ? { ...data.hosts } : {},
    groups: { ...(isObj(data.groups) ? data.groups : {}) },
  };
  const hosts = out.hosts as Obj;
  const groups = out.groups as Obj;
  // the first Ansible inventory that knows a name answers for it (as `ansible -i a -i b` merges, roughly)
  const find = (name: string, kind: 'host' | 'group') =>
    sources.find((s) => (kind === 'host' ? s.inv.hosts.has(name) : s.inv.groups.has(name)));

  const take = (name: string) => {
    const src = find(name, 'host');
    if (!src) return; // not Ansible's either: the rules say the name is unknown
    const vars = hostVars(src.inv, name); // merged once: it walks every group
    const { reach, problems: refused, ignored: unused } = ansibleReach(name, vars);
    unused.forEach((k) => ignored.add(k));
    const at = (line: number, field: string, message: string) =>
      problems.push({ file: printable(src.file), line, col: 1, field: printable(field), message });
    for (const q of refused) at(q.line, q.field, q.message);
    const lineOf = (k: string) => vars.get(k)?.line ?? src.inv.hosts.get(name) ?? 1;
    const check = (ok: boolean, k: string, what: string) => {
      if (!ok) at(lineOf(k), `${name}: ${k}`, `not ${what}`);
      return ok;
    };
    const ssh: Obj = {};
    if (
      reach.host !== undefined &&
      check(SshHost.safeParse(reach.host).success, 'ansible_host', 'a host name or address')
    )
      ssh.host = reach.host;
    if (reach.port !== undefined && check(Port.safeParse(reach.port).success, 'ansible_port', 'a port'))
      ssh.port = reach.port;
    if (reach.user !== undefined && check(UserName.safeParse(reach.user).success, 'ansible_user', 'a user name'))
      ssh.user = reach.user;
    if (
      reach.identityFile !== undefined &&
      check(LocalPath.safeParse(reach.identityFile).success, 'ansible_ssh_private_key_file', 'a local path')
    )
      // relative to the Ansible inventory's folder (the lvsctl inventory's rule, for that file)
      ssh.identity_file = expandHome(reach.identityFile, dirname(src.file));
    const own = hosts[name];
    if (isObj(own)) {
      // the lvsctl inventory's own settings for the host win over Ansible's
      hosts[name] = {
        ...own,
        ssh: { ...ssh, ...(isObj(own.ssh) ? own.ssh : {}) },
        ...(own.become === undefined && reach.become !== undefined && { become: reach.become }),
      };
      return;
    }
    // a host only Ansible knows: its data-plane address is where Ansible connects
    const address = [reach.host, name].find((x) => x !== undefined && IpAddress.safeParse(x).success);
    if (address === undefined) {
      at(
        src.inv.hosts.get(name) ?? 1,
        name,
        `no IP address for lvsctl: ansible_host is ${reach.host === undefined ? 'not set' : `"${printable(reach.host)}"`}; give the host's address in the lvsctl inventory (hosts.${printable(name)}.address)`,
      );
      return;
    }
    hosts[name] = {
      address,
      ...(Object.keys(ssh).length && { ssh }),
      ...(reach.become !== undefined && { become: reach.become }),
    };
  };

  const refs = referenced(data);
  for (const g of refs.groups) {
    if (Object.hasOwn(groups, g)) continue;
    const src = find(g, 'group');
    if (!src) continue;
    const members = groupHosts(src.inv, g);
    groups[g] = { hosts: members };
    members.forEach((h) => refs.hosts.add(h));
  }
  for (const h of refs.hosts) if (find(h, 'host')) take(h);
  return { data: out, problems, ignored: [...ignored].sort() };
}
