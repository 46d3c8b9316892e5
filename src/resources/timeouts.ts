// IPVS timeouts (ipvsadm --set): per network namespace, lost at reboot (the director script sets
// them). The original is recorded, and restored when no longer wanted.
import type { HostFacts } from '../facts/parse.js';
import { sh } from '../util/quote.js';
import { type CommandResource } from './types.js';

export type TimeoutsChange = {
  kind: 'timeouts';
  to: [number, number, number];
  from?: [number, number, number];
  restore: boolean;
};

const KERNEL_TIMEOUTS: [number, number, number] = [900, 120, 300];

export const timeouts = {
  // The @@timeouts line of the ipvs section (resources/ipvs.ts prints it).
  parse(get): Pick<HostFacts, 'ipvsTimeouts'> {
    const tline = get('ipvs').find((l) => l.startsWith('@@timeouts '));
    return tline ? { ipvsTimeouts: tline.split(' ').slice(1, 4).map(Number) as [number, number, number] } : {};
  },
  plan({ timeouts: want, facts: f, old, pre, next, adds, removals }) {
    const liveT = f.ipvsTimeouts;
    if (want) {
      if (!old.originals.ipvsTimeouts)
        pre.originals.ipvsTimeouts = next.originals.ipvsTimeouts = liveT ?? KERNEL_TIMEOUTS;
      if (liveT?.join(' ') !== want.join(' ')) adds.push({ kind: 'timeouts', to: want, from: liveT, restore: false });
    } else if (old.originals.ipvsTimeouts) {
      delete next.originals.ipvsTimeouts;
      if (liveT && liveT.join(' ') !== old.originals.ipvsTimeouts.join(' '))
        removals.push({ kind: 'timeouts', to: old.originals.ipvsTimeouts, from: liveT, restore: true });
    }
  },
  record: (c) => ({
    action: c.restore ? 'restore' : 'set',
    target: 'IPVS timeouts (tcp tcpfin udp)',
    from: c.from?.join(' ') ?? null,
    to: c.to.join(' '),
  }),
  describe: (c) =>
    `${c.restore ? 'restore' : 'set'} IPVS timeouts (tcp tcpfin udp): ${c.from?.join(' ') ?? '(unknown)'} -> ${c.to.join(' ')}`,
  command: (c) => sh`ipvsadm --set ${c.to}`,
} satisfies CommandResource<TimeoutsChange>;
