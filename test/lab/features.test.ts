// Issue #21, "features seen working": the options of inventories/lab-features.yaml, each shown by what
// the kernel does with real traffic, not by the rendered text. One NAT director; keepalived owns the
// first VIP's services (HTTP and UDP checks, sorry server), ipvsadm the second VIP's. (One-packet
// scheduling is in ipv6.test.ts: it does not work with NAT, and validation refuses it there.)
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as lab from './lab.js';

const INV = path.join(lab.ROOT, 'inventories', 'lab-features.yaml');
const out = (r: lab.Result) => `exit ${r.code}\n${r.stdout}${r.stderr}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The real servers of a virtual service as the kernel has them: "address:port weight". */
async function table(service: string): Promise<string[]> {
  const text = await lab.sh('dir1', `ipvsadm -Ln ${service}`);
  return [...text.matchAll(/^\s+-> (\S+)\s+\S+\s+(\d+)/gm)].map((m) => `${m[1]} ${m[2]}`);
}

/** Who answers one HTTP request from the client (the X-Real-Server and X-Real-Port headers). */
async function whoAnswers(url: string, from?: string): Promise<string> {
  const head = await lab.sh('client', `curl -sS -m 5 -o /dev/null -D - ${from ? `--interface ${from} ` : ''}${url}`);
  const name = /^X-Real-Server: (\S+)\r$/m.exec(head)?.[1];
  const port = /^X-Real-Port: (\d+)\r$/m.exec(head)?.[1];
  assert.ok(name && port, head);
  return `${name}:${port}`;
}

lab.useLab({ before, after }, { packages: true });

test('up: both writers, both VIPs; verify passes', { timeout: 15 * 60_000 }, async () => {
  const r = await lab.lvsctl(['up', '-i', INV]);
  assert.equal(r.code, 0, out(r));
  assert.match(r.stdout, /PASS +web /, out(r));
  assert.match(r.stdout, /PASS +dns-like /, out(r));
  assert.match(r.stdout, /PASS +maglev /, out(r));
  const rules = await lab.sh('dir1', 'ipvsadm -Sn');
  assert.match(rules, /^-A -t 10\.99\.1\.100:8080 -s rr -p 120 -M 255\.255\.255\.0$/m);
  assert.match(rules, /^-A -u 10\.99\.1\.100:5353 -s rr$/m);
  assert.match(rules, /^-A -t 10\.99\.1\.101:443 -s mh -b mh-port$/m);
  assert.match(await lab.sh('dir1', 'ipvsadm -Ln --thresholds -t 10.99.1.101:80'), /10\.99\.2\.11:80\s+1\s+0/);
  const again = await lab.lvsctl(['plan', '-i', INV]);
  assert.equal(again.code, 0, `nothing left to change: ${out(again)}`);
});

test("persistence with a netmask: every source of the client's /24 reaches one real server", async () => {
  const answers = new Set<string>();
  for (const src of ['10.99.1.20', '10.99.1.21', '10.99.1.22', '10.99.1.23', '10.99.1.10'])
    answers.add(await whoAnswers('http://10.99.1.100:8080/', src));
  assert.equal(answers.size, 1, [...answers].join(', '));
  // the persistence template is the /24 (client port 0), not each source
  assert.match(await lab.sh('dir1', 'ipvsadm -Lnc'), /^TCP\s+\S+\s+\S+\s+10\.99\.1\.0:0\s+10\.99\.1\.100:8080\s/m);
});

test('upper threshold: once rs1 holds a connection entry, new connections go to rs2 although wrr favours rs1 10:1', async () => {
  // Short requests one after another: each leaves a TIME_WAIT entry, which IPVS counts against the
  // threshold (active + inactive connections). Without -x 1, wrr 10:1 would send at least 5 of 6 to
  // rs1; with it, rs1 takes one and is then overloaded until that entry expires.
  const answers: string[] = [];
  for (let i = 0; i < 6; i++) answers.push(await whoAnswers('http://10.99.1.101/'));
  assert.deepEqual(
    answers.filter((a) => a === 'rs1:80'),
    ['rs1:80'],
    answers.join(', '),
  );
  assert.equal(answers.filter((a) => a === 'rs2:80').length, 5, answers.join(', '));
  assert.match(
    await lab.sh('dir1', 'ipvsadm -Lnc'),
    /TIME_WAIT\s+10\.99\.1\.10:\d+\s+10\.99\.1\.101:80\s+10\.99\.2\.11:80/,
  );
});

test('Maglev hashing with mh-port: one client address is spread by its source ports, each port stays put', async () => {
  const byPort: Record<number, string> = {};
  for (const port of [41001, 41002, 41003, 41004, 41005, 41006, 41007, 41008]) {
    byPort[port] = (await lab.sh('client', `nc -w 5 -p ${port} 10.99.1.101 443 </dev/null`)).trim();
    await sleep(100);
  }
  assert.deepEqual([...new Set(Object.values(byPort))].sort(), ['rs1', 'rs2'], JSON.stringify(byPort));
  // the same port again (a new connection, after the old one's TIME_WAIT entry): the same server
  await lab.sh('dir1', 'ipvsadm -Z');
  const again = (
    await lab.sh(
      'client',
      'nc -w 5 -p 41009 10.99.1.101 443 </dev/null; sleep 1; nc -w 5 -p 41009 10.99.1.101 443 </dev/null',
    )
  )
    .trim()
    .split('\n');
  assert.equal(again[0], again[1], again.join(', '));
});

test(
  'UDP health check: a real server whose UDP service stops leaves the pool, and returns',
  { timeout: 5 * 60_000 },
  async () => {
    await lab.sh('rs2', '/etc/lab/svc.sh stop 5353');
    try {
      await lab.until(
        'rs2 out of the UDP service',
        20_000,
        async () => !(await table('-u 10.99.1.100:5353')).some((l) => l.startsWith('10.99.2.12:')),
      );
      const v = await lab.lvsctl(['verify', '-i', INV]);
      assert.notEqual(v.code, 0, `verify reports it: ${out(v)}`);
      assert.match(v.stdout, /rs2/, out(v));
    } finally {
      await lab.sh('rs2', '/etc/lab/svc.sh start 5353');
    }
    await lab.until('rs2 back in the UDP service', 20_000, async () =>
      (await table('-u 10.99.1.100:5353')).some((l) => l.startsWith('10.99.2.12:')),
    );
  },
);

test(
  'sorry server: every real server down -> it answers; one back -> the pool again',
  { timeout: 5 * 60_000 },
  async () => {
    await Promise.all(['rs1', 'rs2'].map((h) => lab.sh(h as 'rs1', '/etc/lab/svc.sh stop 80')));
    try {
      await lab.until(
        'the sorry server in the table',
        20_000,
        async () => (await table('-t 10.99.1.100:80')).join() === '10.99.2.12:8080 1',
      );
      for (let i = 0; i < 4; i++) assert.equal(await whoAnswers('http://10.99.1.100/'), 'rs2:8080');
    } finally {
      await lab.sh('rs1', '/etc/lab/svc.sh start 80');
    }
    await lab.until(
      'rs1 back, the sorry server out',
      20_000,
      async () => (await table('-t 10.99.1.100:80')).join() === '10.99.2.11:80 1',
    );
    assert.equal(await whoAnswers('http://10.99.1.100/'), 'rs1:80');
    await lab.sh('rs2', '/etc/lab/svc.sh start 80');
    await lab.until('rs2 back', 20_000, async () => (await table('-t 10.99.1.100:80')).length === 2);
  },
);
