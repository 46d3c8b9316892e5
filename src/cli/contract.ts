// The --json contract: every command, on every path (errors included), prints exactly one document
// of this shape on stdout. The zod schema is the one definition: the code's types come from it and
// `lvsctl schema output` prints it as JSON Schema (the tests check real output against that).
// Raise FORMAT_VERSION when a field changes meaning or goes away; adding a field keeps it.
import * as z from 'zod';
import { ChangeRecord } from '../plan/record.js';
import { COMMANDS, FORMAT_VERSION } from './contract-names.js';

export { FORMAT_VERSION } from './contract-names.js';

/** One host's outcome; the same fields in every command that works on hosts. */
export const HostRecord = z.looseObject({
  host: z.string(),
  roles: z.array(z.enum(['director', 'real_server', 'client'])),
  status: z.enum(['ok', 'changed', 'failed', 'unreachable']),
  changes: z.int().min(0),
  error: z.string().nullable(),
  step: z.string().nullable(),
  /** up, start, plan on a director: the real servers it holds back because they are not ready (the
   * readiness gate), why, and the weight each gets there (0, or the weight it already serves with). */
  held_back: z.array(z.strictObject({ host: z.string(), why: z.string(), weight: z.int().min(0) })).optional(),
  /** plan and status: the run that holds this host's lock now (they take none). */
  lock: z
    .strictObject({
      user: z.string(),
      controller: z.string(),
      pid: z.int(),
      command: z.string(),
      cluster: z.string(),
      since: z.string(),
      expires_in: z.int(),
    })
    .optional(),
});
export type HostRecord = z.infer<typeof HostRecord>;

export { ChangeRecord } from '../plan/record.js';

export const Problem = z.strictObject({
  file: z.string(),
  line: z.int(),
  col: z.int(),
  field: z.string(),
  message: z.string(),
});

export const ErrorKind = z.enum(['usage', 'inventory', 'failed', 'interrupted', 'internal']);
export type ErrorKind = z.infer<typeof ErrorKind>;

export const Command = z.enum(COMMANDS);
export type Command = z.infer<typeof Command>;

export const JsonDocument = z.looseObject({
  format_version: z.literal(FORMAT_VERSION),
  /** null when the words named no command. */
  command: Command.nullable(),
  /** false on any failure: a usage error, an invalid inventory, a failed or unreachable host, a
   * failed verify, an interruption. Pending changes (plan, 2) and drift (status, 3) are results. */
  ok: z.boolean(),
  exit_code: z.int(),
  /** The inventory file as given, null for commands without one. */
  inventory: z.string().nullable(),
  /** The hosts worked on, in inventory order (empty for commands that contact none). */
  hosts: z.array(HostRecord),
  changes: z.array(ChangeRecord),
  /** Every mistake in the inventory (exit 65), with its place. */
  problems: z.array(Problem),
  error: z.strictObject({ kind: ErrorKind, message: z.string() }).nullable(),
  /** --timings: each step's wall time on each host (milliseconds; start_ms from the command's start). */
  timings: z
    .array(
      z.strictObject({
        host: z.string(),
        step: z.string(),
        ms: z.number().min(0),
        count: z.int().min(1),
        start_ms: z.number().min(0),
      }),
    )
    .optional(),
});
export type JsonDocument = z.infer<typeof JsonDocument>;

/** The JSON Schema of the document (draft 2020-12). */
export const outputJsonSchema = (): Record<string, unknown> => ({
  $id: `urn:lvsctl:output:${FORMAT_VERSION}`,
  title: 'lvsctl --json output',
  description: `One document per run on stdout (format_version ${FORMAT_VERSION}); command-specific fields beside these.`,
  ...z.toJSONSchema(JsonDocument, { target: 'draft-2020-12' }),
});
