// Lines of /proc/net/ip_vs_conn_sync as the kernel writes them (IPv4), for the unit tests of the
// connection table's readers; and a runner for the awk programs that read it on a director.
import { spawnSync } from 'node:child_process';
import { connField } from '../../src/ipvs/conntable.js';
import type { Shell } from '../../src/util/quote.js';

const hexPort = (p: number) => p.toString(16).toUpperCase().padStart(4, '0');

export const CONN_HEADER = 'Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Origin Expires';

export interface ConnLineOptions {
  origin?: 'Local' | 'Sync';
  expires?: number;
  state?: string;
}

export const connLine = (
  proto: string,
  c: string,
  cp: number,
  v: string,
  vp: number,
  d: string,
  dp: number,
  { origin = 'Local', expires = 118, state = 'TIME_WAIT' }: ConnLineOptions = {},
) =>
  `${proto.padEnd(3)} ${connField(c)} ${hexPort(cp)} ${connField(v)} ${hexPort(vp)} ${connField(d)} ${hexPort(dp)} ${state.padEnd(11)} ${origin.padEnd(6)} ${String(expires).padStart(7)}`;

/** Runs a director-side command with the connection table file replaced by `table` on stdin. */
export function onTable(cmd: Shell, table: string): string {
  const text = cmd.text.replace(
    /f=\/proc\/net\/ip_vs_conn_sync; \[ -r "\$f" \] \|\| f=\/proc\/net\/ip_vs_conn;/,
    'f=/dev/stdin;',
  );
  if (text === cmd.text) throw new Error('the command does not read the connection table file');
  return spawnSync('bash', ['-c', text], { input: table, encoding: 'utf8' }).stdout;
}
