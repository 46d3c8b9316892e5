// What lvsctl needs to know of an operating system, as data: per family (os/debian.ts, os/rhel.ts)
// how os-release names it, its package managers and its firewall front-end; per init system
// (os/init/) how a service is started, reloaded, stopped and enabled at boot.
import type { Shell } from '../util/quote.js';

export interface PackageManager<N extends string = string> {
  /** The command, as the facts script finds it and a plan records it. */
  readonly name: N;
  install(packages: string[]): Shell;
  purge(packages: string[]): Shell;
  /** How the facts script lists which of the packages in "$@" are installed: shell branches, each a
   * test and the command run when it holds; the output is one name a line, or dpkg status paragraphs
   * (resources/packages.ts reads both). The first branch whose test holds, of every family, runs. */
  readonly installed: readonly { readonly when: string; readonly list: string }[];
}

export interface Firewall {
  /** Loads a rules file into the live tables, leaving the rest of them as they are. */
  load(cmd: 'iptables' | 'ip6tables', file: string): Shell;
}

export interface Family<N extends string = string> {
  readonly name: N;
  /** os-release words (ID or ID_LIKE) that name this family. */
  readonly ids: readonly string[];
  /** In the order the facts script looks for them: a host's is the first it has. */
  readonly packageManagers: readonly PackageManager[];
  readonly firewall: Firewall;
}

export type ServiceAction = 'start' | 'reload' | 'stop';

export interface InitSystem<N extends string = string> {
  /** The facts script's word for it. */
  readonly name: N;
  service(name: string, action: ServiceAction): Shell;
  /** Whether the service starts at boot. */
  boot(name: string, enable: boolean): Shell;
}
