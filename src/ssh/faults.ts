// Fault injection for tests, in one place: a wrapper around a host connection that breaks it at a
// named step or changes what a step sends. Product code only names its steps (ExecOptions.step,
// checkpoint()); nothing here runs unless a test sets one of these variables:
//   LVSCTL_TEST_CUT=host:step[,host:step…]   cut the connection at that step: a checkpoint throws,
//                                             a command or file write breaks after half its stdin
//                                             (one without stdin: before it is sent)
//   LVSCTL_TEST_IPVS_REJECT=host:N            point line N (1-based) of the host's `ipvsadm -R`
//                                             batch at a service that does not exist (port 1), so
//                                             the kernel rejects it (ESRCH)
import type { Shell } from '../util/quote.js';
import type { BreakAfter, ExecOptions, ExecResult, FileWrite, HostConnection, WriteFileOptions } from './connection.js';
import { ConnectionCutError, type SshError } from './errors.js';

interface Faults {
  cuts: Set<string>;
  /** 0-based line of the IPVS batch to spoil. */
  rejectLine?: number;
}

function faultsFor(host: string, env: NodeJS.ProcessEnv): Faults | undefined {
  const pairs = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((x) => x.trim().split(':'))
      .filter(([h, rest]) => h === host && rest !== undefined);
  const cuts = new Set(pairs(env.LVSCTL_TEST_CUT).map(([, step]) => step!));
  const n = Number(pairs(env.LVSCTL_TEST_IPVS_REJECT)[0]?.[1]);
  const rejectLine = Number.isInteger(n) && n >= 1 ? n - 1 : undefined;
  return cuts.size || rejectLine !== undefined ? { cuts, rejectLine } : undefined;
}

/** `conn` itself, or a wrapper that injects the faults the environment asks for on this host. */
export function withFaults(conn: HostConnection, env: NodeJS.ProcessEnv): HostConnection {
  const faults = faultsFor(conn.name, env);
  return faults ? new FaultyConnection(conn, faults) : conn;
}

class FaultyConnection implements HostConnection {
  constructor(
    private readonly inner: HostConnection,
    private readonly faults: Faults,
  ) {}

  get name(): string {
    return this.inner.name;
  }

  private breakAt(step: string | undefined): BreakAfter | undefined {
    if (step === undefined || !this.faults.cuts.has(step)) return undefined;
    return { share: 0.5, error: new ConnectionCutError(this.name, step) };
  }

  private spoil(stdin: ExecOptions['stdin']): ExecOptions['stdin'] {
    const i = this.faults.rejectLine;
    if (i === undefined || stdin === undefined) return stdin;
    const lines = stdin.toString().split('\n');
    if (i >= lines.length - 1) return stdin; // the text ends in a newline: its last element is ''
    lines[i] = lines[i]!.replace(/^(-[aAeE] -[tu] \S+?):\d+ /, '$1:1 ');
    return lines.join('\n');
  }

  exec(cmd: Shell, opts: ExecOptions = {}): Promise<ExecResult> {
    const stdin = opts.step === 'ipvs-restore' ? this.spoil(opts.stdin) : opts.stdin;
    const cut = opts.breakAfter ?? this.breakAt(opts.step);
    // A step whose content is all in the command (small files written from the script itself):
    // nothing to cut in the middle of, so the connection breaks before the command is sent.
    if (cut && !(stdin && stdin.length > 1)) {
      this.inner.abort(cut.error);
      return Promise.reject(cut.error);
    }
    return this.inner.exec(cmd, { ...opts, stdin, breakAfter: cut });
  }

  writeFile(path: string, content: string | Buffer, opts: WriteFileOptions): Promise<void> {
    return this.writeFiles([{ path, content, ...opts }]);
  }

  writeFiles(files: ReadonlyArray<FileWrite>, opts: { breakAfter?: BreakAfter } = {}): Promise<void> {
    return this.inner.writeFiles(files, { breakAfter: opts.breakAfter ?? this.breakAt('write-file') });
  }

  checkpoint(step: string): void {
    const b = this.breakAt(step);
    if (b) {
      this.inner.abort(b.error);
      throw b.error;
    }
    this.inner.checkpoint(step);
  }

  abort(error: SshError): void {
    this.inner.abort(error);
  }

  close(): void {
    this.inner.close();
  }
}
