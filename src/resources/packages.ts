// Packages: installed with the host's package manager; those lvsctl installs are recorded, so
// `down --purge` removes exactly those (plan/host.ts plans the purge, after every other removal).
import type { HostFacts } from '../facts/parse.js';
import { PACKAGE_MANAGERS, packageManager, type PackageManagerName } from '../os/index.js';
import { fragment, type CommandResource } from './types.js';

export type PackagesChange = {
  kind: 'packages';
  action: 'install' | 'purge';
  manager: PackageManagerName;
  packages: string[];
};

// The packages asked are the script's arguments ($@); each package database's branch comes from its
// family (os/). Packages of one database are listed once (dnf and yum share rpm's).
const branches = [...new Map(PACKAGE_MANAGERS.flatMap((m) => m.installed).map((b) => [b.when, b])).values()];
export const packagesFacts = fragment(
  ['packages'],
  String.raw`s packages
# No package asked (real servers): nothing to run (dpkg-query with no name lists every package).
if [ $# -eq 0 ]; then :
` +
    branches
      .map((b) => `elif ${b.when}; then ${b.list}\n`)
      .join('')
      .replace(/\n$/, '; fi\n'),
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
