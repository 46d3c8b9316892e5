// Boot links (the boot script started by the host's init system): owned like files, so `down` and
// a role change remove them. Links rather than systemctl/update-rc.d: the same on every init.
import type { HostFacts } from '../facts/parse.js';
import { sh } from '../util/quote.js';
import { fragment, type CommandResource } from './types.js';

export type BootlinkChange = { kind: 'bootlink'; action: 'create' | 'delete'; path: string; target: string };

// The files fragment's find read them: $bl the paths that exist, $fst its lines (mode owner group
// path target), one process for both.
export const bootlinksFacts = fragment(
  ['bootlinks'],
  String.raw`s bootlinks
[ -z "$bl" ] || while read -r m u g p l; do case " $bl " in *" $p "*) echo "$p $l" ;; esac; done <<EOF
$fst
EOF
`,
);

export const bootlinks = {
  parse: (get): Pick<HostFacts, 'bootLinks'> => ({
    bootLinks: new Map(
      get('bootlinks')
        .map((l) => l.split(' ') as [string, string])
        .filter((x) => x.length === 2),
    ),
  }),
  plan({ facts: f, files, bootLinks, old, pre, next, adds, deletions }) {
    const wanted = new Set(files.map((x) => x.path));
    const links = bootLinks?.[f.init] ?? [];
    for (const l of links)
      if (f.bootLinks.get(l.path) !== l.target)
        adds.push({ kind: 'bootlink', action: 'create', path: l.path, target: l.target });
    for (const p of old.owned.files)
      if (!wanted.has(p) && !links.some((l) => l.path === p) && (f.bootLinks.get(p) ?? '-') !== '-')
        deletions.push({ kind: 'bootlink', action: 'delete', path: p, target: f.bootLinks.get(p)! });
    next.owned.files.push(...links.map((l) => l.path));
    pre.owned.files.push(...links.map((l) => l.path));
  },
  record: (c) =>
    c.action === 'create'
      ? { action: 'create', target: c.path, from: null, to: c.target }
      : { action: 'delete', target: c.path, from: c.target, to: null },
  describe: (c) => (c.action === 'create' ? `boot: link ${c.path} -> ${c.target}` : `boot: remove ${c.path}`),
  command: (c) =>
    c.action === 'create'
      ? sh`{ [ -d ${c.path.replace(/\/[^/]+$/, '')} ] || mkdir -p ${c.path.replace(/\/[^/]+$/, '')}; } && ln -sfn ${c.target} ${c.path}`
      : sh`rm -f ${c.path}`,
} satisfies CommandResource<BootlinkChange>;
