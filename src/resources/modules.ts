// Kernel modules: loaded, never unloaded (other things may use them, and unloading ip_vs drops
// every table).
import type { HostFacts } from '../facts/parse.js';
import { TUNNEL_MODULES } from '../render/paths.js';
import { sh } from '../util/quote.js';
import { fragment, type CommandResource } from './types.js';

export type ModuleChange = { kind: 'module'; name: string };

// The tunnel modules a real server may need besides IPVS's own (render/paths.ts).
const TUNNELS = Object.values(TUNNEL_MODULES);
const tunnelFiles = TUNNELS.map((t) => `*/${t}.ko`).join(' | ');

// $k is the kernel release (the host fragment reads it).
export const modulesFacts = fragment(
  ['modules_available', 'modules_loaded'],
  String.raw`s modules_available
m=/lib/modules/$k
for f in "$m"/kernel/net/netfilter/ipvs/*.ko* ${TUNNELS.map((t) => `"$m"/kernel/net/ipv*/${t}.ko*`).join(' ')}; do [ -e "$f" ] || continue; f=${'${'}f##*/}; echo "${'${'}f%%.ko*}"; done
[ -r "$m/modules.builtin" ] && while read -r f; do case $f in */ip_vs*.ko | ${tunnelFiles}) f=${'${'}f##*/}; echo "${'${'}f%.ko}" ;; esac; done <"$m/modules.builtin"
s modules_loaded; [ -r /proc/modules ] && while read -r n _; do case $n in ip_vs* | ${TUNNELS.join(' | ')}) echo "$n" ;; esac; done </proc/modules
`,
);

export const modules = {
  parse: (get): Pick<HostFacts, 'modulesAvailable' | 'modulesLoaded'> => ({
    modulesAvailable: new Set(get('modules_available').filter(Boolean)),
    modulesLoaded: new Set(get('modules_loaded').filter(Boolean)),
  }),
  plan({ desired: d, facts: f, adds }) {
    for (const m of d.modules) if (!f.modulesLoaded.has(m)) adds.push({ kind: 'module', name: m });
  },
  record: (c) => ({ action: 'load', target: c.name, from: 'not loaded', to: 'loaded' }),
  describe: (c) => `load kernel module ${c.name}`,
  command: (c) => sh`modprobe ${c.name}`,
} satisfies CommandResource<ModuleChange>;
