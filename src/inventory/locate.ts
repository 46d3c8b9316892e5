// Turns a field path (as zod reports it) into file:line:col using the YAML parser's source ranges.
import { shown } from './types.js';
import {
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';

export type FieldPath = ReadonlyArray<string | number>;

/** vips[0].services[1].port, hosts.rs1.address, hosts["odd key"] */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z0-9_-]{1,80}$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${shown(part)}]`;
  }
  return out;
}

// Each mapping's keys, indexed once: locating every problem of a 25000-host file by scanning
// the mapping each time was quadratic (13 s).
const indexes = new WeakMap<object, Map<string, Pair>>();
function indexOf(map: YAMLMap): Map<string, Pair> {
  let ix = indexes.get(map);
  if (!ix) {
    ix = new Map();
    for (const pair of map.items) {
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      if (!ix.has(String(k))) ix.set(String(k), pair);
    }
    indexes.set(map, ix);
  }
  return ix;
}

function child(node: unknown, key: string | number): { value: Node | null; key: Node | null } | undefined {
  if (isMap(node)) {
    const pair = indexOf(node).get(String(key));
    return pair && { value: (pair.value as Node) ?? null, key: (pair.key as Node) ?? null };
  }
  if (isSeq(node) && typeof key === 'number') {
    const v = node.items[key];
    return v === undefined ? undefined : { value: isPair(v) ? null : (v as Node), key: null };
  }
  return undefined;
}

/** Position of the deepest node along `path` that exists. With `atKey`, the key itself
 * (for unknown keys and bad record keys) rather than its value. */
export function locate(doc: Document, lc: LineCounter, path: FieldPath, atKey = false): { line: number; col: number } {
  let node: unknown = doc.contents;
  let best: Node | null = (doc.contents as Node) ?? null;
  for (let i = 0; i < path.length; i++) {
    const c = child(node, path[i]!);
    if (!c) break;
    const last = i === path.length - 1;
    if (last && atKey && c.key) best = c.key;
    else if (c.value) best = c.value;
    else if (c.key) best = c.key;
    node = c.value;
  }
  const offset = best?.range?.[0] ?? 0;
  const pos = lc.linePos(offset);
  return { line: pos.line, col: pos.col };
}
