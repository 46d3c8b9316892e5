// Reads an inventory file: YAML (strict: no duplicate keys, no unknown tags, bounded aliases),
// then the schema, then the cross-field rules. Every problem found is reported at once with
// file:line:col; the caller gets a typed Cluster or an InventoryError (exit 65).
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
import type { core } from 'zod';
import { InventoryError, InventoryFileError, type InventoryProblem } from '../errors.js';
import { formatPath, locate, type FieldPath } from './locate.js';
import { buildCluster, MAX_REAL_SERVER_ENTRIES, realServerEntries, type Cluster } from './model.js';
import { localFileProblems } from './local-files.js';
import { checkActiveActive } from './active-active-rules.js';
import { checkKeepalived } from './keepalived-rules.js';
import { checkScripts } from './script-rules.js';
import { checkNetwork } from './network-rules.js';
import { checkRules } from './rules.js';
import { withAnsibleHosts } from './ansible-hosts.js';
import { Inventory } from './schema.js';
import { shown } from './types.js';
import { printable } from '../util/printable.js';
import { readBounded } from '../util/read-bounded.js';
import { resolveSecrets, type Secrets } from './secrets.js';
import { documentProblems, nestingProblem } from './yaml-checks.js';

/** Far more than any cluster needs (500 hosts take about 50 KiB). The YAML parser costs about 1 s
 * per MiB on the 2-CPU CI machine, so at 1 MiB validation came close to 2 s; at this size it stays
 * near 1 s (`npm run bench -- --parts validate`), and a larger file is refused unread. */
export const MAX_INVENTORY_BYTES = 512 * 1024;
/** Nodes one alias may expand to when the data is built (an alias bomb); yaml-checks.ts bounds how
 * many aliases there are. */
const MAX_ALIASES = 100;

/** What a value of the wrong type is, for a message (zod does not keep the input in its issues). */
function kindOf(v: unknown): string {
  if (v === null) return 'an empty value';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof Uint8Array) return 'binary data';
  if (v instanceof Set || v instanceof Map) return 'a set';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the string ${shown(v)}`;
  return `${typeof v} ${String(v)}`;
}

/** The parsed value at a zod path; `present` is false when the key is absent. */
function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): { present: boolean; value?: unknown } {
  let cur: unknown = data;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, k)) return { present: false };
    cur = (cur as Record<PropertyKey, unknown>)[k];
  }
  return { present: true, value: cur };
}

function zodMessage(i: core.$ZodIssue, data?: unknown): string {
  // zod's issue codes are zod's: the ones not named here get zod's own message.
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check
  switch (i.code) {
    case 'unrecognized_keys':
      return `unknown key${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => shown(k)).join(', ')}`;
    case 'invalid_type': {
      // A value of the wrong type (port: "80", cluster: [a], a !!binary tag) is not "missing".
      const at = data === undefined ? { present: false } : valueAt(data, i.path);
      if (at.present) return `expected ${i.expected}, got ${kindOf(at.value)}`;
      return i.input === undefined ? `missing (expected ${i.expected})` : i.message.replace(/^Invalid input: /, '');
    }
    case 'too_small':
      if (i.origin === 'array')
        return i.message.startsWith('Too small')
          ? `needs at least ${i.minimum} item${Number(i.minimum) > 1 ? 's' : ''}`
          : i.message;
      return i.message.replace(/^Too small: expected number to be >=/, 'must be at least ');
    case 'too_big':
      if (i.origin === 'array') return i.message.startsWith('Too big') ? `takes at most ${i.maximum} items` : i.message;
      return i.message.replace(/^Too big: expected number to be <=/, 'must be at most ');
    default:
      return i.message.replace(/^Invalid input: /, '');
  }
}

export interface LoadOptions {
  /** The file's text, when it is not to be read from `file` (tests). */
  text?: string;
  /** A missing secret is a problem (every command but validate). */
  requireSecrets?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface Loaded {
  cluster: Cluster;
  secrets: Secrets;
  /** What the operator should know and is not a mistake (Ansible variables lvsctl does not use). */
  notes: string[];
}

/** Parse and validate; throws InventoryError listing every problem. */
export function loadInventory(file: string, opts: LoadOptions = {}): Loaded {
  let text = opts.text;
  // Everything a problem says is escaped: a file name, a key or a value may hold control characters.
  const problem = (line: number, col: number, field: string, message: string): InventoryProblem => ({
    file: printable(file),
    line,
    col,
    field: printable(field, 200),
    message: printable(message, 600),
  });
  if (text === undefined) {
    const r = readBounded(file, MAX_INVENTORY_BYTES);
    // A file that cannot be opened has no place to point at: one line. One that was read gets a problem.
    if (!r.ok && r.kind !== 'too-large')
      throw new InventoryFileError(printable(file), r.reason.replace(/^cannot read it: /, ''));
    if (!r.ok)
      throw new InventoryError([
        problem(1, 1, '', `the file is larger than ${MAX_INVENTORY_BYTES} bytes, the most an inventory may be`),
      ]);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(r.data);
    } catch {
      throw new InventoryError([problem(1, 1, '', 'the file is not UTF-8 text')]);
    }
  }
  if (Buffer.byteLength(text) > MAX_INVENTORY_BYTES)
    throw new InventoryError([problem(1, 1, '', `an inventory may be at most ${MAX_INVENTORY_BYTES} bytes`)]);
  if (text.includes('\0'))
    throw new InventoryError([problem(1, 1, '', 'the file contains a NUL byte; an inventory is YAML text')]);

  const deep = nestingProblem(text);
  if (deep) throw new InventoryError([problem('line' in deep.at ? deep.at.line : 1, 1, '', deep.message)]);
  const lc = new LineCounter();
  // Duplicate keys are found by documentProblems (the parser's own check is quadratic in a mapping's size).
  const doc = parseDocument(text, {
    lineCounter: lc,
    prettyErrors: true,
    uniqueKeys: false,
    merge: true,
    strict: true,
  });
  const yamlProblems = [...doc.errors, ...doc.warnings].map((e) => {
    const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
    return problem(pos.line, pos.col, '', `YAML: ${yamlMessage(e)}`);
  });
  if (yamlProblems.length) throw new InventoryError(yamlProblems);
  const meaning = documentProblems(doc).map((p) => {
    const pos = 'offset' in p.at ? lc.linePos(p.at.offset) : { line: p.at.line, col: 1 };
    return problem(pos.line, pos.col, p.path ? formatPath(p.path) : '', p.message);
  });
  if (meaning.length) throw new InventoryError(sortProblems(meaning));
  if (doc.contents === null) throw new InventoryError([problem(1, 1, '', 'the inventory is empty')]);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (e) {
    const msg = (e as Error).message;
    throw new InventoryError([
      problem(
        1,
        1,
        '',
        `YAML: ${msg}${/alias count/i.test(msg) ? ` (aliases expand to more than ${MAX_ALIASES} nodes)` : ''}`,
      ),
    ]);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new InventoryError([problem(1, 1, '', 'an inventory is a YAML mapping (key: value) at the top')]);

  const at = (d: Document, path: FieldPath, message: string, atKey = false): InventoryProblem => {
    const { line, col } = locate(d, lc, path, atKey);
    return problem(line, col, formatPath(path), message);
  };

  // zod drops "__proto__" keys silently (a host named so would vanish): refuse them anywhere.
  const protoKeys: FieldPath[] = [];
  const walk = (v: unknown, path: (string | number)[]) => {
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array))
      for (const k of Object.keys(v)) {
        if (k === '__proto__') protoKeys.push([...path, k]);
        else walk((v as Record<string, unknown>)[k], [...path, k]);
      }
  };
  walk(data, []);
  if (protoKeys.length)
    throw new InventoryError(
      sortProblems(
        protoKeys.map((p) => at(doc, p, 'the key "__proto__" is not allowed (it is not kept as a key)', true)),
      ),
    );

  const fromAnsible = withAnsibleHosts(data as Record<string, unknown>, file);
  if (fromAnsible.problems.length) throw new InventoryError(sortProblems(fromAnsible.problems));
  data = fromAnsible.data;
  const notes = fromAnsible.ignored.length
    ? [`Ansible variables lvsctl does not use (how it reaches a host: README): ${fromAnsible.ignored.join(', ')}`]
    : [];

  const parsed = Inventory.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((i) => {
      const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (i.code === 'unrecognized_keys')
        return i.keys.map((k) => at(doc, [...path, k], `unknown key ${shown(k)}`, true));
      if (i.code === 'invalid_key')
        return [at(doc, path, `bad name ${shown(path.at(-1))}: ${i.issues.map(zodMessage).join('; ')}`, true)];
      return [at(doc, path, zodMessage(i, data))];
    });
    throw new InventoryError(sortProblems(problems));
  }
  const entries = realServerEntries(parsed.data);
  if (entries > MAX_REAL_SERVER_ENTRIES)
    throw new InventoryError([
      at(
        doc,
        ['vips'],
        `the services name ${entries} real servers in all (groups expanded, once per service); lvsctl manages at most ${MAX_REAL_SERVER_ENTRIES}`,
      ),
    ]);
  const cluster = buildCluster(parsed.data, file);
  const { secrets, problems: secretProblems } = resolveSecrets(cluster, opts.requireSecrets ?? true, opts.env);
  const ruleProblems = [
    ...checkRules(parsed.data, cluster),
    ...checkNetwork(parsed.data, cluster),
    ...checkKeepalived(parsed.data, cluster),
    ...checkActiveActive(parsed.data, cluster),
    ...checkScripts(parsed.data, cluster),
    ...localFileProblems(parsed.data, file),
    ...secretProblems,
  ].map((p) => at(doc, p.path, p.message));
  if (ruleProblems.length) throw new InventoryError(sortProblems(ruleProblems));
  return { cluster, secrets, notes };
}

const sortProblems = (ps: InventoryProblem[]) => ps.sort((a, b) => a.line - b.line || a.col - b.col);

function yamlMessage(e: YAMLError): string {
  if (e.code === 'TAG_RESOLVE_FAILED') return `${e.message.replace(/ at line.*$/s, '')}: custom tags are not allowed`;
  return e.message.replace(/ at line \d+, column \d+.*$/s, '');
}
