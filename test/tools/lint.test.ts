// The lint rules .ci/run enforces (eslint.config.js) catch what they are for: a lower layer importing
// a higher one, nested ternaries, over-long lines. Each probe is linted as if it were a file of src/.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { packageRoot } from '../../src/paths.js';

// The probes are not on disk, so the type-aware part (the project service) is off for them.
const eslint = new ESLint({
  cwd: packageRoot,
  overrideConfig: [
    {
      files: ['**/*.ts'],
      languageOptions: { parserOptions: { projectService: false } },
      rules: { '@typescript-eslint/switch-exhaustiveness-check': 'off' },
    },
  ],
});

async function rulesHit(path: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, { filePath: join(packageRoot, path) });
  return r!.messages.map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint rules', () => {
  it('a lower layer importing a higher one is refused; the other direction is fine', async () => {
    const up = await rulesHit(
      'src/engine/zz-probe.ts',
      "import { Output } from '../cli/output.js';\nexport const o = Output;\n",
    );
    assert.equal(up.length, 1, up.join('\n'));
    assert.match(up[0]!, /^no-restricted-imports: .*a lower layer \(engine, verify\) must not import a higher one/);
    const plan = await rulesHit(
      'src/plan/zz-probe.ts',
      "import { x } from '../apply/commands.js';\nexport const y = x;\n",
    );
    assert.match(plan.join('\n'), /no-restricted-imports/);
    const identity = await rulesHit(
      'src/identity/zz-probe.ts',
      "import { x } from '../inventory/model.js';\nexport const y = x;\n",
    );
    assert.match(identity.join('\n'), /no-restricted-imports/);
    const down = await rulesHit(
      'src/cli/zz-probe.ts',
      "import { hostPort } from '../identity/service.js';\nexport const h = hostPort;\n",
    );
    assert.deepEqual(down, []);
    const same = await rulesHit(
      'src/verify/zz-probe.ts',
      "import { Connections } from '../engine/connections.js';\nexport const c = Connections;\n",
    );
    assert.deepEqual(same, []);
  });
  it('nested ternaries and over-long code lines are refused', async () => {
    const nested = await rulesHit(
      'src/util/zz-probe.ts',
      'export const f = (a: number) => (a > 1 ? 1 : a < 0 ? -1 : 0);\n',
    );
    assert.match(nested.join('\n'), /no-nested-ternary/);
    const long = await rulesHit(
      'src/util/zz-probe.ts',
      `export const f = (a: number) => a + ${Array(40).fill('a').join(' + ')};\n`,
    );
    assert.match(long.join('\n'), /max-len/);
  });
});
