// A POSIX ustar archive of regular files and symlinks, built in memory. Hand-written rather than a
// streaming tar library: a few entries of a few KB, a fixed 512-byte header (POSIX.1-1988), and
// nothing else of a tar library is needed. Tested by extracting with GNU tar (test/unit/ustar.test.ts).

export type UstarEntry =
  | { type: 'file'; path: string; data: Buffer; mode: number; uname?: string; gname?: string }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;
/** GNU tar's record (20 blocks): the archive is padded to it, so a reader never waits for more. */
const RECORD = 20 * BLOCK;

/** Whether `path` (relative, no leading /) and `target` fit a ustar header. */
export function fitsUstar(path: string, target = ''): boolean {
  return split(path) !== undefined && Buffer.byteLength(target) <= 100;
}

/** name (≤ 100 bytes) and prefix (≤ 155 bytes), split at a slash; undefined when impossible. */
function split(path: string): { name: string; prefix: string } | undefined {
  if (path.includes('\0') || path.startsWith('/') || !path) return undefined;
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name) return { name, prefix };
  }
  return undefined;
}

function header(e: UstarEntry, size: number): Buffer {
  const h = Buffer.alloc(BLOCK);
  const at = split(e.path);
  if (!at || (e.type === 'symlink' && !fitsUstar(e.path, e.target)))
    throw new RangeError(`does not fit a ustar header: ${JSON.stringify(e.path)}`);
  const put = (off: number, len: number, s: string) => {
    if (Buffer.byteLength(s) > len) throw new RangeError(`ustar field too long: ${JSON.stringify(s)}`);
    h.write(s, off, len, 'utf8');
  };
  const octal = (off: number, len: number, n: number) => put(off, len, n.toString(8).padStart(len - 1, '0'));
  put(0, 100, at.name);
  octal(100, 8, e.type === 'file' ? e.mode & 0o7777 : 0o777);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, Math.floor(Date.now() / 1000));
  h.fill(' ', 148, 156); // the checksum counts its own field as spaces
  put(156, 1, e.type === 'file' ? '0' : '2');
  if (e.type === 'symlink') put(157, 100, e.target);
  put(257, 6, 'ustar');
  put(263, 2, '00');
  put(265, 32, e.type === 'file' ? (e.uname ?? 'root') : 'root');
  put(297, 32, e.type === 'file' ? (e.gname ?? 'root') : 'root');
  put(345, 155, at.prefix);
  let sum = 0;
  for (const b of h) sum += b;
  put(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return h;
}

/** The archive: each entry's header and data (padded to 512), two zero blocks, padded to a record. */
export function ustar(entries: ReadonlyArray<UstarEntry>): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.type === 'file' ? e.data : Buffer.alloc(0);
    parts.push(header(e, data.length), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
  }
  const body = Buffer.concat(parts);
  const end = body.length + 2 * BLOCK;
  return Buffer.concat([body, Buffer.alloc(end + ((RECORD - (end % RECORD)) % RECORD) - body.length)]);
}
