// Links: tunl0 appears when ipip loads; lvsctl brings it up and down, never deletes it.
import type { HostFacts } from '../facts/parse.js';
import { sh } from '../util/quote.js';
import { fragment, type CommandResource } from './types.js';

export type LinkChange = { kind: 'link'; dev: string; up: boolean };

// Also the addr and route sections (resources/addresses.ts and route.ts read them): one process.
export const linksFacts = fragment(
  ['links', 'addr', 'route'],
  String.raw`# One ip process for links, addresses and the default route (ip route is IPv4 unless told),
# told apart by their shape: "N: dev: <FLAGS>", "default ...", and the address lines.
# Here-documents, not pipes: each stage of a pipe is a fork.
s links; o=$(ip -o -force -batch - 2>/dev/null <<'EOF'
link show
addr show
route show default
EOF
)
a=; r=; while IFS= read -r l; do case $l in '') ;; *': <'*) printf '%s\n' "$l" ;; default*) r="$r$l
" ;; *) a="$a$l
" ;; esac; done <<EOF
$o
EOF
s addr; printf '%s' "$a"; s route; printf '%s' "$r"
`,
);

export const links = {
  parse(get): Pick<HostFacts, 'links'> {
    const links = new Map<string, { up: boolean }>();
    for (const l of get('links')) {
      const m = /^\d+:\s+([^:@\s]+)(?:@\S+)?:\s+<([^>]*)>/.exec(l);
      if (m) links.set(m[1]!, { up: m[2]!.split(',').includes('UP') });
    }
    return { links };
  },
  plan({ desired: d, facts: f, old, pre, next, adds, removals }) {
    for (const dev of d.links) {
      if (!f.links.get(dev)?.up) adds.push({ kind: 'link', dev, up: true });
      if (!old.owned.links.includes(dev)) pre.owned.links.push(dev);
    }
    next.owned.links = [...d.links];
    for (const dev of old.owned.links)
      if (!d.links.includes(dev) && f.links.get(dev)?.up) removals.push({ kind: 'link', dev, up: false });
  },
  record: (c) => ({
    action: c.up ? 'up' : 'down',
    target: c.dev,
    from: c.up ? 'down' : 'up',
    to: c.up ? 'up' : 'down',
  }),
  describe: (c) => `bring ${c.dev} ${c.up ? 'up' : 'down'}`,
  command: (c) => sh`ip link set dev ${c.dev} ${c.up ? 'up' : 'down'}`,
} satisfies CommandResource<LinkChange>;
