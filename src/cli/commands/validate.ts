// `lvsctl validate`: the inventory gate on its own. Contacts no host.
import { ExitCode, InventoryError } from '../../errors.js';
import { loadInventory } from '../../inventory/load.js';
import type { CommonOptions } from '../options.js';
import type { Output } from '../output.js';
import { validateLine, type ValidateSummary } from '../print/inventory.js';

export async function runValidate(o: CommonOptions, out: Output): Promise<number> {
  try {
    const { cluster: c } = loadInventory(o.inventory, { requireSecrets: false });
    const count = (role: string) => [...c.hosts.values()].filter((h) => h.roles.has(role as never)).length;
    const summary: ValidateSummary = {
      ok: true,
      file: o.inventory,
      cluster: c.name,
      mode: c.mode,
      engine: c.directors.engine,
      directors: count('director'),
      realServers: count('real_server'),
      clients: count('client'),
      services: c.services.map((s) => s.id),
    };
    const { engine: _engine, ...json } = summary; // the JSON document keeps its fields
    out.json(json);
    out.info(validateLine(summary));
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof InventoryError && o.json) {
      out.json({ ok: false, file: o.inventory, problems: e.problems });
      return e.exitCode;
    }
    throw e;
  }
}
