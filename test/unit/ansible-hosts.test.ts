// An lvsctl inventory that takes its hosts and groups from an Ansible inventory: only the names it
// uses, Ansible's reach settings under the inventory's own, every Ansible mistake at its own
// file:line, secrets refused before anything runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InventoryError } from '../../src/errors.js';
import { loadInventory } from '../../src/inventory/load.js';
import { natClusterText } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsctl-ansible-'));

const ANSIBLE = `# the operators' own inventory
[directors]
lb1 ansible_host=192.0.2.10 ansible_user=ops ansible_become=true

[web]
app[1:2]
app3 ansible_host=172.16.10.13

[web:vars]
ansible_port=2222
ansible_ssh_private_key_file=keys/web_ed25519
ansible_ssh_common_args='-o ProxyJump=bastion'

[db]
db1 ansible_host=172.16.20.5
`;

function lvsctl(
  name: string,
  ansible: string,
  hosts = '{ app1: { address: 172.16.10.11, ssh: { port: 22 } }, app2: { address: 172.16.10.12 } }',
  rs = '[{ group: web }]',
) {
  writeFileSync(join(dir, `${name}.ini`), ansible);
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, natClusterText({ top: `ansible: { inventory: ${name}.ini }\n`, hosts, realServers: rs }));
  return file;
}

const problems = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof InventoryError) return e.problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`);
    throw e;
  }
  assert.fail('no InventoryError');
};

describe('hosts and groups from an Ansible inventory', () => {
  it('takes the names the inventory uses: a director, a group with its hosts; nothing else', () => {
    const { cluster, notes } = loadInventory(lvsctl('ok', ANSIBLE));
    assert.deepEqual([...cluster.hosts.keys()].sort(), ['app1', 'app2', 'app3', 'lb1'], 'db1 is not used: not taken');
    const lb1 = cluster.hosts.get('lb1')!;
    assert.equal(lb1.address, '192.0.2.10', "ansible_host is an address: the host's address too");
    assert.deepEqual([lb1.ssh.host, lb1.ssh.user, lb1.become && lb1.become.method], ['192.0.2.10', 'ops', 'sudo']);
    const app3 = cluster.hosts.get('app3')!;
    assert.deepEqual(
      [app3.address, app3.ssh.port, app3.ssh.identityFile],
      ['172.16.10.13', 2222, join(dir, 'keys/web_ed25519')],
    );
    // app1 is the inventory's own: its port wins, Ansible's key fills in; app2 takes Ansible's port
    assert.deepEqual(
      [cluster.hosts.get('app1')!.ssh.port, cluster.hosts.get('app1')!.ssh.identityFile],
      [22, join(dir, 'keys/web_ed25519')],
    );
    assert.equal(cluster.hosts.get('app2')!.ssh.port, 2222);
    assert.deepEqual(
      cluster.services[0]!.realServers.map((r) => r.host),
      ['app1', 'app2', 'app3'],
    );
    assert.deepEqual(notes, [
      'Ansible variables lvsctl does not use (how it reaches a host: README): ansible_ssh_common_args',
    ]);
  });

  it('refuses a secret in the Ansible inventory at its file and line, without the value', () => {
    const f = lvsctl(
      'secret',
      ANSIBLE.replace('ansible_become=true', 'ansible_become=true ansible_become_pass=Tr0ub4dor'),
    );
    const ps = problems(() => loadInventory(f));
    assert.deepEqual(ps.length, 1);
    assert.match(
      ps[0]!,
      new RegExp(
        `^${join(dir, 'secret.ini').replace(/[.]/g, '\\.')}:3: lb1: ansible_become_pass: a secret in the inventory`,
      ),
    );
    assert.doesNotMatch(ps[0]!, /Tr0ub4dor/);
  });

  it('a host only Ansible knows, by a DNS name: its address is asked for', () => {
    const f = lvsctl('dns', ANSIBLE.replace('app3 ansible_host=172.16.10.13', 'app3 ansible_host=app3.prod.example'));
    assert.deepEqual(
      problems(() => loadInventory(f)),
      [
        `${join(dir, 'dns.ini')}:7: app3: no IP address for lvsctl: ansible_host is "app3.prod.example"; give the host's address in the lvsctl inventory (hosts.app3.address)`,
      ],
    );
  });

  it('an unusable Ansible value points at the Ansible file (a port out of range, a bad line)', () => {
    const f = lvsctl(
      'bad',
      ANSIBLE.replace('ansible_port=2222', 'ansible_port=99999').replace('[db]', '[db]\ndb2 oops'),
    );
    assert.deepEqual(
      problems(() => loadInventory(f)),
      [`${join(dir, 'bad.ini')}:15: [db]: "oops" is not key=value`],
    );
    const g = lvsctl('port', ANSIBLE.replace('ansible_port=2222', 'ansible_port=99999'));
    const ps = problems(() => loadInventory(g));
    assert.equal(ps.length, 3, ps.join('\n'));
    assert.ok(
      ps.every((p) => /port\.ini:10: app\d: ansible_port: a port is 1 to 65535/.test(p)),
      ps.join('\n'),
    );
  });

  it('a name neither file defines is the usual unknown host; a missing Ansible file is named', () => {
    const f = lvsctl('unknown', ANSIBLE, undefined, '[{ group: web }, { host: app9 }]');
    assert.ok(problems(() => loadInventory(f)).some((p) => /app9/.test(p)));
    const g = lvsctl('missing', ANSIBLE);
    writeFileSync(g, readFileSync(g, 'utf8').replace('missing.ini', 'nowhere.ini'));
    assert.match(problems(() => loadInventory(g))[0]!, /nowhere\.ini:1: : Ansible inventory \(ansible\.inventory\): /);
  });
});
