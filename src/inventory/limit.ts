// --limit host patterns, as Ansible reads them: a list separated by "," or ":", where each term
// is a host, a group (the inventory's groups, the role groups `directors`, `real_servers`,
// `clients`, and `all`), a glob (`rs*`, `web-?`), or a regex after "~"; "!term" excludes and
// "&term" intersects. Positive terms are joined first, then intersected, then excluded, so the
// order of terms does not matter. A term that matches nothing is a usage error: a typo in `!rs22`
// would otherwise leave rs2 selected.
import { globRegExp } from '../util/glob.js';
import { UsageError } from '../errors.js';
import { quoted } from '../util/printable.js';
import type { Cluster, Role } from './model.js';

export interface LimitTerm {
  op: 'include' | 'exclude' | 'intersect';
  /** The term as written, without its operator. */
  text: string;
  match: (name: string) => boolean;
}

/** The role groups every inventory has, beside its own groups. */
export const ROLE_GROUPS: Readonly<Record<string, Role | 'all'>> = {
  all: 'all',
  directors: 'director',
  real_servers: 'real_server',
  clients: 'client',
};

const GLOB = /[*?[]/;
const OPS: Readonly<Record<string, LimitTerm['op']>> = { '!': 'exclude', '&': 'intersect' };
const OP_CHAR: Readonly<Record<LimitTerm['op'], string>> = { include: '', exclude: '!', intersect: '&' };

const globToRegExp = (glob: string): RegExp =>
  globRegExp(glob, {
    star: '.*',
    one: '.',
    unclosed: () => {
      throw new UsageError(`--limit: unclosed "[" in ${quoted(glob)}`);
    },
  });

function matcher(text: string): (name: string) => boolean {
  if (text.startsWith('~')) {
    let re: RegExp;
    try {
      re = new RegExp(text.slice(1));
    } catch (e) {
      throw new UsageError(`--limit: ${quoted(text)} is not a regular expression: ${(e as Error).message}`);
    }
    return (n) => re.test(n);
  }
  if (GLOB.test(text)) {
    const re = globToRegExp(text);
    return (n) => re.test(n);
  }
  return (n) => n === text;
}

/** Parses --limit's words (the option may be given once; commas and colons separate terms). IPv6
 * addresses are not host names here, so ":" always separates. */
export function parseLimit(value: string): LimitTerm[] {
  const terms = value
    .split(/[,:]/)
    .map((s) => s.trim())
    .filter(Boolean);
  if (!terms.length) throw new UsageError('--limit: expected host or group patterns, e.g. "web,rs*,!rs2"');
  return terms.map((t) => {
    const op = OPS[t[0]!] ?? 'include';
    const text = op === 'include' ? t : t.slice(1);
    if (!text) throw new UsageError(`--limit: ${quoted(t)} names nothing after "${t[0]}"`);
    return { op, text, match: matcher(text) };
  });
}

/** Every group of the cluster with its hosts in inventory order: the inventory's groups, then the
 * role groups (an inventory group of the same name adds its hosts to the role's). */
export function clusterGroups(c: Cluster): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const add = (g: string, h: string) => {
    const list = groups.get(g);
    if (!list) groups.set(g, [h]);
    else if (!list.includes(h)) list.push(h);
  };
  for (const h of c.hosts.values()) for (const g of h.groups) add(g, h.name);
  for (const [g, role] of Object.entries(ROLE_GROUPS)) {
    if (!groups.has(g)) groups.set(g, []);
    for (const h of c.hosts.values()) if (role === 'all' || h.roles.has(role)) add(g, h.name);
  }
  return groups;
}

function termHosts(c: Cluster, groups: Map<string, string[]>, t: LimitTerm): Set<string> {
  const out = new Set<string>();
  for (const h of c.hosts.keys()) if (t.match(h)) out.add(h);
  for (const [g, members] of groups) if (t.match(g)) for (const h of members) out.add(h);
  return out;
}

/** The hosts --limit selects, in inventory order; undefined (every host) without --limit. */
export function resolveLimit(c: Cluster, terms: LimitTerm[] | undefined): string[] | undefined {
  if (!terms) return undefined;
  const groups = clusterGroups(c);
  const sets = terms.map((t) => {
    const hosts = termHosts(c, groups, t);
    if (!hosts.size) {
      const ownGroups = [...groups.keys()].filter((g) => !(g in ROLE_GROUPS));
      throw new UsageError(
        `--limit: ${quoted(t.text)} matches no host or group of the inventory (hosts: ${[...c.hosts.keys()].join(', ')}; ` +
          `groups: ${[...ownGroups, ...Object.keys(ROLE_GROUPS)].join(', ')})`,
      );
    }
    return { t, hosts };
  });
  const include = sets.filter((s) => s.t.op === 'include');
  let selected = [...c.hosts.keys()].filter((h) => !include.length || include.some((s) => s.hosts.has(h)));
  for (const s of sets) if (s.t.op === 'intersect') selected = selected.filter((h) => s.hosts.has(h));
  for (const s of sets) if (s.t.op === 'exclude') selected = selected.filter((h) => !s.hosts.has(h));
  if (!selected.length)
    throw new UsageError(`--limit ${quoted(terms.map((t) => OP_CHAR[t.op] + t.text).join(','))} leaves no host`);
  return selected;
}
