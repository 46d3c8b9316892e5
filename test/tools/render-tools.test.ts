// Rendered files checked by the real tools (Debian packages: shellcheck, keepalived, systemd,
// iproute2, iptables). Every example inventory is rendered into a temporary directory; each check
// also runs on a deliberately broken file to prove it can fail. A missing tool skips its checks
// with a message; CI installs them all.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import type { Cluster } from '../../src/inventory/model.js';
import { packageRoot } from '../../src/paths.js';
import { kq } from '../../src/render/keepalived-quote.js';
import { renderCluster } from '../../src/render/host.js';
import { netfilterFiles, type NetfilterChain } from '../../src/render/netfilter.js';
import { chainDrift } from '../../src/plan/netfilter.js';
import type { HostFile } from '../../src/render/types.js';
import { interfacesOf, keepalivedTest, run, withNetns, withScripts } from './keepalived-check.js';

const have = (tool: string) => run('sh', ['-c', `command -v ${tool}`]).status === 0;
const missing = (...tools: string[]) => {
  const m = tools.filter((t) => !have(t));
  return m.length
    ? `not installed: ${m.join(', ')} (apt-get install shellcheck keepalived systemd iproute2 iptables)`
    : false;
};
const isRoot = process.getuid?.() === 0;

interface Rendered {
  inventory: string;
  host: string;
  file: HostFile;
  cluster: Cluster;
}
const rendered: Rendered[] = [];
for (const inv of readdirSync(join(packageRoot, 'inventories'))
  .filter((f) => f.endsWith('.yaml'))
  .sort()) {
  const cluster = loadInventory(join(packageRoot, 'inventories', inv), { requireSecrets: false }).cluster;
  for (const [host, files] of renderCluster(cluster, { vrrpPassword: 't00lpw' }))
    for (const file of files) rendered.push({ inventory: inv, host, file, cluster });
}
const byKind = (...kinds: HostFile['kind'][]) => rendered.filter((r) => kinds.includes(r.file.kind));
const label = (r: Rendered) => `${r.inventory.replace(/\.yaml$/, '')} ${r.host} ${r.file.path}`;

const work = mkdtempSync(join(tmpdir(), 'lvsctl-tools-'));
after(() => rmSync(work, { recursive: true, force: true }));
let n = 0;
const tmpFile = (content: string, name = 'f', mode = 0o755) => {
  const p = join(work, `${n++}-${name}`);
  writeFileSync(p, content, { mode });
  return p;
};

describe('scripts: bash -n and shellcheck', { skip: missing('bash', 'shellcheck') }, () => {
  const scripts = byKind('script', 'initscript');
  it('there are scripts to check', () => assert.ok(scripts.length >= 20));
  for (const r of scripts) {
    it(label(r), () => {
      const f = tmpFile(r.file.content, 'script');
      const shell = r.file.content.startsWith('#!/bin/sh') ? 'sh' : 'bash';
      const syntax = run(shell, ['-n', f]);
      assert.equal(syntax.status, 0, syntax.stderr);
      const sc = run('shellcheck', ['--severity=style', f]);
      assert.equal(sc.status, 0, sc.stdout);
    });
  }
  it('a broken script fails both (the checks can fail)', () => {
    assert.notEqual(run('bash', ['-n', tmpFile('#!/bin/bash\nif then fi\n')]).status, 0);
    assert.notEqual(run('shellcheck', [tmpFile('#!/bin/bash\nrm -rf $1/x\n')]).status, 0);
  });
});

describe(
  'keepalived.conf: keepalived -t in a network namespace',
  { skip: missing('keepalived', 'ip') || (!isRoot && 'needs root for ip netns') },
  () => {
    for (const r of byKind('keepalived')) {
      it(label(r), () => {
        withScripts(r.cluster, () =>
          withNetns(interfacesOf(r.cluster), (ns) => {
            const res = keepalivedTest(ns, r.file.content);
            // Exit 143 would be keepalived 2.2.7's "-t killed by SIGTERM" (acassen/keepalived#2587); it
            // did not happen with these configs on Debian 12, so it counts as a failure, not a pass.
            assert.equal(
              res.status,
              0,
              `exit ${res.status}${res.status === 143 ? ' (keepalived#2587)' : ''}: ${res.stdout}${res.stderr}`,
            );
          }),
        );
      });
    }

    const sample = byKind('keepalived').find((r) => r.inventory === 'example-dr-ha.yaml')!;
    it('fails on a missing interface, an unknown keyword, a bad scheduler, an over-long auth_pass', () => {
      withNetns(interfacesOf(sample.cluster), (ns) => {
        for (const [from, to] of [
          ['interface eth0', 'interface eth9'],
          ['weight 100', 'weigth 100'],
          ['lvs_sched wlc', 'lvs_sched bogus'],
          ['auth_pass t00lpw', 'auth_pass t00lpw-longer'],
        ] as const) {
          assert.ok(sample.file.content.includes(from), from);
          const res = keepalivedTest(ns, sample.file.content.replace(from, to));
          assert.equal(res.status, 5, `${to} must fail: ${res.stdout}${res.stderr}`);
        }
      });
    });

    // keepalived -t cannot show what it read: an unquoted "#" silently cuts the value (the rest is a
    // comment) and still passes. So the test proves what it can: quoted specials are accepted, and an
    // unquoted brace is not. That "#"/"!" are kept inside quotes comes from reading lib/parser.c (decomment()).
    it('kq-quoted text with # ! { } $ passes keepalived -t; the unquoted brace fails it', () => {
      const path = '/p#a!t{h}$x';
      const conf = (p: string) =>
        `global_defs {\n    router_id t\n}\nvirtual_server 10.0.0.1 80 {\n    lvs_sched rr\n    lvs_method DR\n    protocol TCP\n    real_server 10.0.1.1 80 {\n        HTTP_GET {\n            url {\n                path ${p}\n                status_code 200\n            }\n        }\n    }\n}\n`;
      withNetns([], (ns) => {
        assert.equal(keepalivedTest(ns, conf(kq(path))).status, 0);
        assert.notEqual(keepalivedTest(ns, conf('/a}')).status, 0);
      });
    });

    it('a group of three directors with unicast VRRP (lab-ha3): each names the other two as peers, and keepalived -t passes', () => {
      const text = readFileSync(join(packageRoot, 'inventories/lab-ha3.yaml'), 'utf8').replace(
        '../test/fixtures/lab-vrrp-password',
        join(packageRoot, 'test/fixtures/lab-vrrp-password'),
      );
      assert.match(text, /unicast: true/);
      const cluster = loadInventory(tmpFile(text, 'ha3.yaml', 0o644), { requireSecrets: false }).cluster;
      const addresses = new Map([...cluster.hosts].map(([h, x]) => [h, x.address]));
      for (const [host, files] of renderCluster(cluster, { vrrpPassword: 't00lpw' })) {
        const conf = files.find((f) => f.kind === 'keepalived');
        if (!conf) continue;
        const peers = /unicast_peer \{\n([^}]*)\}/.exec(conf.content)?.[1]?.trim().split(/\s+/);
        const others = cluster.directors.members.filter((m) => m.host !== host).map((m) => addresses.get(m.host));
        assert.deepEqual(peers, others, host);
        assert.match(conf.content, new RegExp(`unicast_src_ip ${addresses.get(host)!.replaceAll('.', '\\.')}\n`));
        withNetns(interfacesOf(cluster), (ns) => {
          const res = keepalivedTest(ns, conf.content);
          assert.equal(res.status, 0, `${host}: ${res.stdout}${res.stderr}`);
        });
      }
    });

    // What the facts check before apply (facts/scripts.ts) is what keepalived -t refuses too.
    it('lab-ha-scripts: keepalived -t fails while a script is missing, or group-writable by a non-root group', () => {
      const r = byKind('keepalived').find((x) => x.inventory === 'lab-ha-scripts.yaml')!;
      const check = '/usr/local/lib/lvsctl-test/check.sh';
      withNetns(interfacesOf(r.cluster), (ns) => {
        assert.equal(keepalivedTest(ns, r.file.content).status, 5, 'scripts missing');
        withScripts(r.cluster, () => {
          assert.equal(keepalivedTest(ns, r.file.content).status, 0);
          chmodSync(check, 0o775);
          assert.equal(run('chgrp', ['1', check]).status, 0);
          const res = keepalivedTest(ns, r.file.content);
          assert.equal(res.status, 5, `${res.stdout}${res.stderr}`);
          assert.match(`${res.stdout}${res.stderr}`, /insecure/);
        });
      });
    });

    it('keepalived 2.2.7 -t on a config with a vrrp_script (the #2587 case): observed exit 0 on Debian 12', () => {
      const conf =
        'global_defs {\n    router_id t\n    enable_script_security\n    script_user root\n}\nvrrp_script chk {\n    script "/bin/true"\n    interval 2\n}\nvrrp_instance VI_1 {\n    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n    virtual_ipaddress {\n        10.0.0.1/32 dev eth0\n    }\n    track_script {\n        chk\n    }\n}\n';
      withNetns(['eth0'], (ns) => assert.equal(keepalivedTest(ns, conf).status, 0));
    });
  },
);

describe(
  'iptables rules: iptables-restore --test in a network namespace',
  { skip: missing('iptables-restore', 'ip6tables-restore', 'ip') || (!isRoot && 'needs root for ip netns') },
  () => {
    for (const r of byKind('netfilter')) {
      it(label(r), () => {
        const cmd = r.file.path.endsWith('ip6tables.rules') ? 'ip6tables-restore' : 'iptables-restore';
        withNetns([], (ns) => {
          const res = spawnSync('ip', ['netns', 'exec', ns, cmd, '--test', '--noflush'], {
            input: r.file.content,
            encoding: 'utf8',
          });
          assert.equal(res.status, 0, res.stderr);
        });
      });
    }
    // Loaded for real, what iptables-save prints back is no drift to the planner; a hand edit is.
    for (const r of byKind('netfilter')) {
      it(`${label(r)}: loaded, iptables-save's version is no drift; one rule edited by hand is`, () => {
        const fam = r.file.path.endsWith('ip6tables.rules') ? 'ip6tables' : 'iptables';
        const want = netfilterFiles(r.cluster).find((f) => f.file === r.file.path)!;
        withNetns([], (ns) => {
          const load = spawnSync('ip', ['netns', 'exec', ns, `${fam}-restore`, '--noflush'], {
            input: r.file.content,
            encoding: 'utf8',
          });
          assert.equal(load.status, 0, load.stderr);
          const ipt = (...args: string[]) => run('ip', ['netns', 'exec', ns, fam, ...args]);
          for (const ch of want.chains) ipt('-t', ch.table, '-I', ch.hook, '-j', ch.chain);
          const save = (table: string) =>
            run('ip', ['netns', 'exec', ns, `${fam}-save`, '-t', table]).stdout.split('\n');
          const drift = (ch: NetfilterChain) => chainDrift(ch.rules, save(ch.table), ch.hook, ch.chain, ch.ordered);
          for (const ch of want.chains) assert.equal(drift(ch), false, `${ch.chain}: ${save(ch.table).join('\n')}`);
          // Each chain's last rule edited by hand (another port; MASQUERADE -> RETURN) is drift.
          for (const ch of want.chains) {
            const n = ch.rules.length;
            const edited = ipt(
              '-t',
              ch.table,
              '-R',
              ch.chain,
              String(n),
              ...ch.rules[n - 1]!.replace(/(--[ds]ports? )(\d+)/, (_, a: string, p: string) => `${a}${Number(p) + 1}`)
                .replace(/MASQUERADE$/, 'RETURN')
                .split(' '),
            );
            assert.equal(edited.status, 0, edited.stderr);
            assert.equal(drift(ch), true, save(ch.table).join('\n'));
          }
        });
      });
    }
    it('a broken rule fails', () => {
      withNetns([], (ns) => {
        const res = spawnSync('ip', ['netns', 'exec', ns, 'iptables-restore', '--test', '--noflush'], {
          input: '*mangle\n:LVSCTL - [0:0]\n-A LVSCTL -p tcp --dportz 1 -j MARK --set-mark 1\nCOMMIT\n',
          encoding: 'utf8',
        });
        assert.notEqual(res.status, 0);
      });
    });
  },
);

// systemd-analyze verify --root=DIR: DIR holds a copy of the distribution's units (so the targets
// our unit names resolve), the unit, and stand-ins for its ExecStart executables. A bad value is
// only a warning ("Failed to parse ..., ignoring") with exit 0, so any message naming our unit fails too.
function verifyUnit(
  content: string,
  executables: string[],
  file = 'etc/systemd/system/lvsctl.service',
  unit = 'lvsctl.service',
): { status: number | null; ours: string[] } {
  const root = mkdtempSync(join(work, 'root-'));
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), content);
  for (const e of executables) {
    mkdirSync(dirname(join(root, e)), { recursive: true });
    writeFileSync(join(root, e), '#!/bin/sh\n');
    chmodSync(join(root, e), 0o755);
  }
  const res = run('systemd-analyze', ['verify', `--root=${root}`, '--man=no', unit]);
  return { status: res.status, ours: `${res.stdout}${res.stderr}`.split('\n').filter((l) => l.includes('lvsctl')) };
}

describe(
  'systemd unit: systemd-analyze verify in a temporary root',
  { skip: missing('systemd-analyze') || (!have('/usr/lib/systemd/system/multi-user.target') && false) },
  () => {
    const execs = (content: string) => [...content.matchAll(/^Exec\w+=(\S+)/gm)].map((m) => m[1]!);
    for (const r of byKind('unit')) {
      it(label(r), () => {
        const v = verifyUnit(r.file.content, execs(r.file.content));
        assert.equal(v.status, 0, v.ours.join('\n'));
        assert.deepEqual(v.ours, []);
      });
    }
    // keepalived's drop-in (keepalived#2239), over the distribution's keepalived.service
    const dropin = (content: string) =>
      verifyUnit(
        content,
        execs(readFileSync('/usr/lib/systemd/system/keepalived.service', 'utf8')),
        r0.file.path.slice(1),
        'keepalived.service',
      );
    const r0 = byKind('dropin')[0]!;
    it(
      `${label(r0)}: on keepalived.service; a bad KillMode is reported`,
      { skip: !have('/usr/lib/systemd/system/keepalived.service') && 'no keepalived.service' },
      () => {
        const v = dropin(r0.file.content);
        assert.equal(v.status, 0, v.ours.join('\n'));
        assert.deepEqual(v.ours, []);
        const bad = dropin(r0.file.content.replace('KillMode=process', 'KillMode=proces'));
        assert.ok(
          bad.ours.some((l) => /kill mode/i.test(l)),
          bad.ours.join('\n'),
        );
      },
    );
    const unit = byKind('unit')[0]!.file.content;
    it('fails when ExecStart does not exist', () => assert.notEqual(verifyUnit(unit, []).status, 0));
    it('fails on a bad value (reported as a warning naming the unit)', () => {
      const v = verifyUnit(unit.replace('Type=oneshot', 'Type=oneshoot'), execs(unit));
      assert.ok(
        v.ours.some((l) => /Failed to parse service type/.test(l)),
        v.ours.join('\n'),
      );
    });
  },
);
