// Inventories near the size limit, one per way a file can make validation work harder than its
// size suggests (bench/inventory-shapes.ts): each is accepted or refused with the expected message,
// and the output stays well-formed however many problems there are. Behaviour only: how long they
// take is the benchmark's business (`npm run bench -- --parts validate`).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SHAPES } from '../../bench/inventory-shapes.js';
import { MAX_INVENTORY_BYTES } from '../../src/inventory/load.js';
import { runCli } from './helpers.js';

/** Just under the limit, so that every shape but the over-limit one is read and checked whole. */
const TARGET = MAX_INVENTORY_BYTES - 1024;

describe('validation of inventories at the size limit: accepted or refused, every problem well-formed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lvsctl-bounds-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const shape of SHAPES) {
    it(`${shape.name}: ${shape.describe}: ${shape.expect === 'ok' ? 'accepted' : 'refused'}`, async () => {
      const text = shape.text(TARGET);
      if (shape.overLimit) assert.ok(Buffer.byteLength(text) > MAX_INVENTORY_BYTES);
      else {
        assert.ok(Buffer.byteLength(text) <= TARGET, `${Buffer.byteLength(text)} bytes, more than ${TARGET}`);
        assert.ok(Buffer.byteLength(text) > TARGET * 0.99, `${Buffer.byteLength(text)} bytes, far below ${TARGET}`);
      }
      const file = join(dir, `${shape.name}.yaml`);
      writeFileSync(file, text);
      const r = await runCli(['validate', '-i', file]);

      if (shape.expect === 'ok') {
        assert.equal(r.code, 0, r.stderr.slice(0, 2000));
        assert.equal(r.stderr, '');
        assert.ok(r.stdout.startsWith(`${file}: ok: cluster bounds, mode dr, `), r.stdout.slice(0, 300));
        assert.equal(r.stdout.split('\n').length, 2, 'one summary line');
        return;
      }
      assert.equal(r.code, 65, `exit ${r.code}: ${r.stderr.slice(0, 2000)}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, shape.expect);
      // At most 200 problems are printed, each on one line `file:line:col: [field: ]message`, then
      // how many more there are, then the count.
      const lines = r.stderr.split('\n');
      assert.equal(lines.pop(), '', 'stderr ends with a newline');
      const summary = lines.pop()!;
      const more = /^… and (\d+) more problems? \(--json lists every one\)$/.exec(lines.at(-1) ?? '');
      if (more) lines.pop();
      assert.ok(lines.length <= 200, `${lines.length} problems printed`);
      const n = lines.length + Number(more?.[1] ?? 0);
      if (more) assert.equal(lines.length, 200);
      assert.equal(summary, `${n} problem${n === 1 ? '' : 's'} in the inventory; nothing was contacted.`);
      const prefix = `${file}:`;
      for (const l of lines) {
        assert.ok(l.startsWith(prefix), l.slice(0, 200));
        assert.match(l.slice(prefix.length), /^\d+:\d+: \S/, l.slice(0, 200));
        assert.ok(l.length <= prefix.length + 1000, `a line of ${l.length} characters`);
      }
    });
  }
});
