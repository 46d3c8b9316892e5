// The life cycle beyond `up` (issue 8): intent (stop, down, drain recorded in the host state),
// rendering with drains, the planner's record/forget inputs, `ipvsadm -Ln` parsing and the status
// report. Everything here is pure; hosts are faked by their facts text (helpers.ts), and a fake
// apply (helpers.ts: applied) turns a plan into the next facts, so whole cycles run without SSH.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { desiredHost } from '../../src/desired/host.js';
import { drainedCluster, nothing, recordFor, stoppedHost, type Intent } from '../../src/desired/intent.js';
import type { HostResult } from '../../src/engine/cluster.js';
import { commandFor } from '../../src/apply/commands.js';
import { renderedFiles } from '../../src/engine/files.js';
import { planFromFacts, type HostRun } from '../../src/engine/host.js';
import { parseFacts } from '../../src/facts/parse.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { Cluster } from '../../src/inventory/model.js';
import type { Secrets } from '../../src/inventory/secrets.js';
import { hostPort, serviceKey } from '../../src/identity/service.js';
import { desiredTable as desiredTableOf, ipvsService } from '../../src/ipvs/desired.js';
import { formatRules } from '../../src/ipvs/format.js';
import { activeTo, parseList } from '../../src/ipvs/list.js';
import { parseRules } from '../../src/ipvs/parse.js';
import { planHost, RefusedError } from '../../src/plan/host.js';
import { ipvsDelta } from '../../src/plan/ipvs.js';
import { parseState, type HostState } from '../../src/plan/state.js';
import { describe as describeChange, type Change, type CommandChange, type HostPlan } from '../../src/plan/types.js';
import { renderHost } from '../../src/render/host.js';
import { BOOT_LINKS, MANAGED_PATHS } from '../../src/render/paths.js';
import { statusReport } from '../../src/status/report.js';
import { addrLine, applied, factsText, OTHER_SHA, root, type FactsOptions } from './helpers.js';

const load = (f: string) => loadInventory(join(root, 'inventories', f));
const labNat = load('lab-nat.yaml');
const labDr = load('lab-dr.yaml');
const labTun = load('lab-tun.yaml');
const labHa = load('lab-ha.yaml');
const nat = labNat.cluster;
const dr = labDr.cluster;
const tun = labTun.cluster;
const ha = labHa.cluster;
const secretsOf = new Map<Cluster, Secrets>([
  [nat, labNat.secrets],
  [dr, labDr.secrets],
  [tun, labTun.secrets],
  [ha, labHa.secrets],
]);
const texts = (p: HostPlan) => p.changes.map(describeChange);
const stateOf = (c: Change | undefined): HostState => {
  assert.ok(c && c.kind === 'state' && c.phase !== 'remove', `expected a state change, got ${c && describeChange(c)}`);
  return parseState(c.content);
};

/** Directors have a second interface (eth1) in the lab; every host starts from this bare one. */
const eth1Sysctls = {
  'net/ipv4/conf/eth1/arp_ignore': '0',
  'net/ipv4/conf/eth1/arp_announce': '0',
  'net/ipv4/conf/eth1/rp_filter': '1',
  'net/ipv4/conf/eth1/send_redirects': '1',
};
const bare = (cluster: Cluster, host: string): FactsOptions =>
  cluster.hosts.get(host)!.roles.has('director') ? { links: ['lo', 'eth0', 'eth1', 'mgmt0'], sysctl: eth1Sysctls } : {};

/** Facts -> plan for one host: the engine's own pure part (planFromFacts), on faked facts. */
function hostRun(cluster: Cluster, name: string, o: FactsOptions, intent: Intent = { kind: 'up' }): HostRun {
  return planFromFacts(cluster, name, secretsOf.get(cluster)!, renderedFiles, parseFacts(factsText(o)), intent);
}

/** Plan and (fake) apply: the run and the host's facts afterwards. */
function step(
  cluster: Cluster,
  name: string,
  o: FactsOptions,
  intent: Intent = { kind: 'up' },
): { run: HostRun; next: FactsOptions } {
  const run = hostRun(cluster, name, o, intent);
  return { run, next: applied(o, run.plan.changes, formatRules(run.table)) };
}

/** A host after `up` from bare (checked converged: planning again changes nothing). */
function upHost(cluster: Cluster, name: string, from: FactsOptions = bare(cluster, name)): FactsOptions {
  const { next } = step(cluster, name, from);
  assert.deepEqual(
    texts(hostRun(cluster, name, next).plan),
    [],
    `${cluster.name} ${name}: not converged after one up (the fake apply is wrong, or the planner)`,
  );
  return next;
}

// ---------------------------------------------------------------------------------------------

describe('intent: recordFor', () => {
  it('drain adds the host as quiesce, or remove with --remove; other drains stay; the old record is not modified', () => {
    const old = { drained: { rs1: 'quiesce' as const } };
    assert.deepEqual(recordFor({ kind: 'drain', host: 'rs2', remove: false }, old), {
      stopped: false,
      drained: { rs1: 'quiesce', rs2: 'quiesce' },
    });
    assert.deepEqual(recordFor({ kind: 'drain', host: 'rs2', remove: true }, old), {
      stopped: false,
      drained: { rs1: 'quiesce', rs2: 'remove' },
    });
    assert.deepEqual(recordFor({ kind: 'drain', host: 'rs1', remove: true }, old), {
      stopped: false,
      drained: { rs1: 'remove' },
    });
    assert.deepEqual(old, { drained: { rs1: 'quiesce' } });
  });
  it('undrain deletes exactly that host (a host that was not drained: no change)', () => {
    const old = { drained: { rs1: 'quiesce' as const, rs2: 'remove' as const } };
    assert.deepEqual(recordFor({ kind: 'undrain', host: 'rs2' }, old), { stopped: false, drained: { rs1: 'quiesce' } });
    assert.deepEqual(recordFor({ kind: 'undrain', host: 'rs9' }, old), {
      stopped: false,
      drained: { rs1: 'quiesce', rs2: 'remove' },
    });
    assert.deepEqual(old.drained, { rs1: 'quiesce', rs2: 'remove' });
  });
  it('stop sets stopped, up clears it; both keep the drains', () => {
    const drained = { rs2: 'quiesce' as const };
    assert.deepEqual(recordFor({ kind: 'stop' }, { drained }), { stopped: true, drained });
    assert.deepEqual(recordFor({ kind: 'up' }, { stopped: true, drained }), { stopped: false, drained });
    assert.deepEqual(recordFor({ kind: 'up' }, {}), { stopped: false, drained: {} });
  });
  it('status, drain and undrain keep what was recorded (stopped or not)', () => {
    for (const stopped of [true, false]) {
      assert.equal(recordFor({ kind: 'status' }, { stopped }).stopped, stopped);
      assert.equal(recordFor({ kind: 'drain', host: 'rs1', remove: false }, { stopped }).stopped, stopped);
      assert.equal(recordFor({ kind: 'undrain', host: 'rs1' }, { stopped }).stopped, stopped);
    }
    assert.deepEqual(recordFor({ kind: 'status' }, { drained: { rs1: 'remove' } }), {
      stopped: false,
      drained: { rs1: 'remove' },
    });
  });
});

describe('intent: drainedCluster', () => {
  const weights = (c: Cluster) =>
    c.services.map((s) => `${s.id}: ${s.realServers.map((r) => `${r.host}=${r.weight}`).join(' ')}`);
  it('quiesce: weight 0 for the drained host in every service, other weights untouched, expire_quiescent_template=1', () => {
    const c = drainedCluster(nat, { rs2: 'quiesce' });
    assert.deepEqual(weights(c), ['tcp 10.99.1.100:80: rs1=3 rs2=0', 'udp 10.99.1.100:5353: rs1=1 rs2=0']);
    assert.equal(c.ipvs.sysctl?.expire_quiescent_template, 1);
    // The inventory's cluster is not modified.
    assert.deepEqual(weights(nat), ['tcp 10.99.1.100:80: rs1=3 rs2=1', 'udp 10.99.1.100:5353: rs1=1 rs2=1']);
    assert.equal(nat.ipvs.sysctl?.expire_quiescent_template, undefined);
  });
  it('remove: the host is left out of every service; the others stay', () => {
    const c = drainedCluster(dr, { rs2: 'remove' });
    assert.deepEqual(weights(c), ['tcp 10.99.2.100:80: rs1=1', 'tcp 10.99.2.100:443: rs1=1']);
    assert.equal(c.ipvs.sysctl?.expire_quiescent_template, 1);
    const both = drainedCluster(dr, { rs1: 'quiesce', rs2: 'remove' });
    assert.deepEqual(weights(both), ['tcp 10.99.2.100:80: rs1=0', 'tcp 10.99.2.100:443: rs1=0']);
  });
  it('nothing drained: the cluster itself (no expire_quiescent_template)', () => {
    assert.equal(drainedCluster(dr, {}), dr);
  });
  it('keeps expire_quiescent_template when the inventory sets it (0 stays 0), and the other IPVS sysctls', () => {
    const text = `cluster: t\nmode: dr\nvars: { interface: eth0 }\nhosts:\n  d: { address: 10.0.0.2 }\n  r1: { address: 10.0.0.3 }\n  r2: { address: 10.0.0.4 }\ndirectors: { hosts: [d] }\nipvs: { sysctl: { expire_quiescent_template: 0, expire_nodest_conn: 1 } }\nvips:\n  - { address: 10.0.0.100, interface: eth0, services: [{ port: 80, real_servers: [{ host: r1 }, { host: r2 }] }] }\n`;
    const c = loadInventory('x.yaml', { text }).cluster;
    const d = drainedCluster(c, { r1: 'quiesce' });
    assert.deepEqual(d.ipvs.sysctl, { expire_quiescent_template: 0, expire_nodest_conn: 1 });
    assert.deepEqual(drainedCluster(dr, { rs1: 'quiesce' }).ipvs.sysctl, { expire_quiescent_template: 1 });
  });
});

describe('intent: stoppedHost and nothing', () => {
  it('a NAT director keeps its DIP but drops the VIP; keepalived off; sysctls, modules and packages stay', () => {
    const d = desiredHost(nat, 'dir1');
    assert.deepEqual(
      d.addresses.map((a) => `${a.address}/${a.prefix} ${a.dev}`),
      ['10.99.1.100/24 eth0', '10.99.2.1/24 eth1'],
    );
    const s = stoppedHost(d, nat);
    assert.deepEqual(s.addresses, [{ address: '10.99.2.1', prefix: 24, dev: 'eth1' }]);
    assert.equal(s.keepalived, false);
    assert.deepEqual({ ...s, addresses: d.addresses }, { ...d, keepalived: false });
  });
  it('a keepalived director: keepalived false, and not started at boot either; nothing: no say on boot', () => {
    const d = desiredHost(ha, 'dir1');
    assert.equal(d.keepalived, true);
    assert.equal(d.keepalivedBoot, true);
    assert.equal(stoppedHost(d, ha).keepalived, false);
    assert.equal(stoppedHost(d, ha).keepalivedBoot, false);
    assert.equal('keepalivedBoot' in nothing(d), false);
    assert.equal('keepalivedBoot' in stoppedHost(desiredHost(nat, 'dir1'), nat), false, 'no keepalived role: no say');
  });
  it('real servers drop their VIPs (DR on lo:0, TUN on tunl0) and keep ARP/rp_filter sysctls and links', () => {
    const d = desiredHost(dr, 'rs1');
    assert.deepEqual(
      d.addresses.map((a) => a.address),
      ['10.99.2.100'],
    );
    const s = stoppedHost(d, dr);
    assert.deepEqual(s.addresses, []);
    assert.deepEqual(s.sysctl, d.sysctl);
    assert.equal(s.sysctl['net.ipv4.conf.all.arp_ignore'], '1');
    const t = desiredHost(tun, 'rs1');
    assert.ok(t.addresses.some((a) => a.dev === 'tunl0'));
    const ts = stoppedHost(t, tun);
    assert.deepEqual(ts.addresses, []);
    assert.deepEqual(ts.links, ['tunl0']);
    assert.deepEqual(ts.modules, t.modules);
  });
  it('nothing: no packages, modules, sysctls, addresses, links, route or keepalived; name and roles kept', () => {
    const d = desiredHost(nat, 'rs1');
    assert.ok(d.route);
    assert.deepEqual(nothing(d), {
      name: 'rs1',
      roles: ['real_server'],
      packages: [],
      modules: [],
      sysctl: {},
      addresses: [],
      links: [],
      keepalived: false,
      route: undefined,
    });
    assert.deepEqual(nothing(desiredHost(ha, 'dir2')), {
      name: 'dir2',
      roles: ['director'],
      packages: [],
      modules: [],
      sysctl: {},
      addresses: [],
      links: [],
      keepalived: false,
      route: undefined,
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('render with drains', () => {
  const file = (c: Cluster, host: string, path: string, secrets: Secrets = {}) =>
    renderHost(c, host, secrets).find((f) => f.path === path)?.content ?? '';
  const RULES = '/etc/lvsctl/ipvs.rules';
  it("dr, rs2 quiesced: ipvs.rules has -w 0 on rs2's lines only; every other line is as in the inventory", () => {
    const before = file(dr, 'dir1', RULES).trimEnd().split('\n');
    const after = file(drainedCluster(dr, { rs2: 'quiesce' }), 'dir1', RULES)
      .trimEnd()
      .split('\n');
    assert.equal(after.length, before.length);
    const rs2 = after.filter((l) => l.includes(' -r 10.99.2.12:'));
    assert.deepEqual(rs2, [
      '-a -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 0',
      '-a -t 10.99.2.100:443 -r 10.99.2.12:443 -g -w 0',
    ]);
    assert.deepEqual(
      after.filter((l) => / -w 0\b/.test(l)),
      rs2,
    );
    assert.deepEqual(
      after.filter((l) => !l.includes(' -r 10.99.2.12:')),
      before.filter((l) => !l.includes(' -r 10.99.2.12:')),
    );
    assert.ok(after.includes('-a -t 10.99.2.100:80 -r 10.99.2.11:80 -g -w 1'));
  });
  it('dr, rs2 quiesced: the boot-time sysctls carry expire_quiescent_template = 1 (and not without a drain)', () => {
    const SYSCTL = '/etc/sysctl.d/90-lvsctl.conf';
    assert.match(
      file(drainedCluster(dr, { rs2: 'quiesce' }), 'dir1', SYSCTL),
      /^net\.ipv4\.vs\.expire_quiescent_template = 1$/m,
    );
    assert.doesNotMatch(file(dr, 'dir1', SYSCTL), /expire_quiescent_template/);
  });
  it('dr, rs2 removed: rs2 is absent from ipvs.rules, the services and rs1 stay', () => {
    const rules = file(drainedCluster(dr, { rs2: 'remove' }), 'dir1', RULES);
    assert.doesNotMatch(rules, /10\.99\.2\.12/);
    assert.equal(
      rules,
      '-A -t 10.99.2.100:80 -s rr\n-a -t 10.99.2.100:80 -r 10.99.2.11:80 -g -w 1\n-A -t 10.99.2.100:443 -s wlc\n-a -t 10.99.2.100:443 -r 10.99.2.11:443 -g -w 1\n',
    );
  });

  // real_server blocks of keepalived.conf: address -> the block's text.
  const realServers = (conf: string) =>
    new Map(
      [...conf.matchAll(/^ {4}real_server (\S+) (\d+) \{\n([\s\S]*?)^ {4}\}\n/gm)].map((m) => [
        `${m[1]}:${m[2]}`,
        m[3]!,
      ]),
    );
  const KA = '/etc/keepalived/keepalived.conf';
  const haSecrets = labHa.secrets;
  for (const host of ['dir1', 'dir2']) {
    it(`keepalived pair (${host}), rs2 quiesced: weight 0 in rs2's real_server block only; removed: no rs2 block`, () => {
      const plain = realServers(file(ha, host, KA, haSecrets));
      assert.deepEqual([...plain.keys()], ['10.99.2.11:80', '10.99.2.12:80']);
      const q = realServers(file(drainedCluster(ha, { rs2: 'quiesce' }), host, KA, haSecrets));
      assert.match(q.get('10.99.2.12:80')!, /^ {8}weight 0$/m);
      assert.match(q.get('10.99.2.11:80')!, /^ {8}weight 1$/m);
      assert.equal(q.get('10.99.2.11:80'), plain.get('10.99.2.11:80'));
      assert.equal(q.get('10.99.2.12:80'), plain.get('10.99.2.12:80')!.replace(/^( {8}weight) 1$/m, '$1 0'));
      const r = realServers(file(drainedCluster(ha, { rs2: 'remove' }), host, KA, haSecrets));
      assert.deepEqual([...r.keys()], ['10.99.2.11:80']);
      assert.equal(r.get('10.99.2.11:80'), plain.get('10.99.2.11:80'));
    });
  }

  // keepalived -t needs the config's interfaces, so it runs in a throw-away network namespace
  // (as in test/tools/render-tools.test.ts); skipped without root or keepalived.
  const have = (t: string) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0;
  let skip: string | false = false;
  if (!have('keepalived') || !have('ip')) skip = 'keepalived or ip not installed';
  else if (process.getuid?.() !== 0) skip = 'needs root for ip netns';
  it(
    'keepalived -t accepts the config with weight 0 (and rejects a negative weight: the check can fail)',
    { skip },
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'lvsctl-lifecycle-'));
      const ns = `lvsctl-l${process.pid}`;
      try {
        assert.equal(spawnSync('ip', ['netns', 'add', ns]).status, 0, 'ip netns add');
        // lab-ha uses eth0 (VRRP, VIP) and eth1 (DIP, sync daemon): one veth pair.
        assert.equal(
          spawnSync('ip', ['-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']).status,
          0,
        );
        const conf = file(drainedCluster(ha, { rs2: 'quiesce' }), 'dir1', KA, haSecrets);
        const check = (content: string) => {
          const f = join(dir, `k${Math.random().toString(36).slice(2)}.conf`);
          writeFileSync(f, content, { mode: 0o600 }); // not executable: keepalived would skip it
          return spawnSync('ip', ['netns', 'exec', ns, 'keepalived', '-t', '-l', '-f', f], {
            encoding: 'utf8',
            timeout: 30_000,
          });
        };
        const ok = check(conf);
        assert.equal(ok.status, 0, `${ok.stdout}${ok.stderr}`);
        const bad = check(conf.replace(/^( {8}weight) 0$/m, '$1 -1'));
        assert.notEqual(bad.status, 0, 'a negative weight must fail keepalived -t');
      } finally {
        spawnSync('ip', ['netns', 'del', ns]);
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------

describe('planHost: owned packages', () => {
  it('the install change records what it installs in owned.packages', () => {
    const p = hostRun(nat, 'dir1', bare(nat, 'dir1')).plan;
    assert.ok(texts(p).includes('install packages: ipvsadm (apt-get)'));
    assert.deepEqual(stateOf(p.changes[0]).owned.packages, ['ipvsadm']);
    const k = hostRun(ha, 'dir1', bare(ha, 'dir1')).plan;
    assert.ok(texts(k).includes('install packages: ipvsadm keepalived (apt-get)'));
    assert.deepEqual(stateOf(k.changes[0]).owned.packages, ['ipvsadm', 'keepalived']);
  });
  it('a package that was already installed is not owned (down --purge leaves it)', () => {
    const p = hostRun(ha, 'dir1', { ...bare(ha, 'dir1'), packages: ['keepalived'] }).plan;
    assert.ok(texts(p).includes('install packages: ipvsadm (apt-get)'));
    assert.deepEqual(stateOf(p.changes[0]).owned.packages, ['ipvsadm']);
    const none = hostRun(nat, 'dir1', { ...bare(nat, 'dir1'), packages: ['ipvsadm'] }).plan;
    assert.ok(!none.changes.some((c) => c.kind === 'packages'));
    assert.deepEqual(stateOf(none.changes[0]).owned.packages, []);
  });
  it('owned packages stay recorded on later runs (installed now, so not missing)', () => {
    const up = upHost(nat, 'dir1');
    assert.deepEqual(parseState(up.state!).owned.packages, ['ipvsadm']);
    assert.ok(up.packages!.includes('ipvsadm'));
    assert.deepEqual(hostRun(nat, 'dir1', up).plan.changes, []);
  });
});

describe('planHost: record (stopped, drained in the state file)', () => {
  it('first run: the state written before any change carries the record', () => {
    const p = planHost({
      desired: desiredHost(dr, 'rs1'),
      files: [],
      facts: parseFacts(factsText()),
      record: { stopped: true, drained: { rs2: 'quiesce' } },
    });
    const st = stateOf(p.changes[0]);
    assert.equal(st.stopped, true);
    assert.deepEqual(st.drained, { rs2: 'quiesce' });
  });
  it('a converged host: recording stopped is one state change; recording it again is none', () => {
    const up = upHost(dr, 'rs1');
    const d = desiredHost(dr, 'rs1');
    const files = renderedFiles(dr, 'rs1', {});
    const plan = (o: FactsOptions, record: { stopped: boolean; drained: Record<string, 'quiesce' | 'remove'> }) =>
      planHost({ desired: d, files, facts: parseFacts(factsText(o)), bootLinks: BOOT_LINKS, record });
    assert.deepEqual(plan(up, { stopped: false, drained: {} }).changes, []);
    const p = plan(up, { stopped: true, drained: {} });
    assert.deepEqual(
      p.changes.map((c) => c.kind),
      ['state'],
    );
    assert.equal(stateOf(p.changes[0]).stopped, true);
    const recorded = applied(up, p.changes);
    assert.deepEqual(plan(recorded, { stopped: true, drained: {} }).changes, []);
    // Clearing it is again one state change, and the state is then as before.
    const cleared = plan(recorded, { stopped: false, drained: {} });
    assert.deepEqual(
      cleared.changes.map((c) => c.kind),
      ['state'],
    );
    assert.equal((cleared.changes[0] as { content: string }).content, up.state);
  });
  it('drained: written when it changes (undrain removes the key), unchanged record: no change', () => {
    const up = upHost(dr, 'rs1');
    const d = desiredHost(dr, 'rs1');
    const files = renderedFiles(dr, 'rs1', {});
    const plan = (o: FactsOptions, drained: Record<string, 'quiesce' | 'remove'>) =>
      planHost({
        desired: d,
        files,
        facts: parseFacts(factsText(o)),
        bootLinks: BOOT_LINKS,
        record: { stopped: false, drained },
      });
    const p = plan(up, { rs2: 'remove' });
    assert.deepEqual(stateOf(p.changes[0]).drained, { rs2: 'remove' });
    const recorded = applied(up, p.changes);
    assert.deepEqual(plan(recorded, { rs2: 'remove' }).changes, []);
    const u = plan(recorded, {});
    assert.equal(stateOf(u.changes[0]).drained, undefined);
    assert.doesNotMatch((u.changes[0] as { content: string }).content, /drained/);
  });
});

describe('planHost: forget (down)', () => {
  // A NAT director as `up` left it, described by hand: every kind of thing the state records.
  const state = JSON.stringify({
    version: 1,
    originals: {
      sysctl: {
        'net.ipv4.ip_forward': '0',
        'net.ipv4.conf.all.send_redirects': '1',
        'net.ipv4.conf.eth1.send_redirects': '1',
      },
      ipvsTimeouts: [900, 120, 300],
    },
    owned: {
      addresses: ['10.99.1.100/24 eth0', '10.99.2.1/24 eth1'],
      links: [],
      files: [
        '/etc/lvsctl/ipvs.rules',
        '/etc/lvsctl/iptables.rules',
        '/usr/local/sbin/lvsctl-director',
        '/etc/init.d/lvsctl',
        '/etc/rc2.d/S01lvsctl',
      ],
      ipvs: ['tcp 10.99.1.100:80', 'udp 10.99.1.100:5353'],
      packages: ['ipvsadm', 'keepalived'],
    },
  });
  const sn = [
    '-A -t 10.99.1.100:80 -s wrr',
    '-a -t 10.99.1.100:80 -r 10.99.2.11:8080 -m -w 3',
    '-A -t 10.99.1.100:8443 -s rr',
    '-A -u 10.99.1.100:5353 -s rr',
    '-a -u 10.99.1.100:5353 -r 10.99.2.11:5353 -m -w 1',
  ];
  const dirFacts: FactsOptions = {
    links: ['lo', 'eth0', 'eth1', 'mgmt0'],
    sysctl: {
      'net/ipv4/ip_forward': '1',
      'net/ipv4/conf/all/send_redirects': '0',
      'net/ipv4/conf/eth1/send_redirects': '0',
    },
    addr: [
      addrLine({ address: '10.99.1.100', prefix: 24, dev: 'eth0' }),
      addrLine({ address: '10.99.2.1', prefix: 24, dev: 'eth1' }, 10),
    ],
    loaded: ['ip_vs', 'ip_vs_wrr', 'ip_vs_rr'],
    packages: ['ipvsadm', 'curl'], // curl: installed, not owned; keepalived: owned, not installed (any more)
    files: [
      `644 root root ${OTHER_SHA} /etc/lvsctl/ipvs.rules`,
      `644 root root ${OTHER_SHA} /etc/lvsctl/iptables.rules`,
      `755 root root ${OTHER_SHA} /usr/local/sbin/lvsctl-director`,
      `755 root root ${OTHER_SHA} /etc/init.d/lvsctl`,
    ],
    bootlinks: ['/etc/rc2.d/S01lvsctl ../init.d/lvsctl'],
    ipvs: [...sn, '@@timeouts 600 60 120'],
    iptables: [
      '*nat',
      ':LVSCTL - [0:0]',
      '-A POSTROUTING -j LVSCTL',
      '-A LVSCTL -s 10.99.2.0/24 ! -d 10.99.2.0/24 -j MASQUERADE',
    ],
    state,
  };
  const forget = (o: FactsOptions, purge: boolean, name = 'dir1', c: Cluster = nat) => {
    const facts = parseFacts(factsText(o));
    const live = facts.ipvs ? parseRules(facts.ipvs) : { services: [] };
    return planHost({
      desired: nothing(desiredHost(c, name)),
      files: [],
      facts,
      ipvs: ipvsDelta(live, { services: [] }, parseState(facts.state).owned.ipvs),
      forget: { purge },
    });
  };
  it('restores every recorded original, removes owned addresses, files, boot links, chains; deletes only owned IPVS services; ends by removing the state', () => {
    const p = forget(dirFacts, false);
    const t = texts(p);
    for (const x of [
      'restore net.ipv4.ip_forward: 1 -> 0',
      'restore net.ipv4.conf.all.send_redirects: 0 -> 1',
      'restore net.ipv4.conf.eth1.send_redirects: 0 -> 1',
      'remove address 10.99.1.100/24 dev eth0',
      'remove address 10.99.2.1/24 dev eth1',
      'remove /etc/lvsctl/ipvs.rules',
      'remove /etc/lvsctl/iptables.rules',
      'remove /usr/local/sbin/lvsctl-director',
      'remove /etc/init.d/lvsctl',
      'boot: remove /etc/rc2.d/S01lvsctl',
      'restore IPVS timeouts (tcp tcpfin udp): 600 60 120 -> 900 120 300',
      'iptables: remove chains and their jumps nat POSTROUTING -> LVSCTL',
    ])
      assert.ok(t.includes(x), `missing: ${x}\n${t.join('\n')}`);
    const ipvs = p.changes.filter((c) => c.kind === 'ipvs');
    assert.equal(ipvs.length, 1);
    // The service nobody recorded (tcp :8443) stays.
    assert.deepEqual((ipvs[0] as { lines: string[] }).lines.sort(), ['-D -t 10.99.1.100:80', '-D -u 10.99.1.100:5353']);
    assert.deepEqual(p.changes.at(-1), { kind: 'state', phase: 'remove', content: '' });
    assert.equal(p.changes.filter((c) => c.kind === 'state').length, 1, 'no state is written on the way down');
    assert.ok(!p.changes.some((c) => c.kind === 'packages'), 'packages stay without --purge');
    assert.ok(!p.changes.some((c) => c.kind === 'module'));
    // Nothing the state does not name: the eth0 address and the lo/default sysctls stay.
    assert.equal(t.filter((x) => x.startsWith('restore net.')).length, 3);
    assert.equal(t.filter((x) => x.startsWith('remove address')).length, 2);
  });
  it('--purge: one packages change purging exactly the owned packages that are installed', () => {
    const p = forget(dirFacts, true);
    const pk = p.changes.filter((c) => c.kind === 'packages');
    assert.deepEqual(pk, [{ kind: 'packages', action: 'purge', manager: 'apt-get', packages: ['ipvsadm'] }]);
    assert.deepEqual(p.changes.at(-1), { kind: 'state', phase: 'remove', content: '' });
    // Nothing owned is installed: no packages change even with --purge.
    assert.ok(!forget({ ...dirFacts, packages: ['curl'] }, true).changes.some((c) => c.kind === 'packages'));
  });
  it('a NAT real server: the recorded default route comes back', () => {
    const rsState = JSON.stringify({
      version: 1,
      originals: { sysctl: {}, defaultRoute: 'default via 10.99.2.254 dev eth0' },
      owned: { addresses: [], links: [], files: ['/usr/local/sbin/lvsctl-realserver'], ipvs: [], packages: [] },
    });
    const p = forget(
      {
        route: 'default via 10.99.2.1 dev eth0 ',
        files: [`755 root root ${OTHER_SHA} /usr/local/sbin/lvsctl-realserver`],
        state: rsState,
      },
      true,
      'rs1',
    );
    assert.deepEqual(texts(p).slice(0, -1).sort(), [
      'remove /usr/local/sbin/lvsctl-realserver',
      'restore default route: default via 10.99.2.1 dev eth0 -> default via 10.99.2.254 dev eth0',
    ]);
    assert.deepEqual(p.changes.at(-1), { kind: 'state', phase: 'remove', content: '' });
  });
  it('a keepalived director: keepalived lvsctl configured is stopped', () => {
    const kaState = JSON.stringify({
      version: 1,
      originals: { sysctl: {} },
      owned: {
        addresses: [],
        links: [],
        files: ['/etc/keepalived/keepalived.conf'],
        ipvs: [],
        packages: ['keepalived'],
      },
    });
    const p = forget(
      {
        links: ['lo', 'eth0', 'eth1'],
        keepalived: ['77'],
        packages: ['keepalived'],
        files: [`600 root root ${OTHER_SHA} /etc/keepalived/keepalived.conf`],
        state: kaState,
      },
      true,
      'dir1',
      ha,
    );
    const t = texts(p);
    assert.ok(t.includes('stop keepalived'));
    assert.ok(t.includes('remove /etc/keepalived/keepalived.conf'));
    assert.ok(
      t.indexOf('stop keepalived') < t.indexOf('purge packages: keepalived (apt-get)'),
      'keepalived is stopped before its package goes',
    );
  });
  it('a host without a state file: zero changes, with or without --purge (even with packages installed)', () => {
    for (const purge of [false, true]) {
      assert.deepEqual(forget({ ...bare(nat, 'dir1'), packages: ['ipvsadm', 'keepalived'] }, purge).changes, []);
      assert.deepEqual(forget({}, purge, 'rs1').changes, []);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('life cycle on fake hosts (planner + fake apply)', () => {
  const cases: [Cluster, string][] = [
    [nat, 'dir1'],
    [nat, 'rs1'],
    [dr, 'dir1'],
    [dr, 'rs2'],
    [tun, 'rs1'],
    [ha, 'dir1'],
    [ha, 'dir2'],
    [nat, 'client'],
  ];
  /** What `down` must give back: the pre-up snapshot apart from packages (and modules, never unloaded). */
  const snapshot = (o: FactsOptions) => {
    const f = parseFacts(factsText(o));
    const byKey = <T>(xs: T[], key: (x: T) => string) => [...xs].sort((a, b) => key(a).localeCompare(key(b)));
    return {
      addresses: byKey(f.addresses, (a) => `${a.dev} ${a.address}`),
      route: f.defaultRoute4,
      files: byKey(
        [...f.files].filter(([, v]) => v),
        ([k]) => k,
      ),
      bootLinks: byKey(
        [...f.bootLinks].filter(([, v]) => v !== '-'),
        ([k]) => k,
      ),
      ipvs: f.ipvs ? parseRules(f.ipvs).services : [],
      timeouts: f.ipvsTimeouts ?? [900, 120, 300],
      netfilter: f.netfilter,
      keepalived: f.keepalivedPids,
      links: [...f.links].filter(([k]) => k !== 'tunl0'),
      state: f.state,
    };
  };
  for (const [c, h] of cases) {
    it(`${c.name} ${h}: up, then down gives back the pre-up host (sysctls as they were); a second down changes nothing; --purge removes what up installed`, () => {
      const pre = bare(c, h);
      const up = upHost(c, h, pre);
      assert.notEqual(up.state, undefined);
      const down = step(c, h, up, { kind: 'down', purge: false });
      assert.equal(down.run.plan.changes.at(-1)?.kind, 'state');
      assert.deepEqual(snapshot(down.next), snapshot(pre));
      const preSysctl = parseFacts(factsText(pre)).sysctl;
      const postSysctl = parseFacts(factsText(down.next)).sysctl;
      for (const [k, v] of preSysctl) assert.equal(postSysctl.get(k), v, k);
      // Keys that appeared with ip_vs/ipip hold what the state recorded as their originals (kernel defaults).
      const rec = parseState(up.state!).originals.sysctl;
      for (const [k, v] of postSysctl) if (!preSysctl.has(k)) assert.equal(v, rec[k], k);
      assert.deepEqual(down.next.packages ?? [], up.packages ?? [], 'packages stay without --purge');
      assert.deepEqual(hostRun(c, h, down.next, { kind: 'down', purge: false }).plan.changes, []);
      assert.deepEqual(
        hostRun(c, h, down.next, { kind: 'down', purge: true }).plan.changes,
        [],
        'the owned packages were forgotten with the state',
      );
      // With --purge straight from up: exactly what up installed goes.
      const purged = step(c, h, up, { kind: 'down', purge: true });
      const installed = (up.packages ?? []).filter((p) => !(pre.packages ?? []).includes(p));
      assert.deepEqual(
        purged.run.plan.changes
          .filter((x) => x.kind === 'packages')
          .flatMap((x) => (x as { packages: string[] }).packages),
        installed,
      );
      assert.deepEqual(purged.next.packages ?? [], pre.packages ?? []);
    });
  }

  it('tun real server: down removes the VIP from tunl0 before the link goes down (IPv6 addresses leave with a link)', () => {
    const changes = step(tun, 'rs1', upHost(tun, 'rs1'), { kind: 'down', purge: false }).run.plan.changes;
    const at = (k: string) => changes.findIndex((c) => c.kind === k && JSON.stringify(c).includes('"tunl0"'));
    assert.ok(at('address') >= 0 && at('link') >= 0, JSON.stringify(changes));
    assert.ok(at('address') < at('link'), 'address removal first');
  });
  it('nat: stop releases the VIP and clears the rules (DIP, files, sysctls, boot path kept); stop again: nothing; start returns exactly to up', () => {
    const up = upHost(nat, 'dir1');
    const stop = step(nat, 'dir1', up, { kind: 'stop' });
    const t = texts(stop.run.plan);
    assert.ok(t.includes('remove address 10.99.1.100/24 dev eth0'), t.join('\n'));
    assert.ok(!t.some((x) => x.includes('10.99.2.1/24')), 'the DIP stays');
    assert.ok(
      !t.some((x) => /^remove \/|^restore |^boot: remove/.test(x)),
      `nothing installed is removed: ${t.join('\n')}`,
    );
    assert.ok(
      stop.run.plan.changes.some(
        (c) => c.kind === 'ipvs' && c.lines.sort().join() === '-D -t 10.99.1.100:80,-D -u 10.99.1.100:5353',
      ),
    );
    assert.equal(parseState(stop.next.state!).stopped, true);
    assert.deepEqual(parseRules(parseFacts(factsText(stop.next)).ipvs ?? '').services, []);
    assert.deepEqual(hostRun(nat, 'dir1', stop.next, { kind: 'stop' }).plan.changes, [], 'stop is idempotent');
    assert.deepEqual(
      hostRun(nat, 'dir1', stop.next, { kind: 'status' }).plan.changes,
      [],
      'a stopped host is no drift',
    );
    const start = step(nat, 'dir1', stop.next, { kind: 'up' });
    assert.deepEqual(snapshot(start.next), snapshot(up));
    assert.deepEqual(parseFacts(factsText(start.next)).sysctl, parseFacts(factsText(up)).sysctl);
    assert.equal(start.next.state, up.state);
    assert.deepEqual(hostRun(nat, 'dir1', start.next, { kind: 'up' }).plan.changes, [], 'start is idempotent');
  });
  it('dr real server: stop removes the lo:0 VIP and keeps arp_ignore/arp_announce; start puts it back', () => {
    const up = upHost(dr, 'rs1');
    const stop = step(dr, 'rs1', up, { kind: 'stop' });
    assert.deepEqual(
      texts(stop.run.plan).filter((x) => !x.startsWith('record ')),
      ['remove address 10.99.2.100/32 dev lo label lo:0'],
    );
    assert.equal(parseFacts(factsText(stop.next)).sysctl.get('net.ipv4.conf.all.arp_ignore'), '1');
    const start = step(dr, 'rs1', stop.next);
    assert.deepEqual(
      texts(start.run.plan).filter((x) => !x.startsWith('record ')),
      ['add address 10.99.2.100/32 dev lo label lo:0'],
    );
    assert.deepEqual(snapshot(start.next), snapshot(up));
  });
  it('keepalived pair: stop stops keepalived and disables it at boot (config kept), start starts and enables it', () => {
    const up = upHost(ha, 'dir1');
    assert.equal(up.keepalivedBoot, 'enabled');
    const stop = step(ha, 'dir1', up, { kind: 'stop' });
    assert.deepEqual(
      stop.run.plan.changes.filter((c) => c.kind !== 'state'),
      [
        { kind: 'keepalived-boot', enable: false, from: 'enabled', restore: false },
        { kind: 'keepalived', action: 'stop' },
      ],
    );
    assert.equal(parseState(stop.next.state!).originals.keepalivedBoot, 'enabled', 'the value before the first change');
    assert.deepEqual(hostRun(ha, 'dir1', stop.next, { kind: 'stop' }).plan.changes, [], 'stop is idempotent');
    // someone enables it again by hand: status calls it drift
    const status = hostRun(
      ha,
      'dir1',
      { ...stop.next, keepalivedBoot: 'enabled' },
      { kind: 'status' },
    ).plan.changes.filter((c) => c.kind !== 'state');
    assert.deepEqual(texts({ host: 'dir1', changes: status }), ['set keepalived at boot: enabled -> disabled']);
    const start = step(ha, 'dir1', stop.next);
    assert.deepEqual(
      start.run.plan.changes.filter((c) => c.kind !== 'state'),
      [
        { kind: 'keepalived', action: 'start' },
        { kind: 'keepalived-boot', enable: true, from: 'disabled', restore: false },
      ],
    );
    assert.equal(start.next.keepalivedBoot, 'enabled');
    assert.deepEqual(hostRun(ha, 'dir1', start.next, { kind: 'up' }).plan.changes, [], 'start is idempotent');
  });
  it('keepalived pair: down after stop enables keepalived at boot again, as it was; down of a running pair leaves boot alone', () => {
    const stop = step(ha, 'dir1', upHost(ha, 'dir1'), { kind: 'stop' });
    const down = step(ha, 'dir1', stop.next, { kind: 'down', purge: false });
    assert.ok(down.run.plan.changes.some((c) => c.kind === 'keepalived-boot' && c.enable && c.restore));
    assert.equal(down.next.keepalivedBoot, 'enabled');
    assert.equal(down.next.state, undefined);
    const down2 = step(ha, 'dir1', upHost(ha, 'dir1'), { kind: 'down', purge: false });
    assert.equal(
      down2.run.plan.changes.some((c) => c.kind === 'keepalived-boot'),
      false,
    );
  });
  it("keepalived installed but disabled at boot (RHEL's default): up enables it, down disables it again", () => {
    const pre = { ...bare(ha, 'dir1'), packages: ['ipvsadm', 'keepalived'], keepalivedBoot: 'disabled' };
    const up = step(ha, 'dir1', pre);
    assert.ok(up.run.plan.changes.some((c) => c.kind === 'keepalived-boot' && c.enable && !c.restore));
    assert.equal(parseState(up.next.state!).originals.keepalivedBoot, 'disabled');
    const down = step(ha, 'dir1', up.next, { kind: 'down', purge: false });
    assert.equal(down.next.keepalivedBoot, 'disabled');
  });
  it('a stopped host goes down cleanly too (down after stop)', () => {
    const stop = step(nat, 'dir1', upHost(nat, 'dir1'), { kind: 'stop' });
    const down = step(nat, 'dir1', stop.next, { kind: 'down', purge: false });
    assert.deepEqual(snapshot(down.next), snapshot(bare(nat, 'dir1')));
  });

  it('dr: drain rs2 sets weight 0 live and in ipvs.rules and expire_quiescent_template=1; status and up keep it; undrain restores weight and sysctl', () => {
    const up = upHost(dr, 'dir1');
    const drain = step(dr, 'dir1', up, { kind: 'drain', host: 'rs2', remove: false });
    const ipvs = drain.run.plan.changes.find((c) => c.kind === 'ipvs') as { lines: string[] };
    assert.deepEqual(ipvs.lines.sort(), [
      '-e -t 10.99.2.100:443 -r 10.99.2.12:443 -g -w 0',
      '-e -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 0',
    ]);
    const t = texts(drain.run.plan);
    assert.ok(t.includes('update /etc/lvsctl/ipvs.rules (mode 0644)'), t.join('\n'));
    assert.ok(t.includes('set net.ipv4.vs.expire_quiescent_template: (absent) -> 1'), t.join('\n'));
    assert.deepEqual(parseState(drain.next.state!).drained, { rs2: 'quiesce' });
    assert.equal(parseState(drain.next.state!).originals.sysctl['net.ipv4.vs.expire_quiescent_template'], '0');
    for (const intent of [
      { kind: 'status' },
      { kind: 'up' },
      { kind: 'drain', host: 'rs2', remove: false },
    ] as Intent[])
      assert.deepEqual(texts(hostRun(dr, 'dir1', drain.next, intent).plan), [], intent.kind);

    const removed = step(dr, 'dir1', drain.next, { kind: 'drain', host: 'rs2', remove: true });
    const rl = (removed.run.plan.changes.find((c) => c.kind === 'ipvs') as { lines: string[] }).lines.sort();
    assert.deepEqual(rl, ['-d -t 10.99.2.100:443 -r 10.99.2.12:443', '-d -t 10.99.2.100:80 -r 10.99.2.12:80']);
    assert.deepEqual(parseState(removed.next.state!).drained, { rs2: 'remove' });

    const undrain = step(dr, 'dir1', removed.next, { kind: 'undrain', host: 'rs2' });
    const ul = (undrain.run.plan.changes.find((c) => c.kind === 'ipvs') as { lines: string[] }).lines.sort();
    assert.deepEqual(ul, [
      '-a -t 10.99.2.100:443 -r 10.99.2.12:443 -g -w 1',
      '-a -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 1',
    ]);
    assert.ok(texts(undrain.run.plan).includes('restore net.ipv4.vs.expire_quiescent_template: 1 -> 0'));
    assert.equal(parseState(undrain.next.state!).drained, undefined);
    assert.equal(undrain.next.state, up.state, 'undrain returns the state file to what up wrote');
    assert.deepEqual(snapshot(undrain.next), snapshot(up));
  });
  it("keepalived: drain changes keepalived.conf and reloads keepalived; no ipvsadm edit of keepalived's table", () => {
    const up = upHost(ha, 'dir1');
    const drain = step(ha, 'dir1', up, { kind: 'drain', host: 'rs2', remove: false });
    const kinds = drain.run.plan.changes.map((c) => c.kind);
    assert.ok(!kinds.includes('ipvs'));
    assert.ok(
      drain.run.plan.changes.some(
        (c) =>
          c.kind === 'file' &&
          c.action === 'update' &&
          c.file.path === '/etc/keepalived/keepalived.conf' &&
          /^\+ {8}weight 0$/m.test(c.diff),
      ),
    );
    assert.deepEqual(
      drain.run.plan.changes.filter((c) => c.kind === 'keepalived'),
      [{ kind: 'keepalived', action: 'reload' }],
    );
    assert.ok(kinds.indexOf('file') < kinds.indexOf('keepalived'));
  });
});

// ---------------------------------------------------------------------------------------------

describe('systemd boot unit: systemd is told what lvsctl did to lvsctl.service (planner + fake apply)', () => {
  const UNIT = MANAGED_PATHS.systemdUnit;
  const WANTS = BOOT_LINKS.systemd[0]!.path;
  /** A systemd host as bare() describes it: systemd has never seen lvsctl.service. */
  const sd = (c: Cluster, h: string): FactsOptions => ({
    ...bare(c, h),
    init: 'systemd',
    unit: { LoadState: 'not-found', ActiveState: 'inactive', NeedDaemonReload: 'no' },
  });
  /** After a reboot: the unit ran at boot (active, exited) from the file systemd read then; its
   * script made the host what it was (the fake changes nothing else). */
  const booted = (o: FactsOptions): FactsOptions => ({
    ...o,
    unit: { LoadState: 'loaded', ActiveState: 'active', NeedDaemonReload: 'no' },
  });
  const unitOf = (o: FactsOptions) => parseFacts(factsText(o)).bootUnit;
  const isReload = (c: Change) => c.kind === 'boot-unit' && c.action === 'reload';
  const isUnitStop = (c: Change) => c.kind === 'boot-unit' && c.action === 'stop';
  const isDeletion = (c: Change) => (c.kind === 'file' && c.action === 'delete') || c.kind === 'bootlink';
  const where = (p: HostPlan, pred: (c: Change) => boolean) => p.changes.flatMap((c, i) => (pred(c) ? [i] : []));
  const ofUnit = (c: Change) =>
    (c.kind === 'file' && (c.action === 'delete' ? c.path : c.file.path) === UNIT) ||
    (c.kind === 'bootlink' && c.path === WANTS);
  const notState = (p: HostPlan) => p.changes.filter((c) => c.kind !== 'state');

  it('up writes the unit and its wants link, then one daemon-reload after both; a second up plans nothing', () => {
    for (const [c, h] of [
      [nat, 'dir1'],
      [dr, 'rs1'],
    ] as const) {
      const first = step(c, h, sd(c, h));
      const p = first.run.plan;
      // new to systemd: reloaded only if systemd does not read the file when asked after the writes
      assert.deepEqual(p.changes.filter(isReload), [
        { kind: 'boot-unit', action: 'reload', forget: false, ifNeeded: true },
      ]);
      const [reload] = where(p, isReload);
      const unit = where(p, ofUnit);
      assert.equal(unit.length, 2, `the unit file and the wants link: ${texts(p).join('\n')}`);
      assert.ok(
        unit.every((i) => i < reload!),
        texts(p).join('\n'),
      );
      assert.ok(
        texts(p).includes('boot: systemctl daemon-reload if systemd does not read the new lvsctl.service by itself'),
      );
      assert.deepEqual(unitOf(first.next), { load: 'loaded', active: 'inactive', needReload: false });
      assert.deepEqual(texts(hostRun(c, h, first.next).plan), [], `${h}: a second up changes nothing`);
      assert.deepEqual(texts(hostRun(c, h, booted(first.next)).plan), [], `${h}: nor one after a reboot`);
    }
  });

  it('a unit file edited by hand is rewritten, then reloaded; a removed wants link likewise; a stale systemd (file changed, not reloaded): the reload alone', () => {
    const up = booted(upHost(nat, 'dir1', sd(nat, 'dir1')));
    const edited: FactsOptions = {
      ...up,
      files: up.files!.map((l) => (l.endsWith(` ${UNIT}`) ? l.replace(/[0-9a-f]{64}/, OTHER_SHA) : l)),
      unit: { ...up.unit!, NeedDaemonReload: 'yes' },
    };
    const fix = step(nat, 'dir1', edited);
    assert.deepEqual(texts({ host: 'dir1', changes: notState(fix.run.plan) }), [
      `update ${UNIT} (mode 0644)`,
      'boot: systemctl daemon-reload (systemd reads lvsctl.service again)',
    ]);
    assert.deepEqual(texts(hostRun(nat, 'dir1', fix.next).plan), []);
    const unlinked = step(nat, 'dir1', { ...up, bootlinks: [] });
    assert.deepEqual(notState(unlinked.run.plan), [
      { kind: 'bootlink', action: 'create', path: WANTS, target: UNIT },
      { kind: 'boot-unit', action: 'reload', forget: false },
    ]);
    const stale = hostRun(nat, 'dir1', { ...up, unit: { ...up.unit!, NeedDaemonReload: 'yes' } });
    assert.deepEqual(stale.plan.changes, [{ kind: 'boot-unit', action: 'reload', forget: false }]);
    // systemd looked for the unit before lvsctl wrote it (not-found), and was not told since
    const unseen = hostRun(nat, 'dir1', {
      ...up,
      unit: { ...up.unit!, LoadState: 'not-found', ActiveState: 'inactive' },
    });
    assert.deepEqual(unseen.plan.changes, [{ kind: 'boot-unit', action: 'reload', forget: false }]);
  });

  it('stop after a reboot: the teardown, then systemctl stop (inactive); stop again and status: nothing; start does not start the unit', () => {
    const up = booted(upHost(nat, 'dir1', sd(nat, 'dir1')));
    const stop = step(nat, 'dir1', up, { kind: 'stop' });
    const p = stop.run.plan;
    const [s] = where(p, isUnitStop);
    assert.ok(s !== undefined, texts(p).join('\n'));
    const teardown = where(p, (c) => c.kind !== 'state' && !isUnitStop(c));
    assert.ok(teardown.length >= 2, texts(p).join('\n'));
    assert.ok(
      teardown.every((i) => i < s),
      `the unit is stopped after lvsctl's own teardown:\n${texts(p).join('\n')}`,
    );
    assert.ok(!p.changes.some(isReload), 'no file changed: no reload');
    assert.ok(
      texts(p).includes(
        "boot: systemctl stop lvsctl.service (active -> inactive; the script's stop finds nothing left to undo)",
      ),
    );
    assert.equal(unitOf(stop.next)?.active, 'inactive');
    for (const intent of [{ kind: 'stop' }, { kind: 'status' }] as Intent[])
      assert.deepEqual(texts(hostRun(nat, 'dir1', stop.next, intent).plan), [], intent.kind);
    const start = step(nat, 'dir1', stop.next);
    assert.ok(!start.run.plan.changes.some((c) => c.kind === 'boot-unit'), texts(start.run.plan).join('\n'));
    assert.equal(unitOf(start.next)?.active, 'inactive');
    assert.deepEqual(texts(hostRun(nat, 'dir1', start.next).plan), [], 'start is idempotent');
  });

  it('a stopped host rebooted (the unit ran `boot`: active): status and start leave the unit alone, stop stops it', () => {
    const stopped = booted(step(nat, 'dir1', upHost(nat, 'dir1', sd(nat, 'dir1')), { kind: 'stop' }).next);
    assert.deepEqual(texts(hostRun(nat, 'dir1', stopped, { kind: 'status' }).plan), [], 'no drift');
    assert.ok(!hostRun(nat, 'dir1', stopped).plan.changes.some((c) => c.kind === 'boot-unit'));
    assert.deepEqual(hostRun(nat, 'dir1', stopped, { kind: 'stop' }).plan.changes, [
      { kind: 'boot-unit', action: 'stop', from: 'active' },
    ]);
  });

  it('down with the unit active: the teardown, systemctl stop, the deletions of script, unit and link, daemon-reload (forget), the state; a second down: nothing', () => {
    for (const [c, h] of [
      [nat, 'dir1'],
      [dr, 'rs1'],
      [tun, 'rs1'], // tunl0 goes down last of the removals, the unit's stop after it
      [ha, 'dir2'],
    ] as const) {
      const pre = sd(c, h);
      const up = booted(upHost(c, h, pre));
      const down = step(c, h, up, { kind: 'down', purge: true });
      const p = down.run.plan;
      const all = texts(p).join('\n');
      const [s] = where(p, isUnitStop);
      const [r] = where(p, isReload);
      assert.ok(s !== undefined && r !== undefined, all);
      assert.deepEqual(p.changes[r], { kind: 'boot-unit', action: 'reload', forget: true });
      const teardown = where(
        p,
        (x) => !isDeletion(x) && x.kind !== 'state' && x.kind !== 'boot-unit' && x.kind !== 'packages',
      );
      assert.ok(teardown.length > 0 && teardown.every((i) => i < s), `${h}: teardown before the stop\n${all}`);
      const deletions = where(p, isDeletion);
      const script = h.startsWith('dir') ? MANAGED_PATHS.directorScript : MANAGED_PATHS.realServerScript;
      for (const path of [script, UNIT, WANTS])
        assert.ok(
          p.changes.some((x) => isDeletion(x) && (x.kind === 'bootlink' || x.action === 'delete') && x.path === path),
          `${h}: ${path} deleted\n${all}`,
        );
      assert.ok(
        deletions.every((i) => s < i && i < r),
        `${h}: stop, then the deletions, then the reload\n${all}`,
      );
      assert.ok(
        where(p, (x) => x.kind === 'packages').every((i) => i > s),
        `${h}: packages purged after the stop`,
      );
      assert.equal(p.changes.at(-1)?.kind, 'state');
      assert.deepEqual(unitOf(down.next), { load: 'not-found', active: 'inactive', needReload: false });
      assert.deepEqual(hostRun(c, h, down.next, { kind: 'down', purge: false }).plan.changes, [], h);
    }
  });

  it('down of a unit that failed at boot: no stop; the reload resets it, systemd forgets it', () => {
    const up = upHost(dr, 'rs1', sd(dr, 'rs1'));
    const failed = { ...up, unit: { LoadState: 'loaded', ActiveState: 'failed', NeedDaemonReload: 'no' } };
    const down = step(dr, 'rs1', failed, { kind: 'down', purge: false });
    assert.ok(!down.run.plan.changes.some(isUnitStop));
    assert.deepEqual(down.run.plan.changes.filter(isReload), [{ kind: 'boot-unit', action: 'reload', forget: true }]);
    assert.deepEqual(unitOf(down.next), { load: 'not-found', active: 'inactive', needReload: false });
  });

  it('a host that has no boot script any more (it left its roles): stop, the deletions, the reload', () => {
    const up = booted(upHost(dr, 'rs1', sd(dr, 'rs1')));
    const p = planHost({
      desired: nothing(desiredHost(dr, 'rs1')),
      files: [],
      facts: parseFacts(factsText(up)),
      record: { stopped: false, drained: {} },
    });
    const kinds = notState(p).map((c) => (c.kind === 'boot-unit' ? `${c.kind} ${c.action}` : c.kind));
    assert.ok(kinds.includes('boot-unit stop') && kinds.at(-1) === 'boot-unit reload', kinds.join(' '));
    const [s] = where(p, isUnitStop);
    assert.ok(where(p, isDeletion).every((i) => i > s!) && where(p, isDeletion).length >= 3, texts(p).join('\n'));
  });

  it('SysV hosts, and systemd hosts without systemctl: none of it, through up, stop, start and down', () => {
    for (const init of ['sysv', 'systemd'] as const) {
      for (const [c, h] of [
        [nat, 'dir1'],
        [dr, 'rs1'],
      ] as const) {
        const pre: FactsOptions = { ...bare(c, h), init }; // no unit: systemctl printed nothing
        const plans: HostPlan[] = [];
        let o = pre;
        for (const intent of [
          { kind: 'up' },
          { kind: 'stop' },
          { kind: 'up' },
          { kind: 'down', purge: true },
        ] as Intent[]) {
          const s = step(c, h, o, intent);
          plans.push(s.run.plan);
          o = s.next;
        }
        const all = plans.flatMap((p) => p.changes);
        assert.ok(
          all.length > 10 && !all.some((x) => x.kind === 'boot-unit'),
          `${h}: ${texts({ host: h, changes: all }).join('\n')}`,
        );
        assert.equal(parseFacts(factsText(o)).bootUnit, null);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------

// `ipvsadm -Ln` lines, printed with the format strings of ipvsadm.c (print_title,
// print_service_entry, list_all): the header, "%s  %s" protocol and address for a service,
// "FWM  %d" / "FWM  %d IPv6" for fwmark services, then " %s" scheduler and flags, and for each
// destination "  -> %-28s %-7s %-6d %-10u %-10u" (trailing blanks included).
const HEADER = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
];
const dest = (addr: string, fwd: string, w: number, active: number, inact: number) =>
  `  -> ${addr.padEnd(28)} ${fwd.padEnd(7)} ${String(w).padEnd(6)} ${String(active).padEnd(10)} ${String(inact).padEnd(10)}`;

describe('ipvsadm -Ln: parseList and activeTo', () => {
  const sample =
    [
      ...HEADER,
      'TCP  10.99.1.100:80 wrr',
      dest('10.99.2.11:8080', 'Masq', 3, 12, 40),
      dest('10.99.2.12:8080', 'Masq', 0, 2, 7),
      'TCP  10.99.1.100:443 wlc persistent 300 mask 255.255.255.0',
      dest('10.99.2.12:443', 'Route', 1, 5, 0),
      'TCP  10.99.1.100:8080 rr',
      dest('10.99.2.12:8080', 'Masq', 1, 4, 1),
      'UDP  10.99.1.100:5353 rr',
      dest('10.99.2.11:5353', 'Masq', 1, 0, 3),
      dest('10.99.2.12:5353', 'Masq', 1, 0, 1),
      'TCP  10.99.1.100:8443 sh persistent 60',
      'FWM  7 sh',
      dest('10.99.2.11:0', 'Tunnel', 2, 1, 0),
      'FWM  8 IPv6 rr',
      dest('[fd00::11]:0', 'Route', 1, 0, 0),
      'TCP  [fd00::1]:53 rr persistent 300 mask 64',
      dest('[fd00::11]:53', 'Route', 1, 3, 0),
      dest('[fd00::12]:53', 'Local', 2, 0, 9),
      'UDP  [fd00::1]:53 rr',
      dest('[2001:db8:ffff:ffff:ffff:ffff:ffff:12]:53', 'Route', 65535, 1, 0),
    ].join('\n') + '\n';
  const list = parseList(sample);
  it('every service, by the keys table.ts uses; the header lines make none', () => {
    assert.deepEqual(
      [...list.keys()],
      [
        'tcp 10.99.1.100:80',
        'tcp 10.99.1.100:443',
        'tcp 10.99.1.100:8080',
        'udp 10.99.1.100:5353',
        'tcp 10.99.1.100:8443',
        'fwmark 7',
        'fwmark 8 ipv6',
        'tcp [fd00::1]:53',
        'udp [fd00::1]:53',
      ],
    );
    for (const dests of list.values()) assert.ok(!dests.has('RemoteAddress:Port'));
  });
  it('destinations with forwarding method, weight (0 included), active and inactive counts', () => {
    assert.deepEqual(Object.fromEntries(list.get('tcp 10.99.1.100:80')!), {
      '10.99.2.11:8080': { forward: 'Masq', weight: 3, active: 12, inactive: 40 },
      '10.99.2.12:8080': { forward: 'Masq', weight: 0, active: 2, inactive: 7 },
    });
    assert.deepEqual(list.get('tcp 10.99.1.100:443')!.get('10.99.2.12:443'), {
      forward: 'Route',
      weight: 1,
      active: 5,
      inactive: 0,
    });
    assert.deepEqual(list.get('fwmark 7')!.get('10.99.2.11:0'), {
      forward: 'Tunnel',
      weight: 2,
      active: 1,
      inactive: 0,
    });
    assert.deepEqual(list.get('fwmark 8 ipv6')!.get('[fd00::11]:0'), {
      forward: 'Route',
      weight: 1,
      active: 0,
      inactive: 0,
    });
    assert.deepEqual(list.get('tcp [fd00::1]:53')!.get('[fd00::12]:53'), {
      forward: 'Local',
      weight: 2,
      active: 0,
      inactive: 9,
    });
    assert.deepEqual(list.get('udp [fd00::1]:53')!.get('[2001:db8:ffff:ffff:ffff:ffff:ffff:12]:53'), {
      forward: 'Route',
      weight: 65535,
      active: 1,
      inactive: 0,
    });
    assert.equal(list.get('tcp 10.99.1.100:8443')!.size, 0, 'a service without destinations');
    assert.equal(list.get('udp 10.99.1.100:5353')!.size, 2);
  });
  it("activeTo sums one destination's active connections across services; unknown: 0", () => {
    assert.equal(activeTo(list, '10.99.2.12:8080'), 6); // :80 (2) and :8080 (4)
    assert.equal(activeTo(list, '10.99.2.11:8080'), 12);
    assert.equal(activeTo(list, '10.99.2.12:5353'), 0);
    assert.equal(activeTo(list, '[fd00::11]:53'), 3);
    assert.equal(activeTo(list, '10.99.2.99:80'), 0);
  });
  it('an empty table (only the header) and no text: no services', () => {
    assert.equal(parseList(HEADER.join('\n') + '\n').size, 0);
    assert.equal(parseList('').size, 0);
  });
  it("keys match the inventory's services (serviceKey of ipvsService) and destinations (hostPort) for lab-nat", () => {
    const text = [
      ...HEADER,
      'TCP  10.99.1.100:80 wrr',
      dest('10.99.2.11:8080', 'Masq', 3, 0, 0),
      dest('10.99.2.12:8080', 'Masq', 1, 0, 0),
      'UDP  10.99.1.100:5353 rr',
      dest('10.99.2.11:5353', 'Masq', 1, 0, 0),
      dest('10.99.2.12:5353', 'Masq', 1, 0, 0),
    ].join('\n');
    const l = parseList(text);
    for (const s of nat.services) {
      const live = l.get(serviceKey(ipvsService(nat, s)));
      assert.ok(live, s.id);
      for (const r of s.realServers)
        assert.equal(live.get(hostPort(r.address, r.port))?.weight, r.weight, `${s.id} ${r.host}`);
    }
  });
  it('through the facts: @@list lines of the ipvs section keep their leading blanks; -Sn and timeouts are apart', () => {
    const sn = ['-A -t 10.99.1.100:80 -s wrr', '-a -t 10.99.1.100:80 -r 10.99.2.11:8080 -m -w 3'];
    const f = parseFacts(
      factsText({
        ipvs: [
          ...sn,
          '@@timeouts 900 120 300',
          ...sample
            .trimEnd()
            .split('\n')
            .map((l) => `@@list ${l}`),
        ],
      }),
    );
    assert.equal(f.ipvs, sn.join('\n'));
    assert.deepEqual(f.ipvsTimeouts, [900, 120, 300]);
    assert.deepEqual(parseList(f.ipvsList!), list);
    assert.equal(parseFacts(factsText()).ipvsList, null);
  });
});

// ---------------------------------------------------------------------------------------------

describe('statusReport', () => {
  const result = (c: Cluster, host: string, o: FactsOptions, intent: Intent = { kind: 'status' }): HostResult => {
    const run = hostRun(c, host, o, intent);
    const n = run.plan.changes.length;
    return { host, status: n ? 'changed' : 'ok', changes: n, plan: run.plan, run };
  };
  const unreachable = (host: string): HostResult => ({
    host,
    status: 'unreachable',
    changes: 0,
    error: `${host}: connect ECONNREFUSED 127.0.0.1:22005`,
  });
  /** The -Ln lines of a director's facts (the facts script prefixes them with @@list). */
  const withList = (o: FactsOptions, lines: string[]): FactsOptions => ({
    ...o,
    ipvs: [
      ...(o.ipvs ?? []).filter((l) => !l.startsWith('@@list ')),
      ...[...HEADER, ...lines].map((l) => `@@list ${l}`),
    ],
  });
  const vip = (o: FactsOptions, address: string, dev = 'eth0'): FactsOptions => ({
    ...o,
    addr: [...(o.addr ?? []), addrLine({ address, prefix: 24, dev }, 11)],
  });
  const rsOf = (r: ReturnType<typeof statusReport>, service: string, director: string) =>
    Object.fromEntries(
      r.services.find((s) => s.service === service && s.director === director)!.realServers.map((x) => [x.host, x]),
    );

  // lab-dr after `up`, with live counters on dir1.
  const drUp = new Map(['client', 'dir1', 'rs1', 'rs2'].map((h) => [h, upHost(dr, h)]));
  const drList = [
    'TCP  10.99.2.100:80 rr',
    dest('10.99.2.11:80', 'Route', 1, 3, 10),
    dest('10.99.2.12:80', 'Route', 1, 2, 8),
    'TCP  10.99.2.100:443 wlc',
    dest('10.99.2.11:443', 'Route', 1, 0, 1),
    dest('10.99.2.12:443', 'Route', 1, 1, 0),
  ];
  const drResults = (edit: Partial<Record<string, (o: FactsOptions) => FactsOptions>> = {}) =>
    [...drUp].map(([h, o]) => result(dr, h, (edit[h] ?? ((x) => x))(h === 'dir1' ? withList(o, drList) : o)));

  it('after up: every host running, no drift, dir1 holds the VIP, counters and weights per real server', () => {
    const r = statusReport(dr, drResults());
    assert.equal(r.drift, false);
    assert.equal(r.failed, false);
    assert.deepEqual(
      r.hosts.map((h) => [h.host, h.state, h.drift.length]),
      [
        ['client', 'running', 0],
        ['dir1', 'running', 0],
        ['rs1', 'running', 0],
        ['rs2', 'running', 0],
      ],
    );
    assert.deepEqual(r.vips, [{ address: '10.99.2.100', interface: 'eth1', holders: ['dir1'] }]);
    assert.deepEqual(rsOf(r, 'tcp 10.99.2.100:80', 'dir1'), {
      rs1: {
        host: 'rs1',
        destination: '10.99.2.11:80',
        inventoryWeight: 1,
        weight: 1,
        active: 3,
        inactive: 10,
        health: 'serving',
      },
      rs2: {
        host: 'rs2',
        destination: '10.99.2.12:80',
        inventoryWeight: 1,
        weight: 1,
        active: 2,
        inactive: 8,
        health: 'serving',
      },
    });
    assert.equal(rsOf(r, 'tcp 10.99.2.100:443', 'dir1').rs2!.active, 1);
  });
  it("drift lists the plan's change descriptions (not its state changes) and sets drift: arp_ignore reset, lo:0 VIP removed, file edited", () => {
    const r = statusReport(
      dr,
      drResults({
        rs1: (o) => ({ ...o, sysctl: { ...o.sysctl, 'net/ipv4/conf/all/arp_ignore': '0' } }),
        rs2: (o) => ({
          ...o,
          addr: (o.addr ?? []).filter((l) => !l.includes('lo:0')),
          files: o.files!.map((l) =>
            l.endsWith('/usr/local/sbin/lvsctl-realserver') ? l.replace(/ [0-9a-f]{64} /, ` ${'0'.repeat(64)} `) : l,
          ),
        }),
      }),
    );
    assert.equal(r.drift, true);
    const by = Object.fromEntries(r.hosts.map((h) => [h.host, h.drift]));
    assert.deepEqual(by.rs1, ['set net.ipv4.conf.all.arp_ignore: 0 -> 1']);
    assert.deepEqual(by.rs2!.sort(), [
      'add address 10.99.2.100/32 dev lo label lo:0',
      'update /usr/local/sbin/lvsctl-realserver (mode 0755)',
    ]);
    assert.deepEqual(by.dir1, []);
  });
  it('ipvsadm -d of a real server on the director: drift on the director, health "missing"', () => {
    const r = statusReport(
      dr,
      drResults({
        dir1: (o) =>
          withList(
            { ...o, ipvs: o.ipvs!.filter((l) => l !== '-a -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 1') },
            drList.filter((l) => !l.includes('10.99.2.12:80')),
          ),
      }),
    );
    assert.equal(r.drift, true);
    assert.deepEqual(r.hosts.find((h) => h.host === 'dir1')!.drift, ['IPVS: 1 ipvsadm line (1 add server)']);
    const rs = rsOf(r, 'tcp 10.99.2.100:80', 'dir1');
    assert.equal(rs.rs2!.health, 'missing');
    assert.equal(rs.rs2!.weight, undefined);
    assert.equal(rs.rs1!.health, 'serving');
  });
  it('a drained real server shows "drained" with its live weight 0, and is no drift; removed by drain likewise', () => {
    const dir1 = withList(drUp.get('dir1')!, drList);
    const drained = step(dr, 'dir1', dir1, { kind: 'drain', host: 'rs2', remove: false }).next;
    const list = drList.map((l) => (l.includes('10.99.2.12:') ? l.replace(/(Route +)1 /, '$10 ') : l));
    const res = [...drUp].map(([h, o]) => (h === 'dir1' ? result(dr, h, withList(drained, list)) : result(dr, h, o)));
    const r = statusReport(dr, res);
    assert.equal(r.drift, false, JSON.stringify(r.hosts));
    const rs = rsOf(r, 'tcp 10.99.2.100:80', 'dir1');
    assert.equal(rs.rs2!.health, 'drained');
    assert.equal(rs.rs2!.weight, 0);
    assert.equal(rs.rs2!.inventoryWeight, 1);
    assert.equal(rs.rs1!.health, 'serving');
    const removed = step(dr, 'dir1', drained, { kind: 'drain', host: 'rs2', remove: true }).next;
    const r2 = statusReport(
      dr,
      [...drUp].map(([h, o]) =>
        h === 'dir1'
          ? result(
              dr,
              h,
              withList(
                removed,
                drList.filter((l) => !l.includes('10.99.2.12:')),
              ),
            )
          : result(dr, h, o),
      ),
    );
    assert.equal(r2.drift, false);
    assert.equal(rsOf(r2, 'tcp 10.99.2.100:443', 'dir1').rs2!.health, 'removed by drain');
  });
  it('an unreachable host sets failed (state unreachable, its error); an unreachable director leaves health unknown and the VIP without a problem', () => {
    const r = statusReport(dr, [...drResults().filter((x) => x.host !== 'rs2'), unreachable('rs2')]);
    assert.equal(r.failed, true);
    assert.equal(r.drift, false);
    assert.deepEqual(
      r.hosts.find((h) => h.host === 'rs2'),
      {
        host: 'rs2',
        roles: ['real_server'],
        state: 'unreachable',
        drift: [],
        error: 'rs2: connect ECONNREFUSED 127.0.0.1:22005',
      },
    );
    const d = statusReport(dr, [...drResults().filter((x) => x.host !== 'dir1'), unreachable('dir1')]);
    assert.equal(d.failed, true);
    assert.deepEqual(d.vips[0]!.holders, []);
    assert.equal(d.vips[0]!.problem, undefined);
    assert.ok(d.services.every((s) => s.realServers.every((x) => x.health === 'unknown')));
    const failedRun = statusReport(dr, [
      ...drResults().filter((x) => x.host !== 'rs1'),
      { host: 'rs1', status: 'failed', changes: 0, error: 'the facts script failed (exit 1)' },
    ]);
    assert.equal(failedRun.failed, true);
    assert.equal(failedRun.hosts.find((h) => h.host === 'rs1')!.state, 'failed');
  });
  it('a stopped cluster: hosts "stopped", health "stopped", no VIP holder is no problem and no drift', () => {
    const stopped = new Map([...drUp].map(([h, o]) => [h, step(dr, h, o, { kind: 'stop' }).next]));
    const r = statusReport(
      dr,
      [...stopped].map(([h, o]) => result(dr, h, h === 'dir1' ? withList(o, []) : o)),
    );
    assert.deepEqual(
      r.hosts.map((h) => h.state),
      ['stopped', 'stopped', 'stopped', 'stopped'],
    ); // the client too: stop is recorded on every host
    assert.equal(r.drift, false, JSON.stringify(r.hosts));
    assert.deepEqual(r.vips[0]!.holders, []);
    assert.equal(r.vips[0]!.problem, undefined);
    assert.ok(r.services.every((s) => s.realServers.every((x) => x.health === 'stopped')));
  });
  it('a host lvsctl never set up is "not set up" (and its plan is drift)', () => {
    const r = statusReport(dr, [...drResults().filter((x) => x.host !== 'rs2'), result(dr, 'rs2', {})]);
    const rs2 = r.hosts.find((h) => h.host === 'rs2')!;
    assert.equal(rs2.state, 'not set up');
    assert.ok(rs2.drift.includes('add address 10.99.2.100/32 dev lo label lo:0'));
    // Exactly the plan's changes, without its state-file writes.
    const plan = hostRun(dr, 'rs2', {}, { kind: 'status' }).plan;
    assert.equal(plan.changes[0]!.kind, 'state');
    assert.deepEqual(rs2.drift, plan.changes.filter((c) => c.kind !== 'state').map(describeChange));
    assert.ok(!rs2.drift.some((d) => d.startsWith('record ')));
    assert.equal(r.drift, true);
  });

  // lab-ha: a keepalived pair with HTTP checks; dir1 MASTER holds VIP and DIP.
  const haUp = new Map(['client', 'dir1', 'dir2', 'rs1', 'rs2'].map((h) => [h, upHost(ha, h)]));
  const haList = (rs2: boolean) => [
    'TCP  10.99.1.100:80 rr',
    dest('10.99.2.11:80', 'Masq', 1, 4, 0),
    ...(rs2 ? [dest('10.99.2.12:80', 'Masq', 1, 3, 0)] : []),
  ];
  const haResults = (holders: string[], rs2Live: boolean) =>
    [...haUp].map(([h, o]) =>
      result(
        ha,
        h,
        h.startsWith('dir')
          ? withList(holders.includes(h) ? vip(vip(o, '10.99.1.100'), '10.99.2.1', 'eth1') : o, haList(rs2Live))
          : o,
      ),
    );
  it('keepalived: a real server its health check took out is "removed by health check", not drift', () => {
    const r = statusReport(ha, haResults(['dir1'], false));
    assert.equal(r.drift, false, JSON.stringify(r.hosts));
    assert.deepEqual(r.vips, [{ address: '10.99.1.100', interface: 'eth0', holders: ['dir1'] }]);
    for (const d of ['dir1', 'dir2']) {
      const rs = rsOf(r, 'tcp 10.99.1.100:80', d);
      assert.equal(rs.rs2!.health, 'removed by health check');
      assert.equal(rs.rs1!.health, 'serving');
      assert.equal(rs.rs1!.active, 4);
    }
    assert.equal(
      rsOf(statusReport(ha, haResults(['dir1'], true)), 'tcp 10.99.1.100:80', 'dir1').rs2!.health,
      'serving',
    );
  });
  it('keepalived: the VIP on both directors or on none is a problem (and drift); on the BACKUP alone is fine', () => {
    const two = statusReport(ha, haResults(['dir1', 'dir2'], true));
    assert.deepEqual(two.vips[0]!.holders, ['dir1', 'dir2']);
    assert.equal(two.vips[0]!.problem, 'held by 2 directors at once');
    assert.equal(two.drift, true);
    const none = statusReport(ha, haResults([], true));
    assert.deepEqual(none.vips[0]!.holders, []);
    assert.equal(none.vips[0]!.problem, 'no director holds it');
    assert.equal(none.drift, true);
    const backup = statusReport(ha, haResults(['dir2'], true));
    assert.deepEqual(backup.vips[0], { address: '10.99.1.100', interface: 'eth0', holders: ['dir2'] });
    assert.equal(backup.drift, false);
    // One director unreadable: no judgement on the holders.
    const partial = statusReport(ha, [...haResults([], true).filter((x) => x.host !== 'dir2'), unreachable('dir2')]);
    assert.equal(partial.vips[0]!.problem, undefined);
    assert.equal(partial.failed, true);
  });
  // Found while writing these tests, fixed since.
  it('keepalived: a real server without a health check that is absent is "missing" (keepalived never removes it)', () => {
    const text = `cluster: t\nmode: nat\nhosts:\n  d: { address: 10.0.0.2 }\n  r1: { address: 10.0.1.3 }\n  r2: { address: 10.0.1.4 }\ndirectors: { hosts: [d], engine: keepalived, dip: { address: 10.0.1.1, prefix: 24, interface: eth1 } }\nvips:\n  - { address: 10.0.0.100, interface: eth0, services: [{ port: 80, health_check: { type: tcp }, real_servers: [{ host: r1 }, { host: r2, health_check: false }] }] }\n`;
    const c = loadInventory('t.yaml', { text }).cluster;
    secretsOf.set(c, {});
    const d = withList(vip(upHost(c, 'd'), '10.0.0.100'), ['TCP  10.0.0.100:80 rr']);
    const r = statusReport(c, [result(c, 'd', d)]);
    const rs = rsOf(r, 'tcp 10.0.0.100:80', 'd');
    assert.equal(rs.r1!.health, 'removed by health check');
    assert.equal(rs.r2!.health, 'missing');
  });
  it('an IPv6 VIP written in another form than ip(8) prints it (FD00:0:0::100) is found on its director: no drift, a holder', () => {
    const text = `cluster: t\nmode: dr\nvars: { interface: eth0 }\nhosts:\n  d: { address: 10.0.0.2 }\n  r1: { address: 10.0.0.3, address6: "fd00::3" }\ndirectors: { hosts: [d] }\nvips:\n  - { address: "FD00:0:0::100", prefix: 64, interface: eth0, services: [{ port: 80, real_servers: [{ host: r1 }] }] }\n`;
    const c = loadInventory('t6.yaml', { text }).cluster;
    secretsOf.set(c, {});
    const up = step(c, 'd', bare(c, 'd')).next;
    // ip -o addr prints the address as inet_ntop does.
    const d = { ...up, addr: up.addr!.map((l) => l.replace('FD00:0:0::100', 'fd00::100')) };
    const r = statusReport(c, [result(c, 'd', d)]);
    assert.deepEqual(r.hosts[0]!.drift, []);
    assert.deepEqual(r.vips[0]!.holders, ['d']);
  });
  it('keepalived: a drained real server is "drained", not "weight 0 (health check failing)"', () => {
    const res = [...haUp].map(([h, o]) => {
      if (!h.startsWith('dir')) return result(ha, h, o);
      const drained = step(ha, h, o, { kind: 'drain', host: 'rs2', remove: false }).next;
      return result(
        ha,
        h,
        withList(
          h === 'dir1' ? vip(drained, '10.99.1.100') : drained,
          haList(true).map((l) => (l.includes('10.99.2.12') ? l.replace(/(Masq +)1 /, '$10 ') : l)),
        ),
      );
    });
    const r = statusReport(ha, res);
    assert.equal(r.drift, false, JSON.stringify(r.hosts));
    assert.equal(rsOf(r, 'tcp 10.99.1.100:80', 'dir2').rs2!.health, 'drained');
  });
});

/** lab-nat's dir1 as an operator's script left it: the VIP and the DIP on their interfaces, the services. */
const handBuiltNat = (): FactsOptions => ({
  ...bare(nat, 'dir1'),
  addr: [
    addrLine({ address: '10.99.1.100', prefix: 24, dev: 'eth0', label: 'eth0:0' }, 3),
    addrLine({ address: '10.99.2.1', prefix: 24, dev: 'eth1' }, 4),
  ],
  loaded: ['ip_vs', 'ip_vs_wrr', 'ip_vs_rr'],
  ipvs: formatRules(desiredTableOf(nat, 'dir1')).trim().split('\n'),
});

describe('a cluster built by hand, taken over: down leaves what lvsctl found (issue 25)', () => {
  const handBuilt = handBuiltNat;
  const addrChanges = (p: HostPlan) => p.changes.filter((c) => c.kind === 'address').map(describeChange);

  it('up records the VIP, the DIP and the services as found, and changes none of them', () => {
    const { run } = step(nat, 'dir1', handBuilt());
    const st = stateOf(run.plan.changes[0]);
    assert.deepEqual(st.originals.addresses, ['10.99.1.100/24 eth0', '10.99.2.1/24 eth1']);
    assert.match(st.originals.ipvs ?? '', /^-A -t 10\.99\.1\.100:80 -s wrr$/m);
    assert.deepEqual(addrChanges(run.plan), []);
    assert.equal(run.plan.changes.filter((c) => c.kind === 'ipvs').length, 0, 'the table is already as wanted');
  });
  it('down then leaves the VIP, the DIP and the services in place', () => {
    const up = upHost(nat, 'dir1', handBuilt());
    const { run } = step(nat, 'dir1', up, { kind: 'down', purge: false });
    assert.deepEqual(addrChanges(run.plan), []);
    assert.equal(run.plan.changes.filter((c) => c.kind === 'ipvs').length, 0, texts(run.plan).join('\n'));
  });
  it('after a stop, down puts them back as they were found', () => {
    const up = upHost(nat, 'dir1', handBuilt());
    const stopped = step(nat, 'dir1', up, { kind: 'stop' }).next;
    assert.equal(parseRules((stopped.ipvs ?? []).join('\n')).services.length, 0, 'stop cleared the services');
    const { run, next } = step(nat, 'dir1', stopped, { kind: 'down', purge: false });
    // stop released the VIP (the DIP stays while stopped)
    assert.deepEqual(addrChanges(run.plan), ['add address 10.99.1.100/24 dev eth0']);
    assert.deepEqual(
      formatRules(parseRules((next.ipvs ?? []).filter((l) => l.startsWith('-')).join('\n'))),
      formatRules(desiredTableOf(nat, 'dir1')),
    );
  });
  it('a cluster lvsctl built itself: down removes its VIP and services as before', () => {
    const up = upHost(nat, 'dir1');
    const { run } = step(nat, 'dir1', up, { kind: 'down', purge: false });
    assert.ok(addrChanges(run.plan).includes('remove address 10.99.1.100/24 dev eth0'));
  });
});

describe('a hand-built keepalived pair taken over: its keepalived.conf is found, kept, and handed back (issue 25)', () => {
  const CONF = MANAGED_PATHS.keepalived;
  const operators = "# the operator's own\nvrrp_instance VI_1 {\n  state MASTER\n}\n";
  const handBuilt = (): FactsOptions => ({
    ...bare(ha, 'dir1'),
    packages: ['ipvsadm', 'keepalived'],
    keepalived: ['77'],
    keepalivedBoot: 'enabled',
    keepalivedVersion: 'Keepalived v2.2.7 (01/16,2022)',
    files: [`644 root root ${OTHER_SHA} ${CONF}`],
    contents: [`${CONF} ${Buffer.from(operators).toString('base64')}`],
  });
  const content = (o: FactsOptions) =>
    Buffer.from(o.contents!.find((l) => l.startsWith(`${CONF} `))!.split(' ')[1]!, 'base64').toString();

  it('up records the file as found (so up needs --takeover), keeps its content, and reloads keepalived', () => {
    const { run } = step(ha, 'dir1', handBuilt());
    const first = run.plan.changes[0]!;
    assert.ok(first.kind === 'state' && first.found?.includes(CONF), describeChange(first));
    const st = stateOf(first);
    assert.deepEqual(st.originals.files, [CONF]);
    assert.equal(st.originals.keepalived, 'running');
    const write = run.plan.changes.find((c) => c.kind === 'file' && c.action !== 'delete' && c.file.path === CONF);
    assert.ok(
      write?.kind === 'file' &&
        write.action === 'update' &&
        write.keep === '/var/lib/lvsctl/found-etc-keepalived-keepalived.conf',
    );
    assert.ok(texts(run.plan).includes('reload keepalived (SIGHUP: connections kept)'));
    assert.ok(!texts(run.plan).includes('stop keepalived'));
  });
  it('down puts the found file back and reloads keepalived on it instead of stopping it', () => {
    const up = step(ha, 'dir1', handBuilt()).next;
    assert.notEqual(content(up), operators, "lvsctl's config is in place");
    const { run, next } = step(ha, 'dir1', up, { kind: 'down', purge: false });
    const t = texts(run.plan);
    assert.ok(t.includes(`put back ${CONF} as lvsctl found it`), t.join('\n'));
    assert.ok(!t.includes('stop keepalived'), t.join('\n'));
    assert.ok(
      t.indexOf('reload keepalived (SIGHUP: connections kept)') > t.indexOf(`put back ${CONF} as lvsctl found it`),
    );
    assert.equal(content(next), operators);
    assert.equal(next.keepalived?.length, 1, 'keepalived runs on');
    assert.equal(next.state, undefined, 'lvsctl forgot the host');
  });
  it('a found file lvsctl never changed stays as it is on down (nothing to put back)', () => {
    const up = upHost(ha, 'dir1', handBuilt());
    // as if the operator's file had been lvsctl's already: no copy was made
    const same = { ...up, kept: {} };
    const { next } = step(ha, 'dir1', same, { kind: 'down', purge: false });
    assert.ok(
      next.files!.some((l) => l.endsWith(` ${CONF}`) && !l.startsWith('absent')),
      'still there',
    );
  });
  it('a keepalived.conf lvsctl wrote itself is removed and keepalived stopped on down, as before', () => {
    const up = upHost(ha, 'dir1', {
      ...bare(ha, 'dir1'),
      packages: ['ipvsadm', 'keepalived'],
      keepalivedVersion: 'Keepalived v2.2.7 (01/16,2022)',
    });
    const t = texts(step(ha, 'dir1', up, { kind: 'down', purge: false }).run.plan);
    assert.ok(t.includes('stop keepalived') && t.includes(`remove ${CONF}`), t.join('\n'));
  });
});

describe('boot-time scripts that program IPVS, at a takeover (issue 25)', () => {
  const handBuilt = (bootScripts: string[]): FactsOptions => ({ ...handBuiltNat(), bootScripts });
  const run = (o: FactsOptions, disableBootScripts = false, intent: Intent = { kind: 'up' }) =>
    planFromFacts(nat, 'dir1', labNat.secrets, renderedFiles, parseFacts(factsText(o)), intent, undefined, {
      takeover: true,
      disableBootScripts,
    });
  const rcLocal = 'enabled exec /etc/rc.local add';

  it('an enabled one refuses the takeover, naming it and what it does, and the way out', () => {
    assert.throws(
      () => run(handBuilt([rcLocal, 'disabled service /etc/init.d/ipvsadm restore'])),
      (e: Error) =>
        e instanceof RefusedError &&
        /\/etc\/rc\.local \(adds virtual services\)/.test(e.message) &&
        !/init\.d\/ipvsadm/.test(e.message) &&
        /--disable-boot-scripts/.test(e.message),
    );
  });
  it('a cron @reboot line or an interfaces stanza is refused even with --disable-boot-scripts', () => {
    assert.throws(
      () => run(handBuilt(['enabled manual /etc/cron.d/lvs clear add']), true),
      (e: Error) => e instanceof RefusedError && /cron\.d\/lvs.*remove it by hand/.test(e.message),
    );
  });
  it('with --disable-boot-scripts: disabled, recorded; a second up changes nothing; down enables them again', () => {
    const o = handBuilt([rcLocal, 'enabled service /etc/init.d/lvs-director clear restore']);
    const first = run(o, true);
    const t = texts(first.plan);
    assert.ok(
      t.includes('boot: disable /etc/rc.local (it programs IPVS at boot; down enables it again)'),
      t.join('\n'),
    );
    assert.ok(t.some((l) => l.startsWith('boot: disable /etc/init.d/lvs-director')));
    assert.deepEqual(stateOf(first.plan.changes[0]).originals.bootScripts, [
      { path: '/etc/init.d/lvs-director', how: 'service' },
      { path: '/etc/rc.local', how: 'exec' },
    ]);
    const up = applied(o, first.plan.changes, formatRules(first.table));
    assert.deepEqual(up.bootScripts, [
      'disabled exec /etc/rc.local add',
      'disabled service /etc/init.d/lvs-director clear restore',
    ]);
    assert.deepEqual(texts(run(up, false).plan), [], 'converged: nothing refused or changed');
    const down = run(up, false, { kind: 'down', purge: false });
    const d = texts(down.plan);
    assert.ok(d.includes('boot: enable /etc/rc.local again (lvsctl disabled it at its takeover)'), d.join('\n'));
    assert.deepEqual(applied(up, down.plan.changes).bootScripts, o.bootScripts);
  });
  it('the commands: the execute bit for rc.local, the init system for a service', () => {
    const first = run(handBuilt([rcLocal, 'enabled service /etc/init.d/lvs-director add']), true);
    const facts = first.facts;
    const cmds = first.plan.changes
      .filter((c) => c.kind === 'boot-script')
      .map((c) => commandFor(c as CommandChange, facts).text);
    assert.ok(
      cmds.some((c) => c === 'chmod a-x -- /etc/rc.local'),
      cmds.join('\n'),
    );
    assert.ok(
      cmds.some((c) => c.includes('update-rc.d lvs-director disable')),
      cmds.join('\n'),
    );
  });
  it('a host that was not scanned (no --takeover) or takes nothing over is not refused', () => {
    const o = handBuilt([]);
    delete o.bootScripts;
    assert.doesNotThrow(() => run(o));
    const own = upHost(nat, 'dir1');
    assert.doesNotThrow(() => run({ ...own, bootScripts: [rcLocal] }));
  });
});
