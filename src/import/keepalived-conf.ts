// keepalived.conf read back (pure), for `lvsctl import` of a cluster keepalived runs: the file as a
// tree of keyword lines and { } blocks, then the parts lvsctl has fields for (VRRP instances, the
// sync daemon, vrrp_script, virtual and real servers with their checks). What lvsctl has no field
// for is kept as the nodes themselves, so import can carry it over verbatim (keepalived_raw).
//
// keepalived's own reading (lib/parser.c): words split on blanks, "…" keeps blanks, a comment runs
// from "#" or "!" to the end of the line, "{" and "}" open and close blocks.

export interface KaNode {
  words: string[];
  /** 1-based line of the first word. */
  line: number;
  children?: KaNode[];
}

/** The words of one line, comments dropped, quotes kept whole (without the quotes), braces apart. */
export function kaWords(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let inWord = false;
  const end = () => {
    if (inWord) out.push(cur);
    cur = '';
    inWord = false;
  };
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"') quoted = false;
      else cur += ch;
      continue;
    }
    if (ch === '"') {
      quoted = true;
      inWord = true;
    } else if (ch === '#' || ch === '!') {
      break;
    } else if (ch === '{' || ch === '}') {
      end();
      out.push(ch);
    } else if (/\s/.test(ch)) {
      end();
    } else {
      cur += ch;
      inWord = true;
    }
  }
  end();
  return out;
}

export class KeepalivedConfError extends Error {}

/** The file as a tree. An unbalanced "}" or a block left open is an error (keepalived would not
 * have loaded such a file, so it is not the running one). */
export function parseKeepalivedConf(text: string): KaNode[] {
  const root: KaNode[] = [];
  const stack: KaNode[][] = [root];
  text.split('\n').forEach((raw, i) => {
    let cur: string[] = [];
    let at = i + 1;
    const flush = () => {
      if (cur.length) stack.at(-1)!.push({ words: cur, line: at });
      cur = [];
    };
    for (const w of kaWords(raw)) {
      if (w === '{') {
        // "{" on its own line belongs to the keyword line before it
        const parent = cur.length ? { words: cur, line: at } : stack.at(-1)!.at(-1);
        if (!parent || parent.children) throw new KeepalivedConfError(`line ${i + 1}: "{" without a keyword`);
        if (cur.length) stack.at(-1)!.push(parent);
        parent.children = [];
        stack.push(parent.children);
        cur = [];
      } else if (w === '}') {
        flush();
        if (stack.length === 1) throw new KeepalivedConfError(`line ${i + 1}: "}" closes no block`);
        stack.pop();
      } else {
        if (!cur.length) at = i + 1;
        cur.push(w);
      }
    }
    flush();
  });
  if (stack.length > 1) throw new KeepalivedConfError('a block is not closed at the end of the file');
  return root;
}

/** The nodes with this keyword. */
export const kaAll = (nodes: readonly KaNode[] | undefined, key: string): KaNode[] =>
  (nodes ?? []).filter((n) => n.words[0] === key);
/** The first node with one of these keywords (keepalived's old and new names: lb_algo, lvs_sched). */
export const kaOne = (nodes: readonly KaNode[] | undefined, ...keys: string[]): KaNode | undefined =>
  (nodes ?? []).find((n) => keys.includes(n.words[0]!));
/** The first value of a keyword line. */
export const kaValue = (nodes: readonly KaNode[] | undefined, ...keys: string[]): string | undefined =>
  kaOne(nodes, ...keys)?.words[1];

export interface KaAddress {
  address: string;
  prefix?: number;
  dev?: string;
  label?: string;
  /** Words lvsctl has no field for (scope, brd…). */
  rest: string[];
}

export interface KaVrrpInstance {
  name: string;
  state?: string;
  interface?: string;
  virtualRouterId?: number;
  priority?: number;
  advertInt?: number;
  nopreempt: boolean;
  unicastSrc?: string;
  unicastPeers: string[];
  auth?: { type: string; pass?: string };
  addresses: KaAddress[];
  trackScripts: string[];
  /** Keys lvsctl has no field for, as written. */
  other: KaNode[];
  line: number;
}

export interface KaRealServer {
  address: string;
  port?: number;
  weight?: number;
  upperThreshold?: number;
  lowerThreshold?: number;
  /** The check block (HTTP_GET, SSL_GET, TCP_CHECK, MISC_CHECK, DNS_CHECK…), as written. */
  checks: KaNode[];
  other: KaNode[];
}

export interface KaVirtualServer {
  address?: string;
  port?: number;
  fwmark?: number;
  scheduler?: string;
  method?: string;
  protocol?: string;
  persistence?: { timeout: number; granularity?: string };
  delayLoop?: number;
  sorry?: { address: string; port?: number };
  inhibitOnFailure: boolean;
  realServers: KaRealServer[];
  other: KaNode[];
  line: number;
}

export interface KaConf {
  syncDaemon?: { interface: string; instance?: string; id?: number };
  instances: KaVrrpInstance[];
  scripts: Map<string, KaNode[]>;
  virtualServers: KaVirtualServer[];
  /** Top-level blocks import does not carry over (include, virtual_server_group, …), by line. */
  unsupported: { line: number; what: string }[];
}

const num = (s: string | undefined): number | undefined => (s !== undefined && /^\d+$/.test(s) ? Number(s) : undefined);

function address(words: string[]): KaAddress {
  const [cidr, ...rest] = words;
  const [addr, prefix] = cidr!.split('/');
  const out: KaAddress = { address: addr!, ...(prefix !== undefined && { prefix: Number(prefix) }), rest: [] };
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === 'dev' && rest[i + 1]) out.dev = rest[++i];
    else if (w === 'label' && rest[i + 1]) out.label = rest[++i];
    else out.rest.push(w);
  }
  return out;
}

const INSTANCE_KEYS = new Set([
  'state',
  'interface',
  'virtual_router_id',
  'priority',
  'advert_int',
  'nopreempt',
  'unicast_src_ip',
  'unicast_peer',
  'authentication',
  'virtual_ipaddress',
  'track_script',
]);

function instance(n: KaNode): KaVrrpInstance {
  const c = n.children ?? [];
  const auth = kaOne(c, 'authentication')?.children;
  return {
    name: n.words[1] ?? '',
    state: kaValue(c, 'state'),
    interface: kaValue(c, 'interface'),
    virtualRouterId: num(kaValue(c, 'virtual_router_id')),
    priority: num(kaValue(c, 'priority')),
    advertInt: num(kaValue(c, 'advert_int')),
    nopreempt: !!kaOne(c, 'nopreempt'),
    unicastSrc: kaValue(c, 'unicast_src_ip'),
    unicastPeers: (kaOne(c, 'unicast_peer')?.children ?? []).map((p) => p.words[0]!),
    ...(auth && { auth: { type: kaValue(auth, 'auth_type') ?? 'PASS', pass: kaValue(auth, 'auth_pass') } }),
    addresses: (kaOne(c, 'virtual_ipaddress')?.children ?? []).map((a) => address(a.words)),
    trackScripts: (kaOne(c, 'track_script')?.children ?? []).map((s) => s.words[0]!),
    other: c.filter((x) => !INSTANCE_KEYS.has(x.words[0]!)),
    line: n.line,
  };
}

const CHECKS = new Set([
  'HTTP_GET',
  'SSL_GET',
  'TCP_CHECK',
  'MISC_CHECK',
  'DNS_CHECK',
  'SMTP_CHECK',
  'BFD_CHECK',
  'UDP_CHECK',
  'PING_CHECK',
  'FILE_CHECK',
]);
const REAL_SERVER_KEYS = new Set(['weight', 'uthreshold', 'lthreshold', ...CHECKS]);

function realServer(n: KaNode): KaRealServer {
  const c = n.children ?? [];
  return {
    address: n.words[1] ?? '',
    port: num(n.words[2]),
    weight: num(kaValue(c, 'weight')),
    upperThreshold: num(kaValue(c, 'uthreshold')),
    lowerThreshold: num(kaValue(c, 'lthreshold')),
    checks: c.filter((x) => CHECKS.has(x.words[0]!)),
    other: c.filter((x) => !REAL_SERVER_KEYS.has(x.words[0]!)),
  };
}

const VIRTUAL_SERVER_KEYS = new Set([
  'lb_algo',
  'lvs_sched',
  'lb_kind',
  'lvs_method',
  'protocol',
  'persistence_timeout',
  'persistence_granularity',
  'delay_loop',
  'sorry_server',
  'inhibit_on_failure',
  'real_server',
]);

function virtualServer(n: KaNode): KaVirtualServer {
  const c = n.children ?? [];
  const [, a, b] = n.words;
  const timeout = num(kaValue(c, 'persistence_timeout'));
  const sorry = kaOne(c, 'sorry_server');
  return {
    ...(a === 'fwmark' ? { fwmark: num(b) } : { address: a, port: num(b) }),
    scheduler: kaValue(c, 'lvs_sched', 'lb_algo'),
    method: kaValue(c, 'lvs_method', 'lb_kind'),
    protocol: kaValue(c, 'protocol'),
    ...(timeout !== undefined && {
      persistence: { timeout, granularity: kaValue(c, 'persistence_granularity') },
    }),
    delayLoop: num(kaValue(c, 'delay_loop')),
    ...(sorry?.words[1] && { sorry: { address: sorry.words[1], port: num(sorry.words[2]) } }),
    inhibitOnFailure: !!kaOne(c, 'inhibit_on_failure'),
    realServers: kaAll(c, 'real_server').map(realServer),
    other: c.filter((x) => !VIRTUAL_SERVER_KEYS.has(x.words[0]!)),
    line: n.line,
  };
}

/** The parts of keepalived.conf lvsctl has fields for. */
export function readKeepalivedConf(text: string): KaConf {
  const tree = parseKeepalivedConf(text);
  const sync = kaOne(kaOne(tree, 'global_defs')?.children, 'lvs_sync_daemon');
  let syncDaemon: KaConf['syncDaemon'];
  if (sync?.words[1]) {
    const [, iface, ...rest] = sync.words;
    const id = rest.indexOf('id');
    syncDaemon = {
      interface: iface!,
      ...(rest[0] && rest[0] !== 'id' && { instance: rest[0] }),
      ...(id >= 0 && { id: num(rest[id + 1]) }),
    };
  }
  const known = new Set(['global_defs', 'vrrp_instance', 'vrrp_script', 'virtual_server', 'vrrp_sync_group']);
  return {
    syncDaemon,
    instances: kaAll(tree, 'vrrp_instance').map(instance),
    scripts: new Map(kaAll(tree, 'vrrp_script').map((s) => [s.words[1] ?? '', s.children ?? []])),
    virtualServers: kaAll(tree, 'virtual_server').map(virtualServer),
    unsupported: tree.filter((n) => !known.has(n.words[0]!)).map((n) => ({ line: n.line, what: n.words.join(' ') })),
  };
}
