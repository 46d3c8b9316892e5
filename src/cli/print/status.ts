// status's tables: hosts with drift, VIP holders, services with weights, connections and health.
import type { RealServerStatus, StatusReport } from '../../status/report.js';
import { formatTable, plural } from '../table.js';

const MAX_DRIFT_LINES = 5;

function driftCell(h: StatusReport['hosts'][number]): string {
  if (h.error) return h.error;
  return h.drift.length ? `NO: ${plural(h.drift.length, 'difference')}` : 'yes';
}

/** live weight, or live/inventory when they differ, or -/inventory when the server is not in the table. */
function weightCell(rs: RealServerStatus): string {
  if (rs.weight === undefined) return `-/${rs.inventoryWeight}`;
  return rs.weight === rs.inventoryWeight ? String(rs.weight) : `${rs.weight}/${rs.inventoryWeight}`;
}

function verdictLine(r: StatusReport): string {
  if (r.failed) return 'status: some hosts could not be read';
  if (r.drift)
    return 'status: DRIFT: the cluster differs from the inventory (`lvsctl plan` shows the repair, `lvsctl up` applies it)';
  return 'status: every host matches the inventory';
}

export function statusLines(r: StatusReport, verbose: boolean): string[] {
  const hostRows = [['host', 'roles', 'state', 'matches the inventory']];
  for (const h of r.hosts) {
    hostRows.push([h.host, h.roles.join(','), h.state, driftCell(h)]);
    const shown =
      verbose || h.drift.length <= MAX_DRIFT_LINES
        ? h.drift
        : [...h.drift.slice(0, MAX_DRIFT_LINES), `... ${h.drift.length - MAX_DRIFT_LINES} more (--verbose)`];
    for (const d of shown) hostRows.push(['', '', '', `  ~ ${d}`]);
  }

  const vipRows = [['vip', 'interface', 'held by']];
  for (const v of r.vips)
    vipRows.push([v.address, v.interface, `${v.holders.join(', ') || '-'}${v.problem ? `  ! ${v.problem}` : ''}`]);

  const rows = [['service', 'director', 'real server', 'weight', 'active', 'inactive', 'health']];
  for (const s of r.services)
    s.realServers.forEach((rs, i) =>
      rows.push([
        i ? '' : `${s.service}${s.name ? ` (${s.name})` : ''} ${s.scheduler}`,
        i ? '' : s.director,
        `${rs.host} ${rs.destination}`,
        weightCell(rs),
        String(rs.active ?? '-'),
        String(rs.inactive ?? '-'),
        rs.health,
      ]),
    );
  return [
    'HOSTS',
    ...formatTable(hostRows),
    '',
    'VIPS',
    ...formatTable(vipRows),
    '',
    'SERVICES',
    ...formatTable(rows),
    '',
    verdictLine(r),
  ];
}
