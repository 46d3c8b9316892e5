// Issue #21, IPv6: the lab's segments carry ULA prefixes (br-lan fd99:1::/64, br-srv fd99:2::/64) next
// to IPv4. An IPv6 DR service comes up: the real servers hold the VIP as a /128 on lo, added with
// nodad (usable at once, never tentative), and — shown from the router, which shares the segment — no
// real server answers a neighbour solicitation for it, only the director. verify runs over IPv6 (TCP,
// and UDP with one-packet scheduling), also after both real servers rebooted (systemd and SysV).
// Then the cluster is switched to an IPv6 TUN service (IPv6 in IPv6: the VIP on the real servers'
// ip6tnl0), verified, and taken down. NAT stays IPv4: validation refuses IPv6 NAT.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as lab from './lab.js';

const DR6 = path.join(lab.ROOT, 'inventories', 'lab-dr6.yaml');
const TUN6 = path.join(lab.ROOT, 'inventories', 'lab-tun6.yaml');
const DR_VIP = 'fd99:2::100';
const TUN_VIP = 'fd99:1::101';
// a lab NIC's MAC is 02:00 + its IPv4 address (guest/topology.sh): dir1's eth1 is 10.99.2.2
const MAC = { dir1: '02:00:0a:63:02:02', rs1: '02:00:0a:63:02:0b', rs2: '02:00:0a:63:02:0c' } as const;

interface Verdict {
  service: string;
  ok: boolean;
  hits: Record<string, number>;
  problems: string[];
}
const out = (r: lab.Result) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

async function upVerified(inv: string): Promise<Verdict[]> {
  const r = await lab.lvsctl(['up', '-i', inv, '--json']);
  const doc = lab.json<{ verify: Verdict[] }>(r);
  assert.equal(r.code, 0, out(r));
  for (const v of doc.verify) {
    assert.ok(v.ok, `${v.service}: ${v.problems.join('; ')}`);
    assert.deepEqual(Object.keys(v.hits).sort(), ['rs1', 'rs2'], `${v.service}: both real servers answer`);
  }
  return doc.verify;
}

/** The link-layer addresses that answer a neighbour solicitation for `target`, sent from the router. */
async function neighbourAnswers(target: string): Promise<string[]> {
  const r = await lab.ssh('router', `ndisc6 -m -n -r 3 -w 1000 ${target} eth1`);
  return [
    ...new Set([...r.stdout.matchAll(/link-layer address: *([0-9A-Fa-f:]{17})/g)].map((m) => m[1]!.toLowerCase())),
  ];
}

lab.useLab({ before, after }, { packages: true });

test(
  "IPv6 DR: VIP /128 nodad on the real servers' lo, only the director answers neighbour solicitations, verify over IPv6 (TCP, UDP)",
  { timeout: 15 * 60_000 },
  async () => {
    const verdicts = await upVerified(DR6);
    assert.deepEqual(verdicts.map((v) => v.service).sort(), [
      'dns6 (udp [fd99:2::100]:5353)',
      'http6 (tcp [fd99:2::100]:80)',
    ]);
    for (const rs of ['rs1', 'rs2'] as const) {
      const lo = await lab.sh(rs, `ip -6 -o addr show dev lo to ${DR_VIP}/128`);
      assert.match(lo, new RegExp(`inet6 ${DR_VIP}/128 scope global nodad`), `${rs}: ${lo}`);
      assert.doesNotMatch(lo, /tentative|dadfailed/, `${rs}: usable at once`);
    }
    assert.match(await lab.sh('dir1', `ip -6 -o addr show dev eth1 to ${DR_VIP}`), /nodad/);
    assert.match(await lab.sh('dir1', 'ipvsadm -Sn'), /^-A -t \[fd99:2::100\]:80 -s rr$/m);
    // the router asks who has the VIP: only dir1 (several answers would make it flap between hosts)
    assert.deepEqual(await neighbourAnswers(DR_VIP), [MAC.dir1]);
    // and asks the real servers' own addresses, to show that they answer solicitations at all
    assert.deepEqual(await neighbourAnswers('fd99:2::11'), [MAC.rs1]);
    // a client request over IPv6, through the router, answered by a real server from the VIP
    assert.match(await lab.sh('client', `curl -sS -m 10 -g http://[${DR_VIP}]/`), /^rs[12]\n$/);
    // one-packet scheduling (-o): datagrams from one client socket are spread over both servers,
    // where without it they would all follow the socket's one connection entry
    assert.match(await lab.sh('dir1', 'ipvsadm -Sn'), /^-A -u \[fd99:2::100\]:5353 -s rr -o$/m);
    const answers = await lab.sh(
      'client',
      `for i in 1 2 3 4 5 6; do echo q | socat -t 2 - UDP6:[${DR_VIP}]:5353,sourceport=40053,reuseaddr; done`,
    );
    assert.deepEqual([...new Set(answers.trim().split('\n'))].sort(), ['rs1', 'rs2'], answers);
    // both real servers rebooted (rs1 boots with systemd, rs2 with SysV): their boot path puts the
    // IPv6 VIP back (nodad) and the service verifies over IPv6 with no lvsctl run in between
    for (const rs of ['rs1', 'rs2'] as const) {
      await lab.reboot(rs);
      assert.match(await lab.sh(rs, `ip -6 -o addr show dev lo to ${DR_VIP}/128`), /nodad/, `${rs} after its boot`);
    }
    const v = await lab.lvsctl(['verify', '-i', DR6]);
    assert.equal(v.code, 0, out(v));
    assert.match(v.stdout, /PASS +http6 .* rs1 .* rs2 /, out(v));
    const again = await lab.lvsctl(['plan', '-i', DR6]);
    assert.equal(again.code, 0, `a second run has nothing to change: ${out(again)}`);
  },
);

test(
  'IPv6 TUN: switched from DR, the real servers hold the VIP on ip6tnl0; verify over IPv6',
  { timeout: 15 * 60_000 },
  async () => {
    await upVerified(TUN6);
    for (const rs of ['rs1', 'rs2'] as const) {
      const tun = await lab.sh(rs, 'ip -6 -o addr show dev ip6tnl0');
      assert.match(tun, new RegExp(`inet6 ${TUN_VIP}/128 scope global nodad`), `${rs}: ${tun}`);
      assert.doesNotMatch(await lab.sh(rs, 'ip -6 -o addr show dev lo'), /fd99:2::100/, `${rs}: the DR VIP is gone`);
    }
    // ipvsadm names the default tunnel type ipip; for an IPv6 real server the kernel sends IPv6 in IPv6
    assert.match(
      await lab.sh('dir1', 'ipvsadm -Sn'),
      /^-a -t \[fd99:1::101\]:80 -r \[fd99:2::11\]:80 -i -w 1 --tun-type ipip$/m,
    );
    assert.doesNotMatch(await lab.sh('dir1', 'ip -6 -o addr'), /fd99:2::100/, 'the DR VIP left the director');

    const down = await lab.lvsctl(['down', '-i', TUN6]);
    assert.equal(down.code, 0, out(down));
    for (const h of ['dir1', 'rs1', 'rs2'] as const)
      assert.doesNotMatch(await lab.sh(h, 'ip -6 -o addr'), /fd99:1::101|fd99:2::100/, `${h}: no VIP left`);
    assert.equal((await lab.sh('dir1', 'ipvsadm -Sn')).trim(), '');
  },
);
