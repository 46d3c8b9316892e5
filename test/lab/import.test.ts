// Issue #25 in the lab: clusters built by hand the way the seed tutorials build them (the test writes
// their scripts), read by `lvsctl import`; the inventory it writes makes `plan` change no IPVS
// service, VIP or route. The hosts are reached the way an operator's ssh_config reaches them: the
// directors by a Host alias, the real servers by the address the director's table names.
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as lab from './lab.js';

lab.useLab({ before, after }, { packages: true });

const SSH_CONFIG = path.join(lab.LAB_DIR, 'import-ssh_config');
const OUT = path.join(lab.LAB_DIR, 'imported.yaml');
const VIP = '10.99.1.100';

// How an operator reaches them: a Host alias per director, real servers by their address.
writeFileSync(
  SSH_CONFIG,
  `Host dir1
  HostName 127.0.0.1
  Port ${lab.PORTS.dir1}
Host 10.99.2.11
  HostName 127.0.0.1
  Port ${lab.PORTS.rs1}
Host 10.99.2.12
  HostName 127.0.0.1
  Port ${lab.PORTS.rs2}
Host *
  User root
  IdentityFile ${lab.KEY}
  IdentitiesOnly yes
  UserKnownHostsFile ${lab.KNOWN_HOSTS}
`,
);

/** The tutorial's boot file: rc.local holding the director's commands (it runs them at boot). */
async function rcLocal(host: lab.LabHost, body: string): Promise<void> {
  await lab.sh(host, `cat > /etc/rc.local && chmod 755 /etc/rc.local && sh /etc/rc.local`, {
    input: `#!/bin/sh\n${body}\nexit 0\n`,
  });
}

interface PlanDoc {
  changes: { host: string; kind: string; action: string; target: string }[];
}

/** Imports with the ssh_config above and plans the result: the plan's changes. */
async function importAndPlan(): Promise<{ text: string; stderr: string; changes: PlanDoc['changes'] }> {
  rmSync(OUT, { force: true });
  const imp = await lab.lvsctl(['import', '--from', 'dir1', '-F', SSH_CONFIG, '-o', OUT]);
  assert.equal(imp.code, 0, imp.stdout + imp.stderr);
  const text = readFileSync(OUT, 'utf8');
  const plan = await lab.lvsctl(['plan', '-i', OUT, '--json']);
  assert.ok(plan.code === 0 || plan.code === 2, plan.stdout + plan.stderr);
  return { text, stderr: imp.stdout + imp.stderr, changes: lab.json<PlanDoc>(plan).changes };
}

/** The changes that would touch what serves: IPVS, addresses, routes. */
const serving = (changes: PlanDoc['changes']) =>
  changes.filter((c) => ['ipvs', 'address', 'route'].includes(c.kind)).map((c) => `${c.host} ${c.action} ${c.target}`);

test(
  'a NAT director built by rc.local: import, then plan changes no service, VIP or route',
  { timeout: 10 * 60_000 },
  async () => {
    await rcLocal(
      'dir1',
      `# LVS-NAT director, from the tutorial
VIP=${VIP}
echo 1 > /proc/sys/net/ipv4/ip_forward
ip addr add $VIP/24 dev eth0 label eth0:0
ipvsadm -C
ipvsadm -A -t $VIP:80 -s wrr -p 120
ipvsadm -a -t $VIP:80 -r 10.99.2.11:80 -m -w 3
ipvsadm -a -t $VIP:80 -r 10.99.2.12:80 -m -w 1`,
    );
    // the real servers answer through the director
    for (const rs of ['rs1', 'rs2'] as const) await lab.sh(rs, 'ip route replace default via 10.99.2.2');
    assert.match(await lab.sh('client', `curl -s -m 5 -o /dev/null -w '%{http_code}' http://${VIP}/`), /^200$/);

    const { text, stderr, changes } = await importAndPlan();
    assert.match(text, /^mode: nat$/m);
    assert.match(text, /^ {2}dir1:\n {4}address: 10\.99\.1\.2\n {4}ssh:\n {6}host: dir1$/m);
    assert.match(text, /^ {2}rs1:\n {4}address: 10\.99\.2\.11$/m, 'named as it names itself');
    assert.match(text, /scheduler: wrr\n\s+persistence:\n\s+timeout: 120/);
    assert.match(text, /^ {2}dip:\n {4}address: 10\.99\.2\.2\n {4}prefix: 24\n {4}interface: eth1$/m);
    assert.match(stderr, /2 of 2 real servers read/);
    assert.match(stderr, /boot-time script on dir1: \/etc\/rc\.local \(clear, add; enabled\)/);
    assert.deepEqual(serving(changes), [], JSON.stringify(changes, null, 1));
    assert.ok(changes.length > 0, "lvsctl's own files and state are still to add");
    // reading changed nothing
    assert.match(await lab.sh('dir1', 'ipvsadm -Sn'), /-a -t 10\.99\.1\.100:80 -r 10\.99\.2\.11:80 -m -w 3/);
    assert.equal((await lab.ssh('dir1', 'test -e /etc/lvsctl || test -e /var/lib/lvsctl')).code, 1);
  },
);

test(
  'a DR cluster built by init scripts (lo:0 on the real servers): import, then plan changes no service or VIP',
  { timeout: 10 * 60_000 },
  async () => {
    await lab.restore({ packages: true });
    await rcLocal(
      'dir1',
      `VIP=${VIP}
ip addr add $VIP/32 dev eth0 label eth0:1
ipvsadm -C
ipvsadm -A -t $VIP:80 -s rr
ipvsadm -a -t $VIP:80 -r 10.99.2.11:80 -g -w 1
ipvsadm -a -t $VIP:80 -r 10.99.2.12:80 -g -w 2`,
    );
    // the tutorial's real-server init script
    for (const rs of ['rs1', 'rs2'] as const)
      await lab.sh(rs, `cat > /etc/init.d/lvs-rs && chmod 755 /etc/init.d/lvs-rs && /etc/init.d/lvs-rs start`, {
        input: `#!/bin/sh
# lvs-rs: LVS-DR real server (VIP on lo:0, no ARP for it)
VIP=${VIP}
case "$1" in
start)
  ifconfig lo:0 $VIP netmask 255.255.255.255 broadcast $VIP up 2>/dev/null || ip addr add $VIP/32 dev lo label lo:0
  echo 1 > /proc/sys/net/ipv4/conf/lo/arp_ignore
  echo 2 > /proc/sys/net/ipv4/conf/lo/arp_announce
  echo 1 > /proc/sys/net/ipv4/conf/all/arp_ignore
  echo 2 > /proc/sys/net/ipv4/conf/all/arp_announce
  ;;
esac
`,
      });
    assert.match(await lab.sh('client', `curl -s -m 5 -o /dev/null -w '%{http_code}' http://${VIP}/`), /^200$/);

    const { text, changes } = await importAndPlan();
    assert.match(text, /^mode: dr$/m);
    assert.match(text, /- host: rs2\n\s+weight: 2/);
    assert.deepEqual(serving(changes), [], JSON.stringify(changes, null, 1));
  },
);
