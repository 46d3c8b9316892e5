// The options each command receives from commander, in one place (main.ts declares them).
import type { LimitTerm } from '../inventory/limit.js';

/** Every command that reads an inventory. */
export interface CommonOptions {
  inventory: string;
  /** --limit's patterns, parsed (inventory/limit.ts resolves them against the inventory). */
  limit?: LimitTerm[];
  json: boolean;
  verbose: boolean;
  forks: number;
}

/** Every command that contacts hosts. */
export interface HostOptions extends CommonOptions {
  acceptNewHostKeys: boolean;
  /** -F: the ssh_config file ssh -G resolves hosts with ("none": none at all) */
  sshConfig?: string;
  /** Commands that change hosts: seconds to wait for another run's lock (0: refuse at once)... */
  waitLock?: number;
  /** ...and seconds this run's leases last unless renewed. */
  lockTtl?: number;
  /** Plan and change hosts that another cluster's inventory set up (their state file names it). */
  takeover?: boolean;
  /** With --takeover: disable the boot-time scripts that program IPVS (down enables them again). */
  disableBootScripts?: boolean;
  /** --timings: the wall time of each step on each host, after the command's output and in --json. */
  timings?: boolean;
}

/** plan, up, start, stop, down. */
export interface ConvergeOptions extends HostOptions {
  /** false with --no-verify */
  verify?: boolean;
  purge?: boolean;
  /** plan --out: where to save the plan. */
  out?: string;
  /** up --plan: apply only if the plan now equals this saved one. */
  plan?: string;
  /** stop, down: do not ask on a terminal. */
  yes?: boolean;
}

export interface VerifyOptions extends HostOptions {
  failover: boolean;
}

export interface DrainOptions extends HostOptions {
  remove: boolean;
  timeout: number; // seconds
}

export interface ValidateOptions extends CommonOptions {
  /** false with --no-secrets: the VRRP password need not be at hand. */
  secrets: boolean;
}

export interface RenderOptions extends CommonOptions {
  out: string;
  force: boolean;
}

export interface InitOptions {
  mode: 'nat' | 'dr' | 'tun';
  out: string;
  force: boolean;
}

export interface ImportOptions {
  /** --from, once per director: [user@]host[:port] or an ssh_config Host. */
  from: string[];
  out: string;
  force: boolean;
  cluster?: string;
  realServers: boolean;
  become: boolean;
  acceptNewHostKeys: boolean;
  sshConfig?: string;
  json: boolean;
  verbose: boolean;
  forks: number;
}
