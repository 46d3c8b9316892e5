// Printing for people and for machines. With --json, stdout carries exactly one JSON document
// (cli/contract.ts), written by main() once the command ended, whichever way it ended.
import type { ErrorKind, JsonDocument } from './contract.js';
import { FORMAT_VERSION } from './contract-names.js';
import type { InventoryProblem } from '../errors.js';

export interface OutputOptions {
  json: boolean;
  verbose: boolean;
}

export class Output {
  private readonly fields: Record<string, unknown> = {};
  constructor(
    readonly opts: OutputOptions,
    readonly command: JsonDocument['command'] = null,
    readonly inventory: string | null = null,
  ) {}
  /** A line for people (suppressed with --json, where the JSON document says it all). */
  info(line: string): void {
    if (!this.opts.json) process.stdout.write(line + '\n');
  }
  debug(line: string): void {
    if (this.opts.verbose) process.stderr.write(line + '\n');
  }
  error(line: string): void {
    process.stderr.write(line + '\n');
  }
  /** The command's part of the JSON document (hosts, changes, its own fields); later calls add. */
  set(fields: Partial<JsonDocument> & Record<string, unknown>): void {
    Object.assign(this.fields, fields);
  }
  /** Whether the command set this field of the document. */
  has(field: string): boolean {
    return field in this.fields;
  }
  document(
    code: number,
    ok: boolean,
    error?: { kind: ErrorKind; message: string },
    problems: InventoryProblem[] = [],
  ): JsonDocument {
    // The envelope's own fields are always the ones computed here, whatever a command set.
    const {
      format_version: _v,
      command: _c,
      ok: _o,
      exit_code: _e,
      inventory: _i,
      problems: _p,
      error: _r,
      hosts = [],
      changes = [],
      ...own
    } = this.fields as Partial<JsonDocument>;
    return {
      format_version: FORMAT_VERSION,
      command: this.command,
      ok,
      exit_code: code,
      inventory: this.inventory,
      hosts,
      changes,
      ...own,
      problems,
      error: error ?? null,
    };
  }
  /** Writes the document (with --json). */
  finish(doc: JsonDocument): void {
    if (this.opts.json) process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
  }
}
