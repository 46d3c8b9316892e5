// Raw keepalived fragments through the real keepalived -t: a config with fragments in a VRRP
// instance and a virtual server passes; a fragment keepalived does not accept fails it (which is
// what the on-host config test before install relies on; the lab tier shows that part).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadInventory } from '../../src/inventory/load.js';
import { renderHost } from '../../src/render/host.js';
import { labHaWithRaw, root } from '../unit/helpers.js';
import { interfacesOf, keepalivedTest, run, withNetns } from './keepalived-check.js';

const missing =
  (run('sh', ['-c', 'command -v keepalived && command -v ip']).status !== 0 && 'keepalived or ip not installed') ||
  (process.getuid?.() !== 0 && 'needs root for ip netns');

function check(raw: { vrrp?: string; service?: string }) {
  const text = labHaWithRaw(raw);
  const cluster = loadInventory(join(root, 'inventories', 'lab-ha.yaml'), { text, requireSecrets: false }).cluster;
  const conf = renderHost(cluster, 'dir1', { vrrpPassword: 't00lpw' }).find((f) => f.kind === 'keepalived')!;
  return withNetns(interfacesOf(cluster), (ns) => keepalivedTest(ns, conf.content));
}

describe('raw keepalived fragments: keepalived -t', { skip: missing }, () => {
  it('fragments in the VRRP instance and the virtual server pass', () => {
    const r = check({
      vrrp: 'garp_master_delay 2\n# the real-server side too\ntrack_interface {\n  eth1 weight -20\n}\n',
      service: 'delay_loop 3\nquorum 1\nhysteresis 0\n',
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('a fragment keepalived does not accept fails, with its message', () => {
    const vrrp = check({ vrrp: 'garp_master_dlay 2' });
    assert.equal(vrrp.status, 5);
    assert.match(vrrp.stderr, /Unknown keyword 'garp_master_dlay'/);
    const svc = check({ service: 'track_interface {\n  eth9\n}' });
    assert.notEqual(svc.status, 0, svc.stderr);
  });
});
