// The README's inventory reference (## Inventory reference) names every key of the inventory
// schema, in the subsection of its level: a key added to schema.ts without a line there fails here.
// The keys come from the JSON Schema (src/inventory/json-schema.ts, generated from the zod schema),
// so no list is kept by hand.
//
// A subsection declares the levels it documents as paths in code spans in its heading
// (`### VRRP: \`directors.vrrp\``; `[]` is a list item, `<name>` a map key). A key must be named in
// a code span (`key`, or a path that has it: `auth.type`) of the subsection whose declared path is
// the longest prefix of the key's path; a key that no declared path covers (`cluster`, `mode`) may
// be named anywhere in the section.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inventoryJsonSchema } from '../../src/inventory/json-schema.js';
import { packageRoot } from '../../src/paths.js';

type Json = Record<string, unknown>;

/** A path in the schema, as tokens: property names, "[]" for a list item, "*" for a map key. */
type Path = string[];

const shownPath = (p: Path): string =>
  p.map((t, i) => (t === '[]' ? t : (i ? '.' : '') + (t === '*' ? '<name>' : t))).join('');

/** Every property of a JSON Schema with its path: object properties, list items, map values
 * (additionalProperties) and every branch of a union (the health check types, a director given as
 * a name or an object). */
function schemaKeys(schema: unknown, at: Path = [], out = new Map<string, Path>()): Map<string, Path> {
  if (schema === null || typeof schema !== 'object') return out;
  const s = schema as Json;
  // The schema is generated with every subschema inline; a reference would hide its keys from this walk.
  if ('$ref' in s || '$defs' in s) throw new Error(`the walk does not follow references (at ${shownPath(at)})`);
  for (const [k, v] of Object.entries((s.properties ?? {}) as Json)) {
    const p = [...at, k];
    out.set(shownPath(p), p);
    schemaKeys(v, p, out);
  }
  if (s.items) schemaKeys(s.items, [...at, '[]'], out);
  if (typeof s.additionalProperties === 'object') schemaKeys(s.additionalProperties, [...at, '*'], out);
  for (const union of ['anyOf', 'oneOf', 'allOf'])
    for (const branch of (s[union] ?? []) as unknown[]) schemaKeys(branch, at, out);
  return out;
}

interface Part {
  heading: string;
  /** The paths its heading declares. */
  scopes: Path[];
  text: string;
}

const codeSpans = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

const pathTokens = (span: string): Path =>
  [...span.matchAll(/<[^>]*>|\[\]|[A-Za-z0-9_]+/g)].map((m) => (m[0].startsWith('<') ? '*' : m[0]));

/** The section `## Inventory reference`, in its `###` subsections (the text before the first is a
 * part without a heading). */
function referenceParts(readme: string): Part[] {
  const lines = readme.split('\n');
  const start = lines.indexOf('## Inventory reference');
  if (start < 0) return [];
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  const parts: Part[] = [{ heading: '', scopes: [], text: '' }];
  for (const line of lines.slice(start + 1, end < 0 ? undefined : end)) {
    if (line.startsWith('### ')) parts.push({ heading: line, scopes: codeSpans(line).map(pathTokens), text: '' });
    parts[parts.length - 1]!.text += line + '\n';
  }
  return parts;
}

/** Whether a code span in the text names the key (alone, or as a part of a path or a `key: value`). */
const names = (text: string, key: string): boolean =>
  codeSpans(text).some((span) => span.match(/[A-Za-z0-9_]+/g)?.includes(key));

const isPrefix = (scope: Path, p: Path) => scope.length <= p.length && scope.every((t, i) => t === p[i]);

/** The keys of the schema that the reference does not name where they belong, with where that is. */
function missingKeys(keys: Map<string, Path>, parts: Part[]): string[] {
  const all = parts.map((x) => x.text).join('');
  const missing: string[] = [];
  for (const [shown, p] of keys) {
    const key = p[p.length - 1]!;
    const depth = (x: Part) => Math.max(-1, ...x.scopes.filter((s) => isPrefix(s, p)).map((s) => s.length));
    const best = Math.max(-1, ...parts.map(depth));
    if (best < 0) {
      if (!names(all, key)) missing.push(`${shown}: not named in the section`);
      continue;
    }
    const homes = parts.filter((x) => depth(x) === best);
    if (!homes.some((x) => names(x.text, key)))
      missing.push(
        `${shown}: not named in ${homes.map((x) => JSON.stringify(x.heading)).join(' or ')} ` +
          `(or give it a subsection whose heading names a longer path of it)`,
      );
  }
  return missing;
}

const keys = schemaKeys(inventoryJsonSchema());

/** Keys of the top level and deep in lists, maps and the branches of unions. */
const SOME_KEYS = [
  'cluster',
  'groups.<name>.vars.ssh.jump.identity_file',
  'hosts.<name>.become.password_env',
  'directors.hosts[].priority', // a director given as an object
  'directors.vrrp.auth.password_file',
  'vips[].services[].real_servers[].health_check.virtualhost', // only the http/https branch has it
  'vips[].services[].verify.tls.insecure',
  'ipvs.sysctl.conn_reuse_mode',
  'verify.identify.name', // only the header branch has it
];

describe('README inventory reference', () => {
  it('the walk finds the keys of every level, union branches included', () => {
    for (const k of SOME_KEYS) assert.ok(keys.has(k), `${k} not found by the walk`);
    assert.ok(keys.size > 150, `only ${keys.size} keys found`);
  });

  it('names every key of the schema in the subsection of its level', () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
    const parts = referenceParts(readme);
    assert.ok(parts.length > 1, 'README.md has no "## Inventory reference" section with subsections');
    assert.deepEqual(missingKeys(keys, parts), []);
  });

  it('reports a key that is missing, or named only in another subsection', () => {
    const readme = [
      '## Inventory reference',
      '`cluster` and `directors`.',
      '### Directors: `directors`',
      '`engine`, `dip.address`',
      '### VRRP: `directors.vrrp`',
      '`nopreempt` (not `dip.prefix`)',
      '## Next',
      '`mode`',
    ].join('\n');
    const some = new Map(
      [
        'cluster',
        'mode',
        'directors.engine',
        'directors.dip.address',
        'directors.dip.prefix',
        'directors.vrrp.nopreempt',
      ].map((s) => [s, s.split('.')] as const),
    );
    assert.deepEqual(missingKeys(some, referenceParts(readme)), [
      'mode: not named in the section',
      'directors.dip.prefix: not named in "### Directors: `directors`" (or give it a subsection whose heading names a longer path of it)',
    ]);
  });
});
