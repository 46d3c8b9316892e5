// Reads `ipvsadm -S -n` output (or a rules file for `ipvsadm -R`) into a table. Accepts what
// ipvsadm itself accepts on such lines: short and long options, "--opt=value", a leading
// "ipvsadm" word, blank lines and "#" comment lines (which ipvsadm-restore filters out), and the
// forms older ipvsadm versions print (no --tun-type before 1.30). Destinations are kept in file
// order; older ipvsadm versions do not sort them, so compare tables with sortTable() first.
import { LvsctlError } from '../errors.js';
import { canonicalAddress, isIP } from '../identity/address.js';
import type { Forward, IpvsDestination, IpvsProtocol, IpvsService, IpvsTable } from './table.js';
import { serviceKey } from '../identity/service.js';

export class RulesParseError extends LvsctlError {
  constructor(
    readonly line: number,
    readonly text: string,
    reason: string,
  ) {
    super(`ipvsadm rules line ${line}: ${reason}: ${text}`);
  }
}

// Long option -> short form (ipvsadm.c popt table); options taking a value are listed in VALUED.
const LONG: Record<string, string> = {
  'add-service': '-A',
  'add-server': '-a',
  'tcp-service': '-t',
  'udp-service': '-u',
  'sctp-service': '--sctp-service',
  'fwmark-service': '-f',
  scheduler: '-s',
  persistent: '-p',
  netmask: '-M',
  pe: '--pe',
  ops: '-o',
  'sched-flags': '-b',
  'real-server': '-r',
  masquerading: '-m',
  gatewaying: '-g',
  ipip: '-i',
  weight: '-w',
  'u-threshold': '-x',
  'l-threshold': '-y',
  ipv6: '-6',
  'tun-type': '--tun-type',
  'tun-port': '--tun-port',
  'tun-nocsum': '--tun-nocsum',
  'tun-csum': '--tun-csum',
  'tun-remcsum': '--tun-remcsum',
};
const VALUED = new Set([
  '-t',
  '-u',
  '--sctp-service',
  '-f',
  '-s',
  '-p',
  '-M',
  '--pe',
  '-b',
  '-r',
  '-w',
  '-x',
  '-y',
  '--tun-type',
  '--tun-port',
]);

interface Opts {
  cmd?: '-A' | '-a';
  values: Map<string, string>;
  flags: Set<string>;
}

function tokenize(words: string[], fail: (why: string) => never): Opts {
  const o: Opts = { values: new Map(), flags: new Set() };
  for (let i = 0; i < words.length; i++) {
    let w = words[i]!;
    let inline: string | undefined;
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      if (eq > 0) [w, inline] = [w.slice(0, eq), w.slice(eq + 1)];
      const short = LONG[w.slice(2)];
      if (!short) fail(`unknown option ${w}`);
      w = short;
    }
    if (w === '-A' || w === '-a') {
      if (o.cmd) fail('two commands on one line');
      o.cmd = w;
      continue;
    }
    if (VALUED.has(w)) {
      let v = inline;
      // -p takes an optional value (popt POPT_ARGFLAG_OPTIONAL): default 300 seconds.
      if (v === undefined && w === '-p' && (words[i + 1] === undefined || words[i + 1]!.startsWith('-'))) v = '300';
      if (v === undefined) v = words[++i];
      if (v === undefined) fail(`${w} needs a value`);
      if (o.values.has(w)) fail(`${w} given twice`);
      o.values.set(w, v);
    } else if (['-m', '-g', '-i', '-o', '-6', '--tun-nocsum', '--tun-csum', '--tun-remcsum'].includes(w)) {
      o.flags.add(w);
    } else fail(`unexpected word ${JSON.stringify(w)}`);
  }
  return o;
}

const int = (v: string, min: number, max: number, what: string, fail: (why: string) => never): number => {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    fail(`${what} must be a whole number from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return Number(v);
};

function addrPort(
  v: string,
  fail: (why: string) => never,
  portOptional = false,
): { address: string; port: number; family: 4 | 6 } {
  const m = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(v) ?? /^([0-9.]+)(?::(\d+))?$/.exec(v);
  if (!m || !isIP(m[1]!)) fail(`expected address:port or [ipv6]:port, got ${JSON.stringify(v)}`);
  if (m[2] === undefined && !portOptional) fail(`missing port in ${JSON.stringify(v)}`);
  return {
    address: canonicalAddress(m[1]!),
    port: m[2] === undefined ? 0 : int(m[2], 0, 65535, 'port', fail),
    family: isIP(m[1]!) === 6 ? 6 : 4,
  };
}

const SVC_OPTS: Array<[string, IpvsProtocol | 'fwmark']> = [
  ['-t', 'tcp'],
  ['-u', 'udp'],
  ['--sctp-service', 'sctp'],
  ['-f', 'fwmark'],
];

const FORWARD_OF_FLAG: Record<string, Forward> = { '-m': 'masq', '-g': 'route', '-i': 'tunnel' };

function serviceOf(o: Opts, fail: (why: string) => never): IpvsService {
  const given = SVC_OPTS.filter(([opt]) => o.values.has(opt));
  if (given.length !== 1) fail('expected exactly one of -t, -u, --sctp-service or -f');
  const [opt, protocol] = given[0]!;
  const v = o.values.get(opt)!;
  const base = { scheduler: 'wlc', schedFlags: [] as string[], ops: false, destinations: [] as IpvsDestination[] };
  if (protocol === 'fwmark')
    return { ...base, protocol, fwmark: int(v, 1, 4294967295, 'fwmark', fail), family: o.flags.has('-6') ? 6 : 4 };
  const a = addrPort(v, fail);
  return { ...base, protocol, address: a.address, port: a.port, family: a.family };
}

export function parseRules(text: string): IpvsTable {
  const services = new Map<string, IpvsService>();
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    const fail: (why: string) => never = (why) => {
      throw new RulesParseError(idx + 1, raw, why);
    };
    if (line === '' || line.startsWith('#')) return;
    const words = line.split(/\s+/);
    if (words[0] === 'ipvsadm') words.shift();
    const o = tokenize(words, fail);
    if (!o.cmd) fail('expected -A or -a');
    const svc = serviceOf(o, fail);
    const key = serviceKey(svc);
    if (o.cmd === '-A') {
      if (services.has(key)) fail(`service ${key} is defined twice`);
      for (const k of ['-r', '-w', '-x', '-y', '--tun-type', '--tun-port'])
        if (o.values.has(k)) fail(`${k} does not go with -A`);
      if (o.values.has('-s')) svc.scheduler = o.values.get('-s')!;
      if (o.values.has('-p')) {
        svc.persistence = { timeout: int(o.values.get('-p')!, 1, 2678400, 'persistence timeout', fail) };
        const nm = o.values.get('-M');
        if (nm !== undefined) svc.persistence.netmask = svc.family === 6 ? int(nm, 1, 128, 'IPv6 netmask', fail) : nm;
      } else if (o.values.has('-M')) fail('-M needs -p');
      if (o.values.has('--pe')) svc.pe = o.values.get('--pe');
      svc.ops = o.flags.has('-o');
      const flags = o.values.get('-b');
      if (flags !== undefined) svc.schedFlags = flags.split(',').filter(Boolean);
      services.set(key, svc);
      return;
    }
    const owner = services.get(key) ?? fail(`destination for service ${key}, which no earlier -A line defines`);
    const r = o.values.get('-r') ?? fail('-a needs -r');
    const fwd = ['-m', '-g', '-i'].filter((f) => o.flags.has(f));
    if (fwd.length > 1) fail('more than one of -m, -g, -i');
    const forward: Forward = FORWARD_OF_FLAG[fwd[0] ?? '-g'] ?? 'route'; // -g is ipvsadm's default
    const a = addrPort(r, fail, owner.protocol === 'fwmark');
    const d: IpvsDestination = {
      address: a.address,
      port: a.port,
      forward,
      weight: o.values.has('-w') ? int(o.values.get('-w')!, 0, 65535, 'weight', fail) : 1,
    };
    if (o.values.has('-x')) d.upperThreshold = int(o.values.get('-x')!, 0, 2147483647, 'upper threshold', fail);
    if (o.values.has('-y')) d.lowerThreshold = int(o.values.get('-y')!, 0, 2147483647, 'lower threshold', fail);
    if (forward === 'tunnel') {
      const name = o.values.get('--tun-type') ?? 'ipip';
      const type = (['ipip', 'gue', 'gre'] as const).find((t) => t === name) ?? fail(`unknown tunnel type ${name}`);
      const tunnel: NonNullable<IpvsDestination['tunnel']> = { type };
      if (o.values.has('--tun-port')) tunnel.port = int(o.values.get('--tun-port')!, 1, 65535, 'tunnel port', fail);
      const cs = (['nocsum', 'csum', 'remcsum'] as const).find((c) => o.flags.has(`--tun-${c}`));
      if (cs && type !== 'ipip') tunnel.csum = cs;
      d.tunnel = tunnel;
    } else if (o.values.has('--tun-type')) fail('--tun-type needs -i');
    owner.destinations.push(d);
  });
  return { services: [...services.values()] };
}
