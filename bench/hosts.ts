// The bench hosts (bench/hosts.sh: sshd in network namespaces on this machine), as the bench's
// parts use them: up N (replacing any that are up) with their names and addresses, and down.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must, run } from './proc.js';

const BENCH = resolve(dirname(fileURLToPath(import.meta.url)), '../../bench'); // dist/bench/ -> bench/
/** Keys, known_hosts, hosts.list and the hosts' disks (hosts.sh's BENCH_RUN). */
export const RUN = process.env.BENCH_RUN ?? join(BENCH, '.run');
const HOSTS_SH = join(BENCH, 'hosts.sh');

export interface Host {
  name: string;
  ip: string;
}

/** N fresh hosts lvb1..lvbN, and how long hosts.sh took. */
export async function hostsUp(n: number): Promise<{ hosts: Host[]; ms: number }> {
  const r = await must('bash', [HOSTS_SH, 'up', String(n)], `hosts.sh up ${n}`);
  const hosts = readFileSync(join(RUN, 'hosts.list'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const [name, ip] = l.split(' ');
      return { name: name!, ip: ip! };
    });
  return { hosts, ms: r.ms };
}

/** Every bench host gone (hosts, bridge, disks; keys stay). */
export async function hostsDown(): Promise<void> {
  await run('bash', [HOSTS_SH, 'down']);
}
