// `lvsctl status`: one table across hosts (state and drift, VIP holders, services with weights,
// connections and health) and --json. Exit 0 when everything matches, 3 on drift, 1 when a host
// could not be read.
import { checkLimit, converge } from '../../engine/cluster.js';
import { Connections } from '../../engine/connections.js';
import type { FilesFor } from '../../engine/host.js';
import { ExitCode } from '../../errors.js';
import { loadInventory } from '../../inventory/load.js';
import { statusReport, type StatusReport } from '../../status/report.js';
import type { Output } from '../output.js';
import { PlainProgress } from '../progress.js';
import { formatTable } from '../table.js';
import type { ConvergeOptions } from './converge.js';

export async function runStatus(o: ConvergeOptions, out: Output, filesFor: FilesFor): Promise<number> {
  const { cluster, secrets } = loadInventory(o.inventory);
  checkLimit(cluster, o.limit);
  const conns = new Connections(cluster, o.acceptNewHostKeys);
  try {
    // Progress only with --verbose (stderr): status output is the table, read by people and cron.
    const results = await converge(cluster, secrets, filesFor, {
      limit: o.limit,
      forks: o.forks,
      apply: false,
      progress: new PlainProgress((l) => out.debug(l)),
      conns,
      intent: { kind: 'status' },
    });
    const report = statusReport(cluster, results);
    printStatus(out, report, o.verbose);
    out.json(report);
    return report.failed ? ExitCode.failed : report.drift ? ExitCode.drift : ExitCode.ok;
  } finally {
    await conns.closeAll();
  }
}

function printStatus(out: Output, r: StatusReport, verbose: boolean): void {
  out.info('HOSTS');
  const hostRows = [['host', 'roles', 'state', 'matches the inventory']];
  for (const h of r.hosts) {
    const drift = h.error
      ? h.error
      : h.drift.length
        ? `NO: ${h.drift.length} difference${h.drift.length > 1 ? 's' : ''}`
        : 'yes';
    hostRows.push([h.host, h.roles.join(','), h.state, drift]);
    for (const d of verbose || h.drift.length <= 5
      ? h.drift
      : [...h.drift.slice(0, 5), `... ${h.drift.length - 5} more (--verbose)`])
      hostRows.push(['', '', '', `  ~ ${d}`]);
  }
  for (const l of formatTable(hostRows)) out.info(l);

  out.info('\nVIPS');
  const vipRows = [['vip', 'interface', 'held by']];
  for (const v of r.vips)
    vipRows.push([v.address, v.interface, `${v.holders.join(', ') || '-'}${v.problem ? `  ! ${v.problem}` : ''}`]);
  for (const l of formatTable(vipRows)) out.info(l);

  out.info('\nSERVICES');
  const rows = [['service', 'director', 'real server', 'weight', 'active', 'inactive', 'health']];
  for (const s of r.services) {
    s.realServers.forEach((rs, i) => {
      const weight =
        rs.weight === undefined
          ? `-/${rs.inventoryWeight}`
          : rs.weight === rs.inventoryWeight
            ? String(rs.weight)
            : `${rs.weight}/${rs.inventoryWeight}`;
      rows.push([
        i ? '' : `${s.service}${s.name ? ` (${s.name})` : ''} ${s.scheduler}`,
        i ? '' : s.director,
        `${rs.host} ${rs.destination}`,
        weight,
        String(rs.active ?? '-'),
        String(rs.inactive ?? '-'),
        rs.health,
      ]);
    });
  }
  for (const l of formatTable(rows)) out.info(l);
  out.info('');
  out.info(
    r.failed
      ? 'status: some hosts could not be read'
      : r.drift
        ? 'status: DRIFT: the cluster differs from the inventory (`lvsctl plan` shows the repair, `lvsctl up` applies it)'
        : 'status: every host matches the inventory',
  );
}
