// The planner is pure: desired state + facts -> changes. These tests feed it facts in the shape
// the facts script produces on a real host (parsed by the real parser).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { desiredHost } from '../../src/desired/host.js';
import { parseFacts } from '../../src/facts/parse.js';
import { loadInventory } from '../../src/inventory/load.js';
import { planHost, PlanError } from '../../src/plan/host.js';
import { parseState } from '../../src/plan/state.js';
import { describe as describeChange, type HostPlan } from '../../src/plan/types.js';
import { changeRecord } from '../../src/plan/record.js';
import { fakeNetfilter, factsText, OTHER_SHA, root } from './helpers.js';
import { netfilterFiles } from '../../src/render/netfilter.js';

const dr = loadInventory(join(root, 'inventories/lab-dr.yaml')).cluster;
const nat = loadInventory(join(root, 'inventories/lab-nat.yaml')).cluster;
const tun = loadInventory(join(root, 'inventories/lab-tun.yaml')).cluster;
const kinds = (cs: { kind: string }[]) => cs.map((c) => c.kind);

describe('planHost (DR real server)', () => {
  const d = desiredHost(dr, 'rs1');
  /** The facts of rs1 after the first plan was applied (state file written, settings in place). */
  const convergedFacts = () =>
    factsText({
      sysctl: {
        'net/ipv4/conf/all/arp_ignore': '1',
        'net/ipv4/conf/eth0/arp_ignore': '1',
        'net/ipv4/conf/all/arp_announce': '2',
        'net/ipv4/conf/eth0/arp_announce': '2',
      },
      addr: ['1: lo    inet 10.99.2.100/32 scope global lo:0\\       valid_lft forever preferred_lft forever'],
      state: (planHost({ desired: d, files: [], facts: parseFacts(factsText()) }).changes[0] as { content: string })
        .content,
    });
  it('from a bare host: records originals first, then sets ARP sysctls on all and eth0 and the VIP on lo:0', () => {
    const p = planHost({ desired: d, files: [], facts: parseFacts(factsText()) });
    const text = p.changes.map(describeChange);
    assert.equal(p.changes[0]!.kind, 'state');
    assert.deepEqual(text.filter((t) => t.startsWith('set ')).sort(), [
      'set net.ipv4.conf.all.arp_announce: 0 -> 2',
      'set net.ipv4.conf.all.arp_ignore: 0 -> 1',
      'set net.ipv4.conf.eth0.arp_announce: 0 -> 2',
      'set net.ipv4.conf.eth0.arp_ignore: 0 -> 1',
    ]);
    assert.ok(text.includes('add address 10.99.2.100/32 dev lo label lo:0'));
    const st = parseState((p.changes[0] as { content: string }).content);
    assert.deepEqual(st.originals.sysctl, {
      'net.ipv4.conf.all.arp_announce': '0',
      'net.ipv4.conf.all.arp_ignore': '0',
      'net.ipv4.conf.eth0.arp_announce': '0',
      'net.ipv4.conf.eth0.arp_ignore': '0',
    });
    assert.deepEqual(st.owned.addresses, ['10.99.2.100/32 lo lo:0']);
  });
  it('plans nothing when the host already matches and the state is recorded', () => {
    const converged = convergedFacts();
    assert.deepEqual(planHost({ desired: d, files: [], facts: parseFacts(converged) }).changes, []);
  });
  it('restores recorded originals and removes owned addresses when the host is no longer a real server', () => {
    const converged = convergedFacts();
    const bare = { ...d, sysctl: {}, addresses: [] };
    const p = planHost({ desired: bare, files: [], facts: parseFacts(converged) });
    const text = p.changes.map(describeChange);
    assert.ok(text.includes('restore net.ipv4.conf.all.arp_ignore: 1 -> 0'));
    assert.ok(text.includes('remove address 10.99.2.100/32 dev lo label lo:0'));
    assert.equal(p.changes.at(-1)!.kind, 'state');
    assert.deepEqual(parseState((p.changes.at(-1) as { content: string }).content).originals.sysctl, {});
  });
  it('fails before any change when the interface is absent', () => {
    assert.throws(
      () => planHost({ desired: d, files: [], facts: parseFacts(factsText({ links: ['lo', 'ens3'] })) }),
      (e: Error) =>
        e instanceof PlanError && /interface eth0 does not exist on this host \(it has: lo, ens3\)/.test(e.message),
    );
  });
});

describe('planHost (TUN real server, NAT real server, director)', () => {
  it('TUN: loads ipip, brings tunl0 up, rp_filter 0 on all, default and tunl0', () => {
    const p = planHost({ desired: desiredHost(tun, 'rs1'), files: [], facts: parseFacts(factsText()) });
    const text = p.changes.map(describeChange);
    assert.ok(text.includes('load kernel module ipip'));
    assert.ok(text.includes('bring tunl0 up'));
    for (const dev of ['all', 'default']) assert.ok(text.includes(`set net.ipv4.conf.${dev}.rp_filter: 1 -> 0`), dev);
    assert.ok(text.includes('set net.ipv4.conf.tunl0.rp_filter: (absent) -> 0'));
    assert.ok(text.includes('add address 10.99.1.101/32 dev tunl0'));
    // tunl0 did not exist: its original is what a new device gets (conf/default).
    assert.equal(
      parseState((p.changes[0] as { content: string }).content).originals.sysctl['net.ipv4.conf.tunl0.rp_filter'],
      '1',
    );
  });
  it('NAT: the default route via the DIP, with the old route recorded', () => {
    const p = planHost({ desired: desiredHost(nat, 'rs1'), files: [], facts: parseFacts(factsText()) });
    assert.deepEqual(kinds(p.changes), ['state', 'route']);
    assert.equal(describeChange(p.changes[1]!), 'default route: default via 10.99.2.254 dev eth0 -> via 10.99.2.1');
    assert.equal(
      parseState((p.changes[0] as { content: string }).content).originals.defaultRoute,
      'default via 10.99.2.254 dev eth0',
    );
  });
  it('NAT director: packages, ip_vs and the scheduler modules, forwarding, no redirects, VIP and DIP', () => {
    const facts = parseFacts(factsText({ links: ['lo', 'eth0', 'eth1', 'mgmt0'] }));
    const p = planHost({ desired: desiredHost(nat, 'dir1'), files: [], facts });
    const text = p.changes.map(describeChange);
    assert.equal(text[1], 'install packages: ipvsadm (apt-get)');
    for (const m of ['ip_vs', 'ip_vs_wrr', 'ip_vs_rr']) assert.ok(text.includes(`load kernel module ${m}`), m);
    assert.ok(text.includes('set net.ipv4.ip_forward: 0 -> 1'));
    assert.ok(text.includes('set net.ipv4.conf.all.send_redirects: 1 -> 0'));
    assert.ok(text.includes('add address 10.99.1.100/24 dev eth0'));
    assert.ok(text.includes('add address 10.99.2.1/24 dev eth1'));
  });
  it('a scheduler the kernel lacks fails the plan with the reason', () => {
    const c = loadInventory('x.yaml', {
      text: `cluster: t\nmode: dr\nvars: { interface: eth0 }\nhosts:\n  d: { address: 10.0.0.2 }\n  r: { address: 10.0.0.3 }\ndirectors: { hosts: [d] }\nvips:\n  - { address: 10.0.0.100, interface: eth0, services: [{ port: 80, scheduler: twos, real_servers: [{ host: r }] }] }\n`,
    }).cluster;
    assert.throws(
      () => planHost({ desired: desiredHost(c, 'd'), files: [], facts: parseFacts(factsText()) }),
      /kernel module ip_vs_twos is not available in kernel 6\.1\.0-56-amd64 \(the twos scheduler is not built for it\)/,
    );
  });
});

describe('planHost (files)', () => {
  const d = desiredHost(dr, 'rs1');
  const file = { path: '/usr/local/sbin/lvsctl-realserver', content: '#!/bin/sh\necho hi\n', mode: 0o755 };
  it('creates a missing file with a unified diff, and leaves an identical one alone', () => {
    const p = planHost({ desired: { ...d, sysctl: {}, addresses: [] }, files: [file], facts: parseFacts(factsText()) });
    const c = p.changes.find((x) => x.kind === 'file')!;
    assert.equal(describeChange(c), 'create /usr/local/sbin/lvsctl-realserver (mode 0755)');
    assert.match((c as { diff: string }).diff, /\+\+\+ \/usr\/local\/sbin\/lvsctl-realserver[\s\S]*\+echo hi/);
  });
  it('masks secrets in the diff of a secret file and writes it 0600', () => {
    const secret = {
      path: '/etc/keepalived/keepalived.conf',
      content: 'auth_pass s3cr3t\n',
      mode: 0o644,
      secret: true,
    };
    const p = planHost({
      desired: { ...d, sysctl: {}, addresses: [] },
      files: [secret],
      facts: parseFacts(factsText()),
      secrets: ['s3cr3t'],
    });
    const c = p.changes.find((x) => x.kind === 'file') as { diff: string; file: { mode: number } };
    assert.doesNotMatch(JSON.stringify(p.changes.map((x) => changeRecord(p.host, x))), /s3cr3t/);
    assert.doesNotMatch(c.diff, /s3cr3t/);
    assert.match(c.diff, /auth_pass \*\*\*\*\*\*\*\*/);
    assert.equal(c.file.mode, 0o600);
  });
});

describe('planHost (netfilter and IPVS timeouts on a director)', () => {
  const d = desiredHost(nat, 'dir1');
  const nf = netfilterFiles(nat);
  const links = ['lo', 'eth0', 'eth1', 'mgmt0'];
  it("loads lvsctl's chains when they are missing, and not again when they are in place", () => {
    const p = planHost({ desired: d, files: [], facts: parseFacts(factsText({ links })), netfilter: nf });
    assert.ok(
      p.changes
        .map(describeChange)
        .includes(
          'iptables: load /etc/lvsctl/iptables.rules (7 rules; mangle POSTROUTING -> LVSCTL-GUARD, nat POSTROUTING -> LVSCTL)',
        ),
    );
    const apply = p.changes.find((c) => c.kind === 'netfilter')!;
    assert.ok(apply.kind === 'netfilter' && apply.action === 'apply');
    const live = fakeNetfilter([], apply);
    const q = planHost({
      desired: d,
      files: [],
      facts: parseFacts(factsText({ links, iptables: live })),
      netfilter: nf,
    });
    assert.ok(!q.changes.some((c) => c.kind === 'netfilter'), JSON.stringify(live));
    // The guard's order is part of it: a DROP moved above the RETURNs is drift.
    const i = live.findIndex((l) => l.startsWith('-A LVSCTL-GUARD ') && l.endsWith('-j DROP'));
    const reordered = [...live.slice(0, i - 2), live[i]!, ...live.slice(i - 2, i), ...live.slice(i + 1)];
    assert.deepEqual([...reordered].sort(), [...live].sort());
    const r = planHost({
      desired: d,
      files: [],
      facts: parseFacts(factsText({ links, iptables: reordered })),
      netfilter: nf,
    });
    assert.ok(r.changes.some((c) => c.kind === 'netfilter'));
  });
  it('removes the chains lvsctl no longer wants, each from its own hook (mode switch away from NAT)', () => {
    const live = [
      '*mangle',
      ':LVSCTL-GUARD - [0:0]',
      '-A POSTROUTING -j LVSCTL-GUARD',
      '-A LVSCTL-GUARD -m conntrack --ctstate UNTRACKED -j RETURN',
      '*nat',
      ':LVSCTL - [0:0]',
      '-A POSTROUTING -j LVSCTL',
      '-A LVSCTL -s 10.99.2.0/24 ! -d 10.99.2.0/24 -j MASQUERADE',
    ];
    const p = planHost({
      desired: desiredHost(dr, 'dir1'),
      files: [],
      facts: parseFacts(factsText({ links, iptables: live })),
      netfilter: [],
    });
    assert.deepEqual(p.changes.filter((c) => c.kind === 'netfilter').map(describeChange), [
      'iptables: remove chains and their jumps mangle POSTROUTING -> LVSCTL-GUARD, nat POSTROUTING -> LVSCTL',
    ]);
  });
  it("sets IPVS timeouts, recording the kernel's, and restores them when no longer asked", () => {
    const ipvs = ['@@timeouts 900 120 300'];
    const p = planHost({
      desired: d,
      files: [],
      facts: parseFacts(factsText({ links, ipvs })),
      timeouts: [600, 60, 120],
    });
    assert.ok(p.changes.map(describeChange).includes('set IPVS timeouts (tcp tcpfin udp): 900 120 300 -> 600 60 120'));
    const state = (p.changes[0] as { content: string }).content;
    assert.deepEqual(parseState(state).originals.ipvsTimeouts, [900, 120, 300]);
    const q = planHost({
      desired: d,
      files: [],
      facts: parseFacts(factsText({ links, ipvs: ['@@timeouts 600 60 120'], state })),
    });
    assert.ok(
      q.changes.map(describeChange).includes('restore IPVS timeouts (tcp tcpfin udp): 600 60 120 -> 900 120 300'),
    );
  });
});

describe('planHost (keepalived)', () => {
  const ha = loadInventory(join(root, 'inventories/lab-ha.yaml')).cluster;
  const d = desiredHost(ha, 'dir1');
  const links = ['lo', 'eth0', 'eth1', 'mgmt0'];
  const conf = {
    path: '/etc/keepalived/keepalived.conf',
    content: 'global_defs {}\n',
    mode: 0o600,
    validate: 'keepalived' as const,
  };
  const sha = createHash('sha256').update(conf.content).digest('hex');
  const actions = (p: HostPlan) => p.changes.flatMap((c) => (c.kind === 'keepalived' ? [c.action] : []));
  it('starts keepalived when it is not running, once its config is in place', () => {
    const p = planHost({ desired: d, files: [conf], facts: parseFacts(factsText({ links })) });
    assert.deepEqual(actions(p), ['start']);
    const kinds = p.changes.map((c) => c.kind);
    assert.ok(kinds.indexOf('file') < kinds.indexOf('keepalived'));
  });
  it('reloads (not restarts) a running keepalived when only its config changed, and leaves it alone otherwise', () => {
    const changed = planHost({
      desired: d,
      files: [conf],
      facts: parseFacts(
        factsText({
          links,
          keepalived: ['123'],
          files: [`600 root root ${OTHER_SHA} /etc/keepalived/keepalived.conf`],
        }),
      ),
    });
    assert.deepEqual(actions(changed), ['reload']);
    const same = planHost({
      desired: d,
      files: [conf],
      facts: parseFacts(
        factsText({ links, keepalived: ['123'], files: [`600 root root ${sha} /etc/keepalived/keepalived.conf`] }),
      ),
    });
    assert.deepEqual(actions(same), []);
  });
  it('stops the keepalived lvsctl started when the host no longer needs it', () => {
    const state = JSON.stringify({
      version: 1,
      originals: { sysctl: {} },
      owned: { addresses: [], links: [], files: ['/etc/keepalived/keepalived.conf'], ipvs: [] },
    });
    const p = planHost({
      desired: { ...d, keepalived: false },
      files: [],
      facts: parseFacts(
        factsText({
          links,
          keepalived: ['123'],
          state,
          files: [`600 root root ${sha} /etc/keepalived/keepalived.conf`],
        }),
      ),
    });
    assert.deepEqual(actions(p), ['stop']);
    assert.ok(p.changes.some((c) => c.kind === 'file' && c.action === 'delete'));
  });
});
