// The lines of the commands that read only the inventory (validate, render), for people.
import { plural } from '../table.js';
import { printable } from '../../util/printable.js';

export interface ValidateSummary {
  ok: true;
  file: string;
  cluster: string;
  mode: string;
  engine: string;
  directors: number;
  realServers: number;
  clients: number;
  services: string[];
}

const SHOWN_SERVICES = 10;

export function validateLine(s: ValidateSummary): string {
  const more = s.services.length > SHOWN_SERVICES ? ` and ${s.services.length - SHOWN_SERVICES} more` : '';
  return (
    `${printable(s.file)}: ok: cluster ${s.cluster}, mode ${s.mode}, ${plural(s.directors, 'director')} (${s.engine}), ` +
    `${plural(s.realServers, 'real server')}, ${plural(s.services.length, 'service')}: ${s.services.slice(0, SHOWN_SERVICES).join(', ')}${more}`
  );
}

export interface RenderedFile {
  host: string;
  path: string;
  file: string;
  mode: string;
  secret: boolean;
}

export function renderLines(written: RenderedFile[], dir: string): string[] {
  return [
    ...written.map((w) => `${w.file}  ${w.mode}${w.secret ? '  (secret)' : ''}`),
    `${written.length} files for ${new Set(written.map((w) => w.host)).size} hosts in ${dir}`,
  ];
}
