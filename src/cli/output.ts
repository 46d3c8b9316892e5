// Printing for people and for machines. With --json, stdout carries exactly one JSON document.
export interface OutputOptions {
  json: boolean;
  verbose: boolean;
}

export class Output {
  constructor(readonly opts: OutputOptions) {}
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
  json(value: unknown): void {
    if (this.opts.json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }
}
