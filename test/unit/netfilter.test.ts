// lvsctl's LVSCTL chain compared with what iptables-save prints (plan/netfilter.ts). The live
// lines below are iptables-save's (iptables 1.8.9, nf_tables) after loading lvsctl's wording; the
// tools tier does the same against the real iptables for every example inventory.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chainDrift, normalRule } from '../../src/plan/netfilter.js';

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
