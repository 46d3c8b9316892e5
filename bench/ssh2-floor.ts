// The bare ssh2 client's cost (issue 26): what any lvsctl run pays before its own code, measured
// against the same hosts in the same round. Every host at once, as lvsctl with --forks N: one
// connection each (ed25519 key, host key checked against the bench's own), then EXECS commands
// one after the other: `true` (COMMAND_FILE -), or the command in COMMAND_FILE, its output read and
// dropped (the facts-read floor's facts script: the SSH work of a no-op, output included).
//   node dist/bench/ssh2-floor.js KEY HOSTKEY_PUB EXECS COMMAND_FILE IP...
// Prints the process's own CPU time (user + system) in ms; the bench times it with /usr/bin/time.
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';

const [key, hostPub, execsArg, commandFile, ...ips] = process.argv.slice(2);
const command = commandFile === '-' ? 'true' : readFileSync(commandFile!, 'utf8');
const privateKey = readFileSync(key!);
// "ssh-ed25519 BASE64 comment": the raw key blob ssh2's hostVerifier gets
const hostKey = Buffer.from(readFileSync(hostPub!, 'utf8').trim().split(/\s+/)[1]!, 'base64');
const execs = Number(execsArg);

const one = (host: string) =>
  new Promise<void>((resolve, reject) => {
    const c = new ssh2.Client();
    c.on('ready', async () => {
      try {
        for (let i = 0; i < execs; i++)
          await new Promise<void>((res, rej) =>
            c.exec(command, (e, s) => {
              if (e) return rej(e);
              s.on('data', () => undefined);
              s.stderr.on('data', () => undefined);
              s.on('close', () => res());
            }),
          );
        c.end();
        resolve();
      } catch (e) {
        reject(e as Error);
      }
    })
      .on('error', reject)
      .connect({
        host,
        username: 'root',
        privateKey,
        readyTimeout: 120_000,
        hostVerifier: (k: Buffer) => k.equals(hostKey),
      });
  });

const u0 = process.cpuUsage();
await Promise.all(ips.map(one));
const u = process.cpuUsage(u0);
process.stdout.write(`${((u.user + u.system) / 1000).toFixed(1)}\n`);
