// Typed errors. Each kind maps to one exit code, so main() never guesses.
// Precedence when several apply (see README "Exit codes"): usage/invalid inventory first
// (nothing contacted), then host failure, then drift, then pending changes.

export const ExitCode = {
  ok: 0,
  failed: 1, // a host failed or was unreachable, or verify failed
  changesPending: 2, // `plan` found changes
  drift: 3, // `status` found drift
  usage: 64, // EX_USAGE
  invalidInventory: 65, // EX_DATAERR
  interrupted: 130, // SIGINT
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class LvsctlError extends Error {
  readonly exitCode: ExitCode = ExitCode.failed;
}

/** An inventory this host cannot take, found by the planner before anything changes. */
export class PlanError extends LvsctlError {}
/** Found by facts and refused before any change on any host (engine/cluster.ts applies nothing). */
export class RefusedError extends PlanError {}

/** Wrong command-line words. */
export class UsageError extends LvsctlError {
  override readonly exitCode = ExitCode.usage;
}

/** One mistake in an inventory, located in its file. */
export interface InventoryProblem {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
  field: string; // e.g. vips[0].services[1].port
  message: string;
}

export function formatProblem(p: InventoryProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.field ? p.field + ': ' : ''}${p.message}`;
}

/** Every mistake found in an inventory, reported together. */
export class InventoryError extends LvsctlError {
  override readonly exitCode = ExitCode.invalidInventory;
  constructor(readonly problems: InventoryProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/** The inventory file cannot be read at all (missing, a directory, a FIFO, no permission): one
 * line, as there is no place in the file to point at. */
export class InventoryFileError extends InventoryError {
  constructor(file: string, reason: string) {
    super([{ file, line: 1, col: 1, field: '', message: `cannot read the inventory: ${reason}` }]);
    this.message = `${file}: cannot read the inventory: ${reason}`;
  }
}
