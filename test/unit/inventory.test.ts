// The inventory gate, exercised through the real CLI process: exact messages, locations and exit
// codes for every invalid inventory under test/inventories/invalid, and every example validating.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import { formatPath } from '../../src/inventory/locate.js';
import { root, runCli } from './helpers.js';
import { Command } from '../../src/cli/contract.js';

const invalidDir = 'test/inventories/invalid';
const invalid = readdirSync(join(root, invalidDir))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const examples = readdirSync(join(root, 'inventories'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const secretsEnv = { LVSCTL_VRRP_PASSWORD: 'secret12' };

describe('invalid inventories: exact message, file:line:col, exit 65', () => {
  it('has a test inventory for each rule the issue names', () => {
    for (const name of [
      'dr-port-mapping',
      'tun-port-mapping',
      'vip-equals-rip',
      'nat-gateway-not-dip',
      'nat-ops',
      'fullnat',
      'vrrp-duplicate-vrid',
      'vrrp-same-priority',
      'vrrp-password-too-long',
      'vrrp-nopreempt-master',
      'keepalived-string-quote',
      'keepalived-string-newline',
      'interface-injection',
      'address-free-string',
      'unknown-key',
      'malformed',
      'duplicate-key',
      'alias-bomb',
      'custom-tag',
      'empty',
    ])
      assert.ok(invalid.includes(`${name}.yaml`), `${name}.yaml missing`);
  });
  for (const f of invalid) {
    it(f, async () => {
      const file = `${invalidDir}/${f}`;
      const expected = readFileSync(join(root, invalidDir, f.replace(/\.yaml$/, '.expected')), 'utf8')
        .trimEnd()
        .split('\n');
      const r = await runCli(['validate', '-i', file], { ...secretsEnv, VRRP_PW: 'pw123456' });
      assert.equal(r.code, 65, r.stderr);
      assert.equal(r.stdout, '');
      const lines = r.stderr.trimEnd().split('\n');
      assert.deepEqual(lines.slice(0, -1), expected);
      assert.match(lines.at(-1)!, /^\d+ problems? in the inventory; nothing was contacted\.$/);
      for (const l of expected) assert.match(l, new RegExp(`^${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: `));
    });
  }
  it('every command checks the inventory before anything else (65 wins over everything)', async () => {
    for (const cmd of ['up', 'plan', 'status', 'down']) {
      const r = await runCli([cmd, '-i', `${invalidDir}/vip-equals-rip.yaml`]);
      assert.equal(r.code, 65, `${cmd}: ${r.stderr}`);
    }
  });
  it('--json puts the problems on stdout as one document', async () => {
    const r = await runCli(['validate', '--json', '-i', `${invalidDir}/many-mistakes.yaml`]);
    assert.equal(r.code, 65);
    const doc = JSON.parse(r.stdout) as { ok: boolean; problems: { line: number; col: number; field: string }[] };
    assert.equal(doc.ok, false);
    assert.deepEqual(
      doc.problems.map((p) => [p.line, p.field]),
      [
        [5, 'hosts.dir1.ssh.port'],
        [6, 'hosts.rs1.address'],
        [15, 'vips[0].services[0].scheduler'],
        [16, 'vips[0].services[0].real_servers[0].weight'],
      ],
    );
  });
  it('rejects a huge file without parsing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lvsctl-'));
    const file = join(dir, 'huge.yaml');
    writeFileSync(file, 'cluster: t\n' + '# padding padding padding padding padding padding\n'.repeat(25000));
    const r = await runCli(['validate', '-i', file]);
    assert.equal(r.code, 65);
    assert.match(r.stderr, /huge\.yaml:1:1: the file is larger than 524288 bytes, the most an inventory may be/);
  });
  it('never prints a secret, even the one it rejects', async () => {
    const r = await runCli(['validate', '-i', `${invalidDir}/vrrp-password-too-long.yaml`]);
    assert.doesNotMatch(r.stdout + r.stderr, /ninechars/);
    const env = await runCli(['validate', '-i', 'inventories/example-dr-ha.yaml'], {
      LVSCTL_VRRP_PASSWORD: 'hunter2hunter2',
    });
    assert.equal(env.code, 65);
    assert.doesNotMatch(env.stdout + env.stderr, /hunter2/);
    assert.match(env.stderr, /directors\.vrrp\.auth\.password_env: the VRRP password has 14 characters/);
  });
});

describe('valid inventories', () => {
  for (const f of examples) {
    it(`inventories/${f} validates`, async () => {
      const r = await runCli(['validate', '-i', `inventories/${f}`], secretsEnv);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^inventories/${f.replace('.', '\\.')}: ok: cluster `));
    });
  }
  it('the examples together use every feature the inventory offers', () => {
    const all = examples.map((f) => loadInventory(join(root, 'inventories', f), { env: secretsEnv }).cluster);
    const services = all.flatMap((c) => c.services);
    assert.deepEqual(new Set(all.map((c) => c.mode)), new Set(['nat', 'dr', 'tun']));
    assert.ok(all.some((c) => c.directors.members.length === 2 && c.directors.vrrp?.auth));
    assert.ok(all.some((c) => c.directors.members.length === 1 && c.directors.engine === 'keepalived'));
    assert.ok(all.some((c) => c.directors.masquerade && c.directors.dip));
    assert.ok(all.some((c) => c.directors.sync_daemon));
    assert.ok(all.some((c) => c.directors.vrrp?.unicast));
    assert.ok(all.some((c) => c.ipvs.timeouts));
    assert.ok(services.some((s) => s.fwmark !== undefined && s.persistence?.netmask));
    assert.ok(services.some((s) => s.protocol === 'udp'));
    assert.ok(services.some((s) => s.family === 6));
    assert.ok(services.some((s) => s.sorryServer && s.inhibitOnFailure));
    assert.ok(services.some((s) => s.realServers.some((r) => r.port !== s.port))); // NAT port mapping
    assert.ok(services.some((s) => s.realServers.some((r) => r.weight === 0)));
    assert.ok(
      services.some((s) => s.realServers.some((r) => r.upperThreshold !== undefined && r.lowerThreshold !== undefined)),
    );
    for (const t of ['tcp', 'http', 'udp'])
      assert.ok(
        services.some((s) => s.realServers.some((r) => r.healthCheck?.type === t)),
        t,
      );
    const hosts = all.flatMap((c) => [...c.hosts.values()]);
    assert.ok(hosts.some((h) => h.ssh.jump));
    assert.ok(hosts.some((h) => h.ssh.agent));
    assert.ok(hosts.some((h) => h.become));
    // Several VIPs in one cluster, several services on one VIP.
    assert.ok(all.some((c) => new Set(c.services.map((s) => s.vip.address)).size > 1));
    assert.ok(all.some((c) => c.services.filter((s) => s.vip.address === c.services[0]!.vip.address).length > 1));
  });
  for (const mode of ['nat', 'dr', 'tun']) {
    it(`init --mode ${mode} writes a starter that validates`, async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'lvsctl-')), `${mode}.yaml`);
      const w = await runCli(['init', '--mode', mode, '-o', out]);
      assert.equal(w.code, 0, w.stderr);
      assert.match(
        readFileSync(out, 'utf8'),
        /^# yaml-language-server: \$schema=lvsctl\.schema\.json\n# lvsctl starter inventory/,
      );
      const v = await runCli(['validate', '-i', out]);
      assert.equal(v.code, 0, v.stderr);
      const again = await runCli(['init', '--mode', mode, '-o', out]);
      assert.equal(again.code, 64, 'refuses to overwrite without --force');
    });
  }
});

describe('resolved model', () => {
  it('merges vars < groups < host, and resolves local paths against the inventory', () => {
    const { cluster } = loadInventory(join(root, 'inventories/lab-tun.yaml'));
    const rs2 = cluster.hosts.get('rs2')!;
    assert.equal(rs2.ssh.user, 'lvs');
    assert.equal(rs2.ssh.port, 22005);
    assert.equal(rs2.ssh.host, '127.0.0.1');
    assert.deepEqual(rs2.become, { method: 'sudo' });
    assert.equal(rs2.interface, 'eth0');
    assert.equal(rs2.ssh.identityFile, join(root, '.lab/id_ed25519'));
    assert.equal(cluster.hosts.get('rs1')!.ssh.user, 'root');
  });
  it('expands a group of real servers and names services as ipvsadm does', () => {
    const { cluster } = loadInventory(join(root, 'inventories/example-nat.yaml'), { env: {} });
    assert.deepEqual(
      cluster.services.map((s) => s.id),
      ['tcp 192.0.2.100:80', 'fwmark 10', 'udp 192.0.2.100:53'],
    );
    assert.deepEqual(
      cluster.services[1]!.realServers.map((r) => r.host),
      ['app1', 'app2', 'app3'],
    );
    assert.deepEqual(
      cluster.services[0]!.realServers.map((r) => [r.host, r.port, r.weight]),
      [
        ['app1', 8080, 3],
        ['app2', 8080, 1],
        ['app3', 8080, 0],
      ],
    );
  });
  it('formats field paths for people', () => {
    assert.equal(formatPath(['vips', 0, 'services', 1, 'port']), 'vips[0].services[1].port');
    assert.equal(formatPath(['hosts', 'odd name', 'address']), 'hosts["odd name"].address');
  });
});

describe('usage errors exit 64', () => {
  for (const args of [
    ['bogus'],
    ['validate'],
    ['init'],
    ['init', '--mode', 'fullnat'],
    ['up', '-i', 'x.yaml', '--forks', 'many'],
    ['validate', '-i', 'x', '--nope'],
  ]) {
    it(args.join(' '), async () => {
      const r = await runCli(args);
      assert.equal(r.code, 64, r.stderr);
      assert.match(r.stderr, /error:/);
    });
  }
  it('--help lists every command and exits 0', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    // every command the JSON contract names
    for (const c of Command.options) assert.match(r.stdout, new RegExp(`\\n  ${c}\\b`));
    const up = await runCli(['up', '--help']);
    for (const o of ['-i, --inventory', '--limit', '--json', '--verbose', '--forks'])
      assert.ok(up.stdout.includes(o), o);
  });
});
