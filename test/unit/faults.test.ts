// The fault-injection wrapper (ssh/faults.ts) against a recording stand-in connection: it acts only
// on the host and step the environment names, and a connection without faults is not wrapped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withFaults } from '../../src/ssh/faults.js';
import { ConnectionCutError, type ExecOptions, type HostConnection } from '../../src/ssh/connection.js';
import { sh } from '../../src/util/quote.js';

function recorder(name: string) {
  const calls: { what: string; opts?: ExecOptions | { breakAfter?: unknown } }[] = [];
  const conn: HostConnection = {
    name,
    exec: async (_cmd, opts) => (calls.push({ what: 'exec', opts }), { code: 0, stdout: '', stderr: '' }),
    writeFile: async () => void calls.push({ what: 'writeFile' }),
    writeFiles: async (_files, opts) => void calls.push({ what: 'writeFiles', opts }),
    checkpoint: () => void calls.push({ what: 'checkpoint' }),
    abort: () => void calls.push({ what: 'abort' }),
    close: () => void calls.push({ what: 'close' }),
  };
  return { conn, calls };
}

const BATCH = '-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:80 -r 10.0.1.1:80 -g -w 1\n';

describe('fault injection (LVSCTL_TEST_CUT, LVSCTL_TEST_IPVS_REJECT)', () => {
  it('leaves a connection alone when no variable names its host', () => {
    const { conn } = recorder('rs1');
    assert.equal(withFaults(conn, {}), conn);
    assert.equal(withFaults(conn, { LVSCTL_TEST_CUT: 'rs2:write-file', LVSCTL_TEST_IPVS_REJECT: 'dir1:1' }), conn);
  });
  it('cuts at the named checkpoint only, and breaks writes and commands of the named step after half their input', async () => {
    const { conn, calls } = recorder('dir1');
    const f = withFaults(conn, { LVSCTL_TEST_CUT: 'dir1:after-facts, dir1:write-file' });
    f.checkpoint('before-readback');
    assert.throws(
      () => f.checkpoint('after-facts'),
      (e: unknown) => e instanceof ConnectionCutError && e.step === 'after-facts',
    );
    assert.deepEqual(
      calls.map((c) => c.what),
      ['checkpoint', 'abort'],
    );
    await f.writeFile('/etc/x', 'x', { mode: 0o644 });
    const b = (calls.at(-1)!.opts as { breakAfter: { share: number; error: ConnectionCutError } }).breakAfter;
    assert.equal(b.share, 0.5);
    assert.equal(b.error.step, 'write-file');
    await f.exec(sh`true`, { step: 'ipvs-restore', stdin: BATCH });
    assert.equal((calls.at(-1)!.opts as ExecOptions).breakAfter, undefined);
    assert.equal((calls.at(-1)!.opts as ExecOptions).stdin, BATCH);
  });
  it('a command of the named step with nothing on stdin (its files in the script) is cut before it is sent', async () => {
    const { conn, calls } = recorder('dir1');
    const f = withFaults(conn, { LVSCTL_TEST_CUT: 'dir1:write-file' });
    await assert.rejects(
      f.exec(sh`printf x >/etc/x`, { step: 'write-file' }),
      (e: unknown) => e instanceof ConnectionCutError && e.step === 'write-file',
    );
    assert.deepEqual(
      calls.map((c) => c.what),
      ['abort'],
      'never sent',
    );
    await f.exec(sh`true`, { step: 'facts' });
    assert.equal(calls.at(-1)!.what, 'exec', 'another step goes through');
  });
  it('points line N of the named host’s ipvsadm -R batch at port 1, and nothing else', async () => {
    const { conn, calls } = recorder('dir1');
    const f = withFaults(conn, { LVSCTL_TEST_IPVS_REJECT: 'dir1:2' });
    await f.exec(sh`ipvsadm -R`, { step: 'ipvs-restore', stdin: BATCH });
    assert.equal(
      (calls.at(-1)!.opts as ExecOptions).stdin,
      '-A -t 10.0.0.1:80 -s wrr\n-a -t 10.0.0.1:1 -r 10.0.1.1:80 -g -w 1\n',
    );
    await f.exec(sh`cat`, { stdin: BATCH });
    assert.equal((calls.at(-1)!.opts as ExecOptions).stdin, BATCH, 'another step is untouched');
    const past = withFaults(recorder('dir1').conn, { LVSCTL_TEST_IPVS_REJECT: 'dir1:3' });
    await past.exec(sh`ipvsadm -R`, { step: 'ipvs-restore', stdin: BATCH }); // no line 3: unchanged, no error
  });
});
