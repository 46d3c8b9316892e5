// YAML that parses but does not mean one thing. Checked on the parsed document before it becomes
// data, in one pass, linear in the file:
// - keys that differ in YAML but are one key once loaded (80 and "80", null and ""), and keys that
//   are lists or mappings (a JavaScript object turns them into text);
// - plain values that YAML 1.1 tools (Ansible, PyYAML, older parsers) read otherwise than YAML 1.2,
//   which lvsctl reads: 010 (8 or 10), yes/no/on/off (booleans or strings), 1_000, 0o17, 60:30,
//   2026-01-02. An inventory is often written or generated next to Ansible's files;
// - nesting no inventory needs, found by the lexer before the parser recurses into it.
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Schema,
  type Document,
  type Node,
  type Scalar,
  type ScalarTag,
} from 'yaml';
import { printable } from '../util/printable.js';
import type { FieldPath } from './locate.js';

/** No inventory field is nested deeper than 8; YAML's parser recurses once per level. */
export const MAX_NESTING = 32;
/** Aliases in one file, and flow collections ([…] {…}): far more than any inventory has. */
export const MAX_ALIAS_NODES = 1000;
export const MAX_FLOW_COLLECTIONS = 100_000;
const MAX_INDENT = 4 * MAX_NESTING;

export interface YamlProblem {
  /** Offset in the text, or a line number when only the line is known. */
  at: { offset: number } | { line: number };
  /** The field it is in, when known. */
  path?: FieldPath;
  message: string;
}

/** Nesting deeper than MAX_NESTING before parsing (the parser recurses once per level and took
 * 2.9 s to fail on 500000 brackets): flow brackets outside quotes and comments, "- - -" or "? ?"
 * on one line, and indentation that only such depth needs. A character scan, not the YAML lexer,
 * because it runs on every file (the lexer doubled the parse time). */
export function nestingProblem(text: string): YamlProblem | undefined {
  let flow = 0;
  let line = 1;
  let inline = 0; // "- " and "? " indicators since the line's start
  let atIndent = true; // only spaces and indicators so far on this line
  let afterKey = false; // only spaces and indicators since a "key: " on this line
  let collections = 0;
  let col = 0;
  let quote = '';
  const deep = (what: string): YamlProblem => ({
    at: { line },
    message: `YAML: ${what}; no inventory field is nested that deep`,
  });
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\n') {
      line++;
      inline = 0;
      col = 0;
      atIndent = true;
      afterKey = false;
      continue;
    }
    col++;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = '';
      continue;
    }
    if (atIndent || afterKey) {
      if (c === ' ') {
        if (atIndent && col > MAX_INDENT) return deep(`indented more than ${MAX_INDENT} columns`);
        continue;
      }
      // "- - - x" at a line's start or after "key: " (invalid there, but the parser still recurses).
      if ((c === '-' || c === '?') && (text[i + 1] === ' ' || text[i + 1] === '\n')) {
        if (++inline > MAX_NESTING) return deep(`more than ${MAX_NESTING} nested list items on one line`);
        continue;
      }
      atIndent = false;
      afterKey = false;
    }
    if (c === ':' && text[i + 1] === ' ') afterKey = true;
    if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const nl = text.indexOf('\n', i);
      i = (nl < 0 ? text.length : nl) - 1;
    } else if ((c === '"' || c === "'") && (i === 0 || /[\s[{,:]/.test(text[i - 1]!))) quote = c;
    else if (c === '[' || c === '{') {
      if (++flow > MAX_NESTING) return deep(`more than ${MAX_NESTING} nested brackets`);
      if (++collections > MAX_FLOW_COLLECTIONS)
        return {
          at: { line },
          message: `YAML: more than ${MAX_FLOW_COLLECTIONS} [ ] or { } collections; no inventory needs that many`,
        };
    } else if ((c === ']' || c === '}') && flow > 0) flow--;
  }
  return undefined;
}

// Plain scalars as YAML 1.1 resolves them (the yaml package's yaml-1.1 schema, in its order).
const tags11 = (new Schema({ schema: 'yaml-1.1' }).tags as ScalarTag[]).filter(
  (t): t is ScalarTag & { test: RegExp } => t.test instanceof RegExp && !t.tag.endsWith(':merge'),
);

// Only these first characters can start a YAML 1.1 null, boolean, number or date.
const MAYBE_TYPED = /^(?:$|[-+.0-9~nNyYtTfFoO])/;

function as11(source: string): unknown {
  if (!MAYBE_TYPED.test(source)) return source;
  const tag = tags11.find((t) => t.test.test(source));
  let v: unknown = tag ? tag.resolve(source, () => undefined, {}) : source;
  if (isScalar(v)) v = v.value; // the 1.1 booleans resolve to a Scalar that keeps their spelling
  // The package's 1.1 float pattern also takes "." and "-."; PyYAML, like the 1.1 spec, needs a digit.
  if (typeof v === 'number' && Number.isNaN(v) && !/nan$/i.test(source)) return source;
  return v;
}

const same = (a: unknown, b: unknown) =>
  typeof a === typeof b &&
  (a === b || (typeof a === 'number' && Number.isNaN(a) && Number.isNaN(b)) || (typeof a === 'bigint' && a === b));

const describe = (v: unknown): string => {
  if (typeof v === 'string') return `the string ${printable(JSON.stringify(v), 60)}`;
  if (v instanceof Date) return `the date ${v.toISOString().replace(/T00:00:00\.000Z$/, '')}`;
  if (v === null) return 'null (no value)';
  return `${typeof v === 'boolean' ? 'the boolean' : 'the number'} ${String(v)}`;
};

function versionProblem(s: Scalar): string | undefined {
  if (s.type !== 'PLAIN' || s.tag !== undefined || typeof s.source !== 'string') return undefined;
  const v11 = as11(s.source);
  if (same(s.value, v11)) return undefined;
  const shown = printable(s.source, 40);
  let fix = 'quote it for text';
  if (typeof s.value === 'string') fix = `quote it ("${shown}") for text`;
  else if (typeof s.value === 'number' && typeof v11 === 'number')
    fix = `write ${String(s.value)}, or quote it for text`;
  return `YAML: the plain value ${shown} is ${describe(s.value)} in YAML 1.2 (lvsctl) but ${describe(v11)} in YAML 1.1 (Ansible, PyYAML): ${fix}`;
}

/** The key a mapping key becomes in the loaded data (the yaml package's own rule for objects). */
const loadedKey = (v: unknown): string => (v === null || v === undefined ? '' : String(v));

/** Key collisions, collection keys and version-dependent plain scalars, anywhere in the document;
 * each problem names the field it is in. */
/** A field path built only when a problem needs it: one small link per node, not an array. */
interface PathLink {
  up: PathLink | undefined;
  key: string | number;
}
function pathOf(link: PathLink | undefined): FieldPath {
  const out: (string | number)[] = [];
  for (let l = link; l; l = l.up) out.push(l.key);
  return out.reverse();
}

export function documentProblems(doc: Document): YamlProblem[] {
  const out: YamlProblem[] = [];
  const add = (n: Node | null | undefined, at: PathLink | undefined, message: string) =>
    out.push({ at: { offset: n?.range?.[0] ?? 0 }, path: pathOf(at), message });
  // Iterative: the nesting was bounded before parsing, but a stack of nodes costs nothing.
  const todo: { n: unknown; at: PathLink | undefined }[] = [{ n: doc.contents, at: undefined }];
  let aliases = 0;
  while (todo.length) {
    const { n, at } = todo.pop()!;
    // The yaml package resolves each alias by scanning the document up to it: many aliases cost
    // quadratic time (14 s for 1 MiB of them) when the data is built.
    if (isAlias(n) && ++aliases === MAX_ALIAS_NODES + 1)
      add(n, at, `YAML: more than ${MAX_ALIAS_NODES} aliases (*name); an inventory needs a few`);
    if (isScalar(n)) {
      const p = versionProblem(n);
      if (p) add(n, at, p);
    } else if (isSeq(n)) n.items.forEach((item, i) => todo.push({ n: item, at: { up: at, key: i } }));
    else if (isMap(n)) {
      const seen = new Map<string, Scalar>();
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        const k = pair.key as Node | null;
        if (isAlias(k)) {
          todo.push({ n: k, at });
          continue;
        }
        if (isMap(k) || isSeq(k)) {
          add(k, at, 'YAML: a key must be a name, not a list or mapping');
          continue;
        }
        if (!isScalar(k)) continue;
        if (k.type === 'PLAIN' && k.source === '<<') continue; // a merge key; there may be several
        const key = loadedKey(k.value);
        const here: PathLink = { up: at, key };
        todo.push({ n: pair.value, at: here });
        const kp = versionProblem(k);
        if (kp) add(k, here, kp);
        const first = seen.get(key);
        if (first === undefined) {
          seen.set(key, k);
          continue;
        }
        const text = (s: Scalar) =>
          printable(s.type === 'PLAIN' ? (s.source ?? String(s.value)) : JSON.stringify(s.source ?? s.value), 40);
        add(
          k,
          here,
          text(first) === text(k)
            ? `YAML: duplicate key ${printable(JSON.stringify(key), 60)}: each key may appear once in a mapping`
            : `YAML: keys ${text(first)} and ${text(k)} are one key once loaded (${printable(JSON.stringify(key), 60)}): each key may appear once in a mapping`,
        );
      }
    }
  }
  return out;
}
