// The CLI's edges and its JSON contract, run as a user would (bin/lvsctl.js in a child process):
// file-system mistakes are one line with the right exit code, --limit means the same everywhere,
// every --json run prints one document that the published JSON Schema accepts, and a signal ends
// any command promptly. Hosts are on loopback only: a closed port (unreachable) or a listener that
// accepts and never speaks (a connect that would hang for its whole timeout).
import { spawn, spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { outputJsonSchema } from '../../src/cli/contract.js';
import { root, runCli, type CliResult } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsctl-cli-'));
const NAT = join(root, 'inventories/example-nat.yaml');
const HA = join(root, 'inventories/example-dr-ha.yaml');
const SECRET = { LVSCTL_VRRP_PASSWORD: 'secret12' };

const ajv = new Ajv2020({ allErrors: true, strict: false });
const checkDoc = ajv.compile(outputJsonSchema());

/** The one JSON document of a --json run, checked against the published schema. */
function doc(r: CliResult): Record<string, unknown> & {
  command: string | null;
  ok: boolean;
  exit_code: number;
  hosts: Record<string, unknown>[];
  changes: Record<string, unknown>[];
  error: { kind: string; message: string } | null;
} {
  let d: unknown;
  try {
    d = JSON.parse(r.stdout);
  } catch {
    assert.fail(`stdout is not one JSON document (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
  assert.ok(checkDoc(d), `schema: ${ajv.errorsText(checkDoc.errors)}\n${r.stdout}`);
  const x = d as ReturnType<typeof doc>;
  assert.equal(x.exit_code, r.code, 'exit_code is the exit code');
  return x;
}

/** example-nat with every host's SSH on 127.0.0.1:`port` (nothing else is ever contacted). */
function loopbackInventory(name: string, port: number, timeout = 3): string {
  const key = join(dir, 'key');
  if (!existsSync(key)) spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const text = readFileSync(NAT, 'utf8').replace(
    / {2}ssh:\n( {4}.*\n)+/,
    `  ssh:\n    host: 127.0.0.1\n    port: ${port}\n    user: root\n    identity_file: ${key}\n    known_hosts: ${join(dir, 'known_hosts')}\n    connect_timeout: ${timeout}\n`,
  );
  assert.match(text, /host: 127\.0\.0\.1/);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** A loopback port that refuses connections: a listener opened and closed again. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

let silent: Server;
let silentPort = 0;
let silentConnections = 0;
let refused = '';
let hanging = '';
before(async () => {
  silent = createServer((sock) => {
    silentConnections++;
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentPort = (silent.address() as { port: number }).port;
  refused = loopbackInventory('refused.yaml', await closedPort());
  hanging = loopbackInventory('hanging.yaml', silentPort, 60);
});
after(() => silent.close());

describe('file-system mistakes: one line, the right exit code, never a stack trace', () => {
  const oneLine = (r: CliResult, code: number, re: RegExp) => {
    assert.equal(r.code, code, r.stderr);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trimEnd(), re);
    assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
  };
  it('an inventory that is missing, a directory, a FIFO or a device: 65', async () => {
    const fifo = join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    oneLine(
      await runCli(['plan', '-i', '/nonexistent.yaml']),
      65,
      /^lvsctl: \/nonexistent\.yaml: cannot read the inventory: no such file or directory$/,
    );
    oneLine(await runCli(['validate', '-i', dir]), 65, /cannot read the inventory: it is a directory/);
    oneLine(await runCli(['validate', '-i', fifo]), 65, /cannot read the inventory: it is not a regular file/);
    oneLine(await runCli(['render', '-i', '/dev/zero', '--out', join(dir, 'z')]), 65, /not a regular file/);
  });
  it('init -o into a missing directory or onto a directory, render --out below a file: 64', async () => {
    oneLine(
      await runCli(['init', '--mode', 'nat', '-o', join(dir, 'missing/dir/x.yaml')]),
      64,
      /cannot write it: no such file or directory/,
    );
    oneLine(await runCli(['init', '--mode', 'nat', '-o', dir]), 64, /is a directory/);
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    oneLine(await runCli(['render', '-i', NAT, '--out', join(file, 'sub')]), 64, /a part of the path is a file/);
    assert.equal(readFileSync(file, 'utf8'), 'x');
  });
  it('no command: the usage on stderr, exit 64; --json alone still gets its document', async () => {
    const r = await runCli([]);
    assert.equal(r.code, 64);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Usage: lvsctl/);
    const j = await runCli(['--json']);
    assert.equal(j.code, 64);
    assert.deepEqual(doc(j).error, { kind: 'usage', message: 'no command given' });
    assert.equal((await runCli(['--help'])).code, 0);
  });
});

describe('validate and render agree about secrets', () => {
  it('both refuse an unset VRRP password with the same line (65), both accept it set', async () => {
    const v = await runCli(['validate', '-i', HA]);
    const r = await runCli(['render', '-i', HA, '--out', join(dir, 'sec')]);
    assert.equal(v.code, 65);
    assert.equal(r.code, 65);
    assert.equal(v.stderr, r.stderr);
    assert.match(v.stderr, /password_env: the environment variable LVSCTL_VRRP_PASSWORD is not set/);
    assert.equal((await runCli(['validate', '-i', HA], SECRET)).code, 0);
    assert.equal((await runCli(['render', '-i', HA, '--out', join(dir, 'sec')], SECRET)).code, 0);
    assert.equal((await runCli(['validate', '--no-secrets', '-i', HA])).code, 0);
  });
});

describe('--limit: the same patterns and answers in every command', () => {
  const selected = async (limit: string) => {
    const r = await runCli(['validate', '-i', NAT, '--limit', limit, '--json']);
    assert.equal(r.code, 0, r.stderr);
    return doc(r).selected;
  };
  it('hosts, groups, role groups, globs, regex, exclusions and intersections', async () => {
    assert.deepEqual(await selected('app'), ['app1', 'app2', 'app3']);
    assert.deepEqual(await selected('app*'), ['app1', 'app2', 'app3']);
    assert.deepEqual(await selected('app,!app2'), ['app1', 'app3']);
    assert.deepEqual(await selected('!app2'), ['lb1', 'app1', 'app3', 'probe']);
    assert.deepEqual(await selected('directors:clients'), ['lb1', 'probe']);
    assert.deepEqual(await selected('all,&real_servers,!app1'), ['app2', 'app3']);
    assert.deepEqual(await selected('~^app[13]$'), ['app1', 'app3']);
    assert.deepEqual(await selected('lb?'), ['lb1']);
  });
  it('verify probes from the verify.from clients within --limit; none of them selected is 64 before any contact', async () => {
    const before = silentConnections;
    const r = await runCli(['verify', '-i', hanging, '--limit', 'directors']);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /--limit selects none of the verify\.from clients \(probe\)/);
    assert.equal(silentConnections, before);
    const v = await runCli(['verify', '-i', refused, '--limit', 'clients', '--json']);
    // The selected client probes; the directors' tables are read to know who answered.
    assert.deepEqual(
      doc(v).hosts.map((h) => h.host),
      ['lb1', 'probe'],
    );
  });
  it('a term that matches nothing is 64 in validate, render, plan, status and drain, before any contact', async () => {
    const before = silentConnections;
    for (const args of [
      ['validate', '-i', hanging],
      ['render', '-i', hanging, '--out', join(dir, 'nosuch')],
      ['plan', '-i', hanging],
      ['status', '-i', hanging],
      ['drain', 'app1', '-i', hanging],
    ])
      for (const limit of ['nosuch', 'app,!nosuch', 'app,&lb1']) {
        const r = await runCli([...args, '--limit', limit]);
        assert.equal(r.code, 64, `${args[0]} --limit ${limit}: ${r.stderr}`);
        assert.match(r.stderr, /--limit/);
      }
    assert.equal(silentConnections, before, 'no host was contacted');
    assert.ok(!existsSync(join(dir, 'nosuch')));
  });
});

describe('render: a directory of its own', () => {
  it('refuses a non-empty directory without --force; with --force a new render replaces the old whole', async () => {
    const out = join(dir, 'rendered');
    assert.equal((await runCli(['render', '-i', NAT, '--out', out])).code, 0);
    assert.deepEqual(readdirSync(out).sort(), ['app1', 'app2', 'app3', 'lb1']);
    const again = await runCli(['render', '-i', NAT, '--out', out, '--limit', 'app1']);
    assert.equal(again.code, 64);
    assert.match(again.stderr, /--force replaces it/);
    assert.equal((await runCli(['render', '-i', NAT, '--out', out, '--limit', 'app1', '--force'])).code, 0);
    assert.deepEqual(readdirSync(out), ['app1'], "the other hosts' old directories are gone");
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('lvsctl-')),
      [],
      'no staging directory left',
    );
  });
  it('never replaces a directory that is not a render, even with --force', async () => {
    const mine = join(dir, 'mine');
    mkdirSync(join(mine, 'notes'), { recursive: true });
    writeFileSync(join(mine, 'notes', 'todo.txt'), 'keep me');
    const r = await runCli(['render', '-i', NAT, '--out', mine, '--force']);
    assert.equal(r.code, 64);
    assert.match(r.stderr, /not a render of lvsctl's/);
    assert.equal(readFileSync(join(mine, 'notes', 'todo.txt'), 'utf8'), 'keep me');
  });
});

describe('host commands against hosts that cannot be reached', () => {
  it('drain names the host once; verify --failover with one director is refused before any contact', async () => {
    const d = await runCli(['drain', 'app1', '-i', refused]);
    assert.equal(d.code, 1);
    assert.match(d.stderr, /^lvsctl: lb1: connection refused by root@127\.0\.0\.1:\d+$/m);
    assert.doesNotMatch(d.stderr, /lb1: lb1:/);
    const before = silentConnections;
    const t0 = Date.now();
    const f = await runCli(['verify', '--failover', '-i', hanging]);
    assert.equal(f.code, 64, f.stderr);
    assert.match(f.stderr, /--failover needs a keepalived group/);
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(silentConnections, before);
  });
  it('on a terminal, an unreachable host gets a cross, not a tick', { skip: !existsSync('/usr/bin/script') }, () => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TERM: 'xterm' };
    const r = spawnSync('script', ['-qc', `stty cols 150; node bin/lvsctl.js plan -i ${refused}`, '/dev/null'], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
    // eslint-disable-next-line no-control-regex -- terminal escapes are what this strips
    const text = r.stdout.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '');
    for (const h of ['lb1', 'app1', 'probe']) {
      assert.match(text, new RegExp(`✖ ${h}`), text);
      assert.doesNotMatch(text, new RegExp(`✔ ${h}`), text);
    }
  });
});

describe('--json: one document on every path, the same host fields everywhere', () => {
  const hostFields = ['changes', 'error', 'host', 'roles', 'status', 'step'];
  it('success, invalid inventory, usage errors, unreachable hosts', async () => {
    const cases: [string[], number, string | null][] = [
      [['validate', '-i', NAT, '--json'], 0, null],
      [['render', '-i', NAT, '--out', join(dir, 'r-json'), '--json'], 0, null],
      [['validate', '-i', join(root, 'test/inventories/invalid/vip-equals-rip.yaml'), '--json'], 65, 'inventory'],
      [['plan', '-i', join(root, 'test/inventories/invalid/vip-equals-rip.yaml'), '--json'], 65, 'inventory'],
      [['plan', '-i', '/nonexistent.yaml', '--json'], 65, 'inventory'],
      [['plan', '-i', NAT, '--json', '--bogus'], 64, 'usage'],
      [['plan', '-i', NAT, '--json', '--limit', 'nosuch'], 64, 'usage'],
      [['verify', '--failover', '-i', hanging, '--json'], 64, 'usage'],
      [['plan', '-i', refused, '--json'], 1, null],
      [['up', '-i', refused, '--json'], 1, null],
      [['status', '-i', refused, '--json'], 1, null],
      [['stop', '-i', refused, '--json'], 1, null],
      [['down', '-i', refused, '--json'], 1, null],
      [['drain', 'app1', '-i', refused, '--json'], 1, null],
      [['verify', '-i', refused, '--json'], 1, 'failed'],
    ];
    for (const [args, code, kind] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      const d = doc(r);
      assert.equal(d.ok, code === 0, args.join(' '));
      assert.equal(d.error?.kind ?? null, kind, `${args.join(' ')}: ${JSON.stringify(d.error)}`);
      assert.equal(d.command, args[0]);
      for (const h of d.hosts) for (const f of hostFields) assert.ok(f in h, `${args[0]}: host field ${f}`);
      if (args.includes(refused) && !args.includes('--failover')) {
        assert.ok(d.hosts.length > 0, `${args[0]} lists its hosts`);
        for (const h of d.hosts) assert.equal(h.status, 'unreachable', `${args[0]} ${String(h.host)}`);
      }
    }
  });
});

describe('signals end any command promptly', () => {
  // Every host is the silent listener: each command sits in an SSH connect that would last 60 s.
  for (const sig of ['SIGTERM', 'SIGINT'] as const)
    it(`${sig}: plan, status, verify, drain and up end within 3 s with 130 and their JSON document`, async () => {
      for (const args of [['plan'], ['status'], ['verify'], ['drain', 'app1'], ['up']]) {
        const seen = silentConnections;
        const child = spawn(process.execPath, ['bin/lvsctl.js', ...args, '-i', hanging, '--json'], { cwd: root });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b));
        child.stderr.on('data', (b: Buffer) => (stderr += b));
        const ended = new Promise<number>((r) => child.on('close', (c, s) => r(c ?? (s ? -1 : -2))));
        for (let i = 0; i < 200 && silentConnections === seen; i++) await new Promise((r) => setTimeout(r, 50));
        assert.ok(silentConnections > seen, `${args[0]} connected`);
        await new Promise((r) => setTimeout(r, 300)); // connecting now
        const t0 = Date.now();
        child.kill(sig);
        const code = await ended;
        assert.ok(Date.now() - t0 < 3000, `${args[0]} took ${Date.now() - t0} ms`);
        assert.equal(code, 130, `${args[0]}: ${stderr}`);
        const d = doc({ code, stdout, stderr });
        assert.equal(d.error?.kind, 'interrupted');
        assert.match(stderr, new RegExp(`${sig}: stopping`));
      }
    });
});

describe('schema, init and completion commands', () => {
  it('init -o writes the starter with the yaml-language-server line and the schema it names, which accepts it', async () => {
    const d = mkdtempSync(join(dir, 'init-'));
    const file = join(d, 'cluster.yaml');
    const r = await runCli(['init', '--mode', 'tun', '-o', file]);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(file, 'utf8');
    const m = /^# yaml-language-server: \$schema=(\S+)\n/.exec(text);
    assert.ok(m, text.slice(0, 200));
    const schema = JSON.parse(readFileSync(join(d, m[1]!), 'utf8')) as object;
    const printed = await runCli(['schema']);
    assert.deepEqual(JSON.parse(printed.stdout), schema, '`lvsctl schema` prints the same schema');
    const check = ajv.compile(schema);
    assert.ok(check(parse(text)), ajv.errorsText(check.errors));
    assert.equal((await runCli(['validate', '-i', file])).code, 0);
    // A file of that name that is not lvsctl's is left alone.
    writeFileSync(join(d, m[1]!), '{"mine": true}');
    assert.equal((await runCli(['init', '--mode', 'nat', '-o', file, '--force'])).code, 0);
    assert.equal(readFileSync(join(d, m[1]!), 'utf8'), '{"mine": true}');
  });
  it('schema output is the contract the --json documents are checked against', async () => {
    const r = await runCli(['schema', 'output']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.stdout), outputJsonSchema());
    assert.equal((await runCli(['schema', 'nonsense'])).code, 64);
  });
  it('completion bash|zsh prints a script naming every command; another shell is 64', async () => {
    for (const sh of ['bash', 'zsh']) {
      const r = await runCli(['completion', sh]);
      assert.equal(r.code, 0);
      for (const c of ['validate', 'render', 'plan', 'up', 'drain', 'schema', 'completion'])
        assert.match(r.stdout, new RegExp(c));
    }
    assert.equal((await runCli(['completion', 'fish'])).code, 64);
  });
});
