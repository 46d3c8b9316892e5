// `lvsctl validate`: the inventory gate on its own. Contacts no host.
import { ExitCode } from '../../errors.js';
import { resolveLimit } from '../../inventory/limit.js';
import { loadInventory } from '../../inventory/load.js';
import type { ValidateOptions } from '../options.js';
import type { Output } from '../output.js';
import { validateLine, type ValidateSummary } from '../print/inventory.js';

export async function runValidate(o: ValidateOptions, out: Output): Promise<number> {
  // Secrets are checked as render and up check them, unless --no-secrets (a CI job without them).
  const { cluster: c, notes } = loadInventory(o.inventory, { requireSecrets: o.secrets });
  const selected = resolveLimit(c, o.limit) ?? [...c.hosts.keys()];
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
  const { engine: _engine, ...fields } = summary; // the JSON document keeps its fields
  out.set({ ...fields, selected });
  out.info(validateLine(summary));
  for (const n of notes) out.info(`note: ${n}`);
  if (o.limit) out.info(`--limit selects ${selected.length} of ${c.hosts.size} hosts: ${selected.join(', ')}`);
  return ExitCode.ok;
}
