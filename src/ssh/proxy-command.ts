// ssh_config's ProxyCommand: the command runs under /bin/sh on this machine (as ssh runs it, with
// its %-tokens already expanded); its stdin and stdout are the connection ssh2 speaks SSH over.
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

/** The command's stdio as one stream. When the command exits, the stream ends with an error that
 * names the exit and the last lines of its stderr; destroying the stream ends the command. */
export function proxyCommandStream(command: string, env: NodeJS.ProcessEnv = process.env): Duplex {
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  const stream = new Duplex({
    read: () => void child.stdout.resume(),
    write: (chunk: Buffer, _enc, cb) => void child.stdin.write(chunk, cb),
    final: (cb) => {
      child.stdin.end();
      cb();
    },
    destroy: (err, cb) => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      cb(err);
    },
  });
  child.stdout.on('data', (d: Buffer) => {
    if (!stream.push(d)) child.stdout.pause();
  });
  child.stdin.on('error', () => undefined); // EPIPE once the command is gone: 'close' reports it
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-2000);
  });
  child.on('error', (e) => stream.destroy(new Error(`ProxyCommand '${command}' could not start: ${e.message}`)));
  // 'close': stdout and stderr are read to the end, so the reader has every byte before the error.
  child.on('close', (code, signal) => {
    if (stream.destroyed) return;
    const said = stderr.trim().split('\n').slice(-2).join(' | ');
    const how = signal ? `was killed (${signal})` : `exited ${code}`;
    stream.destroy(new Error(`ProxyCommand '${command}' ${how}${said ? `: ${said}` : ''}`));
  });
  return stream;
}
