// What a resource module holds (resources/index.ts lists them): the facts it reads, its plan step
// (the changes, and what it records in the state file), and for its kind of change the words people
// read and the command that makes it.
import type { DesiredHost } from '../desired/types.js';
import type { Drained } from '../desired/intent.js';
import type { HostFacts } from '../facts/parse.js';
import type { HostOs, InitName } from '../os/index.js';
import type { NetfilterFile } from '../render/netfilter.js';
import type { Shell } from '../util/quote.js';
import type { AddressChange } from './addresses.js';
import type { BootlinkChange } from './bootlinks.js';
import type { BootUnitChange } from './bootunit.js';
import type { BootScriptChange } from './boot-scripts.js';
import type { DesiredFile, FileChange } from './files.js';
import type { FACTS } from './index.js';
import type { IpvsChange } from './ipvs.js';
import type { KeepalivedBootChange, KeepalivedChange } from './keepalived.js';
import type { LinkChange } from './links.js';
import type { ModuleChange } from './modules.js';
import type { NetfilterChange } from './netfilter.js';
import type { PackagesChange } from './packages.js';
import type { RouteChange } from './route.js';
import type { HostState, StateChange } from './state.js';
import type { SysctlChange } from './sysctl.js';
import type { TimeoutsChange } from './timeouts.js';

export type Change =
  | PackagesChange
  | StateChange
  | FileChange
  | ModuleChange
  | SysctlChange
  | LinkChange
  | AddressChange
  | RouteChange
  | IpvsChange
  | NetfilterChange
  | TimeoutsChange
  | KeepalivedChange
  | KeepalivedBootChange
  | BootlinkChange
  | BootUnitChange
  | BootScriptChange;

/** Changes the engine carries out itself: files and the state file through its atomic writes,
 * IPVS as one `ipvsadm -R` batch with a read-back. Every other kind is one shell command, so a new
 * kind cannot go unapplied: its module must have a command (resources/index.ts). */
export type EngineKind = 'state' | 'file' | 'ipvs';
export type EngineChange = Extract<Change, { kind: EngineKind }>;
export type CommandChange = Exclude<Change, { kind: EngineKind }>;

/** A piece of the facts script (facts/script.ts runs them all as one): the sections it prints, in
 * order, and the shell that prints them. */
export interface FactsFragment<S extends string = string> {
  readonly sections: readonly S[];
  readonly script: string;
}
export const fragment = <const S extends string>(sections: readonly S[], script: string): FactsFragment<S> => ({
  sections,
  script,
});

export type Section = (typeof FACTS)[number]['sections'][number];
/** One section's lines, as the facts script printed them. */
export type SectionReader = (section: Section) => string[];

export interface PlanInput {
  desired: DesiredHost;
  files: DesiredFile[];
  facts: HostFacts;
  /** Boot symlinks per init system (the planner picks by the host's init). */
  bootLinks?: Readonly<Record<InitName, ReadonlyArray<{ path: string; target: string }>>>;
  /** IPVS delta for a director, computed from the live table (plan/ipvs.ts). */
  ipvs?: {
    lines: string[];
    owned: string[];
    /** ipvsadm -R lines of live services lvsctl takes over now (not created by it): recorded. */
    found?: string;
  };
  /** Netfilter files a director loads (render/netfilter.ts); absent: none wanted. */
  netfilter?: ReadonlyArray<NetfilterFile>;
  /** IPVS timeouts a director should have (tcp tcpfin udp). */
  timeouts?: [number, number, number];
  /** Secret values to mask in diffs. */
  secrets?: string[];
  /** What the state file records beyond the inventory (intent.ts: recordFor). */
  record?: { stopped: boolean; drained: Drained };
  /** The inventory's cluster, recorded in the state file; another cluster's host is refused unless `takeover`. */
  owner?: { cluster: string; takeover: boolean; disableBootScripts?: boolean };
  /** `down`: the desired state is empty; the state file goes too, and with purge the packages lvsctl installed. */
  forget?: { purge: boolean };
  /** `stop`: this command takes the service down here (record.stopped only says it stays down). */
  stopping?: boolean;
}

/** What the plan steps share, in phase order: each adds its changes and records in the state. */
export interface PlanContext extends PlanInput {
  secrets: string[];
  /** The state file as the host has it. */
  old: HostState;
  /** old ∪ new: written before the changes. */
  pre: HostState;
  /** Written after them. */
  next: HostState;
  adds: Change[];
  removals: Change[];
  /** After the removals, which may still need them (the boot unit's ExecStop runs the host's
   * script): the files and boot links that go, between the boot unit's stop and its reload. */
  deletions: Change[];
  /** Files this plan creates or updates (the files step fills it; later steps reload on them). */
  changedFiles: Set<string>;
}

export interface RecordFields {
  action: string;
  target: string;
  from: string | null;
  to: string | null;
}

export interface Resource<C extends Change> {
  /** Its part of the host's facts, from the sections it reads. */
  parse(get: SectionReader): Partial<HostFacts>;
  plan?(ctx: PlanContext): void;
  /** The change for machines (--json, plan/record.ts): its action, target, and the target's value
   * or state before and after (null: absent or not known). */
  record(c: C): RecordFields;
  /** One line for people. */
  describe(c: C): string;
  /** What is shown below that line (files: unified diff); none where the line says it all. */
  diff?(c: C): string;
}

export interface CommandResource<C extends CommandChange> extends Resource<C> {
  command(c: C, host: HostOs): Shell;
}
