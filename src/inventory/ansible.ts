// Hosts and groups from an Ansible inventory: INI, YAML, or the JSON that `ansible-inventory --list`
// prints. Pure: text in, hosts with their merged variables out, every problem with its line. Only
// the variables that say how to reach a host are used (ansibleReach); secrets that Ansible keeps
// in an inventory (vault values, *_pass) are refused, never read.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';

export interface AnsibleProblem {
  line: number;
  /** where in the file: a host, a group, a variable */
  field: string;
  message: string;
}

export class AnsibleInventoryError extends Error {
  constructor(
    readonly file: string,
    readonly problems: AnsibleProblem[],
  ) {
    super(problems.map((p) => `${file}:${p.line}: ${p.field}: ${p.message}`).join('\n'));
  }
}

/** A variable's value, and the line that set it (for messages). `vault`: an encrypted value. */
export interface AnsibleVar {
  value: unknown;
  line: number;
  vault?: boolean;
}
type Vars = Map<string, AnsibleVar>;

interface Group {
  hosts: Set<string>;
  children: Set<string>;
  vars: Vars;
  line: number;
}

export interface AnsibleInventory {
  /** host name -> the line that first named it */
  hosts: Map<string, number>;
  groups: Map<string, Group>;
  hostVars: Map<string, Vars>;
}

const empty = (): AnsibleInventory => ({ hosts: new Map(), groups: new Map(), hostVars: new Map() });

function group(inv: AnsibleInventory, name: string, line: number): Group {
  let g = inv.groups.get(name);
  if (!g) inv.groups.set(name, (g = { hosts: new Set(), children: new Set(), vars: new Map(), line }));
  return g;
}

function addHost(inv: AnsibleInventory, g: string, name: string, line: number, vars: Vars): void {
  if (!inv.hosts.has(name)) inv.hosts.set(name, line);
  group(inv, g, line).hosts.add(name);
  const hv = inv.hostVars.get(name) ?? new Map<string, AnsibleVar>();
  for (const [k, v] of vars) hv.set(k, v);
  inv.hostVars.set(name, hv);
}

/** Ansible's host ranges: web[01:03] -> web01 web02 web03, db-[a:c] -> db-a db-b db-c, [1:9:2]. */
export function expandHostPattern(pattern: string): string[] {
  const m = /^(.*?)\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\](.*)$/.exec(pattern);
  if (!m) return [pattern];
  const [, head = '', from = '', to = '', stepText, tail = ''] = m;
  const step = stepText === undefined ? 1 : Number(stepText);
  if (step < 1) throw new Error(`the range step in ${pattern} must be 1 or more`);
  const out: string[] = [];
  if (/^[0-9]+$/.test(from) && /^[0-9]+$/.test(to)) {
    const width = from.length > 1 && from.startsWith('0') ? from.length : 0;
    const a = Number(from);
    const b = Number(to);
    if (b < a) throw new Error(`the range in ${pattern} ends before it starts`);
    if ((b - a) / step > 10_000) throw new Error(`the range in ${pattern} names more than 10000 hosts`);
    for (let i = a; i <= b; i += step) out.push(`${head}${String(i).padStart(width, '0')}`);
  } else if (/^[a-zA-Z]$/.test(from) && /^[a-zA-Z]$/.test(to)) {
    const a = from.charCodeAt(0);
    const b = to.charCodeAt(0);
    if (b < a) throw new Error(`the range in ${pattern} ends before it starts`);
    for (let i = a; i <= b; i += step) out.push(`${head}${String.fromCharCode(i)}`);
  } else throw new Error(`${pattern}: a range is [0:9] (numbers) or [a:z] (one letter each side)`);
  return out.flatMap((h) => expandHostPattern(h + tail));
}

// ---------------------------------------------------------------------------------------------
// INI

/** Splits `a=1 b="two words" c='x'` the way Ansible's INI reader does (shlex, # starts a comment). */
function splitIni(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '#') break;
    else if (/\s/.test(c)) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quote) throw new Error('a quote is not closed');
  if (cur || any) out.push(cur);
  return out;
}

/** Inline host variables are Python literals in Ansible (numbers, True/False, quoted strings). */
function iniHostValue(v: string): unknown {
  if (/^-?[0-9]+$/.test(v)) return Number(v);
  if (v === 'True' || v === 'true') return true;
  if (v === 'False' || v === 'false') return false;
  return v;
}

function parseIni(text: string, problems: AnsibleProblem[]): AnsibleInventory {
  const inv = empty();
  let section = 'ungrouped';
  let kind: 'hosts' | 'vars' | 'children' = 'hosts';
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (!t || t.startsWith('#') || t.startsWith(';')) return;
    const head = /^\[([^\]:]+)(?::(vars|children))?\]\s*(?:[#;].*)?$/.exec(t);
    if (head) {
      section = head[1]!.trim();
      kind = (head[2] as 'vars' | 'children' | undefined) ?? 'hosts';
      group(inv, section, line);
      return;
    }
    try {
      if (kind === 'children') {
        const [child, ...rest] = splitIni(t);
        if (!child || rest.length) throw new Error('a :children section lists one group per line');
        group(inv, section, line).children.add(child);
        group(inv, child, line);
      } else if (kind === 'vars') {
        const eq = t.indexOf('=');
        if (eq < 1) throw new Error('a :vars section holds key=value lines');
        const key = t.slice(0, eq).trim();
        // :vars values are strings in Ansible (quotes kept off)
        const value = splitIni(t.slice(eq + 1)).join(' ');
        group(inv, section, line).vars.set(key, { value, line });
      } else {
        const [pattern, ...assigns] = splitIni(t);
        const vars: Vars = new Map();
        for (const a of assigns) {
          const eq = a.indexOf('=');
          if (eq < 1) throw new Error(`"${a}" is not key=value`);
          vars.set(a.slice(0, eq), { value: iniHostValue(a.slice(eq + 1)), line });
        }
        // host:port, as Ansible reads it (not for an IPv6 address)
        const hp = /^([^:]+):([0-9]+)$/.exec(pattern!);
        if (hp) vars.set('ansible_port', { value: Number(hp[2]), line });
        for (const h of expandHostPattern(hp ? hp[1]! : pattern!)) addHost(inv, section, h, line, vars);
      }
    } catch (e) {
      problems.push({ line, field: `[${section}]`, message: (e as Error).message });
    }
  });
  return inv;
}

// ---------------------------------------------------------------------------------------------
// YAML, and the JSON of ansible-inventory --list (JSON is YAML: one parser gives both lines)

function lineOf(lc: LineCounter, n: unknown): number {
  const r = (n as Node | undefined)?.range;
  return r ? lc.linePos(r[0]).line : 1;
}

function yamlVars(node: unknown, lc: LineCounter): Vars {
  const vars: Vars = new Map();
  if (!isMap(node)) return vars;
  for (const p of node.items) {
    const key = isScalar(p.key) ? String(p.key.value) : String(p.key);
    const v = p.value;
    const vault =
      (isScalar(v) && v.tag === '!vault') ||
      (isMap(v) && v.items.some((x) => isScalar(x.key) && x.key.value === '__ansible_vault'));
    const value = isScalar(v) ? v.value : (v as { toJSON?: () => unknown } | null)?.toJSON?.();
    vars.set(key, { value, line: lineOf(lc, p.key), ...(vault && { vault: true }) });
  }
  return vars;
}

function parseYamlGroups(doc: unknown, lc: LineCounter, inv: AnsibleInventory, problems: AnsibleProblem[]): void {
  const visit = (name: string, node: unknown, line: number) => {
    const g = group(inv, name, line);
    /** The entries of a mapping; none for an empty value; a problem for anything else. */
    const entries = (v: unknown, l: number, field: string, what: string) => {
      if (v === null || (isScalar(v) && v.value === null)) return [];
      if (isMap(v)) return v.items;
      problems.push({ line: l, field, message: `${what} is a mapping` });
      return [];
    };
    for (const p of entries(node, line, name, 'a group (hosts, vars, children)')) {
      const key = isScalar(p.key) ? String(p.key.value) : '';
      const l = lineOf(lc, p.key);
      if (key === 'vars') for (const [k, v] of yamlVars(p.value, lc)) g.vars.set(k, v);
      else if (key === 'hosts') {
        for (const h of entries(p.value, l, `${name}.hosts`, 'hosts (host names)')) {
          const pattern = isScalar(h.key) ? String(h.key.value) : '';
          try {
            for (const hn of expandHostPattern(pattern))
              addHost(inv, name, hn, lineOf(lc, h.key), yamlVars(h.value, lc));
          } catch (e) {
            problems.push({ line: lineOf(lc, h.key), field: `${name}.hosts`, message: (e as Error).message });
          }
        }
      } else if (key === 'children') {
        for (const c of entries(p.value, l, `${name}.children`, 'children (group names)')) {
          const child = isScalar(c.key) ? String(c.key.value) : '';
          g.children.add(child);
          visit(child, c.value, lineOf(lc, c.key));
        }
      } else problems.push({ line: l, field: name, message: `unknown key "${key}" (hosts, vars, children)` });
    }
  };
  if (!isMap(doc)) {
    problems.push({ line: 1, field: '', message: 'an Ansible YAML inventory is a mapping of groups' });
    return;
  }
  for (const p of doc.items) visit(isScalar(p.key) ? String(p.key.value) : '', p.value, lineOf(lc, p.key));
}

/** `ansible-inventory --list`: {"_meta": {"hostvars": {...}}, "all": {"children": [...]}, "g": {"hosts": [...], "vars": {...}}} */
function parseListJson(doc: unknown, lc: LineCounter, inv: AnsibleInventory, problems: AnsibleProblem[]): void {
  if (!isMap(doc)) return;
  for (const p of doc.items) {
    const name = isScalar(p.key) ? String(p.key.value) : '';
    const l = lineOf(lc, p.key);
    if (name === '_meta') {
      const hv = isMap(p.value) ? p.value.get('hostvars', true) : undefined;
      if (isMap(hv))
        for (const h of hv.items) {
          const hn = isScalar(h.key) ? String(h.key.value) : '';
          if (!inv.hosts.has(hn)) inv.hosts.set(hn, lineOf(lc, h.key));
          const vars = inv.hostVars.get(hn) ?? new Map<string, AnsibleVar>();
          for (const [k, v] of yamlVars(h.value, lc)) vars.set(k, v);
          inv.hostVars.set(hn, vars);
        }
      continue;
    }
    const g = group(inv, name, l);
    if (!isMap(p.value)) {
      problems.push({ line: l, field: name, message: 'a group is an object with hosts, vars and children' });
      continue;
    }
    const hosts = p.value.get('hosts', true);
    if (isSeq(hosts))
      for (const h of hosts.items) addHost(inv, name, String(isScalar(h) ? h.value : ''), lineOf(lc, h), new Map());
    const children = p.value.get('children', true);
    if (isSeq(children)) for (const c of children.items) g.children.add(String(isScalar(c) ? c.value : ''));
    for (const [k, v] of yamlVars(p.value.get('vars', true), lc)) g.vars.set(k, v);
  }
}

// ---------------------------------------------------------------------------------------------

/** Reads an Ansible inventory's text, the format chosen as Ansible's plugins choose it: a .yml,
 * .yaml or .json file is YAML (JSON with `_meta` or lists of hosts: `ansible-inventory --list`),
 * anything else INI. Throws AnsibleInventoryError with every problem. */
export function parseAnsibleInventory(file: string, text: string): AnsibleInventory {
  const problems: AnsibleProblem[] = [];
  let inv: AnsibleInventory;
  if (!/\.(ya?ml|json)$/i.test(file)) inv = parseIni(text, problems);
  else {
    const lc = new LineCounter();
    const doc = parseDocument(text, {
      lineCounter: lc,
      uniqueKeys: true,
      customTags: [{ tag: '!vault', resolve: (s: string) => s }],
    });
    for (const e of doc.errors)
      problems.push({ line: e.linePos?.[0].line ?? 1, field: '', message: e.message.split('\n')[0]! });
    inv = empty();
    const c = doc.contents;
    const listed =
      text.trimStart().startsWith('{') &&
      isMap(c) &&
      c.items.some(
        (p) => (isScalar(p.key) && p.key.value === '_meta') || (isMap(p.value) && isSeq(p.value.get('hosts', true))),
      );
    if (!problems.length) {
      if (listed) parseListJson(c, lc, inv, problems);
      else parseYamlGroups(c, lc, inv, problems);
    }
  }
  group(inv, 'all', 1);
  if (problems.length) throw new AnsibleInventoryError(file, problems);
  return inv;
}

/** Every host of a group, its children's included. */
export function groupHosts(inv: AnsibleInventory, name: string): string[] {
  if (name === 'all') return [...inv.hosts.keys()];
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (g: string) => {
    if (seen.has(g)) return;
    seen.add(g);
    const grp = inv.groups.get(g);
    if (!grp) return;
    for (const h of grp.hosts) out.add(h);
    for (const c of grp.children) walk(c);
  };
  walk(name);
  return [...out];
}

/** A host's variables as Ansible merges them: `all`, then its groups from the outermost to the
 * innermost (siblings by name), then the host's own. */
export function hostVars(inv: AnsibleInventory, host: string): Vars {
  // depth of each group: all = 0, a top-level group 1, a child one more than its parent
  const depth = new Map<string, number>([['all', 0]]);
  const parents = new Map<string, string[]>();
  for (const [g, grp] of inv.groups) for (const c of grp.children) parents.set(c, [...(parents.get(c) ?? []), g]);
  const depthOf = (g: string, trail = new Set<string>()): number => {
    const known = depth.get(g);
    if (known !== undefined) return known;
    if (trail.has(g)) return 1;
    trail.add(g);
    const d = 1 + Math.max(0, ...(parents.get(g) ?? []).filter((p) => p !== 'all').map((p) => depthOf(p, trail)));
    depth.set(g, d);
    return d;
  };
  const member = [...inv.groups.keys()].filter((g) => g === 'all' || groupHosts(inv, g).includes(host));
  member.sort((a, b) => depthOf(a) - depthOf(b) || a.localeCompare(b));
  const out: Vars = new Map();
  for (const g of member) for (const [k, v] of inv.groups.get(g)!.vars) out.set(k, v);
  for (const [k, v] of inv.hostVars.get(host) ?? []) out.set(k, v);
  return out;
}

/** How lvsctl reaches an Ansible host: the ssh settings and become it may take from it. */
export interface AnsibleReach {
  host?: string;
  port?: number;
  user?: string;
  identityFile?: string;
  become?: boolean;
}

const SECRET = /^ansible_(ssh_|become_|sudo_)?pass(word)?$|^ansible_.*_pass(word|phrase)?$/;
const USED = new Set([
  'ansible_host',
  'ansible_ssh_host',
  'ansible_port',
  'ansible_ssh_port',
  'ansible_user',
  'ansible_ssh_user',
  'ansible_ssh_private_key_file',
  'ansible_private_key_file',
  'ansible_become',
  'ansible_connection',
  'ansible_become_method',
  'ansible_become_user',
]);

const SECRETS_HINT =
  'lvsctl does not read secrets from an inventory: use ssh.password_env / ssh.passphrase_env / become.password_env (environment variables) or the agent';

/** The reach settings of a host from its merged variables; problems for what lvsctl refuses, notes
 * for ansible_* variables it does not use. */
export function ansibleReach(
  host: string,
  vars: Vars,
): { reach: AnsibleReach; problems: AnsibleProblem[]; ignored: string[] } {
  const problems: AnsibleProblem[] = [];
  const ignored: string[] = [];
  const reach: AnsibleReach = {};
  const str = (k: string): string | undefined => {
    const v = vars.get(k);
    if (v === undefined || v.value === undefined || v.value === null) return undefined;
    if (typeof v.value === 'string' || typeof v.value === 'number') return String(v.value);
    problems.push({ line: v.line, field: `${host}: ${k}`, message: 'must be a string' });
    return undefined;
  };
  const bool = (k: string): boolean | undefined => {
    const v = vars.get(k);
    if (v === undefined) return undefined;
    const s = String(v.value).toLowerCase();
    if (['true', 'yes', '1', 'on'].includes(s)) return true;
    if (['false', 'no', '0', 'off'].includes(s)) return false;
    problems.push({ line: v.line, field: `${host}: ${k}`, message: 'must be true or false' });
    return undefined;
  };
  for (const [k, v] of vars) {
    if (v.vault)
      problems.push({
        line: v.line,
        field: `${host}: ${k}`,
        message: `an Ansible Vault value: ${SECRETS_HINT}`,
      });
    else if (SECRET.test(k))
      problems.push({ line: v.line, field: `${host}: ${k}`, message: `a secret in the inventory: ${SECRETS_HINT}` });
    else if (k.startsWith('ansible_') && !USED.has(k)) ignored.push(k);
  }
  const conn = str('ansible_connection');
  if (conn !== undefined && conn !== 'ssh' && conn !== 'paramiko' && conn !== 'smart')
    problems.push({
      line: vars.get('ansible_connection')!.line,
      field: `${host}: ansible_connection`,
      message: `"${conn}": lvsctl reaches hosts over SSH only`,
    });
  const h = str('ansible_host') ?? str('ansible_ssh_host');
  if (h !== undefined) reach.host = h;
  const portText = str('ansible_port') ?? str('ansible_ssh_port');
  if (portText !== undefined) {
    const p = Number(portText);
    const k = vars.has('ansible_port') ? 'ansible_port' : 'ansible_ssh_port';
    if (!/^[0-9]{1,5}$/.test(portText) || p < 1 || p > 65535)
      problems.push({ line: vars.get(k)!.line, field: `${host}: ${k}`, message: 'a port is 1 to 65535' });
    else reach.port = p;
  }
  const u = str('ansible_user') ?? str('ansible_ssh_user');
  if (u !== undefined) reach.user = u;
  const key = str('ansible_ssh_private_key_file') ?? str('ansible_private_key_file');
  if (key !== undefined) reach.identityFile = key;
  const become = bool('ansible_become');
  if (become !== undefined) reach.become = become;
  const method = str('ansible_become_method');
  if (reach.become && method !== undefined && method !== 'sudo')
    problems.push({
      line: vars.get('ansible_become_method')!.line,
      field: `${host}: ansible_become_method`,
      message: `"${method}": lvsctl becomes root with sudo only`,
    });
  const to = str('ansible_become_user');
  if (reach.become && to !== undefined && to !== 'root')
    problems.push({
      line: vars.get('ansible_become_user')!.line,
      field: `${host}: ansible_become_user`,
      message: `"${to}": lvsctl becomes root, the user that changes IPVS and the network`,
    });
  return { reach, problems, ignored: ignored.sort() };
}
