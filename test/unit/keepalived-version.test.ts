// keepalived's version as facts read it, and what lvsctl does with it, on faked facts for versions
// the lab does not have (its directors run Debian 12's 2.2.7): older than 2.0 is refused before any
// change on any host; 2.0.0-2.0.15 (weight 0 rejected) are drained by removal straight away; the
// kernel table is read back after a drain whatever the version says (2.1.0-2.1.5 program weight 0
// as 1, and distributions backport fixes).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { converge } from '../../src/engine/cluster.js';
import type { Connections } from '../../src/engine/connections.js';
import { checkQuiesced } from '../../src/cli/commands/drain.js';
import type { HostResult } from '../../src/engine/cluster.js';
import { readBackWeights } from '../../src/engine/drain.js';
import { renderedFiles } from '../../src/engine/files.js';
import { planFromFacts } from '../../src/engine/host.js';
import { PlainProgress } from '../../src/engine/progress.js';
import { keepalivedTooOld, parseKeepalivedVersion, weightZeroHint } from '../../src/facts/keepalived-version.js';
import { parseFacts } from '../../src/facts/parse.js';
import type { Intent } from '../../src/desired/intent.js';
import { loadInventory } from '../../src/inventory/load.js';
import { RefusedError } from '../../src/plan/host.js';
import { factsText, fakeConnections, root, type FactsOptions } from './helpers.js';

const { cluster: ha, secrets } = loadInventory(join(root, 'inventories/lab-ha.yaml'), { requireSecrets: false });
const v = (text: string) => parseKeepalivedVersion(text)!;
const director = (version?: string): FactsOptions => ({
  links: ['lo', 'eth0', 'eth1', 'mgmt0'],
  packages: ['ipvsadm', 'keepalived', 'curl'],
  ...(version && { keepalivedVersion: `Keepalived v${version} (01/16,2022)` }),
});
const run = (version: string | undefined, intent: Intent = { kind: 'up' }) =>
  planFromFacts(ha, 'dir1', { vrrpPassword: 'pw' }, renderedFiles, parseFacts(factsText(director(version))), intent);
const conf = (r: ReturnType<typeof run>) =>
  r.plan.changes.flatMap((c) =>
    c.kind === 'file' && c.action !== 'delete' && c.file.validate ? [c.file.content] : [],
  )[0]!;

describe('keepalived --version', () => {
  it('parses the first line keepalived prints, with or without a git suffix; anything else is unknown', () => {
    assert.deepEqual(v('Keepalived v2.2.7 (01/16,2022)'), { major: 2, minor: 2, patch: 7, text: '2.2.7' });
    assert.equal(v('Keepalived v1.3.5 (03/19,2017), git commit v1.3.5-6-g6fa32f2').text, '1.3.5');
    assert.equal(v('Keepalived v2.1 (x)').text, '2.1.0');
    assert.equal(parseKeepalivedVersion(''), null);
    assert.equal(parseKeepalivedVersion('keepalived: command not found'), null);
  });
  it('facts carry it (null where keepalived is not installed)', () => {
    assert.equal(parseFacts(factsText(director('2.1.5'))).keepalivedVersion?.text, '2.1.5');
    assert.equal(parseFacts(factsText(director())).keepalivedVersion, null);
  });
  it('what each version does with weight 0', () => {
    for (const [ver, want] of [
      ['2.0.0', 'rejected'],
      ['2.0.15', 'rejected'],
      ['2.0.16', 'kept'],
      ['2.1.0', 'programmed as 1'],
      ['2.1.5', 'programmed as 1'],
      ['2.2.0', 'kept'],
      ['2.2.7', 'kept'],
      ['2.3.1', 'kept'],
    ])
      assert.equal(weightZeroHint(v(`Keepalived v${ver}`)), want, ver);
  });
  it('older than 2.0 is refused with the reason; 2.0 and later, or unknown, are not', () => {
    assert.match(keepalivedTooOld(v('Keepalived v1.3.5'))!, /keepalived 1\.3\.5 is older than 2\.0/);
    assert.equal(keepalivedTooOld(v('Keepalived v2.0.0')), undefined);
    assert.equal(keepalivedTooOld(null), undefined);
  });
});

describe('a director with keepalived 1.3.x', () => {
  it('is refused by the plan (RefusedError), with the version', () => {
    assert.throws(
      () => run('1.3.5'),
      (e) => e instanceof RefusedError && /1\.3\.5 is older than 2\.0/.test(e.message),
    );
    assert.ok(run('2.2.7').plan.changes.length > 0);
  });

  it('holds back every change on every host: up applies nothing anywhere', async () => {
    const calls: string[] = [];
    const conns = fakeConnections((name, script) => {
      calls.push(name);
      if (!script.includes('lvsctl-facts')) return { code: 1, stdout: '', stderr: 'applied!' };
      const o = ha.hosts.get(name)!.roles.has('director') ? director(name === 'dir1' ? '1.3.5' : '2.2.7') : {};
      return { code: 0, stdout: factsText(o) };
    }, calls);
    const results = await converge(ha, secrets, renderedFiles, {
      forks: 5,
      apply: true,
      progress: new PlainProgress(() => {}),
      conns,
    });
    assert.deepEqual(calls.sort(), [...ha.hosts.keys()].sort(), 'the facts command once per host, nothing else');
    const dir1 = results.find((r) => r.host === 'dir1')!;
    assert.equal(dir1.status, 'failed');
    assert.match(dir1.error!, /keepalived 1\.3\.5 is older than 2\.0/);
    for (const r of results.filter((x) => x.host !== 'dir1' && x.plan?.changes.length)) {
      assert.equal(r.status, 'failed', r.host);
      assert.equal(r.error, 'not changed: the checks before apply failed on dir1');
    }
  });
});

describe('drain in keepalived mode and the version hint', () => {
  const drain: Intent = { kind: 'drain', host: 'rs2', remove: false };
  it('2.0.0-2.0.15 (weight 0 rejected): the plan takes rs2 out of its services instead', () => {
    for (const ver of ['2.0.0', '2.0.15']) {
      const r = run(ver, drain);
      assert.deepEqual(r.record.drained, { rs2: 'remove' }, ver);
      assert.doesNotMatch(conf(r), /real_server 10\.99\.2\.12 /);
      assert.match(conf(r), /real_server 10\.99\.2\.11 /);
    }
  });
  it('2.1.5, 2.2.7 and an unknown version: weight 0 is tried (the read-back decides)', () => {
    for (const ver of ['2.1.5', '2.2.7', undefined]) {
      const r = run(ver, drain);
      assert.deepEqual(r.record.drained, { rs2: 'quiesce' }, ver);
      assert.match(conf(r), /real_server 10\.99\.2\.12 80 \{\n\s+weight 0\n/);
    }
  });
  it('an ipvsadm-owned service is drained with weight 0 whatever keepalived is', () => {
    const text = loadInventory(join(root, 'inventories/lab-nat.yaml'), { requireSecrets: false }).cluster;
    const r = planFromFacts(text, 'dir1', {}, renderedFiles, parseFacts(factsText(director('2.0.3'))), drain);
    assert.deepEqual(r.record.drained, { rs2: 'quiesce' });
  });
});

describe('read-back of the weight after a drain', () => {
  const list = (w: number | null) =>
    [
      'IP Virtual Server version 1.2.1 (size=4096)',
      'Prot LocalAddress:Port Scheduler Flags',
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
      'TCP  10.99.1.100:80 rr',
      '  -> 10.99.2.11:80                Masq    1      0          3',
      ...(w === null ? [] : [`  -> 10.99.2.12:80                Masq    ${w}      0          1`]),
    ].join('\n');
  /** Directors whose `ipvsadm -Ln` follows a script (the last entry repeats). */
  const conns = (script: Record<string, (number | null)[]>) => {
    const n: Record<string, number> = {};
    return {
      get: async (name: string) => ({
        exec: async () => {
          const s = script[name]!;
          const w = s[Math.min(n[name] ?? 0, s.length - 1)]!;
          n[name] = (n[name] ?? 0) + 1;
          return { code: 0, stdout: list(w), stderr: '' };
        },
      }),
    } as unknown as Connections;
  };

  it('waits for the reload to reach the kernel, and names a director where weight 0 never does (2.1.5)', async () => {
    const left = await readBackWeights(
      ha,
      conns({ dir1: [1, 1, 0], dir2: [1] }), // dir1 reloads late; dir2 programs 0 as 1
      ['dir1', 'dir2'],
      'rs2',
      2,
    );
    assert.deepEqual([...left], [['dir2', [{ service: 'tcp 10.99.1.100:80', weight: 1 }]]]);
  });
  it('a server absent from the table (taken out, or by its health check) takes no new connections: fine', async () => {
    assert.equal((await readBackWeights(ha, conns({ dir1: [null], dir2: [0] }), ['dir1', 'dir2'], 'rs2', 1)).size, 0);
  });
});

describe('drain falls back to removal where the kernel keeps a weight above 0', () => {
  const list = (w: number | null) =>
    [
      'Prot LocalAddress:Port Scheduler Flags',
      'TCP  10.99.1.100:80 rr',
      ...(w === null ? [] : [`  -> 10.99.2.12:80                Masq    ${w}      0          1`]),
    ].join('\n');
  /** dir1 (2.2.7) programs weight 0; dir2 (2.1.5) keeps 1 until the server is taken out there, or
   * for good when `removal` is false (the fallback did not reach the kernel either). */
  function scene(removal: boolean) {
    let removed = false;
    const applied: [Intent, string[]][] = [];
    const conns = {
      get: async (name: string) => ({
        exec: async () => {
          const dir2 = removed ? null : 1;
          return { code: 0, stdout: list(name === 'dir1' ? 0 : dir2), stderr: '' };
        },
      }),
    } as unknown as Connections;
    const results = ['dir1', 'dir2'].map((d) => ({
      host: d,
      status: 'changed',
      changes: 2,
      run: { ...run(d === 'dir1' ? '2.2.7' : '2.1.5', { kind: 'drain', host: 'rs2', remove: false }) },
    })) as HostResult[];
    const apply = async (intent: Intent, on: string[]) => {
      applied.push([intent, on]);
      removed = removal;
      return on.map((host) => ({ host, status: 'changed', changes: 1 }) as HostResult);
    };
    const lines: string[] = [];
    const out = { info: (l: string) => lines.push(l), error: (l: string) => lines.push(`E ${l}`) };
    return { conns, results, apply, applied, lines, out };
  }

  it('2.1.5 keeps weight 1: rs2 is taken out of its services on that director only, and the output says why', async () => {
    const s = scene(true);
    const removedOn = await checkQuiesced(ha, s.conns, ['dir1', 'dir2'], 'rs2', s.results, s.apply, s.out, 1);
    assert.deepEqual([...removedOn!], ['dir2']);
    assert.deepEqual(s.applied, [[{ kind: 'drain', host: 'rs2', remove: true }, ['dir2']]]);
    assert.equal(s.lines[0], 'rs2: weight 0 read back from the kernel table on dir1');
    assert.match(
      s.lines[1]!,
      /^dir2: the kernel still weights rs2 1 in tcp 10\.99\.1\.100:80 \(keepalived 2\.1\.5 programs weight 0 as 1 .*\): taking it out of its services there instead \(IPVS drops the packets of a removed server, so its established connections there are cut; undrain puts it back\)$/,
    );
    assert.equal(s.lines.length, 2);
  });

  it('when the removal does not reach the kernel either, drain fails: not drained, and where', async () => {
    const s = scene(false);
    assert.equal(await checkQuiesced(ha, s.conns, ['dir1', 'dir2'], 'rs2', s.results, s.apply, s.out, 1), undefined);
    assert.equal(
      s.lines.at(-1),
      'E lvsctl: rs2 is not drained: the kernel still sends it new connections through dir2',
    );
  });
});
