// Issue #22, active-active (inventories/lab-aa.yaml: LVS-DR, two VRRP instances, dir1 the MASTER
// of VI_1 with VIP 10.99.2.100, dir2 of VI_2 with VIP 10.99.2.101): each director holds its own
// VIP; stopping keepalived on dir1 moves only VI_1's VIP, and it comes back; verify --failover
// does the same for each master in turn and reports per instance. The lab is restored afterwards
// (useLab); `down` of a keepalived pair is keepalived.test's subject.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FailoverResult } from '../../src/verify/failover.js';
import * as lab from './lab.js';

const AA = path.join(lab.ROOT, 'inventories', 'lab-aa.yaml');
const VIP = { VI_1: '10.99.2.100', VI_2: '10.99.2.101' } as const;

/** The lab VIPs a director holds, in order. */
async function held(d: 'dir1' | 'dir2'): Promise<string[]> {
  const out = await lab.sh(d, 'ip -o -4 addr show dev eth1');
  return Object.values(VIP).filter((v) => out.includes(` ${v}/`));
}

const holding = async () => ({ dir1: await held('dir1'), dir2: await held('dir2') });

/** The real server's name from each VIP (the lab's services answer with it). */
async function answers(): Promise<string[]> {
  const out = await lab.sh(
    'client',
    `for v in ${Object.values(VIP).join(' ')}; do curl -s -m 2 http://$v/ || echo FAIL; done`,
  );
  return out.trim().split('\n');
}

lab.useLab({ before, after }, { packages: true });

test(
  'up: each director holds the VIP of the instance it is MASTER of; both VIPs answer',
  { timeout: 10 * 60_000 },
  async () => {
    // verify runs in the failover test below
    const r = await lab.lvsctl(['up', '-i', AA, '--no-verify']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const own = JSON.stringify({ dir1: [VIP.VI_1], dir2: [VIP.VI_2] });
    await lab.until(
      'dir1 holds VI_1 only and dir2 VI_2 only',
      20_000,
      async () => JSON.stringify(await holding()) === own,
    );
    assert.match(await lab.sh('dir1', 'grep -c vrrp_sync_group /etc/keepalived/keepalived.conf || :'), /^0/);
    // the checkers have just started (verify would first settle): poll until both VIPs answer
    await lab.until('both VIPs answer', 20_000, async () => (await answers()).every((a) => /^rs[12]/.test(a)));
  },
);

test(
  'keepalived stopped on dir1: only VI_1 moves to dir2, dir2 keeps VI_2; both return when it starts',
  { timeout: 5 * 60_000 },
  async () => {
    const t0 = Date.now();
    await lab.service('dir1', 'keepalived', 'stop');
    try {
      await lab.until('dir2 holds both VIPs', 15_000, async () => (await held('dir2')).length === 2);
      const moved = (Date.now() - t0) / 1000;
      assert.deepEqual(await holding(), { dir1: [], dir2: [VIP.VI_1, VIP.VI_2] });
      for (const a of await answers()) assert.match(a, /^rs[12]/);
      console.log(`VI_1 on dir2 ${moved.toFixed(1)} s after the stop`);
    } finally {
      await lab.service('dir1', 'keepalived', 'start');
    }
    await lab.until('dir1 takes VI_1 back', 15_000, async () => (await held('dir1')).length === 1);
    await lab.until('dir2 gives VI_1 up', 5_000, async () => (await held('dir2')).length === 1);
    assert.deepEqual(await holding(), { dir1: [VIP.VI_1], dir2: [VIP.VI_2] });
    await lab.until('both VIPs answer again', 20_000, async () => (await answers()).every((a) => /^rs[12]/.test(a)));
  },
);

test(
  'verify --failover: each master in turn, its VIP taken over, the other VIP unmoved, reported per instance',
  { timeout: 5 * 60_000 },
  async () => {
    const r = await lab.lvsctl(['verify', '-i', AA, '--failover', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const fos = (
      lab.json(r) as { failovers: (FailoverResult & Required<Pick<FailoverResult, 'instance' | 'others'>>)[] }
    ).failovers;
    assert.deepEqual(
      fos.map((f) => [f.instance, f.vip, f.stopped, f.takeover, f.endHolder]),
      [
        ['VI_1', VIP.VI_1, 'dir1', 'dir2', 'dir1'],
        ['VI_2', VIP.VI_2, 'dir2', 'dir1', 'dir2'],
      ],
    );
    for (const f of fos) {
      assert.ok(f.ok && (f.takeoverSeconds ?? 99) <= 3 && f.failed <= 3, JSON.stringify(f));
      // the other director's VIP stayed where it was while this one was down
      assert.deepEqual(
        f.others.map((o) => [o.vip, o.holder, o.after]),
        f.instance === 'VI_1' ? [[VIP.VI_2, 'dir2', 'dir2']] : [[VIP.VI_1, 'dir1', 'dir1']],
      );
      console.log(`${f.instance}: takeover ${f.takeoverSeconds} s, ${f.failed} of ${f.requests} failed`);
    }
  },
);
