// ProxyCommand's stdio as the connection: bytes both ways, its exit and stderr as the error.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { proxyCommandStream } from '../../src/ssh/proxy-command.js';

describe('ProxyCommand stream', () => {
  it('carries bytes both ways (cat echoes them)', async () => {
    const s = proxyCommandStream('cat');
    s.write('SSH-2.0-test\r\n');
    const [data] = (await once(s, 'data')) as [Buffer];
    assert.equal(data.toString(), 'SSH-2.0-test\r\n');
    s.destroy();
  });

  it("ends with an error naming the command's exit and the last of its stderr", async () => {
    const s = proxyCommandStream("echo 'nc: connect to 192.0.2.1 port 22 failed' >&2; exit 3");
    s.resume();
    const [e] = (await once(s, 'error')) as [Error];
    assert.match(e.message, /ProxyCommand '.*' exited 3: nc: connect to 192\.0\.2\.1 port 22 failed/);
  });

  it('closing the stream ends the command', async () => {
    const s = proxyCommandStream('sleep 30');
    s.on('error', () => undefined);
    s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.destroyed, true);
  });
});
