// What says a file is unchanged since it was last read (device, inode, size, change times), so a
// command that connects to a whole fleet reads and parses each key or known_hosts file once.
import { statSync } from 'node:fs';

/** 'absent' when there is no such file; undefined when it cannot be told (read it every time). */
export function fileStamp(path: string): string | undefined {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : undefined;
  }
}
