// The facts script: one command per host that reports everything the planner needs, in sections.
// It changes nothing (in particular it never runs ipvsadm before ip_vs is loaded, because ipvsadm
// would load the module). Each resource module prints its sections (resources/index.ts: FACTS).
import { sh, Shell } from '../util/quote.js';

import { STATE_FILE } from '../render/paths.js';
import { FACTS } from '../resources/index.js';

export { STATE_FILE };
export const SECTION = '@@lvsctl ';

/** Sections, in order. The parser relies on these names. */
export const FACT_SECTIONS = FACTS.flatMap((f) => f.sections);

export function factsScript(opts: {
  packages: string[];
  files: string[];
  bootLinks?: string[];
  known?: string[];
  list?: boolean;
  /** A director in the inventory: keepalived's processes, boot state and version and the netfilter
   * tables are read (elsewhere only where the host's record names keepalived or iptables: a host that
   * was a director before). */
  director?: boolean;
  /** The reading run's lock id: its own lease is not reported (lock/lease.ts lockFacts). */
  runId?: string;
  /** Packages read only where the host's record names them (lvsctl installed them: `down --purge`). */
  recordedPackages?: string[];
  thresholds?: boolean;
  /** Look for boot-time scripts that program IPVS (a takeover: resources/boot-scripts.ts). */
  bootScan?: boolean;
  /** The operator's scripts to check, and the users they run as (facts/scripts.ts). */
  scripts?: string[];
  scriptUsers?: string[];
}): Shell {
  const body =
    String.raw`
export LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
s() { printf '\n${SECTION}%s\n' "$1"; }
# Shell built-ins where they do: every process costs milliseconds on a busy or emulated host.
cat_() { [ -r "$1" ] && while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done <"$1"; :; }
# lvsctl's record first (printed last): what it names decides what else is worth a process.
st=; [ -r ${STATE_FILE} ] && while IFS= read -r l || [ -n "$l" ]; do st="$st$l
"; done <${STATE_FILE}
recorded() { case $st in *"$1"*) return 0 ;; esac; return 1; }
for p in $RECORDED_PKGS; do recorded "\"$p\"" && set -- "$@" "$p"; done
` + FACTS.map((f) => f.script).join('');
  // Values reach the script only as quoted positional arguments and one quoted variable.
  return sh`RUN_ID=${opts.runId ?? ''} DIRECTOR=${opts.director ? '1' : ''} RECORDED_PKGS=${(opts.recordedPackages ?? []).join(' ')} FILES=${opts.files.join(' ')} BOOTLINKS=${(opts.bootLinks ?? []).join(' ')} KNOWN=${(opts.known ?? []).join(' ')} LIST=${opts.list ? '1' : ''} THRESH=${opts.thresholds ? '1' : ''} BOOTSCAN=${opts.bootScan ? '1' : ''} SCRIPTS=${(opts.scripts ?? []).join(' ')} SCRIPT_USERS=${(opts.scriptUsers ?? []).join(' ')} sh -c ${body} lvsctl-facts ${opts.packages}`;
}
