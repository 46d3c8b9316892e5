// Issue 23 on real hosts: one run at a time (locks as leases, a killed run's lock ends by itself),
// and no silent takeover of hosts that another cluster's inventory set up.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { STATE_FILE } from '../../src/facts/script.js';
import { LOCK_FILE } from '../../src/lock/lease.js';
import { MANAGED_PATHS } from '../../src/render/paths.js';
import * as lab from './lab.js';

const DR = path.join(lab.ROOT, 'inventories', 'lab-dr.yaml');
const NAT = path.join(lab.ROOT, 'inventories', 'lab-nat.yaml');
const HOSTS = ['client', 'dir1', 'rs1', 'rs2'] as const;

/** lab-dr with the https service's weights changed (rs1:rs2), next to .lab so its paths hold. */
function weights(name: string, rs1: number, rs2: number): string {
  const file = path.join(lab.LAB_DIR, `${name}.yaml`);
  writeFileSync(
    file,
    readFileSync(DR, 'utf8').replace(
      '          - { host: rs1, weight: 1 }\n          - { host: rs2, weight: 1 }',
      `          - { host: rs1, weight: ${rs1} }\n          - { host: rs2, weight: ${rs2} }`,
    ),
  );
  return file;
}

const httpsWeights = async () =>
  (await lab.sh('dir1', 'ipvsadm -Sn'))
    .split('\n')
    .filter((l) => / -t 10\.99\.2\.100:443 -r /.test(l))
    .map((l) => /-r (\S+) .* -w (\d+)/.exec(l)!.slice(1, 3).join('='))
    .sort()
    .join(' ');

/** Resolves once the run lock exists on the host (a run holds it). */
async function locked(host: lab.Host): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await lab.ssh(host, `test -s ${LOCK_FILE}`)).code === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${host}: no run lock within 60 s`);
}

lab.useLab({ before, after });

test(
  'two runs at once: the second is refused at once naming the first, or waits with --wait-lock; the table is exactly one inventory',
  { timeout: 15 * 60_000 },
  async () => {
    await lab.restore({ packages: true });
    const a = weights('lab-dr-w3', 3, 1);
    const b = weights('lab-dr-w5', 5, 1);
    const first = lab.lvsctlSpawn(['up', '-i', a, '--no-verify']);
    await locked('dir1');
    // plan takes no lock, and says who holds it
    const plan = await lab.lvsctl(['plan', '-i', b, '--json']);
    const dir1 = (
      lab.json(plan) as { hosts: { host: string; lock?: { command: string; cluster: string } }[] }
    ).hosts.find((h) => h.host === 'dir1')!;
    assert.equal(dir1.lock?.command, 'up', JSON.stringify(dir1));
    assert.equal(dir1.lock?.cluster, 'lab-dr');
    const t0 = Date.now();
    const second = await lab.lvsctl(['up', '-i', b, '--no-verify']);
    assert.equal(second.code, 1, second.stdout + second.stderr);
    assert.match(second.stderr, /locked by another run: .*by root on \S+ \(pid \d+, lvsctl up, cluster lab-dr\)/);
    assert.ok(Date.now() - t0 < 15_000, 'refused at once, not after the first run');
    const one = await first.done;
    assert.equal(one.code, 0, one.stdout + one.stderr);
    assert.equal(await httpsWeights(), '10.99.2.11:443=3 10.99.2.12:443=1', 'the first inventory, exactly');
    for (const h of HOSTS) assert.equal((await lab.ssh(h, `test -e ${LOCK_FILE}`)).code, 1, `${h}: lock released`);

    // --wait-lock: the second run waits for the first and then applies its own inventory
    const third = lab.lvsctlSpawn(['up', '-i', a, '--no-verify']);
    await locked('dir1');
    const waiting = await lab.lvsctl(['up', '-i', b, '--no-verify', '--wait-lock', '600']);
    assert.equal((await third.done).code, 0);
    assert.equal(waiting.code, 0, waiting.stdout + waiting.stderr);
    assert.match(waiting.stdout + waiting.stderr, /waiting up to 600 s for the lock: .*dir1 by root/);
    assert.equal(await httpsWeights(), '10.99.2.11:443=5 10.99.2.12:443=1', 'the second inventory, exactly');
  },
);

test(
  'a controller killed with SIGKILL: its lock ends after --lock-ttl and the next run proceeds',
  { timeout: 10 * 60_000 },
  async () => {
    const a = weights('lab-dr-w3', 3, 1);
    const killed = lab.lvsctlSpawn(['up', '-i', a, '--no-verify', '--lock-ttl', '8']);
    await locked('dir1');
    killed.child.kill('SIGKILL');
    await killed.done;
    const t0 = Date.now();
    const next = await lab.lvsctl(['up', '-i', DR, '--no-verify', '--wait-lock', '120']);
    const waited = (Date.now() - t0) / 1000;
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.match(
      next.stdout + next.stderr,
      /the lock of root on .* had ended \d+ s before \(that run stopped renewing it\): taken over/,
    );
    assert.ok(waited < 8 + 20, `proceeded ${waited} s after the kill`);
    assert.equal(await httpsWeights(), '10.99.2.11:443=1 10.99.2.12:443=1', 'the next run converged');
  },
);

test(
  "another cluster's inventory: refused before any change (plan says why) unless --takeover",
  { timeout: 10 * 60_000 },
  async () => {
    const paths = [...Object.values(MANAGED_PATHS), STATE_FILE];
    const before = await Promise.all(HOSTS.map((h) => lab.state(h, paths)));
    const up = await lab.lvsctl(['up', '-i', NAT, '--no-verify']);
    assert.equal(up.code, 1);
    assert.match(
      up.stdout + up.stderr,
      /belongs to cluster lab-dr .*not to this inventory's cluster lab-nat; --takeover/,
    );
    assert.deepEqual(await Promise.all(HOSTS.map((h) => lab.state(h, paths))), before, 'no host changed');
    const plan = await lab.lvsctl(['plan', '-i', NAT]);
    assert.equal(plan.code, 1);
    assert.match(plan.stdout, /dir1 +failed +.*belongs to cluster lab-dr/);
    const shown = await lab.lvsctl(['plan', '-i', NAT, '--takeover']);
    assert.equal(shown.code, 2, shown.stdout + shown.stderr);
    assert.match(shown.stdout, /take this host over from cluster lab-dr/);
    const taken = await lab.lvsctl(['up', '-i', NAT, '--takeover']);
    assert.equal(taken.code, 0, taken.stdout + taken.stderr);
    assert.match(await lab.sh('dir1', `cat ${STATE_FILE}`), /"cluster": "lab-nat"/);
    assert.equal((await lab.lvsctl(['plan', '-i', NAT])).code, 0, 'now its own: nothing to change, no refusal');
  },
);
