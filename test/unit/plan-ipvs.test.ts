// The IPVS delta: edits in place, deletes only what lvsctl owns, nothing when equal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRules } from '../../src/ipvs/parse.js';
import { ipvsDelta } from '../../src/plan/ipvs.js';
import { formatRules } from '../../src/ipvs/format.js';
import { parseThresholds, withThresholds } from '../../src/ipvs/list.js';

const live = parseRules(`-A -t 10.99.2.100:80 -s rr
-a -t 10.99.2.100:80 -r 10.99.2.11:80 -g -w 1
-a -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 1
-A -t 10.99.2.100:81 -s rr
-a -t 10.99.2.100:81 -r 10.99.2.12:80 -g -w 1
-A -f 5 -s rr
`);

describe('ipvsDelta', () => {
  it('nothing to do when live equals desired', () => {
    assert.deepEqual(ipvsDelta(live, live, []).lines, []);
  });
  it('a weight change is exactly one -e line', () => {
    const want = parseRules(
      `-A -t 10.99.2.100:80 -s rr\n-a -t 10.99.2.100:80 -r 10.99.2.11:80 -g -w 1\n-a -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 5\n-A -t 10.99.2.100:81 -s rr\n-a -t 10.99.2.100:81 -r 10.99.2.12:80 -g -w 1\n`,
    );
    assert.deepEqual(ipvsDelta(live, want, ['tcp 10.99.2.100:80', 'tcp 10.99.2.100:81']).lines, [
      '-e -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 5',
    ]);
  });
  it('edits services in place, adds and deletes servers, deletes only owned services', () => {
    const want = parseRules(`-A -t 10.99.2.100:80 -s wrr
-a -t 10.99.2.100:80 -r 10.99.2.11:80 -g -w 3
-a -t 10.99.2.100:80 -r 10.99.2.13:80 -g -w 1
-A -t 10.99.2.100:443 -s rr -p 300
-a -t 10.99.2.100:443 -r 10.99.2.12:443 -g -w 1
`);
    const d = ipvsDelta(live, want, ['tcp 10.99.2.100:81']);
    assert.deepEqual(d.lines, [
      '-E -t 10.99.2.100:80 -s wrr',
      '-d -t 10.99.2.100:80 -r 10.99.2.12:80',
      '-e -t 10.99.2.100:80 -r 10.99.2.11:80 -g -w 3',
      '-a -t 10.99.2.100:80 -r 10.99.2.13:80 -g -w 1',
      '-A -t 10.99.2.100:443 -s rr -p 300',
      '-a -t 10.99.2.100:443 -r 10.99.2.12:443 -g -w 1',
      '-D -t 10.99.2.100:81',
    ]);
    assert.ok(!d.lines.some((l) => l.includes('-f 5')), 'a service lvsctl does not own is left alone');
    assert.deepEqual(d.owned, ['tcp 10.99.2.100:80', 'tcp 10.99.2.100:443']);
  });
});

// The same director's `ipvsadm -Sn` (no thresholds: -S never prints them) and `ipvsadm -Ln
// --thresholds`, as ipvsadm 1.31 printed them in the lab.
const sn = `-A -t 10.1.1.1:80 -s rr
-a -t 10.1.1.1:80 -r 10.2.2.2:80 -m -w 2
-a -t 10.1.1.1:80 -r 10.2.2.3:8080 -m -w 1
-A -t [fd00::1]:80 -s rr
-a -t [fd00::1]:80 -r [fd00::2]:80 -m -w 1
-A -f 7 -s wlc
-a -f 7 -r 10.2.2.2:0 -g -w 1
`;
const thresholds = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn 
  -> RemoteAddress:Port
TCP  10.1.1.1:80 rr
  -> 10.2.2.2:80                  100        50         0          0         
  -> 10.2.2.3:8080                0          0          0          0         
TCP  [fd00::1]:80 rr
  -> [fd00::2]:80                 9          3          0          0         
FWM  7 wlc
  -> 10.2.2.2:0                   5          0          0          0         
`;

describe('thresholds (-x/-y), which ipvsadm -S does not print', () => {
  it('-Ln --thresholds is read per service and destination (IPv4, IPv6, fwmark)', () => {
    const t = parseThresholds(thresholds);
    assert.deepEqual(t.get('tcp 10.1.1.1:80')?.get('10.2.2.2:80'), [100, 50]);
    assert.deepEqual(t.get('tcp 10.1.1.1:80')?.get('10.2.2.3:8080'), [0, 0]);
    assert.deepEqual(t.get('tcp [fd00::1]:80')?.get('[fd00::2]:80'), [9, 3]);
    assert.deepEqual(t.get('fwmark 7')?.get('10.2.2.2:0'), [5, 0]);
  });
  it('merged into the -Sn table, it formats as the -R lines that made it', () => {
    assert.equal(
      formatRules(withThresholds(parseRules(sn), thresholds)),
      formatRules(
        parseRules(`-A -t 10.1.1.1:80 -s rr
-a -t 10.1.1.1:80 -r 10.2.2.2:80 -m -w 2 -x 100 -y 50
-a -t 10.1.1.1:80 -r 10.2.2.3:8080 -m -w 1
-A -t [fd00::1]:80 -s rr
-a -t [fd00::1]:80 -r [fd00::2]:80 -m -w 1 -x 9 -y 3
-A -f 7 -s wlc
-a -f 7 -r 10.2.2.2:0 -g -w 1 -x 5
`),
      ),
    );
  });
  it('read back, a threshold change is one -e line; no change, none; a threshold removed, an -e line without it', () => {
    const live = withThresholds(parseRules(sn), thresholds);
    const owned = ['tcp 10.1.1.1:80', 'tcp [fd00::1]:80', 'fwmark 7'];
    assert.deepEqual(ipvsDelta(live, live, owned, true).lines, []);
    const want = (x: number | undefined) => ({
      services: live.services.map((s) => ({
        ...s,
        destinations: s.destinations.map((d) =>
          d.address === '10.2.2.2' && d.port === 80 ? { ...d, upperThreshold: x } : d,
        ),
      })),
    });
    assert.deepEqual(ipvsDelta(live, want(200), owned, true).lines, [
      '-e -t 10.1.1.1:80 -r 10.2.2.2:80 -m -w 2 -x 200 -y 50',
    ]);
    assert.deepEqual(ipvsDelta(live, want(undefined), owned, true).lines, [
      '-e -t 10.1.1.1:80 -r 10.2.2.2:80 -m -w 2 -y 50',
    ]);
  });
  it('not read back (-S alone), thresholds are not compared: no line for them', () => {
    const live = parseRules(sn);
    const want = withThresholds(parseRules(sn), thresholds);
    assert.deepEqual(ipvsDelta(live, want, ['tcp 10.1.1.1:80'], false).lines, []);
  });
});
