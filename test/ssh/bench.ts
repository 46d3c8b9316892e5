// Not a test: times connect + exec `true` with lvsctl's transport against OpenSSH's
// `ssh -o ControlMaster=no host true`, on a private sshd on 127.0.0.1, as a throw-away user whose
// ~/.bashrc is Debian's skeleton (this machine's root .bashrc runs `pyenv init`, ~85 ms a session,
// which would swamp both numbers).
//   node dist/test/ssh/bench.js [sequential-runs=20] [parallel-hosts=100]
import { spawn } from 'node:child_process';
import { connect, mapLimit } from '../../src/ssh/connection.js';
import { sh } from '../../src/util/quote.js';
import { Sshd, TestUser } from './harness.js';

const seqRuns = Number(process.argv[2] ?? 20);
const par = Number(process.argv[3] ?? 100);

function ssh(d: Sshd, kh: string, extra: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'ssh',
      [
        '-o',
        'ControlMaster=no',
        ...extra,
        '-o',
        'BatchMode=yes',
        '-o',
        `UserKnownHostsFile=${kh}`,
        '-o',
        'StrictHostKeyChecking=yes',
        '-i',
        d.clientKey.priv,
        '-p',
        String(d.port),
        'lvsctl-bench@127.0.0.1',
        'true',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    p.on('error', reject);
    p.on('exit', (code) => resolve(code ?? -1));
  });
}

const stats = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  return `median ${med.toFixed(1)} ms, min ${s[0]!.toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
};

const d = new Sshd();
await d.start();
const user = new TestUser('lvsctl-bench', `pw-${process.pid}-${Date.now()}`, 'none');
try {
  const target = d.target({ connectTimeout: 30, user: 'lvsctl-bench' });
  const kh = target.knownHosts[0]!;
  // warm-up (JIT, sshd caches)
  for (let i = 0; i < 3; i++) {
    const c = await connect('h', target, false, { acceptNewHostKeys: false });
    await c.exec(sh`true`);
    c.close();
    await ssh(d, kh);
  }
  const ours: number[] = [];
  const theirs: number[] = [];
  const theirsKex: number[] = [];
  const kex = ['-o', 'KexAlgorithms=curve25519-sha256']; // ssh2's key exchange; ssh prefers sntrup761x25519
  for (let i = 0; i < seqRuns; i++) {
    let t = performance.now();
    const c = await connect('h', target, false, { acceptNewHostKeys: false });
    const r = await c.exec(sh`true`);
    ours.push(performance.now() - t);
    c.close();
    if (r.code !== 0) throw new Error('exec failed');
    t = performance.now();
    if ((await ssh(d, kh)) !== 0) throw new Error('ssh failed');
    theirs.push(performance.now() - t);
    t = performance.now();
    if ((await ssh(d, kh, kex)) !== 0) throw new Error('ssh failed');
    theirsKex.push(performance.now() - t);
  }
  console.log(`sequential, ${seqRuns} runs, connect + exec true:`);
  console.log(`  lvsctl (ssh2, in process): ${stats(ours)}`);
  console.log(`  OpenSSH ssh -o ControlMaster=no: ${stats(theirs)}`);
  console.log(`  OpenSSH ssh -o ControlMaster=no -o KexAlgorithms=curve25519-sha256: ${stats(theirsKex)}`);

  // Then many hosts at once (here all the same sshd), and commands on an open connection.
  let t = performance.now();
  const conns = await mapLimit(
    Array.from({ length: par }, (_, i) => i),
    par,
    async () => connect('h', target, false, { acceptNewHostKeys: false }),
  );
  const ok = conns.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  await Promise.all(ok.map((c) => c.exec(sh`true`)));
  const oursPar = performance.now() - t;
  const again = performance.now();
  await Promise.all(ok.map((c) => c.exec(sh`true`)));
  const reuse = performance.now() - again;
  ok.forEach((c) => c.close());
  t = performance.now();
  const codes = await Promise.all(Array.from({ length: par }, () => ssh(d, kh)));
  const theirsPar = performance.now() - t;
  console.log(
    `${par} connections at once, connect + exec true (${ok.length}/${par} ok; ssh: ${codes.filter((c) => c === 0).length}/${par} ok):`,
  );
  console.log(
    `  lvsctl: ${oursPar.toFixed(0)} ms; then one more command on each open connection: ${reuse.toFixed(0)} ms`,
  );
  console.log(`  OpenSSH ssh x ${par}: ${theirsPar.toFixed(0)} ms`);
} finally {
  await d.dispose();
  user.remove();
}
