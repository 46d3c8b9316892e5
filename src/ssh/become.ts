// How a command is sent, and what its stderr says before the command itself speaks.
//
// Every command starts with `printf '<lvsctl-pg-ID:%s>' "$$" >&2`: sshd runs the login shell as a
// session leader, so `$$` is the command's process group. On a command timeout we kill that group
// from a second channel (through sudo when the command ran through sudo). The SSH "signal" request
// alone is not enough: OpenSSH refuses it for root logins ("session signalling requires privilege
// separation"), and as the login user it could not reach root's processes under sudo anyway.
//
// With become (a non-root login):
//
//   printf … "$$" >&2
//   sudo [-n | -S -p PROMPT] -- sh -c 'printf %s START >&2
//   <command>'
//
// - No sudo password: `-n` (never prompt); stdin goes to the command as is.
// - With a sudo password: `-S -p PROMPT` makes sudo read the password from stdin after printing a
//   random PROMPT on stderr. We write `password\n` only when that PROMPT appears, and the command's
//   own stdin only once the command has printed START. So stdin content (writeFile) is never eaten
//   by sudo, and a cached or NOPASSWD credential (no prompt) does not feed the password to the
//   command. A second PROMPT means the password was refused: we stop at once. The password is
//   only ever written to the channel: it is in no argument list on the host.
// - START also tells a sudo failure (no rights, password required, requiretty) from a failure of
//   the command: no START, no command.
import { randomBytes } from 'node:crypto';
import { shq } from '../util/quote.js';

export interface CommandPlan {
  text: string; // the full command line sent to the login shell
  id: string;
  sudo: boolean;
  prompt?: string; // sudo's password prompt marker (password mode only)
  start?: string; // printed on stderr by the command under sudo before anything else
}

export function planCommand(inner: string, sudo: false | { password: boolean }): CommandPlan {
  const id = randomBytes(9).toString('hex');
  const pg = `printf '<lvsctl-pg-${id}:%s>' "$$" >&2`;
  if (!sudo) return { text: `${pg}\n${inner}`, id, sudo: false };
  const start = `<lvsctl-start-${id}>`;
  const prompt = sudo.password ? `<lvsctl-sudo-${id}>` : undefined;
  const script = `printf %s ${shq(start)} >&2\n${inner}`;
  const cmd = prompt ? `sudo -S -p ${shq(prompt)}` : 'sudo -n';
  return { text: `${pg}\n${cmd} -- sh -c ${shq(script)}`, id, sudo: true, prompt, start };
}

export type StderrEvent = { kind: 'pgid'; pgid: number } | { kind: 'prompt' } | { kind: 'start'; rest: Buffer };

/**
 * Reads the stderr that comes before the command runs: our markers, sudo's prompts, lecture and
 * errors. `feed()` returns what happened; once 'start' came, the caller keeps the rest of stderr
 * as the command's. `text()` is what came before without the markers, for errors.
 */
export class PreStartStderr {
  private buf = Buffer.alloc(0);
  private prompts = 0;
  private pg?: number;
  private readonly pgRe: RegExp;
  constructor(private readonly plan: CommandPlan) {
    this.pgRe = new RegExp(`<lvsctl-pg-${plan.id}:(\\d+)>`);
  }

  feed(chunk: Buffer): StderrEvent[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    const events: StderrEvent[] = [];
    for (;;) {
      if (this.pg === undefined) {
        const m = this.pgRe.exec(this.buf.toString('latin1'));
        if (!m) return events;
        this.pg = Number(m[1]);
        this.buf = Buffer.concat([this.buf.subarray(0, m.index), this.buf.subarray(m.index + m[0].length)]);
        events.push({ kind: 'pgid', pgid: this.pg });
        if (!this.plan.start) {
          const rest = this.buf;
          this.buf = Buffer.alloc(0);
          events.push({ kind: 'start', rest });
          return events;
        }
        continue;
      }
      const p = this.plan.prompt ? this.buf.indexOf(this.plan.prompt) : -1;
      const s = this.buf.indexOf(this.plan.start!);
      if (p >= 0 && (s < 0 || p < s)) {
        this.buf = Buffer.concat([this.buf.subarray(0, p), this.buf.subarray(p + this.plan.prompt!.length)]);
        this.prompts++;
        events.push({ kind: 'prompt' });
        continue;
      }
      if (s >= 0) {
        const rest = this.buf.subarray(s + this.plan.start!.length);
        this.buf = this.buf.subarray(0, s);
        events.push({ kind: 'start', rest });
      }
      return events;
    }
  }

  get promptCount(): number {
    return this.prompts;
  }

  get pgid(): number | undefined {
    return this.pg;
  }

  text(): string {
    return this.buf.toString('utf8');
  }
}
