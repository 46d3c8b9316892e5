// Issue #8, "Reboot", and #21: after `lvsctl up` of inventories/lab-dr.yaml, a reboot of the director
// and of both real servers brings the cluster back by the hosts' own boot path, with no lvsctl run in
// between. dir1 and rs1 boot with systemd (lvsctl.service, systemd-modules-load, systemd-sysctl), rs2
// with SysV (/etc/init.d/lvsctl, modules-load.d, sysctl.d): both paths are proven. Each host is held
// right after its netns is recreated, before the boot path runs, to prove that what comes back is the
// boot path's work and not a leftover: no IPVS rule, no VIP, the lab's start sysctls. Before dir1
// boots, ip_vs is unloaded from the guest's kernel: its boot path loads it again.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as lab from './lab.js';

const INV = path.join(lab.ROOT, 'inventories', 'lab-dr.yaml');
const VIP = '10.99.2.100';

const out = (r: lab.Result) => `exit ${r.code}\n${r.stdout}${r.stderr}`;

/** `/proc/sys/net/ipv4/conf/IF/KEY` of a host's netns for each IF/KEY, as { 'IF/KEY': value }. */
async function sysctls(
  host: 'dir1' | 'rs1' | 'rs2',
  keys: string[],
  via: 'netns' | 'ssh',
): Promise<Record<string, string>> {
  const cmd = `cd /proc/sys/net/ipv4/conf && grep -H . ${keys.join(' ')}`;
  const text = via === 'netns' ? await lab.netns(host, cmd) : await lab.sh(host, cmd);
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => l.split(':') as [string, string]),
  );
}

const RS_ARP = ['all/arp_ignore', 'all/arp_announce', 'eth0/arp_ignore', 'eth0/arp_announce'];
const DIR_RP = ['eth1/rp_filter'];

let ipvsAfterUp = '';

lab.useLab({ before, after });

test(
  "up of the DR inventory from bare hosts; each host's boot path is installed (systemd or SysV)",
  { timeout: 15 * 60_000 },
  async () => {
    assert.deepEqual(
      [lab.INIT.dir1, lab.INIT.rs1, lab.INIT.rs2],
      ['systemd', 'systemd', 'sysv'],
      'the lab boots dir1 and rs1 with systemd, rs2 with SysV',
    );
    const r = await lab.lvsctl(['up', '-i', INV]);
    assert.equal(r.code, 0, out(r));
    ipvsAfterUp = await lab.sh('dir1', 'ipvsadm -Sn');
    assert.match(ipvsAfterUp, /^-A -t 10\.99\.2\.100:80 -s rr$/m);
    // what the boot path will run: lvsctl.service enabled (systemd), or the init script and its rc2.d
    // start link (SysV), and not the other
    for (const h of ['dir1', 'rs1', 'rs2'] as const) {
      if (lab.INIT[h] === 'systemd') {
        assert.equal(
          await lab.sh(h, 'systemctl is-enabled lvsctl.service'),
          'enabled\n',
          `${h}: lvsctl.service enabled`,
        );
        assert.equal(await lab.sh(h, 'ls /etc/rc2.d | grep -c lvsctl || :'), '0\n', `${h}: no rc link`);
        if (h === 'dir1') assert.match(await lab.sh(h, 'cat /etc/modules-load.d/lvsctl.conf'), /^ip_vs$/m);
      } else {
        const links = await lab.sh(h, 'test -x /etc/init.d/lvsctl && ls /etc/rc2.d');
        assert.match(links, /^S\d\dlvsctl$/m, `${h}: rc2.d start link for lvsctl`);
      }
    }
    // what lvsctl set, so that "back to the start values" below means something
    assert.deepEqual(await sysctls('rs1', RS_ARP, 'ssh'), {
      'all/arp_ignore': '1',
      'all/arp_announce': '2',
      'eth0/arp_ignore': '1',
      'eth0/arp_announce': '2',
    });
    assert.deepEqual(await sysctls('dir1', DIR_RP, 'ssh'), { 'eth1/rp_filter': '2' });
  },
);

for (const host of ['dir1', 'rs1', 'rs2'] as const) {
  test(
    `reboot ${host}: held before its boot path it has no IPVS rule, no VIP, start sysctls; the boot path restores it`,
    { timeout: 10 * 60_000 },
    async () => {
      assert.ok(ipvsAfterUp, 'up ran');
      const mark = await lab.bootMark(host);

      await lab.reboot(host, { hold: true });
      // really held: no process of the host lives in its netns, so nothing could have restored anything
      assert.equal((await lab.sh('guest', `ip netns pids ${host}`)).trim(), '', 'no process in the held netns');

      // the netns's own IPVS table (ip_vs is loaded in the one kernel, so the file exists): empty
      const ipvs = await lab.netns(host, 'cat /proc/net/ip_vs');
      assert.match(ipvs, /^IP Virtual Server version/, ipvs);
      assert.deepEqual(
        ipvs.split('\n').filter((l) => /^(TCP|UDP|FWM|SCTP) /.test(l)),
        [],
        `empty IPVS table:\n${ipvs}`,
      );
      const addrs = await lab.netns(host, 'ip -o addr show');
      assert.ok(!addrs.includes(`${VIP}/`), `no VIP on any interface:\n${addrs}`);
      assert.match(addrs, /eth\d +inet 10\.99\.2\.\d+\/24/, 'the "hardware" is there');
      if (host === 'dir1') {
        // the lab's start value (strict), not lvsctl's 2
        assert.deepEqual(await sysctls(host, DIR_RP, 'netns'), { 'eth1/rp_filter': '1' });
      } else {
        assert.deepEqual(await sysctls(host, RS_ARP, 'netns'), {
          'all/arp_ignore': '0',
          'all/arp_announce': '0',
          'eth0/arp_ignore': '0',
          'eth0/arp_announce': '0',
        });
      }

      if (host === 'dir1') {
        // No other netns has a virtual service now (DR: only dir1 had any), so ip_vs and its schedulers can leave the
        // kernel: what loads it again below is dir1's own boot path. A netns's IPVS state goes with
        // the netns asynchronously, so the unload is retried.
        await lab.sh(
          'guest',
          "for i in $(seq 1 50); do modprobe -r $(awk '/^ip_vs_/{print $1}' /proc/modules) ip_vs 2>/dev/null && break; sleep 0.2; done; ! grep -q '^ip_vs ' /proc/modules",
        );
      }

      await lab.boot(host);
      assert.notEqual(await lab.bootMark(host), mark, 'a new boot (a new PID 1)');
      const log = await lab.bootLog(host);
      const script = host === 'dir1' ? 'lvsctl-director' : 'lvsctl-realserver';
      if (lab.INIT[host] === 'systemd') {
        // systemd ran lvsctl.service after systemd-modules-load and systemd-sysctl, it did not fail,
        // and the journal holds the script's own output
        assert.equal((await lab.ssh(host, 'systemctl is-failed lvsctl.service')).stdout, 'active\n', log);
        assert.equal(await lab.sh(host, 'systemctl is-active systemd-sysctl.service'), 'active\n', log);
        assert.match(
          await lab.sh(host, 'journalctl -b -u lvsctl.service -o cat --no-pager'),
          new RegExp(`^${script}: started$`, 'm'),
        );
        if (host === 'dir1') {
          assert.match(await lab.sh('guest', 'cat /proc/modules'), /^ip_vs /m, 'ip_vs loaded again');
          assert.match(
            await lab.sh(host, 'journalctl -b -u systemd-modules-load.service -o cat --no-pager'),
            /Inserted module 'ip_vs'/,
            "by systemd-modules-load, from lvsctl's modules-load.d file",
          );
        }
      } else {
        // the boot path ran lvsctl's init script, and it succeeded (host-boot.sh logs "rc: S exit N" on failure)
        // (not anchored at the line start: procps's init script leaves its line unterminated)
        assert.match(log, /rc: \/etc\/rc2\.d\/S\d\dlvsctl start$/m, log);
        assert.doesNotMatch(log, /^rc: \S+lvsctl exit \d+$/m, log);
        assert.match(log, new RegExp(`^${script}: started$`, 'm'), log);
      }
      if (host === 'dir1') {
        assert.equal(await lab.sh(host, 'ipvsadm -Sn'), ipvsAfterUp);
        assert.deepEqual(await sysctls(host, DIR_RP, 'ssh'), { 'eth1/rp_filter': '2' });
        assert.match(await lab.sh(host, 'ip -o addr show dev eth1'), /inet 10\.99\.2\.100\/24 /);
      } else {
        assert.deepEqual(await sysctls(host, RS_ARP, 'ssh'), {
          'all/arp_ignore': '1',
          'all/arp_announce': '2',
          'eth0/arp_ignore': '1',
          'eth0/arp_announce': '2',
        });
        assert.match(await lab.sh(host, 'ip -o addr show dev lo'), /inet 10\.99\.2\.100\/32 .* lo:0/);
      }
    },
  );
}

test(
  'after the three reboots, with no lvsctl run in between: verify passes, plan has nothing to change, same IPVS table',
  { timeout: 15 * 60_000 },
  async () => {
    assert.ok(ipvsAfterUp, 'up ran');
    const v = await lab.lvsctl(['verify', '-i', INV]);
    assert.equal(v.code, 0, out(v));
    assert.match(v.stdout, /PASS +http/, out(v));
    const p = await lab.lvsctl(['plan', '-i', INV]);
    assert.equal(p.code, 0, `plan after the reboots should be empty: ${out(p)}`);
    assert.equal(await lab.sh('dir1', 'ipvsadm -Sn'), ipvsAfterUp);
  },
);
