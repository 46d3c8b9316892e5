// Rules for the VRRP scripts (directors.vrrp.scripts, track_script, track_interface, notify): what
// keepalived would ignore or refuse, refused here with the reason. Whether the scripts exist and
// are safe on the hosts is for the facts (facts/scripts.ts).
import type { FieldPath } from './locate.js';
import { own, type Cluster } from './model.js';
import type { RuleProblem } from './rules.js';
import type { InventoryDoc } from './schema.js';
import { syncGroupOf } from './scripts.js';

export function checkScripts(doc: InventoryDoc, cluster: Cluster): RuleProblem[] {
  const out: RuleProblem[] = [];
  const add = (path: FieldPath, message: string) => out.push({ path, message });
  const vrrp = doc.directors.vrrp;
  if (!vrrp) return out;
  const scripts = vrrp.scripts ?? {};
  const used = new Set<string>();
  vrrp.instances.forEach((inst, i) => {
    const at: FieldPath = ['directors', 'vrrp', 'instances', i];
    const group = syncGroupOf(cluster, inst.name);
    // keepalived.conf(5): "when instances are grouped, any track scripts/files configured against
    // member VRRP instances will have their tracking weights automatically set to zero".
    const weighted = (what: string) =>
      `keepalived ignores tracking weights of instances in a vrrp_sync_group (here with ${group!.filter((n) => n !== inst.name).join(', ')}, all of one master), and sets them to 0: ${what} would put ${inst.name} in FAULT instead of lowering its priority. Remove the weight (a failure then moves the whole group)`;
    const seen = new Set<string>();
    inst.track_script?.forEach((name, j) => {
      if (seen.has(name)) add([...at, 'track_script', j], `${name} is tracked twice by ${inst.name}`);
      seen.add(name);
      used.add(name);
      const s = own(scripts, name);
      if (!s)
        add(
          [...at, 'track_script', j],
          `unknown script "${name}": define it in directors.vrrp.scripts${Object.keys(scripts).length ? ` (there: ${Object.keys(scripts).join(', ')})` : ''}`,
        );
      else if (group && (s.weight ?? 0) !== 0)
        add([...at, 'track_script', j], weighted(`script ${name} (weight ${s.weight})`));
    });
    const ifs = new Set<string>();
    inst.track_interface?.forEach((t, j) => {
      if (ifs.has(t.interface))
        add([...at, 'track_interface', j, 'interface'], `${t.interface} is tracked twice by ${inst.name}`);
      ifs.add(t.interface);
      // keepalived: "Ignoring track_interface X since own interface" (a failed -t)
      if (t.interface === inst.interface)
        add(
          [...at, 'track_interface', j, 'interface'],
          `${t.interface} is ${inst.name}'s own interface, which keepalived tracks already (it refuses it here): remove it`,
        );
      if (group && (t.weight ?? 0) !== 0)
        add([...at, 'track_interface', j, 'weight'], weighted(`interface ${t.interface} (weight ${t.weight})`));
    });
  });
  // keepalived 2.2.7 (Debian 12) `keepalived -t`, which lvsctl runs before installing a config,
  // kills itself (exit 143) when a script runs as another user than root: keepalived#2587, fixed
  // in 2.2.8 (measured with the tools tier's keepalived). Root until the version is known.
  const notRoot = (path: FieldPath, user: string) =>
    user !== 'root' &&
    add(
      path,
      `scripts run as ${user}: keepalived 2.2.7's config test (keepalived -t, run before every install) dies when a script runs as another user than root (keepalived#2587, fixed in 2.2.8); use root`,
    );
  notRoot(['directors', 'vrrp', 'script_user'], vrrp.script_user);
  for (const [name, s] of Object.entries(scripts))
    if (s.user) notRoot(['directors', 'vrrp', 'scripts', name, 'user'], s.user);
  // keepalived runs an untracked vrrp_script all the same, for nothing: a leftover or a typo.
  for (const name of Object.keys(scripts))
    if (!used.has(name))
      add(
        ['directors', 'vrrp', 'scripts', name],
        `script ${name} is tracked by no instance: name it in an instance's track_script or remove it`,
      );
  return out;
}
