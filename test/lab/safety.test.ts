// Issue 23 on real hosts: one run at a time (locks as leases, a killed run's lock ends by itself),
// and no silent takeover of hosts that another cluster's inventory set up.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
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
    for (const h of HOSTS) assert.equal((await lab.ssh(h, `test -s ${LOCK_FILE}`)).code, 1, `${h}: lock released`);

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
    const taken = await lab.lvsctl(['up', '-i', NAT, '--takeover', '--no-verify']);
    assert.equal(taken.code, 0, taken.stdout + taken.stderr);
    assert.match(await lab.sh('dir1', `cat ${STATE_FILE}`), /"cluster": "lab-nat"/);
    assert.equal((await lab.lvsctl(['plan', '-i', NAT])).code, 0, 'now its own: nothing to change, no refusal');
  },
);

test(
  'a saved plan is applied only while the hosts are as planned: a hand change in between is refused with the difference',
  { timeout: 10 * 60_000 },
  async () => {
    const saved = path.join(lab.LAB_DIR, 'nat.plan.json');
    const rs2 = / -r 10\.99\.2\.12:8080 -m -w (\d+)/;
    assert.equal((await lab.lvsctl(['plan', '-i', NAT, '--out', saved])).code, 0, 'converged: nothing to change');
    assert.doesNotMatch(readFileSync(saved, 'utf8'), /lvsctl-lab|password/i);
    await lab.sh('dir1', 'ipvsadm -e -t 10.99.1.100:80 -r 10.99.2.12:8080 -m -w 9'); // by hand, after the plan
    const refused = await lab.lvsctl(['up', '-i', NAT, '--plan', saved, '--no-verify']);
    assert.equal(refused.code, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /the plan now differs from the one saved in .*nothing was changed/);
    assert.match(refused.stderr, /\+ dir1: .*ipvs/i);
    assert.equal(rs2.exec(await lab.sh('dir1', 'ipvsadm -Sn'))?.[1], '9', 'nothing applied');
    const again = await lab.lvsctl(['plan', '-i', NAT, '--out', saved]);
    assert.equal(again.code, 2, again.stdout + again.stderr);
    const applied = await lab.lvsctl(['up', '-i', NAT, '--plan', saved, '--no-verify']);
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    assert.equal(rs2.exec(await lab.sh('dir1', 'ipvsadm -Sn'))?.[1], '1', 'the saved plan applied');
  },
);

// eslint-disable-next-line no-control-regex -- the terminal's escape sequences, taken out
const ESCAPES = /\x1b\[[0-9;?]*[a-zA-Z]/g;

/** lvsctl on a terminal (script(1) gives it a pty), answering `answer` to its question. */
function onTerminal(args: string[], answer: string): Promise<{ code: number; out: string }> {
  // a terminal of 200 columns (script's pty has none without a terminal around it)
  const cmd = `stty cols 200 rows 50; ${['node', path.join(lab.ROOT, 'bin/lvsctl.js'), ...args].map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: lab.ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let asked = false;
  const take = (d: Buffer) => {
    out += d.toString().replace(ESCAPES, '').replace(/\r/g, '');
    if (!asked && /Go on\? \[y\/N\]/.test(out)) {
      asked = true;
      child.stdin.write(`${answer}\r`);
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code: code ?? 1, out })));
}

test(
  'stop and down on a terminal ask first; "n" changes nothing; without a terminal they go on',
  { timeout: 10 * 60_000 },
  async () => {
    const no = await onTerminal(['stop', '-i', NAT], 'n');
    assert.equal(no.code, 1, no.out);
    assert.match(no.out, /lvsctl stop will take the service down on: .*dir1 \(\d+ changes?\).*Go on\?/s);
    assert.match(no.out, /not confirmed: nothing was changed/);
    assert.match(await lab.sh('dir1', 'ip -o addr'), /10\.99\.1\.100/, 'the VIP stays');
    const yes = await onTerminal(['stop', '-i', NAT], 'y');
    assert.equal(yes.code, 0, yes.out);
    assert.doesNotMatch(await lab.sh('dir1', 'ip -o addr'), /10\.99\.1\.100/, 'stopped');
    const start = await lab.lvsctl(['start', '-i', NAT, '--no-verify']); // no terminal: no question
    assert.equal(start.code, 0, start.stdout + start.stderr);
  },
);

test(
  'rs2 unreachable on a first up: dir1 takes it at weight 0, every answer comes from rs1 with no failed request; the next run completes it',
  { timeout: 10 * 60_000 },
  async () => {
    await lab.restore({ packages: true });
    // rs2's sshd refuses lvsctl (a reset, from inside its own netns); nothing of rs2 is set up
    const block = 'iptables -I INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset';
    await lab.netns('rs2', block);
    try {
      const up = await lab.lvsctl(['up', '-i', DR]);
      assert.equal(up.code, 1, up.stdout + up.stderr);
      assert.match(up.stdout, /note: rs2 is not ready \(unreachable: .*\): at weight 0 on dir1/);
      const table = await lab.sh('dir1', 'ipvsadm -Sn');
      assert.match(table, / -r 10\.99\.2\.12:80 -g -w 0/);
      assert.match(table, / -r 10\.99\.2\.11:80 -g -w 1/);
      const answers = await lab.sh(
        'client',
        'for i in $(seq 20); do curl -s -m 2 http://10.99.2.100/ || echo FAILED; echo; done',
      );
      const got = answers.split('\n').filter(Boolean);
      assert.equal(got.length, 20, answers);
      assert.deepEqual([...new Set(got.map((l) => l.trim()))], ['rs1'], answers);
    } finally {
      await lab.netns('rs2', block.replace('-I INPUT', '-D INPUT'));
    }
    const next = await lab.lvsctl(['up', '-i', DR]);
    assert.equal(next.code, 0, next.stdout + next.stderr);
    assert.match(
      await lab.sh('dir1', 'ipvsadm -Sn'),
      / -r 10\.99\.2\.12:80 -g -w 1/,
      'its inventory weight once ready',
    );
  },
);

test(
  'up --limit dir1: the real servers outside it are read while dir1 is (not after); one not set up is reported and keeps the weight it serves with',
  { timeout: 10 * 60_000 },
  async () => {
    const all = await lab.lvsctl(['up', '-i', DR, '--no-verify']);
    assert.equal(all.code, 0, all.stdout + all.stderr);
    const table = await lab.sh('dir1', 'ipvsadm -Sn');
    // rs2 stops being set up: its VIP gone from lo
    await lab.sh('rs2', 'ip addr del 10.99.2.100/32 dev lo');
    try {
      const r = await lab.lvsctl(['up', '-i', DR, '--limit', 'dir1', '--no-verify', '--json', '--timings']);
      const doc = lab.json<{
        hosts: { host: string; held_back?: { host: string; why: string; weight: number }[] }[];
        timings: { host: string; step: string; ms: number; start_ms: number }[];
      }>(r);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const held = doc.hosts.find((h) => h.host === 'dir1')?.held_back;
      assert.equal(held?.length, 1, JSON.stringify(doc.hosts));
      assert.equal(held[0]!.host, 'rs2');
      assert.match(held[0]!.why, /^not set up \(\d+ changes? pending, first: /);
      assert.equal(held[0]!.weight, 1, 'it already served at weight 1');
      assert.equal(await lab.sh('dir1', 'ipvsadm -Sn'), table, 'rs2 already served: its weight stays');
      const at = (host: string, step: string) => doc.timings.find((t) => t.host === host && t.step === step);
      const dir1 = at('dir1', 'facts')!;
      for (const h of ['rs1', 'rs2']) {
        const rs = at(h, 'facts');
        assert.ok(rs, `${h} was read: ${JSON.stringify(doc.timings)}`);
        assert.ok(
          rs.start_ms < dir1.start_ms + dir1.ms,
          `${h}'s read started at ${rs.start_ms} ms, dir1's facts ran ${dir1.start_ms}..${dir1.start_ms + dir1.ms} ms`,
        );
      }
    } finally {
      const back = await lab.lvsctl(['up', '-i', DR, '--no-verify']);
      assert.equal(back.code, 0, back.stdout + back.stderr);
    }
    assert.match(await lab.sh('rs2', 'ip -o addr show dev lo'), /10\.99\.2\.100\/32/);
  },
);

test(
  "keepalived changes roll: dir2 first, dir1 (the VIP holder) only once dir2 settled; a change that empties dir2's table stops there and is put back; a 0.1 s curl loop loses no request",
  { timeout: 10 * 60_000 },
  async () => {
    const HA = path.join(lab.ROOT, 'inventories', 'lab-ha.yaml');
    // the pair up, verified and settled: keepalived.test's saved state, else made here
    if (!(await lab.resumeSaved('ha-up'))) {
      await lab.restore({ packages: true });
      const first = await lab.lvsctl(['up', '-i', HA]);
      assert.equal(first.code, 0, first.stdout + first.stderr);
    }
    const variant = (name: string, from: string, to: string) => {
      const file = path.join(lab.LAB_DIR, `${name}.yaml`);
      writeFileSync(file, readFileSync(HA, 'utf8').replace(from, to));
      return file;
    };
    // A health check no real server passes: changed on both directors at once, it emptied both
    // tables (122 of 150 requests failed when measured).
    const broken = variant('lab-ha-badcheck', 'status: 200', 'status: 201');
    const wrr = variant('lab-ha-wrr', 'scheduler: rr', 'scheduler: wrr');
    const stop = '/run/lvsctl-test-loop-stop';
    await lab.sh('client', `rm -f ${stop}`);
    const loop = lab.ssh(
      'client',
      `n=0; f=0; while [ ! -e ${stop} ]; do n=$((n+1)); curl -s -m 2 -o /dev/null -w '%{http_code}\\n' http://10.99.1.100/ | grep -q '^200$' || { f=$((f+1)); echo "failed at $(date +%s.%N)"; }; sleep 0.1; done; echo requests=$n failures=$f`,
      // both rolls inside it took over lab.ssh's default 2 minutes once (CI, a slow day): it was killed
      { timeoutMs: 8 * 60_000 },
    );
    await new Promise((r) => setTimeout(r, 2000));
    // when each roll ran, in the loop's clock (date +%s), to place a failed request
    const phases: string[] = [];
    const mark = (what: string) => phases.push(`${what} at ${(Date.now() / 1000).toFixed(1)}`);
    mark('bad roll starts');
    // the settle timeout shortened from 30 s to 10 s: the refused roll is the same, sooner
    const bad = await lab.lvsctl(['up', '-i', broken, '--no-verify'], undefined, {
      LVSCTL_TEST_SETTLE_TIMEOUT_MS: '10000',
    });
    mark('good roll starts');
    const good = await lab.lvsctl(['up', '-i', wrr, '--no-verify']);
    mark('good roll ends');
    await new Promise((r) => setTimeout(r, 3000));
    await lab.sh('client', `touch ${stop}`);
    const counted = (await loop).stdout;
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /apply: directors, one at a time \(rolling keepalived change\)/);
    assert.match(
      bad.stdout,
      /dir2 +failed +changes=\d+ +\[keepalived settle\] not settled \d+ s after keepalived's reload: http \(tcp 10\.99\.1\.100:80\) lacks 10\.99\.2\.11:80, 10\.99\.2\.12:80; its previous keepalived\.conf was put back and keepalived reloaded/,
    );
    assert.match(bad.stdout, /dir1 +failed +changes=0 .*not changed: the rolling keepalived change stopped at dir2/);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const out = good.stdout;
    assert.ok(out.indexOf('[dir2] changed (') >= 0, out);
    assert.ok(out.indexOf('[dir2] changed (') < out.indexOf('[dir1] reload keepalived'), out);
    assert.match(out, /\[dir2\] changed \(\d+\); keepalived settled in [\d.]+ s: BACKUP of VI_1/);
    assert.match(out, /\[dir1\] changed \(\d+\); keepalived settled in [\d.]+ s: MASTER of VI_1/);
    const m = /requests=(\d+) failures=(\d+)/.exec(counted);
    assert.ok(m, `the curl loop printed no count (killed?): ${counted}`);
    const [, n, f] = m;
    assert.equal(Number(f), 0, `${counted}\n${phases.join('\n')}\n${bad.stdout}\n${out}`);
    assert.ok(Number(n) >= 60, counted);
    for (const d of ['dir1', 'dir2'] as const)
      assert.match(
        await lab.sh(d, 'ipvsadm -Ln'),
        /TCP +10\.99\.1\.100:80 wrr\n.*10\.99\.2\.11:80.*\n.*10\.99\.2\.12:80/,
        d,
      );
    const again = await lab.lvsctl(['plan', '-i', wrr]);
    assert.equal(again.code, 0, again.stdout);
  },
);
