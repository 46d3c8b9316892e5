// Writes a table exactly as `ipvsadm -S -n` (ipvsadm 1.31) prints it, so a rules file can be
// compared line by line with a host's live table and restored with `ipvsadm -R`.
// Option order follows print_service_entry()/print_tunnel_rule() in ipvsadm.c 1.31:
//   -A <svc> -s <sched> [-p <timeout> [-M <mask>]] [--pe <name>] [-o] [-b <flags>]
//   -a <svc> -r <dest> <-m|-g|-i> -w <weight> [--tun-type <t> [--tun-port <p>] [--tun-<csum>]]
// The one addition: -x/-y thresholds, which -S never prints but -R accepts, are appended to an
// -a line when set (a table without thresholds formats byte for byte like -S -n).
import { destinationKey, serviceArgs } from '../identity/service.js';
import { sortTable, type IpvsDestination, type IpvsService, type IpvsTable } from './table.js';

const FWD = { masq: '-m', route: '-g', tunnel: '-i' } as const;

function serviceLine(s: IpvsService, verb: '-A' | '-E' = '-A'): string {
  let line = `${verb} ${serviceArgs(s).join(' ')} -s ${s.scheduler}`;
  if (s.persistence) {
    line += ` -p ${s.persistence.timeout}`;
    const nm = s.persistence.netmask;
    if (s.family === 4 && typeof nm === 'string' && nm !== '255.255.255.255') line += ` -M ${nm}`;
    if (s.family === 6 && typeof nm === 'number' && nm !== 128) line += ` -M ${nm}`;
  }
  if (s.pe) line += ` --pe ${s.pe}`;
  if (s.ops) line += ' -o';
  if (s.schedFlags.length) line += ` -b ${s.schedFlags.join(',')}`;
  return line;
}

function destinationLine(s: IpvsService, d: IpvsDestination, verb: '-a' | '-e' = '-a'): string {
  let line = `${verb} ${serviceArgs(s).join(' ')} -r ${destinationKey(d)} ${FWD[d.forward]} -w ${d.weight}`;
  if (d.forward === 'tunnel') {
    const t = d.tunnel ?? { type: 'ipip' };
    line += ` --tun-type ${t.type}`;
    if (t.type === 'gue') line += ` --tun-port ${t.port ?? 0}`;
    if (t.type !== 'ipip') line += ` --tun-${t.csum ?? 'nocsum'}`;
  }
  if (d.upperThreshold) line += ` -x ${d.upperThreshold}`;
  if (d.lowerThreshold) line += ` -y ${d.lowerThreshold}`;
  return line;
}

/** The rules text, sorted as ipvsadm sorts, one line per entry, ending in a newline (empty table: ""). */
export function formatRules(table: IpvsTable): string {
  const lines: string[] = [];
  for (const s of sortTable(table).services) {
    lines.push(serviceLine(s));
    for (const d of s.destinations) lines.push(destinationLine(s, d));
  }
  return lines.map((l) => l + '\n').join('');
}

/** One change to a live table, as `ipvsadm -R` takes it. */
export type IpvsOp =
  | { op: 'add-service' | 'edit-service' | 'delete-service'; service: IpvsService }
  | {
      op: 'add-destination' | 'edit-destination' | 'delete-destination';
      service: IpvsService;
      destination: IpvsDestination;
    };

/** The `ipvsadm -R` line of one operation (a deletion names only its keys, as ipvsadm wants). */
export function formatOp(o: IpvsOp): string {
  switch (o.op) {
    case 'add-service':
      return serviceLine(o.service, '-A');
    case 'edit-service':
      return serviceLine(o.service, '-E');
    case 'delete-service':
      return `-D ${serviceArgs(o.service).join(' ')}`;
    case 'add-destination':
      return destinationLine(o.service, o.destination, '-a');
    case 'edit-destination':
      return destinationLine(o.service, o.destination, '-e');
    case 'delete-destination':
      return `-d ${serviceArgs(o.service).join(' ')} -r ${destinationKey(o.destination)}`;
  }
}

/** Whether two services are the same in everything `-A` sets (their destinations aside). */
export const sameServiceSettings = (a: IpvsService, b: IpvsService): boolean => serviceLine(a) === serviceLine(b);

/** Whether two destinations of a service are the same in everything `-a` sets. */
export const sameDestinationSettings = (s: IpvsService, a: IpvsDestination, b: IpvsDestination): boolean =>
  destinationLine(s, a) === destinationLine(s, b);
