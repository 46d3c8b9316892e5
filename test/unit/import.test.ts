// `lvsctl import`'s builder: a hand-built cluster's facts (as the import script prints them) become
// an inventory that loads and asks for exactly the IPVS table and addresses that run; what cannot
// be written so is left out and listed.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseFacts } from '../../src/facts/parse.js';
import { buildInventory, ImportError, parseDest, type Reached } from '../../src/import/build.js';
import { liveTable } from '../../src/ipvs/list.js';
import { parseImportFacts } from '../../src/import/facts.js';
import { kaValue, readKeepalivedConf, type KaConf } from '../../src/import/keepalived-conf.js';
import { renderedFiles } from '../../src/engine/files.js';
import { desiredHost } from '../../src/desired/host.js';
import { loadInventory } from '../../src/inventory/load.js';
import { desiredTable } from '../../src/ipvs/desired.js';
import { planHost } from '../../src/plan/host.js';
import { ipvsDelta } from '../../src/plan/ipvs.js';
import { directorAddresses } from '../../src/render/director.js';
import { parseBootScripts } from '../../src/resources/boot-scripts.js';
import { addrLine, factsText, runCli, type FactsOptions } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'lvsctl-import-'));

/** The import script's output: the common facts, then import's own sections. */
function importText(
  o: FactsOptions,
  extra: {
    hostname: string;
    mangle4?: string[];
    nat4?: string[];
    daemon?: string[];
    keepalived?: string;
    boot?: string[];
  },
): string {
  const sec = (name: string, lines: string[]) => `\n@@import ${name}\n${lines.join('\n')}`;
  return (
    factsText({ ...o, bootScripts: extra.boot ?? [] }) +
    sec('hostname', [extra.hostname]) +
    sec('mangle4', extra.mangle4 ?? []) +
    sec('mangle6', []) +
    sec('nat4', extra.nat4 ?? []) +
    sec('daemon', extra.daemon ?? []) +
    sec('keepalived', [extra.keepalived ? Buffer.from(extra.keepalived).toString('base64') : '']) +
    '\n'
  );
}

// A NAT director built by a tutorial's script: VIP on eth0, its own address on the servers' network,
// wrr with persistence, a server on another port, a fwmark service for 80+443, sync daemon,
// conntrack on, a rc.local that clears and re-adds the rules at boot.
const natDirector = importText(
  {
    addr: [
      addrLine({ address: '192.0.2.2', prefix: 24, dev: 'eth0' }, 2),
      addrLine({ address: '192.0.2.100', prefix: 24, dev: 'eth0', label: 'eth0:0' }, 2),
      addrLine({ address: '10.1.0.1', prefix: 24, dev: 'eth1' }, 3),
    ],
    sysctl: { 'net/ipv4/vs/conntrack': '1', 'net/ipv4/vs/expire_nodest_conn': '0' },
    ipvs: [
      '-A -t 192.0.2.100:80 -s wrr -p 300',
      '-a -t 192.0.2.100:80 -r 10.1.0.11:80 -m -w 3',
      '-a -t 192.0.2.100:80 -r 10.1.0.12:8080 -m -w 1',
      '-A -f 5 -s rr',
      '-a -f 5 -r 10.1.0.11:0 -m -w 1',
      '-a -f 5 -r 10.1.0.12:0 -m -w 1',
      '-A -t 192.0.2.100:8443 -s rr',
      '-a -t 192.0.2.100:8443 -r 10.1.0.11:8443 -g -w 1',
      '@@timeouts 900 60 300',
    ],
  },
  {
    hostname: 'lb-a.example.net',
    mangle4: ['-A PREROUTING -d 192.0.2.101/32 -p tcp -m multiport --dports 80,443 -j MARK --set-xmark 0x5/0xffffffff'],
    nat4: ['-A POSTROUTING -s 10.1.0.0/24 ! -d 10.1.0.0/24 -j MASQUERADE'],
    daemon: ['master sync daemon (mcast=eth1, syncid=7)'],
    boot: ['enabled exec /etc/rc.local clear add', 'disabled service /etc/init.d/lvs-director add'],
  },
);

const web1 = importText(
  { addr: [addrLine({ address: '10.1.0.11', prefix: 24, dev: 'eth0' }, 2)], route: 'default via 10.1.0.1 dev eth0 ' },
  { hostname: 'web1' },
);

/** Writes and loads the result, as `import` checks it. */
function load(text: string) {
  const file = join(dir, `i${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return loadInventory(file).cluster;
}

describe('import: from a hand-built NAT director to an inventory', () => {
  const facts = parseImportFacts(natDirector);
  // fwmark 5's VIP (192.0.2.101) is on no interface: added for the test
  facts.facts.addresses.push({ dev: 'eth0', family: 4, address: '192.0.2.101', prefix: 24 });
  const input = {
    directors: [{ dest: 'ops@lb-a:2222', facts }],
    realServers: new Map<string, Reached>([
      ['10.1.0.11', { dest: '10.1.0.11', facts: parseImportFacts(web1) }],
      ['10.1.0.12', { dest: '10.1.0.12', error: 'connect ETIMEDOUT' }],
    ]),
  };
  const r = buildInventory(input);
  const cluster = load(r.text);

  it('asks for exactly the IPVS table that runs (no IPVS change)', () => {
    const want = desiredTable(cluster, 'lb-a');
    const kept = { services: liveTable(facts.facts).services.filter((s) => !('port' in s && s.port === 8443)) };
    assert.deepEqual(ipvsDelta(kept, want, []).ops, []);
    assert.deepEqual(ipvsDelta(liveTable(facts.facts), want, []).ops, [], 'the left-out service is not touched');
  });
  it('and exactly the addresses the director holds (no VIP or DIP change)', () => {
    for (const a of directorAddresses(cluster))
      assert.ok(
        facts.facts.addresses.some((x) => x.address === a.address && x.prefix === a.prefix && x.dev === a.dev),
        `${a.address}/${a.prefix} ${a.dev}`,
      );
    assert.equal(cluster.directors.dip?.address, '10.1.0.1', "the real servers' gateway");
  });
  it('names hosts as they name themselves; an unreached real server by its address, with a comment', () => {
    assert.deepEqual([...cluster.hosts.keys()].sort(), ['lb-a', 'rs-10-1-0-12', 'web1']);
    assert.equal(cluster.hosts.get('lb-a')!.ssh.inventory?.host, 'lb-a');
    assert.equal(cluster.hosts.get('lb-a')!.ssh.port, 2222);
    assert.equal(cluster.hosts.get('lb-a')!.ssh.user, 'ops');
    assert.match(r.text, /rs-10-1-0-12:\n\s+# not reached: connect ETIMEDOUT/);
    assert.equal(cluster.hosts.get('lb-a')!.address, '192.0.2.2', 'its address beside the VIP');
  });
  it('keeps the settings that differ from the defaults: timeouts, sysctls, sync daemon, masquerade', () => {
    assert.deepEqual(cluster.ipvs?.timeouts, { tcp: 900, tcpfin: 60, udp: 300 });
    assert.equal(cluster.ipvs?.sysctl?.conntrack, 1);
    assert.deepEqual(cluster.directors.sync_daemon && { ...cluster.directors.sync_daemon }, {
      interface: 'eth1',
      id: 7,
    });
    assert.equal(cluster.directors.masquerade, true);
  });
  it('lists what it left out, and the boot-time scripts that program IPVS', () => {
    assert.deepEqual(r.notImported, [
      'tcp 192.0.2.100:8443 on lb-a: its real server 10.1.0.11 is forwarded by dr, the cluster by nat',
    ]);
    assert.deepEqual(
      r.fighters.map((f) => `${f.host} ${f.fighter.path} ${f.fighter.does.join(',')} ${f.fighter.enabled}`),
      ['lb-a /etc/rc.local clear,add true', 'lb-a /etc/init.d/lvs-director add false'],
    );
    assert.match(r.text, /^# Not imported/m);
    assert.match(r.text, /^# {3}- lb-a: \/etc\/rc\.local \(clears the IPVS table, adds virtual services; enabled\)$/m);
    assert.match(r.text, /--disable-boot-scripts/);
  });
});

describe('import: DR, and what it refuses', () => {
  const drDirector = (ipvs: string[], keepalived?: string) =>
    parseImportFacts(
      importText(
        {
          addr: [
            addrLine({ address: '192.0.2.2', prefix: 24, dev: 'eth0' }, 2),
            addrLine({ address: '192.0.2.100', prefix: 32, dev: 'eth0' }, 2),
          ],
          ipvs,
          ...(keepalived && { keepalived: ['812'] }),
        },
        { hostname: 'lb', keepalived },
      ),
    );
  const rs = (addr: string, withVip: boolean) =>
    parseImportFacts(
      importText(
        {
          addr: [
            addrLine({ address: addr, prefix: 24, dev: 'eth0' }, 2),
            ...(withVip ? [addrLine({ address: '192.0.2.100', prefix: 32, dev: 'lo', label: 'lo:0' }, 1)] : []),
          ],
        },
        { hostname: `web-${addr.split('.').at(-1)}` },
      ),
    );

  it('DR: the real servers keep their VIP on lo:0 (no address change on them)', () => {
    const d = drDirector([
      '-A -u 192.0.2.100:53 -s sh -b sh-port',
      '-a -u 192.0.2.100:53 -r 192.0.2.11:53 -g -w 2',
      '-a -u 192.0.2.100:53 -r 192.0.2.12:53 -g -w 0',
    ]);
    const rss = new Map<string, Reached>([
      ['192.0.2.11', { dest: '192.0.2.11', facts: rs('192.0.2.11', true) }],
      ['192.0.2.12', { dest: '192.0.2.12', facts: rs('192.0.2.12', true) }],
    ]);
    const r = buildInventory({ directors: [{ dest: 'lb', facts: d }], realServers: rss });
    const cluster = load(r.text);
    assert.equal(cluster.mode, 'dr');
    assert.deepEqual(ipvsDelta(liveTable(d.facts), desiredTable(cluster, 'lb'), []).ops, []);
    for (const [addr, name] of [
      ['192.0.2.11', 'web-11'],
      ['192.0.2.12', 'web-12'],
    ] as const) {
      const plan = planHost({ desired: desiredHost(cluster, name), files: [], facts: rss.get(addr)!.facts!.facts });
      assert.deepEqual(
        plan.changes.filter((c) => c.kind === 'address'),
        [],
        name,
      );
    }
  });
  it('refuses directors of which keepalived programs some and not the others', () => {
    const rules = ['-A -t 192.0.2.100:80 -s rr', '-a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 1'];
    const ka = drDirector(rules, 'virtual_server 192.0.2.100 80 {\n  lb_algo rr\n}\n');
    assert.throws(
      () =>
        buildInventory({
          directors: [
            { dest: 'lb', facts: ka },
            { dest: 'lb2', facts: drDirector(rules) },
          ],
          realServers: new Map(),
        }),
      (e: Error) =>
        e instanceof ImportError && /keepalived programs the virtual services on lb and not on lb2/.test(e.message),
    );
  });
  it('refuses when nothing can be written, saying why for each service', () => {
    const d = drDirector([
      '-A --sctp-service 192.0.2.100:9 -s rr',
      '-a --sctp-service 192.0.2.100:9 -r 192.0.2.11:9 -g -w 1',
    ]);
    assert.throws(
      () => buildInventory({ directors: [{ dest: 'lb', facts: d }], realServers: new Map() }),
      /none of lb's services can be written as an inventory:\n {2}sctp 192\.0\.2\.100:9 on lb: SCTP services are not supported/,
    );
  });
  it('refuses an unreached director, naming it', () => {
    assert.throws(
      () => buildInventory({ directors: [{ dest: 'lb9', error: 'connect ECONNREFUSED' }], realServers: new Map() }),
      /director lb9 was not reached: connect ECONNREFUSED/,
    );
  });
});

describe('import: --from words and the boot section', () => {
  it('parses [user@]host[:port], IPv6 in brackets', () => {
    assert.deepEqual(parseDest('lb1'), { host: 'lb1' });
    assert.deepEqual(parseDest('ops@lb1:2222'), { host: 'lb1', port: 2222, user: 'ops' });
    assert.deepEqual(parseDest('[2001:db8::1]:22'), { host: '2001:db8::1', port: 22 });
    assert.deepEqual(parseDest('root@[2001:db8::1]'), { host: '2001:db8::1', user: 'root' });
  });
  it('reads the facts of a host without IPVS (a real server)', () => {
    const f = parseImportFacts(web1);
    assert.equal(f.hostname, 'web1');
    assert.equal(f.facts.ipvs, null);
    assert.deepEqual(f.bootFighters, []);
    assert.equal(parseFacts(factsText()).ipvs, null);
  });
});

describe('import: its words are checked before any host is contacted', () => {
  it('an existing -o file without --force, --json to stdout, a bad --cluster: exit 64, nothing contacted', async () => {
    const existing = join(dir, 'exists.yaml');
    writeFileSync(existing, 'x: 1\n');
    // 192.0.2.1 (TEST-NET-1) would hang or fail to connect; these end before any connection
    for (const [args, why] of [
      [['-o', existing], /exists; use --force to overwrite it/],
      [['--json'], /--json needs -o FILE/],
      [['--cluster', '-bad name', '-o', join(dir, 'new.yaml')], /--cluster: expected a name/],
    ] as const) {
      const r = await runCli(['import', '--from', '192.0.2.1', ...args]);
      assert.equal(r.code, 64, r.stderr);
      assert.match(r.stderr, why);
    }
  });
});

describe('boot-time scripts: the scan and the word that disables them', () => {
  it('reads the scan: state, how it is switched, the path (spaces kept), what it does; none when not scanned', () => {
    assert.equal(parseBootScripts([]), null);
    assert.deepEqual(parseBootScripts(['scanned']), []);
    assert.deepEqual(
      parseBootScripts([
        'scanned',
        'enabled exec /etc/network/if-up.d/lvs rules clear add',
        'garbage',
        'disabled service /lib/systemd/system/ipvsadm.service restore',
      ]),
      [
        { path: '/etc/network/if-up.d/lvs rules', enabled: true, how: 'exec', does: ['clear', 'add'] },
        { path: '/lib/systemd/system/ipvsadm.service', enabled: false, how: 'service', does: ['restore'] },
      ],
    );
  });
  it('--disable-boot-scripts without --takeover: exit 64 before the inventory is read or a host contacted', async () => {
    const r = await runCli(['up', '-i', 'inventories/lab-nat.yaml', '--disable-boot-scripts']);
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /--disable-boot-scripts goes with --takeover/);
  });
});

describe('import: a keepalived DR pair (keepalived.conf read back)', () => {
  const conf = (state: string, priority: number) => `global_defs {
    router_id LVS_${state}
}
vrrp_instance VI_1 {
    state ${state}
    interface eth0
    virtual_router_id 51
    priority ${priority}
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0
    }
}
virtual_server 192.0.2.100 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    persistence_timeout 50
    protocol TCP
    real_server 192.0.2.11 80 {
        weight 3
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
            retry 2
            delay_before_retry 3
        }
    }
    real_server 192.0.2.12 80 {
        weight 1
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
            retry 2
            delay_before_retry 3
        }
    }
}
virtual_server 192.0.2.100 443 {
    delay_loop 10
    lb_algo rr
    lb_kind DR
    protocol TCP
    quorum 1
    real_server 192.0.2.11 443 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
    real_server 192.0.2.12 443 {
        weight 1
        TCP_CHECK {
            connect_timeout 2
        }
    }
}
`;
  const table = [
    '-A -t 192.0.2.100:80 -s wrr -p 50',
    '-a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 3',
    '-a -t 192.0.2.100:80 -r 192.0.2.12:80 -g -w 1',
    '-A -t 192.0.2.100:443 -s rr',
    '-a -t 192.0.2.100:443 -r 192.0.2.11:443 -g -w 1',
    '-a -t 192.0.2.100:443 -r 192.0.2.12:443 -g -w 1',
  ];
  const director = (name: string, addr: string, state: string, priority: number, holds: boolean) =>
    parseImportFacts(
      importText(
        {
          addr: [
            addrLine({ address: addr, prefix: 24, dev: 'eth0' }, 2),
            ...(holds ? [addrLine({ address: '192.0.2.100', prefix: 24, dev: 'eth0' }, 2)] : []),
          ],
          ipvs: table,
          keepalived: ['901', '902'],
        },
        { hostname: name, keepalived: conf(state, priority) },
      ),
    );
  const dirs: Reached[] = [
    { dest: 'lb-a', facts: director('lb-a', '192.0.2.2', 'MASTER', 150, true) },
    { dest: 'lb-b', facts: director('lb-b', '192.0.2.3', 'BACKUP', 100, false) },
  ];
  const r = buildInventory({ directors: dirs, realServers: new Map() });

  it('writes the password into a file of its own, never into the inventory', () => {
    assert.deepEqual(r.files, [{ name: 'lb-a.vrrp-password', content: 's3cret\n', mode: 0o600 }]);
    assert.doesNotMatch(r.text, /s3cret/);
    assert.match(r.text, /password_file: lb-a\.vrrp-password/);
  });
  it("lvsctl's keepalived.conf for the result has the same VRRP and the same virtual servers", () => {
    writeFileSync(join(dir, 'lb-a.vrrp-password'), 's3cret\n', { mode: 0o600 });
    const file = join(dir, 'pair.yaml');
    writeFileSync(file, r.text);
    const { cluster, secrets } = loadInventory(file);
    assert.deepEqual(r.notImported, []);
    for (const [host, state, priority] of [
      ['lb-a', 'MASTER', 150],
      ['lb-b', 'BACKUP', 100],
    ] as const) {
      const ours = renderedFiles(cluster, host, secrets).find((f) => f.path === '/etc/keepalived/keepalived.conf')!;
      const back = readKeepalivedConf(ours.content);
      const orig = readKeepalivedConf(conf(state, priority));
      const vrrp = (c: KaConf) =>
        c.instances.map((i) => [
          i.name,
          i.state,
          i.interface,
          i.virtualRouterId,
          i.priority,
          i.advertInt,
          i.auth,
          i.addresses,
        ]);
      assert.deepEqual(vrrp(back), vrrp(orig), host);
      const vs = (c: KaConf) =>
        c.virtualServers.map((v) => ({
          id: [v.address, v.port, v.scheduler, v.method?.toUpperCase(), v.persistence?.timeout],
          // the check's own delay_loop, or the virtual server's (lvsctl writes it in the check)
          rs: v.realServers.map((x) => [
            x.address,
            x.port,
            x.weight,
            x.checks.map((ch) => [
              ch.words[0],
              Number(kaValue(ch.children, 'delay_loop') ?? v.delayLoop),
              ...['connect_timeout', 'retry', 'delay_before_retry'].map((k) => kaValue(ch.children, k)),
            ]),
          ]),
          other: v.other.map((n) => n.words.join(' ')),
        }));
      assert.deepEqual(vs(back), vs(orig), host);
    }
  });
});
