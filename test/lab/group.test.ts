// Issue #20, a keepalived group of three directors (inventories/lab-ha3.yaml: dir1, dir2 and the
// router as a third director, NAT): up (packages installed already), verify --failover taking the VIP
// from dir1 to dir2 to the router and back, and down leaving the router routing as before. Issue #21:
// the lab's switch floods no multicast (as many networks drop it), so the group elects and fails over
// with unicast VRRP only.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as lab from './lab.js';

const HA3 = path.join(lab.ROOT, 'inventories', 'lab-ha3.yaml');
const DIRECTORS = ['dir1', 'dir2', 'router'] as const;
const holds = async (h: lab.Host) => /10\.99\.1\.100\//.test(await lab.sh(h, 'ip -o addr show dev eth0'));

lab.useLab({ before, after }, { packages: true });

/** VRRP packets dir2 receives in 3 s, by destination: "224.0.0.18" (multicast) or its own address. */
async function vrrpArriving(): Promise<string[]> {
  const r = await lab.ssh('dir2', 'timeout 3 tcpdump -n -l -i eth0 ip proto 112 2>/dev/null || :');
  return [...r.stdout.matchAll(/ > (\d+\.\d+\.\d+\.\d+): VRRP/g)].map((m) => m[1]!);
}

test('the lab switch floods no multicast: mcast_flood off on every port of both segments', async () => {
  // mcast_flood off on every port of br-lan and br-srv (bridge ports are named <host>-<nic's last 3>)
  const flags = await lab.sh(
    'guest',
    'for p in $(ip -n lab-sw -o link show | grep -oE "[a-z0-9]+-th[01]@" | tr -d @); do bridge -n lab-sw link set dev $p mcast_flood off; echo "$p $(ip -n lab-sw -d -o link show dev $p | grep -o "mcast_flood [a-z]*")"; done',
  );
  const ports = flags.trim().split('\n');
  assert.equal(ports.length, 9, flags); // 4 hosts on br-lan, 5 on br-srv
  for (const l of ports) assert.match(l, / mcast_flood off$/);
});

test(
  'up of a group of three directors: keepalived on each, the VIP and DIP on dir1 only; a second run changes nothing',
  { timeout: 15 * 60_000 },
  async () => {
    const r = await lab.lvsctl(['up', '-i', HA3]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /PASS {2}http \(tcp 10\.99\.1\.100:80\)/);
    for (const d of DIRECTORS) {
      assert.match(await lab.sh(d, 'pidof keepalived'), /\d/, `${d} runs keepalived`);
      assert.match(
        await lab.sh(d, 'grep -E "state|priority" /etc/keepalived/keepalived.conf'),
        d === 'dir1' ? /MASTER/ : /BACKUP/,
      );
    }
    assert.deepEqual(await Promise.all(DIRECTORS.map(holds)), [true, false, false]);
    assert.match(await lab.sh('dir1', 'ip -o addr show dev eth1'), /10\.99\.2\.1\/24/);
    // the adverts that reach a BACKUP are unicast ones: multicast goes nowhere on this switch
    const seen = await vrrpArriving();
    assert.ok(seen.length >= 2, `adverts arrive at dir2: ${seen.join(' ')}`);
    assert.deepEqual([...new Set(seen)], ['10.99.1.3'], "only to dir2's own address");
    const again = await lab.lvsctl(['up', '-i', HA3, '--json', '--no-verify']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual((lab.json(again) as { changes: unknown[] }).changes, []);
  },
);

test(
  'verify --failover fails over twice (dir1 -> dir2 -> router), each within 3 s, and dir1 takes the VIP back',
  { timeout: 10 * 60_000 },
  async (t) => {
    const r = await lab.lvsctl(['verify', '-i', HA3, '--failover', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const fo = (
      lab.json(r) as {
        failover: {
          steps: { stopped: string; expected: string; takeover: string; takeoverSeconds: number }[];
          failed: number;
          requests: number;
          endHolder: string;
          ok: boolean;
        };
      }
    ).failover;
    t.diagnostic(JSON.stringify(fo.steps) + ` failed ${fo.failed} of ${fo.requests}`);
    assert.deepEqual(
      fo.steps.map((s) => [s.stopped, s.takeover]),
      [
        ['dir1', 'dir2'],
        ['dir2', 'router'],
      ],
    );
    for (const s of fo.steps) assert.ok(s.takeoverSeconds <= 3, `takeover by ${s.takeover}: ${s.takeoverSeconds} s`);
    assert.ok(fo.failed <= 6, `${fo.failed} of ${fo.requests} failed`);
    assert.equal(fo.endHolder, 'dir1');
    assert.ok(fo.ok);
    for (const d of DIRECTORS) assert.match(await lab.sh(d, 'pidof keepalived'), /\d/, `keepalived runs again on ${d}`);
    assert.deepEqual(await Promise.all(DIRECTORS.map(holds)), [true, false, false]);
  },
);

test(
  'down: no keepalived, VIP or rule left on any director; the router still forwards between the segments',
  { timeout: 10 * 60_000 },
  async () => {
    const r = await lab.lvsctl(['down', '-i', HA3]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const d of DIRECTORS) {
      assert.equal(await lab.sh(d, 'pidof keepalived || true'), '', `${d}: keepalived stopped`);
      assert.equal(await holds(d), false);
      assert.equal((await lab.sh(d, 'ipvsadm -Sn 2>/dev/null || true')).trim(), '');
    }
    assert.equal((await lab.sh('router', 'cat /proc/sys/net/ipv4/ip_forward')).trim(), '1', 'as it was before lvsctl');
    assert.match(await lab.sh('client', 'curl -s -m 5 http://10.99.2.11/'), /rs1/, 'client -> router -> rs1');
    const again = await lab.lvsctl(['down', '-i', HA3, '--json']);
    assert.deepEqual((lab.json(again) as { changes: unknown[] }).changes, [], 'a second down changes nothing');
  },
);
