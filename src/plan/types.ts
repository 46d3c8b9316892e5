// A plan is data: per host, an ordered list of changes, each with a description and a diff. It can
// be printed, serialised with --json (secrets masked), and applied exactly.
import type { DesiredAddress } from '../desired/types.js';
import type { NetfilterChain, NetfilterJump } from '../render/netfilter.js';
import { plural } from '../util/plural.js';

export interface DesiredFile {
  path: string;
  content: string;
  mode: number;
  owner?: string;
  group?: string;
  /** Holds a secret: the diff masks it, the file is written 0600. */
  secret?: boolean;
  /** keepalived.conf is checked with `keepalived -t` on the host before it replaces the old one. */
  validate?: 'keepalived';
}

export type Change =
  | { kind: 'packages'; action: 'install' | 'purge'; manager: 'apt-get' | 'dnf' | 'yum'; packages: string[] }
  | { kind: 'state'; phase: 'before' | 'after' | 'remove'; content: string }
  | { kind: 'file'; action: 'create' | 'update'; file: DesiredFile; diff: string }
  | { kind: 'file'; action: 'delete'; path: string; diff: string }
  | { kind: 'module'; name: string }
  | { kind: 'sysctl'; key: string; from?: string; to: string; restore: boolean }
  | { kind: 'link'; dev: string; up: boolean }
  | { kind: 'address'; action: 'add' | 'del'; addr: DesiredAddress }
  | { kind: 'route'; action: 'set'; via: string; from?: string }
  | { kind: 'route'; action: 'restore'; to: string; from?: string }
  | { kind: 'ipvs'; lines: string[]; owned: string[] }
  | {
      kind: 'netfilter';
      action: 'apply';
      cmd: 'iptables' | 'ip6tables';
      file: string;
      chains: NetfilterChain[];
    }
  | { kind: 'netfilter'; action: 'remove'; cmd: 'iptables' | 'ip6tables'; chains: NetfilterJump[] }
  | { kind: 'timeouts'; to: [number, number, number]; from?: [number, number, number]; restore: boolean }
  | { kind: 'keepalived'; action: 'start' | 'reload' | 'stop' }
  | { kind: 'keepalived-boot'; enable: boolean; from: string | null; restore: boolean }
  | { kind: 'bootlink'; action: 'create' | 'delete'; path: string; target: string };

/** Changes the engine carries out itself: files and the state file through its atomic writes,
 * IPVS as one `ipvsadm -R` batch with a read-back. Every other kind is one shell command
 * (apply/commands.ts), so a new kind cannot go unapplied: commandFor must handle it. */
type EngineKind = 'state' | 'file' | 'ipvs';
export type EngineChange = Extract<Change, { kind: EngineKind }>;
export type CommandChange = Exclude<Change, { kind: EngineKind }>;
const ENGINE_KINDS: ReadonlySet<string> = new Set<EngineKind>(['state', 'file', 'ipvs']);
export const isEngineChange = (c: Change): c is EngineChange => ENGINE_KINDS.has(c.kind);

export interface HostPlan {
  host: string;
  changes: Change[];
}

export const fmtAddr = (a: DesiredAddress) =>
  `${a.address}/${a.prefix} dev ${a.dev}${a.label ? ` label ${a.label}` : ''}`;

/** One line for people. */
export function describe(c: Change): string {
  switch (c.kind) {
    case 'packages':
      return `${c.action} packages: ${c.packages.join(' ')} (${c.manager})`;
    case 'state':
      return c.phase === 'remove'
        ? "remove the state file (nothing of lvsctl's is left here)"
        : `record original settings and owned objects in the state file (${c.phase} changes)`;
    case 'file':
      return c.action === 'delete'
        ? `remove ${c.path}`
        : `${c.action} ${c.file.path} (mode ${c.file.mode.toString(8).padStart(4, '0')})`;
    case 'module':
      return `load kernel module ${c.name}`;
    case 'sysctl':
      return `${c.restore ? 'restore' : 'set'} ${c.key}: ${c.from ?? '(absent)'} -> ${c.to}`;
    case 'link':
      return `bring ${c.dev} ${c.up ? 'up' : 'down'}`;
    case 'address':
      return `${c.action === 'add' ? 'add' : 'remove'} address ${fmtAddr(c.addr)}`;
    case 'route':
      return c.action === 'set'
        ? `default route: ${c.from ?? '(none)'} -> via ${c.via}`
        : `restore default route: ${c.from ?? '(none)'} -> ${c.to || '(none)'}`;
    case 'ipvs':
      return `IPVS: ${plural(c.lines.length, 'ipvsadm line')} (${summariseIpvs(c.lines)})`;
    case 'netfilter':
      return c.action === 'apply'
        ? `${c.cmd}: load ${c.file} (${plural(c.chains.flatMap((ch) => ch.rules).length, 'rule')}; ${jumpWords(c.chains)})`
        : `${c.cmd}: remove chains and their jumps ${jumpWords(c.chains)}`;
    case 'timeouts':
      return `${c.restore ? 'restore' : 'set'} IPVS timeouts (tcp tcpfin udp): ${c.from?.join(' ') ?? '(unknown)'} -> ${c.to.join(' ')}`;
    case 'keepalived':
      return c.action === 'reload' ? 'reload keepalived (SIGHUP: connections kept)' : `${c.action} keepalived`;
    case 'keepalived-boot':
      return `${c.restore ? 'restore' : 'set'} keepalived at boot: ${c.from ?? '(not installed)'} -> ${c.enable ? 'enabled' : 'disabled'}`;
    case 'bootlink':
      return c.action === 'create' ? `boot: link ${c.path} -> ${c.target}` : `boot: remove ${c.path}`;
  }
}

const jumpWords = (jumps: ReadonlyArray<NetfilterJump>) =>
  jumps.map((j) => `${j.table} ${j.hook} -> ${j.chain}`).join(', ');

function summariseIpvs(lines: string[]): string {
  const n: Record<string, number> = {};
  for (const l of lines) n[l.slice(0, 2)] = (n[l.slice(0, 2)] ?? 0) + 1;
  const names: Record<string, string> = {
    '-A': 'add service',
    '-E': 'edit service',
    '-D': 'delete service',
    '-a': 'add server',
    '-e': 'edit server',
    '-d': 'delete server',
  };
  return Object.entries(n)
    .map(([k, v]) => `${v} ${names[k] ?? k}`)
    .join(', ');
}

/** The diff shown for a change (files: unified diff; others: their lines). */
export function changeDiff(c: Change): string {
  switch (c.kind) {
    case 'file':
      return c.diff;
    case 'ipvs':
      return c.lines.join('\n');
    case 'netfilter':
      return c.action === 'apply'
        ? c.chains.flatMap((ch) => ch.rules.map((l) => `+ -A ${ch.chain} ${l}`)).join('\n')
        : '';
    case 'packages':
    case 'state':
    case 'module':
    case 'sysctl':
    case 'link':
    case 'address':
    case 'route':
    case 'timeouts':
    case 'keepalived':
    case 'keepalived-boot':
    case 'bootlink':
      return ''; // their description says it all
  }
}
