// The hostile-input corpus of issue 10, shared by test/unit/hostile.test.ts (validate and render
// through the real CLI, one inventory per value) and test/tools/hostile-apply.test.ts (the accepted
// values applied for real in a network namespace). Every value sits in one field of one of two
// base inventories; each says whether validation must reject it and, when accepted, where it must
// arrive byte-exact. Values that could run a command try to create the sentinel file.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import type { Cluster } from '../../src/inventory/model.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- free-form inventory JSON, read and written by path
export type Inv = Record<string, any>;
export type Path = (string | number)[];

export const SENTINEL = `/tmp/lvsctl-pwned-${randomBytes(6).toString('hex')}`;
const S = SENTINEL;

/** A keepalived DR pair with health checks, two services, a group, every SSH setting. */
export function baseHa(): Inv {
  return {
    cluster: 'hostile',
    mode: 'dr',
    vars: {
      interface: 'eth0',
      ssh: { host: '127.0.0.1', user: 'root', identity_file: 'id_ed25519', known_hosts: 'known_hosts' },
    },
    groups: { web: { hosts: ['rs1', 'rs2'] } },
    hosts: {
      client: { address: '10.99.1.10', ssh: { port: 22001 } },
      dir1: { address: '10.99.2.2', ssh: { port: 22002 } },
      dir2: {
        address: '10.99.2.3',
        ssh: { port: 22003, jump: { host: '127.0.0.1', user: 'root', identity_file: 'id_ed25519' } },
      },
      rs1: {
        address: '10.99.2.11',
        ssh: { port: 22004, password_env: 'RS1_PW' },
        become: { method: 'sudo', password_env: 'RS1_SUDO' },
      },
      rs2: { address: '10.99.2.12', interface: 'eth0', ssh: { port: 22005, passphrase_env: 'RS2_PASS' } },
    },
    directors: {
      hosts: [
        { host: 'dir1', state: 'MASTER', priority: 150 },
        { host: 'dir2', state: 'BACKUP', priority: 100 },
      ],
      engine: 'keepalived',
      vrrp: {
        instances: [{ name: 'VI_1', interface: 'eth0', virtual_router_id: 51 }],
        auth: { type: 'PASS', password_env: 'LVSCTL_VRRP_PASSWORD' },
      },
      sync_daemon: { interface: 'eth1', id: 1 },
    },
    vips: [
      {
        address: '10.99.2.100',
        interface: 'eth0',
        vrrp_instance: 'VI_1',
        services: [
          {
            name: 'http',
            port: 80,
            scheduler: 'rr',
            health_check: { type: 'http', path: '/', status: 200, virtualhost: 'www.example.com' },
            verify: { path: '/' },
            real_servers: [{ group: 'web' }],
          },
          {
            name: 'admin',
            port: 8080,
            real_servers: [{ host: 'rs1', health_check: { type: 'http', path: '/rs' } }, { host: 'rs2' }],
          },
        ],
      },
    ],
    verify: { from: ['client'], sources: ['10.99.1.10'], requests: 3, identify: { by: 'header', name: 'X-Backend' } },
  };
}

/** One NAT director with the ipvsadm engine: DIP and sync daemon in the director script. */
export function baseNat(): Inv {
  return {
    cluster: 'hostile-nat',
    mode: 'nat',
    vars: { ssh: { host: '127.0.0.1' } },
    hosts: {
      client: { address: '10.99.1.10' },
      dir1: { address: '10.99.1.2' },
      rs1: { address: '10.99.2.11' },
      rs2: { address: '10.99.2.12' },
    },
    directors: {
      hosts: ['dir1'],
      dip: { address: '10.99.2.1', prefix: 24, interface: 'eth1' },
      sync_daemon: { interface: 'eth1', id: 1 },
    },
    vips: [
      {
        address: '10.99.1.100',
        interface: 'eth0',
        services: [{ port: 80, scheduler: 'wrr', real_servers: [{ host: 'rs1' }, { host: 'rs2', weight: 2 }] }],
      },
    ],
    verify: { from: ['client'] },
  };
}

export const VRRP_PASSWORD = 'pw0rd';

// ---------------------------------------------------------------------------------------------
// Hostile values, by family. `${IFS}` variants are the payloads that fit fields without spaces.

export const HOSTILE: Record<string, string> = {
  subst: `$(touch ${S})`,
  substNoSpace: `$(touch\${IFS}${S})`,
  backtick: `\`touch ${S}\``,
  semicolon: `x;touch ${S}`,
  and: `x&&touch ${S}`,
  pipe: `x|touch ${S}`,
  newline: `x\ntouch ${S}`,
  cr: `x\rtouch ${S}`,
  nul: `x\0touch ${S}`,
  squote: `x'; touch ${S}; '`,
  dquote: `x"; touch ${S}; "`,
  proxyCommand: `-oProxyCommand=touch ${S}`,
  proxyCommandNoSpace: `-oProxyCommand=touch\${IFS}${S}`,
  dashdash: '--help',
  dash: '-x',
  traversal: '../../../../etc/passwd',
  dotdot: '..',
  slash: 'a/b',
  fullwidth: 'ｅｔｈ０',
  cyrillic: '\u0435th0', // Cyrillic "е"
  zeroWidth: 'eth0\u200b',
  rtlOverride: 'eth\u202e0',
  long: 'a'.repeat(5000),
  empty: '',
  space: 'a b',
  tab: 'a\tb',
  escape: 'a\x1b[31m',
  glob: '*',
  tilde: '~',
  dollarVar: '$HOME',
  braceVar: '${PATH}',
  hash: '#x',
  brace: '}',
  backslash: 'a\\b',
  lineSeparator: 'a\u2028b',
  at: '@x',
  kaDefinition: '${_PWD}',
  format: '%s%n',
};
const pick = (...keys: string[]) => keys.map((k) => [k, HOSTILE[k]!] as [string, string]);
const ALL_HOSTILE = Object.entries(HOSTILE);
const SOME_HOSTILE = pick(
  'subst',
  'backtick',
  'semicolon',
  'newline',
  'nul',
  'dquote',
  'proxyCommandNoSpace',
  'dash',
  'traversal',
  'cyrillic',
  'long',
  'empty',
);
const FEW4 = pick('substNoSpace', 'newline', 'proxyCommand', 'zeroWidth');
const FEW_HOSTILE = pick('substNoSpace', 'newline', 'proxyCommand', 'dotdot', 'zeroWidth', 'empty');

// ---------------------------------------------------------------------------------------------
// Where an accepted value must arrive.

export interface Rendered {
  /** host -> absolute path on the host -> content */
  files: Map<string, Map<string, string>>;
  cluster: Cluster;
  dir: string; // the inventory's directory
}

/** keepalived's reader (lib/parser.c): words split on blanks, "..." is one word, '#' or '!' outside
 * quotes starts a comment. A word holding "${" is never what was written (keepalived expands it). */
export function kaWords(line: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') i++;
    else if (c === '#' || c === '!') break;
    else if (c === '"') {
      const j = line.indexOf('"', i + 1);
      if (j < 0) return undefined;
      out.push(line.slice(i + 1, j));
      i = j + 1;
    } else {
      let j = i;
      while (j < line.length && !' \t#!"'.includes(line[j]!)) j++;
      out.push(line.slice(i, j));
      i = j;
    }
  }
  return out.some((w) => w.includes('${')) ? undefined : out;
}

/** keepalived's second reader for script lines (lib/parser.c alloc_strvec_quoted_escaped, 2.2.7):
 * words split on blanks, '…' and "…" quote, and \ escapes everywhere: \ooo (up to three octal
 * digits), \x and every hex digit after it, \cX, \n \t…, else the character itself. Bytes, as
 * keepalived builds them. undefined where keepalived reports an error. */
export function kaQuotedEscaped(src: string): string[] | undefined {
  const b = Buffer.from(src, 'utf8');
  const isHex = (c: number | undefined) => c !== undefined && /[0-9a-fA-F]/.test(String.fromCharCode(c));
  const isOct = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x37;
  const blank = (c: number) => c === 0x20 || c === 0x09;
  const named: Record<string, number> = { a: 7, b: 8, E: 0x1b, f: 12, n: 10, r: 13, t: 9, v: 11 };
  const words: string[] = [];
  let i = 0;
  while (i < b.length) {
    while (i < b.length && blank(b[i]!)) i++;
    if (i >= b.length) break;
    const w: number[] = [];
    let quote = 0;
    while (i < b.length) {
      const c = b[i]!;
      if (c === 0x5c) {
        const e = b[++i];
        if (e === undefined) return undefined;
        let v: number;
        if (e === 0x78 && isHex(b[i + 1])) {
          v = 0;
          for (i++; isHex(b[i]); i++) v = ((v << 4) | parseInt(String.fromCharCode(b[i]!), 16)) & 0xff;
        } else if (e === 0x63 && b[i + 1] !== undefined) {
          v = b[i + 1]! & 0x1f;
          i += 2;
        } else if (isOct(e)) {
          v = e - 0x30;
          for (let k = 0, j = ++i; k < 2 && isOct(b[j]); k++, j++, i++) v = ((v << 3) + b[j]! - 0x30) & 0xff;
        } else {
          v = named[String.fromCharCode(e)] ?? e;
          i++;
        }
        w.push(v);
      } else if (quote) {
        if (c === quote) quote = 0;
        else w.push(c);
        i++;
      } else if (c === 0x22 || c === 0x27) {
        quote = c;
        i++;
      } else if (blank(c)) break;
      else {
        w.push(c);
        i++;
      }
    }
    if (quote) return undefined;
    words.push(Buffer.from(w).toString('utf8'));
  }
  return words;
}

/** The argument vectors of a config's MISC_CHECKs, as keepalived 2.2 builds them (check_misc.c:
 * the line read with quotes and escapes, then its value again). */
export function miscArgvs(conf: string): string[][] {
  return conf.split('\n').flatMap((l) => {
    const words = kaWords(l);
    if (words?.[0] !== 'misc_path') return [];
    const line = kaQuotedEscaped(l.trim());
    return line?.length === 2 ? [kaQuotedEscaped(line[1]!) ?? []] : [];
  });
}

export const kaHas = (conf: string, words: string[]): boolean =>
  conf.split('\n').some((l) => JSON.stringify(kaWords(l)) === JSON.stringify(words));

/** Every call of `fn` in a rendered script, as the argument vectors bash passes (the calls are run
 * by bash with `fn` replaced by a printer, so an unquoted payload would run here and be caught). */
export function shellCalls(script: string, fn: string): string[][] {
  const calls = script.split('\n').filter((l) => l.trimStart().startsWith(fn + ' '));
  const prog = `${fn}() { printf '%s\\037' "$@"; printf '\\036'; }\n${calls.join('\n')}\n`;
  const r = spawnSync('bash', ['-c', prog], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bash: ${r.stderr}`);
  return r.stdout
    .split('\x1e')
    .filter((x) => x !== '' || false)
    .map((c) => c.split('\x1f').slice(0, -1));
}
export const hasCall = (script: string, fn: string, args: string[]): boolean =>
  shellCalls(script, fn).some((a) => JSON.stringify(a) === JSON.stringify(args));

const file = (r: Rendered, host: string, path: string): string => {
  const c = r.files.get(host)?.get(path);
  if (c === undefined) throw new Error(`${host}:${path} was not rendered`);
  return c;
};
const KA = '/etc/keepalived/keepalived.conf';
const RS = '/usr/local/sbin/lvsctl-realserver';
const DIR = '/usr/local/sbin/lvsctl-director';
const SYSCTL = '/etc/sysctl.d/90-lvsctl.conf';
const sysctlKey = (p: string) => (p.split('/').some((x) => x.includes('.')) ? p : p.replaceAll('/', '.'));
const expandHome = (p: string, base: string): string => {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(base, p);
};

/** A check returns false or throws when the value is not where it must be. */
type Check = (r: Rendered, v: string) => boolean;

const arpOn =
  (host: string): Check =>
  (r, v) =>
    hasCall(file(r, host, RS), 'set_sysctl', [`net/ipv4/conf/${v}/arp_ignore`, '1']) &&
    hasCall(file(r, host, RS), 'set_sysctl', [`net/ipv4/conf/${v}/arp_announce`, '2']) &&
    file(r, host, SYSCTL)
      .split('\n')
      .includes(`${sysctlKey(`net/ipv4/conf/${v}/arp_ignore`)} = 1`);

// ---------------------------------------------------------------------------------------------
// Fields

export interface FieldSpec {
  field: string; // as the schema names it
  base: 'ha' | 'nat';
  set(inv: Inv, v: string): void;
  /** Where the value sits in the document, and whether the problem is reported at the key. */
  at(v: string): { path: Path; atKey?: boolean };
  /** Accepted values: where they arrive. 'render' checks need the rendered files. */
  reaches?: { kind: 'render' | 'model' | 'verify'; check: Check; what: string };
  accept: string[];
  reject: [string, string][]; // [family, value]
}

const svc = (inv: Inv, i = 0) => inv.vips[0].services[i];
const rename = (rec: Inv, from: string, to: string) => {
  const entries = Object.entries(rec).map(([k, x]) => [k === from ? to : k, x]);
  for (const k of Object.keys(rec)) delete rec[k];
  for (const [k, x] of entries)
    Object.defineProperty(rec, k, { value: x, enumerable: true, writable: true, configurable: true });
};

const NAME_ACCEPT = [
  'a',
  '0',
  '9lives',
  'a.b.c',
  'a-b_c.d',
  'A_',
  'x'.repeat(63),
  'web-01.prod.example.com',
  '1.2.3.4',
  'a..b',
];
const NAME_REJECT: [string, string][] = [
  ['tooLong', 'x'.repeat(64)],
  ['leadingDash', '-a'],
  ['leadingUnderscore', '_a'],
  ['leadingDot', '.a'],
  ['prototype', 'constructor'],
  ['prototype', 'toString'],
  ['prototype', 'hasOwnProperty'],
  ['prototype', '__proto__'],
];
const IFACE_ACCEPT = ['eth0.100', 'br-lan_1', '_x', 'a', '0', 'veth.a-b_c', 'i'.repeat(15), 'Eth0', 'a..b', 'x-'];
const IFACE_REJECT: [string, string][] = [
  ['dot', '.'],
  ['tooLong', 'i'.repeat(16)],
  ['colon', 'eth0:1'],
  ['leadingDash', '-eth0'],
  ['leadingDot', '.eth0'],
];
/** Legitimate but awkward HTTP paths: query strings, shell and keepalived metacharacters. */
export const PATH_ACCEPT = [
  '/check?a=1&b=2',
  '/health;v=1',
  `/$(touch$IFS${S})`,
  `/\`touch$IFS${S}\``,
  `/x|touch$IFS${S}`,
  `/x&&touch$IFS${S};`,
  '/status#frag',
  '/!bang',
  '/{}',
  '/}',
  '/a{b,c}',
  '/@x',
  '/%20%0a%00',
  '/~user/',
  "/'quoted'",
  '/a=b,c:d+e',
  '/$HOME',
  '/$_PWD',
  '/$$',
  '/*?[a]',
  '/<script>',
  '/' + 'p'.repeat(959),
];
const PATH_REJECT: [string, string][] = [
  ['space', '/a b'],
  ['dquote', '/"x"'],
  ['backslash', '/a\\b'],
  ['kaDefinition', '/${_PWD}'],
  ['kaDefinition', '/a${_RANDOM}b'],
  ['kaDefinition', `/$(touch\${IFS}${S})`],
  ['relative', 'health'],
  ['empty', ''],
  ['newline', `/x\ntouch ${S}`],
  ['nul', '/x\0y'],
  ['nonAscii', '/é'],
  ['tooLong', '/' + 'p'.repeat(960)],
  ['proxyCommand', HOSTILE.proxyCommand!],
  ['subst', HOSTILE.subst!],
  ['tab', '/a\tb'],
  ['cr', '/a\rb'],
  ['escape', '/a\x1b[2J'],
  ['lineSeparator', '/a\u2028'],
  ['fullwidth', '／x'],
];
const HOSTNAME_ACCEPT = ['host-1.example.com', '127.0.0.1', '::1', 'a', '0a', 'x'.repeat(63), '2001:db8::1'];
const HOSTNAME_REJECT: [string, string][] = [
  ['underscore', 'a_b'],
  ['emptyLabel', 'a..b'],
  ['leadingDot', '.a'],
  ['trailingDot', 'a.'],
  ['leadingDash', '-a'],
  ['port', 'host:22'],
  ['user', 'user@host'],
  ['bracketed', '[::1]'],
  ['labelTooLong', 'x'.repeat(64)],
  ['tooLong', 'a.'.repeat(127) + 'a'],
];
const USER_ACCEPT = ['root', '_svc', 'deploy-bot', 'a', 'u'.repeat(32), 'x_1-2'];
const USER_REJECT: [string, string][] = [
  ['upperCase', 'Root'],
  ['tooLong', 'u'.repeat(33)],
  ['at', 'user@host'],
  ['leadingDigit', '1user'],
  ['leadingDash', '-oProxyCommand=x'],
];
const ENV_ACCEPT = ['A', '_', 'LVSCTL_PW_1', 'E'.repeat(128)];
const ENV_REJECT: [string, string][] = [
  ['leadingDigit', '1A'],
  ['dash', 'A-B'],
  ['dollar', '$X'],
  ['assignment', 'A=B'],
  ['tooLong', 'E'.repeat(129)],
];
/** Local paths never reach a host: they must reach the SSH client exactly as written (resolved). */
const LOCALPATH_ACCEPT = [
  `$(touch ${S})`,
  `\`touch ${S}\``,
  `x;touch ${S}`,
  `-oProxyCommand=touch ${S}`,
  '../../../../etc/passwd',
  '~/.ssh/id with space',
  'ünïcødé/ключ',
  `'q"`,
  'a\\b',
  'p'.repeat(4096),
];
const LOCALPATH_REJECT: [string, string][] = [
  ['empty', ''],
  ['newline', `a\ntouch ${S}`],
  ['nul', 'a\0b'],
  ['escape', 'a\x1b]0;title\x07'],
  ['cr', 'a\rb'],
  ['c1', 'a\u0085b'],
  ['tooLong', 'p'.repeat(4097)],
];
const ADDRESS_REJECT: [string, string][] = [
  ['semicolon', `10.0.0.1;touch ${S}`],
  ['subst', HOSTILE.subst!],
  ['prefix', '10.0.0.1/24'],
  ['leadingZero', '010.0.0.1'],
  ['overflow', '10.0.0.256'],
  ['fullwidth', '１０.0.0.1'],
  ['newline', '10.0.0.1\n'],
  ['space', ' 10.0.0.1'],
  ['name', 'localhost'],
  ['hex', '0x0a000001'],
];

const model = (what: string, check: Check) => ({ kind: 'model' as const, what, check });
const rendered = (what: string, check: Check) => ({ kind: 'render' as const, what, check });

export const FIELDS: FieldSpec[] = [
  // Names
  {
    field: 'cluster',
    base: 'ha',
    set: (i, v) => void (i.cluster = v),
    at: () => ({ path: ['cluster'] }),
    reaches: rendered(
      'keepalived.conf and script headers',
      (r, v) =>
        file(r, 'dir1', KA).startsWith(`# keepalived.conf for dir1, cluster ${v} (mode dr).\n`) &&
        file(r, 'rs1', RS).includes(`\n# lvsctl-realserver for host rs1, cluster ${v} (mode dr).\n`),
    ),
    accept: NAME_ACCEPT.slice(3),
    reject: [...ALL_HOSTILE, ...NAME_REJECT],
  },
  {
    field: 'hosts.<name> (a real server)',
    base: 'ha',
    set: (i, v) => {
      rename(i.hosts, 'rs1', v);
      i.groups.web.hosts[0] = v;
      svc(i, 1).real_servers[0].host = v;
    },
    at: (v) => ({ path: ['hosts', v], atKey: true }),
    reaches: rendered(
      'its script, under its own name',
      (r, v) =>
        file(r, v, RS).includes(`\n# lvsctl-realserver for host ${v}, cluster hostile (mode dr).\n`) &&
        r.cluster.hosts.get(v)?.address === '10.99.2.11',
    ),
    accept: NAME_ACCEPT.slice(0, 4),
    reject: [...FEW4, ...NAME_REJECT],
  },
  {
    field: 'hosts.<name> (a director)',
    base: 'ha',
    set: (i, v) => {
      rename(i.hosts, 'dir1', v);
      i.directors.hosts[0].host = v;
    },
    at: (v) => ({ path: ['hosts', v], atKey: true }),
    reaches: rendered('keepalived router_id', (r, v) => kaHas(file(r, v, KA), ['router_id', v])),
    accept: NAME_ACCEPT.slice(0, 3),
    reject: [...FEW4, ...NAME_REJECT.slice(4, 6)],
  },
  {
    field: 'groups.<name>',
    base: 'ha',
    set: (i, v) => {
      rename(i.groups, 'web', v);
      svc(i).real_servers[0].group = v;
    },
    at: (v) => ({ path: ['groups', v], atKey: true }),
    reaches: rendered('both members as real servers of the service', (r) => {
      const conf = file(r, 'dir1', KA);
      return (
        kaHas(conf, ['real_server', '10.99.2.11', '80', '{']) && kaHas(conf, ['real_server', '10.99.2.12', '80', '{'])
      );
    }),
    accept: NAME_ACCEPT.slice(0, 3),
    reject: [...FEW4, ...NAME_REJECT.slice(4, 6)],
  },
  {
    field: 'vips[].services[].name',
    base: 'ha',
    set: (i, v) => void (svc(i).name = v),
    at: () => ({ path: ['vips', 0, 'services', 0, 'name'] }),
    reaches: rendered('keepalived.conf comment', (r, v) =>
      file(r, 'dir1', KA).includes(`\n# "tcp 10.99.2.100:80" (${v})\n`),
    ),
    accept: NAME_ACCEPT.slice(0, 3),
    reject: [...FEW4, ...NAME_REJECT.slice(4, 6)],
  },
  {
    field: 'directors.vrrp.instances[].name',
    base: 'ha',
    set: (i, v) => {
      i.directors.vrrp.instances[0].name = v;
      i.vips[0].vrrp_instance = v;
    },
    at: () => ({ path: ['directors', 'vrrp', 'instances', 0, 'name'] }),
    reaches: rendered(
      'vrrp_instance and lvs_sync_daemon',
      (r, v) =>
        kaHas(file(r, 'dir2', KA), ['vrrp_instance', v, '{']) &&
        kaHas(file(r, 'dir2', KA), ['lvs_sync_daemon', 'eth1', v, 'id', '1']),
    ),
    accept: NAME_ACCEPT.slice(0, 3),
    reject: [...FEW4, ...NAME_REJECT.slice(4, 6)],
  },
  // References to names
  {
    field: 'verify.from[]',
    base: 'ha',
    set: (i, v) => void (i.verify.from[0] = v),
    at: () => ({ path: ['verify', 'from', 0] }),
    accept: [],
    reject: [...FEW4, ['unknown', 'nosuchhost']],
  },
  {
    field: 'vips[].services[].real_servers[].host',
    base: 'ha',
    set: (i, v) => void (svc(i, 1).real_servers[0].host = v),
    at: () => ({ path: ['vips', 0, 'services', 1, 'real_servers', 0, 'host'] }),
    accept: [],
    reject: [...FEW4, ['prototype', 'constructor']],
  },
  {
    field: 'vips[].services[].real_servers[].group',
    base: 'ha',
    set: (i, v) => void (svc(i).real_servers[0].group = v),
    at: () => ({ path: ['vips', 0, 'services', 0, 'real_servers', 0, 'group'] }),
    accept: [],
    reject: [...FEW4, ['prototype', 'valueOf']],
  },
  {
    field: 'groups.<name>.hosts[]',
    base: 'ha',
    set: (i, v) => void (i.groups.web.hosts[1] = v),
    at: () => ({ path: ['groups', 'web', 'hosts', 1] }),
    accept: [],
    reject: [...FEW4, ['unknown', 'rs9']],
  },
  {
    field: 'directors.hosts[]',
    base: 'nat',
    set: (i, v) => void (i.directors.hosts[0] = v),
    at: () => ({ path: ['directors', 'hosts', 0] }),
    accept: [],
    reject: [...FEW4, ['prototype', 'toString']],
  },
  {
    field: 'directors.hosts[].host',
    base: 'ha',
    set: (i, v) => void (i.directors.hosts[1].host = v),
    at: () => ({ path: ['directors', 'hosts', 1, 'host'] }),
    accept: [],
    reject: pick('semicolon', 'newline'),
  },
  {
    field: 'vips[].vrrp_instance',
    base: 'ha',
    set: (i, v) => void (i.vips[0].vrrp_instance = v),
    at: () => ({ path: ['vips', 0, 'vrrp_instance'] }),
    accept: [],
    reject: [...FEW4, ['unknown', 'VI_9']],
  },
  {
    field: 'directors.dip.vrrp_instance',
    base: 'ha',
    set: (i, v) => void (i.directors.dip = { address: '10.99.2.1', prefix: 24, interface: 'eth1', vrrp_instance: v }),
    at: () => ({ path: ['directors', 'dip', 'vrrp_instance'] }),
    accept: [],
    reject: FEW4,
  },
  // Interfaces
  {
    field: 'groups.<name>.vars.interface',
    base: 'ha',
    set: (i, v) => void (i.groups.web.vars = { interface: v }),
    at: () => ({ path: ['groups', 'web', 'vars', 'interface'] }),
    reaches: rendered('real server ARP sysctls (script and sysctl.d)', arpOn('rs1')),
    accept: IFACE_ACCEPT.slice(7, 9),
    reject: [...FEW4, ...IFACE_REJECT.slice(0, 2)],
  },
  {
    field: 'groups.<name>.vars.ssh.user',
    base: 'ha',
    set: (i, v) => void (i.groups.web.vars = { ssh: { user: v } }),
    at: () => ({ path: ['groups', 'web', 'vars', 'ssh', 'user'] }),
    reaches: model("the SSH user of the group's hosts", (r, v) => r.cluster.hosts.get('rs2')!.ssh.user === v),
    accept: USER_ACCEPT.slice(1, 3),
    reject: [...FEW4.slice(0, 2), ...USER_REJECT.slice(0, 2)],
  },
  {
    field: 'vars.interface',
    base: 'ha',
    set: (i, v) => void (i.vars.interface = v),
    at: () => ({ path: ['vars', 'interface'] }),
    reaches: rendered('real server ARP sysctls (script and sysctl.d)', arpOn('rs1')),
    accept: IFACE_ACCEPT,
    reject: [
      ...SOME_HOSTILE,
      ...pick('slash', 'dotdot', 'space', 'tab', 'fullwidth', 'rtlOverride', 'escape', 'glob', 'hash', 'dollarVar'),
      ...IFACE_REJECT,
    ],
  },
  {
    field: 'hosts.<name>.interface',
    base: 'ha',
    set: (i, v) => void (i.hosts.rs2.interface = v),
    at: () => ({ path: ['hosts', 'rs2', 'interface'] }),
    reaches: rendered('real server ARP sysctls (script and sysctl.d)', arpOn('rs2')),
    accept: IFACE_ACCEPT.slice(0, 3),
    reject: [...FEW4, ...IFACE_REJECT.slice(0, 2)],
  },
  {
    field: 'vips[].interface',
    base: 'ha',
    set: (i, v) => void (i.vips[0].interface = v),
    at: () => ({ path: ['vips', 0, 'interface'] }),
    reaches: rendered(
      'keepalived virtual_ipaddress and the rp_filter sysctl',
      (r, v) =>
        kaHas(file(r, 'dir1', KA), ['10.99.2.100/32', 'dev', v]) &&
        hasCall(file(r, 'dir1', DIR), 'set_sysctl', [`net/ipv4/conf/${v}/rp_filter`, '2']),
    ),
    accept: IFACE_ACCEPT.slice(0, 3),
    reject: [...FEW4, ...IFACE_REJECT],
  },
  {
    field: 'directors.vrrp.instances[].interface',
    base: 'ha',
    set: (i, v) => void (i.directors.vrrp.instances[0].interface = v),
    at: () => ({ path: ['directors', 'vrrp', 'instances', 0, 'interface'] }),
    reaches: rendered('keepalived interface', (r, v) => kaHas(file(r, 'dir1', KA), ['interface', v])),
    accept: IFACE_ACCEPT.slice(0, 3),
    reject: [...FEW4, ...IFACE_REJECT.slice(0, 2)],
  },
  {
    field: 'directors.sync_daemon.interface (keepalived)',
    base: 'ha',
    set: (i, v) => void (i.directors.sync_daemon.interface = v),
    at: () => ({ path: ['directors', 'sync_daemon', 'interface'] }),
    reaches: rendered('keepalived lvs_sync_daemon', (r, v) =>
      kaHas(file(r, 'dir1', KA), ['lvs_sync_daemon', v, 'VI_1', 'id', '1']),
    ),
    accept: IFACE_ACCEPT.slice(5, 8),
    reject: FEW4,
  },
  {
    field: 'directors.dip.interface',
    base: 'nat',
    set: (i, v) => void (i.directors.dip.interface = v),
    at: () => ({ path: ['directors', 'dip', 'interface'] }),
    reaches: rendered(
      'director script add_addr and send_redirects',
      (r, v) =>
        hasCall(file(r, 'dir1', DIR), 'add_addr', ['10.99.2.1', '24', v]) &&
        hasCall(file(r, 'dir1', DIR), 'set_sysctl', [`net/ipv4/conf/${v}/send_redirects`, '0']),
    ),
    accept: IFACE_ACCEPT.slice(0, 3),
    reject: [...FEW4, ...IFACE_REJECT.slice(2)],
  },
  {
    field: 'directors.sync_daemon.interface (ipvsadm)',
    base: 'nat',
    set: (i, v) => void (i.directors.sync_daemon.interface = v),
    at: () => ({ path: ['directors', 'sync_daemon', 'interface'] }),
    reaches: rendered('director script sync_start', (r, v) => hasCall(file(r, 'dir1', DIR), 'sync_start', [v, '1'])),
    accept: IFACE_ACCEPT.slice(5, 8),
    reject: FEW4,
  },
  // HTTP paths
  {
    field: 'vips[].services[].health_check.path',
    base: 'ha',
    set: (i, v) => void (svc(i).health_check.path = v),
    at: () => ({ path: ['vips', 0, 'services', 0, 'health_check', 'path'] }),
    reaches: rendered('keepalived url path on both directors', (r, v) =>
      ['dir1', 'dir2'].every((d) => kaHas(file(r, d, KA), ['path', v])),
    ),
    accept: PATH_ACCEPT,
    reject: PATH_REJECT,
  },
  {
    field: 'vips[].services[].real_servers[].health_check.path',
    base: 'ha',
    set: (i, v) => void (svc(i, 1).real_servers[0].health_check.path = v),
    at: () => ({ path: ['vips', 0, 'services', 1, 'real_servers', 0, 'health_check', 'path'] }),
    reaches: rendered('keepalived url path', (r, v) => kaHas(file(r, 'dir1', KA), ['path', v])),
    accept: PATH_ACCEPT.slice(0, 3),
    reject: PATH_REJECT.slice(0, 4),
  },
  {
    field: 'vips[].services[].health_check.misc_path',
    base: 'ha',
    set: (i, v) => void (svc(i).health_check = { type: 'misc', misc_path: v }),
    at: () => ({ path: ['vips', 0, 'services', 0, 'health_check', 'misc_path'] }),
    reaches: rendered('the MISC_CHECK program on both directors', (r, v) =>
      ['dir1', 'dir2'].every((d) => miscArgvs(file(r, d, KA)).every((a) => a.length === 1 && a[0] === v)),
    ),
    accept: ['/usr/local/lib/lvsctl/check-web', '/a', '/opt/x+y/c-1.sh', '/_/..x/.y'],
    reject: [
      ...ALL_HOSTILE,
      ['dotdot', '/usr/../bin/x'],
      ['dot', '/usr/./x'],
      ['trailingSlash', '/usr/x/'],
      ['space', '/usr/x y'],
      ['doubleSlash', '//x'],
    ],
  },
  {
    field: 'vips[].services[].health_check.args[]',
    base: 'ha',
    set: (i, v) =>
      void (svc(i).health_check = { type: 'misc', misc_path: '/usr/local/bin/chk', args: ['{address}', v] }),
    // Too long once quoted: refused by the rule, at the check.
    at: (v) => ({
      path: ['vips', 0, 'services', 0, 'health_check', ...(v.length > 150 ? [] : ['args', 1])],
    }),
    reaches: rendered("the MISC_CHECK's argument vector on both directors, for each real server", (r, v) =>
      ['dir1', 'dir2'].every((d) =>
        ['10.99.2.11', '10.99.2.12'].every((a) =>
          miscArgvs(file(r, d, KA)).some((x) => JSON.stringify(x) === JSON.stringify(['/usr/local/bin/chk', a, v])),
        ),
      ),
    ),
    accept: ALL_HOSTILE.filter(([k]) => !['nul', 'empty', 'long'].includes(k)).map(([, v]) => v),
    reject: [...pick('nul', 'empty', 'long'), ['quotedTooLong', '"'.repeat(200)]],
  },
  {
    field: 'vips[].services[].verify.path',
    base: 'ha',
    set: (i, v) => void (svc(i).verify.path = v),
    at: () => ({ path: ['vips', 0, 'services', 0, 'verify', 'path'] }),
    reaches: { kind: 'verify', what: "curl's URL argument on the client", check: () => true },
    accept: PATH_ACCEPT.filter((p) => !/[[\]{}]/.test(p)).slice(0, 10),
    reject: [...PATH_REJECT.slice(0, 4), ['curlGlob', '/a{b,c}'], ['curlGlob', '/x[1-99999999]'], ['curlGlob', '/}']],
  },
  // Host names and users for SSH, and the health check's virtual host
  {
    field: 'vips[].services[].health_check.virtualhost',
    base: 'ha',
    set: (i, v) => void (svc(i).health_check.virtualhost = v),
    at: () => ({ path: ['vips', 0, 'services', 0, 'health_check', 'virtualhost'] }),
    reaches: rendered('keepalived virtualhost', (r, v) => kaHas(file(r, 'dir1', KA), ['virtualhost', v])),
    accept: HOSTNAME_ACCEPT.slice(0, 4),
    reject: [...FEW4, ...HOSTNAME_REJECT],
  },
  {
    field: 'vars.ssh.host',
    base: 'ha',
    set: (i, v) => void (i.vars.ssh.host = v),
    at: () => ({ path: ['vars', 'ssh', 'host'] }),
    reaches: model('the SSH target', (r, v) => r.cluster.hosts.get('rs1')!.ssh.host === v),
    accept: HOSTNAME_ACCEPT.slice(0, 4),
    reject: [...FEW4, ...pick('proxyCommandNoSpace', 'dashdash'), ...HOSTNAME_REJECT.slice(4, 7)],
  },
  {
    field: 'hosts.<name>.ssh.jump.host',
    base: 'ha',
    set: (i, v) => void (i.hosts.dir2.ssh.jump.host = v),
    at: () => ({ path: ['hosts', 'dir2', 'ssh', 'jump', 'host'] }),
    reaches: model('the jump host', (r, v) => r.cluster.hosts.get('dir2')!.ssh.jump?.host === v),
    accept: HOSTNAME_ACCEPT.slice(4),
    reject: [...FEW4, ...HOSTNAME_REJECT.slice(7, 8)],
  },
  {
    field: 'vars.ssh.user',
    base: 'ha',
    set: (i, v) => void (i.vars.ssh.user = v),
    at: () => ({ path: ['vars', 'ssh', 'user'] }),
    reaches: model('the SSH user', (r, v) => r.cluster.hosts.get('rs1')!.ssh.user === v),
    accept: USER_ACCEPT.slice(3),
    reject: [...FEW4.slice(0, 2), ...USER_REJECT],
  },
  {
    field: 'hosts.<name>.ssh.jump.user',
    base: 'ha',
    set: (i, v) => void (i.hosts.dir2.ssh.jump.user = v),
    at: () => ({ path: ['hosts', 'dir2', 'ssh', 'jump', 'user'] }),
    reaches: model('the jump user', (r, v) => r.cluster.hosts.get('dir2')!.ssh.jump?.user === v),
    accept: USER_ACCEPT.slice(0, 3),
    reject: [...FEW4.slice(0, 2), ...USER_REJECT.slice(3)],
  },
  // Local paths
  {
    field: 'vars.ssh.identity_file',
    base: 'ha',
    set: (i, v) => void (i.vars.ssh.identity_file = v),
    at: () => ({ path: ['vars', 'ssh', 'identity_file'] }),
    reaches: model(
      'the key file the SSH client reads',
      (r, v) => r.cluster.hosts.get('rs1')!.ssh.identityFile === expandHome(v, r.dir),
    ),
    accept: LOCALPATH_ACCEPT.filter((_, i) => i % 2 === 0 || i === 3),
    reject: [
      ...LOCALPATH_REJECT,
      ['device', '/dev/zero'],
      ['fifo', '/dev/stdin'],
      ['directory', '~'],
      ['directory', '.'],
    ],
  },
  {
    field: 'vars.ssh.known_hosts',
    base: 'ha',
    set: (i, v) => void (i.vars.ssh.known_hosts = v),
    at: () => ({ path: ['vars', 'ssh', 'known_hosts'] }),
    reaches: model(
      'the known_hosts file',
      (r, v) => r.cluster.hosts.get('rs1')!.ssh.knownHosts[0] === expandHome(v, r.dir),
    ),
    accept: [...LOCALPATH_ACCEPT.slice(0, 5), '/dev/null'],
    reject: [...LOCALPATH_REJECT.slice(0, 4), ['device', '/dev/urandom']],
  },
  {
    field: 'hosts.<name>.ssh.known_hosts[]',
    base: 'ha',
    set: (i, v) => void (i.hosts.rs2.ssh.known_hosts = ['known_hosts', v]),
    at: () => ({ path: ['hosts', 'rs2', 'ssh', 'known_hosts', 1] }),
    reaches: model(
      'the second known_hosts file',
      (r, v) => r.cluster.hosts.get('rs2')!.ssh.knownHosts[1] === expandHome(v, r.dir),
    ),
    accept: LOCALPATH_ACCEPT.slice(5),
    reject: LOCALPATH_REJECT.slice(1, 4),
  },
  {
    field: 'hosts.<name>.ssh.jump.identity_file',
    base: 'ha',
    set: (i, v) => void (i.hosts.dir2.ssh.jump.identity_file = v),
    at: () => ({ path: ['hosts', 'dir2', 'ssh', 'jump', 'identity_file'] }),
    reaches: model(
      'the jump key file',
      (r, v) => r.cluster.hosts.get('dir2')!.ssh.jump?.identityFile === expandHome(v, r.dir),
    ),
    accept: LOCALPATH_ACCEPT.slice(2, 6),
    reject: LOCALPATH_REJECT.slice(1, 4),
  },
  // Environment variable names (secrets are read from them)
  {
    field: 'hosts.<name>.ssh.password_env',
    base: 'ha',
    set: (i, v) => void (i.hosts.rs1.ssh.password_env = v),
    at: () => ({ path: ['hosts', 'rs1', 'ssh', 'password_env'] }),
    reaches: model(
      'the variable the SSH password is read from',
      (r, v) => r.cluster.hosts.get('rs1')!.ssh.passwordEnv === v,
    ),
    accept: ENV_ACCEPT.slice(2),
    reject: [...FEW4.slice(0, 2), ...ENV_REJECT],
  },
  {
    field: 'hosts.<name>.ssh.passphrase_env',
    base: 'ha',
    set: (i, v) => void (i.hosts.rs2.ssh.passphrase_env = v),
    at: () => ({ path: ['hosts', 'rs2', 'ssh', 'passphrase_env'] }),
    reaches: model('the passphrase variable', (r, v) => r.cluster.hosts.get('rs2')!.ssh.passphraseEnv === v),
    accept: ENV_ACCEPT.slice(0, 2),
    reject: [...FEW_HOSTILE.slice(0, 3), ...ENV_REJECT.slice(0, 3)],
  },
  {
    field: 'hosts.<name>.become.password_env',
    base: 'ha',
    set: (i, v) => void (i.hosts.rs1.become.password_env = v),
    at: () => ({ path: ['hosts', 'rs1', 'become', 'password_env'] }),
    reaches: model(
      'the sudo password variable',
      (r, v) =>
        r.cluster.hosts.get('rs1')!.become !== false &&
        (r.cluster.hosts.get('rs1')!.become as { passwordEnv?: string }).passwordEnv === v,
    ),
    accept: ENV_ACCEPT.slice(2),
    reject: [...FEW_HOSTILE.slice(0, 3), ...ENV_REJECT.slice(2)],
  },
  {
    field: 'directors.vrrp.auth.password_env',
    base: 'ha',
    set: (i, v) => void (i.directors.vrrp.auth.password_env = v),
    at: () => ({ path: ['directors', 'vrrp', 'auth', 'password_env'] }),
    accept: [],
    reject: [...FEW_HOSTILE.slice(0, 3), ...ENV_REJECT.slice(0, 3)],
  },
  // verify
  {
    field: 'verify.identify.name',
    base: 'ha',
    set: (i, v) => void (i.verify.identify.name = v),
    at: () => ({ path: ['verify', 'identify', 'name'] }),
    reaches: model(
      'the header verify reads',
      (r, v) => r.cluster.verify?.identify?.by === 'header' && r.cluster.verify.identify.name === v,
    ),
    accept: ['X--Y', 'H'.repeat(64)],
    reject: [
      ...FEW4.slice(0, 1),
      ['space', 'X Backend'],
      ['colon', 'X:Y'],
      ['headerSplit', 'X-Y\r\nSet-Cookie: a'],
      ['regex', '.*'],
      ['regex', '(a|b)'],
      ['tooLong', 'h'.repeat(65)],
    ],
  },
  // Addresses: strings that must be addresses
  ...(
    [
      [
        'hosts.<name>.address',
        'ha',
        (i: Inv, v: string) => void (i.hosts.rs1.address = v),
        ['hosts', 'rs1', 'address'],
      ],
      ['vips[].address', 'ha', (i: Inv, v: string) => void (i.vips[0].address = v), ['vips', 0, 'address']],
      [
        'hosts.<name>.gateway',
        'nat',
        (i: Inv, v: string) => void (i.hosts.rs1.gateway = v),
        ['hosts', 'rs1', 'gateway'],
      ],
      [
        'hosts.<name>.address6',
        'ha',
        (i: Inv, v: string) => void (i.hosts.rs1.address6 = v),
        ['hosts', 'rs1', 'address6'],
      ],
      ['verify.sources[]', 'ha', (i: Inv, v: string) => void (i.verify.sources[0] = v), ['verify', 'sources', 0]],
      [
        'directors.dip.address',
        'nat',
        (i: Inv, v: string) => void (i.directors.dip.address = v),
        ['directors', 'dip', 'address'],
      ],
      [
        'vips[].services[].sorry_server.address',
        'ha',
        (i: Inv, v: string) => void (svc(i).sorry_server = { address: v }),
        ['vips', 0, 'services', 0, 'sorry_server', 'address'],
      ],
      [
        'vips[].services[].persistence.netmask',
        'ha',
        (i: Inv, v: string) => void (svc(i).persistence = { timeout: 60, netmask: v }),
        ['vips', 0, 'services', 0, 'persistence', 'netmask'],
      ],
    ] as const
  ).map(([field, base, set, path], k): FieldSpec => ({
    field,
    base,
    set,
    at: () => ({ path: [...path] }),
    accept: [],
    reject: k < 2 ? ADDRESS_REJECT.slice(k * 5, k * 5 + 5) : ADDRESS_REJECT.slice(k, k + 3),
  })),
  // Enumerations: strings with a fixed set of values
  ...(
    [
      ['mode', 'ha', (i: Inv, v: string) => void (i.mode = v), ['mode'], ['DR', ' dr', 'dr;x', 'fullnat']],
      [
        'vips[].services[].protocol',
        'ha',
        (i: Inv, v: string) => void (svc(i).protocol = v),
        ['vips', 0, 'services', 0, 'protocol'],
        ['TCP', 'sctp'],
      ],
      [
        'vips[].services[].scheduler',
        'ha',
        (i: Inv, v: string) => void (svc(i).scheduler = v),
        ['vips', 0, 'services', 0, 'scheduler'],
        [`rr;touch ${S}`, 'RR', 'wrr '],
      ],
      [
        'vips[].services[].scheduler_flags[]',
        'ha',
        (i: Inv, v: string) => void (svc(i).scheduler_flags = [v]),
        ['vips', 0, 'services', 0, 'scheduler_flags', 0],
        ['-b sh-port', 'sh-port,x'],
      ],
      [
        'vips[].services[].engine',
        'ha',
        (i: Inv, v: string) => void (svc(i).engine = v),
        ['vips', 0, 'services', 0, 'engine'],
        ['Keepalived'],
      ],
      [
        'directors.hosts[].state',
        'ha',
        (i: Inv, v: string) => void (i.directors.hosts[0].state = v),
        ['directors', 'hosts', 0],
        ['master', 'MASTER\n'],
      ],
      [
        'directors.vrrp.auth.type',
        'ha',
        (i: Inv, v: string) => void (i.directors.vrrp.auth.type = v),
        ['directors', 'vrrp', 'auth', 'type'],
        ['pass', 'PASS"'],
      ],
      [
        'vips[].services[].health_check.type',
        'ha',
        (i: Inv, v: string) => void (svc(i).health_check.type = v),
        ['vips', 0, 'services', 0, 'health_check', 'type'],
        ['HTTP', 'ssl'],
      ],
      [
        'vips[].services[].verify.probe',
        'ha',
        (i: Inv, v: string) => void (svc(i).verify.probe = v),
        ['vips', 0, 'services', 0, 'verify', 'probe'],
        ['icmp'],
      ],
      [
        'hosts.<name>.become.method',
        'ha',
        (i: Inv, v: string) => void (i.hosts.rs1.become.method = v),
        ['hosts', 'rs1', 'become'],
        ['Sudo', 'su -c'],
      ],
      [
        'verify.identify.by',
        'ha',
        (i: Inv, v: string) => void (i.verify.identify.by = v),
        ['verify', 'identify', 'by'],
        ['cookie'],
      ],
    ] as const
  ).map(([field, base, set, path, values]): FieldSpec => ({
    field,
    base,
    set,
    at: () => ({ path: [...path] }),
    accept: [],
    reject: values.map((x) => ['enum', x] as [string, string]),
  })),
];

/** The VRRP password is a secret: read from an environment variable, written only as auth_pass. */
export const PASSWORD_ACCEPT = [
  '$(id)',
  '`id`',
  'a;b|c&d',
  "'x'y",
  '{x}',
  '$HOME',
  '~root',
  '*?[a]',
  '-oFoo',
  '%n%s',
  '<>',
  'a=b,c',
  '$_PWD',
  '@x',
  'x}',
];
export const PASSWORD_REJECT: [string, string][] = [
  ['kaDefinition', '${_PWD}'],
  ['kaDefinition', 'a${X}'],
  ['brace', '}'],
  ['brace', '{'],
  ['space', 'a b'],
  ['dquote', 'a"b'],
  ['hash', 'a#b'],
  ['bang', 'a!b'],
  ['backslash', 'a\\b'],
  ['nonAscii', 'ünï'],
  ['empty', ''],
  ['tooLong', '123456789'],
  ['tab', 'a\tb'],
  ['newline', 'a\nb'],
];

/** Password files: [name in the inventory's directory (created), content]. */
export const PASSWORD_FILE_ACCEPT: [string, string][] = [
  ['pw file', 'pw1'],
  [`$(touch\${IFS}x)`, 'pw2'],
  [';touch x', 'pw3'],
  ['-oProxyCommand=x', 'pw4'],
  ['ünïcødé', 'pw5'],
];

export const checkRendered = (spec: FieldSpec, r: Rendered, v: string): boolean => spec.reaches!.check(r, v);
