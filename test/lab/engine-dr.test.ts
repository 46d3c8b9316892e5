// Issue #5 end to end, in the lab on kernel IPVS: `up` of inventories/lab-dr.yaml from bare hosts,
// idempotence, a weight change under load, and host-key handling. lvsctl runs as a child process,
// exactly as an operator runs it.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parseRules } from '../../src/ipvs/parse.js';
import { formatRules } from '../../src/ipvs/format.js';
import { desiredTable } from '../../src/ipvs/desired.js';
import { loadInventory } from '../../src/inventory/load.js';
import { STATE_FILE } from '../../src/facts/script.js';
import { MANAGED_PATHS } from '../../src/render/paths.js';
import * as lab from './lab.js';

const INV = path.join(lab.ROOT, 'inventories', 'lab-dr.yaml');

const json = lab.json;
interface UpJson {
  hosts: { host: string; status: string; changes: number; error?: string }[];
  verify: { service: string; ok: boolean; hits: Record<string, number>; skipped?: string }[];
}
interface PlanJson {
  hosts: { host: string; status: string }[];
  changes: { host: string; kind: string; description: string; diff?: string }[];
}

/** A copy of the lab inventory with some text replaced, next to .lab so its relative paths hold. */
function variant(name: string, edit: (text: string) => string): string {
  const file = path.join(lab.LAB_DIR, `${name}.yaml`);
  writeFileSync(file, edit(readFileSync(INV, 'utf8')));
  return file;
}

const MANAGED = [...Object.values(MANAGED_PATHS), STATE_FILE];
const mtimes = (h: lab.Host) => lab.sh(h, `stat -c '%Y %s %n' ${MANAGED.join(' ')} 2>/dev/null || true`);

lab.useLab({ before, after });

test(
  'up from bare hosts: packages from the lab repository, VIP answers from every real server, exact IPVS table',
  { timeout: 15 * 60_000 },
  async () => {
    assert.notEqual((await lab.ssh('dir1', 'command -v ipvsadm')).code, 0, 'starts without ipvsadm');
    const r = await lab.lvsctl(['up', '-i', INV, '--json', '--timings']);
    const out = json<UpJson & { timings: { host: string; step: string; ms: number; count: number }[] }>(r);
    assert.equal(r.code, 0, `${r.stderr}\n${JSON.stringify(out.hosts)}`);
    // --timings: every host's connect, facts, plan and apply, the director's IPVS restore and
    // read-back, and verify from the client, each with a positive wall time
    const steps = (h: string) => new Set(out.timings.filter((t) => t.host === h && t.ms > 0).map((t) => t.step));
    for (const h of out.hosts.map((x) => x.host))
      for (const s of ['connect', 'facts', 'plan', ...(h === 'client' ? [] : ['apply'])])
        assert.ok(steps(h).has(s), `${h} has no ${s} timing: ${JSON.stringify(out.timings)}`);
    for (const s of ['apply: ipvsadm -R', 'read-back'])
      assert.ok(steps('dir1').has(s), `dir1 has no ${s} timing: ${JSON.stringify(out.timings)}`);
    assert.ok(steps('client').has('verify'), JSON.stringify(out.timings));
    for (const h of out.hosts)
      assert.ok(['changed', 'ok'].includes(h.status), `${h.host}: ${h.status} ${h.error ?? ''}`);
    assert.ok((await lab.sh('dir1', "dpkg-query -W -f '${Status}' ipvsadm")).includes('install ok installed'));
    // verify inside up: every real server answered through the VIP on port 80
    const http = out.verify.find((v) => v.service.includes(':80'))!;
    assert.ok(http.ok && http.hits.rs1! > 0 && http.hits.rs2! > 0, JSON.stringify(http));
    // and independently of lvsctl's verify: the client sees both
    const seen = await lab.sh('client', 'for i in 1 2 3 4 5 6; do curl -s -m 3 http://10.99.2.100/; echo; done');
    assert.deepEqual(new Set(seen.split('\n').filter(Boolean)), new Set(['rs1', 'rs2']));
    // the director's live table equals the desired one exactly
    const { cluster } = loadInventory(INV);
    const live = parseRules(await lab.sh('dir1', 'ipvsadm -Sn'));
    assert.equal(formatRules(live), formatRules(desiredTable(cluster, 'dir1')));
    // the real servers hold the VIP on lo:0 but do not answer ARP for it: only the director does
    const dirMac = (await lab.sh('dir1', 'cat /sys/class/net/eth1/address')).trim();
    const arp = await lab.ssh('router', 'busybox arping -c 3 -w 5 -I eth1 10.99.2.100');
    const macs = new Set([...arp.stdout.matchAll(/\[([0-9a-f:]{17})\]/gi)].map((m) => m[1]!.toLowerCase()));
    assert.deepEqual(macs, new Set([dirMac]), arp.stdout);
    for (const rs of ['rs1', 'rs2'] as const)
      assert.match(await lab.sh(rs, 'ip -o addr show dev lo'), /10\.99\.2\.100\/32 .* lo:0/);
    // rs2 is reached as the non-root user lvs with become: its files were written through sudo
    assert.equal(
      (await lab.sh('rs2', 'stat -c "%U %a" /var/lib/lvsctl/state.json /usr/local/sbin/lvsctl-realserver')).trim(),
      'root 600\nroot 755',
    );
  },
);

test('a second up changes nothing: 0 changes, plan exits 0, no file rewritten', { timeout: 10 * 60_000 }, async () => {
  const before = await Promise.all((['dir1', 'rs1', 'rs2'] as const).map(mtimes));
  const r = await lab.lvsctl(['up', '-i', INV, '--json', '--no-verify']);
  assert.equal(r.code, 0, r.stderr);
  for (const h of json<UpJson>(r).hosts) assert.deepEqual([h.host, h.status, h.changes], [h.host, 'ok', 0]);
  const p = await lab.lvsctl(['plan', '-i', INV]);
  assert.equal(p.code, 0, p.stdout + p.stderr);
  assert.deepEqual(await Promise.all((['dir1', 'rs1', 'rs2'] as const).map(mtimes)), before);
  await lab.save('dr-up'); // lab-dr up from bare hosts: faults and lifecycle start from it
});

test(
  'a weight change: plan shows exactly it (exit 2); up applies one -e line; a 0.1 s curl loop sees no failure',
  { timeout: 10 * 60_000 },
  async () => {
    const inv = variant('lab-dr-weight', (t) =>
      t.replace('          - group: web', '          - { host: rs1, weight: 1 }\n          - { host: rs2, weight: 2 }'),
    );
    const p = await lab.lvsctl(['plan', '-i', inv, '--json']);
    assert.equal(p.code, 2, p.stderr);
    const { changes } = json<PlanJson>(p);
    assert.deepEqual([...new Set(changes.map((c) => c.host))], ['dir1'], 'only dir1 has changes');
    const dir1 = changes.filter((c) => c.host === 'dir1');
    assert.deepEqual(
      dir1.map((c) => c.kind),
      ['file', 'ipvs'],
    );
    assert.equal(dir1[1]!.diff, '-e -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 2');
    assert.match(
      dir1[0]!.diff!,
      /-a -t 10\.99\.2\.100:80 -r 10\.99\.2\.12:80 -g -w 1\n\+-a -t 10\.99\.2\.100:80 -r 10\.99\.2\.12:80 -g -w 2/,
    );

    // the loop runs from before the up until a second after it (not a fixed count of rounds)
    const stop = '/run/lvsctl-test-loop-stop';
    await lab.sh('client', `rm -f ${stop}`);
    const loop = lab.ssh(
      'client',
      `n=0; f=0; while [ ! -e ${stop} ]; do n=$((n+1)); curl -s -m 2 -o /dev/null -w '%{http_code}\\n' http://10.99.2.100/ | grep -q '^200$' || f=$((f+1)); sleep 0.1; done; echo requests=$n failures=$f`,
      { timeoutMs: 5 * 60_000 },
    );
    await new Promise((r) => setTimeout(r, 1000));
    const up = await lab.lvsctl(['up', '-i', inv, '--json', '--no-verify']);
    assert.equal(up.code, 0, up.stderr);
    await new Promise((r) => setTimeout(r, 1000));
    await lab.sh('client', `touch ${stop}`);
    const loopOut = await loop;
    assert.match(loopOut.stdout, /failures=0/);
    assert.ok(Number(/requests=(\d+)/.exec(loopOut.stdout)?.[1]) >= 5, loopOut.stdout);
    assert.match(await lab.sh('dir1', 'ipvsadm -Sn'), /-a -t 10\.99\.2\.100:80 -r 10\.99\.2\.12:80 -g -w 2/);
    assert.equal((await lab.lvsctl(['plan', '-i', inv])).code, 0);
    // and back: the inventory's weight again, with one -e line
    const back = await lab.lvsctl(['up', '-i', INV, '--no-verify']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal((await lab.lvsctl(['plan', '-i', INV])).code, 0);
  },
);

test(
  'an unknown host key is refused with its fingerprint; --accept-new-host-keys records it and it is used',
  { timeout: 10 * 60_000 },
  async () => {
    mkdirSync(path.join(lab.LAB_DIR, 'kh'), { recursive: true });
    const kh = path.join(lab.LAB_DIR, 'kh', 'known_hosts');
    writeFileSync(
      kh,
      readFileSync(lab.KNOWN_HOSTS, 'utf8')
        .split('\n')
        .filter((l) => !l.startsWith('[127.0.0.1]:22004 '))
        .join('\n'),
    );
    const inv = variant('lab-dr-kh', (t) =>
      t.replace('known_hosts: ../.lab/known_hosts', 'known_hosts: ../.lab/kh/known_hosts'),
    );
    const rs1Line = path.join(lab.LAB_DIR, 'kh', 'rs1.pub');
    writeFileSync(
      rs1Line,
      readFileSync(lab.KNOWN_HOSTS, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('[127.0.0.1]:22004 '))! + '\n',
    );
    const fp = (await lab.run('ssh-keygen', ['-lf', rs1Line])).stdout.split(' ')[1]!;
    assert.match(fp, /^SHA256:/);
    const refused = await lab.lvsctl(['plan', '-i', inv]);
    assert.equal(refused.code, 1);
    assert.ok(
      (refused.stdout + refused.stderr).includes(fp),
      `fingerprint ${fp} shown:\n${refused.stdout}${refused.stderr}`,
    );
    assert.match(refused.stdout + refused.stderr, /--accept-new-host-keys/);
    const accepted = await lab.lvsctl(['plan', '-i', inv, '--accept-new-host-keys']);
    assert.equal(accepted.code, 0, accepted.stdout + accepted.stderr);
    assert.match(readFileSync(kh, 'utf8'), /^\[127\.0\.0\.1\]:22004 ssh-ed25519 /m);
    assert.equal((await lab.lvsctl(['plan', '-i', inv])).code, 0, 'recorded key is used');
    copyFileSync(lab.KNOWN_HOSTS, kh);
  },
);
