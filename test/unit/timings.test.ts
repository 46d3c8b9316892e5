// --timings (util/timings.ts, cli/print/timings.ts): steps are recorded only inside a recorder, per
// host, summed with their count when they repeat, failed steps included; the table for people has a
// column per step, the median and the slowest host. (The lab's DR up and the bench smoke show the
// steps of real runs: engine-dr.test.ts, bench-smoke.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordTimings, timed, timedSync, Timings, type Timing } from '../../src/util/timings.js';
import { timingsTable } from '../../src/cli/print/timings.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('--timings', () => {
  it('records nothing outside a recorder, and returns what the step returns either way', async () => {
    assert.equal(await timed('h', 'facts', async () => 7), 7);
    assert.equal(
      timedSync('h', 'plan', () => 8),
      8,
    );
    const t = new Timings();
    assert.deepEqual(t.rows(), []);
  });

  it('per host and step: wall time, a repeated step summed with its count, a failed step counted', async () => {
    const t = new Timings();
    await recordTimings(t, async () => {
      // two hosts at once, as the engine's phases run them; the store follows each async path
      await Promise.all([
        (async () => {
          await timed('rs1', 'connect', () => wait(30));
          await timed('rs1', 'apply: commands', () => wait(10));
          await timed('rs1', 'apply: commands', () => wait(10));
        })(),
        (async () => {
          await timed('dir1', 'connect', () => wait(5));
          await assert.rejects(
            timed('dir1', 'facts', async () => {
              await wait(5);
              throw new Error('facts script failed');
            }),
          );
          timedSync('dir1', 'plan', () => undefined);
        })(),
      ]);
    });
    const rows = t.rows(['dir1', 'rs1']);
    assert.deepEqual(
      rows.map((r) => [r.host, r.step, r.count]),
      [
        ['dir1', 'connect', 1],
        ['dir1', 'facts', 1],
        ['dir1', 'plan', 1],
        ['rs1', 'connect', 1],
        ['rs1', 'apply: commands', 2],
      ],
    );
    const get = (h: string, s: string) => rows.find((r) => r.host === h && r.step === s)!;
    assert.ok(get('rs1', 'connect').ms >= 25, JSON.stringify(rows));
    assert.ok(get('rs1', 'apply: commands').ms >= 18, JSON.stringify(rows));
    assert.ok(get('dir1', 'facts').ms >= 4 && get('dir1', 'facts').ms < 25, JSON.stringify(rows));
    // when each step began, from the recorder's start
    assert.ok(get('rs1', 'apply: commands').start_ms >= get('rs1', 'connect').start_ms + 25);
  });

  it('the table: a column per step in the order they first ran, "-" where a host has none, median and slowest', () => {
    const row = (host: string, step: string, ms: number, start: number, count = 1): Timing => ({
      host,
      step,
      ms,
      count,
      start_ms: start,
    });
    const lines = timingsTable([
      row('rs1', 'connect', 100, 0),
      row('rs1', 'facts', 200, 100),
      row('rs2', 'connect', 300, 0),
      row('rs2', 'facts', 400, 300),
      row('dir1', 'connect', 200, 0),
      row('dir1', 'facts', 600, 200),
      row('dir1', 'apply: ipvsadm -R', 50, 900, 2),
    ]);
    const cells = lines.slice(1).map((l) => l.trim().split(/\s{2,}/));
    assert.deepEqual(cells[0], ['host', 'connect', 'facts', 'apply: ipvsadm -R']);
    assert.deepEqual(cells[1], ['rs1', '0.100', '0.200', '-']);
    assert.deepEqual(cells[3], ['dir1', '0.200', '0.600', '0.050 (2×)']);
    assert.deepEqual(cells[4], ['median', '0.200', '0.400', '0.050']);
    assert.deepEqual(cells[5], ['slowest', '0.300 rs2', '0.600 dir1', '0.050 dir1']);
    assert.deepEqual(timingsTable([]), ['timings: no step ran on any host']);
  });
});
