// Reads a file on the control machine that a user named (an inventory, a password file, a key)
// without trusting what the path is: a FIFO, /dev/zero, /dev/stdin or a /proc file would block or
// never end, and stat's size can be 0 for a file that has content. So: open without blocking,
// refuse anything that is not a regular file, and read at most `max` bytes whatever stat says.
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { fsReason } from './fs-reason.js';

export type BoundedRead =
  | { ok: true; data: Buffer }
  | { ok: false; kind: 'unreadable' | 'not-regular' | 'too-large'; reason: string; code?: string };

const notRegular = (directory: boolean): BoundedRead => ({
  ok: false,
  kind: 'not-regular',
  reason: directory ? 'it is a directory' : 'it is not a regular file',
});

export function readBounded(path: string, max: number): BoundedRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    // A socket (a child's stdin as /dev/stdin) cannot be opened at all (ENXIO), yet it is there.
    if (existsAsSpecial(path)) return notRegular(false);
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, kind: 'unreadable', reason: `cannot read it: ${fsReason(e)}`, code };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return notRegular(st.isDirectory());
    // Sized by stat (plus one byte to see the end), grown when a file says less than it holds:
    // never `max` up front (a 64 MiB zeroed buffer for every known_hosts read was most of a
    // connect's CPU at 100 hosts).
    let buf = Buffer.allocUnsafe(Math.min(max, Math.max(st.size, 4096 - 1)) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        const more = Buffer.allocUnsafe(Math.min(max + 1, buf.length * 2));
        buf.copy(more, 0, 0, got);
        buf = more;
      }
      const n = readSync(fd, buf, got, buf.length - got, null);
      if (n === 0) break;
      got += n;
      if (got > max) return { ok: false, kind: 'too-large', reason: `it is larger than ${max} bytes` };
    }
    return { ok: true, data: Buffer.from(buf.subarray(0, got)) };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, kind: 'unreadable', reason: `cannot read it: ${fsReason(e)}`, code };
  } finally {
    closeSync(fd);
  }
}

function existsAsSpecial(path: string): boolean {
  try {
    const st = statSync(path);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}
