// Command-line entry: parses words with commander, runs one command, maps errors to exit codes.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, formatProblem, InventoryError, LvsctlError, UsageError } from '../errors.js';
import { packageRoot } from '../paths.js';
import type {
  CommonOptions,
  ConvergeOptions,
  DrainOptions,
  HostOptions,
  InitOptions,
  RenderOptions,
  VerifyOptions,
} from './options.js';
import { Output } from './output.js';
import { plural } from './table.js';
import { handleInterrupts, interruption } from '../util/interrupt.js';
import { printableLines } from '../util/printable.js';

// Each command's module is loaded when the command runs: `validate` does not pay for the SSH,
// planning and verify code (0.1 s of a large inventory's 2 s budget went to loading modules).
const converge = () => import('./commands/converge.js');

/** Problems printed on the terminal; the rest are counted. */
const MAX_PROBLEMS_SHOWN = 200;

const positiveInt = (v: string) => {
  if (!/^[1-9][0-9]{0,4}$/.test(v)) throw new InvalidArgumentError('expected a whole number from 1 to 99999');
  return Number(v);
};
const hostList = (v: string) => {
  const hosts = v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!hosts.length) throw new InvalidArgumentError('expected host names separated by commas');
  return hosts;
};

function addCommon(cmd: Command): Command {
  return cmd
    .addOption(
      new Option('-i, --inventory <file>', 'inventory file (YAML)').env('LVSCTL_INVENTORY').makeOptionMandatory(),
    )
    .option('--limit <hosts>', 'only these hosts (comma-separated names)', hostList)
    .option('--json', 'machine-readable output on stdout', false)
    .option('-v, --verbose', 'more detail on stderr', false)
    .option('--forks <n>', 'hosts worked on in parallel', positiveInt, 20);
}

/** Options of the commands that contact hosts. */
const withHostKeys = (c: Command) =>
  addCommon(c).option(
    '--accept-new-host-keys',
    'record the key of a host not yet in known_hosts (a changed key is always refused)',
    false,
  );

export function buildProgram(run: (action: () => Promise<number>) => void): Command {
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const program = new Command('lvsctl')
    .description(
      'Build and run Linux Virtual Server (IPVS) clusters over SSH: NAT, DR or TUN, one director or a keepalived pair.',
    )
    .version(version)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(printableLines(s)) }); // it echoes arguments
  const command = (name: string, description: string) => program.command(name).description(description);
  const hostCommand = (name: string, description: string) => withHostKeys(command(name, description));

  addCommon(
    command('validate', 'check an inventory; report every mistake with file:line:col (contacts no host)'),
  ).action((o: CommonOptions) =>
    run(async () => (await import('./commands/validate.js')).runValidate(o, new Output(o))),
  );
  addCommon(
    command(
      'render',
      'write every file lvsctl would put on each host into a directory, for reading (contacts no host)',
    ),
  )
    .option('--out <dir>', 'output directory', 'rendered')
    .action((o: RenderOptions) => run(async () => (await import('./commands/render.js')).runRender(o, new Output(o))));
  hostCommand(
    'plan',
    'show what `up` would change on each host, change nothing (exit 2 when changes are pending)',
  ).action((o: ConvergeOptions) => run(async () => (await converge()).runPlan(o, new Output(o))));
  hostCommand('up', 'converge every host to the inventory, then verify')
    .option('--no-verify', 'skip the verify step')
    .action((o: ConvergeOptions) => run(async () => (await converge()).runConverge(o, new Output(o), { kind: 'up' })));
  hostCommand('verify', 'send requests through each VIP from the client host(s) and check the balancing')
    .option('--failover', 'also stop keepalived on the VIP holder, time the takeover and count failed requests', false)
    .action((o: VerifyOptions) => run(async () => (await converge()).runVerifyCommand(o, new Output(o))));
  hostCommand(
    'status',
    'show roles, VIP holders, services with weights, connections and health, and drift (exit 3 on drift)',
  ).action((o: HostOptions) => run(async () => (await import('./commands/status.js')).runStatus(o, new Output(o))));
  hostCommand(
    'stop',
    'take the service down (VIPs released, rules cleared, keepalived stopped) keeping everything installed',
  ).action((o: ConvergeOptions) => run(async () => (await converge()).runConverge(o, new Output(o), { kind: 'stop' })));
  hostCommand('start', "bring a stopped cluster back to the inventory's state, then verify")
    .option('--no-verify', 'skip the verify step')
    .action((o: ConvergeOptions) => run(async () => (await converge()).runConverge(o, new Output(o), { kind: 'up' })));
  hostCommand('down', 'remove everything lvsctl put on the hosts and restore the original settings')
    .option('--purge', 'also remove the packages lvsctl installed', false)
    .action((o: ConvergeOptions) =>
      run(async () => (await converge()).runConverge(o, new Output(o), { kind: 'down', purge: o.purge ?? false })),
    );
  hostCommand('drain', "set a real server's weight to 0 on its directors and wait until its active connections end")
    .argument('<host>', 'the real server (inventory name)')
    .option('--remove', 'once drained, take it out of the services', false)
    .option('--timeout <seconds>', 'give up waiting after this long (it stays drained)', positiveInt, 300)
    .action((host: string, o: DrainOptions) =>
      run(async () => (await import('./commands/drain.js')).runDrain(host, o, new Output(o), false)),
    );
  hostCommand('undrain', 'give a drained real server its inventory weight back')
    .argument('<host>', 'the real server (inventory name)')
    .action((host: string, o: DrainOptions) =>
      run(async () => (await import('./commands/drain.js')).runDrain(host, o, new Output(o), true)),
    );

  command('init', 'write a commented starter inventory for a forwarding mode')
    .addOption(new Option('--mode <mode>', 'forwarding mode').choices(['nat', 'dr', 'tun']).makeOptionMandatory())
    .option('-o, --out <file>', 'where to write it ("-" for stdout)', '-')
    .option('--force', 'overwrite an existing file', false)
    .action((o: InitOptions) => run(async () => (await import('./commands/init.js')).runInit(o)));
  return program;
}

/** Runs the CLI and resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const unhandle = handleInterrupts((line) => process.stderr.write(line + '\n'));
  let pending: Promise<number> | undefined;
  const program = buildProgram((action) => {
    pending = action();
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    const code = await (pending ?? Promise.resolve(ExitCode.ok));
    return interruption() ? ExitCode.interrupted : code;
  } catch (e) {
    const code = report(e);
    return interruption() ? ExitCode.interrupted : code;
  } finally {
    unhandle();
  }
}

function report(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return ExitCode.ok;
    return ExitCode.usage; // commander already printed the message
  }
  if (e instanceof InventoryError) {
    // A generated file can hold 100000 mistakes: the first ones say what is wrong, --json has all.
    const shown = e.problems.slice(0, MAX_PROBLEMS_SHOWN).map(formatProblem);
    const more = e.problems.length - shown.length;
    process.stderr.write(
      `${shown.join('\n')}\n${more > 0 ? `… and ${plural(more, 'more problem')} (--json lists every one)\n` : ''}` +
        `${plural(e.problems.length, 'problem')} in the inventory; nothing was contacted.\n`,
    );
    return e.exitCode;
  }
  if (e instanceof UsageError || e instanceof LvsctlError) {
    process.stderr.write(`lvsctl: ${printableLines(e.message)}\n`);
    return e.exitCode;
  }
  process.stderr.write(`lvsctl: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return ExitCode.failed;
}
