// Issue #8 end to end, in the lab on kernel IPVS (inventories/lab-dr.yaml: one director, two real
// servers): status and drift, stop/start, drain/undrain under a running download, down and
// down --purge back to the hosts' state before `up`. lvsctl runs as a child process.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { STATE_FILE } from '../../src/facts/script.js';
import { BOOT_LINKS, LVSCTL_ETC, MANAGED_PATHS } from '../../src/render/paths.js';
import * as lab from './lab.js';

const INV = path.join(lab.ROOT, 'inventories', 'lab-dr.yaml');
const HOSTS = ['client', 'dir1', 'rs1', 'rs2'] as const;
const PATHS = [
  ...Object.values(MANAGED_PATHS),
  STATE_FILE,
  STATE_FILE.replace(/\/[^/]+$/, ''),
  LVSCTL_ETC,
  ...[...BOOT_LINKS.sysv, ...BOOT_LINKS.systemd].map((l) => l.path),
];
const VIP = '10.99.2.100';

interface StatusJson {
  hosts: { host: string; state: string; drift: string[] }[];
  vips: { address: string; holders: string[]; problem?: string }[];
  services: {
    service: string;
    director: string;
    realServers: { host: string; weight?: number; inventoryWeight: number; active?: number; health: string }[];
  }[];
  drift: boolean;
}
interface RunJson {
  hosts: { host: string; status: string; changes: number; error?: string }[];
}

const json = lab.json;
const changes = (r: lab.Result) => json<RunJson>(r).hosts.reduce((n, h) => n + h.changes, 0);
const status = () => lab.lvsctl(['status', '-i', INV, '--json']);
const up = async () => {
  const r = await lab.lvsctl(['up', '-i', INV, '--no-verify']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
};
/** Answers of the VIP's port 80 from the client (one per request; "-" for no answer). */
async function answers(n: number): Promise<string[]> {
  const out = await lab.sh('client', `for i in $(seq ${n}); do curl -s -m 2 http://${VIP}/ || printf -- '-\\n'; done`);
  return out.split('\n').filter(Boolean);
}
const snapshots = () => Promise.all(HOSTS.map((h) => lab.state(h, PATHS)));
/** The same snapshot without the package-dependent ipvsadm section (down keeps packages). */
const withoutIpvsadm = (s: string) => s.replace(/## ipvsadm\n[\s\S]*?(?=## iptables)/, '');

lab.useLab({ before, after });

let bare: string[] = [];

test('status exits 0 after up; 3 after each kind of drift, which up repairs', { timeout: 20 * 60_000 }, async () => {
  bare = await snapshots();
  const first = await lab.lvsctl(['up', '-i', INV, '--no-verify']); // status is what this test asks
  assert.equal(first.code, 0, first.stdout + first.stderr);

  const s0 = await status();
  assert.equal(s0.code, 0, s0.stdout + s0.stderr);
  const j = json<StatusJson>(s0);
  assert.equal(j.drift, false);
  assert.deepEqual(
    j.vips.map((v) => [v.address, v.holders]),
    [[VIP, ['dir1']]],
  );
  const http = j.services.find((s) => s.service === `tcp ${VIP}:80`)!;
  assert.deepEqual(
    http.realServers.map((r) => [r.host, r.weight, r.health]),
    [
      ['rs1', 1, 'serving'],
      ['rs2', 1, 'serving'],
    ],
  );
  // and the table for people
  const table = await lab.lvsctl(['status', '-i', INV]);
  assert.equal(table.code, 0);
  assert.match(table.stdout, /HOSTS[\s\S]*dir1 +director +running +yes/);
  assert.match(table.stdout, new RegExp(`${VIP.replaceAll('.', '\\.')} +eth1 +dir1`));

  const drifts: { host: lab.Host; break: string; expect: RegExp }[] = [
    {
      host: 'dir1',
      break: `ipvsadm -d -t ${VIP}:80 -r 10.99.2.12:80`,
      expect: /IPVS: 1 ipvsadm line \(1 add server\)/,
    },
    {
      host: 'rs1',
      break: 'sysctl -qw net.ipv4.conf.all.arp_ignore=0',
      expect: /set net\.ipv4\.conf\.all\.arp_ignore: 0 -> 1/,
    },
    { host: 'rs2', break: `ip addr del ${VIP}/32 dev lo`, expect: /add address 10\.99\.2\.100\/32 dev lo label lo:0/ },
    {
      host: 'rs1',
      break: `echo '# edited by hand' >> ${MANAGED_PATHS.sysctl}`,
      expect: /update \/etc\/sysctl\.d\/90-lvsctl\.conf/,
    },
  ];
  // Each kind of drift in turn, on top of the ones before: status exits 3 and names the new one on
  // its host (and nothing on hosts left alone); one up then repairs them all.
  const touched = new Set<string>();
  for (const d of drifts) {
    await lab.sh(d.host, d.break);
    touched.add(d.host);
    const r = await status();
    assert.equal(r.code, 3, `${d.break}: status should exit 3\n${r.stdout}${r.stderr}`);
    const drift = json<StatusJson>(r)
      .hosts.find((h) => h.host === d.host)!
      .drift.join('\n');
    assert.match(drift, d.expect, `${d.break}: ${drift}`);
    assert.deepEqual(
      json<StatusJson>(r)
        .hosts.filter((h) => h.drift.length)
        .map((h) => h.host)
        .sort(),
      [...touched].sort(),
      'only the hosts changed by hand drifted',
    );
  }
  const repair = await lab.lvsctl(['up', '-i', INV, '--no-verify']);
  assert.equal(repair.code, 0, repair.stdout + repair.stderr);
  for (const d of drifts)
    assert.match(repair.stdout, new RegExp(`\\[${d.host}\\] ${d.expect.source}`), `up repaired: ${d.break}`);
  const again = await status();
  assert.equal(again.code, 0, `after up: ${again.stdout}`);
});

test(
  'stop takes the service down (twice: the second changes nothing); start brings it back and verifies',
  { timeout: 15 * 60_000 },
  async () => {
    const stop = await lab.lvsctl(['stop', '-i', INV, '--json']);
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
    assert.ok(changes(stop) > 0);
    assert.deepEqual(await answers(3), ['-', '-', '-'], 'the VIP does not answer');
    assert.equal((await lab.sh('dir1', 'ipvsadm -Sn')).trim(), '', 'no virtual service left');
    for (const h of ['dir1', 'rs1', 'rs2'] as const)
      assert.doesNotMatch(await lab.sh(h, 'ip -o addr'), /10\.99\.2\.100/, `${h} released the VIP`);
    // everything stays installed: scripts, rules file, sysctls
    assert.match(await lab.sh('dir1', `ls ${MANAGED_PATHS.ipvsRules} ${MANAGED_PATHS.directorScript}`), /ipvs\.rules/);
    assert.equal((await lab.sh('rs1', 'sysctl -n net.ipv4.conf.all.arp_ignore')).trim(), '1');

    const again = await lab.lvsctl(['stop', '-i', INV, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(changes(again), 0, 'a second stop changes nothing');
    const s = await status();
    assert.equal(s.code, 0, `a stopped cluster is not drift: ${s.stdout}`);
    assert.deepEqual(
      json<StatusJson>(s)
        .hosts.filter((h) => h.host !== 'client')
        .map((h) => h.state),
      ['stopped', 'stopped', 'stopped'],
    );

    // The stop holds across a reboot: the boot path sees lvsctl's stopped mark.
    await lab.reboot('rs1');
    assert.doesNotMatch(await lab.sh('rs1', 'ip -o addr'), /10\.99\.2\.100/, 'rs1 stays stopped after a reboot');
    assert.match(await lab.bootLog('rs1'), /stopped by 'lvsctl stop': started without VIPs /);
    assert.equal((await status()).code, 0, 'still no drift');

    const start = await lab.lvsctl(['start', '-i', INV]);
    assert.equal(start.code, 0, start.stdout + start.stderr);
    assert.match(start.stdout, /VERIFY[\s\S]*PASS +http \(tcp 10\.99\.2\.100:80\)/);
    assert.equal((await status()).code, 0);
    const twice = await lab.lvsctl(['start', '-i', INV, '--json', '--no-verify']);
    assert.equal(changes(twice), 0, 'a second start changes nothing');
  },
);

test(
  'drain: a running download completes, no new requests reach the server, drain returns once its connections end; undrain; --remove',
  { timeout: 15 * 60_000 },
  async () => {
    // A 50 MiB download at 2 MiB/s (~25 s) through the VIP; its server is the one to drain.
    await lab.sh(
      'client',
      `rm -f /tmp/dl.done; (curl -s -m 120 --limit-rate 2M -o /tmp/dl.bin -D /tmp/dl.hdr http://${VIP}/big && echo ok > /tmp/dl.done || echo "fail $?" > /tmp/dl.done) >/dev/null 2>&1 &`,
    );
    let target = '';
    for (let i = 0; i < 50 && !target; i++) {
      await new Promise((r) => setTimeout(r, 200));
      target = /X-Real-Server: (\S+)/i.exec(await lab.sh('client', 'cat /tmp/dl.hdr 2>/dev/null || true'))?.[1] ?? '';
    }
    assert.ok(target === 'rs1' || target === 'rs2', `download served by ${target}`);
    const other = target === 'rs1' ? 'rs2' : 'rs1';

    const drain = lab.lvsctl(['drain', target, '-i', INV, '--timeout', '120']);
    // While drain waits (the director shows weight 0 and the download still runs): new requests all
    // go to the other server.
    const rip = target === 'rs1' ? '10.99.2.11' : '10.99.2.12';
    const weight0 = new RegExp(`-> ${rip.replaceAll('.', '\\.')}:80 +Route +0 +1 `);
    for (let i = 0; !weight0.test(await lab.sh('dir1', 'ipvsadm -Ln')); i++) {
      assert.ok(i < 100, 'the drain set weight 0 within 30 s, the download still running');
      await new Promise((r) => setTimeout(r, 300));
    }
    const during = await answers(10);
    assert.deepEqual(new Set(during), new Set([other]), `requests during the drain: ${during.join(' ')}`);
    const d = await drain;
    assert.equal(d.code, 0, d.stdout + d.stderr);
    assert.match(d.stdout, new RegExp(`waiting for ${target}: dir1 1 active`), 'progress while waiting');
    assert.match(d.stdout, new RegExp(`${target}: drained on dir1 in`));
    assert.equal(
      (await lab.sh('client', 'cat /tmp/dl.done')).trim(),
      'ok',
      'the download finished before drain returned',
    );
    assert.equal((await lab.sh('client', 'stat -c %s /tmp/dl.bin')).trim(), String(50 << 20), 'and completely');
    const list = await lab.sh('dir1', 'ipvsadm -Ln');
    for (const m of list.matchAll(new RegExp(`-> ${rip.replaceAll('.', '\\.')}:\\d+ +Route +(\\d+) +(\\d+)`, 'g')))
      assert.deepEqual([m[1], m[2]], ['0', '0'], list);

    // Drained is recorded: status is clean and shows it; up keeps it (nothing to change).
    const s = await status();
    assert.equal(s.code, 0, s.stdout);
    assert.ok(
      json<StatusJson>(s).services.every((x) => x.realServers.find((r) => r.host === target)!.health === 'drained'),
    );
    assert.equal((await lab.lvsctl(['plan', '-i', INV])).code, 0);
    assert.equal((await lab.sh('dir1', 'sysctl -n net.ipv4.vs.expire_quiescent_template')).trim(), '1');

    const und = await lab.lvsctl(['undrain', target, '-i', INV]);
    assert.equal(und.code, 0, und.stdout + und.stderr);
    assert.deepEqual(new Set(await answers(6)), new Set(['rs1', 'rs2']));
    assert.equal(
      (await lab.sh('dir1', 'sysctl -n net.ipv4.vs.expire_quiescent_template')).trim(),
      '0',
      'back to its original once nothing is drained',
    );

    const rm = await lab.lvsctl(['drain', target, '--remove', '-i', INV]);
    assert.equal(rm.code, 0, rm.stdout + rm.stderr);
    assert.doesNotMatch(await lab.sh('dir1', 'ipvsadm -Sn'), new RegExp(rip.replaceAll('.', '\\.')));
    assert.equal((await status()).code, 0);
    assert.equal((await lab.lvsctl(['undrain', target, '-i', INV])).code, 0);
    assert.equal((await status()).code, 0);
    assert.deepEqual(new Set(await answers(6)), new Set(['rs1', 'rs2']));

    // A connection that outlasts --timeout: exit 1, the server stays drained.
    await lab.sh(
      'client',
      `(curl -s -m 60 --limit-rate 2M -o /dev/null -D /tmp/dl2.hdr http://${VIP}/big; rm -f /tmp/dl2.hdr) >/dev/null 2>&1 &`,
    );
    let busy = '';
    for (let i = 0; i < 50 && !busy; i++) {
      await new Promise((r) => setTimeout(r, 200));
      busy = /X-Real-Server: (\S+)/i.exec(await lab.sh('client', 'cat /tmp/dl2.hdr 2>/dev/null || true'))?.[1] ?? '';
    }
    const late = await lab.lvsctl(['drain', busy, '-i', INV, '--timeout', '2']);
    assert.equal(late.code, 1, late.stdout + late.stderr);
    assert.match(
      late.stderr,
      new RegExp(`${busy} still has 1 active connection on dir1 after \\d+ s; it stays drained`),
    );
    assert.equal((await status()).code, 0, 'drained, not drift');
    assert.equal((await lab.lvsctl(['undrain', busy, '-i', INV])).code, 0);
    await lab.sh('client', 'pkill -f "[c]url -s -m 60" || true');
  },
);

test(
  'down restores every host to its state before up (packages apart); a second down changes nothing; down --purge removes the packages too',
  { timeout: 20 * 60_000 },
  async () => {
    const down = await lab.lvsctl(['down', '-i', INV, '--json']);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    const after = await snapshots();
    HOSTS.forEach((h, i) => assert.equal(withoutIpvsadm(after[i]!), withoutIpvsadm(bare[i]!), `${h} after down`));
    assert.equal((await lab.sh('dir1', 'ipvsadm -Sn')).trim(), '', 'no virtual service left (ipvsadm stays installed)');
    const again = await lab.lvsctl(['down', '-i', INV, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(changes(again), 0, 'a second down changes nothing');

    // --purge removes the packages lvsctl installed, known from the state file that `down` removes:
    // from bare hosts again, up then down --purge.
    if (!(await lab.resumeSaved('dr-up'))) {
      await lab.restore();
      await up();
    }
    const purge = await lab.lvsctl(['down', '--purge', '-i', INV]);
    assert.equal(purge.code, 0, purge.stdout + purge.stderr);
    assert.match(purge.stdout, /purge packages: ipvsadm/);
    const purged = await snapshots();
    HOSTS.forEach((h, i) => assert.equal(purged[i], bare[i], `${h} after down --purge`));
  },
);
