// lvsctl's LVSCTL chain compared with what iptables-save prints (plan/netfilter.ts). The live
// lines below are iptables-save's (iptables 1.8.9, nf_tables) after loading lvsctl's wording; the
// tools tier does the same against the real iptables for every example inventory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import { chainDrift, normalRule } from '../../src/plan/netfilter.js';
import { netfilterFiles } from '../../src/render/netfilter.js';

const ours = [
  '-d 10.99.1.100/32 -p tcp --dport 80 -j MARK --set-mark 1',
  '-d 10.99.1.100/32 -p tcp -m multiport --dports 80,443 -j MARK --set-mark 17',
  '-d 10.99.1.100/32 -p udp --dport 53 -j MARK --set-mark 2',
  '-d 10.99.1.100/32 -p sctp --dport 9 -j MARK --set-mark 3',
];
const saved = [
  ':LVSCTL - [0:0]',
  '-A PREROUTING -j LVSCTL',
  '-A LVSCTL -d 10.99.1.100/32 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffffffff',
  '-A LVSCTL -d 10.99.1.100/32 -p tcp -m multiport --dports 80,443 -j MARK --set-xmark 0x11/0xffffffff',
  '-A LVSCTL -d 10.99.1.100/32 -p udp -m udp --dport 53 -j MARK --set-xmark 0x2/0xffffffff',
  '-A LVSCTL -d 10.99.1.100/32 -p sctp -m sctp --dport 9 -j MARK --set-xmark 0x3/0xffffffff',
];

describe('netfilter: LVSCTL chain drift', () => {
  it("iptables-save's words for lvsctl's rules are the same rules (tcp/udp/sctp, multiport, marks in hex, IPv6 compressed, MASQUERADE with !)", () => {
    assert.equal(chainDrift(ours, saved, 'PREROUTING'), false);
    assert.equal(
      chainDrift(
        ['-s 10.99.2.0/24 ! -d 10.99.2.0/24 -j MASQUERADE'],
        ['-A POSTROUTING -j LVSCTL', '-A LVSCTL -s 10.99.2.0/24 ! -d 10.99.2.0/24 -j MASQUERADE'],
        'POSTROUTING',
      ),
      false,
    );
    assert.equal(
      normalRule('-A LVSCTL -d fd00::100/128 -p tcp -m tcp --dport 80 -j MARK --set-xmark 0x1/0xffffffff'),
      normalRule('-d FD00:0::100/128 -p tcp --dport 80 -j MARK --set-mark 1'),
    );
    assert.equal(chainDrift([...ours].reverse(), saved, 'PREROUTING'), false, 'order is moot');
  });
  it('a rule edited by hand with the same count is drift: another port, another mark, another address, another protocol', () => {
    const edits: [RegExp, string][] = [
      [/--dport 80 /, '--dport 8080 '],
      [/0x2\//, '0x5/'],
      [/10\.99\.1\.100/, '10.99.1.101'],
      [/-p udp -m udp/, '-p tcp -m tcp'],
    ];
    for (const [re, to] of edits) {
      const live = saved.map((l, i) => (i === 4 || i === 2 ? l.replace(re, to) : l));
      assert.notDeepEqual(live, saved, String(re));
      assert.equal(chainDrift(ours, live, 'PREROUTING'), true, `${re} -> ${to}`);
    }
  });
  it('a missing or extra rule, or a missing jump from the hook, is drift', () => {
    assert.equal(
      chainDrift(
        ours,
        saved.filter((_, i) => i !== 3),
        'PREROUTING',
      ),
      true,
    );
    assert.equal(chainDrift(ours, [...saved, '-A LVSCTL -j ACCEPT'], 'PREROUTING'), true);
    assert.equal(
      chainDrift(
        ours,
        saved.filter((l) => !l.startsWith('-A PREROUTING')),
        'PREROUTING',
      ),
      true,
    );
    assert.equal(chainDrift(ours, saved, 'OUTPUT'), true, 'the jump is from another hook');
  });
  it('a mark with a partial mask stays apart from a full one', () => {
    assert.notEqual(normalRule('-j MARK --set-xmark 0x1/0xff'), normalRule('-j MARK --set-mark 1'));
  });
});

describe("netfilter: NAT's guard against untranslated service replies (render/netfilter.ts)", () => {
  const inv = (mode: string, services: string) =>
    loadInventory('x.yaml', {
      text: [
        `cluster: t\nmode: ${mode}\nvars: { interface: eth0 }\nhosts:`,
        '  d1: { address: 10.0.1.2 }',
        '  r1: { address: 10.0.2.11 }\n  r2: { address: 10.0.2.12 }',
        `directors: { hosts: [d1], engine: keepalived${mode === 'nat' ? ', dip: { address: 10.0.2.1, prefix: 24, interface: eth1 }' : ''} }`,
        `vips:\n  - { address: 10.0.1.100, prefix: 24, interface: eth0, services: [${services}] }\n`,
      ].join('\n'),
    }).cluster;
  const guard = (c: ReturnType<typeof inv>) =>
    netfilterFiles(c)
      .find((f) => f.cmd === 'iptables')
      ?.chains.find((ch) => ch.chain === 'LVSCTL-GUARD');
  const both = '{ host: r1 }, { host: r2 }';

  it('NAT: RETURN for IPVS-handled and reply packets first, then a DROP per real server and port (its own port, the sorry server too)', () => {
    const c = inv(
      'nat',
      `{ port: 80, real_servers: [{ host: r1, port: 8080 }, { host: r2 }], sorry_server: { address: 10.0.2.50, port: 81 } }, { port: 53, protocol: udp, real_servers: [${both}] }`,
    );
    const g = guard(c)!;
    assert.deepEqual([g.table, g.hook, g.ordered], ['mangle', 'POSTROUTING', true]);
    assert.deepEqual(g.rules, [
      '-m conntrack --ctstate UNTRACKED -j RETURN',
      '-m conntrack --ctdir REPLY -j RETURN',
      '-s 10.0.2.11/32 -p tcp --sport 8080 -j DROP',
      '-s 10.0.2.12/32 -p tcp --sport 80 -j DROP',
      '-s 10.0.2.50/32 -p tcp --sport 81 -j DROP',
      '-s 10.0.2.11/32 -p udp --sport 53 -j DROP',
      '-s 10.0.2.12/32 -p udp --sport 53 -j DROP',
    ]);
  });
  it('NAT fwmark: the marked ports as source ports; one real server in two services is one rule', () => {
    const c = inv(
      'nat',
      `{ fwmark: 7, ports: [80, 443], real_servers: [${both}] }, { port: 8080, real_servers: [{ host: r1, port: 80 }] }`,
    );
    assert.deepEqual(guard(c)!.rules.slice(2), [
      '-s 10.0.2.11/32 -p tcp -m multiport --sports 80,443 -j DROP',
      '-s 10.0.2.12/32 -p tcp -m multiport --sports 80,443 -j DROP',
      '-s 10.0.2.11/32 -p tcp --sport 80 -j DROP',
    ]);
  });
  it('DR and TUN: no guard (the real servers answer the clients themselves)', () => {
    for (const mode of ['dr', 'tun'])
      assert.equal(guard(inv(mode, `{ port: 80, real_servers: [${both}] }`)), undefined);
  });
  const noReset = (c: ReturnType<typeof inv>) =>
    netfilterFiles(c)
      .find((f) => f.cmd === 'iptables')
      ?.chains.find((ch) => ch.chain === 'LVSCTL-NORESET');
  it("NAT with keepalived: the director's own resets from each TCP service's VIP and port are dropped (mangle OUTPUT)", () => {
    const c = inv(
      'nat',
      `{ port: 80, real_servers: [${both}] }, { fwmark: 7, ports: [443, 8443], real_servers: [${both}] }, { port: 53, protocol: udp, real_servers: [${both}] }, { port: 25, engine: ipvsadm, real_servers: [${both}] }`,
    );
    const n = noReset(c)!;
    assert.deepEqual([n.table, n.hook], ['mangle', 'OUTPUT']);
    assert.deepEqual(n.rules, [
      '-s 10.0.1.100/32 -p tcp --sport 80 --tcp-flags RST RST -j DROP',
      '-s 10.0.1.100/32 -p tcp -m multiport --sports 443,8443 --tcp-flags RST RST -j DROP',
    ]);
    for (const mode of ['dr', 'tun'])
      assert.equal(noReset(inv(mode, `{ port: 80, real_servers: [${both}] }`)), undefined, mode);
  });
});
