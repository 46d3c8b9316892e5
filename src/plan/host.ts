// The planner for one host: a pure function of what the host should be (desired state and files)
// and what it is (facts). No change when nothing differs. Impossible inventories (interface
// absent, scheduler module missing) fail here, before anything changes.
import { createHash } from 'node:crypto';
import { createTwoFilesPatch } from 'diff';
import type { DesiredAddress, DesiredHost } from '../desired/types.js';
import { LvsctlError } from '../errors.js';
import type { HostFacts } from '../facts/parse.js';
import { emptyState, formatState, parseState, type HostState } from './state.js';
import type { Change, DesiredFile, HostPlan } from './types.js';
import { redact } from '../util/redact.js';
import { homeHook, type NetfilterFile } from '../render/netfilter.js';
import type { Drained } from '../desired/intent.js';
import { canonicalIfAddress, sameAddress } from '../identity/address.js';
import { chainDrift, liveChains } from './netfilter.js';

export class PlanError extends LvsctlError {}

export interface PlanInput {
  desired: DesiredHost;
  files: DesiredFile[];
  facts: HostFacts;
  /** Boot symlinks per init system (the planner picks by the host's init). */
  bootLinks?: {
    systemd: ReadonlyArray<{ path: string; target: string }>;
    sysv: ReadonlyArray<{ path: string; target: string }>;
  };
  /** IPVS delta for a director, computed from the live table (plan/ipvs.ts). */
  ipvs?: { lines: string[]; owned: string[] };
  /** Netfilter files a director loads (render/netfilter.ts); absent: none wanted. */
  netfilter?: ReadonlyArray<NetfilterFile>;
  /** IPVS timeouts a director should have (tcp tcpfin udp). */
  timeouts?: [number, number, number];
  /** Secret values to mask in diffs. */
  secrets?: string[];
  /** What the state file records beyond the inventory (intent.ts: recordFor). */
  record?: { stopped: boolean; drained: Drained };
  /** `down`: the desired state is empty; the state file goes too, and with purge the packages lvsctl installed. */
  forget?: { purge: boolean };
}

// Canonical, so a key an older run recorded with another spelling still names the same address.
export const addressKey = (a: DesiredAddress) =>
  `${canonicalIfAddress(a.address)}/${a.prefix} ${a.dev}${a.label ? ` ${a.label}` : ''}`;
export function parseAddressKey(k: string): DesiredAddress {
  const [cidr, dev, label] = k.split(' ');
  const [address, prefix] = cidr!.split('/');
  return { address: address!, prefix: Number(prefix), dev: dev!, ...(label ? { label } : {}) };
}

/** Kernel defaults of the IPVS sysctls (Documentation/networking/ipvs-sysctl.rst): these keys do
 * not exist until ip_vs is loaded, so the value before lvsctl is the default. */
const IPVS_SYSCTL_DEFAULTS: Record<string, string> = {
  'net.ipv4.vs.expire_nodest_conn': '0',
  'net.ipv4.vs.expire_quiescent_template': '0',
  'net.ipv4.vs.conntrack': '0',
  'net.ipv4.vs.conn_reuse_mode': '1',
};

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function fileDiff(path: string, before: string | undefined, after: string | undefined, secrets: string[]): string {
  if (before === undefined && after !== undefined && !secrets.length)
    return createTwoFilesPatch('/dev/null', path, '', after, '', '', { context: 3 });
  return createTwoFilesPatch(
    before === undefined ? '/dev/null' : path,
    after === undefined ? '/dev/null' : path,
    redact(before ?? '', secrets),
    redact(after ?? '', secrets),
    '',
    '',
    { context: 3 },
  );
}

function checkPossible(d: DesiredHost, f: HostFacts, files: DesiredFile[]): void {
  const problems: string[] = [];
  const devs = new Set([
    ...d.addresses.map((a) => a.dev),
    ...Object.keys(d.sysctl)
      .map((k) => /^net\.ipv4\.conf\.([^.]+)\./.exec(k)?.[1])
      .filter((x): x is string => !!x),
  ]);
  for (const dev of devs) {
    if (['all', 'default', 'lo'].includes(dev) || d.links.includes(dev)) continue;
    if (!f.links.has(dev))
      problems.push(`interface ${dev} does not exist on this host (it has: ${[...f.links.keys()].join(', ')})`);
  }
  for (const m of d.modules)
    if (!f.modulesAvailable.has(m) && !f.modulesLoaded.has(m))
      problems.push(
        `kernel module ${m} is not available in kernel ${f.kernel}${m.startsWith('ip_vs_') ? ` (the ${m.slice(6)} scheduler is not built for it)` : ''}`,
      );
  if (d.packages.length && !f.pkgManager)
    problems.push('no supported package manager (apt-get, dnf, yum) to install ' + d.packages.join(' '));
  if (problems.length) throw new PlanError(problems.join('; '));
  void files;
}

export function planHost(input: PlanInput): HostPlan {
  const { desired: d, facts: f } = input;
  const secrets = input.secrets ?? [];
  checkPossible(d, f, input.files);
  const old = parseState(f.state);
  const next: HostState = JSON.parse(JSON.stringify(old)) as HostState;
  const pre: HostState = JSON.parse(JSON.stringify(old)) as HostState; // old ∪ new: written before changes
  const adds: Change[] = [];
  const removals: Change[] = [];

  // Packages: those lvsctl installs are recorded, so `down --purge` removes exactly those.
  const missing = d.packages.filter((p) => !f.packages.has(p));
  if (missing.length) adds.push({ kind: 'packages', action: 'install', manager: f.pkgManager!, packages: missing });
  pre.owned.packages = next.owned.packages = [...new Set([...old.owned.packages, ...missing])];

  // Files.
  const wanted = new Set(input.files.map((x) => x.path));
  for (const file of input.files) {
    const cur = f.files.get(file.path);
    const mode = file.secret ? 0o600 : file.mode;
    const want = { ...file, mode, owner: file.owner ?? 'root', group: file.group ?? 'root' };
    if (
      cur &&
      cur.sha256 === sha256(file.content) &&
      cur.mode === mode &&
      cur.owner === want.owner &&
      cur.group === want.group
    )
      continue;
    const before = cur ? f.contents.get(file.path) : undefined;
    const diff =
      cur && cur.sha256 === sha256(file.content)
        ? `mode/owner: ${cur.mode.toString(8)} ${cur.owner}:${cur.group} -> ${mode.toString(8)} ${want.owner}:${want.group}`
        : fileDiff(file.path, before, file.content, file.secret ? secrets : []);
    adds.push({ kind: 'file', action: cur ? 'update' : 'create', file: want, diff });
  }
  for (const p of old.owned.files)
    if (!wanted.has(p) && f.files.get(p))
      removals.push({
        kind: 'file',
        action: 'delete',
        path: p,
        diff: fileDiff(p, f.contents.get(p), undefined, secrets),
      });
  next.owned.files = [...wanted];
  pre.owned.files = [...new Set([...pre.owned.files, ...wanted])];

  // Boot links (owned like files, so `down` and a role change remove them).
  const links = input.bootLinks?.[f.init] ?? [];
  for (const l of links)
    if (f.bootLinks.get(l.path) !== l.target)
      adds.push({ kind: 'bootlink', action: 'create', path: l.path, target: l.target });
  for (const p of old.owned.files)
    if (!wanted.has(p) && !links.some((l) => l.path === p) && (f.bootLinks.get(p) ?? '-') !== '-')
      removals.push({ kind: 'bootlink', action: 'delete', path: p, target: f.bootLinks.get(p)! });
  next.owned.files.push(...links.map((l) => l.path));
  pre.owned.files.push(...links.map((l) => l.path));

  // Modules (never unloaded: other things may use them, and unloading ip_vs drops every table).
  for (const m of d.modules) if (!f.modulesLoaded.has(m)) adds.push({ kind: 'module', name: m });

  // Sysctls: record the original before the first change; restore what is no longer wanted.
  // An unread IPVS sysctl has the kernel's default; tunl0 (not there yet) will start from "default".
  const current = (k: string) => {
    if (f.sysctl.has(k)) return f.sysctl.get(k);
    if (k.startsWith('net.ipv4.vs.')) return IPVS_SYSCTL_DEFAULTS[k];
    return k.startsWith('net.ipv4.conf.tunl0.') ? f.sysctl.get(k.replace('tunl0', 'default')) : undefined;
  };
  for (const [k, v] of Object.entries(d.sysctl)) {
    const cur = current(k);
    if (!(k in old.originals.sysctl) && cur !== undefined) {
      pre.originals.sysctl[k] = cur;
      next.originals.sysctl[k] = cur;
    }
    if (f.sysctl.get(k) !== v) adds.push({ kind: 'sysctl', key: k, from: f.sysctl.get(k), to: v, restore: false });
  }
  for (const [k, orig] of Object.entries(old.originals.sysctl)) {
    if (k in d.sysctl) continue;
    delete next.originals.sysctl[k];
    if (f.sysctl.has(k) && f.sysctl.get(k) !== orig)
      removals.push({ kind: 'sysctl', key: k, from: f.sysctl.get(k), to: orig, restore: true });
  }

  // Links (tunl0 appears when ipip loads; lvsctl brings it up and down, never deletes it).
  for (const dev of d.links) {
    if (!f.links.get(dev)?.up) adds.push({ kind: 'link', dev, up: true });
    if (!old.owned.links.includes(dev)) pre.owned.links.push(dev);
  }
  next.owned.links = [...d.links];
  for (const dev of old.owned.links)
    if (!d.links.includes(dev) && f.links.get(dev)?.up) removals.push({ kind: 'link', dev, up: false });

  // Addresses.
  // Compared in canonical form: an inventory may write fd00:0::1 for what `ip` shows as fd00::1.
  const has = (a: DesiredAddress) =>
    f.addresses.some(
      (x) =>
        sameAddress(x.address, a.address) &&
        x.prefix === a.prefix &&
        x.dev === a.dev &&
        (a.label === undefined || x.label === a.label),
    );
  const wantKeys = new Set(d.addresses.map(addressKey));
  for (const a of d.addresses) if (!has(a)) adds.push({ kind: 'address', action: 'add', addr: a });
  for (const k of old.owned.addresses) {
    const a = parseAddressKey(k);
    if (!wantKeys.has(addressKey(a)) && has(a)) removals.push({ kind: 'address', action: 'del', addr: a });
  }
  next.owned.addresses = [...wantKeys];
  pre.owned.addresses = [...new Set([...pre.owned.addresses, ...wantKeys])];

  // Default route (NAT real servers).
  const curRoute = f.defaultRoute4?.raw;
  if (d.route) {
    if (old.originals.defaultRoute === undefined) {
      pre.originals.defaultRoute = curRoute ?? '';
      next.originals.defaultRoute = curRoute ?? '';
    }
    if (f.defaultRoute4?.via !== d.route.via)
      adds.push({ kind: 'route', action: 'set', via: d.route.via, from: curRoute });
  } else if (old.originals.defaultRoute !== undefined) {
    delete next.originals.defaultRoute;
    if ((curRoute ?? '') !== old.originals.defaultRoute)
      removals.push({ kind: 'route', action: 'restore', to: old.originals.defaultRoute, from: curRoute });
  }

  // IPVS (delta computed by the caller from the live table).
  if (input.ipvs) {
    if (input.ipvs.lines.length) adds.push({ kind: 'ipvs', lines: input.ipvs.lines, owned: input.ipvs.owned });
    next.owned.ipvs = input.ipvs.owned;
    pre.owned.ipvs = [...new Set([...pre.owned.ipvs, ...input.ipvs.owned])];
  }

  // Netfilter: lvsctl's own chains, each compared rule by rule in one normal form (netfilter.ts); a
  // changed rules file reloads them anyway. A chain of lvsctl's that is no longer wanted is removed.
  const changedFiles = new Set(adds.flatMap((c) => (c.kind === 'file' && c.action !== 'delete' ? [c.file.path] : [])));
  for (const cmd of ['iptables', 'ip6tables'] as const) {
    const want = input.netfilter?.find((n) => n.cmd === cmd);
    const live = f.netfilter[cmd];
    if (want) {
      const drift = want.chains.some((ch) => chainDrift(ch.rules, live[ch.table] ?? [], ch.hook, ch.chain, ch.ordered));
      if (drift || changedFiles.has(want.file))
        adds.push({
          kind: 'netfilter',
          action: 'apply',
          cmd,
          file: want.file,
          chains: want.chains,
        });
    }
    const stale = Object.entries(live).flatMap(([table, lines]) =>
      liveChains(lines, (chain) => homeHook(table, chain))
        .filter((l) => !want?.chains.some((w) => w.table === table && w.chain === l.chain))
        .map((l) => ({ table, ...l })),
    );
    if (stale.length) removals.push({ kind: 'netfilter', action: 'remove', cmd, chains: stale });
  }

  // IPVS timeouts (ipvsadm --set): per network namespace, lost at reboot (the director script sets them).
  const KERNEL_TIMEOUTS: [number, number, number] = [900, 120, 300];
  const liveT = f.ipvsTimeouts;
  if (input.timeouts) {
    if (!old.originals.ipvsTimeouts)
      pre.originals.ipvsTimeouts = next.originals.ipvsTimeouts = liveT ?? KERNEL_TIMEOUTS;
    if (liveT?.join(' ') !== input.timeouts.join(' '))
      adds.push({ kind: 'timeouts', to: input.timeouts, from: liveT, restore: false });
  } else if (old.originals.ipvsTimeouts) {
    delete next.originals.ipvsTimeouts;
    if (liveT && liveT.join(' ') !== old.originals.ipvsTimeouts.join(' '))
      removals.push({ kind: 'timeouts', to: old.originals.ipvsTimeouts, from: liveT, restore: true });
  }

  // keepalived: started once its config is in place, reloaded (SIGHUP, not restarted) when only
  // the config changed, stopped when this host no longer needs it.
  const KEEPALIVED_CONF = '/etc/keepalived/keepalived.conf';
  const running = f.keepalivedPids.length > 0;
  if (d.keepalived) {
    if (!running) adds.push({ kind: 'keepalived', action: 'start' });
    else if (changedFiles.has(KEEPALIVED_CONF)) adds.push({ kind: 'keepalived', action: 'reload' });
  } else if (running && old.owned.files.includes(KEEPALIVED_CONF))
    removals.unshift({ kind: 'keepalived', action: 'stop' });

  // keepalived at boot: the distribution's service starts it, so a stopped director has it
  // disabled (a reboot must not take the VIP back) and a running one enabled (RHEL installs it
  // disabled). The value of an installed keepalived before lvsctl's first change is recorded, and
  // `down` brings it back.
  const boot = f.keepalivedBoot;
  const bootOn = (b: string | null | undefined) => b === 'enabled' || b === 'enabled-runtime';
  if (d.keepalivedBoot !== undefined) {
    if (bootOn(boot) !== d.keepalivedBoot && (boot !== null || d.keepalivedBoot)) {
      if (!old.originals.keepalivedBoot && boot !== null)
        pre.originals.keepalivedBoot = next.originals.keepalivedBoot = boot;
      adds.push({ kind: 'keepalived-boot', enable: d.keepalivedBoot, from: boot, restore: false });
    }
  } else if (old.originals.keepalivedBoot) {
    const orig = old.originals.keepalivedBoot;
    delete next.originals.keepalivedBoot;
    if (boot !== null && bootOn(boot) !== bootOn(orig))
      removals.push({ kind: 'keepalived-boot', enable: bootOn(orig), from: boot, restore: true });
  }

  if (input.record) {
    for (const s of [pre, next]) {
      s.stopped = input.record.stopped;
      s.drained = input.record.drained;
    }
  }

  const changes: Change[] = [];
  if (input.forget) {
    // `down`: undo everything recorded, then forget the host (no state file, no lvsctl directories).
    const purge = input.forget.purge ? old.owned.packages.filter((p) => f.packages.has(p)) : [];
    if (purge.length && f.pkgManager)
      removals.push({ kind: 'packages', action: 'purge', manager: f.pkgManager, packages: purge });
    if (adds.length || removals.length || f.state !== null)
      changes.push(...adds, ...removals, { kind: 'state', phase: 'remove', content: '' });
    return { host: d.name, changes };
  }
  const preText = formatState(pre);
  const nextText = formatState(next);
  if (adds.length || removals.length || preText !== formatState(old)) {
    if (f.state === null && !adds.length && !removals.length && formatState(pre) === formatState(emptyState()))
      return { host: d.name, changes: [] };
    if (f.state === null || preText !== formatState(old))
      changes.push({ kind: 'state', phase: 'before', content: preText });
    changes.push(
      ...adds.filter((c) => c.kind === 'packages'),
      ...adds.filter((c) => c.kind !== 'packages'),
      ...removals,
    );
    if (nextText !== preText) changes.push({ kind: 'state', phase: 'after', content: nextText });
  }
  return { host: d.name, changes };
}
