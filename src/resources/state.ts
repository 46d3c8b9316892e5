// The small state file lvsctl keeps on each host (/var/lib/lvsctl/state.json): the original value of
// every setting it changed, and what it owns. A mode switch or `down` restores and removes from it;
// nothing lvsctl did not record is ever removed. It also records what the operator asked of the
// host beyond the inventory (stopped, drained real servers), so later commands keep to it. Each
// resource's plan step records its part; plan/host.ts writes it before and after the changes (the
// engine writes it: no command here).
import type { Drained } from '../desired/intent.js';
import type { HostFacts } from '../facts/parse.js';
import { STATE_FILE } from '../render/paths.js';
import type { DisabledBootScript } from './boot-scripts.js';
import { fragment, type Resource } from './types.js';
import { parseRules } from '../ipvs/parse.js';
import { serviceKey } from '../identity/service.js';
import { plural } from '../util/plural.js';

export type StateChange = {
  kind: 'state';
  phase: 'before' | 'after' | 'remove';
  content: string;
  /** The cluster this host belonged to, taken over by this run (--takeover). */
  takeover?: string;
  /** What runs here that lvsctl did not create, recorded as found now (plan/host.ts foundNow). */
  found?: string;
};

// Last: cat_ is the script's own (facts/script.ts).
export const stateFacts = fragment(
  ['state'],
  String.raw`s state; printf '%s' "$st"
`,
);

export interface HostState {
  version: 1;
  /** The cluster (inventory `cluster:`) this host belongs to: another cluster's inventory is
   * refused here unless --takeover. Absent in state files written before lvsctl recorded it. */
  cluster?: string;
  /** Values before lvsctl first changed them. */
  originals: {
    sysctl: Record<string, string>;
    /** `ip route show default` before lvsctl replaced it ("" when there was none). */
    defaultRoute?: string;
    /** ipvsadm --set values before lvsctl set them (tcp tcpfin udp). */
    ipvsTimeouts?: [number, number, number];
    /** Whether the installed keepalived started at boot before lvsctl first changed that
     * (`systemctl is-enabled`'s word: enabled, disabled...). */
    keepalivedBoot?: string;
    /** Addresses (addressKey) that were on the host before lvsctl first wanted them (a cluster built
     * by hand and taken over): `down` leaves them, or puts them back after a stop. */
    addresses?: string[];
    /** The virtual services (ipvsadm -R lines) lvsctl found running under keys it then took over:
     * `down` puts them back as they were. */
    ipvs?: string;
    /** Files lvsctl found written by someone else where it writes its own (keepalived.conf): their
     * content is kept at foundCopy(path) before lvsctl's first write, and `down` puts it back. */
    files?: string[];
    /** keepalived's state when lvsctl found its keepalived.conf: `down` leaves it so (reloaded on the
     * found file), not stopped. */
    keepalived?: 'running' | 'stopped';
    /** Boot-time scripts that program IPVS, disabled by up --takeover --disable-boot-scripts: `down`
     * enables them again. */
    bootScripts?: DisabledBootScript[];
  };
  owned: {
    addresses: string[]; // addressKey()
    links: string[]; // links lvsctl brought up
    files: string[];
    ipvs: string[]; // service keys of the virtual services lvsctl created with ipvsadm
    packages: string[]; // packages lvsctl installed (`down --purge` removes exactly these)
  };
  /** `lvsctl stop` took the service down here (`start`/`up` bring it back). */
  stopped?: boolean;
  /** On a director: real servers drained (weight 0) or removed by `lvsctl drain`. */
  drained?: Drained;
}

type TakenOver = Pick<HostState['originals'], 'addresses' | 'ipvs' | 'files' | 'keepalived' | 'bootScripts'>;

/** What a takeover recorded (found running, not lvsctl's), without empty values; lists sorted. */
function takenOver(o: Partial<TakenOver> | undefined): TakenOver {
  const list = (l: string[] | undefined) => (l?.length ? [...new Set(l)].sort() : undefined);
  const out: TakenOver = {
    addresses: list(o?.addresses),
    ipvs: o?.ipvs || undefined,
    files: list(o?.files),
    keepalived: o?.keepalived,
    bootScripts: o?.bootScripts?.length ? [...o.bootScripts].sort((a, b) => a.path.localeCompare(b.path)) : undefined,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as TakenOver;
}

/** Where a found file's content is kept until `down` puts it back (beside the state file). */
export const foundCopy = (path: string) => STATE_FILE.replace(/[^/]+$/, `found${path.replace(/\//g, '-')}`);

export const emptyState = (): HostState => ({
  version: 1,
  originals: { sysctl: {} },
  owned: { addresses: [], links: [], files: [], ipvs: [], packages: [] },
});

export function parseState(text: string | null): HostState {
  if (!text) return emptyState();
  try {
    const s = JSON.parse(text) as Partial<HostState>;
    if (s.version !== 1) throw new Error('version');
    const e = emptyState();
    return {
      version: 1,
      ...(typeof s.cluster === 'string' ? { cluster: s.cluster } : {}),
      originals: {
        sysctl: { ...s.originals?.sysctl },
        ...(s.originals?.defaultRoute !== undefined ? { defaultRoute: s.originals.defaultRoute } : {}),
        ...(s.originals?.ipvsTimeouts ? { ipvsTimeouts: s.originals.ipvsTimeouts } : {}),
        ...(s.originals?.keepalivedBoot ? { keepalivedBoot: s.originals.keepalivedBoot } : {}),
        ...takenOver(s.originals),
      },
      owned: {
        addresses: s.owned?.addresses ?? e.owned.addresses,
        links: s.owned?.links ?? e.owned.links,
        files: s.owned?.files ?? e.owned.files,
        ipvs: s.owned?.ipvs ?? e.owned.ipvs,
        packages: s.owned?.packages ?? e.owned.packages,
      },
      ...(s.stopped ? { stopped: true } : {}),
      ...(s.drained && Object.keys(s.drained).length ? { drained: { ...s.drained } } : {}),
    };
  } catch {
    throw new Error(
      "the state file /var/lib/lvsctl/state.json is not lvsctl's (or is damaged); move it away to start over",
    );
  }
}

/** Stable JSON (sorted keys and lists), so an unchanged state is byte-identical and not rewritten. */
export function formatState(s: HostState): string {
  const sortObj = (o: Record<string, string>) =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  const out: HostState = {
    version: 1,
    ...(s.cluster !== undefined ? { cluster: s.cluster } : {}),
    originals: {
      sysctl: sortObj(s.originals.sysctl),
      ...(s.originals.defaultRoute !== undefined ? { defaultRoute: s.originals.defaultRoute } : {}),
      ...(s.originals.ipvsTimeouts ? { ipvsTimeouts: s.originals.ipvsTimeouts } : {}),
      ...(s.originals.keepalivedBoot ? { keepalivedBoot: s.originals.keepalivedBoot } : {}),
      ...takenOver(s.originals),
    },
    owned: {
      addresses: [...new Set(s.owned.addresses)].sort(),
      links: [...new Set(s.owned.links)].sort(),
      files: [...new Set(s.owned.files)].sort(),
      ipvs: [...new Set(s.owned.ipvs)].sort(),
      packages: [...new Set(s.owned.packages)].sort(),
    },
    ...(s.stopped ? { stopped: true } : {}),
    ...(s.drained && Object.keys(s.drained).length
      ? { drained: Object.fromEntries(Object.entries(s.drained).sort(([a], [b]) => a.localeCompare(b))) }
      : {}),
  };
  return JSON.stringify(out, null, 2) + '\n';
}

export const isEmptyState = (s: HostState) =>
  !Object.keys(s.originals.sysctl).length &&
  s.originals.defaultRoute === undefined &&
  !s.originals.ipvsTimeouts &&
  !s.originals.keepalivedBoot &&
  !Object.keys(takenOver(s.originals)).length &&
  Object.values(s.owned).every((l) => !l.length) &&
  !s.stopped &&
  !Object.keys(s.drained ?? {}).length;

/** Words for what the plan records as found this time (addresses, virtual services), or undefined. */
export function foundNow(old: HostState, next: HostState): string | undefined {
  const addresses = (next.originals.addresses ?? []).filter((a) => !(old.originals.addresses ?? []).includes(a));
  const before = new Set(parseRules(old.originals.ipvs ?? '').services.map(serviceKey));
  const services = parseRules(next.originals.ipvs ?? '')
    .services.map(serviceKey)
    .filter((k) => !before.has(k));
  const files = (next.originals.files ?? []).filter((p) => !(old.originals.files ?? []).includes(p));
  const parts = [
    ...(addresses.length ? [`${addresses.length} address${addresses.length === 1 ? '' : 'es'}`] : []),
    ...(services.length ? [plural(services.length, 'virtual service')] : []),
    ...(files.length ? [plural(files.length, 'file')] : []),
  ];
  const which = [...addresses.map((a) => a.split(' ')[0]!), ...services, ...files];
  return parts.length ? `${parts.join(' and ')}: ${which.join(', ')}` : undefined;
}

export const state = {
  parse(get): Pick<HostFacts, 'state'> {
    const text = get('state').join('\n');
    return { state: text.trim() ? text : null };
  },
  record: (c) =>
    c.phase === 'remove'
      ? { action: 'delete', target: STATE_FILE, from: 'present', to: null }
      : { action: 'write', target: STATE_FILE, from: null, to: `${c.phase} changes` },
  describe: (c) => {
    if (c.phase === 'remove') return "remove the state file (nothing of lvsctl's is left here)";
    let what = 'record original settings and owned objects';
    if (c.found)
      what = `take over what runs here (${c.found}; up needs --takeover): record it as found, which down leaves in place`;
    if (c.takeover) what = `take this host over from cluster ${c.takeover}: record it as this inventory's`;
    return `${what} in the state file (${c.phase} changes)`;
  },
} satisfies Resource<StateChange>;
