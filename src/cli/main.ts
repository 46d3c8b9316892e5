// Command-line entry: parses words with commander, runs one command, maps errors to exit codes.
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ExitCode,
  formatProblem,
  InventoryError,
  InventoryFileError,
  LvsctlError,
  UsageError,
  type InventoryProblem,
} from '../errors.js';
import { packageRoot } from '../paths.js';
import type {
  CommonOptions,
  ConvergeOptions,
  DrainOptions,
  HostOptions,
  ImportOptions,
  InitOptions,
  RenderOptions,
  ValidateOptions,
  VerifyOptions,
} from './options.js';
import { Output } from './output.js';
import { plural } from './table.js';
import { handleInterrupts, interruption } from '../util/interrupt.js';
import { parseLimit } from '../inventory/limit.js';
import type { ErrorKind } from './contract.js';
import { isCommand, type CommandName } from './contract-names.js';
import { printableLines } from '../util/printable.js';
import { DEFAULT_LOCK_TTL } from '../lock/lease.js';

// Each command's module is loaded when the command runs: `validate` does not pay for the SSH,
// planning and verify code (0.1 s of a large inventory's 2 s budget went to loading modules).
const converge = () => import('./commands/converge.js');

/** Problems printed on the terminal; the rest are counted. */
const MAX_PROBLEMS_SHOWN = 200;

const positiveInt = (v: string) => {
  if (!/^[1-9][0-9]{0,4}$/.test(v)) throw new InvalidArgumentError('expected a whole number from 1 to 99999');
  return Number(v);
};
const limitPatterns = (v: string) => {
  try {
    return parseLimit(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message.replace(/^--limit: /, ''));
  }
};

function addCommon(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('-i, --inventory <file>', 'inventory file (YAML)').env('LVSCTL_INVENTORY').makeOptionMandatory(),
    )
    .option(
      '--limit <patterns>',
      'only these hosts: names, groups, globs, "!" excludes, "&" intersects (e.g. "web,rs*,!rs2")',
      limitPatterns,
    )
    .option('--json', 'one machine-readable JSON document on stdout', false)
    .option('-v, --verbose', 'more detail on stderr', false)
    .option('--forks <n>', 'hosts worked on in parallel', positiveInt, 20);
}

/** Options of the commands that contact hosts. */
const withHostKeys = (c: Command) =>
  addCommon(c)
    .option(
      '--accept-new-host-keys',
      'record the key of a host not yet in known_hosts (a changed key is always refused)',
      false,
    )
    .addOption(
      new Option(
        '-F, --ssh-config <file>',
        'resolve hosts with this ssh_config instead of ~/.ssh/config and /etc/ssh/ssh_config ("none": no file), as ssh -F',
      ).env('LVSCTL_SSH_CONFIG'),
    )
    .option(
      '--takeover',
      "plan and change hosts that another cluster's inventory or a hand-built cluster set up (makes them this one's)",
      false,
    )
    .option(
      '--disable-boot-scripts',
      'with --takeover: disable boot-time scripts that program IPVS (recorded: down enables them again)',
      false,
    )
    .option(
      '--timings',
      'the wall time of each step on each host (connect, facts, plan, apply, read-back, verify) after the output, and in --json',
      false,
    );

const seconds = (min: number) => (v: string) => {
  if (!/^[0-9]{1,5}$/.test(v) || Number(v) < min)
    throw new InvalidArgumentError(`expected a whole number of seconds from ${min} to 99999`);
  return Number(v);
};

/** Options of the commands that change hosts: they take the run lock on them first. */
const withLock = (c: Command) =>
  c
    .option('--wait-lock <seconds>', "wait this long for another run's lock instead of refusing at once", seconds(0), 0)
    .addOption(
      new Option('--lock-ttl <seconds>', "this run's lock ends this long after its last renewal if lvsctl dies")
        .argParser(seconds(5))
        .default(DEFAULT_LOCK_TTL)
        .env('LVSCTL_LOCK_TTL'),
    );

/** What a command's action does with its Output; main() writes the JSON document after it. */
export type Action = (out: Output) => Promise<number>;
/** Called by each command's action with its name and options. */
export type Runner = (command: CommandName, o: Partial<CommonOptions>, action: Action) => void;

export function buildProgram(run: Runner): Command {
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const program = new Command('lvsctl')
    .description(
      'Build and run Linux Virtual Server (IPVS) clusters over SSH: NAT, DR or TUN, one director or a keepalived group.',
    )
    .version(version)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(printableLines(s)) }); // it echoes arguments
  const command = (name: string, description: string) => program.command(name).description(description);
  const hostCommand = (name: string, description: string) => withHostKeys(command(name, description));

  addCommon(command('validate', 'check an inventory; report every mistake with file:line:col (contacts no host)'))
    .option('--no-secrets', 'do not require the VRRP password (a CI job without it); render and up always do')
    .action((o: ValidateOptions) =>
      run('validate', o, async (out) => (await import('./commands/validate.js')).runValidate(o, out)),
    );
  addCommon(
    command(
      'render',
      'write every file lvsctl would put on each host into a directory, for reading (contacts no host)',
    ),
  )
    .option('--out <dir>', 'output directory (new, empty, or rendered before with --force)', 'rendered')
    .option('--force', 'replace a directory that lvsctl rendered before', false)
    .action((o: RenderOptions) =>
      run('render', o, async (out) => (await import('./commands/render.js')).runRender(o, out)),
    );
  hostCommand('plan', 'show what `up` would change on each host, change nothing (exit 2 when changes are pending)')
    .option('--out <file>', 'also save the plan (no secret in it) for `up --plan FILE`')
    .action((o: ConvergeOptions) => run('plan', o, async (out) => (await converge()).runPlan(o, out)));
  withLock(hostCommand('up', 'converge every host to the inventory, then verify'))
    .option('--no-verify', 'skip the verify step')
    .option('--plan <file>', 'apply only if the plan now equals the one `plan --out` saved there')
    .action((o: ConvergeOptions) =>
      run('up', o, async (out) => (await converge()).runConverge(o, out, { kind: 'up' })),
    );
  withLock(hostCommand('verify', 'send requests through each VIP from the client host(s) and check the balancing'))
    .option('--failover', 'also stop keepalived on the VIP holder, time the takeover and count failed requests', false)
    .action((o: VerifyOptions) => run('verify', o, async (out) => (await converge()).runVerifyCommand(o, out)));
  hostCommand(
    'status',
    'show roles, VIP holders, services with weights, connections and health, and drift (exit 3 on drift)',
  ).action((o: HostOptions) =>
    run('status', o, async (out) => (await import('./commands/status.js')).runStatus(o, out)),
  );
  withLock(
    hostCommand(
      'stop',
      'take the service down (VIPs released, rules cleared, keepalived stopped) keeping everything installed',
    ),
  )
    .option('-y, --yes', 'do not ask on a terminal (without one, stop does not ask)', false)
    .action((o: ConvergeOptions) =>
      run('stop', o, async (out) => (await converge()).runConverge(o, out, { kind: 'stop' })),
    );
  withLock(hostCommand('start', "bring a stopped cluster back to the inventory's state, then verify"))
    .option('--no-verify', 'skip the verify step')
    .action((o: ConvergeOptions) =>
      run('start', o, async (out) => (await converge()).runConverge(o, out, { kind: 'up' })),
    );
  withLock(hostCommand('down', 'remove everything lvsctl put on the hosts and restore the original settings'))
    .option('--purge', 'also remove the packages lvsctl installed', false)
    .option('-y, --yes', 'do not ask on a terminal (without one, down does not ask)', false)
    .action((o: ConvergeOptions) =>
      run('down', o, async (out) => (await converge()).runConverge(o, out, { kind: 'down', purge: o.purge ?? false })),
    );
  withLock(
    hostCommand('drain', "set a real server's weight to 0 on its directors and wait until its active connections end"),
  )
    .argument('<host>', 'the real server (inventory name)')
    .option('--remove', 'once drained, take it out of the services', false)
    .option('--timeout <seconds>', 'give up waiting after this long (it stays drained)', positiveInt, 300)
    .action((host: string, o: DrainOptions) =>
      run('drain', o, async (out) => (await import('./commands/drain.js')).runDrain(host, o, out, false)),
    );
  withLock(hostCommand('undrain', 'give a drained real server its inventory weight back'))
    .argument('<host>', 'the real server (inventory name)')
    .action((host: string, o: DrainOptions) =>
      run('undrain', o, async (out) => (await import('./commands/drain.js')).runDrain(host, o, out, true)),
    );

  command('schema', 'print a JSON Schema: of the inventory (for editors), or of the --json output')
    .addArgument(new Argument('[what]', 'which schema').choices(['inventory', 'output']).default('inventory'))
    .action((what: 'inventory' | 'output') =>
      run('schema', {}, async () => (await import('./commands/schema.js')).runSchema(what)),
    );
  command('completion', 'print a shell completion script (bash: source it; zsh: put it in $fpath as _lvsctl)')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: 'bash' | 'zsh') =>
      run('completion', {}, async () => {
        process.stdout.write((await import('./completion.js')).completionScript(program, shell));
        return ExitCode.ok;
      }),
    );
  command('init', 'write a commented starter inventory for a forwarding mode')
    .addOption(new Option('--mode <mode>', 'forwarding mode').choices(['nat', 'dr', 'tun']).makeOptionMandatory())
    .option('-o, --out <file>', 'where to write it ("-" for stdout)', '-')
    .option('--force', 'overwrite an existing file', false)
    .action((o: InitOptions) => run('init', {}, async () => (await import('./commands/init.js')).runInit(o)));
  command('import', 'read a running cluster (its directors, then their real servers) and write its inventory')
    .requiredOption(
      '--from <host>',
      'a director: [user@]host[:port] or an ssh_config Host (once per director)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('-o, --out <file>', 'where to write the inventory ("-" for stdout)', '-')
    .option('--force', 'overwrite an existing file', false)
    .option('--cluster <name>', "the cluster's name in the inventory (default: the director's host name)")
    .option('--no-real-servers', 'read only the directors (real servers are reached by their address otherwise)')
    .option('--become', 'run the (read-only) import script with sudo', false)
    .option('--accept-new-host-keys', 'record the key of a host not yet in known_hosts', false)
    .addOption(
      new Option('-F, --ssh-config <file>', 'resolve hosts with this ssh_config, as ssh -F').env('LVSCTL_SSH_CONFIG'),
    )
    .option('--json', 'one machine-readable JSON document on stdout (needs -o FILE)', false)
    .option('-v, --verbose', 'more detail on stderr', false)
    .option('--forks <n>', 'real servers read in parallel', positiveInt, 20)
    .action((o: ImportOptions) =>
      run('import', o, async (out) => (await import('./commands/import.js')).runImport(o, out)),
    );
  return program;
}

/** The command the words name (for the JSON document of a usage error found before its action). */
function commandIn(argv: string[]): CommandName | null {
  const word = argv.find((a) => !a.startsWith('-'));
  return isCommand(word) ? word : null;
}

/** --json among the options (before a "--"). */
const wantsJson = (argv: string[]): boolean => {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
};

interface Ending {
  code: number;
  error?: { kind: ErrorKind; message: string };
  problems?: InventoryProblem[];
  /** --help or --version: their text is the output, no JSON document. */
  helpShown?: boolean;
}

/** Runs the CLI and resolves to the process exit code. With --json, exactly one document is
 * written on stdout whichever way the command ends. */
export async function main(argv: string[]): Promise<number> {
  let out: Output | undefined;
  const output = () => (out ??= new Output({ json: wantsJson(argv), verbose: false }, commandIn(argv), null));
  const finish = (e: Ending): number => {
    if (interruption()) {
      e.code = ExitCode.interrupted;
      e.error ??= { kind: 'interrupted', message: `stopped by ${interruption()}` };
    }
    if (!e.helpShown) {
      const ok = e.code === ExitCode.ok || e.code === ExitCode.changesPending || e.code === ExitCode.drift;
      output().finish(output().document(e.code, ok && !e.error, e.error, e.problems));
    }
    return e.code;
  };
  const unhandle = handleInterrupts(
    (line) => process.stderr.write(line + '\n'),
    (why) => process.exit(finish({ code: ExitCode.interrupted, error: { kind: 'interrupted', message: why } })),
  );
  // A reader that stops early (`lvsctl schema | head`) is no error of ours.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
  let pending: Promise<number> | undefined;
  const program = buildProgram((command, o, action) => {
    out = new Output({ json: o.json ?? false, verbose: o.verbose ?? false }, command, o.inventory ?? null);
    pending = action(out);
  });
  try {
    // No command word: the usage on stderr and exit 64 (commander would print it and exit 0);
    // an unknown word is commander's to report, with a suggestion.
    if (!argv.some((a) => !a.startsWith('-')) && !argv.some((a) => /^(-h|--help|-V|--version)$/.test(a))) {
      process.stderr.write(program.helpInformation());
      throw new UsageError('no command given');
    }
    await program.parseAsync(argv, { from: 'user' });
    return finish({ code: await (pending ?? Promise.resolve(ExitCode.ok)) });
  } catch (e) {
    return finish(report(e));
  } finally {
    unhandle();
  }
}

function report(e: unknown): Ending {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version')
      return { code: ExitCode.ok, helpShown: true };
    // commander already printed the message on stderr
    return { code: ExitCode.usage, error: { kind: 'usage', message: e.message.replace(/^error: /, '') } };
  }
  if (e instanceof InventoryFileError) {
    process.stderr.write(`lvsctl: ${e.message}\n`);
    return { code: e.exitCode, error: { kind: 'inventory', message: e.message }, problems: e.problems };
  }
  if (e instanceof InventoryError) {
    // A generated file can hold 100000 mistakes: the first ones say what is wrong, --json has all.
    const shown = e.problems.slice(0, MAX_PROBLEMS_SHOWN).map(formatProblem);
    const more = e.problems.length - shown.length;
    const summary = `${plural(e.problems.length, 'problem')} in the inventory; nothing was contacted.`;
    process.stderr.write(
      `${shown.join('\n')}\n${more > 0 ? `… and ${plural(more, 'more problem')} (--json lists every one)\n` : ''}${summary}\n`,
    );
    return { code: e.exitCode, error: { kind: 'inventory', message: summary }, problems: e.problems };
  }
  if (e instanceof LvsctlError) {
    process.stderr.write(`lvsctl: ${printableLines(e.message)}\n`);
    return { code: e.exitCode, error: { kind: errorKind(e), message: e.message } };
  }
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`lvsctl: internal error: ${message}\n`);
  return { code: ExitCode.failed, error: { kind: 'internal', message } };
}

function errorKind(e: LvsctlError): ErrorKind {
  const kinds: Partial<Record<number, ErrorKind>> = {
    [ExitCode.usage]: 'usage',
    [ExitCode.invalidInventory]: 'inventory',
    [ExitCode.interrupted]: 'interrupted',
  };
  return kinds[e.exitCode] ?? 'failed';
}
