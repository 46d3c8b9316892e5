// Raw keepalived fragments (directors.vrrp.instances[].raw, a service's keepalived_raw): rendered
// verbatim and indented inside their own block; anything that could leave the block, read another
// file or expand in keepalived refused by validation with file:line:field.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InventoryError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { RAW_MAX, rawFragmentProblem } from '../../src/inventory/raw-fragment.js';
import { renderTemplate } from '../../src/render/engine.js';
import { renderHost } from '../../src/render/host.js';
import { labHaWithRaw, root } from './helpers.js';

const FILE = join(root, 'inventories', 'lab-ha.yaml');
const load = (text: string) => loadInventory(FILE, { text, requireSecrets: false }).cluster;
const keepalivedConf = (text: string) =>
  renderHost(load(text), 'dir1', { vrrpPassword: 'pw' }).find((f) => f.kind === 'keepalived')!.content;
const problems = (text: string) => {
  try {
    load(text);
  } catch (e) {
    if (e instanceof InventoryError) return e.problems;
    throw e;
  }
  return [];
};

const VRRP_RAW = 'garp_master_delay 2\n# track the real-server side too\ntrack_interface {\n  eth1 weight -20\n}\n';
const SERVICE_RAW = 'delay_loop 3\nquorum 1\nhysteresis 0\n';

describe('raw keepalived fragments: rendering', () => {
  const conf = keepalivedConf(labHaWithRaw({ vrrp: VRRP_RAW, service: SERVICE_RAW }));

  it('the VRRP fragment is inside vrrp_instance VI_1, verbatim and indented, after what lvsctl writes', () => {
    const block = /\nvrrp_instance VI_1 \{\n([\s\S]*?)\n\}\n/.exec(conf)?.[1];
    assert.ok(block, conf);
    assert.ok(
      block.endsWith(
        '    # raw fragment from the inventory (directors.vrrp.instances[].raw)\n' +
          '    garp_master_delay 2\n    # track the real-server side too\n    track_interface {\n      eth1 weight -20\n    }',
      ),
      block,
    );
  });

  it('the service fragment is inside its virtual_server block, after the real servers', () => {
    const block = /\nvirtual_server 10\.99\.1\.100 80 \{\n([\s\S]*?)\n\}\n/.exec(conf)?.[1];
    assert.ok(block, conf);
    assert.ok(
      block.endsWith(
        '    # raw fragment from the inventory (keepalived_raw)\n    delay_loop 3\n    quorum 1\n    hysteresis 0',
      ),
      block,
    );
    assert.ok(block.indexOf('real_server 10.99.2.12 80') < block.indexOf('delay_loop 3'));
  });

  it('without fragments nothing is added (the golden files stay as they are)', () => {
    assert.doesNotMatch(keepalivedConf(labHaWithRaw({})), /raw fragment/);
  });

  it('the template helper refuses a fragment that did not pass validation', () => {
    const ctx = (raw: string) => ({
      host: 'h',
      cluster: 'c',
      mode: 'dr',
      secret: false,
      syncDaemon: false,
      syncGroup: false,
      instances: [],
      virtualServers: [
        {
          id: 'x',
          name: false,
          fwmark: false,
          address: '10.0.0.1',
          port: 80,
          scheduler: 'rr',
          schedFlags: [],
          ops: false,
          method: 'DR',
          protocol: 'TCP',
          ipFamily: false,
          persistence: false,
          inhibitOnFailure: false,
          sorryServer: false,
          realServers: [],
          raw,
        },
      ],
    });
    assert.match(renderTemplate('keepalived.conf', ctx('quorum 1')), /\n {4}quorum 1\n\}/);
    assert.throws(() => renderTemplate('keepalived.conf', ctx('}\ninclude /tmp/x\n{')), /\{\{kraw\}\}/);
  });
});

describe('raw keepalived fragments: hostile input refused by validation', () => {
  const cases: [string, string, RegExp][] = [
    ['closes its block', '}\nvirtual_server 10.0.0.9 80 {\n', /closes a block the fragment did not open/],
    ['leaves a block open', 'track_interface {\n  eth1\n', /1 "\{" not closed/],
    ['closes and reopens', 'quorum 1\n}\nvrrp_instance X {', /line 2: a "\}" closes a block/],
    ['hides a brace in a comment', 'track_interface {\n  eth1 # }\n', /line 2: no brace in a comment/],
    ['hides a brace after !', 'x {\n! }\n}', /line 2: no brace in a comment/],
    ['puts a brace in quotes', 'notify "{"\n}', /line 1: no brace inside quotes/],
    ['leaves a quote open', 'notify "/x\n', /a quote left open/],
    ['includes a file', 'include /etc/keepalived/other.conf', /no include/],
    ['includes after a brace', 'x {include /tmp/y\n}', /no include/],
    ['defines a parameter', '$X=1', /no "\$"/],
    ['uses a parameter', 'priority ${PRIO}', /no "\$"/],
    ['uses a conditional', '@dir1 priority 200', /no "@"/],
    ['repeats a line', '~SEQ(i,1,3) priority $i', /no "\$"/],
    ['repeats without $', '  ~SEQ(i,1,3) quorum 1', /no line starting with "~"/],
    ['holds a NUL', 'quorum 1\u0000', /control characters \(found U\+0000\)/],
    ['holds an escape', 'quorum \u001b[2J1', /control characters \(found U\+001b\)/],
    ['holds a carriage return', 'quorum 1\r\nhysteresis 0', /U\+000d/],
    ['holds a line separator', 'quorum 1\u2028}', /U\+2028/],
    ['is too long', '# ' + 'x'.repeat(RAW_MAX), /at most 4096 characters/],
  ];
  for (const [what, raw, message] of cases)
    it(`a fragment that ${what}`, () => {
      assert.match(rawFragmentProblem(raw) ?? '', message);
      const vrrp = problems(labHaWithRaw({ vrrp: raw }));
      assert.equal(vrrp.length, 1, JSON.stringify(vrrp));
      assert.equal(vrrp[0]!.field, 'directors.vrrp.instances[0].raw');
      assert.match(vrrp[0]!.message, /^a raw keepalived fragment: /);
      assert.ok(vrrp[0]!.line > 1);
      const svc = problems(labHaWithRaw({ service: raw }));
      assert.equal(svc.length, 1, JSON.stringify(svc));
      assert.equal(svc[0]!.field, 'vips[0].services[0].keepalived_raw');
    });

  it('accepts ordinary keepalived lines: nested blocks, comments, quoted text, words that contain "include"', () => {
    for (const raw of [
      VRRP_RAW,
      SERVICE_RAW,
      'a {\n b {\n  c 1\n }\n}\n',
      'notify "/usr/local/bin/x arg" # a comment\n',
      'virtualhost includes.example',
      '! comment with # and "quotes',
      '',
    ])
      assert.equal(rawFragmentProblem(raw), undefined, raw);
  });

  it('keepalived_raw on a service ipvsadm owns is refused (keepalived never reads it)', () => {
    const text = labHaWithRaw({ service: 'quorum 1' }).replace(
      '        inhibit_on_failure: false\n',
      '        engine: ipvsadm\n',
    );
    const p = problems(text).filter((x) => x.field.endsWith('keepalived_raw'));
    assert.equal(p.length, 1, JSON.stringify(p));
    assert.equal(p[0]!.field, 'vips[0].services[0].keepalived_raw');
    assert.match(p[0]!.message, /only on a service keepalived owns/);
  });
});
