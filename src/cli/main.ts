// Command-line entry: parses words with commander, runs one command, maps errors to exit codes.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExitCode, InventoryError, LvsctlError, UsageError } from '../errors.js';
import { packageRoot } from '../paths.js';
import { runConverge, runVerifyCommand, type ConvergeOptions } from './commands/converge.js';
import { runInit } from './commands/init.js';
import { runRender, type RenderOptions } from './commands/render.js';
import { renderedFiles } from '../engine/files.js';
import { runValidate } from './commands/validate.js';
import { runStatus } from './commands/status.js';
import { runDrain, type DrainOptions } from './commands/drain.js';
import { Output } from './output.js';
import { handleInterrupts, interruption } from '../util/interrupt.js';

export interface CommonOptions {
  inventory: string;
  limit?: string[];
  json: boolean;
  verbose: boolean;
  forks: number;
}

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

export function buildProgram(run: (action: () => Promise<number>) => void): Command {
  const version = (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const program = new Command('lvsctl')
    .description(
      'Build and run Linux Virtual Server (IPVS) clusters over SSH: NAT, DR or TUN, one director or a keepalived pair.',
    )
    .version(version)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  addCommon(
    program
      .command('validate')
      .description('check an inventory; report every mistake with file:line:col (contacts no host)'),
  ).action((o: CommonOptions) => run(() => runValidate(o, new Output(o))));
  addCommon(
    program
      .command('render')
      .description('write every file lvsctl would put on each host into a directory, for reading (contacts no host)'),
  )
    .option('--out <dir>', 'output directory', 'rendered')
    .action((o: RenderOptions) => run(() => runRender(o, new Output(o))));
  const hostKeys = (c: Command) =>
    c.option(
      '--accept-new-host-keys',
      'record the key of a host not yet in known_hosts (a changed key is always refused)',
      false,
    );
  hostKeys(
    addCommon(
      program
        .command('plan')
        .description('show what `up` would change on each host, change nothing (exit 2 when changes are pending)'),
    ),
  ).action((o: ConvergeOptions) => run(() => runConverge(o, new Output(o), renderedFiles, false)));
  hostKeys(addCommon(program.command('up').description('converge every host to the inventory, then verify')))
    .option('--no-verify', 'skip the verify step')
    .action((o: ConvergeOptions) => run(() => runConverge(o, new Output(o), renderedFiles, true)));
  hostKeys(
    addCommon(
      program
        .command('verify')
        .description('send requests through each VIP from the client host(s) and check the balancing'),
    ),
  )
    .option('--failover', 'also stop keepalived on the VIP holder, time the takeover and count failed requests', false)
    .action((o: ConvergeOptions) => run(() => runVerifyCommand(o, new Output(o))));
  hostKeys(
    addCommon(
      program
        .command('status')
        .description(
          'show roles, VIP holders, services with weights, connections and health, and drift (exit 3 on drift)',
        ),
    ),
  ).action((o: ConvergeOptions) => run(() => runStatus(o, new Output(o), renderedFiles)));
  hostKeys(
    addCommon(
      program
        .command('stop')
        .description(
          'take the service down (VIPs released, rules cleared, keepalived stopped) keeping everything installed',
        ),
    ),
  ).action((o: ConvergeOptions) => run(() => runConverge(o, new Output(o), renderedFiles, true, { kind: 'stop' })));
  hostKeys(
    addCommon(
      program.command('start').description("bring a stopped cluster back to the inventory's state, then verify"),
    ),
  )
    .option('--no-verify', 'skip the verify step')
    .action((o: ConvergeOptions) => run(() => runConverge(o, new Output(o), renderedFiles, true, { kind: 'up' })));
  hostKeys(
    addCommon(
      program
        .command('down')
        .description('remove everything lvsctl put on the hosts and restore the original settings'),
    ),
  )
    .option('--purge', 'also remove the packages lvsctl installed', false)
    .action((o: ConvergeOptions & { purge: boolean }) =>
      run(() => runConverge(o, new Output(o), renderedFiles, true, { kind: 'down', purge: o.purge })),
    );
  hostKeys(
    addCommon(
      program
        .command('drain')
        .description("set a real server's weight to 0 on its directors and wait until its active connections end"),
    ),
  )
    .argument('<host>', 'the real server (inventory name)')
    .option('--remove', 'once drained, take it out of the services', false)
    .option('--timeout <seconds>', 'give up waiting after this long (it stays drained)', positiveInt, 300)
    .action((host: string, o: DrainOptions) => run(() => runDrain(host, o, new Output(o), renderedFiles, false)));
  hostKeys(addCommon(program.command('undrain').description('give a drained real server its inventory weight back')))
    .argument('<host>', 'the real server (inventory name)')
    .action((host: string, o: DrainOptions) => run(() => runDrain(host, o, new Output(o), renderedFiles, true)));

  program
    .command('init')
    .description('write a commented starter inventory for a forwarding mode')
    .addOption(new Option('--mode <mode>', 'forwarding mode').choices(['nat', 'dr', 'tun']).makeOptionMandatory())
    .option('-o, --out <file>', 'where to write it ("-" for stdout)', '-')
    .option('--force', 'overwrite an existing file', false)
    .action((o: { mode: 'nat' | 'dr' | 'tun'; out: string; force: boolean }) => run(() => runInit(o)));
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
    return interruption() ? (report(e), ExitCode.interrupted) : report(e);
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
    process.stderr.write(
      `${e.message}\n${e.problems.length} problem${e.problems.length > 1 ? 's' : ''} in the inventory; nothing was contacted.\n`,
    );
    return e.exitCode;
  }
  if (e instanceof UsageError || e instanceof LvsctlError) {
    process.stderr.write(`lvsctl: ${e.message}\n`);
    return e.exitCode;
  }
  process.stderr.write(`lvsctl: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return ExitCode.failed;
}
