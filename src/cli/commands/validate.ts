// `lvsctl validate`: the inventory gate on its own. Contacts no host.
import { ExitCode, InventoryError } from '../../errors.js';
import { loadInventory } from '../../inventory/load.js';
import type { CommonOptions } from '../options.js';
import type { Output } from '../output.js';

export async function runValidate(o: CommonOptions, out: Output): Promise<number> {
  try {
    const { cluster: c } = loadInventory(o.inventory, { requireSecrets: false });
    const count = (role: string) => [...c.hosts.values()].filter((h) => h.roles.has(role as never)).length;
    const summary = {
      ok: true,
      file: o.inventory,
      cluster: c.name,
      mode: c.mode,
      directors: count('director'),
      realServers: count('real_server'),
      clients: count('client'),
      services: c.services.map((s) => s.id),
    };
    out.json(summary);
    out.info(
      `${o.inventory}: ok: cluster ${c.name}, mode ${c.mode}, ${summary.directors} director${summary.directors > 1 ? 's' : ''} (${c.directors.engine}), ` +
        `${summary.realServers} real server${summary.realServers === 1 ? '' : 's'}, ${c.services.length} service${c.services.length === 1 ? '' : 's'}: ${summary.services.slice(0, 10).join(', ')}${summary.services.length > 10 ? ` and ${summary.services.length - 10} more` : ''}`,
    );
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof InventoryError && o.json) {
      out.json({ ok: false, file: o.inventory, problems: e.problems });
      return e.exitCode;
    }
    throw e;
  }
}
