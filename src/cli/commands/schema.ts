// `lvsctl schema [inventory|output]`: the JSON Schema of an inventory (for editors and other
// tools; init's starter points yaml-language-server at it) or of the --json output document.
import { ExitCode } from '../../errors.js';
import { inventoryJsonSchema } from '../../inventory/json-schema.js';
import { outputJsonSchema } from '../contract.js';

export async function runSchema(what: 'inventory' | 'output'): Promise<number> {
  const schema = what === 'inventory' ? inventoryJsonSchema() : outputJsonSchema();
  process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
  return ExitCode.ok;
}
