// The inventory as a JSON Schema (draft 2020-12), generated from the zod schema in schema.ts, for
// editors (yaml-language-server: `# yaml-language-server: $schema=...`) and other tools. It
// describes what an inventory file may contain, so keys with a default are optional. It holds the
// structure and the per-field rules that JSON Schema can say (types, ranges, patterns, enums,
// unknown keys); rules written as zod refinements are added where they are about which keys go
// together; the rest (reserved names, characters in paths, and everything in rules.ts: addresses,
// references between hosts, groups and VRRP instances…) only `lvsctl validate` checks.
import * as z from 'zod';
import { Inventory, RealServer, Service, Vrrp } from './schema.js';

export const INVENTORY_SCHEMA_ID = 'urn:lvsctl:inventory';

type JsonSchema = Record<string, unknown>;

/** IPv6 addresses as zod's ipv6 check takes them, which is the URL parser's: RFC 4291 text with
 * "::" at most once, and the last 32 bits may be written as an IPv4 address (::ffff:192.0.2.1).
 * zod puts a pattern without that last form in the JSON Schema (its check does not use it), which
 * refused IPv4-mapped and NAT64 addresses that zod accepts. This is RFC 3986's IPv6address. */
export const IPV6_PATTERN = (() => {
  const h16 = '[0-9a-fA-F]{1,4}';
  const dec = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
  const ls32 = `(?:${h16}:${h16}|${dec}(?:\\.${dec}){3})`;
  const upTo = (n: number) => `(?:(?:${h16}:){0,${n}}${h16})?`; // at most n + 1 groups
  const forms = [
    `(?:${h16}:){6}${ls32}`,
    `::(?:${h16}:){5}${ls32}`,
    `${upTo(0)}::(?:${h16}:){4}${ls32}`,
    `${upTo(1)}::(?:${h16}:){3}${ls32}`,
    `${upTo(2)}::(?:${h16}:){2}${ls32}`,
    `${upTo(3)}::${h16}:${ls32}`,
    `${upTo(4)}::${ls32}`,
    `${upTo(5)}::${h16}`,
    `${upTo(6)}::`,
  ];
  return `^(?:${forms.join('|')})$`;
})();

/** "exactly one of a or b" (zod .refine in schema.ts), as JSON Schema. */
const exactlyOneOf = (a: string, b: string): JsonSchema => ({ oneOf: [{ required: [a] }, { required: [b] }] });

/** The objects of schema.ts whose refinements say which keys go together, and how. Found by
 * identity: a rule whose object schema.ts no longer uses is not applied, and the tests that expect
 * its refusals (test/unit/json-schema.test.ts) fail. */
function keyRules(): Map<unknown, JsonSchema> {
  return new Map<unknown, JsonSchema>([
    [RealServer, exactlyOneOf('host', 'group')],
    [
      Service,
      {
        ...exactlyOneOf('port', 'fwmark'),
        dependentRequired: { fwmark: ['ports'], ports: ['fwmark'] },
      },
    ],
    [Vrrp.shape.auth.unwrap(), exactlyOneOf('password_env', 'password_file')],
  ]);
}

/** The JSON Schema of an inventory file. */
export function inventoryJsonSchema(): object {
  const rules = keyRules();
  const generated = z.toJSONSchema(Inventory, {
    target: 'draft-2020-12',
    io: 'input', // what the file holds: a key with a default may be left out
    reused: 'inline',
    // Nothing in schema.ts is unrepresentable as input today (transforms are on the output side);
    // should something be added, it is described as "anything" here rather than failing the build.
    unrepresentable: 'any',
    override: ({ zodSchema, jsonSchema }) => {
      if (jsonSchema.format === 'ipv6') jsonSchema.pattern = IPV6_PATTERN;
      const rule = rules.get(zodSchema);
      if (!rule) return;
      // Beside what zod wrote, never over it (a oneOf of its own would go into allOf).
      const clash = Object.keys(rule).some((k) => k in jsonSchema);
      if (clash) jsonSchema.allOf = [...(jsonSchema.allOf ?? []), rule];
      else Object.assign(jsonSchema, rule);
    },
  }) as JsonSchema;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: INVENTORY_SCHEMA_ID,
    title: 'lvsctl inventory',
    description:
      'An lvsctl inventory file (YAML): the cluster, its hosts, directors, VIPs with their services and real servers. ' +
      'This schema holds the structure and field formats; `lvsctl validate` checks everything, including the rules between fields.',
    ...rest,
  };
}
