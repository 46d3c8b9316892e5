// Issue 10, hostile input: every string-bearing inventory field gets hostile values (shell and
// keepalived metacharacters, $(), backticks, newlines, NUL, quotes, option injection, traversal,
// look-alikes, very long values) and YAML tricks. Per value one inventory, through the real CLI:
// rejected values exit 65 naming file:line and the field; accepted ones are rendered and must
// arrive byte-exact where they belong, every rendered script changed by them passes bash -n and
// runs (status, usage) without running the payload. The sentinel file every payload tries to
// create must never appear. The corpus is in hostile-corpus.ts; applying it in a network
// namespace is test/tools/hostile-apply.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { LineCounter, isMap, isScalar, parseDocument, stringify, type Node } from 'yaml';
import { loadInventory } from '../../src/inventory/load.js';
import { formatPath } from '../../src/inventory/locate.js';
import { HTTP_PATH_MAX } from '../../src/inventory/types.js';
import { KeepalivedQuoteError, kq } from '../../src/render/keepalived-quote.js';
import type { HostConnection } from '../../src/ssh/connection.js';
import { Shell } from '../../src/util/quote.js';
import { verifyService } from '../../src/verify/verify.js';
import { runCli } from './helpers.js';
import { InventoryError } from '../../src/errors.js';
import {
  FIELDS,
  PASSWORD_ACCEPT,
  PASSWORD_FILE_ACCEPT,
  PASSWORD_REJECT,
  SENTINEL,
  VRRP_PASSWORD,
  baseHa,
  baseNat,
  kaHas,
  kaWords,
  type FieldSpec,
  type Inv,
  type Path,
  type Rendered,
} from './hostile-corpus.js';

const work = mkdtempSync(join(tmpdir(), 'lvsctl-hostile-'));
after(() => rmSync(work, { recursive: true, force: true }));
const ENV = { LVSCTL_VRRP_PASSWORD: VRRP_PASSWORD };
let seq = 0;

const tally = { tried: 0, rejected: 0, acceptedExact: 0, injected: 0, fields: new Set<string>() };
const sentinelAbsent = (what: string) => {
  if (existsSync(SENTINEL)) {
    tally.injected++;
    rmSync(SENTINEL, { force: true });
    assert.fail(`the payload ran: ${SENTINEL} appeared (${what})`);
  }
};

/** Line (1-based) of the node at `path` in YAML text, or of its key. */
function lineOf(text: string, path: Path, atKey = false): number {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  let node: unknown = doc.contents;
  let at: Node | null = null;
  for (let i = 0; i < path.length; i++) {
    const k = path[i]!;
    let next: { key: Node; value: Node } | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(k));
      if (pair) next = { key: pair.key as Node, value: pair.value as Node };
    } else if (node && typeof node === 'object' && 'items' in node && typeof k === 'number') {
      const v = (node as { items: Node[] }).items[k];
      if (v) next = { key: v, value: v };
    }
    if (!next) throw new Error(`no ${formatPath(path)} in the document`);
    at = i === path.length - 1 && atKey ? next.key : next.value;
    node = next.value;
  }
  return lc.linePos(at!.range![0]).line;
}

/** A fresh directory holding inventory.yaml; returns its path and text. */
function writeInventory(
  inv: Inv | string,
  extra: Record<string, string> = {},
): { dir: string; file: string; text: string } {
  const dir = join(work, String(seq++));
  mkdirSync(dir);
  const text = typeof inv === 'string' ? inv : stringify(inv, { lineWidth: 0 });
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, text);
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, name), content);
  return { dir, file, text };
}

const readTree = (out: string): Map<string, Map<string, string>> => {
  const files = new Map<string, Map<string, string>>();
  const walk = (host: string, d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(host, p);
      else files.get(host)!.set('/' + relative(join(out, host), p), readFileSync(p, 'utf8'));
    }
  };
  for (const h of readdirSync(out)) {
    files.set(h, new Map());
    walk(h, join(out, h));
  }
  return files;
};

async function render(file: string, dir: string, env: Record<string, string>) {
  const out = join(dir, 'out');
  const r = await runCli(['render', '-i', file, '--out', out], env);
  assert.equal(r.code, 0, `render failed: ${r.stderr}`);
  const cluster = loadInventory(file, { env }).cluster;
  return { files: readTree(out), cluster, dir } satisfies Rendered;
}

// The base renders, to find the scripts a value changed.
const baseRender = new Map<string, Map<string, Map<string, string>>>();
async function baseFiles(base: 'ha' | 'nat') {
  if (!baseRender.has(base)) {
    const { dir, file } = writeInventory(base === 'ha' ? baseHa() : baseNat());
    baseRender.set(base, (await render(file, dir, ENV)).files);
  }
  return baseRender.get(base)!;
}

const run = (cmd: string, args: string[]) =>
  spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000, env: { PATH: process.env.PATH } });
const isScript = (path: string, content: string) =>
  content.startsWith('#!/bin/bash') || content.startsWith('#!/bin/sh');

/** Every rendered script that differs from the base render: syntax, then run harmlessly. */
function exerciseScripts(r: Rendered, base: Map<string, Map<string, string>>, label: string): number {
  let n = 0;
  for (const [host, files] of r.files)
    for (const [path, content] of files) {
      if (!isScript(path, content)) continue;
      const same = [...base.values()].some((b) => b.get(path) === content);
      if (same) continue;
      const f = join(r.dir, 'out', host, path);
      const shell = content.startsWith('#!/bin/sh') ? 'sh' : 'bash';
      const syntax = run(shell, ['-n', f]);
      assert.equal(syntax.status, 0, `${label}: ${host}:${path}: ${syntax.stderr}`);
      // status only reads (sysctls, addresses, ipvsadm -S); an unknown word prints the usage.
      assert.equal(run(shell, [f, 'no-such-action']).status, 2, `${label}: ${host}:${path} usage`);
      run(shell, [f, 'status']);
      n++;
    }
  return n;
}

/** Runs verify's real commands for one service in bash, with curl replaced by a recorder. */
async function curlArgs(r: Rendered): Promise<string[][]> {
  const record = join(r.dir, 'curl-args');
  const stub = `curl() { printf '%s\\037' "$@" >>${record}; printf '\\036' >>${record}; printf 'HTTP/1.1 200 OK\\r\\nX-Backend: rs1\\r\\n\\r\\nrs1\\n'; }\n`;
  const client = {
    name: 'client',
    exec: async (cmd: Shell) => {
      assert.ok(cmd instanceof Shell);
      const res = spawnSync('bash', ['-c', stub + cmd.text], { encoding: 'utf8' });
      return { code: res.status ?? 1, stdout: res.stdout, stderr: res.stderr };
    },
  } as unknown as HostConnection;
  await verifyService(client, r.cluster, r.cluster.services[0]!, []);
  // One curl for all probes: its transfers are apart by --next; -w's text is verify's own.
  return readFileSync(record, 'utf8')
    .split('\x1e')
    .filter(Boolean)
    .flatMap((c) => c.split('\x1f').slice(0, -1).join('\x1f').split('\x1f--next\x1f'))
    .map((t) => t.split('\x1f').filter((a, i, all) => a !== '-w' && all[i - 1] !== '-w'));
}

// ---------------------------------------------------------------------------------------------
// A small pool: the CLI is a separate process per value.
const limit = Math.max(2, availableParallelism());
let active = 0;
const waiting: (() => void)[] = [];
async function pooled<T>(fn: () => Promise<T>): Promise<T> {
  if (active >= limit) await new Promise<void>((res) => waiting.push(res));
  active++;
  try {
    return await fn();
  } finally {
    active--;
    waiting.shift()?.();
  }
}

/** `lvsctl validate` for one file: the real CLI for every 8th value (and the first), the same
 * gate in-process for the others (loadInventory, whose InventoryError message is exactly what the
 * CLI prints before its summary line): ~0.15 s of process start-up saved per value. */
let validations = 0;
async function validate(
  file: string,
  env: Record<string, string>,
  cli = false,
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (validations++ % 8 === 0 || cli) return runCli(['validate', '-i', file], env);
  try {
    loadInventory(file, { requireSecrets: false, env });
    return { code: 0, stdout: `${file}: ok\n`, stderr: '' };
  } catch (e) {
    if (e instanceof InventoryError) return { code: e.exitCode, stdout: '', stderr: `${e.message}\n` };
    throw e;
  }
}

async function expectRejected(
  label: string,
  inv: Inv | string,
  at: { path?: Path; atKey?: boolean; line?: number; field: string; cli?: boolean },
  env: Record<string, string> = ENV,
  secret?: string,
  extra: Record<string, string> = {},
) {
  tally.tried++;
  const { file, text } = writeInventory(inv, extra);
  const r = await validate(file, env, at.cli);
  sentinelAbsent(label);
  assert.equal(r.code, 65, `${label}: expected exit 65, got ${r.code}: ${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  const line = at.line ?? lineOf(text, at.path!, at.atKey);
  const lines = r.stderr.split('\n');
  const hit = lines.some(
    (l) =>
      l.startsWith(`${file}:${line}:`) &&
      (at.field === ''
        ? true
        : l
            .slice(`${file}:${line}:`.length)
            .replace(/^\d+: /, '')
            .startsWith(`${at.field}: `)),
  );
  assert.ok(hit, `${label}: no problem at ${file}:${line} naming ${at.field}:\n${r.stderr}`);
  if (secret !== undefined && secret.length >= 3)
    assert.ok(!r.stderr.includes(secret), `${label}: the secret is in the message`);
  tally.rejected++;
  return r.stderr;
}

async function expectAccepted(
  label: string,
  spec: FieldSpec | undefined,
  inv: Inv | string,
  check: (r: Rendered) => boolean | Promise<boolean>,
  opts: { env?: Record<string, string>; render?: boolean; base?: 'ha' | 'nat'; extra?: Record<string, string> } = {},
) {
  tally.tried++;
  const env = opts.env ?? ENV;
  const { dir, file } = writeInventory(inv, opts.extra);
  const v = await validate(file, env);
  sentinelAbsent(label);
  assert.equal(v.code, 0, `${label}: expected to be accepted: ${v.stderr}`);
  let r: Rendered;
  if (opts.render) {
    r = await render(file, dir, env);
    exerciseScripts(r, await baseFiles(opts.base ?? 'ha'), label);
  } else {
    r = { files: new Map(), cluster: loadInventory(file, { env }).cluster, dir };
  }
  assert.ok(await check(r), `${label}: not found byte-exact (${spec?.reaches?.what ?? 'check'})`);
  sentinelAbsent(label);
  tally.acceptedExact++;
}

const baseOf = (spec: FieldSpec): Inv => (spec.base === 'ha' ? baseHa() : baseNat());
const short = (v: string) => JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);

describe('hostile values in every string field: rejected (65, file:line, field) or byte-exact and harmless', () => {
  for (const spec of FIELDS) {
    it(`${spec.field}: ${spec.reject.length} rejected, ${spec.accept.length} accepted`, async () => {
      tally.fields.add(spec.field);
      const jobs: Promise<unknown>[] = [];
      for (const [family, value] of spec.reject) {
        const inv = baseOf(spec);
        spec.set(inv, value);
        const at = spec.at(value);
        jobs.push(
          pooled(() =>
            expectRejected(`${spec.field} ${family} ${short(value)}`, inv, { ...at, field: formatPath(at.path) }),
          ),
        );
      }
      for (const value of spec.accept) {
        const inv = baseOf(spec);
        spec.set(inv, value);
        const label = `${spec.field} ${short(value)}`;
        const reaches = spec.reaches!;
        if (reaches.kind === 'verify')
          jobs.push(
            pooled(() =>
              expectAccepted(label, spec, inv, async (r) => {
                // The URL is curl's last argument, byte-exact; everything before it is an option.
                const calls = await curlArgs(r);
                return (
                  calls.length === 3 &&
                  calls.every(
                    (a) =>
                      a.at(-1) === `http://10.99.2.100:80${value}` &&
                      a.slice(0, -1).every((x) => x.startsWith('-') || /^\d+(-\d+)?$/.test(x)),
                  )
                );
              }),
            ),
          );
        else
          jobs.push(
            pooled(() =>
              expectAccepted(label, spec, inv, (r) => reaches.check(r, value), {
                render: reaches.kind === 'render',
                base: spec.base,
              }),
            ),
          );
      }
      const results = await Promise.allSettled(jobs);
      const failed = results
        .filter((x): x is PromiseRejectedResult => x.status === 'rejected')
        .map((x) => (x.reason as Error).message);
      assert.deepEqual(failed, []);
    });
  }

  it(`the VRRP password (a secret): ${PASSWORD_REJECT.length} rejected without being printed, ${PASSWORD_ACCEPT.length} written exactly as auth_pass`, async () => {
    tally.fields.add('VRRP password (directors.vrrp.auth, from the environment)');
    const jobs: Promise<unknown>[] = [];
    for (const [family, pw] of PASSWORD_REJECT)
      jobs.push(
        pooled(() =>
          expectRejected(
            `password ${family}`,
            baseHa(),
            { path: ['directors', 'vrrp', 'auth', 'password_env'], field: 'directors.vrrp.auth.password_env' },
            { LVSCTL_VRRP_PASSWORD: pw },
            pw,
          ),
        ),
      );
    for (const pw of PASSWORD_ACCEPT)
      jobs.push(
        pooled(() =>
          expectAccepted(
            `password ${short(pw)}`,
            undefined,
            baseHa(),
            (r) => {
              const conf = join(r.dir, 'out/dir1/etc/keepalived/keepalived.conf');
              return (
                (statSync(conf).mode & 0o777) === 0o600 &&
                r.files
                  .get('dir1')!
                  .get('/etc/keepalived/keepalived.conf')!
                  .split('\n')
                  .some((l) => JSON.stringify(kaWords(l)) === JSON.stringify(['auth_pass', pw]))
              );
            },
            { env: { LVSCTL_VRRP_PASSWORD: pw }, render: true },
          ),
        ),
      );
    const failed = (await Promise.allSettled(jobs))
      .filter((x): x is PromiseRejectedResult => x.status === 'rejected')
      .map((x) => (x.reason as Error).message);
    assert.deepEqual(failed, []);
  });

  it('directors.vrrp.auth.password_file: awkward names read, devices and directories refused (validate never hangs)', async () => {
    tally.fields.add('directors.vrrp.auth.password_file');
    const withFile = (name: string) => {
      const inv = baseHa();
      inv.directors.vrrp.auth = { type: 'PASS', password_file: name };
      return inv;
    };
    const jobs: Promise<unknown>[] = [];
    for (const [name, pw] of PASSWORD_FILE_ACCEPT)
      jobs.push(
        pooled(() =>
          expectAccepted(
            `password_file ${short(name)}`,
            undefined,
            withFile(name),
            (r) => kaHas(r.files.get('dir2')!.get('/etc/keepalived/keepalived.conf')!, ['auth_pass', pw]),
            { render: true, env: {}, extra: { [name]: pw + '\n' } },
          ),
        ),
      );
    const at = {
      path: ['directors', 'vrrp', 'auth', 'password_file'] as Path,
      field: 'directors.vrrp.auth.password_file',
    };
    for (const [family, name, extra] of [
      ['device', '/dev/zero', {}],
      ['fifo', '/dev/stdin', {}],
      ['directory', '.', {}],
      ['big', 'big', { big: 'x'.repeat(5000) }],
      ['control', 'a\x1b[2Jb', {}],
    ] as [string, string, Record<string, string>][])
      jobs.push(pooled(() => expectRejected(`password_file ${family}`, withFile(name), at, {}, undefined, extra)));
    const failed = (await Promise.allSettled(jobs))
      .filter((x): x is PromiseRejectedResult => x.status === 'rejected')
      .map((x) => (x.reason as Error).message);
    assert.deepEqual(failed, []);
  });
});

// ---------------------------------------------------------------------------------------------
// YAML tricks: whole documents.

const haText = () => stringify(baseHa(), { lineWidth: 0 });
const lineNo = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

interface YamlCase {
  name: string;
  text: () => string;
  reject?: { line: (t: string) => number; field: string; message: RegExp };
  accept?: (r: Rendered) => boolean;
}

const bomb =
  'a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n';
const YAML_CASES: YamlCase[] = [
  {
    name: 'alias bomb (billion laughs)',
    text: () => bomb + haText(),
    reject: { line: () => 1, field: '', message: /alias/ },
  },
  {
    name: 'duplicate top-level key',
    text: () => haText() + 'cluster: other\n',
    reject: { line: (t) => t.split('\n').length - 1, field: '', message: /duplicate key "cluster"/ },
  },
  {
    name: 'duplicate nested key',
    text: () => haText().replace('    address: 10.99.2.11\n', `    address: 10.99.2.11\n    address: 10.99.2.99\n`),
    reject: { line: (t) => lineNo(t, '10.99.2.99'), field: '', message: /duplicate key "address"/ },
  },
  {
    name: 'duplicate key in a flow mapping',
    text: () =>
      haText().replace(
        '  client:\n    address: 10.99.1.10\n    ssh:\n      port: 22001\n',
        '  client: { address: 10.99.1.10, address: 10.99.1.11 }\n',
      ),
    reject: { line: (t) => lineNo(t, '10.99.1.11'), field: '', message: /duplicate key/ },
  },
  {
    name: 'merge key (<<) with an override: accepted, the explicit key wins (merges are shallow)',
    text: () =>
      haText()
        .replace('  rs1:\n', '  rs1: &rs1\n')
        .replace('  rs2:\n    address: 10.99.2.12\n', '  rs2:\n    <<: *rs1\n    address: 10.99.2.12\n'),
    accept: (r) =>
      r.cluster.hosts.get('rs2')!.address === '10.99.2.12' &&
      JSON.stringify(r.cluster.hosts.get('rs2')!.become) ===
        JSON.stringify({ method: 'sudo', passwordEnv: 'RS1_SUDO' }),
  },
  {
    name: 'merge key bringing an unknown key',
    text: () => haText().replace('  rs1:\n', '  rs1:\n    <<: { bogus: 1 }\n'),
    reject: { line: (t) => lineNo(t, '<<: { bogus'), field: 'hosts.rs1.bogus', message: /unknown key "bogus"/ },
  },
  {
    name: 'merge key with a scalar',
    text: () => haText().replace('  rs1:\n', '  rs1:\n    <<: 5\n'),
    reject: { line: () => 1, field: '', message: /Merge sources must be maps/ },
  },
  {
    name: 'custom tag !shell',
    text: () => haText().replace('cluster: hostile', `cluster: !shell touch ${SENTINEL}`),
    reject: { line: () => 1, field: '', message: /custom tags are not allowed/ },
  },
  {
    name: 'tag !!js/function',
    text: () => haText().replace('cluster: hostile', 'cluster: !!js/function "function(){}"'),
    reject: { line: () => 1, field: '', message: /custom tags are not allowed/ },
  },
  {
    name: 'tag !!python/object/apply',
    text: () => haText().replace('cluster: hostile', `cluster: !!python/object/apply:os.system ["touch ${SENTINEL}"]`),
    reject: { line: () => 1, field: '', message: /custom tags are not allowed/ },
  },
  {
    name: 'verbatim tag !<tag:yaml.org,2002:js/undefined>',
    text: () => haText().replace('cluster: hostile', 'cluster: !<tag:yaml.org,2002:js/undefined> x'),
    reject: { line: () => 1, field: '', message: /custom tags are not allowed/ },
  },
  {
    name: '!!binary where a name goes',
    text: () => haText().replace('cluster: hostile', 'cluster: !!binary aGk='),
    reject: { line: () => 1, field: 'cluster', message: /expected string, got binary data/ },
  },
  {
    name: '!!set where a name goes',
    text: () => haText().replace('cluster: hostile', 'cluster: !!set { a }'),
    reject: { line: () => 1, field: 'cluster', message: /expected string, got a set/ },
  },
  {
    name: '!!str where a port goes',
    text: () => haText().replace('        port: 80\n', '        port: !!str 80\n'),
    reject: {
      line: (t) => lineNo(t, '!!str 80'),
      field: 'vips[0].services[0].port',
      message: /expected number, got the string "80"/,
    },
  },
  {
    name: '!!int "80" where a port goes: accepted as 80',
    text: () => haText().replace('        port: 80\n', '        port: !!int "80"\n'),
    accept: (r) => r.cluster.services[0]!.port === 80,
  },
  {
    name: 'hexadecimal port 0x50: YAML 1.2 integer 80',
    text: () => haText().replace('        port: 80\n', '        port: 0x50\n'),
    accept: (r) => r.cluster.services[0]!.port === 80,
  },
  {
    name: 'port 80.5',
    text: () => haText().replace('        port: 80\n', '        port: 80.5\n'),
    reject: { line: (t) => lineNo(t, '80.5'), field: 'vips[0].services[0].port', message: /./ },
  },
  {
    name: 'port .inf',
    text: () => haText().replace('        port: 80\n', '        port: .inf\n'),
    reject: { line: (t) => lineNo(t, '.inf'), field: 'vips[0].services[0].port', message: /./ },
  },
  {
    name: 'YAML 1.1 boolean "yes"',
    text: () =>
      haText().replace(
        '    host: 127.0.0.1\n    user: root\n',
        '    host: 127.0.0.1\n    agent: yes\n    user: root\n',
      ),
    reject: {
      line: (t) => lineNo(t, 'agent: yes'),
      field: 'vars.ssh.agent',
      message: /the plain value yes is the string "yes" in YAML 1\.2 \(lvsctl\) but the boolean true in YAML 1\.1/,
    },
  },
  {
    name: 'two documents',
    text: () => haText() + '---\ncluster: other\n',
    reject: { line: (t) => t.split('\n').length - 2, field: '', message: /multiple documents/ },
  },
  {
    name: 'raw NUL byte',
    text: () => haText().replace('cluster: hostile', 'cluster: host\0ile'),
    reject: { line: () => 1, field: '', message: /NUL/ },
  },
  { name: 'byte-order mark: accepted', text: () => '\ufeff' + haText(), accept: (r) => r.cluster.name === 'hostile' },
  {
    name: 'nesting 20000 deep',
    text: () => haText().replace('cluster: hostile', 'cluster: ' + '['.repeat(20000) + ']'.repeat(20000)),
    reject: { line: () => 1, field: '', message: /YAML/ },
  },
  {
    name: 'a file over 1 MiB',
    text: () => haText() + '#' + 'x'.repeat(1024 * 1024) + '\n',
    reject: { line: () => 1, field: '', message: /larger than 524288 bytes/ },
  },
  {
    name: '__proto__ at the top',
    text: () => `__proto__: { cluster: x }\n` + haText(),
    reject: { line: () => 1, field: '__proto__', message: /the key "__proto__" is not allowed/ },
  },
  {
    name: '__proto__ as a host name',
    text: () => haText().replace('hosts:\n  client:', 'hosts:\n  __proto__: { address: 10.99.1.99 }\n  client:'),
    reject: {
      line: (t) => lineNo(t, '__proto__'),
      field: 'hosts.__proto__',
      message: /the key "__proto__" is not allowed/,
    },
  },
  {
    name: 'tab indentation',
    text: () => haText().replace('  interface: eth0\n  ssh:', '\tinterface: eth0\n  ssh:'),
    reject: { line: (t) => lineNo(t, '\tinterface'), field: '', message: /YAML/ },
  },
  {
    name: 'look-alike key (Cyrillic е in "clustеr")',
    text: () => haText().replace('cluster: hostile', 'clust\u0435r: hostile'),
    reject: { line: () => 1, field: formatPath(['clust\u0435r']), message: /unknown key/ },
  },
  {
    name: 'key with a trailing space',
    text: () => haText().replace('cluster: hostile', '"cluster ": hostile'),
    reject: { line: () => 1, field: '["cluster "]', message: /unknown key/ },
  },
  {
    name: 'complex key',
    text: () => haText().replace('cluster: hostile', 'cluster: hostile\n? [a, b]\n: c'),
    reject: { line: (t) => lineNo(t, '? [a, b]'), field: '', message: /a key must be a name, not a list or mapping/ },
  },
  {
    name: 'alias before its anchor',
    text: () => haText().replace('cluster: hostile', 'cluster: *nowhere'),
    reject: { line: () => 1, field: '', message: /alias/i },
  },
  {
    name: 'a 100 kB value',
    text: () => haText().replace('cluster: hostile', `cluster: ${'x'.repeat(100_000)}`),
    reject: { line: () => 1, field: 'cluster', message: /x{80}…"\n/ },
  },
];

describe('YAML tricks', () => {
  for (const c of YAML_CASES) {
    it(c.name, async () => {
      tally.fields.add('(YAML document)');
      if (c.reject) {
        const text = c.text();
        const stderr = await expectRejected(c.name, text, {
          line: c.reject.line(text),
          field: c.reject.field,
          cli: true,
        }); // YAML tricks: always the real CLI
        assert.match(stderr, c.reject.message);
        assert.ok(stderr.length < 2000, 'the message does not echo a huge value');
      } else await expectAccepted(c.name, undefined, c.text(), c.accept!);
    });
  }
});

describe('the fixes the corpus found', () => {
  it('kq refuses "${" (keepalived expands ${_PWD}, ${_RANDOM}… inside quotes) and lone braces', () => {
    for (const v of ['${_PWD}', '/a${_RANDOM}', '{', '}', 'a"b', 'a\nb'])
      assert.throws(() => kq(v), KeepalivedQuoteError, v);
    assert.equal(kq('/a$_PWD'), '"/a$_PWD"');
    assert.equal(kq('/a{b}'), '"/a{b}"');
  });
  it("HTTP paths fit keepalived's 1024-byte config line", () => {
    const line = `                path ${kq('/' + 'p'.repeat(HTTP_PATH_MAX - 1))}`;
    assert.ok(Buffer.byteLength(line) < 1000, String(line.length));
  });
});

describe('report', () => {
  it('tried / rejected / accepted-and-exact / injected', () => {
    sentinelAbsent('after all');
    console.log(
      `hostile input: tried ${tally.tried} / rejected ${tally.rejected} / accepted-and-exact ${tally.acceptedExact} / injected ${tally.injected} (${tally.fields.size} fields; sentinel ${SENTINEL})`,
    );
    assert.equal(tally.injected, 0);
    assert.equal(
      tally.tried,
      tally.rejected + tally.acceptedExact,
      'every value either rejected or accepted and found exact',
    );
    assert.ok(tally.tried >= 300, `at least 300 values (tried ${tally.tried})`);
    assert.ok(tally.acceptedExact >= 30);
  });
});
