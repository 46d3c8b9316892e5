// Custom health checks on the lab: keepalived's MISC_CHECK runs the operator's own script on the
// director with each real server's address and an argument that keepalived.conf cannot hold as it
// is. The script fails for a real server while a flag file exists: that server leaves the pool,
// verify names it as out by its health check (not as a balancing fault), status shows it as health
// and not drift, and it comes back when the flag goes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { parse } from 'yaml';
import * as lab from './lab.js';

const INV = path.join(lab.ROOT, 'inventories', 'lab-misc.yaml');
const DIR = '/usr/local/lib/lvsctl-test';
const RS2 = /-> 10\.99\.2\.12:80 /;

// The argument the inventory gives the script (quotes, $, ${…}, #, a backslash, a tab, non-ASCII).
const ARG: string = parse(readFileSync(INV, 'utf8')).vips[0].services[0].health_check.args[1];

// Root-owned, 0755, in a root-owned directory: what keepalived's script security accepts.
const SCRIPT = `#!/bin/sh
printf '%s\\n' "$2" > "/run/lvsctl-test-arg.$1"
[ ! -e "/run/lvsctl-test-fail.$1" ]
`;

interface StatusJson {
  services: { service: string; realServers: { host: string; health: string }[] }[];
  drift: boolean;
}
interface VerifyJson {
  verify: { ok: boolean; problems: string[]; hits: Record<string, number> }[];
}

lab.useLab({ before, after }, { packages: true });

const table = () => lab.sh('dir1', 'ipvsadm -Ln');

test(
  'a failing MISC_CHECK takes rs2 out: verify and status say it is health, and it comes back',
  { timeout: 6 * 60_000 },
  async () => {
    await lab.sh('dir1', `mkdir -p ${DIR} && chmod 755 ${DIR} && cat > ${DIR}/check-rs && chmod 755 ${DIR}/check-rs`, {
      input: SCRIPT,
    });
    const up = await lab.lvsctl(['up', '-i', INV, '--no-verify']);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    await lab.until('both real servers in the pool', 20_000, async () => RS2.test(await table()));

    // keepalived passed the script exactly the inventory's argument.
    await lab.until(
      'the script ran for rs1',
      10_000,
      async () => (await lab.sh('dir1', 'cat /run/lvsctl-test-arg.10.99.2.11 2>/dev/null || :')).length > 0,
    );
    assert.equal(await lab.sh('dir1', 'cat /run/lvsctl-test-arg.10.99.2.11'), ARG + '\n');

    await lab.sh('dir1', 'touch /run/lvsctl-test-fail.10.99.2.12');
    try {
      await lab.until('rs2 out of the pool', 20_000, async () => !RS2.test(await table()));
      const v = await lab.lvsctl(['verify', '-i', INV, '--json']);
      assert.equal(v.code, 1, 'rs2 is out: verify does not pass\n' + v.stdout + v.stderr);
      const verdict = lab.json<VerifyJson>(v).verify[0]!;
      assert.deepEqual(verdict.problems, ['rs2 is out of the pool: removed by its health check (MISC_CHECK) on dir1']);
      assert.ok(verdict.hits.rs1! > 0 && !verdict.hits.rs2 && !verdict.hits.failed, JSON.stringify(verdict.hits));

      const s = await lab.lvsctl(['status', '-i', INV, '--json']);
      assert.equal(s.code, 0, 'health, not drift (3)\n' + s.stdout + s.stderr);
      const st = lab.json<StatusJson>(s);
      assert.equal(st.drift, false);
      assert.deepEqual(
        st.services[0]!.realServers.map((r) => [r.host, r.health]),
        [
          ['rs1', 'serving'],
          ['rs2', 'removed by health check'],
        ],
      );
    } finally {
      await lab.sh('dir1', 'rm -f /run/lvsctl-test-fail.10.99.2.12');
    }
    await lab.until('rs2 back in the pool', 20_000, async () => RS2.test(await table()));
    const v = await lab.lvsctl(['verify', '-i', INV]);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  },
);
