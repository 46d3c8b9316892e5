// Active-active (issue #22): a MASTER and priorities per VRRP instance. The defaults, the refusals
// (each naming its field), keepalived.conf per instance (state, priority, sync groups by master,
// the sync daemon's instance), and what verify --failover and the settling after a start expect.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { failoverLines } from '../../src/cli/print/verify.js';
import { InventoryError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { instanceMaster, instanceMembers, type Cluster } from '../../src/inventory/model.js';
import { renderCluster } from '../../src/render/host.js';
import type { HostConnection } from '../../src/ssh/connection.js';
import { nextHolder, settleKeepalived, type FailoverResult } from '../../src/verify/failover.js';
import { failoverServices } from '../../src/verify/run.js';
import { root } from './helpers.js';

const work = mkdtempSync(join(tmpdir(), 'lvsctl-aa-'));
after(() => rmSync(work, { recursive: true, force: true }));

const LAB_AA = readFileSync(join(root, 'inventories/lab-aa.yaml'), 'utf8');
const LAB_HA = readFileSync(join(root, 'inventories/lab-ha.yaml'), 'utf8');

/** An inventory text with `edits` applied (each `from` must be in it), written to a temp file. */
function variant(base: string, edits: [string, string][]): string {
  let text = base.replace('../test/fixtures/lab-vrrp-password', join(root, 'test/fixtures/lab-vrrp-password'));
  for (const [from, to] of edits) {
    assert.ok(text.includes(from), `the base inventory has ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  const file = join(work, `v${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return file;
}

const load = (file: string): Cluster => loadInventory(file, { requireSecrets: false }).cluster;

/** The problems validation reports, as "field: message". */
function problems(file: string): string[] {
  try {
    loadInventory(file, { requireSecrets: false });
  } catch (e) {
    if (e instanceof InventoryError) return e.problems.map((p) => `${p.field}: ${p.message}`);
    throw e;
  }
  return [];
}

const VI_1 = '      - { name: VI_1, interface: eth1, virtual_router_id: 61, master: dir1 }';
const VI_2 =
  '      - { name: VI_2, interface: eth1, virtual_router_id: 62, master: dir2, priorities: { dir1: 100, dir2: 150 } }';
const roles = (c: Cluster, inst: string) => instanceMembers(c, inst).map((m) => [m.host, m.state, m.priority]);

describe('active-active: masters and priorities per instance', () => {
  it('master only: the master at 150, the others 100, 90 ... in list order; priorities only: the highest is MASTER', () => {
    const three = load(
      variant(LAB_AA, [
        ['  hosts: [dir1, dir2]', '  hosts: [dir1, dir2, router]'],
        ['  rs1: ', '  router: { address: 10.99.2.254, ssh: { port: 22006 } }\n  rs1: '],
        [VI_1, VI_1.replace('master: dir1', 'master: dir2')],
        [
          VI_2,
          VI_2.replace(
            'master: dir2, priorities: { dir1: 100, dir2: 150 }',
            'priorities: { dir1: 7, dir2: 9, router: 200 }',
          ),
        ],
      ]),
    );
    assert.deepEqual(roles(three, 'VI_1'), [
      ['dir1', 'BACKUP', 100],
      ['dir2', 'MASTER', 150],
      ['router', 'BACKUP', 90],
    ]);
    assert.deepEqual(roles(three, 'VI_2'), [
      ['dir1', 'BACKUP', 7],
      ['dir2', 'BACKUP', 9],
      ['router', 'MASTER', 200],
    ]);
    assert.equal(instanceMaster(three, 'VI_2'), 'router');
  });

  it('without master and priorities an instance keeps the director-level states and priorities', () => {
    const ha = load(variant(LAB_HA, []));
    assert.equal(instanceMembers(ha, 'VI_1'), ha.directors.members);
    assert.deepEqual(roles(ha, 'VI_1'), [
      ['dir1', 'MASTER', 150],
      ['dir2', 'BACKUP', 100],
    ]);
  });

  it('with nopreempt every director starts BACKUP and the priority elects (keepalived clears MASTER then)', () => {
    // (the director-level states, for instances without a master of their own, must be BACKUP too)
    const c = load(
      variant(LAB_AA, [
        ['    advert_int: 1\n', '    advert_int: 1\n    nopreempt: true\n'],
        ['  hosts: [dir1, dir2]', '  hosts: [{ host: dir1, state: BACKUP }, { host: dir2, state: BACKUP }]'],
      ]),
    );
    assert.deepEqual(roles(c, 'VI_2'), [
      ['dir1', 'BACKUP', 100],
      ['dir2', 'BACKUP', 150],
    ]);
    assert.equal(instanceMaster(c, 'VI_2'), 'dir2');
  });

  it('refuses a master or priority naming no director, missing priorities, and a BACKUP at or above the master', () => {
    const cases: [[string, string][], RegExp][] = [
      [
        [[VI_1, VI_1.replace('master: dir1', 'master: dir9')]],
        /^directors\.vrrp\.instances\[0\]\.master: master "dir9" of instance VI_1 is not a director \(directors: dir1, dir2\)$/,
      ],
      [
        [['dir1: 100, dir2: 150 }', 'dir1: 100, dir2: 150, rs1: 90 }']],
        /^directors\.vrrp\.instances\[1\]\.priorities\.rs1: priorities of instance VI_2 names "rs1", which is not a director/,
      ],
      [
        [['priorities: { dir1: 100, dir2: 150 }', 'priorities: { dir2: 150 }']],
        /^directors\.vrrp\.instances\[1\]\.priorities: priorities of instance VI_2 must give every director a priority; missing: dir1$/,
      ],
      [
        [['dir1: 100, dir2: 150 }', 'dir1: 200, dir2: 150 }']],
        /^directors\.vrrp\.instances\[1\]\.priorities\.dir1: dir1 \(priority 200\) outranks the master dir2 \(priority 150\) of instance VI_2 and would take its addresses at once: give the master the strictly highest priority$/,
      ],
      [
        [['dir1: 100, dir2: 150 }', 'dir1: 150, dir2: 150 }']],
        /^directors\.vrrp\.instances\[1\]\.priorities\.dir1: dir1 \(priority 150\) ties with the master dir2/,
      ],
      [
        [['master: dir2, priorities: { dir1: 100, dir2: 150 }', 'priorities: { dir1: 150, dir2: 150 }']],
        /^directors\.vrrp\.instances\[1\]\.priorities\.dir2: dir2 has the same priority as dir1 \(150\) in instance VI_2; priorities must differ$/,
      ],
      [
        [['vrrp_instance: VI_2 }', 'vrrp_instance: VI_9 }']],
        /^directors\.sync_daemon\.vrrp_instance: unknown VRRP instance "VI_9"$/,
      ],
    ];
    for (const [edits, want] of cases) {
      const got = problems(variant(LAB_AA, edits));
      assert.equal(got.length, 1, got.join('\n'));
      assert.match(got[0]!, want);
    }
  });

  it('the CLI names file:line:field and runs nothing (exit 65)', async () => {
    const { runCli } = await import('./helpers.js');
    const file = variant(LAB_AA, [[VI_1, VI_1.replace('master: dir1', 'master: rs1')]]);
    const r = await runCli(['validate', '-i', file, '--no-secrets']);
    assert.equal(r.code, 65);
    assert.match(
      r.stderr,
      /\.yaml:33:71: directors\.vrrp\.instances\[0\]\.master: master "rs1" of instance VI_1 is not a director/,
    );
  });

  describe('NAT: one real-server pool across masters is refused (a real server has one gateway, the DIP)', () => {
    const second = [
      [
        '      - { name: VI_1, interface: eth0, virtual_router_id: 51 }',
        '      - { name: VI_1, interface: eth0, virtual_router_id: 51, master: dir1 }\n      - { name: VI_2, interface: eth0, virtual_router_id: 52, master: dir2 }',
      ],
      [
        '\nverify:',
        '  - address: 10.99.1.101\n    prefix: 24\n    interface: eth0\n    vrrp_instance: VI_2\n    services:\n      - { name: api, port: 8080, scheduler: rr, real_servers: [{ host: rs2 }] }\n\nverify:',
      ],
    ] as [string, string][];

    it('a real server serving a VIP whose master is not the DIP instance master is refused, with the reason', () => {
      const got = problems(variant(LAB_HA, second));
      assert.deepEqual(got, [
        'vips[1].services[0].real_servers[0]: in NAT a real server has one gateway, the DIP, which follows one VRRP instance: rs2 serves VIP 10.99.1.101 of instance VI_2 (master dir2) and the DIP 10.99.2.1 of instance VI_1 (master dir1); replies would leave through the wrong director. Give these instances the same master, use separate real servers, or use DR/TUN',
      ]);
    });

    it('the same instances with one master are accepted; DR with two masters and one pool is accepted', () => {
      const one = variant(
        LAB_HA,
        second.map(([a, b]) => [a, b.replace('master: dir2', 'master: dir1')] as [string, string]),
      );
      assert.deepEqual(problems(one), []);
      assert.deepEqual(problems(variant(LAB_AA, [])), []);
    });
  });
});

describe('active-active: keepalived.conf', () => {
  const confs = (file: string) => {
    const rendered = renderCluster(load(file), { vrrpPassword: 'pw' });
    const conf = (h: string) => rendered.get(h)!.find((f) => f.kind === 'keepalived')!.content;
    return { dir1: conf('dir1'), dir2: conf('dir2') };
  };
  const instance = (conf: string, name: string) => new RegExp(`vrrp_instance ${name} \\{[^}]*`).exec(conf)?.[0] ?? '';

  it('each instance has its own state and priority on each director; no sync group across masters; the sync daemon follows VI_2', () => {
    const { dir1, dir2 } = confs(variant(LAB_AA, []));
    assert.match(instance(dir1, 'VI_1'), /state MASTER\n[\s\S]*priority 150\n/);
    assert.match(instance(dir1, 'VI_2'), /state BACKUP\n[\s\S]*priority 100\n/);
    assert.match(instance(dir2, 'VI_1'), /state BACKUP\n[\s\S]*priority 100\n/);
    assert.match(instance(dir2, 'VI_2'), /state MASTER\n[\s\S]*priority 150\n/);
    for (const c of [dir1, dir2]) {
      assert.doesNotMatch(c, /vrrp_sync_group/);
      assert.match(c, /\n {4}lvs_sync_daemon eth1 VI_2 id 3\n/);
    }
  });

  it('instances are grouped by master: one sync group for a master of two, none for a master of one', () => {
    const { dir1 } = confs(
      variant(LAB_AA, [
        [VI_2, `${VI_2}\n      - { name: VI_3, interface: eth1, virtual_router_id: 63, master: dir1 }`],
        [
          '\nverify:',
          '  - address: 10.99.2.102\n    interface: eth1\n    vrrp_instance: VI_3\n    services:\n      - { port: 80, scheduler: rr, real_servers: [{ group: web }] }\n\nverify:',
        ],
      ]),
    );
    assert.match(dir1, /vrrp_sync_group VG_LVSCTL_dir1 \{\n {4}group \{\n {8}VI_1\n {8}VI_3\n {4}\}\n\}/);
    assert.equal(dir1.match(/vrrp_sync_group/g)?.length, 1);
  });

  it('the sync daemon follows the first instance by default; one master keeps one sync group of every instance', () => {
    const { dir2 } = confs(
      variant(LAB_AA, [
        ['  sync_daemon: { interface: eth1, id: 3, vrrp_instance: VI_2 }', '  sync_daemon: { interface: eth1, id: 3 }'],
        [VI_2, VI_2.replace('master: dir2, priorities: { dir1: 100, dir2: 150 }', 'master: dir1')],
      ]),
    );
    assert.match(dir2, /lvs_sync_daemon eth1 VI_1 id 3\n/);
    assert.match(dir2, /vrrp_sync_group VG_LVSCTL \{\n {4}group \{\n {8}VI_1\n {8}VI_2\n/);
  });
});

describe('active-active: failover and settling', () => {
  const aa = load(variant(LAB_AA, []));

  it('an instance is taken over by its own next priority: VI_2 dir2 -> dir1, VI_1 dir1 -> dir2', () => {
    assert.equal(nextHolder(aa, new Set(), 'VI_2'), 'dir2');
    assert.equal(nextHolder(aa, new Set(['dir2']), 'VI_2'), 'dir1');
    assert.equal(nextHolder(aa, new Set(), 'VI_1'), 'dir1');
    assert.equal(nextHolder(aa, new Set(['dir1']), 'VI_1'), 'dir2');
  });

  it('verify --failover tests each master in turn (one service each); with one master, one service as before', () => {
    assert.deepEqual(
      failoverServices(aa).map((s) => s.id),
      ['tcp 10.99.2.100:80', 'tcp 10.99.2.101:80'],
    );
    assert.deepEqual(
      failoverServices(load(variant(LAB_HA, []))).map((s) => s.id),
      ['tcp 10.99.1.100:80'],
    );
  });

  it('prints a line per instance, with the VIPs that stayed', () => {
    const r = (instance: string, vip: string, stopped: string, other: string, otherVip: string): FailoverResult => ({
      vip,
      instance,
      others: [{ vip: otherVip, instance: instance === 'VI_1' ? 'VI_2' : 'VI_1', holder: other, after: other }],
      stopped,
      takeover: other,
      takeoverSeconds: 1.1,
      steps: [{ stopped, expected: other, takeover: other, takeoverSeconds: 1.1 }],
      requests: 40,
      failed: 1,
      endHolder: stopped,
      expectedEndHolder: stopped,
      ok: true,
      problems: [],
    });
    const lines = failoverLines([
      r('VI_1', '10.99.2.100', 'dir1', 'dir2', '10.99.2.101'),
      r('VI_2', '10.99.2.101', 'dir2', 'dir1', '10.99.2.100'),
    ]).join('\n');
    assert.match(
      lines,
      /PASS {2}instance VI_1, VIP 10\.99\.2\.100: keepalived stopped on dir1; dir2 took over in 1\.10 s/,
    );
    assert.match(lines, /VIP 10\.99\.2\.101 \(instance VI_2\) stayed on dir2\n/);
    assert.match(lines, /PASS {2}instance VI_2, VIP 10\.99\.2\.101: keepalived stopped on dir2; dir1 took over/);
    assert.equal(lines.match(/FAILOVER/g)?.length, 1);
  });

  it('settling waits until each instance is on its own master (dir2 holding both is not settled)', async () => {
    let polls = 0;
    const table = [
      'TCP  10.99.2.100:80 rr',
      '  -> 10.99.2.11:80  Route 1 0 0',
      '  -> 10.99.2.12:80  Route 1 0 0',
      'TCP  10.99.2.101:80 rr',
      '  -> 10.99.2.11:80  Route 1 0 0',
      '  -> 10.99.2.12:80  Route 1 0 0',
    ].join('\n');
    // dir1 takes VI_1 from dir2 on the fourth look at 10.99.2.100
    const fake = (name: string) =>
      ({
        name,
        exec: async (command: unknown) => {
          const cmd = String(command);
          if (cmd.includes('ipvsadm')) return { code: 0, stdout: table, stderr: '' };
          const vip = /show to (\S+)/.exec(cmd)![1]!.replace(/'/g, '');
          if (vip === '10.99.2.100' && name === 'dir1') polls++;
          const dir1Has = polls >= 4;
          const holds = vip === '10.99.2.101' ? name === 'dir2' : (name === 'dir1') === dir1Has;
          return { code: 0, stdout: holds ? `3: eth1 inet ${vip}/24 scope global eth1\n` : '', stderr: '' };
        },
      }) as unknown as HostConnection;
    const dirs = new Map([
      ['dir1', fake('dir1')],
      ['dir2', fake('dir2')],
    ]);
    const t = Date.now();
    await settleKeepalived(aa, dirs, 5_000);
    assert.ok(polls >= 4, `returned after ${polls} looks at dir1`);
    assert.ok(Date.now() - t < 4_000, 'returned once settled, not at the timeout');
  });
});
