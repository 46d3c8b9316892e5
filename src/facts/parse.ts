// Parses the facts script's output into typed facts (each resource module parses its sections).
// Pure; tested on real output.
import type { FamilyName, InitName, PackageManagerName } from '../os/index.js';
import type { BootUnitFact } from '../resources/bootunit.js';
import type { BootScript } from '../resources/boot-scripts.js';
import type { KeepalivedVersion } from './keepalived-version.js';
import { parseSections } from '../resources/index.js';
import type { Section } from '../resources/types.js';
import type { ScriptFacts } from './scripts.js';
import type { Lease } from '../lock/lease.js';
import { FACT_SECTIONS, SECTION } from './script.js';

export interface AddressFact {
  dev: string;
  family: 4 | 6;
  address: string;
  prefix: number;
  label?: string;
}

export interface FileFact {
  mode: number;
  owner: string;
  group: string;
  sha256: string;
}

export interface HostFacts {
  /** family: the one os-release names (os/index.ts: hostOs falls back on the package manager). */
  os: { id: string; idLike: string[]; family: FamilyName; pretty: string };
  kernel: string;
  init: InitName;
  pkgManager?: PackageManagerName;
  /** tar is installed (the apply sends files and boot links as one archive: apply/session.ts). */
  tar?: boolean;
  /** util-linux's rename.ul is installed (Debian, Ubuntu): one process renames several files. */
  renameUl?: boolean;
  packages: Set<string>;
  modulesAvailable: Set<string>;
  modulesLoaded: Set<string>;
  /** Dotted keys: net.ipv4.conf.all.arp_ignore -> "0". */
  sysctl: Map<string, string>;
  links: Map<string, { up: boolean }>;
  addresses: AddressFact[];
  defaultRoute4?: { via?: string; dev?: string; raw: string };
  files: Map<string, FileFact | null>;
  /** `ipvsadm -Sn` text, or null when IPVS is not loaded or ipvsadm is absent. */
  ipvs: string | null;
  /** `ipvsadm -Ln` text (weights and connection counts), or null as above. */
  ipvsList: string | null;
  /** `ipvsadm -Ln --thresholds` text when it was read (the inventory or the rules file has some). */
  ipvsThresholds: string | null;
  /** LVSCTL lines of iptables-save / ip6tables-save, per family and table. */
  netfilter: Record<'iptables' | 'ip6tables', Record<string, string[]>>;
  /** `ipvsadm --set` values now (tcp tcpfin udp), when IPVS is loaded. */
  ipvsTimeouts?: [number, number, number];
  keepalivedPids: number[];
  /** `keepalived --version`, parsed; null where keepalived is not installed (or printed no version). */
  keepalivedVersion: KeepalivedVersion | null;
  /** Whether the distribution's keepalived service starts at boot (`systemctl is-enabled`'s word:
   * enabled, disabled, masked...); null where keepalived is not installed. */
  keepalivedBoot: string | null;
  /** Boot symlink path -> its target ("-" when absent). */
  bootLinks: Map<string, string>;
  /** lvsctl.service as systemd holds it; null where systemd is not PID 1 or systemctl is absent. */
  bootUnit: BootUnitFact | null;
  /** The operator's scripts keepalived runs, and their users (facts/scripts.ts). */
  scripts: ScriptFacts;
  /** Current content of managed files (small ones), for diffs. */
  contents: Map<string, string>;
  state: string | null;
  /** Boot-time scripts that program IPVS; null when not looked for (only a takeover does). */
  bootScripts: BootScript[] | null;
  /** Another run's live lease on the host's lock (plan and status say so), or null. */
  lock: Lease | null;
}

export function splitSections(out: string): Map<Section, string[]> {
  const map = new Map<Section, string[]>();
  let cur: Section | undefined;
  for (const line of out.split('\n')) {
    if (line.startsWith(SECTION)) {
      const name = line.slice(SECTION.length).trim() as Section;
      if (!FACT_SECTIONS.includes(name)) throw new Error(`facts: unknown section ${name}`);
      cur = name;
      map.set(cur, []);
    } else if (cur) map.get(cur)!.push(line);
  }
  for (const s of FACT_SECTIONS)
    if (!map.has(s)) throw new Error(`facts: section ${s} missing (the facts script did not finish)`);
  for (const [k, v] of map) {
    while (v.length && v.at(-1) === '') v.pop();
    map.set(k, v);
  }
  return map;
}

export function parseFacts(out: string): HostFacts {
  const s = splitSections(out);
  return parseSections((k) => s.get(k)!);
}
