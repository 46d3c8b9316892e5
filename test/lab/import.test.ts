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
const PASSWORD = path.join(lab.LAB_DIR, 'dir1.vrrp-password');
const OUT = path.join(lab.LAB_DIR, 'imported.yaml');
const VIP = '10.99.1.100';

// How an operator reaches them: a Host alias per director, real servers by their address.
writeFileSync(
  SSH_CONFIG,
  `Host dir1
  HostName 127.0.0.1
  Port ${lab.PORTS.dir1}
Host dir2
  HostName 127.0.0.1
  Port ${lab.PORTS.dir2}
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

/** `action` while the client requests the VIP every 0.1 s (2 s timeout): its result and the loop's count. */
async function underCurlLoop(action: () => Promise<lab.Result>): Promise<{ up: lab.Result; loopOut: string }> {
  const stop = '/run/lvsctl-test-loop-stop';
  await lab.sh('client', `rm -f ${stop}`);
  const loop = lab.ssh(
    'client',
    `n=0; f=0; while [ ! -e ${stop} ]; do n=$((n+1)); curl -s -m 2 -o /dev/null -w '%{http_code}\\n' http://${VIP}/ | grep -q '^200$' || f=$((f+1)); sleep 0.1; done; echo requests=$n failures=$f`,
    { timeoutMs: 8 * 60_000 },
  );
  await new Promise((r) => setTimeout(r, 1000));
  const up = await action();
  await new Promise((r) => setTimeout(r, 1000));
  await lab.sh('client', `touch ${stop}`);
  return { up, loopOut: (await loop).stdout };
}

interface PlanDoc {
  changes: { host: string; kind: string; action: string; target: string; description: string }[];
}

/** Imports with the ssh_config above and plans the result: the plan's changes. */
async function importAndPlan(from = ['dir1']): Promise<{ text: string; stderr: string; changes: PlanDoc['changes'] }> {
  rmSync(OUT, { force: true });
  rmSync(PASSWORD, { force: true });
  const imp = await lab.lvsctl(['import', ...from.flatMap((f) => ['--from', f]), '-F', SSH_CONFIG, '-o', OUT]);
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
    assert.match(
      stderr,
      /boot-time script on dir1: \/etc\/rc\.local \(clears the IPVS table, adds virtual services; enabled\)/,
    );
    assert.deepEqual(serving(changes), [], JSON.stringify(changes, null, 1));
    assert.ok(changes.length > 0, "lvsctl's own files and state are still to add");
    // reading changed nothing
    const tableBefore = await lab.sh('dir1', 'ipvsadm -Sn');
    assert.match(tableBefore, /-a -t 10\.99\.1\.100:80 -r 10\.99\.2\.11:80 -m -w 3/);
    assert.equal((await lab.ssh('dir1', 'test -e /etc/lvsctl || test -e /var/lib/lvsctl')).code, 1);
    assert.ok(
      changes.some((c) => c.host === 'dir1' && c.kind === 'state' && /take over what runs here/.test(c.description)),
      'plan says what up --takeover records as found',
    );

    // up refuses to take over without the word, and changes nothing
    const refused = await lab.lvsctl(['up', '-i', OUT, '--no-verify']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /lvsctl did not create; --takeover takes them over/);
    assert.equal((await lab.ssh('dir1', 'test -e /var/lib/lvsctl/state.json')).code, 1, 'nothing written');

    // with the word, still refused while rc.local would redo the table at boot
    const fights = await lab.lvsctl(['up', '-i', OUT, '--no-verify', '--takeover']);
    assert.notEqual(fights.code, 0);
    assert.match(
      fights.stdout + fights.stderr,
      /\/etc\/rc\.local \(clears the IPVS table, adds virtual services\).*--disable-boot-scripts/,
    );
    assert.equal((await lab.ssh('dir1', 'test -e /var/lib/lvsctl/state.json')).code, 1, 'nothing written');

    // up --takeover --disable-boot-scripts under a 0.1 s curl loop: no failed request
    const { up, loopOut } = await underCurlLoop(() =>
      lab.lvsctl(['up', '-i', OUT, '--no-verify', '--takeover', '--disable-boot-scripts']),
    );
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(loopOut, /failures=0/);
    assert.ok(Number(/requests=(\d+)/.exec(loopOut)?.[1]) >= 5, loopOut);
    assert.equal((await lab.ssh('dir1', 'test -x /etc/rc.local')).code, 1, 'rc.local no longer runs at boot');
    assert.equal((await lab.lvsctl(['plan', '-i', OUT])).code, 0, 'converged');

    // down hands the cluster back as it was found: the VIP, the DIP and the table stay
    const down = await lab.lvsctl(['down', '-i', OUT, '--yes']);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.equal(await lab.sh('dir1', 'ipvsadm -Sn'), tableBefore);
    assert.match(await lab.sh('dir1', 'ip -o addr'), /inet 10\.99\.1\.100\/24 .*eth0/);
    assert.match(await lab.sh('client', `curl -s -m 5 -o /dev/null -w '%{http_code}' http://${VIP}/`), /^200$/);
    assert.equal((await lab.ssh('dir1', 'test -e /var/lib/lvsctl/state.json')).code, 1, 'lvsctl forgot the host');
    assert.equal((await lab.ssh('dir1', 'test -x /etc/rc.local')).code, 0, 'rc.local runs at boot again');
  },
);

test(
  'a DR cluster built by init scripts (lo:0 on the real servers): import, plan changes no service or VIP; taken over and handed back',
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

    // taken over under a 0.1 s curl loop (the director's rc.local disabled), then handed back
    const rsState =
      'ip -o addr show dev lo; cat /proc/sys/net/ipv4/conf/lo/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce';
    const before = { table: await lab.sh('dir1', 'ipvsadm -Sn'), rs1: await lab.sh('rs1', rsState) };
    const { up, loopOut } = await underCurlLoop(() =>
      lab.lvsctl(['up', '-i', OUT, '--no-verify', '--takeover', '--disable-boot-scripts']),
    );
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(loopOut, /failures=0/);
    assert.equal((await lab.lvsctl(['plan', '-i', OUT])).code, 0, 'converged');
    const down = await lab.lvsctl(['down', '-i', OUT, '--yes']);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.equal(await lab.sh('dir1', 'ipvsadm -Sn'), before.table);
    assert.equal(await lab.sh('rs1', rsState), before.rs1, "rs1's lo:0 VIP and ARP settings as found");
    assert.equal((await lab.ssh('dir1', 'test -x /etc/rc.local')).code, 0, 'rc.local runs at boot again');
    for (const h of ['dir1', 'rs1', 'rs2'] as const)
      assert.equal((await lab.ssh(h, 'test -e /var/lib/lvsctl')).code, 1, `${h}: lvsctl forgot the host`);
    assert.match(await lab.sh('client', `curl -s -m 5 -o /dev/null -w '%{http_code}' http://${VIP}/`), /^200$/);
  },
);

/** The tutorials' keepalived.conf for one side of a DR pair with two virtual_server blocks. */
const kaConf = (state: string, priority: number) => `! keepalived.conf, LVS-DR pair (tutorial)
global_defs {
   router_id LVS_${state}
}
vrrp_instance VI_1 {
    state ${state}
    interface eth0
    virtual_router_id 61
    priority ${priority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass lvs61
    }
    virtual_ipaddress {
        ${VIP}/24 dev eth0
    }
}
virtual_server ${VIP} 80 {
    delay_loop 3
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 10.99.2.11 80 {
        weight 2
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 2
            retry 1
        }
    }
    real_server 10.99.2.12 80 {
        weight 1
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            connect_timeout 2
            retry 1
        }
    }
}
virtual_server ${VIP} 8080 {
    delay_loop 3
    lb_algo rr
    lb_kind DR
    persistence_timeout 60
    protocol TCP
    real_server 10.99.2.11 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
    real_server 10.99.2.12 8080 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
`;

test(
  'a keepalived DR pair with two virtual_server blocks: import both directors, plan changes no service, VIP or route',
  { timeout: 10 * 60_000 },
  async () => {
    await lab.restore({ packages: true });
    await lab.sh('dir1', 'cat > /etc/keepalived/keepalived.conf', { input: kaConf('MASTER', 150) });
    await lab.sh('dir2', 'cat > /etc/keepalived/keepalived.conf', { input: kaConf('BACKUP', 100) });
    for (const d of ['dir1', 'dir2'] as const) await lab.service(d, 'keepalived', 'start');
    for (const rs of ['rs1', 'rs2'] as const)
      await lab.sh(
        rs,
        `ip addr add ${VIP}/32 dev lo label lo:0; for i in lo all; do echo 1 > /proc/sys/net/ipv4/conf/$i/arp_ignore; echo 2 > /proc/sys/net/ipv4/conf/$i/arp_announce; done`,
      );
    await lab.until('dir1 holds the VIP and keepalived programmed both services', 20_000, async () => {
      const out = await lab.sh('dir1', `ip -o addr show to ${VIP}; ipvsadm -Sn`);
      return out.includes(`inet ${VIP}/24`) && /-a -t 10\.99\.1\.100:8080 -r 10\.99\.2\.12:8080 -g -w 1/.test(out);
    });
    assert.match(await lab.sh('client', `curl -s -m 5 -o /dev/null -w '%{http_code}' http://${VIP}/`), /^200$/);
    const tableBefore = await lab.sh('dir1', 'ipvsadm -Sn');

    const { text, stderr, changes } = await importAndPlan(['dir1', 'dir2']);
    assert.match(text, /^mode: dr$/m);
    assert.match(
      text,
      /- host: dir1\n\s+state: MASTER\n\s+priority: 150\n\s+- host: dir2\n\s+state: BACKUP\n\s+priority: 100/,
    );
    assert.match(text, /virtual_router_id: 61/);
    assert.match(text, /password_file: dir1\.vrrp-password/);
    assert.doesNotMatch(text + stderr, /lvs61/, 'the password is in its own file only');
    assert.equal(readFileSync(PASSWORD, 'utf8'), 'lvs61\n');
    assert.match(stderr, /2 of 2 real servers read/);
    assert.deepEqual(serving(changes), [], JSON.stringify(changes, null, 1));
    assert.equal(await lab.sh('dir1', 'ipvsadm -Sn'), tableBefore, 'reading changed nothing');
    for (const d of ['dir1', 'dir2'])
      assert.ok(
        changes.some(
          (c) =>
            c.host === d &&
            c.kind === 'state' &&
            /take over what runs here.*\/etc\/keepalived\/keepalived\.conf/.test(c.description),
        ),
        `${d}: plan says its keepalived.conf is found`,
      );

    // up --takeover under a 0.1 s curl loop: lvsctl's keepalived.conf, reloaded director by director
    const { up, loopOut } = await underCurlLoop(() => lab.lvsctl(['up', '-i', OUT, '--no-verify', '--takeover']));
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(loopOut, /failures=0/);
    assert.equal((await lab.lvsctl(['plan', '-i', OUT])).code, 0, 'converged');
    assert.match(await lab.sh('dir1', `ip -o addr show to ${VIP}`), /inet 10\.99\.1\.100\/24/, 'dir1 kept the VIP');
    assert.doesNotMatch(await lab.sh('dir1', 'cat /etc/keepalived/keepalived.conf'), /LVS_MASTER/, "lvsctl's file");

    // down: the operator's keepalived.conf back on both, keepalived running on it, the VIP still served
    const down = await lab.lvsctl(['down', '-i', OUT, '--yes']);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.equal(await lab.sh('dir1', 'cat /etc/keepalived/keepalived.conf'), kaConf('MASTER', 150));
    assert.equal(await lab.sh('dir2', 'cat /etc/keepalived/keepalived.conf'), kaConf('BACKUP', 100));
    for (const d of ['dir1', 'dir2'] as const) {
      assert.match(await lab.sh(d, 'pidof keepalived'), /\d/, `${d}: keepalived runs on`);
      assert.equal((await lab.ssh(d, 'test -e /var/lib/lvsctl')).code, 1, `${d}: lvsctl forgot the host`);
    }
    await lab.until('dir1 holds the VIP with the services of the found file', 20_000, async () => {
      const out = await lab.sh('dir1', `ip -o addr show to ${VIP}; ipvsadm -Sn`);
      return out.includes(`inet ${VIP}/24`) && out.includes('-a -t 10.99.1.100:8080 -r 10.99.2.12:8080 -g -w 1');
    });
    assert.match(await lab.sh('client', `curl -s -m 5 -o /dev/null -w '%{http_code}' http://${VIP}/`), /^200$/);
  },
);
