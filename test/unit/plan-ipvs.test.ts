// The IPVS delta: edits in place, deletes only what lvsctl owns, nothing when equal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRules } from '../../src/ipvs/parse.js';
import { ipvsDelta } from '../../src/plan/ipvs.js';

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
    const want = parseRules(`-A -t 10.99.2.100:80 -s rr\n-a -t 10.99.2.100:80 -r 10.99.2.11:80 -g -w 1\n-a -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 5\n-A -t 10.99.2.100:81 -s rr\n-a -t 10.99.2.100:81 -r 10.99.2.12:80 -g -w 1\n`);
    assert.deepEqual(ipvsDelta(live, want, ['tcp 10.99.2.100:80', 'tcp 10.99.2.100:81']).lines, ['-e -t 10.99.2.100:80 -r 10.99.2.12:80 -g -w 5']);
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
