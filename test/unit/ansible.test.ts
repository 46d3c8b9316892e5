// Ansible inventories read the way Ansible reads them: INI (sections, :vars, :children, ranges,
// inline Python-literal values), YAML (hosts/vars/children, !vault) and ansible-inventory --list's
// JSON; variables merged all < outer groups < inner groups < host; secrets refused with the line.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AnsibleInventoryError,
  ansibleReach,
  expandHostPattern,
  groupHosts,
  hostVars,
  parseAnsibleInventory,
} from '../../src/inventory/ansible.js';

const values = (vars: ReturnType<typeof hostVars>) => Object.fromEntries([...vars].map(([k, v]) => [k, v.value]));

const INI = `# a production inventory
lb1 ansible_host=203.0.113.10

[directors]
lb2 ansible_host=203.0.113.11 ansible_port=2222
lb3:2200 ansible_user="ops team"

[web]
web[01:03].example.com
web-[a:b] http_port=8080  # a comment

[web:vars]
ansible_user=deploy
ansible_become=true
greeting="hello world"

[lvs:children]
directors
web

[lvs:vars]
ansible_user=lvsadmin
ansible_ssh_private_key_file=~/.ssh/lvs_ed25519

[all:vars]
ansible_port=22
`;

describe('Ansible INI inventory', () => {
  const inv = parseAnsibleInventory('hosts', INI);

  it('reads hosts, ranges, host:port and ungrouped hosts', () => {
    assert.deepEqual(
      [...inv.hosts.keys()],
      ['lb1', 'lb2', 'lb3', 'web01.example.com', 'web02.example.com', 'web03.example.com', 'web-a', 'web-b'],
    );
    assert.deepEqual(groupHosts(inv, 'ungrouped'), ['lb1']);
    assert.deepEqual(groupHosts(inv, 'lvs').sort(), [
      'lb2',
      'lb3',
      'web-a',
      'web-b',
      'web01.example.com',
      'web02.example.com',
      'web03.example.com',
    ]);
    assert.equal(inv.hosts.get('web02.example.com'), 9, 'the line that named it');
  });

  it('merges all < parent group < child group < host', () => {
    // web is a child of lvs: its ansible_user wins over lvs's; lvs's key file reaches web hosts
    assert.deepEqual(values(hostVars(inv, 'web01.example.com')), {
      ansible_port: '22',
      ansible_user: 'deploy',
      ansible_ssh_private_key_file: '~/.ssh/lvs_ed25519',
      ansible_become: 'true',
      greeting: 'hello world',
    });
    // the host's own (inline, a number) beats all:vars; host:port is ansible_port
    assert.equal(values(hostVars(inv, 'lb2')).ansible_port, 2222);
    assert.equal(values(hostVars(inv, 'lb3')).ansible_port, 2200);
    assert.equal(values(hostVars(inv, 'lb3')).ansible_user, 'ops team');
    assert.equal(values(hostVars(inv, 'lb2')).ansible_user, 'lvsadmin');
  });

  it('maps the reach variables; a :vars "true" is a boolean for become', () => {
    const r = ansibleReach('web01.example.com', hostVars(inv, 'web01.example.com'));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.reach, { port: 22, user: 'deploy', identityFile: '~/.ssh/lvs_ed25519', become: true });
    assert.deepEqual(ansibleReach('lb1', hostVars(inv, 'lb1')).reach, { host: '203.0.113.10', port: 22 });
  });

  it('refuses secrets, naming the file, line and variable, and says what to use instead', () => {
    const text = `[web]\nweb1 ansible_password=hunter2\n\n[web:vars]\nansible_become_pass=s3cret\n`;
    const inv2 = parseAnsibleInventory('hosts.ini', text);
    const r = ansibleReach('web1', hostVars(inv2, 'web1'));
    // group variables first, then the host's own
    assert.deepEqual(
      r.problems.map((p) => [p.line, p.field]),
      [
        [5, 'web1: ansible_become_pass'],
        [2, 'web1: ansible_password'],
      ],
    );
    for (const p of r.problems) {
      assert.match(p.message, /password_env/);
      assert.doesNotMatch(p.message, /hunter2|s3cret/, 'never the secret itself');
    }
  });

  it('a malformed line is an error with its line', () => {
    assert.throws(
      () => parseAnsibleInventory('hosts', '[web]\nweb1 ansible_user\n[web:children]\na b\n'),
      (e: unknown) =>
        e instanceof AnsibleInventoryError &&
        e.message ===
          'hosts:2: [web]: "ansible_user" is not key=value\nhosts:4: [web]: a :children section lists one group per line',
    );
  });
});

describe('Ansible YAML inventory', () => {
  const YAML = `all:
  vars:
    ansible_user: root
  children:
    directors:
      hosts:
        lb1:
          ansible_host: 10.0.0.10
        lb2:
          ansible_host: 10.0.0.11
          ansible_port: 2222
      vars:
        ansible_become: true
    web:
      children:
        web_eu:
          hosts:
            web[1:2]:
          vars:
            ansible_user: eu
      vars:
        ansible_user: web
`;
  const inv = parseAnsibleInventory('inv.yml', YAML);

  it('reads groups, children, host ranges and vars', () => {
    assert.deepEqual([...inv.hosts.keys()], ['lb1', 'lb2', 'web1', 'web2']);
    assert.deepEqual(groupHosts(inv, 'web'), ['web1', 'web2']);
    assert.deepEqual(ansibleReach('lb2', hostVars(inv, 'lb2')).reach, {
      host: '10.0.0.11',
      port: 2222,
      user: 'root',
      become: true,
    });
    assert.equal(ansibleReach('web1', hostVars(inv, 'web1')).reach.user, 'eu', 'the innermost group wins');
  });

  it('refuses a !vault value with its line, whatever the variable', () => {
    const text = `web:\n  hosts:\n    web1:\n      ansible_host: 10.0.0.1\n      ansible_become_password: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n        6162636465\n`;
    const inv2 = parseAnsibleInventory('v.yaml', text);
    const r = ansibleReach('web1', hostVars(inv2, 'web1'));
    assert.equal(r.problems.length, 1);
    assert.equal(r.problems[0]!.line, 5);
    assert.match(r.problems[0]!.message, /Ansible Vault/);
    assert.doesNotMatch(JSON.stringify(r), /6162636465/);
  });

  it('a YAML error or a wrong shape names the line', () => {
    assert.throws(
      () => parseAnsibleInventory('bad.yml', 'web:\n  hostz: {}\n'),
      /bad\.yml:2: web: unknown key "hostz"/,
    );
    assert.throws(
      () => parseAnsibleInventory('bad.yml', 'web:\n  hosts: [a, b]\n'),
      /bad\.yml:2: web\.hosts: hosts \(host names\) is a mapping/,
    );
  });
});

describe('ansible-inventory --list JSON', () => {
  const JSON_LIST = `{
  "_meta": {
    "hostvars": {
      "lb1": { "ansible_host": "10.0.0.10", "ansible_user": "ops" },
      "web1": { "ansible_host": "10.0.0.21", "ansible_ssh_pass": { "__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\\n61" } }
    }
  },
  "all": { "children": ["ungrouped", "directors", "web"] },
  "directors": { "hosts": ["lb1"] },
  "web": { "hosts": ["web1"] }
}`;
  const inv = parseAnsibleInventory('list.json', JSON_LIST);

  it('reads hostvars and groups', () => {
    assert.deepEqual(groupHosts(inv, 'directors'), ['lb1']);
    assert.deepEqual(ansibleReach('lb1', hostVars(inv, 'lb1')).reach, { host: '10.0.0.10', user: 'ops' });
  });
  it('an encrypted value is refused', () => {
    const r = ansibleReach('web1', hostVars(inv, 'web1'));
    assert.deepEqual(
      r.problems.map((p) => [p.line, p.field]),
      [[5, 'web1: ansible_ssh_pass']],
    );
  });
});

describe('host patterns and refusals', () => {
  it('expands numeric (zero-padded, stepped) and letter ranges, several in one name', () => {
    assert.deepEqual(expandHostPattern('web[08:10]'), ['web08', 'web09', 'web10']);
    assert.deepEqual(expandHostPattern('n[1:7:3]'), ['n1', 'n4', 'n7']);
    assert.deepEqual(expandHostPattern('r[a:b]-[1:2]'), ['ra-1', 'ra-2', 'rb-1', 'rb-2']);
    assert.throws(() => expandHostPattern('x[5:1]'), /ends before it starts/);
    assert.throws(() => expandHostPattern('x[0:99999]'), /more than 10000/);
  });
  it('other connections, become methods and users are refused; unused ansible_* variables are listed', () => {
    const inv = parseAnsibleInventory(
      'h',
      'a ansible_connection=local\nb ansible_become=yes ansible_become_method=su ansible_ssh_common_args=-oFoo=1\nc ansible_become=true ansible_become_user=postgres\n',
    );
    assert.match(ansibleReach('a', hostVars(inv, 'a')).problems[0]!.message, /SSH only/);
    const b = ansibleReach('b', hostVars(inv, 'b'));
    assert.match(b.problems[0]!.message, /sudo only/);
    assert.deepEqual(b.ignored, ['ansible_ssh_common_args']);
    assert.match(ansibleReach('c', hostVars(inv, 'c')).problems[0]!.message, /becomes root/);
  });
});
