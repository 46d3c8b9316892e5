// The words of the --json contract (cli/contract.ts) as plain values: main() and Output need them on
// every run, before and without the contract's zod schema (building it costs start-up time).

export const FORMAT_VERSION = 1;

export const COMMANDS = [
  'validate',
  'render',
  'plan',
  'up',
  'verify',
  'status',
  'stop',
  'start',
  'down',
  'drain',
  'undrain',
  'init',
  'import',
  'schema',
  'completion',
] as const;
export type CommandName = (typeof COMMANDS)[number];

export const isCommand = (w: string | undefined): w is CommandName => (COMMANDS as readonly unknown[]).includes(w);
