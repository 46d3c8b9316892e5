// `lvsctl status`: one table across hosts (state and drift, VIP holders, services with weights,
// connections and health) and --json. Exit 0 when everything matches, 3 on drift, 1 when a host
// could not be read.
import { ExitCode } from '../../errors.js';
import { statusReport } from '../../status/report.js';
import type { HostOptions } from '../options.js';
import type { Output } from '../output.js';
import { statusLines } from '../print/status.js';
import { withHosts } from '../shell.js';
import { changeRecords, hostRecord, lockRecord } from '../records.js';
import { lockLines } from '../print/converge.js';

export function runStatus(o: HostOptions, out: Output): Promise<number> {
  return withHosts(
    o,
    out,
    async ({ cluster, converge }) => {
      const results = await converge(false, { kind: 'status' });
      const report = statusReport(cluster, results);
      for (const l of [...statusLines(report, o.verbose), ...lockLines(results)]) out.info(l);
      // Drift is what `up` would change; the state file's own bookkeeping is not drift.
      const drift = changeRecords(results, false).filter((c) => c.kind !== 'state');
      out.set({
        ...report,
        hosts: report.hosts.map((h, i) => ({
          ...hostRecord(cluster, { ...results[i]!, changes: h.drift.length }),
          ...lockRecord(results[i]!),
          state: h.state,
          drift: h.drift,
        })),
        changes: drift,
      });
      if (report.failed) return ExitCode.failed;
      return report.drift ? ExitCode.drift : ExitCode.ok;
    },
    { quietProgress: true },
  );
}
