// Packages: installed with the host's package manager; those lvsctl installs are recorded, so
// `down --purge` removes exactly those (plan/host.ts plans the purge, after every other removal).
import type { HostFacts } from '../facts/parse.js';
import { packageManager, type PackageManagerName } from '../os/index.js';
import { fragment, type CommandResource } from './types.js';

export type PackagesChange = {
  kind: 'packages';
  action: 'install' | 'purge';
  manager: PackageManagerName;
  packages: string[];
};

// The packages asked are the script's arguments ($@).
export const packagesFacts = fragment(
  ['packages'],
  String.raw`s packages
# Debian: the status file's paragraphs of these packages (grep: a fifth of dpkg-query's time on a
# host with many packages), unless dpkg has pending updates to merge; the parser reads Status.
# No package asked (real servers): nothing to run (dpkg-query with no name lists every package).
u=; for f in /var/lib/dpkg/updates/[0-9]*; do [ -e "$f" ] && u=1; break; done
if [ $# -eq 0 ]; then :
elif [ -r /var/lib/dpkg/status ] && [ -z "$u" ]; then
  for p in "$@"; do set -- "$@" -e "Package: $p"; shift; done
  grep -x -F -A3 "$@" /var/lib/dpkg/status || :
elif command -v dpkg-query >/dev/null 2>&1; then dpkg-query -W -f='${'${'}db:Status-Abbrev} ${'${'}Package}\n' "$@" 2>/dev/null | while read -r st p; do case $st in ii*) echo "$p" ;; esac; done
elif command -v rpm >/dev/null 2>&1; then rpm -q --qf '%{NAME}\n' "$@" 2>/dev/null | grep -v 'not installed'; fi
`,
);

/** Installed packages: paragraphs of dpkg's status file (`Package:` then its `Status:`, wanted
 * install and installed, as dpkg-query's `ii`), or one name a line (dpkg-query, rpm). */
function parsePackages(lines: string[]): Set<string> {
  const out = new Set<string>();
  if (!lines.some((l) => l.startsWith('Package: '))) {
    for (const l of lines) if (l.trim()) out.add(l.trim());
    return out;
  }
  let pkg = '';
  for (const l of lines) {
    if (l.startsWith('Package: ')) pkg = l.slice(9).trim();
    else if (l === '--') pkg = '';
    else if (pkg && /^Status: install \S+ installed$/.test(l)) out.add(pkg);
  }
  return out;
}

export const packages = {
  parse: (get): Pick<HostFacts, 'packages'> => ({ packages: parsePackages(get('packages')) }),
  plan({ desired: d, facts: f, old, pre, next, adds }) {
    const missing = d.packages.filter((p) => !f.packages.has(p));
    if (missing.length) adds.push({ kind: 'packages', action: 'install', manager: f.pkgManager!, packages: missing });
    pre.owned.packages = next.owned.packages = [...new Set([...old.owned.packages, ...missing])];
  },
  record: (c) => ({
    action: c.action,
    target: c.packages.join(' '),
    from: c.action === 'install' ? null : 'installed',
    to: c.action === 'install' ? 'installed' : null,
  }),
  describe: (c) => `${c.action} packages: ${c.packages.join(' ')} (${c.manager})`,
  command(c) {
    const m = packageManager(c.manager);
    return c.action === 'install' ? m.install(c.packages) : m.purge(c.packages);
  },
} satisfies CommandResource<PackagesChange>;
