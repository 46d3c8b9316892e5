// Issue #6 end to end, in the lab: DR (80 + 443), TUN (sh stickiness) and NAT (80 -> 8080, wrr 3:1, UDP)
// each come up on fresh hosts and pass verify (NAT last: the switches start from it); then the mode is
// switched NAT -> DR -> TUN -> NAT and after each switch every host's state snapshot equals the
// snapshot of that mode brought up on fresh hosts: nothing of the old mode is left. Fresh hosts have
// ipvsadm and keepalived installed (the packages snapshot): the install from bare hosts is
// engine-dr's and lifecycle's subject, and a snapshot compares the state file, which lists what
// lvsctl installed, so every test here starts the same way.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BOOT_LINKS, MANAGED_PATHS } from '../../src/render/paths.js';
import { STATE_FILE } from '../../src/facts/script.js';
import * as lab from './lab.js';

type Mode = 'nat' | 'dr' | 'tun';
const HOSTS = ['client', 'dir1', 'rs1', 'rs2'] as const;
const PATHS = [
  ...Object.values(MANAGED_PATHS),
  STATE_FILE,
  ...[...BOOT_LINKS.sysv, ...BOOT_LINKS.systemd].map((l) => l.path),
];
const inv = (m: Mode) => path.join(lab.ROOT, 'inventories', `lab-${m}.yaml`);

interface Verdict {
  service: string;
  ok: boolean;
  probe: string;
  hits: Record<string, number>;
  bySource?: Record<string, Record<string, number>>;
  problems: string[];
}
async function up(m: Mode): Promise<{
  code: number;
  out: { hosts: { host: string; status: string; error?: string }[]; verify: Verdict[] };
  stderr: string;
}> {
  const r = await lab.lvsctl(['up', '-i', inv(m), '--json', '--takeover']); // a mode switch: another cluster's inventory
  return { code: r.code, out: lab.json(r), stderr: r.stderr };
}

/** Every host's snapshot. Fallback tunnel devices (tunl0…) exist in every namespace once any host
 * loaded ipip (modules are global): lines about them are left out unless the mode manages them. */
async function snapshot(m: Mode): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const h of HOSTS) {
    const s = await lab.state(h, PATHS);
    out[h] =
      m === 'tun' && h.startsWith('rs')
        ? s
        : s
            .split('\n')
            .filter((l) => !/\btunl0\b/.test(l))
            .join('\n');
  }
  return out;
}

async function upAndVerify(m: Mode): Promise<Verdict[]> {
  const r = await up(m);
  assert.equal(
    r.code,
    0,
    `up ${m}: ${r.stderr}\n${JSON.stringify(r.out.hosts)}\n${JSON.stringify(r.out.verify, null, 1)}`,
  );
  for (const v of r.out.verify) assert.ok(v.ok, `${m} ${v.service}: ${v.problems.join('; ')}`);
  return r.out.verify;
}

const ref: Partial<Record<Mode, Record<string, string>>> = {};
/** The mode the lab is in, converged from the packages snapshot by the test just before (NAT runs
 * right before the switches, which start in NAT): that test's restore and up are not repeated. */
let fresh: Mode | undefined;

/** The snapshot of mode m on bare hosts: the one its own test took, or made here when that test
 * failed or did not run (a test never depends on another having passed). */
async function reference(m: Mode): Promise<Record<string, string>> {
  if (!ref[m]) {
    fresh = undefined;
    await lab.restore({ packages: true });
    await upAndVerify(m);
    ref[m] = await snapshot(m);
  }
  return ref[m];
}

lab.useLab({ before, after }, { packages: true });

test('DR: 80 and 443 answer', { timeout: 15 * 60_000 }, async () => {
  await lab.restore({ packages: true });
  const v = await upAndVerify('dr');
  assert.ok(v.find((x) => x.service.includes(':443'))!.hits.rs1, 'the TCP probe identified rs1 on 443');
  ref.dr = await snapshot('dr');
});

test(
  'TUN: source hashing keeps each client source on one server, and spreads them',
  { timeout: 15 * 60_000 },
  async () => {
    await lab.restore({ packages: true });
    const v = await upAndVerify('tun');
    const sh = v[0]!;
    assert.ok(Object.keys(sh.bySource!).length >= 6);
    for (const [src, per] of Object.entries(sh.bySource!))
      assert.equal(Object.keys(per).length, 1, `${src}: ${JSON.stringify(per)}`);
    assert.ok(sh.hits.rs1 && sh.hits.rs2);
    ref.tun = await snapshot('tun');
  },
);

test('NAT: 80 -> 8080 with wrr 3:1, and a UDP service', { timeout: 15 * 60_000 }, async () => {
  fresh = undefined;
  await lab.restore({ packages: true });
  const v = await upAndVerify('nat');
  const http = v.find((x) => x.service.includes(':80'))!;
  assert.equal(http.hits.rs1! / (http.hits.rs1! + http.hits.rs2!), 0.75, JSON.stringify(http.hits));
  const udp = v.find((x) => x.probe === 'udp')!;
  assert.ok(udp.hits.rs1 && udp.hits.rs2 && !udp.hits.failed, JSON.stringify(udp.hits));
  // the real servers answer on 8080: the director mapped the port
  assert.match(await lab.sh('dir1', 'ipvsadm -Sn'), /-a -t 10\.99\.1\.100:80 -r 10\.99\.2\.11:8080 -m -w 3/);
  assert.match(await lab.sh('rs1', 'ip route show default'), /default via 10\.99\.2\.1 /);
  ref.nat = await snapshot('nat');
  // Thresholds, which ipvsadm -S does not print: set, read back, and a hand edit is drift up repairs
  const thr = () => lab.sh('dir1', 'ipvsadm -Ln --thresholds -t 10.99.1.100:80');
  assert.match(await thr(), /-> 10\.99\.2\.11:8080\s+1000\s+800\s/);
  await lab.sh('dir1', 'ipvsadm -e -t 10.99.1.100:80 -r 10.99.2.11:8080 -m -w 3 -x 5');
  const st = await lab.lvsctl(['status', '-i', inv('nat')]);
  assert.equal(st.code, 3, st.stdout + st.stderr);
  const fix = await lab.lvsctl(['up', '-i', inv('nat'), '--no-verify', '--json']);
  assert.equal(fix.code, 0, fix.stdout + fix.stderr);
  assert.equal(
    lab.json<{ hosts: { host: string; ipvs_lines: number }[] }>(fix).hosts.find((h) => h.host === 'dir1')?.ipvs_lines,
    1,
    'one -e line',
  );
  assert.match(await thr(), /-> 10\.99\.2\.11:8080\s+1000\s+800\s/);
  fresh = 'nat';
});

test('mode switches NAT -> DR -> TUN -> NAT leave nothing of the old mode', { timeout: 30 * 60_000 }, async () => {
  const refs = { nat: await reference('nat'), dr: await reference('dr'), tun: await reference('tun') };
  // the snapshots see each mode's own state, so a leftover would show
  for (const h of ['dir1', 'rs1'] as const) {
    assert.notEqual(refs.nat[h], refs.dr[h]);
    assert.notEqual(refs.dr[h], refs.tun[h]);
  }
  assert.match(refs.dr.rs1!, /10\.99\.2\.100\/32/);
  assert.match(refs.nat.dir1!, /^[0-9a-f]{64} {2}\/etc\/lvsctl\/ipvs\.rules$/m);
  if (fresh !== 'nat') {
    await lab.restore({ packages: true });
    await upAndVerify('nat');
  }
  fresh = undefined;
  for (const m of ['dr', 'tun', 'nat'] as const) {
    await upAndVerify(m);
    const now = await snapshot(m);
    for (const h of HOSTS)
      assert.equal(now[h], refs[m][h], `after switching to ${m}, ${h} differs from ${m} on a bare host`);
  }
});

// One round in CI (about 40 s); LVSCTL_SWITCH_ROUNDS=10 for the ten of issue 17 (7.7 min).
const SWITCH_ROUNDS = Math.max(1, Number(process.env.LVSCTL_SWITCH_ROUNDS) || 1);

test(
  `switch DR -> NAT and verify at once, ${SWITCH_ROUNDS} times: 0 failed probes (UDP included)`,
  { timeout: 30 * 60_000 },
  async () => {
    // Issue 17: right after a DR -> NAT switch, 2 of 42 UDP probes once failed on a correct cluster.
    // Measured 2026-12-02: a switch takes about 8 s, a verify of lab-nat about 20 s.
    await lab.restore({ packages: true });
    let retried = 0;
    for (let i = 1; i <= SWITCH_ROUNDS; i++) {
      for (const m of ['dr', 'nat'] as const) {
        const r = await lab.lvsctl(['up', '-i', inv(m), '--no-verify', '--takeover']);
        assert.equal(r.code, 0, `round ${i}, up ${m}: ${r.stdout}${r.stderr}`);
      }
      const v = await lab.lvsctl(['verify', '-i', inv('nat'), '--json']);
      const out = lab.json<{ verify: (Verdict & { retried?: number })[] }>(v);
      for (const x of out.verify) {
        assert.equal(x.hits.failed ?? 0, 0, `round ${i}, ${x.service}: ${x.problems.join('; ')}`);
        retried += x.retried ?? 0;
      }
      assert.equal(v.code, 0, `round ${i}: ${JSON.stringify(out.verify)}`);
    }
    console.log(`${SWITCH_ROUNDS} switches DR -> NAT: 0 failed probes, ${retried} UDP probes sent a second time`);
  },
);
