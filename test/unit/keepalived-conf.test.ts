// keepalived.conf read back for `lvsctl import` (src/import/keepalived-conf.ts): the tutorials' DR
// pair with two virtual_server blocks, keepalived's comment and quoting rules, and the parts lvsctl
// has no field for kept as written.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  KeepalivedConfError,
  kaWords,
  parseKeepalivedConf,
  readKeepalivedConf,
} from '../../src/import/keepalived-conf.js';

// As the seed tutorials write it (MASTER side of a DR pair).
const TUTORIAL = `! Configuration File for keepalived
global_defs {
   notification_email {
     admin@example.com
   }
   router_id LVS_MASTER
   lvs_sync_daemon eth0 VI_1 id 3
}

vrrp_script chk_lo {
    script "/usr/local/bin/check lo"   # quoted: one word
    interval 2
    weight -20
}

vrrp_instance VI_1
{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    track_script {
        chk_lo
    }
    virtual_ipaddress {
        192.168.1.100/24 dev eth0 label eth0:1
        192.168.1.101
    }
    garp_master_delay 1
}

virtual_server 192.168.1.100 80 {
    delay_loop 6
    lb_algo wrr
    lb_kind DR
    persistence_timeout 50
    protocol TCP
    sorry_server 192.168.1.200 8080
    real_server 192.168.1.11 80 {
        weight 3
        HTTP_GET {
            url {
                path /health
                status_code 200
            }
            connect_timeout 3
            retry 3
            delay_before_retry 3
        }
    }
    real_server 192.168.1.12 80 {
        weight 1
        TCP_CHECK { connect_timeout 3 }
        notify_down "/usr/local/bin/down 12"
    }
}

virtual_server fwmark 7 {
    lvs_sched rr
    lvs_method DR
    quorum 1
    real_server 192.168.1.11 { weight 1 }
}
include /etc/keepalived/conf.d/*.conf
`;

describe('keepalived.conf read back', () => {
  it('splits words as keepalived does: # and ! comments, quoted words whole, braces apart', () => {
    assert.deepEqual(kaWords('  script "/bin/a b" # note'), ['script', '/bin/a b']);
    assert.deepEqual(kaWords('url{path /x}! c'), ['url', '{', 'path', '/x', '}']);
    assert.deepEqual(kaWords('! all comment'), []);
  });
  it('the tutorial DR pair: sync daemon, the instance, its addresses, auth and tracked script', () => {
    const c = readKeepalivedConf(TUTORIAL);
    assert.deepEqual(c.syncDaemon, { interface: 'eth0', instance: 'VI_1', id: 3 });
    assert.equal(c.instances.length, 1);
    const i = c.instances[0]!;
    assert.deepEqual(
      [i.name, i.state, i.interface, i.virtualRouterId, i.priority, i.advertInt, i.nopreempt],
      ['VI_1', 'MASTER', 'eth0', 51, 150, 1, false],
    );
    assert.deepEqual(i.auth, { type: 'PASS', pass: 's3cret' });
    assert.deepEqual(i.trackScripts, ['chk_lo']);
    assert.deepEqual(i.addresses, [
      { address: '192.168.1.100', prefix: 24, dev: 'eth0', label: 'eth0:1', rest: [] },
      { address: '192.168.1.101', rest: [] },
    ]);
    assert.deepEqual(
      i.other.map((n) => n.words),
      [['garp_master_delay', '1']],
    );
    assert.deepEqual(
      c.scripts.get('chk_lo')!.map((n) => n.words),
      [
        ['script', '/usr/local/bin/check lo'],
        ['interval', '2'],
        ['weight', '-20'],
      ],
    );
  });
  it('both virtual_server blocks, old and new keyword names, checks and the keys lvsctl has no field for', () => {
    const [web, mark] = readKeepalivedConf(TUTORIAL).virtualServers;
    assert.deepEqual(
      [web!.address, web!.port, web!.scheduler, web!.method, web!.protocol, web!.delayLoop],
      ['192.168.1.100', 80, 'wrr', 'DR', 'TCP', 6],
    );
    assert.deepEqual(web!.persistence, { timeout: 50, granularity: undefined });
    assert.deepEqual(web!.sorry, { address: '192.168.1.200', port: 8080 });
    assert.deepEqual(
      web!.realServers.map((r) => [r.address, r.port, r.weight, r.checks.map((ch) => ch.words[0])]),
      [
        ['192.168.1.11', 80, 3, ['HTTP_GET']],
        ['192.168.1.12', 80, 1, ['TCP_CHECK']],
      ],
    );
    const url = web!.realServers[0]!.checks[0]!.children!.find((n) => n.words[0] === 'url')!;
    assert.deepEqual(
      url.children!.map((n) => n.words),
      [
        ['path', '/health'],
        ['status_code', '200'],
      ],
    );
    assert.deepEqual(
      web!.realServers[1]!.other.map((n) => n.words),
      [['notify_down', '/usr/local/bin/down 12']],
    );
    assert.deepEqual([mark!.fwmark, mark!.scheduler, mark!.method], [7, 'rr', 'DR']);
    assert.deepEqual(
      mark!.other.map((n) => n.words),
      [['quorum', '1']],
    );
    assert.deepEqual(mark!.realServers[0]!.port, undefined);
  });
  it('lists the top-level parts it does not read (include), by line', () => {
    assert.deepEqual(readKeepalivedConf(TUTORIAL).unsupported, [
      { line: 69, what: 'include /etc/keepalived/conf.d/*.conf' },
    ]);
  });
  it('refuses a file keepalived would not load: an unbalanced brace', () => {
    assert.throws(() => parseKeepalivedConf('global_defs {\n'), KeepalivedConfError);
    assert.throws(() => parseKeepalivedConf('}\n'), /line 1: "}" closes no block/);
  });
});
