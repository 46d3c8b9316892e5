// The inventory's JSON Schema (src/inventory/json-schema.ts), checked with ajv (draft 2020-12):
// every shipped inventory and starter template, and the keepalived corpus' generated inventories,
// are valid; mistakes in structure and field formats are refused; and it never refuses what the
// zod schema accepts (the invalid inventories of test/inventories, most of them wrong only in the
// rules between fields).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { z } from 'zod';
import { inventoryJsonSchema, INVENTORY_SCHEMA_ID, IPV6_PATTERN } from '../../src/inventory/json-schema.js';
import { Inventory } from '../../src/inventory/schema.js';
import { packageRoot } from '../../src/paths.js';
import { generate, mulberry32, RISKY, SEED } from '../tools/keepalived-corpus.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- inventory documents, changed field by field
type Doc = Record<string, any>;

const schema = inventoryJsonSchema() as Doc;

// Strict, but for strictRequired (off by default): "exactly one of host or group" is written the
// usual way, oneOf [{required: [host]}, {required: [group]}], the keys being defined beside the oneOf.
// The formats ipv4 and ipv6 are each beside the pattern zod checks them with (asserted below), so
// ajv can take them as known without checking them a second time.
const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, formats: { ipv4: true, ipv6: true } });
const validate = ajv.compile(schema);

const yamlFiles = (dir: string) =>
  readdirSync(join(packageRoot, dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => join(dir, f));
const load = (file: string): Doc => parse(readFileSync(join(packageRoot, file), 'utf8'), { merge: true }) as Doc;
const errors = () => ajv.errorsText(validate.errors, { separator: '\n' });

/** Every subschema of the schema, with where it is. */
function* subschemas(s: unknown, at = '#'): Generator<[string, Doc]> {
  if (s === null || typeof s !== 'object') return;
  if (!Array.isArray(s)) yield [at, s as Doc];
  for (const [k, v] of Object.entries(s)) yield* subschemas(v, `${at}/${k}`);
}

describe('inventory JSON Schema', () => {
  it('is a draft 2020-12 schema with an $id, a title and a description', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(schema.$id, INVENTORY_SCHEMA_ID);
    assert.equal(typeof schema.title, 'string');
    assert.equal(typeof schema.description, 'string');
    assert.equal(ajv.validateSchema(schema), true, ajv.errorsText());
    assert.equal(schema.additionalProperties, false);
    assert.deepEqual([...schema.required].sort(), ['cluster', 'directors', 'hosts', 'mode', 'vips']);
    // Keys with a default are optional in a file.
    assert.ok(!schema.properties.directors.required.includes('engine'));
    for (const [at, s] of subschemas(schema))
      if ('format' in s) {
        assert.ok(['ipv4', 'ipv6'].includes(s.format), `${at}: format ${s.format}`);
        assert.equal(typeof s.pattern, 'string', `${at}: format ${s.format} without a pattern`);
      }
  });

  it('accepts every inventory in inventories/ and every starter in templates/init/', () => {
    const files = [...yamlFiles('inventories'), ...yamlFiles('templates/init')];
    assert.ok(files.length >= 10, files.join(' '));
    for (const f of files) assert.equal(validate(load(f)), true, `${f}:\n${errors()}`);
  });

  it("accepts the keepalived corpus' generated inventories that zod accepts", () => {
    // Its generator's documents, without the YAML round trip (parsing hundreds takes seconds):
    // 150 at random and each risky mix once; JSON drops the keys left undefined, as YAML would.
    const rnd = mulberry32(SEED);
    const docs = [
      ...Array.from({ length: 150 }, () => generate(rnd).doc),
      ...Object.values(RISKY).map((force) => generate(rnd, force).doc),
    ].map((d) => JSON.parse(JSON.stringify(d)) as Doc);
    let accepted = 0;
    for (const d of docs) {
      if (!Inventory.safeParse(d).success) continue;
      accepted++;
      assert.equal(validate(d), true, `${errors()}\n${JSON.stringify(d)}`);
    }
    assert.ok(accepted > docs.length * 0.9, `zod accepts only ${accepted} of ${docs.length}`);
  });

  it('never refuses what the zod schema accepts', () => {
    let accepted = 0;
    for (const f of yamlFiles('test/inventories/invalid')) {
      let doc: unknown;
      try {
        doc = parse(readFileSync(join(packageRoot, f), 'utf8'), { merge: true, uniqueKeys: false, logLevel: 'silent' });
      } catch {
        continue; // not YAML lvsctl reads: nothing to compare
      }
      if (!Inventory.safeParse(doc).success) continue;
      accepted++;
      assert.equal(validate(doc), true, `${f}: zod accepts it, the JSON Schema refuses it:\n${errors()}`);
    }
    assert.ok(accepted > 20, `only ${accepted} inventories to compare`);
  });

  it("takes the IPv6 addresses zod takes, also with an IPv4 tail (zod's own pattern did not)", () => {
    const patterns = new Set([...subschemas(schema)].filter(([, s]) => s.format === 'ipv6').map(([, s]) => s.pattern));
    assert.deepEqual([...patterns], [IPV6_PATTERN]);
    const re = new RegExp(IPV6_PATTERN, 'u'); // as JSON Schema validators (ajv) compile a pattern
    const rnd = mulberry32(0x1f6);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
    const hex = () => [...Array(pick([1, 1, 2, 3, 4, 4, 5]))].map(() => pick([...'0123456789abcdefABCDEF'])).join('');
    const octet = () =>
      pick(['0', '1', '7', '10', '42', '99', '100', '199', '200', '249', '250', '255', '256', '300', '01']);
    const candidate = () => {
      const tail = rnd() < 0.4;
      const n = Math.floor(rnd() * (tail ? 8 : 10));
      const groups = Array.from({ length: n }, hex);
      let text = groups.join(':');
      if (rnd() < 0.7) {
        const at = Math.floor(rnd() * (n + 1));
        text = `${groups.slice(0, at).join(':')}::${groups.slice(at).join(':')}`;
      }
      if (tail) {
        const v4 = Array.from({ length: pick([3, 4, 4, 4, 4, 5]) }, octet).join('.');
        text += text === '' || text.endsWith(':') ? v4 : `:${v4}`;
      }
      if (rnd() < 0.05) text = text.replace(':', pick([':::', '.', '', ':g', '%', ' ']));
      return text;
    };
    const fixed = [
      '::',
      '::1',
      '1::',
      '::ffff:192.0.2.1',
      '64:ff9b::198.51.100.7',
      '1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:1.2.3.4',
    ];
    let valid = 0;
    let withIpv4 = 0;
    const differ: string[] = [];
    for (const text of [...fixed, ...Array.from({ length: 30000 }, candidate)]) {
      const zod = z.ipv6().safeParse(text).success;
      if (zod) valid++;
      if (zod && text.includes('.')) withIpv4++;
      if (re.test(text) !== zod) differ.push(`${JSON.stringify(text)}: zod ${zod}`);
    }
    assert.deepEqual(differ.slice(0, 20), []);
    // Enough of both answers, and of valid addresses with an IPv4 tail, to mean something.
    assert.ok(valid > 1500 && valid < 28500 && withIpv4 > 300, `${valid} valid (${withIpv4} with IPv4) of 30000`);
  });

  const base = () => load('inventories/example-dr-ha.yaml');
  const mistakes: Record<string, (d: Doc) => void> = {
    'an unknown top-level key': (d) => void (d.extra = true),
    'an unknown key in a host': (d) => void (d.hosts[Object.keys(d.hosts)[0]!].adress = '192.0.2.1'),
    "mode: 'xyz'": (d) => void (d.mode = 'xyz'),
    'mode: FULLNAT': (d) => void (d.mode = 'FULLNAT'),
    'port: "eighty"': (d) => void (d.vips[0].services[0].port = 'eighty'),
    'port: "80" (a string)': (d) => void (d.vips[0].services[0].port = '80'),
    'port 65536': (d) => void (d.vips[0].services[0].port = 65536),
    'port 0': (d) => void (d.vips[0].services[0].port = 0),
    'port 80.5': (d) => void (d.vips[0].services[0].port = 80.5),
    'a real server port out of range': (d) => void (d.vips[0].services[0].real_servers[0].port = 70000),
    'hosts missing': (d) => void delete d.hosts,
    'no VIP': (d) => void (d.vips = []),
    'a service without real servers': (d) => void (d.vips[0].services[0].real_servers = []),
    'a VIP that is not an address': (d) => void (d.vips[0].address = '192.0.2.300'),
    'a host name with a space': (d) => void (d.hosts['web 1'] = { address: '192.0.2.77' }),
    'nine directors': (d) => void d.directors.hosts.push('a', 'b', 'c', 'd', 'e', 'f', 'g'),
    'an unknown scheduler': (d) => void (d.vips[0].services[0].scheduler = 'random'),
    'a health check of an unknown type': (d) => void (d.vips[0].services[0].health_check = { type: 'icmp' }),
    'a weight of -1': (d) => void (d.vips[0].services[0].real_servers[0].weight = -1),
    // Refinements of schema.ts about which keys go together.
    'a real server with both host and group': (d) =>
      void Object.assign(d.vips[0].services[0].real_servers[0], { host: 'web1', group: 'web' }),
    'a real server with neither host nor group': (d) => void (d.vips[0].services[0].real_servers[0] = { weight: 1 }),
    'a service with both port and fwmark': (d) =>
      void Object.assign(d.vips[0].services[0], { port: 80, fwmark: 7, ports: [80] }),
    'a service with neither port nor fwmark': (d) => {
      delete d.vips[0].services[0].port;
      delete d.vips[0].services[0].fwmark;
    },
    'a fwmark service without ports': (d) => {
      const s = d.vips[0].services[0];
      delete s.port;
      delete s.ports;
      s.fwmark = 7;
    },
    'ports on a port service': (d) => void Object.assign(d.vips[0].services[0], { ports: [80, 81] }),
    'VRRP auth with both password_env and password_file': (d) =>
      void (d.directors.vrrp.auth.password_file = '/etc/lvsctl/vrrp.pass'),
    'VRRP auth with neither password_env nor password_file': (d) => void (d.directors.vrrp.auth = { type: 'PASS' }),
  };

  it('the document the mistakes are made in is valid, with or without its defaulted keys', () => {
    const d = base();
    assert.equal(validate(d), true, errors());
    assert.ok(d.directors.vrrp?.auth?.password_env, 'example-dr-ha.yaml has VRRP auth by password_env');
    assert.equal(typeof d.vips[0].services[0].port, 'number', 'its first service is a port service');
    delete d.directors.engine;
    delete d.vips[0].services[0].scheduler;
    delete d.vips[0].services[0].protocol;
    assert.equal(validate(d), true, errors());
  });

  for (const [what, mistake] of Object.entries(mistakes))
    it(`refuses ${what}`, () => {
      const d = base();
      mistake(d);
      assert.equal(Inventory.safeParse(d).success, false, 'zod accepts it: not a mistake the schema should refuse');
      assert.equal(validate(d), false, 'the JSON Schema accepts it');
    });
});
