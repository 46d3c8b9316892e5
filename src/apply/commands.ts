// Changes become shell commands here, and only here: each kind's command is its resource module's
// (resources/), on the host's OS family and init system (os/). Every value goes through `sh`
// (quote.ts). Pure: the engine runs what this returns.
import type { HostFacts } from '../facts/parse.js';
import { hostOs, initSystem } from '../os/index.js';
import type { ServiceAction } from '../os/types.js';
import { commandResourceOf } from '../resources/index.js';
import { keepalivedService } from '../resources/keepalived.js';
import type { CommandChange } from '../plan/types.js';
import { lines, sh, Shell } from '../util/quote.js';

export { sysctlPath } from '../resources/sysctl.js';

/** The command for one change (files, the state file and IPVS are the engine's: EngineChange). */
export function commandFor(
  c: CommandChange,
  facts: Pick<HostFacts, 'init' | 'os'> & Partial<Pick<HostFacts, 'pkgManager'>>,
): Shell {
  return commandResourceOf(c).command(c, hostOs(facts));
}

/** Words that end or change the shell a step runs in: such a step gets a subshell of its own. */
const SHELL_WORDS = /\b(exit|exec|set|cd|trap|return|shift|umask|ulimit|unset|readonly|export)\b/;

/** One step of a batch: a command, or one that reads its bytes from the script's stdin (a file
 * write: ssh/write-script.ts). */
export interface BatchStep {
  label: string;
  cmd: Shell;
  stdin?: Buffer;
  /** The error for this step's failure, from its exit code and what it said (the engine's default otherwise). */
  fail?: (code: number, said: string) => Error;
}

/** Several steps as one script (one SSH session): each step announces itself, the first failure
 * stops the rest and the engine reports the step that failed. Steps run in a group, not a subshell
 * (a fork costs milliseconds on a busy host), unless the step could end or change the script's
 * shell. The steps that read stdin get their bytes in order; every other step reads /dev/null, so
 * no command (a package manager's prompt) can swallow a file's content. The prologue runs first in
 * the script's own shell (traps that last the whole script). */
export function batch(steps: ReadonlyArray<BatchStep>, prologue?: Shell): { script: Shell; stdin: Buffer } {
  const script = lines([
    sh`set -u`,
    ...(prologue ? [prologue] : []),
    ...steps.map((s, i) => {
      const run = SHELL_WORDS.test(s.cmd.text)
        ? `( ${s.cmd.text}
)`
        : `{ ${s.cmd.text}
}`;
      return new Shell(
        `printf '@@step %s\\n' ${i}; ${run}${s.stdin ? '' : ' </dev/null'} || { rc=$?; printf '@@failed %s %s\\n' ${i} "$rc"; exit "$rc"; }`,
      );
    }),
    sh`printf '@@done\n'`,
  ]);
  return { script, stdin: Buffer.concat(steps.flatMap((s) => (s.stdin ? [s.stdin] : []))) };
}

/** keepalived through the host's init system (facts.init's word), waiting on a stop until it exited. */
export const keepalivedCommand = (init: string, action: ServiceAction): Shell =>
  keepalivedService(initSystem(init), action);
