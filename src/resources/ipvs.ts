// The IPVS table: the caller computes the delta from the live table (plan/ipvs.ts); the engine
// sends it as one `ipvsadm -R` batch and reads the table back (an engine change: no command here).
import type { HostFacts } from '../facts/parse.js';
import { MANAGED_PATHS } from '../render/paths.js';
import { plural } from '../util/plural.js';
import { fragment, type Resource } from './types.js';

export type IpvsChange = { kind: 'ipvs'; lines: string[]; owned: string[] };

// Also the live timeouts (@@timeouts, which resources/timeouts.ts reads); $LIST and $THRESH say
// whether to read counters and thresholds.
export const ipvsFacts = fragment(
  ['ipvs'],
  String.raw`s ipvs
# The counters (ipvsadm -Ln) only when asked ($LIST: status); no shell read loop over a table of
# 10,000 lines (dash reads a pipe a byte at a time).
if [ -e /proc/net/ip_vs ] && command -v ipvsadm >/dev/null 2>&1; then
  ipvsadm -Sn; t=$(ipvsadm -L --timeout); case $t in 'Timeout (tcp tcpfin udp): '*) echo "@@timeouts ${'${'}t#*: }" ;; esac
  [ -z "$LIST" ] || ipvsadm -Ln | sed 's/^/@@list /'
  # Thresholds, which -S does not print: where the inventory sets some, or the rules file had some
  if [ -n "$THRESH" ] || grep -qs -e ' -[xy] ' ${MANAGED_PATHS.ipvsRules}; then ipvsadm -Ln --thresholds | sed 's/^/@@thr /'; fi
else echo '@@none'; fi
`,
);

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

export const ipvs = {
  parse(get): Pick<HostFacts, 'ipvs' | 'ipvsList' | 'ipvsThresholds'> {
    const all = get('ipvs');
    const list = all.filter((l) => l.startsWith('@@list ')).map((l) => l.slice(7));
    const thr = all.filter((l) => l.startsWith('@@thr ')).map((l) => l.slice(6));
    const table = all.filter(
      (l) => !l.startsWith('@@timeouts ') && !l.startsWith('@@list ') && !l.startsWith('@@thr '),
    );
    return {
      ipvs: table[0] === '@@none' ? null : table.join('\n'),
      ipvsList: list.length ? list.join('\n') : null,
      ipvsThresholds: thr.length ? thr.join('\n') : null,
    };
  },
  plan({ ipvs, pre, next, adds }) {
    if (!ipvs) return;
    if (ipvs.found) for (const s of [pre, next]) s.originals.ipvs = (s.originals.ipvs ?? '') + ipvs.found;
    if (ipvs.lines.length) adds.push({ kind: 'ipvs', lines: ipvs.lines, owned: ipvs.owned });
    next.owned.ipvs = ipvs.owned;
    pre.owned.ipvs = [...new Set([...pre.owned.ipvs, ...ipvs.owned])];
  },
  record: (c) => ({ action: 'apply', target: 'IPVS table', from: null, to: plural(c.lines.length, 'ipvsadm line') }),
  describe: (c) => `IPVS: ${plural(c.lines.length, 'ipvsadm line')} (${summariseIpvs(c.lines)})`,
  diff: (c) => c.lines.join('\n'),
} satisfies Resource<IpvsChange>;
