// Issue #7 end to end, in the lab: the keepalived pair of inventories/lab-ha.yaml (NAT, VIP and
// DIP floating, HTTP checks), failover under a 0.2 s poll, health checks removing and restoring a
// real server, a single director with checkers and no VRRP, and a config keepalived rejects never
// replacing the running one.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as lab from './lab.js';
import { labHaWithRaw } from '../unit/helpers.js';

const HA = path.join(lab.ROOT, 'inventories', 'lab-ha.yaml');
const CHECKS = path.join(lab.ROOT, 'inventories', 'lab-checks.yaml');

/** Polls a director's IPVS table until `want` holds (the checkers act every delay_loop). */
async function tableUntil(dir: lab.Host, want: (table: string) => boolean, timeoutMs = 20_000): Promise<string> {
  const end = Date.now() + timeoutMs;
  let t = await lab.sh(dir, 'ipvsadm -Sn');
  while (!want(t) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    t = await lab.sh(dir, 'ipvsadm -Sn');
  }
  return t;
}
const RS2 = / -r 10\.99\.2\.12:80 /;

// ipvsadm and keepalived installed already: the install is engine-dr's, reboot's and modes' subject
lab.useLab({ before, after }, { packages: true });

test('up of the keepalived pair verifies; a second run changes nothing', { timeout: 15 * 60_000 }, async () => {
  // dir2's operator had disabled the distribution's keepalived service: up enables it, and down
  // (below) disables it again, as it found it
  await lab.sh(
    'dir2',
    lab.INIT.dir2 === 'systemd' ? 'systemctl disable -q keepalived.service' : 'update-rc.d keepalived disable',
  );
  assert.equal(await lab.bootEnabled('dir2', 'keepalived'), false);
  const r = await lab.lvsctl(['up', '-i', HA]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /PASS {2}http \(tcp 10\.99\.1\.100:80\)/);
  for (const d of ['dir1', 'dir2'] as const) {
    assert.match(await lab.sh(d, 'pidof keepalived'), /\d/);
    assert.equal(
      (await lab.sh(d, 'stat -c %a /etc/keepalived/keepalived.conf')).trim(),
      '600',
      'holds the VRRP password: 0600',
    );
  }
  assert.match(await lab.sh('dir1', 'ip -o addr'), /10\.99\.1\.100\/24 .*eth0[\s\S]*10\.99\.2\.1\/24 .*eth1/);
  assert.doesNotMatch(await lab.sh('dir2', 'ip -o addr'), /10\.99\.1\.100/);
  assert.doesNotMatch(
    r.stdout + r.stderr,
    new RegExp(readFileSync(path.join(lab.ROOT, 'test/fixtures/lab-vrrp-password'), 'utf8').trim()),
  );
  assert.equal((await lab.lvsctl(['plan', '-i', HA])).code, 0);
  await lab.save('ha-up'); // the pair up and verified: the failover test and safety's rolling test start here
});

// The sync daemon carries established connections to the BACKUP: the sync master sends a
// connection after its third packet, from a buffer flushed every 2 s. A takeover before the copy is
// on the BACKUP breaks the connection, so these tests, and verify --failover, take the MASTER down
// only once the BACKUP holds the connection's entry.
//
// A second hazard, measured with tcpdump on every host (2026-12-02): in NAT mode, `keepalived stop`
// removes the MASTER's virtual services (and so IPVS's hooks) while the real servers still send to
// its MAC, until the BACKUP's gratuitous ARP for the DIP reaches them. In that window the old MASTER
// forwarded a real server's packet untranslated (source RIP:80); the client answered it with a
// reset, which killed the real server's side: the download broke in 3 of 4 runs, at the takeover.
// lvsctl's NAT directors now drop such packets (chain LVSCTL-GUARD, render/netfilter.ts); these
// tests check that it is in place and say how many packets it dropped.
async function guardDrops(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of ['dir1', 'dir2'] as const) {
    const chain = await lab.sh(d, 'iptables -t mangle -S POSTROUTING; iptables -t mangle -nvxL LVSCTL-GUARD');
    assert.match(chain, /^-A POSTROUTING -j LVSCTL-GUARD$/m, `${d}: the jump into the guard`);
    const drops = [...chain.matchAll(/^\s*(\d+)\s+\d+\s+DROP\s+\S+\s+--\s+\*\s+\*\s+(10\.99\.2\.1[12])\s/gm)];
    assert.equal(drops.length, 2, `${d}: a DROP for each real server:\n${chain}`);
    out[d] = drops.reduce((n, m) => n + Number(m[1]), 0);
  }
  return out;
}

/** Waits until `dir`'s connection table holds the established connection from client port `port`. */
async function syncedEntry(dir: lab.Host, port: number, timeoutMs = 15_000): Promise<void> {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const end = Date.now() + timeoutMs;
  while (!(await lab.sh(dir, `awk '$3 == "${hex}" && $8 == "ESTABLISHED"' /proc/net/ip_vs_conn`)).trim()) {
    assert.ok(Date.now() < end, `${dir} did not get the connection from port ${port} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until `dir` holds the VIP (VRRP elected it). */
async function holdsVip(dir: lab.Host, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await lab.sh(dir, 'ip -o addr show to 10.99.1.100')).trim()) {
    assert.ok(Date.now() < end, `${dir} did not take the VIP within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Before the other failover tests, for the reason given below for the pair's drain: their requests
// cut at a takeover leave dead ESTABLISHED entries (copied by the sync daemon) that drain counts as
// live on the VIP holder (measured when this test ran last in the file: drain waited its full timeout
// on such an entry, idle for 254 s). Its own download is the only connection in flight at its
// takeovers. Its download used to break off now and then (curl exit 18): the lab's web server (socat)
// quit 0.5 s after its handler exited, with up to 64 KiB still unsent, when the client paused reading
// then; svc.sh now gives it 30 s (the same steps as a script: 1 of 5 runs short before, 0 of 6 after).
test(
  'after a failover and back with a download in flight, drain waits on the VIP holder only and returns when the download ends',
  { timeout: 10 * 60_000 },
  async (t) => {
    assert.equal((await lab.lvsctl(['up', '-i', HA, '--no-verify'])).code, 0);
    await holdsVip('dir1');
    // 50 MiB at 2 MiB/s: about 25 s.
    let downloadEnded = 0;
    const download = lab
      .sh(
        'client',
        "curl -s -m 120 --limit-rate 2M --local-port 45000 -o /dev/null -w '%{http_code} %{size_download}' http://10.99.1.100/big",
      )
      .then(
        (out) => ((downloadEnded = Date.now()), out),
        // settled here, so a broken download fails this test, not the next one (its undrain runs)
        (e: Error) => ((downloadEnded = Date.now()), `broke: ${e.message}`),
      );
    await syncedEntry('dir2', 45000);
    const before = await guardDrops();
    const dest = // its own entry, by the client port (earlier tests may have left other established entries)
      (await lab.sh('dir1', 'ipvsadm -Lnc | awk \'$3 == "ESTABLISHED" && $4 ~ /:45000$/ { print $6 }\'')).trim();
    const host = dest.startsWith('10.99.2.11:') ? 'rs1' : 'rs2';
    assert.match(dest, /^10\.99\.2\.1[12]:80$/, `the download's entry on dir1: ${dest}`);
    // Fail over to dir2 and back: dir2 keeps the connection's entry, as stale, after the failback.
    // A SysV init script returns before keepalived has exited; a start before that does nothing.
    await lab.service('dir1', 'keepalived', 'stop');
    await lab.sh('dir1', 'while pidof keepalived >/dev/null; do sleep 0.2; done');
    await holdsVip('dir2');
    await lab.service('dir1', 'keepalived', 'start');
    await holdsVip('dir1');
    const d = await lab.lvsctl(['drain', host, '-i', HA, '--timeout', '120']);
    const drainEnded = Date.now();
    try {
      const got = await download;
      const tables = await Promise.all(
        (['dir1', 'dir2'] as const).map(async (h) => `${h}:\n${await lab.sh(h, 'ipvsadm -Lnc | grep -v TIME_WAIT')}`),
      );
      assert.equal(d.code, 0, `${d.stdout}${d.stderr}\ndownload: ${got}\n${tables.join('\n')}`);
      assert.equal(got, '200 52428800', 'the download completed through both takeovers');
      assert.ok(
        drainEnded >= downloadEnded - 1000 && drainEnded - downloadEnded < 8000,
        `drain returned ${(drainEnded - downloadEnded) / 1000} s after the download ended`,
      );
      assert.match(d.stdout, new RegExp(`${host}: drained on dir1, dir2 in`));
    } finally {
      t.diagnostic(`guard drops before ${JSON.stringify(before)}, after ${JSON.stringify(await guardDrops())}`);
      assert.equal((await lab.lvsctl(['undrain', host, '-i', HA])).code, 0);
    }
  },
);

// The gap `keepalived stop` leaves on the MASTER, made on purpose: its checker process removes the
// virtual services (with the last one, IPVS unhooks itself from netfilter) before its VRRP process
// releases the VIP. A client's packet in that gap reaches the director's own TCP stack; its reset
// would kill a connection the BACKUP is taking over (seen once in 14 failovers under load). The
// LVSCTL-NORESET chain drops it: the client hears nothing and retransmits.
test(
  'a director holding the VIP without its IPVS service sends the client no reset',
  { timeout: 5 * 60_000 },
  async () => {
    assert.equal((await lab.lvsctl(['up', '-i', HA, '--no-verify'])).code, 0);
    await holdsVip('dir1');
    const drops = async () =>
      Number(
        (
          await lab.sh(
            'dir1',
            'iptables -t mangle -nvxL LVSCTL-NORESET | awk \'$3 == "DROP" { n += $1 } END { print n + 0 }\'',
          )
        ).trim(),
      );
    const before = await drops();
    await lab.sh('dir1', 'ipvsadm -D -t 10.99.1.100:80');
    try {
      const r = await lab.ssh('client', 'curl -s -o /dev/null --connect-timeout 3 http://10.99.1.100/; echo "exit $?"');
      assert.match(r.stdout, /^exit 28$/m, `the connect timed out (28), it was not refused (7): ${r.stdout}`);
      assert.ok((await drops()) > before, 'LVSCTL-NORESET dropped the reset');
    } finally {
      // keepalived puts its service back when it starts (dir2 holds the VIP meanwhile)
      await lab.service('dir1', 'keepalived', 'stop');
      await lab.sh('dir1', 'while pidof keepalived >/dev/null; do sleep 0.2; done');
      await lab.service('dir1', 'keepalived', 'start');
      await holdsVip('dir1');
      await tableUntil('dir1', (t) => /-A -t 10\.99\.1\.100:80 /.test(t));
    }
  },
);

// Before the failover test: a connection in flight at a takeover leaves a dead ESTABLISHED entry
// on the old MASTER (one younger than the sync daemon's 2 s flush is not synced), and drain
// would wait on it for IPVS's 15-minute TCP timeout once that director holds the VIP again.
test(
  'keepalived pair: drain goes through keepalived.conf and a reload (same processes); stop, start, down',
  { timeout: 15 * 60_000 },
  async () => {
    const dirs = ['dir1', 'dir2'] as const;
    const pids = await Promise.all(dirs.map((d) => lab.sh(d, 'pidof keepalived')));
    const d = await lab.lvsctl(['drain', 'rs2', '-i', HA, '--timeout', '60']);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    // keepalived versions differ on weight 0: drain reads the kernel's weight back
    assert.match(d.stdout, /rs2: weight 0 read back from the kernel table on dir1, dir2/);
    for (const h of dirs)
      assert.match(
        await lab.sh(h, 'grep -A1 "real_server 10.99.2.12 80" /etc/keepalived/keepalived.conf'),
        /weight 0/,
        `${h}: weight 0 in keepalived.conf`,
      );
    assert.match(
      await tableUntil('dir1', (t) => / -r 10\.99\.2\.12:80 -m -w 0/.test(t)),
      / -r 10\.99\.2\.12:80 -m -w 0/,
    );
    assert.deepEqual(
      await Promise.all(dirs.map((h) => lab.sh(h, 'pidof keepalived'))),
      pids,
      'reloaded, not restarted',
    );
    const st = await lab.lvsctl(['status', '-i', HA, '--json']);
    assert.equal(st.code, 0, st.stdout);
    const rows = (lab.json(st) as { services: { realServers: { host: string; health: string }[] }[] }).services.flatMap(
      (s) => s.realServers,
    );
    assert.deepEqual([...new Set(rows.filter((r) => r.host === 'rs2').map((r) => r.health))], ['drained']);
    assert.equal((await lab.lvsctl(['undrain', 'rs2', '-i', HA])).code, 0);
    assert.match(
      await tableUntil('dir1', (t) => / -r 10\.99\.2\.12:80 -m -w 1/.test(t)),
      / -r 10\.99\.2\.12:80 -m -w 1/,
    );

    const stop = await lab.lvsctl(['stop', '-i', HA]);
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
    for (const h of dirs) {
      assert.equal((await lab.ssh(h, 'pidof keepalived')).code, 1, `${h}: keepalived stopped`);
      assert.doesNotMatch(await lab.sh(h, 'ip -o addr'), /10\.99\.1\.100|10\.99\.2\.1\//, `${h}: VIP and DIP released`);
    }
    assert.equal(
      (await lab.ssh('client', 'curl -s -m 2 http://10.99.1.100/')).code === 0,
      false,
      'the VIP does not answer',
    );
    assert.equal((await lab.lvsctl(['status', '-i', HA])).code, 0, 'stopped is not drift');
    // A stopped director stays stopped across a reboot: the distribution's keepalived service is
    // disabled at boot (systemd: systemctl disable; SysV: its S links became K links), so it does not
    // take the VIP back.
    for (const h of dirs)
      assert.equal(await lab.bootEnabled(h, 'keepalived'), false, `${h}: keepalived disabled at boot`);
    await lab.reboot('dir1');
    assert.equal((await lab.ssh('dir1', 'pidof keepalived')).code, 1, 'dir1: keepalived did not start at boot');
    assert.doesNotMatch(await lab.sh('dir1', 'ip -o addr'), /10\.99\.1\.100/, 'dir1: no VIP after the reboot');
    const afterReboot = await lab.lvsctl(['status', '-i', HA]);
    assert.equal(afterReboot.code, 0, `still stopped, no drift: ${afterReboot.stdout}${afterReboot.stderr}`);
    const start = await lab.lvsctl(['start', '-i', HA, '--no-verify']); // dir2's reboot below checks it
    assert.equal(start.code, 0, start.stdout + start.stderr);
    assert.match(start.stdout, /keepalived at boot: disabled -> enabled/);
    for (const h of dirs)
      assert.equal(await lab.bootEnabled(h, 'keepalived'), true, `${h}: keepalived starts at boot again`);
    await lab.reboot('dir2');
    assert.match(
      await lab.sh('dir2', 'pidof keepalived'),
      /\d/,
      'dir2: a started director runs keepalived after a reboot',
    );

    const down = await lab.lvsctl(['down', '-i', HA]);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    for (const h of dirs) {
      assert.equal((await lab.ssh(h, 'pidof keepalived')).code, 1, `${h}: keepalived stopped`);
      assert.equal(
        (await lab.sh(h, 'ls /etc/keepalived/keepalived.conf /var/lib/lvsctl 2>&1 || true'))
          .split('\n')
          .filter((l) => l && !/No such file/.test(l)).length,
        0,
        `${h}: config and state removed`,
      );
      assert.equal((await lab.sh(h, 'ipvsadm -Sn')).trim(), '', `${h}: no virtual service left`);
      assert.doesNotMatch(await lab.sh(h, 'ip -o addr'), /10\.99\.1\.100|10\.99\.2\.1\//);
      // as lvsctl found it: dir1 as the package left it, dir2 as its operator did
      assert.equal(await lab.bootEnabled(h, 'keepalived'), h === 'dir1', `${h}: keepalived at boot as before up`);
    }
    const again = await lab.lvsctl(['down', '-i', HA, '--json']);
    assert.equal(
      (lab.json(again) as { hosts: { changes: number }[] }).hosts.reduce((n, h) => n + h.changes, 0),
      0,
      'a second down changes nothing',
    );
  },
);

// One failover measured with a long download in flight (CI time: one takeover instead of two).
test(
  'verify --failover: the BACKUP serves within 3 s with at most 3 failed requests, the MASTER takes the VIP back, and with the sync daemon a 50 MiB download across the takeover completes byte-exact',
  { timeout: 10 * 60_000 },
  async (t) => {
    // stands alone: the pair up, keepalived settled (the state test 1 saved, else made here)
    if (!(await lab.resumeSaved('ha-up'))) {
      const up = await lab.lvsctl(['up', '-i', HA]);
      assert.equal(up.code, 0, up.stdout + up.stderr);
    }
    const withDownload = path.join(lab.LAB_DIR, 'lab-ha-download.yaml');
    writeFileSync(
      withDownload,
      readFileSync(HA, 'utf8').replace('  requests: 20\n', '  requests: 20\n  failover: { download: /big }\n'),
    );
    const before = await guardDrops();
    const r = await lab.lvsctl(['verify', '-i', withDownload, '--failover', '--json']);
    t.diagnostic(`guard drops before ${JSON.stringify(before)}, after ${JSON.stringify(await guardDrops())}`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const fo = (
      lab.json(r) as {
        failover: {
          stopped: string;
          takeover: string;
          takeoverSeconds: number;
          failed: number;
          requests: number;
          endHolder: string;
          longConnection?: Record<string, unknown>;
        };
      }
    ).failover;
    assert.equal(fo.stopped, 'dir1');
    assert.equal(fo.takeover, 'dir2');
    assert.ok(fo.takeoverSeconds <= 3, `takeover ${fo.takeoverSeconds} s`);
    assert.ok(fo.failed <= 3, `${fo.failed} of ${fo.requests} failed`);
    assert.equal(fo.endHolder, 'dir1');
    console.log(`failover: ${fo.takeoverSeconds} s, ${fo.failed} of ${fo.requests} requests failed`);
    const { endedSeconds: _, syncedSeconds, ...long } = fo.longConnection!;
    assert.deepEqual(long, { path: '/big', bytes: 52428800, expected: 52428800, completed: true, exact: true });
    assert.equal(typeof syncedSeconds, 'number', 'the takeover waited until the BACKUP held the connection');
  },
);

test(
  'a changed weight only reloads keepalived (SIGHUP): same process, new table',
  { timeout: 10 * 60_000 },
  async () => {
    const pids = await Promise.all((['dir1', 'dir2'] as const).map((d) => lab.sh(d, 'pidof keepalived')));
    const heavier = path.join(lab.LAB_DIR, 'lab-ha-weight.yaml');
    writeFileSync(
      heavier,
      readFileSync(HA, 'utf8').replace(
        'real_servers: [{ host: rs1 }, { host: rs2 }]',
        'real_servers: [{ host: rs1 }, { host: rs2, weight: 2 }]',
      ),
    );
    const r = await lab.lvsctl(['up', '-i', heavier, '--no-verify']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /reload keepalived/);
    assert.match(
      await tableUntil('dir1', (t) => / -r 10\.99\.2\.12:80 -m -w 2/.test(t)),
      / -r 10\.99\.2\.12:80 -m -w 2/,
    );
    assert.deepEqual(await Promise.all((['dir1', 'dir2'] as const).map((d) => lab.sh(d, 'pidof keepalived'))), pids);
    assert.equal((await lab.lvsctl(['up', '-i', HA, '--no-verify'])).code, 0);
  },
);

test(
  'a real server whose web server stops leaves the pool, verify reports it, and it comes back',
  { timeout: 10 * 60_000 },
  async () => {
    await lab.sh('rs2', '/etc/lab/svc.sh stop 80');
    try {
      assert.doesNotMatch(await tableUntil('dir1', (t) => !RS2.test(t)), RS2, 'removed by the HTTP check');
      const v = await lab.lvsctl(['verify', '-i', HA]);
      assert.equal(v.code, 1);
      assert.match(v.stdout, /rs2 is out of the pool: removed by its health check/);
      // keepalived's own removal is its business, not a change for lvsctl to undo
      assert.equal((await lab.lvsctl(['plan', '-i', HA])).code, 0);
    } finally {
      await lab.sh('rs2', '/etc/lab/svc.sh start 80');
    }
    assert.match(await tableUntil('dir1', (t) => RS2.test(t)), RS2, 'back once it answers');
    assert.equal((await lab.lvsctl(['verify', '-i', HA])).code, 0);
  },
);

test(
  'a config keepalived rejects (a missing interface, a raw fragment) is never installed, and the running keepalived keeps serving',
  { timeout: 10 * 60_000 },
  async () => {
    const before = await lab.sh('dir1', 'sha256sum /etc/keepalived/keepalived.conf; pidof keepalived');
    const bad = path.join(lab.LAB_DIR, 'lab-ha-bad.yaml');
    // eth7 exists on no director: keepalived's own config test fails on it
    writeFileSync(
      bad,
      readFileSync(HA, 'utf8').replace(
        '{ name: VI_1, interface: eth0, virtual_router_id: 51 }',
        '{ name: VI_1, interface: eth7, virtual_router_id: 51 }',
      ),
    );
    const r = await lab.lvsctl(['up', '-i', bad, '--no-verify']);
    assert.equal(r.code, 1);
    // The directors roll (the VIP holder last): dir2's refusal stops the change before dir1.
    assert.match(r.stdout, /dir2 +failed .*keepalived -t rejected the new \/etc\/keepalived\/keepalived\.conf/);
    assert.match(r.stdout, /dir1 +failed +changes=0 .*not changed: the rolling keepalived change stopped at dir2/);
    assert.equal(await lab.sh('dir1', 'sha256sum /etc/keepalived/keepalived.conf; pidof keepalived'), before);
    assert.equal(
      (await lab.sh('dir2', 'ls -a /etc/keepalived')).includes('lvsctl-check'),
      false,
      'no staged file left',
    );
    // A raw fragment passes validation (lvsctl does not know keepalived's keywords); keepalived's
    // own test on the host refuses it with its message, on the first director of the roll.
    writeFileSync(bad, labHaWithRaw({ vrrp: 'garp_master_dlay 2' }));
    const raw = await lab.lvsctl(['up', '-i', bad, '--no-verify']);
    assert.equal(raw.code, 1);
    assert.match(raw.stdout, /dir2 +failed .*keepalived -t rejected .*Unknown keyword 'garp_master_dlay'/);
    assert.match(raw.stdout, /dir1 +failed +changes=0 .*stopped at dir2/);
    assert.equal(await lab.sh('dir1', 'sha256sum /etc/keepalived/keepalived.conf; pidof keepalived'), before);
    assert.equal((await lab.lvsctl(['verify', '-i', HA])).code, 0);
  },
);

test(
  'one director with keepalived checkers and no VRRP removes and restores a dead real server',
  { timeout: 15 * 60_000 },
  async () => {
    await lab.restore({ packages: true });
    const r = await lab.lvsctl(['up', '-i', CHECKS]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(await lab.sh('dir1', 'cat /etc/keepalived/keepalived.conf'), /vrrp_instance/);
    await lab.sh('rs2', '/etc/lab/svc.sh stop 80');
    try {
      assert.doesNotMatch(await tableUntil('dir1', (t) => !RS2.test(t)), RS2);
      assert.equal((await lab.lvsctl(['verify', '-i', CHECKS])).code, 1);
    } finally {
      await lab.sh('rs2', '/etc/lab/svc.sh start 80');
    }
    assert.match(await tableUntil('dir1', (t) => RS2.test(t)), RS2);
    assert.equal((await lab.lvsctl(['verify', '-i', CHECKS])).code, 0);
  },
);
