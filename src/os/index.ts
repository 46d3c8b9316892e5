// A host's OS family and init system, picked from its facts. Adding a family: its file (like
// os/debian.ts) and one line in FAMILIES; adding an init system: its file and one line in INIT_SYSTEMS.
import { debian } from './debian.js';
import { sysv } from './init/sysv.js';
import { systemd } from './init/systemd.js';
import { iptables } from './iptables.js';
import { rhel } from './rhel.js';
import type { Family, InitSystem, PackageManager } from './types.js';

/** Recognised in this order: a host's family is the first that one of its os-release words names. */
export const FAMILIES = [debian, rhel] as const;
/** A host no family names: no package manager lvsctl knows, the iptables front-end. */
const OTHER = { name: 'other', ids: [], packageManagers: [], firewall: iptables } as const satisfies Family;
export type FamilyName = (typeof FAMILIES)[number]['name'] | typeof OTHER.name;

export type PackageManagerName = (typeof FAMILIES)[number]['packageManagers'][number]['name'];
/** Every family's package managers, in the order the facts script looks for them. */
export const PACKAGE_MANAGERS: readonly PackageManager<PackageManagerName>[] = FAMILIES.flatMap(
  (f): readonly PackageManager<PackageManagerName>[] => f.packageManagers,
);

/** The facts script tells systemd from the rest; the rest run SysV scripts. */
export const INIT_SYSTEMS = [systemd, sysv] as const;
export type InitName = (typeof INIT_SYSTEMS)[number]['name'];

const families: readonly Family<FamilyName>[] = FAMILIES;

/** The family os-release names (ID, ID_LIKE), or other. */
export function releaseFamily(release: { id: string; idLike: readonly string[] }): FamilyName {
  const words = [release.id, ...release.idLike];
  return (families.find((f) => words.some((w) => f.ids.includes(w))) ?? OTHER).name;
}

export const initSystem = (name: string): InitSystem => INIT_SYSTEMS.find((i) => i.name === name) ?? sysv;

/** A package manager by the name a plan records (names are unique across families). */
export const packageManager = (name: PackageManagerName): PackageManager =>
  PACKAGE_MANAGERS.find((m) => m.name === name)!;

export interface HostOs {
  family: Family<FamilyName>;
  init: InitSystem;
}

/** A host's family: the one its os-release names; where it names none lvsctl knows, the family of
 * the package manager the facts found; else other. */
export function hostOs(facts: {
  os: { id: string; idLike: readonly string[] };
  init: string;
  pkgManager?: string;
}): HostOs {
  const named = releaseFamily(facts.os);
  const family =
    families.find((f) => f.name === named) ??
    families.find((f) => f.packageManagers.some((m) => m.name === facts.pkgManager)) ??
    OTHER;
  return { family, init: initSystem(facts.init) };
}
